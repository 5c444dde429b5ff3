#!/usr/bin/env bash
# shellcheck disable=SC2317  # the stage_* functions are called indirectly, as "stage_$name"
# Runs the test stages and prints how long each took. Usage: run_tests.sh all|STAGE...
# Stages: sanity units functional integration molecule lint, and sanity-2.17 units-2.17 sanity-2.18
# units-2.18 (the older cores of the matrix; sanity and units above run the venv's 2.19). Fails if any
# stage fails.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
bin="$top/.venv/bin"
export PATH="$bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$top/.tmp/link"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_NOCOLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0
py=3.11

stages=("$@")
if [ "${stages[0]:-all}" = all ]; then
  stages=(sanity units sanity-2.17 units-2.17 sanity-2.18 units-2.18 functional integration molecule lint)
fi

build_copy() { "$top/tools/stage_collection.sh" --copy; }

stage_sanity() {
  local d; d=$(build_copy) || return 1
  (cd "$d" && ansible-test sanity --venv --python "$py" --requirements --color no)
}
stage_units() {
  local d; d=$(build_copy) || return 1
  (cd "$d" && ansible-test units --venv --python "$py" --requirements --color no)
}
# sanity-2.17, units-2.18...: the same ansible-test run from a small venv of that ansible-core.
stage_core() {
  local kind=$1 core=$2 d corebin
  corebin=$("$top/tools/core_venv.sh" "$core") || return 1
  d=$(build_copy) || return 1
  (cd "$d" && "$corebin/ansible-test" "$kind" --venv --python "$py" --requirements --color no)
}
stage_functional() {
  # Tests that drive the sandbox, playbooks and reports from the development venv.
  # (two runs: each folder has its own conftest.py, and their module names would clash)
  python -m pytest -q -p no:cacheprovider -n 2 tests/sandbox/tests &&
    python -m pytest -q -p no:cacheprovider -n 2 tests/functional
}
stage_integration() {
  local d; d=$(build_copy) || return 1
  (cd "$d" && ansible-test integration --venv --python "$py" --requirements --color no)
}
stage_molecule() {
  local scenarios
  scenarios=$(find extensions/molecule -mindepth 2 -maxdepth 2 -name molecule.yml 2>/dev/null | wc -l)
  if [ "$scenarios" = 0 ]; then echo "no molecule scenario"; return 1; fi
  (cd extensions && molecule test --all)
}
stage_lint() {
  # ansible.windows (optional for users) must be resolvable to lint the Windows handlers.
  local windows; windows=$("$top/tools/get_ansible_windows.sh") || return 1
  ANSIBLE_COLLECTIONS_PATH="$ANSIBLE_COLLECTIONS_PATH:$windows" ansible-lint --profile production --offline
}

declare -A result took
failed=0
for s in "${stages[@]}"; do
  echo "=== $s ==="
  start=$(date +%s)
  case $s in
    sanity-2.1[78]|units-2.1[78]) run=(stage_core "${s%-*}" "${s#*-}") ;;
    *) run=("stage_$s") ;;
  esac
  if "${run[@]}"; then result[$s]=passed; else result[$s]=FAILED; failed=1; fi
  took[$s]=$(( $(date +%s) - start ))
done

echo
echo "=== summary ==="
total=0
for s in "${stages[@]}"; do
  printf '%-12s %-7s %5ss\n' "$s" "${result[$s]}" "${took[$s]}"
  total=$(( total + took[$s] ))
done
printf '%-12s %-7s %5ss\n' total "" "$total"
exit $failed
