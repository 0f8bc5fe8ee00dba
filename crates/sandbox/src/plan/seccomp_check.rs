// Shared by `build.rs` (which compiles `data/seccomp.yaml` into the binary) and the tests of
// `plan::seccomp`, through `include!`: the rules every deny table must follow.

/// Checks a deny table, given per entry (syscall, reason, has `clone_flags`, has
/// `allow_arg0`): every entry has a reason, no syscall twice, never both argument filters.
fn check_table<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a str, bool, bool)>,
) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for (syscall, reason, clone_flags, allow_arg0) in entries {
        if reason.trim().is_empty() {
            return Err(format!("entry `{syscall}` has no reason"));
        }
        if !seen.insert(syscall) {
            return Err(format!("entry `{syscall}` appears twice"));
        }
        if clone_flags && allow_arg0 {
            return Err(format!(
                "entry `{syscall}` has both `clone_flags` and `allow_arg0`"
            ));
        }
    }
    Ok(())
}
