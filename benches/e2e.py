#!/usr/bin/env python3
"""End-to-end benchmarks: the release larder against nginx and against the direct path.

    benches/e2e.py --larder target/release/larder [--quick] [--only hot,large,cold,coalesce,runsteps,hashing]

Everything runs on 127.0.0.1: nginx serves generated files from disk (the baseline, and the
fast upstream larder fills from), benches/throttle.py slows an upstream to internet-like
conditions, wrk and curl are the clients. Every figure is a ratio against a baseline measured
in the same run, interleaved round by round, because the machines this runs on are shared and
noisy. larder serves the Go module protocol here (`/go/<module>/@v/<version>.zip`): immutable
artifacts with no digest to fetch, so the engine's own path is what is measured.

`hashing` (row 8) is rows 1 and 2's loads on larder against itself: hits hashed against their
blob's name (every hit, or only blobs not verified since they were last written, the default)
over hashing off (`LARDER_HIT_HASHING`, src/store/integrity.rs).

`runsteps` (row 7) is benches/run_steps.rs, run here through `cargo bench`: the example
Dockerfiles built with buildah, plain, with a BuildKit cache mount, and through larder.

Prints a markdown table (and writes it with --out). Scenarios and targets: benches/README.md.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULE = "bench.example"
MB = 1_000_000


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, proc, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode} before listening; see its log in the work dir")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


def write_random(path, size):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        left = size
        while left:
            n = min(left, 8 << 20)
            out.write(os.urandom(n))
            left -= n


def artifact(group, index=None, version="v1.0.0"):
    """URL path (below the server root) of one generated module zip."""
    module = f"{MODULE}/{group}" + (f"/m{index}" if index is not None else "")
    return f"/go/{module}/@v/{version}.zip"


RUNNING = []


def stat_fields(pid):
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ...; utime and
    stime are [11] and [12]), or None for a process that is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


class Server:
    """A child process (nginx, larder, the throttle), stopped by its pid."""

    def __init__(self, what, args, port, work, env=None):
        RUNNING.append(self)
        self.what = what
        self.port = port
        self.log_path = work / f"{what}-{port}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait_port(port, self.proc, what)

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def peak_rss_mb(self):
        """VmHWM: the most resident memory this process has had since it started."""
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self):
        """User and system CPU time of the process and its children (nginx's workers) so far:
        CPU per request is steadier than requests per second on a shared machine."""
        processes = [stat_fields(self.proc.pid)]
        for entry in os.listdir("/proc"):
            fields = stat_fields(entry) if entry.isdigit() else None
            if fields and int(fields[1]) == self.proc.pid:
                processes.append(fields)
        ticks = sum(int(f[11]) + int(f[12]) for f in processes if f)
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self in RUNNING:
            RUNNING.remove(self)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def nginx(work, root, access_log=None):
    port = free_port()
    conf = work / f"nginx-{port}.conf"
    conf.write_text(
        f"""
worker_processes {os.cpu_count()};
pid {work}/nginx-{port}.pid;
error_log {work}/nginx-{port}-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {access_log or "off"};
    client_body_temp_path {work}/nginx-{port}-body;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    types {{ application/zip zip; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""
    )
    args = ["nginx", "-p", str(work), "-e", str(work / f"nginx-{port}-error.log"),
            "-c", str(conf), "-g", "daemon off;"]
    return Server("nginx", args, port, work)


def larder(binary, work, data_dir, upstream_port, fresh=False, hit_hashing=None):
    """larder on `data_dir` (emptied first if `fresh`), filling from 127.0.0.1:upstream_port;
    `hit_hashing` sets LARDER_HIT_HASHING (`off`, `always`; None: the default)."""
    if fresh:
        shutil.rmtree(data_dir, ignore_errors=True)
    port = free_port()
    config = work / f"larder-{port}.toml"
    config.write_text(f'[go]\nupstream = "http://127.0.0.1:{upstream_port}/go/"\n')
    args = [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir),
            "--config", str(config)]
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower() and k != "LARDER_HIT_HASHING"}
    if hit_hashing:
        env["LARDER_HIT_HASHING"] = hit_hashing
    return Server("larder", args, port, work, env)


