#!/usr/bin/env bash
# Tools the served-log tests (tests/served/) need, besides npm's and pip's (.ci/install/npm.sh,
# .ci/install/pypi.sh): SBOM validators from PyPI that work offline. cyclonedx-python-lib with
# its json-validation extra bundles the CycloneDX JSON schemas; spdx-tools validates SPDX 2.3.
# Idempotent: a quick no-op when both are installed.
set -euo pipefail

have_validators() {
    python3 - <<'PY' >/dev/null 2>&1
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
JsonStrictValidator(SchemaVersion.V1_5)
PY
}

if have_validators; then
    exit 0
fi
echo "served.sh: installing cyclonedx-python-lib[json-validation] and spdx-tools from PyPI"
python3 -m pip install --quiet --disable-pip-version-check --no-input \
    "cyclonedx-python-lib[json-validation]>=8" "spdx-tools>=0.8"
have_validators || { echo "served.sh: validators installed but not importable" >&2; exit 1; }
