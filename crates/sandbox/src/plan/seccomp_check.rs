// Shared by `build.rs` (which compiles `data/seccomp.yaml` into the binary) and the tests of
// `plan::seccomp`, through `include!` after `seccomp_types.rs`: the rules every table must
// follow. Knows names only; whether `libc` has a number for each is the compiler's check.

/// Checks a table: every entry has a reason and exactly one of `allow`, `deny`, `filter` with
/// the fields that kind needs (and no others); no syscall twice; every socket family once with
/// a reason, `pairs_only_types` on `AF_UNIX` only and never `SOCK_DGRAM`.
fn check_table(table: &RawTable) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut sockets = false;
    for rule in &table.syscalls {
        let kinds = [&rule.allow, &rule.deny, &rule.filter];
        let names: Vec<&String> = kinds.iter().flat_map(|names| names.iter()).collect();
        let Some(first) = names.first() else {
            return Err(format!(
                "an entry (reason `{}`) names no syscall",
                rule.reason
            ));
        };
        let at = |problem: &str| Err(format!("entry `{first}` {problem}"));
        if rule.reason.trim().is_empty() {
            return at("has no reason");
        }
        if kinds.iter().filter(|names| !names.is_empty()).count() != 1 {
            return at("must have exactly one of `allow`, `deny` and `filter`");
        }
        for name in &names {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(format!("entry `{first}`: `{name}` is not a syscall name"));
            }
            if !seen.insert(name.as_str()) {
                return Err(format!("entry `{name}` appears twice"));
            }
        }
        if rule.exec_limited && !rule.allow.is_empty() {
            return at("is allowed, so `exec_limited` would change nothing");
        }
        let filters = usize::from(!rule.deny_flags.is_empty())
            + usize::from(!rule.allow_values.is_empty())
            + usize::from(rule.sockets);
        if !rule.filter.is_empty() {
            if filters != 1 {
                return at("must have exactly one of `deny_flags`, `allow_values` and `sockets`");
            }
            if rule.sockets {
                sockets = true;
                if rule.arg.is_some() || rule.errno.is_some() {
                    return at(
                        "has `sockets`, whose arguments and errnos are fixed: drop `arg` and `errno`",
                    );
                }
            } else {
                match rule.arg {
                    Some(0..=5) => {}
                    Some(arg) => {
                        return Err(format!(
                            "entry `{first}`: `arg` {arg} is past the sixth argument"
                        ));
                    }
                    None => return at("needs the `arg` its filter checks"),
                }
                if rule.errno.is_none() {
                    return at("needs the `errno` a refused call returns");
                }
                if let Some(value) = rule
                    .allow_values
                    .iter()
                    .find(|value| **value > u64::from(u32::MAX))
                {
                    return Err(format!(
                        "entry `{first}`: value {value:#x} does not fit in 32 bits"
                    ));
                }
            }
        } else {
            if filters != 0 || rule.arg.is_some() {
                return at("has an argument filter but is not a `filter` entry");
            }
            if !rule.deny.is_empty() && rule.errno.is_none() {
                return at("needs the `errno` it returns");
            }
            if !rule.allow.is_empty() && rule.errno.is_some() {
                return at("is allowed, so it returns no `errno`");
            }
        }
    }
    let mut families = std::collections::BTreeSet::new();
    for family in &table.socket_families {
        let name = format!("{:?}", family.family);
        if family.reason.trim().is_empty() {
            return Err(format!("socket family `{name}` has no reason"));
        }
        if !families.insert(name.clone()) {
            return Err(format!("socket family `{name}` appears twice"));
        }
        let unix = family.family == SocketFamily::Unix;
        if unix == family.pairs_only_types.is_empty() {
            return Err(format!(
                "socket family `{name}`: `pairs_only_types` is for (and required on) `AF_UNIX`"
            ));
        }
        if family.pairs_only_types.contains(&SocketType::Dgram) {
            return Err(format!(
                "socket family `{name}`: a `SOCK_DGRAM` pair can still sendto() a path, so it cannot be a pairs-only type"
            ));
        }
    }
    if sockets && table.socket_families.is_empty() {
        return Err("a `sockets` filter needs `socket_families`".to_string());
    }
    Ok(())
}
