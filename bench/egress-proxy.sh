#!/usr/bin/env bash
# Egress proxy vs tinyproxy, side by side in one run, everything (origin, both proxies, client)
# pinned to CPU 0: p50/p99 added latency over direct for a 100 B object on a new TCP connection
# per request (absolute-form and CONNECT), and single-stream 64 MiB throughput, against the
# goals of <= +0.25 ms added p50 and >= 3x tinyproxy's single-stream throughput.
#
# Needs root. The origin (nginx) lives in a network namespace `aegis-bench-world` joined to
# the host by a veth pair (host 192.0.3.201/30, world 192.0.3.202/30): the proxy refuses
# loopback and private origins, and 192.0.3.0/24 passes `non_public_reason`. Everything it
# starts is stopped, and the namespace deleted, on any exit.
#
#   RUNS=30 PER_RUN=50 TPUT_RUNS=5 bench/egress-proxy.sh   (SKIP_BUILD=1: reuse the binary)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-30}
PER_RUN=${PER_RUN:-50}
TPUT_RUNS=${TPUT_RUNS:-5}
CPU=${CPU:-0}
NETNS=aegis-bench-world
HOST_LINK=aebench-h
WORLD_LINK=aebench-w
HOST_IP=192.0.3.201
ORIGIN_IP=192.0.3.202
ORIGIN_PORT=8080
TINY=127.0.0.1:18888
OURS=127.0.0.1:13128

[[ $(id -u) == 0 ]] || { echo "needs root (netns + veth)" >&2; exit 1; }
missing=()
command -v tinyproxy >/dev/null || missing+=(tinyproxy)
command -v nginx >/dev/null || missing+=(nginx-light)
if ((${#missing[@]})); then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# SKIP_BUILD=1 reuses an existing release binary (e.g. while the tree is mid-edit).
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  cargo build --release --locked -p aegisclaw-engine --example egress_bench
fi
# Builds name their target (.cargo/config.toml), so artifacts live under the host triple.
out="${CARGO_TARGET_DIR:-target}/$(rustc -vV | sed -n 's/^host: //p')"
bin="$out/release/examples/egress_bench"

work=$(mktemp -d /tmp/aegis-egress-bench.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns delete "$NETNS" 2>/dev/null || true
  ip link delete "$HOST_LINK" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A leftover from an interrupted run would make `ip netns add` fail.
ip netns delete "$NETNS" 2>/dev/null || true
ip link delete "$HOST_LINK" 2>/dev/null || true

# --- the world: netns + veth, origin on a public-looking address ---
ip netns add "$NETNS"
ip link add "$HOST_LINK" type veth peer name "$WORLD_LINK"
ip link set "$WORLD_LINK" netns "$NETNS"
ip addr add "$HOST_IP/30" dev "$HOST_LINK"
ip link set "$HOST_LINK" up
ip -n "$NETNS" addr add "$ORIGIN_IP/30" dev "$WORLD_LINK"
ip -n "$NETNS" link set "$WORLD_LINK" up
ip -n "$NETNS" link set lo up

mkdir -p "$work/www"
head -c 100 /dev/zero | tr '\0' s >"$work/www/small"
head -c $((64 << 20)) /dev/zero >"$work/www/64m"
cat >"$work/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
user root;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  default_type application/octet-stream;
  client_body_temp_path $work/cb;
  proxy_temp_path $work/pt;
  fastcgi_temp_path $work/ft;
  uwsgi_temp_path $work/ut;
  scgi_temp_path $work/st;
  server {
    listen $ORIGIN_IP:$ORIGIN_PORT backlog=4096;
    root $work/www;
  }
}
CONF
ip netns exec "$NETNS" taskset -c "$CPU" nginx -c "$work/nginx.conf" -e "$work/nginx.err" &
pids+=($!)

# --- tinyproxy: minimal config, localhost clients, no syslog, no Via header ---
cat >"$work/tinyproxy.conf" <<CONF
User nobody
Group nogroup
Port ${TINY##*:}
Listen ${TINY%:*}
Timeout 600
MaxClients 1000
Allow 127.0.0.1
ConnectPort $ORIGIN_PORT
DisableViaHeader Yes
Syslog Off
LogLevel Critical
CONF
taskset -c "$CPU" tinyproxy -d -c "$work/tinyproxy.conf" >"$work/tinyproxy.log" 2>&1 &
pids+=($!)

# --- ours: the egress proxy alone, allowing exactly the origin ---
taskset -c "$CPU" "$bin" serve "$OURS" "net.outbound:$ORIGIN_IP:$ORIGIN_PORT" >"$work/ours.log" 2>&1 &
pids+=($!)

wait_port() { # host port
  for _ in $(seq 100); do
    if python3 -c "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2)" "$1" "$2" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "nothing listening on $1:$2" >&2
  cat "$work"/*.log "$work"/nginx.err >&2 2>/dev/null || true
  return 1
}
wait_port "$ORIGIN_IP" "$ORIGIN_PORT"
wait_port "${TINY%:*}" "${TINY##*:}"
wait_port "${OURS%:*}" "${OURS##*:}"

echo "egress proxy bench: $(nproc) CPUs, all pinned to cpu$CPU; $(nginx -v 2>&1 | sed 's/.*: //'), $(tinyproxy -v 2>&1 | head -1), origin $ORIGIN_IP:$ORIGIN_PORT over veth"
echo "command: taskset -c $CPU python3 bench/egress_client.py --origin $ORIGIN_IP:$ORIGIN_PORT --tinyproxy $TINY --ours $OURS --runs $RUNS --per-run $PER_RUN --tput-runs $TPUT_RUNS"
taskset -c "$CPU" python3 bench/egress_client.py \
  --origin "$ORIGIN_IP:$ORIGIN_PORT" --tinyproxy "$TINY" --ours "$OURS" \
  --runs "$RUNS" --per-run "$PER_RUN" --tput-runs "$TPUT_RUNS"
