#!/usr/bin/env bash
# Sandbox start-up, side by side in one run, pinned to CPU 0, >= 30 runs each. Contenders:
#   plain      /bin/true, exec only
#   bwrap      bubblewrap with the equivalent profile (all namespaces, read-only /usr, /proc,
#              /dev, tmpfs /tmp, no capabilities) running /bin/true
#   sandbox    the sandbox crate alone launching /bin/true under the full native profile
#              (namespaces, pivot_root, Landlock, seccomp, rlimits, cgroups)
#   envelope   `aegisclaw sandbox run -- /bin/true`: policy, audit records made durable, the
#              sandbox, redaction, on the default config: as root, the run joins its cgroup
#              slot's kept network namespace (sandbox.network_namespace: reuse) where the
#              sandbox contender, like bwrap, makes one per run
# Two tables:
#   1. from one warm bench process (examples/launch_true compare), rounds interleaved so drift
#      in the machine's load hits every contender alike: plain, bwrap and the envelope spawned
#      as whole processes, the sandbox crate called as the library it is. Figure (a), the
#      sandbox alone from a bench binary, and figure (b), the whole envelope process, are
#      judged here.
#   2. whole processes under hyperfine (each contender's runs back to back), for reference:
#      the sandbox's whole-process time includes the bench binary's start-up, plan and seccomp
#      compile.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-60}

need() {
  command -v "$1" >/dev/null && return
  echo "installing $2 (Debian)"
  apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }
}
need bwrap bubblewrap
need hyperfine hyperfine

cargo build --release --locked -q -p aegisclaw
cargo build --release --locked -q -p aegisclaw-sandbox --example launch_true
# Builds name their target (.cargo/config.toml), so artifacts live under the host triple.
out="${CARGO_TARGET_DIR:-target}/$(rustc -vV | sed -n 's/^host: //p')"
target="$(cd "$out" && pwd)/release"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export AEGISCLAW_HOME="$work/home"
# Both contenders run as installed binaries read back from disk: a copy of ours (as `cargo
# install` makes), then the page cache of every binary involved dropped, so the warm-up rounds
# read each one back as it would be after a reboot. Measured: the linker's own output, written
# in scattered pieces, starts the envelope about 0.1 ms slower than an installed copy read back
# (4.0 against 3.9 ms), and a freshly written copy still in the page cache about 0.2 ms faster.
aegisclaw="$work/aegisclaw"
install -m 0755 "$target/aegisclaw" "$aegisclaw"
sync "$aegisclaw"
python3 - "$aegisclaw" "$(command -v bwrap)" /bin/true <<'PY'
import os, sys
for path in sys.argv[1:]:
    fd = os.open(os.path.realpath(path), os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
"$aegisclaw" init --defaults --secrets none -q
cd "$work"

bwrap_cmd="bwrap --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin --proc /proc --dev /dev --tmpfs /tmp --unshare-all --die-with-parent --new-session --clearenv --setenv PATH /usr/bin --cap-drop ALL /bin/true"

echo "== 1. in one bench process ($RUNS interleaved rounds, taskset -c 0)"
taskset -c 0 "$target/examples/launch_true" compare "$RUNS" "bwrap=$bwrap_cmd" \
  "envelope=$aegisclaw sandbox run -- /bin/true" >"$work/inproc.txt"
python3 - "$work/inproc.txt" <<'PY'
import sys
stats = {}
for line in open(sys.argv[1]):
    name, median, p90 = line.split()
    stats[name] = (float(median), float(p90))
for name, (median, p90) in stats.items():
    print(f"{name:<9} median {median:7.2f} ms   p90 {p90:7.2f} ms")
def ratio(a, b, goal, label):
    m = stats[a][0] / stats[b][0]
    p = stats[a][1] / stats[b][1]
    verdict = "PASS" if m <= goal else "MISS"
    print(f"{label:<34} median {m:5.2f}x   p90 {p:5.2f}x   goal <= {goal}x median  {verdict}")
print()
ratio("sandbox", "bwrap", 0.6, "(a) sandbox alone vs bwrap")
ratio("sandbox", "plain", 5.0, "(a) sandbox alone vs plain exec")
ratio("envelope", "bwrap", 1.0, "(b) whole envelope vs bwrap")
PY
echo
echo "== 2. whole processes (hyperfine, $RUNS runs each, taskset -c 0)"
taskset -c 0 hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$work/start.json" \
  -n plain /bin/true \
  -n bwrap "$bwrap_cmd" \
  -n sandbox "$target/examples/launch_true once" \
  -n envelope "$aegisclaw sandbox run -- /bin/true" >/dev/null

python3 - "$work/start.json" <<'PY'
import json, sys
results = {r["command"]: sorted(r["times"]) for r in json.load(open(sys.argv[1]))["results"]}
def q(times, p):
    return times[min(len(times) - 1, round((len(times) - 1) * p))] * 1000
stats = {name: (q(t, 0.5), q(t, 0.9), len(t)) for name, t in results.items()}
for name, (median, p90, runs) in stats.items():
    print(f"{name:<9} median {median:7.2f} ms   p90 {p90:7.2f} ms   ({runs} runs)")
def ratio(a, b, goal, label):
    m = stats[a][0] / stats[b][0]
    p = stats[a][1] / stats[b][1]
    verdict = ("PASS" if m <= goal else "MISS") if goal else "(reference)"
    shown = f"goal <= {goal}x median" if goal else ""
    print(f"{label:<34} median {m:5.2f}x   p90 {p:5.2f}x   {shown}  {verdict}")
print()
ratio("sandbox", "bwrap", None, "sandbox process vs bwrap")
ratio("sandbox", "plain", None, "sandbox process vs plain exec")
ratio("envelope", "bwrap", None, "whole envelope vs bwrap")
PY
