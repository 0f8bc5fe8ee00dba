# AegisClaw policy template: standard. Low-risk scopes run; medium-risk scopes run when a
# trusted publisher signed the skill; everything else needs a human's approval, except that
# critical-risk scopes of unsigned skills are refused outright.
package aegisclaw.policy

default allow := false

# Low risk: cannot change or leak much.
allow if input.scope_risk == "low"

# Medium risk from a signed skill: a trusted publisher vouches for what it does.
allow if {
	input.scope_risk == "medium"
	input.skill_signed == true
}

# Anything else runs once a human approved it (unless a deny below applies).
allow if input.approval == true

# Critical scopes (sensitive paths, metadata or private addresses, `*` egress) of an unsigned
# skill are denied even with approval: nobody vouches for the code, and an approval prompt is
# the easiest control to click through. Signing the skill makes the scope askable again.
deny if {
	input.scope_risk == "critical"
	not input.skill_signed
}

reason := "standard: critical-risk scopes of unsigned skills are denied; sign the skill to ask for approval" if {
	input.scope_risk == "critical"
	not input.skill_signed
}

reason := "standard: critical-risk scopes need approval" if {
	input.scope_risk == "critical"
	input.skill_signed == true
}

reason := "standard: high-risk scopes need approval" if input.scope_risk == "high"

reason := "standard: unsigned skills need approval for medium-risk scopes" if {
	input.scope_risk == "medium"
	not input.skill_signed
}