def throttle(work, target_port, rtt_ms, mbit):
    port = free_port()
    args = [sys.executable, str(HERE / "throttle.py"), str(port), str(target_port),
            "--rtt-ms", str(rtt_ms), "--mbit", str(mbit)]
    return Server("throttle", args, port, work)


def fetch_all(base, paths, sizes, threads=8):
    """GETs every path once (filling larder's store), checking each body's length."""

    def one(item):
        path, size = item
        for attempt in range(3):
            try:
                with urllib.request.urlopen(base + path, timeout=120) as response:
                    got = len(response.read())
                break
            except urllib.error.HTTPError as err:
                # Seen once on a machine at load 10: say so, and try again.
                message = f"{base}{path}: {err}: {err.read().decode(errors='replace').strip()}"
                if attempt == 2:
                    raise SystemExit(message)
                log(f"{message} (retrying)")
        if got != size:
            raise SystemExit(f"{base}{path}: got {got} bytes, expected {size}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, zip(paths, sizes)))


def curls(urls_per_client, expect_size=None):
    """Runs one curl per client at once (each fetching its URLs in order, one connection);
    returns the wall time until the last finished. Fails on any status but 200 or a short body."""
    start = time.monotonic()
    procs = []
    for urls in urls_per_client:
        args = ["curl", "-s", "--noproxy", "*", "-w", "%{http_code} %{size_download}\n"]
        for url in urls:
            args += [url, "-o", "/dev/null"]
        procs.append(subprocess.Popen(args, stdout=subprocess.PIPE, text=True))
    outputs = [p.communicate()[0] for p in procs]
    wall = time.monotonic() - start
    for proc, out in zip(procs, outputs):
        for line in out.split("\n"):
            if not line:
                continue
            code, size = line.split()
            if proc.returncode != 0 or code != "200" or (expect_size and int(size) != expect_size):
                raise SystemExit(f"curl failed (exit {proc.returncode}): {out.strip()}")
    return wall


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url, connections, seconds, script):
    args = ["wrk", "-t", str(min(os.cpu_count(), 4)), "-c", str(connections), "-d", f"{seconds}s",
            "--latency", "-s", str(script), url]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(errors.group(1)) if errors else 0) + (
        sum(int(g) for g in sock.groups()) if sock else 0)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": rps, "p99_ms": float(p99.group(1)) * UNITS[p99.group(2)], "errors": failed,
            "requests": requests}


def wrk_with_cpu(server, connections, seconds, script):
    """wrk against `server`, adding the server's CPU time per request in µs (`cpu_us`)."""
    before = server.cpu_seconds()
    run = wrk(server.url(), connections, seconds, script)
    run["cpu_us"] = (server.cpu_seconds() - before) / max(run["requests"], 1) * 1e6
    return run


class Results:
    def __init__(self):
        self.rows = []
        self.memory = []

    def ratio(self, number, scenario, metric, larder_value, baseline, baseline_name, target,
              higher_is_better, unit, note="", digits=1):
        ratio = larder_value / baseline if baseline else float("nan")
        if target is None:
            met = "-"
        elif higher_is_better:
            met = "yes" if ratio >= target else "**no**"
        else:
            met = "yes" if ratio <= target else "**no**"
        target_text = "-" if target is None else ("≥ " if higher_is_better else "≤ ") + f"{target}×"
        self.rows.append((number, scenario, metric, f"{larder_value:,.{digits}f} {unit}",
                          f"{baseline:,.{digits}f} {unit} ({baseline_name})", f"{ratio:.2f}×",
                          target_text, met, note))
        log(f"{scenario} {metric}: larder {larder_value:.1f} vs {baseline_name} {baseline:.1f} "
            f"{unit} = {ratio:.2f}x")

    def rss(self, scenario, mb, target_mb=None):
        met = "-" if target_mb is None else ("yes" if mb < target_mb else "**no**")
        self.memory.append((scenario, f"{mb:.1f} MB",
                            "-" if target_mb is None else f"< {target_mb} MB", met))
        log(f"peak RSS {scenario}: {mb:.1f} MB")

    def markdown(self, header):
        lines = header + ["",
                          "| # | scenario | metric | larder | baseline | ratio | target | met | note |",
                          "|---|---|---|---|---|---|---|---|---|"]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
        if self.memory:
            lines += ["", "| larder peak RSS (VmHWM, fresh process per scenario) | MB | target | met |",
                      "|---|---|---|---|"]
            lines += ["| " + " | ".join(row) + " |" for row in self.memory]
        return "\n".join(lines) + "\n"


