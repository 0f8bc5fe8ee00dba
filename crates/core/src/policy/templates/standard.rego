# AegisClaw policy template: standard. Low-risk scopes run; medium-risk scopes run when the
# skill is signed by a trusted publisher; everything else needs a human's approval.
package aegisclaw.policy

default allow := false

allow if input.scope_risk == "low"

allow if {
	input.scope_risk == "medium"
	input.skill_signed == true
}

allow if input.approval == true

reason := "standard: unsigned skills need approval for medium-risk scopes" if {
	input.scope_risk == "medium"
	not input.skill_signed
}

reason := sprintf("standard: %s-risk scopes need approval", [input.scope_risk]) if {
	input.scope_risk in {"high", "critical"}
}
