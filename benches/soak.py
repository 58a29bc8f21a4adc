#!/usr/bin/env python3
"""Soak: the release larder under a sustained, realistic mix, with eviction running throughout
and, optionally, SIGKILLed and restarted every few seconds. Everything on 127.0.0.1.

    benches/soak.py --larder target/release/larder [--seconds 180] [--clients 256]
                    [--crash-every 5 --crashes 12]

The upstream is nginx behind benches/throttle.py (40 ms a round trip, 100 Mbit/s) serving Go
module zips and `@v/list` files; larder serves the Go protocol with a 2 s metadata TTL and a
`max_size` well under the working set, so revalidations and eviction never stop. Each client
loops over a mix: small artifact hits, large artifact hits (whole and ranged), `@v/list`
hits and revalidations, conditional requests with the ETag it saw, and cold misses on a key
space that grows through the run. Every body is checked against the file it must be: a wrong
byte is the one thing that must never happen. With `--crash-every`, larder is killed with
SIGKILL and restarted on the same data dir and port; a request cut or refused meanwhile counts
as `interrupted` (retried), never as an error; afterwards `larder verify` must find nothing
wrong.

The last line reads `<N> requests, <E> errors, ...` (scripts read it): requests, errors by
kind, wrong bytes, interrupted, p50/p99 by class, larder's RSS at start (after warm-up), peak
and end, open fds likewise, and the data dir's `du` against `max_size` (3 s after the last
client, when the blobs it had open are no longer counted on top).
"""

import argparse
import hashlib
import http.client
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e  # noqa: E402  (the shared servers: nginx, larder, throttle)

MIB = 1 << 20


class Files:
    """The upstream's files: path -> (size, sha256), generated under `root`."""

    def __init__(self, root, small, cold, large, lists):
        self.root = root
        self.digests = {}
        rng = random.Random(7)
        self.small = [self.make(e2e.artifact("hot", i), rng.randint(5_000, 50_000)) for i in range(small)]
        self.cold = [self.make(e2e.artifact("cold", i), rng.randint(5_000, 30_000)) for i in range(cold)]
        self.large = [self.make(e2e.artifact("large", i), 8 * MIB) for i in range(large)]
        self.lists = []
        for i in range(lists):
            path = f"/go/{e2e.MODULE}/listed/m{i}/@v/list"
            file = root / path.lstrip("/")
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text("".join(f"v1.{n}.0\n" for n in range(i % 7 + 1)))
            self.record(path)
            self.lists.append(path)

    def make(self, path, size):
        e2e.write_random(self.root / path.lstrip("/"), size)
        self.record(path)
        return path

    def record(self, path):
        data = (self.root / path.lstrip("/")).read_bytes()
        self.digests[path] = (len(data), hashlib.sha256(data).hexdigest())

    def slice(self, path, start, end):
        with open(self.root / path.lstrip("/"), "rb") as f:
            f.seek(start)
            return f.read(end - start + 1)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.errors = Counter()
        self.wrong = 0
        self.interrupted = 0
        self.latency = defaultdict(list)
        self.examples = []

    def ok(self, kind, seconds):
        with self.lock:
            self.requests += 1
            self.latency[kind].append(seconds)

    def error(self, why, detail=""):
        with self.lock:
            self.requests += 1
            self.errors[why] += 1
            if detail and len(self.examples) < 5:
                self.examples.append(f"{why}: {detail}")

    def wrong_bytes(self, what):
        with self.lock:
            self.requests += 1
            self.wrong += 1
            self.errors["wrong bytes"] += 1
        e2e.log(f"WRONG BYTES: {what}")

    def cut(self):
        with self.lock:
            self.interrupted += 1


