#!/usr/bin/env bash
# One command to set up a fresh machine: a virtual environment in .venv with torch, garmentstyle and its test tools.
#   bash scripts/setup.sh            # everything, including Chromium for the browser test (needs root / apt-get)
#   NO_BROWSER=1 bash scripts/setup.sh   # skip Chromium
#   NO_RAY=1 bash scripts/setup.sh       # skip the optional Ray extra (batch --ray)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
# The pinned torch wheels resolve from the local wheel cache here; install them before anything that depends on torch
# so pip never pulls a different build.
python -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
python -m pip install --quiet -e ".[dev]"
# The Ray extra (garmentstyle batch --ray, and the test that a local Ray instance renders the same bytes as local
# processes). It resolves from the local registry here: ray 2.60 is one 79 MB wheel + 9 small dependencies, ~20 s to
# install on the 2-core machine, ~250 MB in .venv (torch is ~6 GB). NO_RAY=1 skips it; the Ray test then skips.
if [ -z "${NO_RAY:-}" ]; then
  python -m pip install --quiet -e ".[dev,ray]" \
    || echo "setup: could not install the ray extra; the Ray batch test will be skipped" >&2
fi
if [ -z "${NO_BROWSER:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "setup: could not install chromium; the browser test will be skipped" >&2
  else
    echo "setup: chromium not found and apt-get unavailable; the browser test will be skipped" >&2
  fi
fi
echo "setup: done. Activate with: . .venv/bin/activate"
