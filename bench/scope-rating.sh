#!/usr/bin/env bash
# Scope rating cost on one core: the quickstart skill's two scopes rated in a new context (the
# sensitive-path table resolved on this host, once per context), then with the context's table
# cached, then with no resolver. Median microseconds for both scopes together.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-31}
PER_RUN=${PER_RUN:-1000}

cargo build --release --locked -q -p aegisclaw-core --example scope_bench
# Builds name their target (.cargo/config.toml), so artifacts live under the host triple.
out="${CARGO_TARGET_DIR:-target}/$(rustc -vV | sed -n 's/^host: //p')"
bin="$out/release/examples/scope_bench"

line=$(taskset -c 0 "$bin" "$RUNS" "$PER_RUN")
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$line"; }
printf 'scope rating, %s scopes, %s runs\n' "$(field scopes)" "$RUNS"
printf '  new context (table resolved) %8s us\n' "$(field cold_us)"
printf '  cached context               %8s us\n' "$(field warm_us)"
printf '  no resolver                  %8s us\n' "$(field lexical_us)"
