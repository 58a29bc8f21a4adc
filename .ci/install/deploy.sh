#!/usr/bin/env bash
# Tools the deploy tests (tests/deploy/) need: buildah to build and run larder's image without
# a Docker engine, systemd-analyze to verify the office-mirror unit, binutils' strip for
# deploy/stage.sh, check-jsonschema (from PyPI; it bundles the compose-spec schema and
# ruamel.yaml) to parse and check deploy/compose.yaml, and kubernetes-validate (from PyPI; it
# bundles the Kubernetes API's JSON schemas) to check deploy/office-mirror/kubernetes.yaml.
# Idempotent: a quick no-op when everything is already installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/apt-install.sh"

need=()
command -v buildah >/dev/null 2>&1 || need+=(buildah)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v strip >/dev/null 2>&1 || need+=(binutils)
[ -r /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)

apt_install "${need[@]}"

have_check_jsonschema() {
    python3 - <<'PY' >/dev/null 2>&1
import check_jsonschema, ruamel.yaml
from importlib.resources import files
assert files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").is_file()
PY
}
if ! have_check_jsonschema; then
    echo "deploy.sh: installing check-jsonschema from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check --no-input "check-jsonschema>=0.29"
    have_check_jsonschema || { echo "deploy.sh: check-jsonschema installed but unusable" >&2; exit 1; }
fi

have_kubernetes_validate() {
    python3 -c 'import kubernetes_validate' >/dev/null 2>&1
}
if ! have_kubernetes_validate; then
    echo "deploy.sh: installing kubernetes-validate from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check --no-input "kubernetes-validate>=1.30" \
        || python3 -m pip install --quiet --disable-pip-version-check --no-input --break-system-packages "kubernetes-validate>=1.30"
    have_kubernetes_validate || { echo "deploy.sh: kubernetes-validate installed but unusable" >&2; exit 1; }
fi
