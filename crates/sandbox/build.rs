//! Compiles the reviewed seccomp table (`data/seccomp.yaml`) into Rust at build time, so no
//! process parses YAML to start a sandbox. The table is checked here with the same rules the
//! crate's tests use (`src/plan/seccomp_check.rs`): a bad entry fails the build. Emits the
//! table and, for the Linux apply step, each name's `libc::SYS_*` constant on the target
//! architecture (a name `libc` lacks there fails to compile). Reads only that file; downloads nothing.

use std::fmt::Write as _;

#[expect(
    unreachable_pub,
    reason = "`pub` for the crate, which includes the same file"
)]
mod types {
    use serde::{Deserialize, Serialize};
    include!("src/plan/seccomp_types.rs");
    include!("src/plan/seccomp_raw.rs");
    include!("src/plan/seccomp_check.rs");
    pub(crate) fn check(table: &RawTable) -> Result<(), String> {
        check_table(table)
    }
}
use types::{RawRule, RawTable};

fn main() {
    println!("cargo::rerun-if-changed=data/seccomp.yaml");
    println!("cargo::rerun-if-changed=src/plan/seccomp_check.rs");
    println!("cargo::rerun-if-changed=src/plan/seccomp_types.rs");
    println!("cargo::rerun-if-changed=src/plan/seccomp_raw.rs");
    println!("cargo::rerun-if-env-changed=CARGO_CFG_TARGET_ARCH");
    let text = match fs_err::read_to_string("data/seccomp.yaml") {
        Ok(text) => text,
        Err(error) => panic!("{error}"),
    };
    let table: RawTable = match serde_saphyr::from_str(&text) {
        Ok(table) => table,
        Err(error) => panic!("data/seccomp.yaml: {error}"),
    };
    if let Err(error) = types::check(&table) {
        panic!("data/seccomp.yaml: {error}");
    }
    #[expect(
        clippy::disallowed_methods,
        reason = "a build script's output directory, set by cargo; no AEGISCLAW_* variable"
    )]
    let Some(dir) = std::env::var_os("OUT_DIR") else {
        panic!("OUT_DIR is not set");
    };
    let dir = std::path::Path::new(&dir);
    for (name, text) in [
        ("seccomp_table.rs", table_code(&table)),
        ("seccomp_numbers.rs", numbers_code(&table)),
    ] {
        if let Err(error) = fs_err::write(dir.join(name), text) {
            panic!("{error}");
        }
    }
}

/// `&[A::X, A::Y]` for a list of enum values.
fn list<T: std::fmt::Debug>(path: &str, items: &[T]) -> String {
    let items: Vec<String> = items
        .iter()
        .map(|item| format!("{path}::{item:?}"))
        .collect();
    format!("&[{}]", items.join(", "))
}

fn action_code(rule: &RawRule, table: &RawTable) -> String {
    let arg = rule.arg.unwrap_or(0);
    let errno = format!("Errno::{:?}", rule.errno.unwrap_or(table.default));
    if !rule.allow.is_empty() {
        "SeccompAction::Allow".to_string()
    } else if !rule.deny.is_empty() {
        format!("SeccompAction::Deny {{ errno: {errno} }}")
    } else if rule.sockets {
        "SeccompAction::Sockets".to_string()
    } else if !rule.deny_flags.is_empty() {
        format!(
            "SeccompAction::DenyFlags {{ arg: {arg}, flags: {}, errno: {errno} }}",
            list("Flag", &rule.deny_flags)
        )
    } else {
        let values: Vec<String> = rule
            .allow_values
            .iter()
            .map(|v| format!("{v:#x}"))
            .collect();
        format!(
            "SeccompAction::AllowValues {{ arg: {arg}, values: &[{}], errno: {errno} }}",
            values.join(", ")
        )
    }
}

/// The table as a `SeccompTable` expression (`plan/seccomp.rs` types).
fn table_code(table: &RawTable) -> String {
    let mut out = format!(
        "SeccompTable {{\n    default: Errno::{:?},\n    rules: &[\n",
        table.default
    );
    for rule in &table.syscalls {
        let names = [&rule.allow[..], &rule.deny[..], &rule.filter[..]].concat();
        let _ = writeln!(
            out,
            "        SeccompRule {{ syscalls: &{names:?}, arch: {}, action: {}, exec_limited: {}, reason: {:?} }},",
            list("Arch", &rule.arch),
            action_code(rule, table),
            rule.exec_limited,
            rule.reason
        );
    }
    out.push_str("    ],\n    socket_families: &[\n");
    for family in &table.socket_families {
        let _ = writeln!(
            out,
            "        SocketFamilyRule {{ family: SocketFamily::{:?}, types: {}, protocols: {}, pairs_only_types: {}, reason: {:?} }},",
            family.family,
            list("SocketType", &family.types),
            list("SocketProtocol", &family.protocols),
            list("SocketType", &family.pairs_only_types),
            family.reason
        );
    }
    out.push_str("    ],\n}\n");
    out
}

/// `NUMBERS`: each name the table uses on the target architecture with its `libc::SYS_*`
/// constant, sorted by name for a binary search (no string matching chain at run time).
fn numbers_code(table: &RawTable) -> String {
    #[expect(
        clippy::disallowed_methods,
        reason = "the target architecture, set by cargo for build scripts; no AEGISCLAW_* variable"
    )]
    let target = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let applies = |rule: &RawRule| {
        rule.arch.is_empty()
            || rule.arch.iter().any(|arch| match arch {
                types::Arch::X86_64 => target == "x86_64",
                types::Arch::Aarch64 => target == "aarch64",
            })
    };
    let mut names: Vec<&String> = table
        .syscalls
        .iter()
        .filter(|rule| applies(rule))
        .flat_map(|rule| rule.allow.iter().chain(&rule.deny).chain(&rule.filter))
        .collect();
    names.sort();
    let mut out = format!(
        "/// The syscalls the table names on `{target}`, by name, with their numbers.\nconst NUMBERS: &[(&str, libc::c_long)] = &[\n"
    );
    for name in names {
        let _ = writeln!(out, "    ({name:?}, libc::SYS_{name}),");
    }
    out.push_str("];\n");
    // The same numbers by rule and position in the table, so compiling the embedded table
    // looks nothing up (empty for a rule that does not apply on the target).
    out.push_str(
        "/// The numbers of each rule's syscalls, in table order (empty where a rule does not apply).\nconst RULE_NUMBERS: &[&[libc::c_long]] = &[\n",
    );
    for rule in &table.syscalls {
        let numbers: Vec<String> = if applies(rule) {
            rule.allow
                .iter()
                .chain(&rule.deny)
                .chain(&rule.filter)
                .map(|name| format!("libc::SYS_{name}"))
                .collect()
        } else {
            Vec::new()
        };
        let _ = writeln!(out, "    &[{}],", numbers.join(", "));
    }
    out.push_str("];\n");
    out
}