class Larder:
    """The larder under test, restartable on the same port and data dir."""

    def __init__(self, args, work, upstream_port):
        self.args, self.work = args, work
        self.data_dir = work / "data"
        self.port = e2e.free_port()
        self.config = work / "larder.toml"
        self.config.write_text(
            f'max_size = "{args.max_size_mib}MiB"\n'
            f'[go]\nupstream = "http://127.0.0.1:{upstream_port}/go/"\nmetadata_ttl = "2s"\n'
        )
        self.proc = None
        self.restarting = threading.Event()
        self.start()

    def start(self):
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        log = open(self.work / "larder.log", "ab")
        self.proc = subprocess.Popen(
            [str(self.args.larder), "serve", "--listen", f"127.0.0.1:{self.port}",
             "--data-dir", str(self.data_dir), "--config", str(self.config)],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        e2e.wait_port(self.port, self.proc, "larder")

    def kill_and_restart(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def sample(self):
        """(RSS MB, open fds) of the running process, or None while it restarts."""
        try:
            pid = self.proc.pid
            with open(f"/proc/{pid}/status") as status:
                rss = next(int(l.split()[1]) / 1024 for l in status if l.startswith("VmRSS:"))
            return rss, len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, StopIteration):
            return None


def client(stop, larder, files, stats, seed, cold_cursor):
    rng = random.Random(seed)
    conn = None
    etags = {}
    while not stop.is_set():
        roll = rng.random()
        headers = {}
        if roll < 0.40:
            kind, path = "small hit", rng.choice(files.small)
        elif roll < 0.48:
            kind, path = "large hit", rng.choice(files.large)
        elif roll < 0.53:
            kind, path = "range", rng.choice(files.large)
            start = rng.randrange(0, 8 * MIB - 70_000)
            headers["Range"] = f"bytes={start}-{start + 65_535}"
        elif roll < 0.68:
            kind, path = "metadata", rng.choice(files.lists)
        elif roll < 0.78:
            kind, path = "conditional", rng.choice(files.small)
            if path in etags:
                headers["If-None-Match"] = etags[path]
        else:
            kind = "cold miss"
            with cold_cursor["lock"]:
                cold_cursor["next"] = (cold_cursor["next"] + 1) % len(files.cold)
                path = files.cold[cold_cursor["next"]]
        started = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", larder.port, timeout=60)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            status = response.status
            if response.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            # Refused or cut: larder restarting (crash loop), or a real failure; the crash loop
            # allows them, the plain soak counts them below.
            if conn is not None:
                conn.close()
            conn = None
            if larder.args.crash_every:
                stats.cut()
            else:
                stats.error("connection")
            time.sleep(0.1)
            continue
        seconds = time.monotonic() - started
        size, digest = files.digests[path]
        if status == 200:
            if hashlib.sha256(body).hexdigest() != digest:
                stats.wrong_bytes(f"{path}: {len(body)} bytes, expected {size}")
                continue
            if response.getheader("etag"):
                etags[path] = response.getheader("etag")
        elif status == 206:
            first, last = (int(n) for n in headers["Range"].split("=")[1].split("-"))
            if body != files.slice(path, first, last):
                stats.wrong_bytes(f"{path} {headers['Range']}")
                continue
        elif status == 304 and "If-None-Match" in headers:
            pass
        else:
            stats.error(f"status {status}", f"{kind} {path} {headers}: {body[:300]!r}")
            continue
        stats.ok(kind, seconds)


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def du(path):
    # The served-log has its own bound (`[served]`), not max_size's.
    out = subprocess.run(["du", "-s", "--block-size=1", "--exclude=served", str(path)],
                         capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.returncode == 0 else -1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--larder", required=True, type=Path)
    parser.add_argument("--seconds", type=int, default=180)
    parser.add_argument("--clients", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=20, help="seconds before RSS 'start'")
    parser.add_argument("--max-size-mib", type=int, default=48)
    parser.add_argument("--crash-every", type=float, default=0, help="SIGKILL larder every N s")
    parser.add_argument("--crashes", type=int, default=12)
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--cold", type=int, default=6000)
    parser.add_argument("--large", type=int, default=4)
    parser.add_argument("--lists", type=int, default=50)
    parser.add_argument("--rtt-ms", type=float, default=40)
    parser.add_argument("--mbit", type=float, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="larder-soak-"))
    os.chmod(work, 0o755)
    root = work / "root"
    e2e.log(f"generating the upstream's files in {root}")
    files = Files(root, args.small, args.cold, args.large, args.lists)
    upstream = e2e.nginx(work, root)
    slowed = e2e.throttle(work, upstream.port, args.rtt_ms, args.mbit)
    larder = Larder(args, work, slowed.port)
    stats = Stats()
    stop = threading.Event()
    cursor = {"lock": threading.Lock(), "next": 0}
    samples = []
    threads = [threading.Thread(target=client, args=(stop, larder, files, stats, i, cursor), daemon=True)
               for i in range(args.clients)]
    e2e.log(f"{args.clients} clients for {args.seconds}s"
            + (f", SIGKILL every {args.crash_every}s ({args.crashes} times)" if args.crash_every else ""))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    crashes = 0
    next_crash = started + args.crash_every if args.crash_every else None
    try:
        while time.monotonic() - started < args.seconds:
            time.sleep(1)
            sample = larder.sample()
            if sample:
                samples.append((time.monotonic() - started, *sample))
            if next_crash and time.monotonic() >= next_crash and crashes < args.crashes:
                larder.kill_and_restart()
                crashes += 1
                next_crash = time.monotonic() + args.crash_every
                e2e.log(f"crash {crashes}: killed and restarted")
    finally:
        stop.set()
        for thread in threads:
            thread.join(70)
        # Blobs the clients had open counted on top of max_size; larder's next pass, at most
        # its retry interval (2 s) after they closed, takes them in their turn.
        time.sleep(3)
        end_sample = larder.sample()
        larder.stop()
        slowed.stop()
        upstream.stop()
    verify = subprocess.run([str(args.larder), "verify", "--data-dir", str(larder.data_dir)],
                            capture_output=True, text=True)
    verify_line = (verify.stdout.strip().splitlines() or ["(no output)"])[-1]
    store_du = du(larder.data_dir)
    after_warmup = [s for s in samples if s[0] >= args.warmup] or samples
    rss = [s[1] for s in after_warmup]
    fds = [s[2] for s in after_warmup]
    end_rss, end_fds = end_sample if end_sample else (float("nan"), -1)
    classes = ", ".join(
        f"{kind} p50 {percentile(v, 0.5) * 1000:.1f} ms p99 {percentile(v, 0.99) * 1000:.1f} ms"
        for kind, v in sorted(stats.latency.items()))
    errors = ", ".join(f"{why}: {n}" for why, n in stats.errors.most_common()) or "none"
    if stats.errors or verify.returncode != 0:
        kept = Path(tempfile.gettempdir()) / "larder-soak-last.log"
        shutil.copy(work / "larder.log", kept)
        print(f"larder's log kept in {kept}")
    shutil.rmtree(work, ignore_errors=True)
    for example in stats.examples:
        print(f"error: {example}")
    print(f"verify: exit {verify.returncode}: {verify_line}")
    for damage in verify.stdout.strip().splitlines()[:-1][:10]:
        print(f"  {damage}")
    print(
        f"{stats.requests} requests, {sum(stats.errors.values())} errors ({errors}), "
        f"{stats.wrong} wrong bytes, {stats.interrupted} interrupted, {crashes} crashes; {classes}; "
        f"rss MB start {rss[0] if rss else float('nan'):.1f} peak {max(rss, default=float('nan')):.1f} "
        f"end {end_rss:.1f}; fds start {fds[0] if fds else -1} peak {max(fds, default=-1)} end {end_fds}; "
        f"store du {store_du / MIB:.1f} MiB (served-log aside) of max_size {args.max_size_mib} MiB; "
        f"verify exit {verify.returncode}"
    )
    sys.exit(0 if stats.wrong == 0 and verify.returncode == 0 else 1)


if __name__ == "__main__":
    main()
