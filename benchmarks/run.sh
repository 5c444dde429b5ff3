#!/usr/bin/env bash
# Runs every benchmark (not part of `make test`): benchmarks/run.sh [--quick] [run.py options]
# Same as `.venv/bin/python benchmarks/run.py ...`; see benchmarks/README.md.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
python="$top/.venv/bin/python"
if [ ! -x "$python" ]; then
  echo "run 'make venv' first: $python is missing" >&2
  exit 1
fi
exec "$python" "$top/benchmarks/run.py" "$@"
