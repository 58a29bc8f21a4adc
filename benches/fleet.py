#!/usr/bin/env python3
"""Replica fleets (issue #21): N = 1, 2, 4 larder replicas over one bucket (moto's S3 server),
64 clients spread round robin over them, a cold workload of many artifacts behind a slowed
upstream (benches/throttle.py in front of nginx). Every client fetches every artifact, in its
own shuffled order: what a fleet of CI runners does when a new release lands.

    benches/fleet.py --larder target/release/larder [--replicas 1,2,4] [--artifacts 16] [--rounds 1]

Reports, per N: upstream requests and bytes (from the upstream nginx's access log; the target
is the same as one replica), wall time until the last client finished (against N = 1), and the
fleet's coalesced misses; then, on a fresh replica, the time to first byte and to last byte of
each artifact as a bucket hit and then as a local hit. Everything runs on 127.0.0.1; needs
moto_server (.ci/install/s3.sh), nginx and curl.
"""

import argparse
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e  # noqa: E402  (the shared helpers: servers, the throttle, artifacts)

BUCKET = "larder-bench"


def moto(work):
    port = e2e.free_port()
    server = e2e.Server("moto", ["moto_server", "-H", "127.0.0.1", "-p", str(port)], port, work)
    request = urllib.request.Request(server.url(f"/{BUCKET}"), method="PUT")
    urllib.request.urlopen(request, timeout=30).read()
    credentials = work / "credentials"
    credentials.write_text(
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing-secret\n")
    return server, credentials


def replica(binary, work, name, upstream_port, s3, credentials, prefix):
    """A fresh replica (empty local tier) over the bucket's `prefix`."""
    data_dir = work / f"data-{name}"
    shutil.rmtree(data_dir, ignore_errors=True)
    port = e2e.free_port()
    config = work / f"larder-{name}.toml"
    config.write_text(
        f'[go]\nupstream = "http://127.0.0.1:{upstream_port}/go/"\n'
        f'[storage]\nbackend = "s3"\nbucket = "{BUCKET}"\nprefix = "{prefix}"\n'
        f'endpoint = "{s3.url()}"\nregion = "us-east-1"\npath_style = true\ntimeout = "10s"\n'
        f'credentials_file = "{credentials}"\n')
    args = [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir),
            "--config", str(config)]
    env = {k: v for k, v in e2e.os.environ.items() if "proxy" not in k.lower()}
    env["RUST_LOG"] = e2e.os.environ.get("LARDER_BENCH_LOG", "warn")
    return e2e.Server(f"larder-{name}", args, port, work, env)


def metric(server, name):
    text = urllib.request.urlopen(server.url("/-/metrics"), timeout=30).read().decode()
    match = re.search(rf"^{re.escape(name)} ([\d.e+]+)", text, re.M)
    return float(match.group(1)) if match else 0.0


def upstream_traffic(access_log, paths):
    """Requests and body bytes the upstream nginx sent for `paths` (combined log format)."""
    requests, sent = 0, 0
    wanted = set(paths)
    for line in access_log.read_text().splitlines():
        match = re.search(r'"GET (\S+) [^"]*" (\d{3}) (\d+)', line)
        if match and match.group(1) in wanted:
            requests += 1
            sent += int(match.group(3))
    return requests, sent


