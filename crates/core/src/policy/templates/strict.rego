# AegisClaw policy template: strict. Every scope needs a human's approval, whatever its risk
# and whoever signed the skill. Nothing is refused outright: the human decides.
package aegisclaw.policy

default allow := false

# Runs only once a human approved this scope.
allow if input.approval == true

reason := "strict: every scope needs approval" if not input.approval
