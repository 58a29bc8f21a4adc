"""Builds the PyPI fixture set for tests/pypi: real wheels and sdists, written with zipfile and
tarfile (no build backend, no network), and a manifest.json that the Rust test renders into
PEP 503 HTML and PEP 691 JSON pages.

Usage: python3 fixture.py OUT_DIR
"""

import base64
import hashlib
import io
import json
import os
import random
import re
import sys
import tarfile
import zipfile

OUT = sys.argv[1]
FILES = []


def dist_name(project):
    # Wheel and sdist file names use the normalized name with underscores.
    return re.sub(r"[-_.]+", "_", project).lower()


def normalized(project):
    return re.sub(r"[-_.]+", "-", project).lower()


def record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def metadata(project, version, requires=(), requires_python=None):
    lines = ["Metadata-Version: 2.1", f"Name: {project}", f"Version: {version}",
             f"Summary: larder fixture {project} {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {r}" for r in requires]
    return ("\n".join(lines) + "\n").encode()


def publish(project, filename, data, requires_python=None, yanked=None, core_metadata=None):
    digest = hashlib.sha256(filename.encode()).hexdigest()
    path = f"packages/{digest[:2]}/{digest[2:4]}/{digest[4:]}/{filename}"
    full = os.path.join(OUT, "files", path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)
    entry = {
        "project": project,
        "filename": filename,
        "path": path,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "requires_python": requires_python,
        "yanked": yanked,
        "metadata_sha256": None,
    }
    if core_metadata is not None:
        with open(full + ".metadata", "wb") as f:
            f.write(core_metadata)
        entry["metadata_sha256"] = hashlib.sha256(core_metadata).hexdigest()
    FILES.append(entry)


def wheel(project, version, requires=(), requires_python=None, yanked=None, extra=None,
          with_metadata=True):
    dist = dist_name(project)
    info = f"{dist}-{version}.dist-info"
    meta = metadata(project, version, requires, requires_python)
    members = [
        (f"{dist}/__init__.py", f'VERSION = "{version}"\n'.encode()),
        (f"{info}/METADATA", meta),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: larder-fixture\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    if extra:
        members.append((f"{dist}/{extra[0]}", extra[1]))
    record = "".join(f"{name},{record_hash(data)},{len(data)}\n" for name, data in members)
    record += f"{info}/RECORD,,\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            # Stored, not deflated: the big wheel must stay big, and zip bytes stay deterministic.
            info_entry = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            z.writestr(info_entry, data, compress_type=zipfile.ZIP_STORED)
        z.writestr(zipfile.ZipInfo(f"{info}/RECORD", date_time=(2024, 1, 1, 0, 0, 0)), record)
    publish(project, f"{dist}-{version}-py3-none-any.whl", buf.getvalue(), requires_python,
            yanked, meta if with_metadata else None)


def sdist(project, version, requires_python=None, yanked=None):
    dist = dist_name(project)
    root = f"{dist}-{version}"
    members = {
        f"{root}/PKG-INFO": metadata(project, version, (), requires_python),
        f"{root}/pyproject.toml": f'[project]\nname = "{project}"\nversion = "{version}"\n'.encode(),
        f"{root}/{dist}/__init__.py": f'VERSION = "{version}"\n'.encode(),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            entry.mtime = 1704067200
            tar.addfile(entry, io.BytesIO(data))
    publish(project, f"{root}.tar.gz", buf.getvalue(), requires_python, yanked)


# One project with a dependency, named in its non-normalized form.
wheel("app-main", "1.0", requires=["Dep.Lib>=1.0"], requires_python=">=3.8")
sdist("app-main", "1.0", requires_python=">=3.8")
# The non-normalized project name; its newest version is yanked, so 1.1 must win.
wheel("Dep.Lib", "1.0")
wheel("Dep.Lib", "1.1", requires_python=">=3")
wheel("Dep.Lib", "1.2", yanked="broken release, use 1.1")
sdist("Dep.Lib", "1.1")
# A newer version whose requires-python excludes every running Python.
wheel("future-only", "1.0", requires_python=">=3")
wheel("future-only", "2.0", requires_python=">=4")
# Large enough (4 MiB, incompressible) that uv reads its metadata by range; no .metadata file
# is published for it, so uv must.
wheel("big-wheel", "1.0", extra=("blob.bin", random.Random(42).randbytes(4 << 20)),
      with_metadata=False)
# Listed with a digest the files host will not match (the test serves other bytes).
wheel("bad-hash", "1.0")

# Served as pypiserver does, linked relative to their pages; rel-up depends on rel-same.
wheel("rel-up", "1.0", requires=["rel-same"], with_metadata=False)
wheel("rel-same", "1.0", with_metadata=False)

projects = {}
for entry in FILES:
    projects.setdefault(normalized(entry["project"]), []).append(entry)
with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump({"projects": projects}, f, indent=1)
