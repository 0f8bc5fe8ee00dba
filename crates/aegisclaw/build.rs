//! On glibc systems built without the workspace's static linking (`cargo install` from a
//! registry ignores `.cargo/config.toml`), links the unwinder statically (libgcc_eh) so start-up
//! does not load libgcc_s.so.1 and run its CPU probe.

#[expect(
    clippy::disallowed_methods,
    reason = "cargo's build-script variables, not AegisClaw's"
)]
fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn main() {
    let gnu = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    let static_crt = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|feature| feature == "crt-static");
    if gnu && !static_crt {
        println!("cargo:rustc-link-lib=static=gcc_eh");
    }
}
