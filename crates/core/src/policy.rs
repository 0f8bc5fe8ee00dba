//! Rego policy (DESIGN §5). Today: the embedded templates `strict`, `standard`, `permissive`
//! that `init` writes to `policies/default.rego`. The evaluator arrives with the policy work.

use crate::config::PolicyTemplate;

/// The Rego text of an embedded template, or `None` for `custom`.
pub fn template_text(template: PolicyTemplate) -> Option<&'static str> {
    match template {
        PolicyTemplate::Strict => Some(include_str!("policy/templates/strict.rego")),
        PolicyTemplate::Standard => Some(include_str!("policy/templates/standard.rego")),
        PolicyTemplate::Permissive => Some(include_str!("policy/templates/permissive.rego")),
        PolicyTemplate::Custom => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_declares_the_package_and_allow() {
        for template in PolicyTemplate::ALL {
            let Some(text) = template_text(*template) else {
                assert_eq!(*template, PolicyTemplate::Custom);
                continue;
            };
            assert!(text.contains("package aegisclaw.policy"), "{template}");
            assert!(text.contains("allow"), "{template}");
        }
    }
}
