//! Compiles the reviewed seccomp table (`data/seccomp.yaml`) into Rust at build time, so no
//! process parses YAML to start a sandbox. The table is checked here with the same rules the
//! crate's tests use (`src/plan/seccomp_check.rs`): a bad entry fails the build. Emits the
//! table and, for the Linux apply step, each name's `libc::SYS_*` constant (a name `libc` lacks
//! on the target fails to compile). Reads only that file; downloads nothing.

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
            "        SeccompRule {{ syscalls: &{names:?}, arch: {}, action: {}, reason: {:?} }},",
            list("Arch", &rule.arch),
            action_code(rule, table),
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

/// `syscall_number(name)`: each name's `libc::SYS_*` constant, under the `cfg` of its entry's
/// architectures.
fn numbers_code(table: &RawTable) -> String {
    let mut out = String::from(
        "/// The number of syscall `name` on this architecture (`libc::SYS_*`), if the table names it here.\nfn syscall_number(name: &str) -> Option<libc::c_long> {\n    let number = match name {\n",
    );
    for rule in &table.syscalls {
        let cfg = if rule.arch.is_empty() {
            String::new()
        } else {
            let arches: Vec<String> = rule
                .arch
                .iter()
                .map(|arch| match arch {
                    types::Arch::X86_64 => "target_arch = \"x86_64\"".to_string(),
                    types::Arch::Aarch64 => "target_arch = \"aarch64\"".to_string(),
                })
                .collect();
            format!("        #[cfg(any({}))]\n", arches.join(", "))
        };
        for name in [&rule.allow[..], &rule.deny[..], &rule.filter[..]].concat() {
            let _ = writeln!(out, "{cfg}        {name:?} => libc::SYS_{name},");
        }
    }
    out.push_str("        _ => return None,\n    };\n    Some(number)\n}\n");
    out
}
