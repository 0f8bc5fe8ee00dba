//! Compiles the reviewed seccomp deny table (`data/seccomp.yaml`) into Rust at build time, so
//! no process parses YAML to start a sandbox. The table is checked here with the same rules
//! the crate's tests use (`src/plan/seccomp_check.rs`): an entry without a reason fails the
//! build. Reads only that file; downloads nothing.

use std::fmt::Write as _;

include!("src/plan/seccomp_check.rs");

#[expect(
    clippy::enum_variant_names,
    reason = "the names of `plan::CloneFlag`, which the generated code uses"
)]
#[expect(
    unreachable_pub,
    reason = "`pub` for the crate, which includes the same file"
)]
mod types {
    use serde::{Deserialize, Serialize};
    include!("src/plan/seccomp_types.rs");
}
use types::SeccompDeny;

fn main() {
    println!("cargo::rerun-if-changed=data/seccomp.yaml");
    println!("cargo::rerun-if-changed=src/plan/seccomp_check.rs");
    println!("cargo::rerun-if-changed=src/plan/seccomp_types.rs");
    let text = match fs_err::read_to_string("data/seccomp.yaml") {
        Ok(text) => text,
        Err(error) => panic!("{error}"),
    };
    let table: Vec<SeccompDeny> = match serde_saphyr::from_str(&text) {
        Ok(table) => table,
        Err(error) => panic!("data/seccomp.yaml: {error}"),
    };
    let checked = check_table(table.iter().map(|entry| {
        (
            entry.syscall.as_str(),
            entry.reason.as_str(),
            !entry.clone_flags.is_empty(),
            !entry.allow_arg0.is_empty(),
        )
    }));
    if let Err(error) = checked {
        panic!("data/seccomp.yaml: {error}");
    }
    let mut out = String::from("&[\n");
    for entry in &table {
        let flags: Vec<String> = entry
            .clone_flags
            .iter()
            .map(|flag| format!("CloneFlag::{flag:?}"))
            .collect();
        let values: Vec<String> = entry.allow_arg0.iter().map(|v| format!("{v:#x}")).collect();
        let _ = writeln!(
            out,
            "    Entry {{ syscall: {:?}, errno: DenyErrno::{:?}, reason: {:?}, clone_flags: &[{}], allow_arg0: &[{}] }},",
            entry.syscall,
            entry.errno,
            entry.reason,
            flags.join(", "),
            values.join(", ")
        );
    }
    out.push(']');
    #[expect(
        clippy::disallowed_methods,
        reason = "a build script's output directory, set by cargo; no AEGISCLAW_* variable"
    )]
    let Some(dir) = std::env::var_os("OUT_DIR") else {
        panic!("OUT_DIR is not set");
    };
    let path = std::path::Path::new(&dir).join("seccomp_table.rs");
    if let Err(error) = fs_err::write(&path, out) {
        panic!("{error}");
    }
}
