#!/usr/bin/env bash
# Set up koarena in ./.venv and print the style-controlled leaderboard of the published
# Ko-Arena-Hard data (1000 bootstrap rounds). Extra arguments go to `koarena leaderboard`.
#
# Data: $KOARENA_DATA_DIR if set, else ./data. When that lacks the benchmark, a checkout of the
# shared data beside the repository (../shared/data) is used if present; otherwise the
# published data is downloaded with `koarena data pull`.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "koarena needs Python 3.11 or newer (python3 is $(python3 --version))" >&2; exit 1; }
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .

bench=ko-arena-hard-v0.1
data="${KOARENA_DATA_DIR:-data}"
if [ ! -f "$data/$bench/question.jsonl" ]; then
  if [ -z "${KOARENA_DATA_DIR:-}" ] && [ -f "../shared/data/$bench/question.jsonl" ]; then
    data=../shared/data
    echo "using the benchmark data in $data" >&2
  else
    .venv/bin/koarena data pull --data-dir "$data"
  fi
fi
exec .venv/bin/koarena leaderboard --data-dir "$data" --control style --rounds 1000 "$@"
