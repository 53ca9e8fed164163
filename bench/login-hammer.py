#!/usr/bin/env python3
"""What failed logins cost a real Kv4.Server process, and whether their timing tells who exists.

Starts Kv4.Server (the dll in --server-dir) on 127.0.0.1 with a fresh data directory and account `elena` with admin
`boss`, then:
1. times --samples refused admin logins (`elena` / `<admin>#wrong`) for an admin that exists and for one that does
   not; with --throttle-off the server runs with Kv4:Login:FailuresAllowed=0 and AddressFailuresAllowed=0, so every
   sample is checked (on a server that throttles, the later samples of one name are refused unchecked);
2. for --seconds, 16 threads send wrong admin logins on keep-alive connections from one address while GET /healthz
   is timed every 20 ms from another.
Run it once with --throttle-off (what a check costs, and whether it tells who exists) and once without (what a
hammer costs the server).
Prints the medians, the replies the hammer got, and /healthz's median and p90. The server and its data are removed.

    dotnet build -c Release Kv4.Server/Kv4.Server.csproj
    bench/login-hammer.py --server-dir Kv4.Server/bin/Release/net10.0
"""
import argparse, base64, http.client, json, os, socket, statistics, subprocess, sys, tempfile, threading, time, shutil, collections

p = argparse.ArgumentParser()
p.add_argument("--server-dir", required=True)
p.add_argument("--samples", type=int, default=30)
p.add_argument("--seconds", type=float, default=6)
p.add_argument("--threads", type=int, default=16)
p.add_argument("--throttle-off", action="store_true")
args = p.parse_args()

secret = os.urandom(16).hex()
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
data = tempfile.mkdtemp(prefix="kv4-login-")
server = subprocess.Popen(
    ["dotnet", "Kv4.Server.dll", "--urls", f"http://127.0.0.1:{port}", f"--Kv4:DataDir={data}", "--Logging:LogLevel:Default=Warning"]
    + (["--Kv4:Login:FailuresAllowed=0", "--Kv4:Login:AddressFailuresAllowed=0"] if args.throttle_off else []),
    cwd=args.server_dir, env={**os.environ, "KV4_SYS_SECRET": secret}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def call(method, path, auth=None, body=None, source="127.0.0.1", connection=None):
    c = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    headers = {"Authorization": auth} if auth else {}
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    payload = r.read()
    if connection is None:
        c.close()
    return r.status, payload


try:
    for _ in range(600):  # up to 60 s for the engine to open
        try:
            if call("GET", "/readyz")[0] == 200:
                break
        # Before the server listens, a connection to its port from the same ephemeral range can meet itself.
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    else:
        sys.exit("the server did not become ready")

    sys_auth = basic("$sys", secret)
    status, body = call("PUT", "/_acc/accounts", sys_auth, json.dumps({"k": "elena", "v": {"email": "elena@example.com"}}).encode())
    elena = json.loads(body)["v"]["secret"]
    call("PUT", "/_acc/users/admins", basic("elena", elena), json.dumps({"k": "boss", "v": {"password": "right password"}}).encode())

    def refused_ms(admin, n):
        times = []
        for _ in range(n):
            started = time.perf_counter()
            call("GET", "/_data?k=x", basic("elena", f"{admin}#wrong"))
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    existing = refused_ms("boss", args.samples)
    unknown = refused_ms("ghost", args.samples)

    stop = time.time() + args.seconds
    codes = collections.Counter()
    lock = threading.Lock()

    def hammer():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=("127.0.9.40", 0))
        while time.time() < stop:
            status, _ = call("GET", "/_data?k=x", basic("elena", "boss#wrong"), connection=c)
            with lock:
                codes[status] += 1

    threads = [threading.Thread(target=hammer) for _ in range(args.threads)]
    for t in threads:
        t.start()
    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=("127.0.9.41", 0))
    latencies = []
    time.sleep(0.5)
    while time.time() < stop - 0.2:
        started = time.perf_counter()
        call("GET", "/healthz", connection=probe)
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.02)
    for t in threads:
        t.join()
    latencies.sort()
    print(f"{'throttle off' if args.throttle_off else 'defaults'}: refused admin login median: existing {existing:.1f} ms, unknown {unknown:.1f} ms; "
          f"hammer ({args.threads} threads, {args.seconds:g} s) replies {dict(codes)}; "
          f"/healthz median {statistics.median(latencies):.1f} ms, p90 {latencies[int(len(latencies) * 0.9)]:.1f} ms; "
          f"load {os.getloadavg()[0]:.1f}")
finally:
    server.terminate()
    server.wait(30)
    shutil.rmtree(data, ignore_errors=True)