def small_artifacts(args, work, root):
    """Row 1's files: 2000 (500 quick) of 10–50 KB, and a wrk script asking for them in turn."""
    rng = __import__("random").Random(13)
    count = 500 if args.quick else 2000
    paths = [artifact("small", i) for i in range(count)]
    sizes = [rng.randint(10_000, 50_000) for _ in paths]
    for path, size in zip(paths, sizes):
        write_random(root / path.lstrip("/"), size)
    script = work / "paths.lua"
    script.write_text(
        "local paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
        "local i = math.random(#paths)\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n")
    return paths, sizes, script


def hot_small(args, work, root, results):
    paths, sizes, script = small_artifacts(args, work, root)
    count = len(paths)
    baseline = nginx(work, root)
    upstream = nginx(work, root)
    data = work / "data-small"
    filler = larder(args.larder, work, data, upstream.port, fresh=True)
    fetch_all(filler.url(), paths, sizes)
    filler.stop()
    seconds = 5 if args.quick else 10
    for connections in (64, 256):
        server = larder(args.larder, work, data, upstream.port)
        for target in (baseline, server):  # warm-up: connections, page cache, allocator
            wrk(target.url(), connections, 2, script)
        runs = {"nginx": [], "larder": []}
        for round_ in range(args.rounds):
            order = [("nginx", baseline), ("larder", server)]
            for name, target in order if round_ % 2 == 0 else order[::-1]:
                runs[name].append(wrk_with_cpu(target, connections, seconds, script))
        rss = server.peak_rss_mb()
        server.stop()
        errors = sum(r["errors"] for r in runs["larder"])
        med = {name: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p99_ms", "cpu_us")}
               for name, rs in runs.items()}
        note = f"{count} blobs of 10–50 KB, {args.rounds}×{seconds}s"
        if errors:
            note += f", **{errors} larder errors**"
        results.ratio(1, f"hot hits, {connections} connections", "requests/s",
                      med["larder"]["rps"], med["nginx"]["rps"], "nginx", 1.0, True, "req/s", note)
        results.ratio(1, f"hot hits, {connections} connections", "p99 latency",
                      med["larder"]["p99_ms"], med["nginx"]["p99_ms"], "nginx", 1.0, False, "ms")
        results.ratio(1, f"hot hits, {connections} connections", "CPU per hit",
                      med["larder"]["cpu_us"], med["nginx"]["cpu_us"], "nginx", None, False, "µs",
                      "the server's utime + stime over the requests served", digits=1)
        results.rss(f"hot hits, {connections} connections", rss, 64 if connections == 256 else None)
    baseline.stop()
    upstream.stop()


def hot_large(args, work, root, results):
    size = (100 if args.quick else 500) * MB
    path = artifact("large")
    write_random(root / path.lstrip("/"), size)
    baseline = nginx(work, root)
    upstream = nginx(work, root)
    data = work / "data-large"
    filler = larder(args.larder, work, data, upstream.port, fresh=True)
    curls([[filler.url(path)]], size)
    results.rss(f"cold fill of one {size // MB} MB artifact (fast upstream)", filler.peak_rss_mb())
    filler.stop()
    server = larder(args.larder, work, data, upstream.port)
    for clients in (1, 8):
        walls = {"nginx": [], "larder": []}
        for round_ in range(args.rounds + 1):
            order = [("nginx", baseline), ("larder", server)]
            for name, target in order if round_ % 2 == 0 else order[::-1]:
                wall = curls([[target.url(path)]] * clients, size)
                if round_:  # the first round warms the page cache
                    walls[name].append(wall)
        mbps = {name: clients * size / MB / statistics.median(w) for name, w in walls.items()}
        results.ratio(2, f"hot {size // MB} MB artifact, {clients} client(s)", "throughput",
                      mbps["larder"], mbps["nginx"], "nginx", 0.9, True, "MB/s",
                      f"median of {args.rounds}")
    results.rss(f"hot {size // MB} MB artifact, 1 and 8 clients", server.peak_rss_mb())
    server.stop()
    baseline.stop()
    upstream.stop()


