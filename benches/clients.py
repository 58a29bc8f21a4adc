#!/usr/bin/env python3
"""Real clients, cold and warm, behind an internet-like link: `npm ci` of a 300-package
lockfile, `pip install` of 30 wheels (two of them numpy- and pandas-sized) and `apt-get update
&& apt-get install --download-only` of 150 packages, each with a fresh client cache, through
larder and straight at the upstream.

    benches/clients.py --larder target/release/larder [--only npm,pip,apt,builders] [--rounds 3]

The upstream is a generated registry (npm packuments and tarballs, a PyPI simple index and its
wheels, an apt suite of `.deb`s built with dpkg-deb and indexed with apt-ftparchive, sizes drawn from a fixed seed to look like real ones) served by nginx on 127.0.0.1
behind benches/throttle.py (40 ms a round trip, 100 Mbit/s shared by all connections), with the
registries' own `Cache-Control`. larder runs next to the client, as it would beside a builder:
the client reaches it on loopback, larder reaches the upstream through the throttle.

Rows (each a median of `--rounds`, the modes interleaved round by round):
- 11/12/14 cold: larder with an empty store / the client straight at the upstream (≤ 1.0×).
- 11/12/14 warm: larder filled, the client's cache empty / the client's own warm cache straight
  at the upstream, which is what a BuildKit cache mount gives (≤ 1.0×).
- 13 (`builders`): 8 `npm ci` at once, each with its own empty cache, through one empty
  larder / 8 straight at the upstream, all sharing the one link: the wall time until the last.

Prints the rows in e2e.py's table format (and writes them with --out).
"""

import argparse
import base64
import hashlib
import io
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e  # noqa: E402  (its servers, throttle and table)

NPM_PACKAGES = 300
WHEELS = 30
DEBS = 150


def sizes(rng, count, median, sigma, cap):
    """Artifact sizes as registries have them: log-normal, a long tail, capped."""
    return [int(min(cap, max(600, rng.lognormvariate(math.log(median), sigma))))
            for _ in range(count)]


def npm_registry(root, upstream, rng):
    """NPM_PACKAGES packages (one version each) under root/npm; returns the project's
    package.json and package-lock.json texts. Tarball links name `upstream`, as a real packument
    names registry.npmjs.org; the lockfile's `resolved` names registry.npmjs.org, which npm
    replaces with the configured registry."""
    deps, locked = {}, {}
    total = 0
    for index, size in enumerate(sizes(rng, NPM_PACKAGES, 14_000, 1.3, 3_000_000)):
        name, version = f"bench-pkg-{index:03d}", f"1.{index % 7}.{index % 5}"
        tarball = npm_tarball(name, version, rng.randbytes(size))
        total += len(tarball)
        file = f"{name}-{version}.tgz"
        (root / "npm" / name / "-").mkdir(parents=True, exist_ok=True)
        (root / "npm" / name / "-" / file).write_bytes(tarball)
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
        packument = {
            "name": name,
            "dist-tags": {"latest": version},
            "versions": {version: {
                "name": name, "version": version,
                "dist": {"tarball": f"{upstream}/npm/{name}/-/{file}", "integrity": integrity,
                         "shasum": hashlib.sha1(tarball).hexdigest()}}},
            "time": {"created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
                     version: "2024-01-01T00:00:00.000Z"},
        }
        (root / "npm" / name / "index.json").write_text(json.dumps(packument))
        deps[name] = version
        locked[f"node_modules/{name}"] = {
            "version": version,
            "resolved": f"https://registry.npmjs.org/{name}/-/{file}",
            "integrity": integrity,
        }
    package = {"name": "bench", "version": "1.0.0", "dependencies": deps}
    lock = {"name": "bench", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"name": "bench", "version": "1.0.0", "dependencies": deps},
                         **locked}}
    e2e.log(f"npm: {NPM_PACKAGES} packages, {total / e2e.MB:.1f} MB of tarballs")
    return json.dumps(package), json.dumps(lock)


