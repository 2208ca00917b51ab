#!/usr/bin/env bash
# Prints the path of a Python that has the PyPI packages the tests use
# (requests-oauthlib: the web services' independent OAuth 1.0a client,
# tests/webservices/msl_client.py; playwright: the admin UI's browser
# tests, tests/ui/admin_ui.py, which drive Debian's chromium: Playwright's
# own browser download is never used), installing them when missing: into the
# Python in use, or, where that Python is externally managed (PEP 668),
# into a virtual environment under target/.
#
#   OUTPOST_PYTHON=$(bash scripts/python_env.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(requests-oauthlib playwright)
check='import requests_oauthlib, playwright.sync_api'
python=python3
if ! "$python" -c "$check" 2>/dev/null; then
  if ! "$python" -m pip install --quiet "${packages[@]}" >&2 2>/dev/null; then
    venv=target/py-venv
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" >&2
    python="$PWD/$venv/bin/python"
    "$python" -c "$check" 2>/dev/null || "$python" -m pip install --quiet "${packages[@]}" >&2
  fi
  "$python" -c "$check"
fi
command -v "$python"
