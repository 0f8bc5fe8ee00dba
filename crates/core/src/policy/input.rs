//! The policy input document of DESIGN §5 (one per scope) and the grid of representative
//! inputs that `policy diff` and the tests sweep. Does not evaluate anything.

use crate::scope::{Risk, Scope, ScopeKind};
use serde::{Deserialize, Serialize};

/// What the policy knows about the skill asking for a scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillFacts {
    /// The skill's name.
    pub name: String,
    /// The skill's version.
    pub version: String,
    /// The publisher key id, if the manifest names one.
    #[serde(default)]
    pub publisher: Option<String>,
    /// Whether the signature verified against a trusted publisher key.
    pub signed: bool,
}

/// The input document for one scope decision, serialised exactly as DESIGN §5 shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// The skill asking.
    pub skill: SkillFacts,
    /// The normalised scope text (`net.outbound:api.github.com`).
    pub scope: String,
    /// The scope's kind.
    pub scope_kind: ScopeKind,
    /// The scope's target text (empty for the working directory or any command).
    pub scope_target: String,
    /// The scope's risk rating.
    pub scope_risk: Risk,
    /// Whether the skill's signature verified (the same as `skill.signed`).
    pub skill_signed: bool,
    /// Whether a human approved; the decision procedure sets it, whatever is given.
    pub approval: bool,
    /// The runtime the skill would run in (`native`, `docker`, ...).
    pub runtime: String,
    /// Who asked (`cli`, `server`, `mcp`, ...).
    pub actor: String,
}

impl PolicyInput {
    /// The input for one parsed scope of a skill, with `approval: false`.
    pub fn for_scope(
        skill: &SkillFacts,
        scope: &Scope,
        rating: Risk,
        runtime: &str,
        actor: &str,
    ) -> Self {
        Self {
            skill: skill.clone(),
            scope: scope.to_string(),
            scope_kind: scope.kind(),
            scope_target: scope.target().to_string(),
            scope_risk: rating,
            skill_signed: skill.signed,
            approval: false,
            runtime: runtime.to_string(),
            actor: actor.to_string(),
        }
    }
}

/// A representative target for each kind, used by the grid.
pub fn representative_target(kind: ScopeKind) -> &'static str {
    match kind {
        ScopeKind::FilesRead => "/tmp/input",
        ScopeKind::FilesWrite => "/tmp/output",
        ScopeKind::ShellExec => "git",
        ScopeKind::NetOutbound => "api.github.com",
        ScopeKind::NetInternal => "redis",
        ScopeKind::SecretsRead => "GITHUB_TOKEN",
        ScopeKind::UnixConnect => "/run/user/1000/bus",
    }
}

/// The publisher key id the grid uses for signed skills.
const GRID_PUBLISHER: &str = "0123456789abcdef";

/// Every scope kind × risk × signed (unsigned first) with a representative target, in that
/// order, with `approval: false`: the sweep behind `policy diff` and the engine cross-checks.
pub fn grid() -> Vec<PolicyInput> {
    let risks = [Risk::Low, Risk::Medium, Risk::High, Risk::Critical];
    let mut inputs = Vec::with_capacity(ScopeKind::ALL.len() * risks.len() * 2);
    for kind in ScopeKind::ALL {
        for risk in risks {
            for signed in [false, true] {
                let target = representative_target(kind);
                inputs.push(PolicyInput {
                    skill: SkillFacts {
                        name: "grid-skill".to_string(),
                        version: "1.0.0".to_string(),
                        publisher: signed.then(|| GRID_PUBLISHER.to_string()),
                        signed,
                    },
                    scope: format!("{}:{target}", kind.as_str()),
                    scope_kind: kind,
                    scope_target: target.to_string(),
                    scope_risk: risk,
                    skill_signed: signed,
                    approval: false,
                    runtime: "native".to_string(),
                    actor: "cli".to_string(),
                });
            }
        }
    }
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::ScopeContext;
    use pretty_assertions::assert_eq;

    #[test]
    fn input_serialises_as_design_section_5() {
        let skill = SkillFacts {
            name: "web-search".into(),
            version: "1.0.0".into(),
            publisher: Some("ab12".into()),
            signed: true,
        };
        let scope = Scope::parse("net.outbound:api.github.com", &ScopeContext::default()).unwrap();
        let input = PolicyInput::for_scope(&skill, &scope, Risk::Medium, "native", "cli");
        assert_eq!(
            serde_json::to_string(&input).unwrap(),
            r#"{"skill":{"name":"web-search","version":"1.0.0","publisher":"ab12","signed":true},"scope":"net.outbound:api.github.com","scope_kind":"net.outbound","scope_target":"api.github.com","scope_risk":"medium","skill_signed":true,"approval":false,"runtime":"native","actor":"cli"}"#
        );
        let back: PolicyInput =
            serde_json::from_str(&serde_json::to_string(&input).unwrap()).unwrap();
        assert_eq!(back, input);
    }

    #[test]
    fn grid_covers_every_kind_risk_and_signature() {
        let grid = grid();
        assert_eq!(grid.len(), 7 * 4 * 2);
        assert!(grid.iter().all(|input| !input.approval));
        assert_eq!(grid[0].scope, "files.read:/tmp/input");
    }
}
