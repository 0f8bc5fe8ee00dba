#!/usr/bin/env bash
# Redactor cost on one core: building a redactor for three typical secrets, and streaming
# throughput over ordinary and pathological inputs (a megabyte of base64 on one line, wrapped
# at 76 columns, CRLF-wrapped at 64, one character per line; every byte %XX or \u00XX escaped;
# a run of backslashes) in 64 KiB reads (a pipe's) and 16-byte writes. Each input runs at 1 and
# 4 MiB: a linear scan keeps the same MB/s at both sizes.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p aegisclaw-core --example redact_bench
# Builds name their target (.cargo/config.toml), so artifacts live under the host triple.
out="${CARGO_TARGET_DIR:-target}/$(rustc -vV | sed -n 's/^host: //p')"
bin="$out/release/examples/redact_bench"

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }
rate() { # input mebibytes chunk -> MB/s
  taskset -c 0 "$bin" stream "$1" "$2" "$3" | field mb_per_second
}

printf 'build, 3 secrets: %s us\n' "$(taskset -c 0 "$bin" build 2000 | field build_us)"
printf '%-16s %8s %14s %14s %14s\n' input chunk '1 MiB MB/s' '4 MiB MB/s' '4/1 ratio'
for input in text random base64-line base64-76 base64-crlf-64 base64-1 percent json-u backslashes; do
  for chunk in 65536 16; do
    one=$(rate "$input" 1 "$chunk")
    four=$(rate "$input" 4 "$chunk")
    printf '%-16s %8s %14s %14s %14s\n' "$input" "$chunk" "$one" "$four" \
      "$(awk -v a="$one" -v b="$four" 'BEGIN { printf "%.2f", b / a }')"
  done
done
