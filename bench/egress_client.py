#!/usr/bin/env python3
"""Client and statistics for bench/egress-proxy.sh: new-connection latency of a 100 B object
(direct, and through tinyproxy and AegisClaw's egress proxy, absolute-form and CONNECT) and
single-stream throughput of one 64 MiB object. Run it pinned (taskset -c 0) like the servers."""
import socket, sys, time, statistics, argparse

p = argparse.ArgumentParser()
p.add_argument("--origin", required=True)        # host:port
p.add_argument("--tinyproxy", required=True)     # host:port
p.add_argument("--ours", required=True)          # host:port
p.add_argument("--runs", type=int, default=30)
p.add_argument("--per-run", type=int, default=50)
p.add_argument("--warmup", type=int, default=50)
p.add_argument("--tput-runs", type=int, default=5)
p.add_argument("--goal-added-us", type=float, default=250.0)
p.add_argument("--goal-tput-ratio", type=float, default=3.0)
a = p.parse_args()

def hp(s):
    h, port = s.rsplit(":", 1)
    return h, int(port)

ORIGIN, TINY, OURS = hp(a.origin), hp(a.tinyproxy), hp(a.ours)
BUF = bytearray(1 << 20)
VIEW = memoryview(BUF)

def connect(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect(addr)
    return s

def read_head(s):
    """The proxy's CONNECT reply head, and any bytes after it (the origin sends nothing before
    our request, so normally none)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("proxy closed during CONNECT")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest

def fetch(mode, proxy, path):
    """One request on a new connection; returns body+head bytes received."""
    oh, op = ORIGIN
    inner = f"GET {path} HTTP/1.1\r\nHost: {oh}:{op}\r\nConnection: close\r\n\r\n".encode()
    if mode == "direct":
        s = connect(ORIGIN); s.sendall(inner)
    elif mode == "abs":
        s = connect(proxy)
        s.sendall(f"GET http://{oh}:{op}{path} HTTP/1.1\r\nHost: {oh}:{op}\r\nConnection: close\r\n\r\n".encode())
    else:
        s = connect(proxy)
        s.sendall(f"CONNECT {oh}:{op} HTTP/1.1\r\nHost: {oh}:{op}\r\n\r\n".encode())
        head, rest = read_head(s)
        if b" 200" not in head.split(b"\r\n", 1)[0] or rest:
            raise RuntimeError(f"CONNECT refused or odd: {head[:80]!r} +{len(rest)} B")
        s.sendall(inner)
    total, first = 0, True
    while True:
        n = s.recv_into(VIEW)
        if n == 0:
            break
        if first:
            if not BUF.startswith(b"HTTP/1.") or BUF[9:12] != b"200":
                raise RuntimeError(f"{mode} {path}: {bytes(BUF[:60])!r}")
            first = False
        total += n
    s.close()
    return total

TARGETS = [("direct", "direct", None),
           ("tinyproxy abs", "abs", TINY), ("tinyproxy CONNECT", "connect", TINY),
           ("aegisclaw abs", "abs", OURS), ("aegisclaw CONNECT", "connect", OURS)]

def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round((len(xs) - 1) * q)))]

# --- latency: runs x per-run requests per target, targets interleaved within each run ---
for name, mode, proxy in TARGETS:
    for _ in range(a.warmup):
        fetch(mode, proxy, "/small")
lat = {n: [] for n, _, _ in TARGETS}
run_p50 = {n: [] for n, _, _ in TARGETS}
for r in range(a.runs):
    for name, mode, proxy in TARGETS:
        times = []
        for _ in range(a.per_run):
            t0 = time.perf_counter_ns()
            fetch(mode, proxy, "/small")
            times.append((time.perf_counter_ns() - t0) / 1000.0)
        lat[name] += times
        run_p50[name].append(statistics.median(times))

# --- throughput: one 64 MiB stream, median of tput-runs, interleaved ---
speeds = {n: [] for n, _, _ in TARGETS}
for name, mode, proxy in TARGETS:
    fetch(mode, proxy, "/64m")  # warm
for _ in range(a.tput_runs):
    for name, mode, proxy in TARGETS:
        t0 = time.perf_counter()
        got = fetch(mode, proxy, "/64m")
        dt = time.perf_counter() - t0
        if got < 64 << 20:
            raise RuntimeError(f"{name}: short body {got}")
        speeds[name].append(got / dt / 1e6)

n_req = a.runs * a.per_run
d50, d99 = pct(lat["direct"], .5), pct(lat["direct"], .99)
print(f"latency: 100 B object, new TCP connection per request, {a.runs} runs x {a.per_run} = {n_req} requests per target (us)")
print(f"  {'target':<18} {'p50':>7} {'p99':>7} {'+p50':>7} {'+p99':>7}  {'+p50 per-run min..max':>22}   {'MB/s 64MiB':>10}")
rows = {}
for name, _, _ in TARGETS:
    p50, p99 = pct(lat[name], .5), pct(lat[name], .99)
    added = [x - y for x, y in zip(run_p50[name], run_p50["direct"])]
    tput = statistics.median(speeds[name])
    rows[name] = (p50 - d50, p99 - d99, tput)
    add = "" if name == "direct" else f"{p50-d50:>+7.0f} {p99-d99:>+7.0f}  {min(added):>+10.0f} .. {max(added):>+8.0f}"
    if name == "direct":
        add = f"{'':>7} {'':>7}  {'':>22}"
    print(f"  {name:<18} {p50:>7.0f} {p99:>7.0f} {add}   {tput:>10.0f}")
print(f"throughput: one 64 MiB stream, median of {a.tput_runs} (MB = 10^6 B); per-target samples:")
for name, _, _ in TARGETS:
    print(f"  {name:<18} " + " ".join(f"{x:.0f}" for x in speeds[name]))
print("goals: aegisclaw added p50 <= +%.0f us; aegisclaw single-stream >= %.1fx tinyproxy" % (a.goal_added_us, a.goal_tput_ratio))
for m in ("abs", "CONNECT"):
    ours, tiny = rows[f"aegisclaw {m}"], rows[f"tinyproxy {m}"]
    lat_ok = "PASS" if ours[0] <= a.goal_added_us else "MISS"
    ratio = ours[2] / tiny[2]
    tp_ok = "PASS" if ratio >= a.goal_tput_ratio else "MISS"
    lr = ours[0] / tiny[0] if tiny[0] > 0 else float("nan")
    print(f"  {m:<8} added p50 {ours[0]:+.0f} us (tinyproxy {tiny[0]:+.0f} us, ratio {lr:.2f})  {lat_ok}   "
          f"throughput {ours[2]:.0f} vs {tiny[2]:.0f} MB/s = {ratio:.2f}x  {tp_ok}")