HASHING = ("off", "always", None)  # None: the default, blobs not verified since last written


def hashing_name(mode):
    return "unverified only (default)" if mode is None else mode


def hit_hashing(args, work, root, results):
    """Row 8: rows 1 and 2 on larder against itself, hits hashed or not. One larder per mode on
    the same store, started together (each knows nothing verified yet: the warm-up round hashes
    every blob once in the default mode), interleaved round by round, the order rotating."""
    paths, sizes, script = small_artifacts(args, work, root)
    upstream = nginx(work, root)
    data = work / "data-hashing"
    filler = larder(args.larder, work, data, upstream.port, fresh=True)
    fetch_all(filler.url(), paths, sizes)
    seconds = 5 if args.quick else 10
    for connections in (64, 256):
        # Fresh processes per load: each lives well under the scrubber's start delay (5 min).
        servers = {mode: larder(args.larder, work, data, upstream.port, hit_hashing=mode)
                   for mode in HASHING}
        for server in servers.values():
            wrk(server.url(), connections, 2, script)
        runs = {mode: [] for mode in HASHING}
        for round_ in range(args.rounds):
            shift = round_ % len(HASHING)
            for mode in HASHING[shift:] + HASHING[:shift]:
                runs[mode].append(wrk(servers[mode].url(), connections, seconds, script))
        for server in servers.values():
            server.stop()
        med = {mode: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p99_ms")}
               for mode, rs in runs.items()}
        errors = sum(r["errors"] for rs in runs.values() for r in rs)
        note = f"{len(paths)} blobs of 10–50 KB, {args.rounds}×{seconds}s"
        if errors:
            note += f", **{errors} errors**"
        for mode in HASHING[1:]:
            scenario = f"hot hits, {connections} conn., hashing {hashing_name(mode)}"
            results.ratio(8, scenario, "requests/s", med[mode]["rps"], med["off"]["rps"],
                          "hashing off", 0.9, True, "req/s", note)
            results.ratio(8, scenario, "p99 latency", med[mode]["p99_ms"], med["off"]["p99_ms"],
                          "hashing off", None, False, "ms")
    filler.stop()

    size = (100 if args.quick else 500) * MB
    path = artifact("large")
    write_random(root / path.lstrip("/"), size)
    filler = larder(args.larder, work, data, upstream.port)
    curls([[filler.url(path)]], size)
    filler.stop()
    servers = {mode: larder(args.larder, work, data, upstream.port, hit_hashing=mode)
               for mode in HASHING}
    for clients in (1, 8):
        walls = {mode: [] for mode in HASHING}
        for round_ in range(args.rounds + 1):
            shift = round_ % len(HASHING)
            for mode in HASHING[shift:] + HASHING[:shift]:
                wall = curls([[servers[mode].url(path)]] * clients, size)
                if round_:  # the first round warms the page cache (and verifies, by default)
                    walls[mode].append(wall)
        mbps = {mode: clients * size / MB / statistics.median(w) for mode, w in walls.items()}
        for mode in HASHING[1:]:
            results.ratio(8, f"hot {size // MB} MB artifact, {clients} client(s), hashing "
                          f"{hashing_name(mode)}", "throughput", mbps[mode], mbps["off"],
                          "hashing off", 0.9, True, "MB/s", f"median of {args.rounds}")
    for server in servers.values():
        server.stop()
    upstream.stop()


