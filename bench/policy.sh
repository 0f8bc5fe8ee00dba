#!/usr/bin/env bash
# Policy decision latency on one core, warm: the standard template over the scope grid
# (every kind x risk x signed), median and p90 microseconds per decision against the issue's
# goal of <= 50 us per scope decision.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-31}
PER_RUN=${PER_RUN:-10000}
GOAL_US=50

cargo build --release --locked -p aegisclaw-core --example policy_bench
# Builds name their target (.cargo/config.toml), so artifacts live under the host triple.
out="${CARGO_TARGET_DIR:-target}/$(rustc -vV | sed -n 's/^host: //p')"
bin="$out/release/examples/policy_bench"

line=$(taskset -c 0 "$bin" "$RUNS" "$PER_RUN")
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$line"; }
median=$(field median_us)
p90=$(field p90_us)
rate=$(field decisions_per_second)
verdict=$(awk -v p="$p90" -v g="$GOAL_US" 'BEGIN { print (p <= g) ? "PASS" : "MISS" }')
printf 'policy decisions, standard template, %s engine, %s runs x %s decisions\n' "$(field engine)" "$RUNS" "$PER_RUN"
printf '  median %8s us/decision   p90 %8s us/decision   %10s decisions/s   goal <= %s us  %s\n' \
  "$median" "$p90" "$rate" "$GOAL_US" "$verdict"
