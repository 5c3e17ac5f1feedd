#!/usr/bin/env bash
# Set up koarena in ./.venv and print the leaderboard of the published Ko-Arena-Hard data with
# the defaults of every command (style control, 1000 bootstrap rounds, as published). Extra
# arguments go to `koarena leaderboard`.
#
# Data: $KOARENA_DATA_DIR if set, else ./data. When that lacks the benchmark, a checkout of the
# shared data beside the repository (../shared/data) is used if present; otherwise the
# published data is downloaded with `koarena data pull`. Where the data can be neither found nor
# downloaded, the script says so before installing anything and leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "koarena needs Python 3.11 or newer (python3 is $(python3 --version))" >&2; exit 1; }

bench=ko-arena-hard-v0.1
data="${KOARENA_DATA_DIR:-data}"
pull=no
if [ ! -f "$data/$bench/question.jsonl" ]; then
  if [ -z "${KOARENA_DATA_DIR:-}" ] && [ -f "../shared/data/$bench/question.jsonl" ]; then
    data=../shared/data
    echo "using the benchmark data in $data" >&2
  else
    # Check that the download can work before spending half a minute on the install.
    url=$(sed -n 's/^DEFAULT_URL = "\(.*\)"$/\1/p' src/koarena/datapull.py)
    if ! why=$(python3 -c '
import sys, urllib.request
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="HEAD"), timeout=15)
except Exception as exc:
    sys.exit(str(getattr(exc, "reason", exc)))
' "$url" 2>&1); then
      cat >&2 <<EOF
error: no benchmark data in $data/$bench/, and the published data cannot be downloaded
($url: $why).
If you have the data, point at the directory that holds $bench/:
  KOARENA_DATA_DIR=/path/to/data ./scripts/quickstart.sh
(every koarena command also takes --data-dir /path/to/data).
EOF
      exit 1
    fi
    pull=yes
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
[ "$pull" = no ] || .venv/bin/koarena data pull --data-dir "$data"
.venv/bin/koarena leaderboard --data-dir "$data" "$@"
cat >&2 <<EOF

koarena is installed in .venv/bin. To type \`koarena\` as in the docs, activate it first:
  source .venv/bin/activate
or call it by its path: .venv/bin/koarena --help
EOF