def cold(args, work, root, results, rtt_ms, mbit):
    rng = __import__("random").Random(31)
    count = 16
    paths = [artifact("cold", i) for i in range(count)]
    sizes = [rng.randint(20_000, 2_000_000) for _ in paths]
    for p, s in zip(paths, sizes):
        write_random(root / p.lstrip("/"), s)
    upstream = nginx(work, root)
    slow = throttle(work, upstream.port, rtt_ms, mbit)
    walls = {"direct": [], "larder": []}
    peak = 0.0
    for round_ in range(args.rounds):
        walls["direct"].append(curls([[slow.url(p) for p in paths]]))
        server = larder(args.larder, work, work / "data-cold", slow.port, fresh=True)
        walls["larder"].append(curls([[server.url(p) for p in paths]]))
        peak = max(peak, server.peak_rss_mb())
        server.stop()
    total = sum(sizes) / MB
    results.ratio(3, "cold misses", "wall time", statistics.median(walls["larder"]),
                  statistics.median(walls["direct"]), "direct", 1.05, False, "s",
                  f"{count} files, {total:.1f} MB in all, one client, keep-alive; "
                  f"upstream {rtt_ms:g} ms RTT, {mbit:g} Mbit/s")
    results.rss("cold misses", peak)
    slow.stop()
    upstream.stop()


def coalesce(args, work, root, results, rtt_ms, mbit):
    size = (20 if args.quick else 100) * MB
    clients = 100
    first = artifact("coalesce")
    write_random(root / first.lstrip("/"), size)
    access = work / "upstream-access.log"
    upstream = nginx(work, root, access_log=access)
    slow = throttle(work, upstream.port, rtt_ms, mbit)
    direct, through, requests, peak = [], [], [], 0.0
    for round_ in range(args.coalesce_rounds):
        path = artifact("coalesce", version=f"v1.0.{round_ + 1}")
        target = root / path.lstrip("/")
        if not target.exists():
            target.symlink_to(root / first.lstrip("/"))
        direct.append(curls([[slow.url(artifact("coalesce"))]], size))
        server = larder(args.larder, work, work / "data-coalesce", slow.port, fresh=True)
        through.append(curls([[server.url(path)]] * clients, size))
        peak = max(peak, server.peak_rss_mb())
        server.stop()
        time.sleep(0.5)  # nginx writes its access log line after the response
        requests.append(sum(1 for line in access.read_text().splitlines() if f" {path} " in line))
    results.ratio(4, f"coalescing, {clients} clients", "wall time", statistics.median(through),
                  statistics.median(direct), "1 direct download", 1.2, False, "s",
                  f"one uncached {size // MB} MB artifact; upstream requests: "
                  f"{', '.join(map(str, requests))} (must be 1)")
    results.rss(f"coalescing, {clients} clients on {size // MB} MB", peak)
    slow.stop()
    upstream.stop()
    if any(r != 1 for r in requests):
        results.rows[-1] = results.rows[-1][:7] + ("**no**",) + results.rows[-1][8:]


def run_steps(args, work, results):
    """Row 7: benches/run_steps.rs (cargo bench), its medians as rows of the main table, its own
    table (plain, cache mount, larder warm) returned to print after it."""
    out = work / "run-steps.json"
    command = ["cargo", "bench", "--quiet", "--bench", "run_steps", "--",
               "--rounds", str(args.run_steps_rounds), "--rtt-ms", str(args.rtt_ms), "--mbit", str(args.mbit),
               "--json", str(out)]
    if args.run_steps_only:
        command += ["--only", args.run_steps_only]
    if args.run_steps_upstreams:
        command += ["--upstreams", args.run_steps_upstreams]
    log(" ".join(command))
    done = subprocess.run(command, cwd=HERE.parent, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"benches/run_steps.rs failed (exit {done.returncode}); its log is above")
    document = json.loads(out.read_text())
    for r in document["results"]:
        slowed = r["upstream"] == "slowed"
        upstream = f"{args.rtt_ms:g} ms RTT, {args.mbit:g} Mbit/s" if slowed else "fast"
        results.ratio(7, f"RUN step `{r['step']}` ({r['example']}), {upstream} upstream",
                      "wall time", r["larder_s"], r["cache_mount_s"], "cache mount", 1.1, False,
                      "s", f"plain {r['plain_s']:.2f} s (larder / plain "
                      f"{r['larder_s'] / r['plain_s']:.2f}×); medians of {r['rounds']}; "
                      f"load {document['load_before']} → {document['load_after']}", digits=2)
    return done.stdout


