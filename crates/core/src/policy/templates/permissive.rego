# AegisClaw policy template: permissive. Everything runs and is logged, except critical-risk
# scopes, which need a human's approval.
package aegisclaw.policy

default allow := true

# Critical scopes (sensitive paths, metadata or private addresses, `*` egress) wait for a human.
deny if {
	input.scope_risk == "critical"
	input.approval != true
}

reason := "permissive: critical-risk scopes need approval" if input.scope_risk == "critical"
