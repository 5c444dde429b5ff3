#!/usr/bin/env bash
# Make (once) a small venv holding one ansible-core of the CI matrix, and print its bin folder.
# Usage: tools/core_venv.sh 2.17|2.18|2.19. ansible-test --venv then builds its own test venvs
# with the Python of that ansible-test, so sanity and units run against that core.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
core=${1:?usage: core_venv.sh 2.17|2.18|2.19}
req="$top/tests/requirements/core-$core.txt"
[ -f "$req" ] || { echo "no pinned ansible-core for $core ($req)" >&2; exit 2; }
venv="$top/.tmp/core-$core"
if [ ! -x "$venv/bin/ansible-test" ] || ! cmp -s "$req" "$venv/requirements.txt"; then
  rm -rf "$venv"
  python3.11 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  cp "$req" "$venv/requirements.txt"
fi
# This core's ansible-test may want another pip bootstrap script than the development venv's.
"$venv/bin/python" "$top/tools/ansible_test_offline.py" >&2
echo "$venv/bin"
