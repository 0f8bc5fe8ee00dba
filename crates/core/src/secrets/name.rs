//! The secret name grammar, shared with `secrets.read:NAME` scopes: `[A-Za-z_][A-Za-z0-9_]{0,127}`.
//! Checks names only; never sees a value.

use super::SecretsError;

/// The longest secret name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// Whether `name` is a valid secret name (`[A-Za-z_][A-Za-z0-9_]{0,127}`).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.chars().enumerate().all(|(index, c)| {
            c.is_ascii_alphabetic() || c == '_' || (index > 0 && c.is_ascii_digit())
        })
}

/// Fails with `SecretsError::InvalidName` naming `name` unless it is valid.
pub fn check_name(name: &str) -> Result<(), SecretsError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(SecretsError::InvalidName {
            text: name.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::{Scope, ScopeContext};

    #[test]
    fn grammar_matches_the_secrets_read_scope() {
        let long = "A".repeat(MAX_NAME_LEN);
        let too_long = "A".repeat(MAX_NAME_LEN + 1);
        let cases = [
            "API_KEY", "_x", "a1", "A", &long, "", "1A", "A-B", "A.B", "é", "A B", &too_long,
        ];
        for name in cases {
            let scope = Scope::parse(&format!("secrets.read:{name}"), &ScopeContext::default());
            assert_eq!(
                is_valid_name(name),
                scope.is_ok(),
                "name `{name}` disagrees with the scope grammar"
            );
        }
        assert_eq!(
            check_name("1A").unwrap_err().to_string(),
            "invalid secret name `1A`: use letters, digits and `_`, not starting with a digit, at most 128"
        );
    }
}
