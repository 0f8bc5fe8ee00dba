#!/usr/bin/env bash
# Audit log throughput on one core: append with a per-record fsync, grouped append (batches of
# 256, one fsync each), and verify with a full rehash, against the issue's targets.
set -euo pipefail
cd "$(dirname "$0")/.."

SINGLE=${SINGLE:-5000}
GROUPED=${GROUPED:-200000}
VERIFY=${VERIFY:-500000}

cargo build --release --locked -p aegisclaw-core --example audit_bench
# Builds name their target (.cargo/config.toml), so artifacts live under the host triple.
out="${CARGO_TARGET_DIR:-target}/$(rustc -vV | sed -n 's/^host: //p')"
bin="$out/release/examples/audit_bench"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rate() { # mode count -> records/s
  taskset -c 0 "$bin" "$2" "$1" "$work/$1" | sed -n 's/.*records_per_second=\([0-9]*\).*/\1/p'
}
verdict() { # rate target
  if [ "$1" -ge "$2" ]; then echo PASS; else echo MISS; fi
}

single=$(rate single "$SINGLE")
grouped=$(rate grouped "$GROUPED")
verified=$(rate verify "$VERIFY")
printf '%-38s %10s rec/s\n' "append, fsync per record ($SINGLE)" "$single"
printf '%-38s %10s rec/s  target >= 20000   %s\n' "append, batches of 256 ($GROUPED)" "$grouped" "$(verdict "$grouped" 20000)"
printf '%-38s %10s rec/s  target >= 200000  %s\n' "verify, full rehash ($VERIFY)" "$verified" "$(verdict "$verified" 200000)"