def npm_tarball(name, version, payload):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=1) as tar:
        for path, data in (("package/package.json",
                            json.dumps({"name": name, "version": version}).encode()),
                           ("package/data.bin", payload)):
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def pypi_index(root, upstream, rng):
    """`WHEELS` projects with one wheel each under root/simple and root/files; the last two are
    numpy- and pandas-sized. Returns the requirements text."""
    wheel_sizes = sizes(rng, WHEELS - 2, 120_000, 1.2, 4_000_000) + [16_000_000, 12_000_000]
    requirements, total = [], 0
    (root / "files").mkdir(parents=True, exist_ok=True)
    for index, size in enumerate(wheel_sizes):
        name = f"bench_wheel_{index:02d}"
        wheel = python_wheel(name, "1.0", rng.randbytes(size))
        total += len(wheel)
        file = f"{name}-1.0-py3-none-any.whl"
        (root / "files" / file).write_bytes(wheel)
        digest = hashlib.sha256(wheel).hexdigest()
        page = root / "simple" / name.replace("_", "-")
        page.mkdir(parents=True, exist_ok=True)
        (page / "index.html").write_text(
            f'<!DOCTYPE html><html><body><a href="{upstream}/files/{file}#sha256={digest}">'
            f"{file}</a></body></html>\n")
        requirements.append(f"{name}==1.0")
    e2e.log(f"pip: {WHEELS} wheels, {total / e2e.MB:.1f} MB")
    return "\n".join(requirements) + "\n"


