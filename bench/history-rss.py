#!/usr/bin/env python3
"""Memory of a real Kv4.Server process under concurrent history reads of large values.

Starts Kv4.Server (the dll in --server-dir) on 127.0.0.1 with a fresh data directory, writes --versions versions
of one key whose value is about --value-bytes, then runs --clients concurrent readers of
GET /_data/hist?time_series=1&k=h while it samples the server's RSS every 20 ms and times GET /healthz.
With --follow each reader follows "next" cursors until the whole history is read (a server without paging
answers it all in one reply). Prints one line of figures; the server and its data are removed on exit.

    dotnet build -c Release Kv4.Server/Kv4.Server.csproj
    bench/history-rss.py --server-dir Kv4.Server/bin/Release/net10.0 --follow
"""
import argparse, base64, json, os, re, shutil, socket, subprocess, sys, tempfile, threading, time, urllib.request

p = argparse.ArgumentParser()
p.add_argument("--server-dir", required=True)
p.add_argument("--clients", type=int, default=8)
p.add_argument("--versions", type=int, default=100)
p.add_argument("--value-bytes", type=int, default=1_000_000)
p.add_argument("--follow", action="store_true", help="follow next cursors to the end of the history")
p.add_argument("--label", default="")
args = p.parse_args()

secret = os.urandom(16).hex()
auth = "Basic " + base64.b64encode(f"$sys:{secret}".encode()).decode()
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
base = f"http://127.0.0.1:{port}"
data = tempfile.mkdtemp(prefix="kv4-hist-rss-")
server = subprocess.Popen(
    ["dotnet", "Kv4.Server.dll", "--urls", base, f"--Kv4:DataDir={data}", "--Logging:LogLevel:Default=Warning"],
    cwd=args.server_dir, env={**os.environ, "KV4_SYS_SECRET": secret}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def request(method, path, body=None, timeout=600):
    req = urllib.request.Request(base + path, data=body, method=method, headers={"Authorization": auth})
    return urllib.request.urlopen(req, timeout=timeout)


def rss_kib():
    with open(f"/proc/{server.pid}/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])


try:
    for _ in range(600):  # up to 60 s for the engine to open
        try:
            if request("GET", "/readyz", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit("the server did not become ready")

    pad = "x" * (args.value_bytes - 20)
    for i in range(args.versions):
        request("PUT", "/_data/hist", json.dumps({"k": "h", "v": {"i": i, "pad": pad}}).encode()).read()

    idle = rss_kib()
    peak = [idle]
    healthz = [0.0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib())
            time.sleep(0.02)

    def probe():
        while not done.is_set():
            started = time.monotonic()
            request("GET", "/healthz").read()
            healthz[0] = max(healthz[0], time.monotonic() - started)
            time.sleep(0.2)

    results = []

    def reader():
        got, pages, cursor = 0, 0, None
        while True:
            path = "/_data/hist?time_series=1&k=h" + (f"&cursor={cursor}" if cursor else "")
            with request("GET", path) as reply:
                tail = b""
                while chunk := reply.read(1 << 16):
                    got += len(chunk)
                    tail = (tail + chunk)[-512:]
            pages += 1
            m = re.search(rb'"next":"([A-Za-z0-9_-]+)"\}$', tail)
            if not (args.follow and m):
                break
            cursor = m.group(1).decode()
        results.append((got, pages))

    threads = [threading.Thread(target=f) for f in (sample, probe)]
    for t in threads:
        t.start()
    started = time.monotonic()
    readers = [threading.Thread(target=reader) for _ in range(args.clients)]
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    elapsed = time.monotonic() - started
    done.set()
    for t in threads:
        t.join()
    mib = 1024
    print(f"{args.label}\tclients={args.clients}\tversions={args.versions}\tvalue={args.value_bytes}B\tfollow={args.follow}"
          f"\trss_idle={idle // mib}MiB\trss_peak={peak[0] // mib}MiB\tper_client={results[0][0] / 1e6:.1f}MB"
          f"\tpages={results[0][1]}\tall_read={elapsed:.1f}s\thealthz_max={healthz[0] * 1000:.0f}ms")
finally:
    server.terminate()
    server.wait(timeout=30)
    shutil.rmtree(data, ignore_errors=True)
