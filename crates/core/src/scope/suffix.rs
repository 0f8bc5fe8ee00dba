//! Whether a DNS name is a public suffix (`com`, `co.uk`, `github.io`): a name under which
//! anyone may register their own, so `*.<suffix>` would reach strangers' hosts. By the Public
//! Suffix List, ICANN and private sections, compiled in from `data/public-suffixes.txt`
//! (`scripts/update-public-suffixes.py` writes it). Pure lookup; no I/O, no DNS.

use std::collections::HashSet;
use std::sync::LazyLock;

const LIST: &str = include_str!("../../data/public-suffixes.txt");

/// The list's rules, split by form.
struct Rules {
    /// `co.uk`: the name is a suffix.
    exact: HashSet<&'static str>,
    /// `*.ck`, kept as `ck`: every name directly under it is a suffix.
    wildcard: HashSet<&'static str>,
    /// `!www.ck`, kept as `www.ck`: not a suffix, whatever a wildcard says.
    exception: HashSet<&'static str>,
}

static RULES: LazyLock<Rules> = LazyLock::new(|| {
    let mut rules = Rules {
        exact: HashSet::new(),
        wildcard: HashSet::new(),
        exception: HashSet::new(),
    };
    for line in LIST.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        if let Some(name) = line.strip_prefix('!') {
            rules.exception.insert(name);
        } else if let Some(parent) = line.strip_prefix("*.") {
            rules.wildcard.insert(parent);
        } else {
            rules.exact.insert(line);
        }
    }
    rules
});

/// Whether `name` (lower-case ASCII, no trailing dot) is a public suffix: listed, or directly
/// under a wildcard rule and no exception, or a single label (the list's default rule `*`:
/// an unlisted top-level domain is a suffix too).
pub(super) fn is_public_suffix(name: &str) -> bool {
    let rules = &*RULES;
    if rules.exception.contains(name) {
        return false;
    }
    match name.split_once('.') {
        None => true,
        Some((_, parent)) => rules.exact.contains(name) || rules.wildcard.contains(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_decides_which_names_are_public_suffixes() {
        for suffix in [
            "com",
            "uk",
            "co.uk",
            "github.io",
            "s3.amazonaws.com",
            "foo.ck",
            "xn--55qx5d.cn",
            "unlisted",
        ] {
            assert!(is_public_suffix(suffix), "{suffix}");
        }
        for name in [
            "example.com",
            "example.co.uk",
            "alice.github.io",
            "www.ck",
            "a.b.ck",
        ] {
            assert!(!is_public_suffix(name), "{name}");
        }
        // Both sections are there, and nothing but rules was kept.
        assert!(RULES.exact.len() > 9000, "{}", RULES.exact.len());
        assert!(RULES.exact.iter().all(|rule| rule.is_ascii()));
    }
}
