#!/usr/bin/env bash
# Validates the REST API's OpenAPI 3.1 document (issue 14) with
# openapi-spec-validator from PyPI: dumps it with the outpost-api example
# `openapi` (the document GET /api/v1/openapi.json serves) and checks it
# against the OpenAPI 3.1 schema. Installs the validator when missing: into
# the Python in use, or, where that Python is externally managed (PEP 668),
# into a virtual environment under target/.
#
# That every route of the router is in the document is checked by
# `cargo test -p outpost-api --test openapi`.
set -euo pipefail
cd "$(dirname "$0")/.."

python=python3
if ! "$python" -c 'import openapi_spec_validator' 2>/dev/null; then
  if ! "$python" -m pip install --quiet openapi-spec-validator 2>/dev/null; then
    venv=target/openapi-venv
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    python="$venv/bin/python"
    "$python" -c 'import openapi_spec_validator' 2>/dev/null ||
      "$python" -m pip install --quiet openapi-spec-validator
  fi
fi

mkdir -p target
document=target/openapi.json
cargo run --quiet --locked -p outpost-api --example openapi >"$document"
"$python" -m openapi_spec_validator "$document"
"$python" - "$document" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["openapi"].startswith("3.1"), f"not OpenAPI 3.1: {doc['openapi']}"
operations = sum(len(ops) for ops in doc["paths"].values())
print(f"{sys.argv[1]}: OpenAPI {doc['openapi']}, {len(doc['paths'])} paths, {operations} operations")
PY
