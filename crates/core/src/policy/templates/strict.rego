# AegisClaw policy template: strict. Every scope needs a human's approval.
package aegisclaw.policy

default allow := false

allow if input.approval == true

reason := "strict: every scope needs approval" if not input.approval
