"""Validates an SBOM file offline: `validate.py cyclonedx FILE` against the CycloneDX 1.5 JSON
schema that cyclonedx-python-lib bundles, `validate.py spdx FILE` with spdx-tools' SPDX 2.3
validator. Prints the errors and exits 1 when the document is not valid."""

import sys


def cyclonedx(path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    with open(path, encoding="utf-8") as f:
        errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(f.read())
    return [str(errors)] if errors else []


def spdx(path):
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    document = parse_file(path)
    return [m.validation_message for m in validate_full_spdx_document(document, "SPDX-2.3")]


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    problems = {"cyclonedx": cyclonedx, "spdx": spdx}[kind](path)
    for problem in problems:
        print(problem)
    sys.exit(1 if problems else 0)
