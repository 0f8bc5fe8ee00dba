#!/usr/bin/env bash
# Passes every test AegisClaw has, on a fresh machine: installs what the tests need, then runs
# the CI gate in order (fmt, clippy, tests, docs). `.ci/run` calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "system packages the tests need"
command -v cargo >/dev/null || { echo "error: cargo is not installed" >&2; exit 2; }
# The escape and egress suites run real programs inside the sandbox and build test hosts in
# network namespaces: python3 (http.server, ctypes), curl, ip (veth), unshare, bash, a real
# DNS resolver for the proxy (dnsmasq, run by the tests on a loopback address; the binary only,
# no system service), xxd and hexdump (the redaction escape tests dump secrets with them),
# openssl (a test CA for the HTTPS-through-the-proxy tests) and git (a real program committing
# inside a run).
missing=()
for pair in python3:python3 curl:curl ip:iproute2 unshare:util-linux bash:bash dnsmasq:dnsmasq-base xxd:xxd hexdump:bsdextrautils openssl:openssl git:git; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: the tests need root (namespaces, cgroups, veth) and the packages: ${missing[*]}" >&2
    exit 2
  fi
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step "every example a bench script builds exists"
# A bench script names its example by `--example NAME`; cargo only notices a missing one when
# the script runs, so check here (the audit and policy benches once lost theirs unnoticed).
for name in $(grep -ho -- '--example [a-z_]*' bench/*.sh | awk '{print $2}' | sort -u); do
  ls crates/*/examples/"$name".rs >/dev/null 2>&1 || { echo "error: bench example \`$name\` is missing" >&2; exit 1; }
done

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