def criterion_rows(criterion_dir):
    """A table of the criterion benches' mean times and throughputs (target/criterion)."""
    rows = []
    for estimates in sorted(Path(criterion_dir).rglob("new/estimates.json")):
        bench = json.loads((estimates.parent / "benchmark.json").read_text())
        mean_ns = json.loads(estimates.read_text())["mean"]["point_estimate"]
        throughput = bench.get("throughput") or {}
        nbytes = throughput.get("Bytes") or throughput.get("BytesDecimal")
        rate = f"{nbytes / MB / (mean_ns / 1e9):,.0f} MB/s" if nbytes else "-"
        size = f"{nbytes / MB:.1f} MB" if nbytes else "-"
        name = bench.get("value_str") or bench.get("function_id") or ""
        rows.append(f"| {bench['group_id']} | {name} | {size} | "
                    f"{mean_ns / 1e6:,.3f} ms | {rate} |")
    if not rows:
        return []
    return ["", "| criterion group | bench | input | mean time | throughput |",
            "|---|---|---|---|---|"] + rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--larder", required=True, type=Path, help="the release binary")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, shorter runs")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--coalesce-rounds", type=int, default=None)
    parser.add_argument("--only", default="hot,large,cold,coalesce,runsteps,hashing")
    parser.add_argument("--run-steps-only", help="runsteps: examples to build (npm,pip,go,apt)")
    parser.add_argument("--run-steps-upstreams", help="runsteps: fast,slowed (default both)")
    parser.add_argument("--run-steps-rounds", type=int, default=None,
                        help="runsteps: rounds (default 7, 2 with --quick; a build takes seconds)")
    parser.add_argument("--rtt-ms", type=float, default=40)
    parser.add_argument("--mbit", type=float, default=100)
    parser.add_argument("--work", type=Path, help="work dir (default: a new temp dir, removed)")
    parser.add_argument("--criterion", type=Path, help="target/criterion, to add its table")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.coalesce_rounds = args.coalesce_rounds or (1 if args.quick else 2)
    args.run_steps_rounds = args.run_steps_rounds or (2 if args.quick else 7)
    for tool in ("nginx", "wrk", "curl"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed; run benches/run, which installs it")
    work = args.work or Path(tempfile.mkdtemp(prefix="larder-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    # nginx's workers run as nobody: they must be able to read what the bench writes.
    os.chmod(work, 0o755)
    root = work / "root"
    root.mkdir(exist_ok=True)
    results = Results()
    run_steps_table = ""
    load_before = os.getloadavg()[0]
    try:
        only = set(args.only.split(","))
        if "hot" in only:
            log("1. hot hits, small artifacts")
            hot_small(args, work, root, results)
        if "large" in only:
            log("2. hot hits, large artifact")
            hot_large(args, work, root, results)
        if "cold" in only:
            log("3. cold misses through a slowed upstream")
            cold(args, work, root, results, args.rtt_ms, args.mbit)
        if "coalesce" in only:
            log("4. coalescing")
            coalesce(args, work, root, results, args.rtt_ms, args.mbit)
        if "hashing" in only:
            log("8. hit hashing: hashed hits against hashing off")
            hit_hashing(args, work, root, results)
        if "runsteps" in only:
            log("7. RUN steps (buildah)")
            run_steps_table = run_steps(args, work, results)
    finally:
        for server in list(RUNNING):
            if server.what == "larder" and sys.exc_info()[0]:
                log(f"larder's log ({server.log_path}):\n" + server.log_path.read_text()[-3000:])
            server.stop()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    header = [f"larder benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{os.cpu_count()} cores (load average {load_before:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after: the machine is shared), {nginx_version}, "
              f"{'quick' if args.quick else 'full'} run; "
              "ratio = larder / baseline, both measured in this run, interleaved"]
    text = results.markdown(header)
    if run_steps_table:
        text += "\n" + run_steps_table
    if args.criterion:
        text += "\n".join(criterion_rows(args.criterion)) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
