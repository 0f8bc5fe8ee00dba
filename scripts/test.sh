#!/usr/bin/env bash
# Passes every test AegisClaw has, on a fresh machine: installs what the tests need, then runs
# the CI gate in order (fmt, clippy, tests, docs). `.ci/run` calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "system packages the tests need"
# Nothing yet beyond the Rust toolchain; later suites (bubblewrap, tinyproxy, real servers on
# loopback) install their Debian/PyPI/npm packages here.
command -v cargo >/dev/null || { echo "error: cargo is not installed" >&2; exit 2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

elapsed=$(( $(date +%s) - start ))
printf '\nall checks passed in %dm%02ds\n' $((elapsed / 60)) $((elapsed % 60))