def timed(url):
    out = subprocess.run(
        ["curl", "-s", "--noproxy", "*", "-o", "/dev/null", "-w",
         "%{http_code} %{time_starttransfer} %{time_total}", url],
        capture_output=True, text=True, check=True).stdout
    code, first, total = out.split()
    if code != "200":
        raise SystemExit(f"{url}: {code}")
    return float(first), float(total)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--larder", required=True, type=Path)
    parser.add_argument("--replicas", default="1,2,4")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--artifacts", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rtt-ms", type=float, default=40)
    parser.add_argument("--mbit", type=float, default=100)
    args = parser.parse_args()
    counts = [int(n) for n in args.replicas.split(",")]

    work = Path(tempfile.mkdtemp(prefix="larder-fleet-bench-"))
    e2e.os.chmod(work, 0o755)  # nginx's workers read the upstream's files
    root = work / "root"
    rng = random.Random(21)
    sizes = [rng.randint(100_000, 2_000_000) for _ in range(args.artifacts)]
    total = sum(sizes)
    try:
        s3, credentials = moto(work)
        access = work / "upstream-access.log"
        upstream = e2e.nginx(work, root, access_log=access)
        slow = e2e.throttle(work, upstream.port, args.rtt_ms, args.mbit)
        rows, walls = [], {}
        for round_ in range(args.rounds):
            for n in counts:
                version = f"v1.{round_}.{n}"
                paths = [e2e.artifact("fleet", i, version) for i in range(args.artifacts)]
                for path, size in zip(paths, sizes):
                    e2e.write_random(root / path.lstrip("/"), size)
                replicas = [replica(args.larder, work, f"{n}-{i}", slow.port, s3, credentials,
                                    f"r{round_}-n{n}") for i in range(n)]
                orders = []
                for client in range(args.clients):
                    order = list(paths)
                    random.Random(client).shuffle(order)
                    orders.append([replicas[client % n].url(p) for p in order])
                e2e.log(f"N = {n}: {args.clients} clients, {args.artifacts} artifacts "
                        f"({total / e2e.MB:.1f} MB), cold")
                wall = e2e.curls(orders)
                time.sleep(0.5)  # nginx writes its access log line after the response
                requests, sent = upstream_traffic(access, paths)
                coalesced = sum(metric(r, "larder_fleet_coalesced_total") for r in replicas)
                walls.setdefault(n, []).append(wall)
                rows.append((round_, n, requests, sent, wall, coalesced))
                for r in replicas:
                    r.stop()

        # Hit latency on one fresh replica: each artifact as a bucket hit, then a local hit.
        paths = [e2e.artifact("fleet", i, f"v1.0.{counts[-1]}") for i in range(args.artifacts)]
        prefix = f"r0-n{counts[-1]}"
        fresh = replica(args.larder, work, "fresh", slow.port, s3, credentials, prefix)
        from_bucket = [timed(fresh.url(p)) for p in paths]
        from_local = [timed(fresh.url(p)) for p in paths]
        fresh.stop()
        slow.stop()
        upstream.stop()
        s3.stop()
    finally:
        for server in list(e2e.RUNNING):
            server.stop()
        print(f"work dir (logs): {work}", file=sys.stderr)

    base = statistics.median(walls[counts[0]])
    print(f"| replicas | upstream requests | upstream bytes | × one replica's | wall time | "
          f"× N = {counts[0]} | fleet-coalesced misses |")
    print("|---|---|---|---|---|---|---|")
    one = {r: s for (r, n, _, s, _, _) in rows if n == counts[0]}
    for round_, n, requests, sent, wall, coalesced in rows:
        print(f"| {n} | {requests} (of {args.artifacts} artifacts) | {sent / e2e.MB:.1f} MB | "
              f"{sent / max(one[round_], 1):.2f}× | {wall:.1f} s | "
              f"{wall / base:.2f}× | {coalesced:.0f} |")
    med = statistics.median
    for n in counts:
        print(f"| **{n}, median of {len(walls[n])}** | | | | {med(walls[n]):.1f} s | "
              f"{med(walls[n]) / base:.2f}× | |")
    print()
    print("| hit | first byte (median) | whole artifact (median) |")
    print("|---|---|---|")
    print(f"| from the bucket (fresh replica) | {med(f for f, _ in from_bucket) * 1000:.1f} ms | "
          f"{med(t for _, t in from_bucket) * 1000:.1f} ms |")
    print(f"| from the local tier (same replica, next request) | "
          f"{med(f for f, _ in from_local) * 1000:.1f} ms | "
          f"{med(t for _, t in from_local) * 1000:.1f} ms |")
    print(f"\n{args.clients} clients, {args.artifacts} artifacts of 0.1-2 MB "
          f"({total / e2e.MB:.1f} MB), upstream {args.rtt_ms:g} ms RTT, {args.mbit:g} Mbit/s")


if __name__ == "__main__":
    main()