def python_wheel(name, version, payload):
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"",
        f"{name}/data.bin": payload,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
                         b"Tag: py3-none-any\n",
    }
    record = "".join(
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for path, data in files.items()) + f"{dist}/RECORD,,\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as whl:
        for path, data in {**files, f"{dist}/RECORD": record.encode()}.items():
            whl.writestr(zipfile.ZipInfo(path, (2024, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def apt_archive(root, rng, work):
    """DEBS packages in a suite `bench` under root/debian (an unsigned Release: the sources say
    `trusted=yes`); returns their names."""
    pool = root / "debian" / "pool" / "main"
    build = work / "deb-build"
    names, total = [], 0
    for index, size in enumerate(sizes(rng, DEBS, 150_000, 1.3, 8_000_000)):
        name = f"bench-deb-{index:03d}"
        tree = build / name
        (tree / "DEBIAN").mkdir(parents=True, exist_ok=True)
        (tree / "DEBIAN" / "control").write_text(
            f"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: bench <b@example>\n"
            f"Description: benchmark package {index}\n")
        (tree / "usr" / "share" / name).mkdir(parents=True, exist_ok=True)
        (tree / "usr" / "share" / name / "data.bin").write_bytes(rng.randbytes(size))
        pool.mkdir(parents=True, exist_ok=True)
        deb = pool / f"{name}_1.0_all.deb"
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Znone", "-b", str(tree), str(deb)],
                       check=True, capture_output=True)
        total += deb.stat().st_size
        names.append(name)
    shutil.rmtree(build, ignore_errors=True)
    suite = root / "debian" / "dists" / "bench"
    binary = suite / "main" / "binary-amd64"
    binary.mkdir(parents=True, exist_ok=True)
    packages = subprocess.run(["apt-ftparchive", "packages", "pool"], cwd=root / "debian",
                              check=True, capture_output=True).stdout
    (binary / "Packages").write_bytes(packages)
    subprocess.run(["gzip", "-k9", str(binary / "Packages")], check=True)
    release = subprocess.run(
        ["apt-ftparchive", "-o", "APT::FTPArchive::Release::Suite=bench",
         "-o", "APT::FTPArchive::Release::Codename=bench",
         "-o", "APT::FTPArchive::Release::Architectures=amd64",
         "-o", "APT::FTPArchive::Release::Components=main", "release", str(suite)],
        check=True, capture_output=True).stdout
    (suite / "Release").write_bytes(release)
    e2e.log(f"apt: {DEBS} packages, {total / e2e.MB:.1f} MB of .debs")
    return names


def apt_get(work, names, source, state):
    """`apt-get update` and `apt-get install --download-only` of `names` with apt's lists and
    archives in `state` (kept: a warm run reuses them, as a cache mount would), from `source`."""
    for sub in ("etc/parts", "etc/sources.d", "etc/trusted.d", "etc/prefs.d", "lists/partial",
                "cache/archives/partial", "log"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    (state / "etc" / "empty").write_text("")
    (state / "status").touch()
    (state / "etc" / "sources.list").write_text(f"deb [trusted=yes] {source} bench main\n")
    d = state
    config = state / "apt.conf"
    config.write_text(
        f'Dir::Etc::Parts "{d}/etc/parts";\nDir::Etc::main "{d}/etc/empty";\n'
        f'Dir::Etc::SourceList "{d}/etc/sources.list";\nDir::Etc::SourceParts "{d}/etc/sources.d";\n'
        f'Dir::Etc::Trusted "{d}/etc/empty";\nDir::Etc::TrustedParts "{d}/etc/trusted.d";\n'
        f'Dir::Etc::Preferences "{d}/etc/empty";\nDir::Etc::PreferencesParts "{d}/etc/prefs.d";\n'
        f'Dir::State "{d}";\nDir::State::Lists "{d}/lists";\nDir::State::status "{d}/status";\n'
        f'Dir::Cache "{d}/cache";\nDir::Log "{d}/log";\nDebug::NoLocking "1";\n'
        'APT::Sandbox::User "root";\nAPT::Architecture "amd64";\nAPT::Architectures { "amd64"; };\n'
        'Acquire::Languages "none";\nAcquire::http::Proxy "DIRECT";\n'
        'Binary::apt::APT::Keep-Downloaded-Packages "true";\n')
    env = client_env(work / "home-apt")
    env["APT_CONFIG"] = str(config)
    start = time.monotonic()
    timed(["apt-get", "-q", "update"], env)
    timed(["apt-get", "-q", "-y", "install", "--download-only", *names], env)
    wall = time.monotonic() - start
    fetched = len(list((state / "cache" / "archives").glob("bench-deb-*.deb")))
    if fetched != len(names):
        raise SystemExit(f"apt-get downloaded {fetched} packages, expected {len(names)}")
    return wall


def registry_nginx(work, root):
    """nginx as the registries: packuments at /npm/<name>, pages at /simple/<name>/, with the
    `Cache-Control` npm's registry and PyPI send."""
    port = e2e.free_port()
    conf = work / f"nginx-{port}.conf"
    conf.write_text(f"""
worker_processes 1;
pid {work}/nginx-{port}.pid;
error_log {work}/nginx-{port}-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {work}/nginx-{port}-access.log;
    # When each answer ended, on which connection, how long it took: where a run's time went.
    log_format timing '$msec $connection $request_time $body_bytes_sent $uri';
    access_log {work}/nginx-{port}-timing.log timing;
    client_body_temp_path {work}/nginx-{port}-body;
    sendfile on;
    keepalive_requests 1000000;
    types {{ application/json json; text/html html; application/octet-stream tgz whl; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /npm/ {{
            add_header Cache-Control "public, max-age=300";
            try_files $uri/index.json $uri =404;
        }}
        location /simple/ {{ add_header Cache-Control "max-age=600, public"; }}
        location /files/ {{ add_header Cache-Control "max-age=365000000, immutable, public"; }}
    }}
}}
""")
    args = ["nginx", "-p", str(work), "-e", str(work / f"nginx-{port}-error.log"),
            "-c", str(conf), "-g", "daemon off;"]
    return e2e.Server("nginx", args, port, work)


def client_env(home):
    """The environment a client runs in: no proxies, no user config, its own HOME."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()
           and not k.lower().startswith(("npm_config", "pip_"))}
    env.update(HOME=str(home), NPM_CONFIG_USERCONFIG=str(home / ".npmrc"),
               PIP_CONFIG_FILE="/dev/null", PIP_DISABLE_PIP_VERSION_CHECK="1")
    home.mkdir(parents=True, exist_ok=True)
    (home / ".npmrc").write_text("")
    return env


def timed(args, env, cwd=None):
    start = time.monotonic()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}"
                         f"\n{done.stderr[-3000:]}")
    return wall


def npm_ci(work, project_text, registry, cache, tag):
    """One `npm ci` in a fresh project dir with `cache`; returns its wall time."""
    project = work / f"project-{tag}"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    package, lock = project_text
    (project / "package.json").write_text(package)
    (project / "package-lock.json").write_text(lock)
    env = client_env(work / f"home-{tag}")
    wall = timed(["npm", "ci", "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=error",
                  f"--registry={registry}", f"--cache={cache}"], env, cwd=project)
    installed = len(list((project / "node_modules").glob("bench-pkg-*")))
    if installed != NPM_PACKAGES:
        raise SystemExit(f"npm ci installed {installed} packages, expected {NPM_PACKAGES}")
    shutil.rmtree(project, ignore_errors=True)
    return wall


def pip_install(work, requirements, index, cache, tag):
    target = work / f"site-{tag}"
    shutil.rmtree(target, ignore_errors=True)
    reqs = work / "requirements.txt"
    reqs.write_text(requirements)
    env = client_env(work / f"home-{tag}")
    wall = timed([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                  str(target), "--index-url", index, "--cache-dir", str(cache), "-r", str(reqs)],
                 env)
    installed = len(list(target.glob("bench_wheel_*-1.0.dist-info")))
    if installed != WHEELS:
        raise SystemExit(f"pip installed {installed} wheels, expected {WHEELS}")
    shutil.rmtree(target, ignore_errors=True)
    return wall


class Mirror:
    """larder on its own data dir, its npm and PyPI upstreams the throttled registry."""

    def __init__(self, binary, work, registry, upstream, tag):
        self.binary, self.work, self.tag = binary, work, tag
        self.registry, self.upstream = registry, upstream
        self.data = work / f"larder-data-{tag}"
        self.server = None

    def start(self, fresh):
        if fresh:
            shutil.rmtree(self.data, ignore_errors=True)
        port = e2e.free_port()
        config = self.work / f"larder-{self.tag}.toml"
        config.write_text(f'[npm]\nupstream = "{self.upstream}/npm/"\n'
                          f'[pypi]\nupstream = "{self.upstream}/simple/"\n'
                          f'files_upstream = "{self.upstream}/files/"\n'
                          f'[apt]\ndefault_remotes = false\n[apt.remotes]\nbench = "{self.upstream}/"\n')
        args = [str(self.binary), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir",
                str(self.data), "--config", str(config)]
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        self.server = e2e.Server("larder", args, port, self.work, env)
        return f"http://127.0.0.1:{port}"

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None


MODES = ("direct cold", "larder cold", "larder warm", "client warm", "loopback")


def compare(results, number, workload, rounds, run, larder_cpu=None):
    """`run(mode, round)` → seconds, for each of MODES, interleaved; adds the rows. `loopback`
    is the client, its cache empty, straight at the registry's nginx without the throttle: the
    floor for any mirror a client reaches with an empty cache. `larder_cpu` (mode → seconds of
    larder's CPU per install, filled by `run`) goes into the cold row's note: on a machine the
    client's own work keeps busy, what larder adds to a cold install is mostly the CPU it takes."""
    times = {mode: [] for mode in MODES}
    for round_ in range(rounds):
        order = list(times)
        if round_ % 2:
            order = [order[1], order[0], order[3], order[2], order[4]]
        for mode in order:
            times[mode].append(run(mode, round_))
            e2e.log(f"{workload}, round {round_ + 1}: {mode} {times[mode][-1]:.2f} s")
    med = {mode: statistics.median(t) for mode, t in times.items()}
    note = f"medians of {rounds}; " + ", ".join(
        f"{mode} {' / '.join(f'{t:.1f}' for t in ts)} s" for mode, ts in times.items())
    if larder_cpu and all(larder_cpu.get(mode) for mode in ("larder cold", "larder warm")):
        note += "; larder's CPU (utime + stime) per install: " + ", ".join(
            f"{mode.split()[1]} {statistics.median(larder_cpu[mode]):.2f} s"
            for mode in ("larder cold", "larder warm"))
    results.ratio(number, f"{workload}, cold", "wall time", med["larder cold"],
                  med["direct cold"], "direct", 1.0, False, "s", note, digits=2)
    results.ratio(number, f"{workload}, warm, fresh client cache", "wall time",
                  med["larder warm"], med["client warm"], "client's own warm cache", 1.0, False,
                  "s", "", digits=2)
    results.ratio(number, f"{workload}, warm, fresh client cache", "wall time",
                  med["larder warm"], med["loopback"], "empty client cache, registry on loopback",
                  1.05, False, "s", "the floor: the client's own work with an empty cache",
                  digits=2)


def client_rows(args, work, mirror, number, workload, install, direct_path, larder_path):
    """Rows `number` for one client: `install(source, state, tag)` → seconds, where `state` is
    the client's own cache (empty for every mode but `client warm`, which reuses what `direct
    cold` left in the same round, as a cache mount would); `direct_path` and `larder_path` are
    the client's source below the registry's and larder's base URLs."""
    upstream, registry = mirror.upstream, mirror.registry
    warm_state = {}
    larder_cpu = {"larder cold": [], "larder warm": []}

    def run(mode, round_):
        state = work / f"state-{mirror.tag}-{mode.replace(' ', '-')}-{round_}"
        if mode == "client warm":
            return install(f"{upstream}{direct_path}", warm_state[round_], "direct")
        shutil.rmtree(state, ignore_errors=True)
        if mode == "loopback":
            return install(f"{registry}{direct_path}", state, "direct")
        if mode == "direct cold":
            warm_state[round_] = state
            return install(f"{upstream}{direct_path}", state, "direct")
        if mode == "larder cold":
            mirror.stop()
            base = mirror.start(fresh=True)
        else:
            base = mirror.server.url() if mirror.server else mirror.start(fresh=False)
        cpu_before = mirror.server.cpu_seconds()
        wall = install(f"{base}{larder_path}", state, "larder")
        larder_cpu[mode].append(mirror.server.cpu_seconds() - cpu_before)
        shutil.rmtree(state, ignore_errors=True)
        return wall

    try:
        compare(args.results, number, workload, args.rounds, run, larder_cpu)
    finally:
        mirror.stop()


def upstream_bytes(access_log):
    """Bytes the registry's nginx has sent so far (its access log's `$body_bytes_sent`)."""
    with open(access_log) as log:
        return sum(int(line.split()[9]) for line in log if len(line.split()) > 9)


def builders_row(args, work, registry, upstream, project_text, results, builders=8):
    """8 `npm ci` at once, each with an empty cache: through one empty larder, and direct."""
    mirror = Mirror(args.larder, work, registry.url(), upstream, "builders")
    access_log = work / f"nginx-{registry.port}-access.log"
    sent = {"direct": [], "larder": []}

    def office(registry):
        def one(i):
            cache = work / f"npm-cache-builder-{i}"
            shutil.rmtree(cache, ignore_errors=True)
            npm_ci(work, project_text, registry, cache, f"builder-{i}")
            shutil.rmtree(cache, ignore_errors=True)
        start = time.monotonic()
        with ThreadPoolExecutor(builders) as pool:
            list(pool.map(one, range(builders)))
        return time.monotonic() - start

    times = {"direct": [], "larder": []}
    try:
        for round_ in range(args.rounds):
            order = ["direct", "larder"] if round_ % 2 == 0 else ["larder", "direct"]
            for mode in order:
                before = upstream_bytes(access_log)
                if mode == "direct":
                    times[mode].append(office(f"{upstream}/npm/"))
                else:
                    mirror.stop()
                    times[mode].append(office(f"{mirror.start(fresh=True)}/npm/"))
                sent[mode].append((upstream_bytes(access_log) - before) / e2e.MB)
                e2e.log(f"{builders} builders, round {round_ + 1}: {mode} {times[mode][-1]:.2f} s")
    finally:
        mirror.stop()
    results.ratio(13, f"{builders} builders at once, npm ci each, cold", "wall time (last done)",
                  statistics.median(times["larder"]), statistics.median(times["direct"]),
                  f"{builders} direct", 1.0, False, "s",
                  f"medians of {args.rounds}; larder {' / '.join(f'{t:.1f}' for t in times['larder'])} s, "
                  f"direct {' / '.join(f'{t:.1f}' for t in times['direct'])} s; from the "
                  f"upstream: larder {statistics.median(sent['larder']):.0f} MB, direct "
                  f"{statistics.median(sent['direct']):.0f} MB", digits=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--larder", required=True, type=Path, help="the release binary")
    parser.add_argument("--only", default="npm,pip,apt,builders")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rtt-ms", type=float, default=40)
    parser.add_argument("--mbit", type=float, default=100)
    parser.add_argument("--work", type=Path, help="work dir (default: a new temp dir, removed)")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args()
    only = set(args.only.split(","))
    for tool in ("nginx", "npm") if only & {"npm", "builders"} else ("nginx",):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed; run benches/run, which installs it")
    work = args.work or Path(tempfile.mkdtemp(prefix="larder-clients-"))
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)  # nginx's workers run as nobody
    root = work / "root"
    results = e2e.Results()
    load_before = os.getloadavg()[0]
    try:
        registry = registry_nginx(work, root)
        link = e2e.throttle(work, registry.port, args.rtt_ms, args.mbit)
        upstream = link.url()
        rng = random.Random(23)
        project_text = npm_registry(root, upstream, rng)
        requirements = pypi_index(root, upstream, rng)
        debs = apt_archive(root, rng, work) if "apt" in only else []
        args.results = results

        def mirror(tag):
            return Mirror(args.larder, work, registry.url(), upstream, tag)

        if "npm" in only:
            client_rows(args, work, mirror("npm"), 11, f"npm ci, {NPM_PACKAGES} packages",
                        lambda source, cache, tag: npm_ci(work, project_text, source, cache, tag),
                        "/npm/", "/npm/")
        if "pip" in only:
            client_rows(args, work, mirror("pip"), 12, f"pip install, {WHEELS} wheels",
                        lambda source, cache, tag: pip_install(work, requirements, source, cache,
                                                               tag),
                        "/simple/", "/pypi/simple/")
        if "apt" in only:
            client_rows(args, work, mirror("apt"), 14,
                        f"apt-get update && install, {DEBS} packages",
                        lambda source, state, _tag: apt_get(work, debs, source, state),
                        "/debian", "/apt/bench/debian")
        if "builders" in only:
            builders_row(args, work, registry, upstream, project_text, results)
    finally:
        for server in list(e2e.RUNNING):
            server.stop()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    header = [f"larder with real clients, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{os.cpu_count()} cores (load average {load_before:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after), npm {tool_version(['npm', '--version'])}, "
              f"pip {tool_version([sys.executable, '-m', 'pip', '--version']).split()[1]}; "
              f"upstream behind benches/throttle.py ({args.rtt_ms:g} ms, {args.mbit:g} Mbit/s); "
              "ratio = larder / baseline, both measured in this run, interleaved"]
    text = results.markdown(header)
    print(text)
    if args.out:
        args.out.write_text(text)


def tool_version(args):
    return subprocess.run(args, capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
