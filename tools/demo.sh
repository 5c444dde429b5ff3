#!/usr/bin/env bash
# make demo: a rollout then a check of dozens of collectivités on several Corail servers, against
# the sandbox, in a throwaway folder (demo/ by default, git-ignored; CHORUS_DEMO_DIR to change it).
# The "servers" are local hosts (ansible_connection: local), each with its own Corail
# configuration file under the folder. Prints the summary and the report path; stops the sandbox.
# Knobs: CHORUS_DEMO_STRUCTURES (60), CHORUS_DEMO_HOSTS (6), CHORUS_DEMO_SEED (2025).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bin="$top/.venv/bin"
py="$bin/python"
export PATH="$bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$top/.tmp/link"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_RETRY_FILES_ENABLED=false
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_DEPRECATION_WARNINGS=false
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
export ANSIBLE_FORKS="${ANSIBLE_FORKS:-10}"

[ -e "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/chorus/corail" ] || "$top/tools/stage_collection.sh"

work=${CHORUS_DEMO_DIR:-$top/demo}
structures=${CHORUS_DEMO_STRUCTURES:-60}
hosts=${CHORUS_DEMO_HOSTS:-6}
seed=${CHORUS_DEMO_SEED:-2025}
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

stop_sandbox() { "$py" tests/sandbox/sandbox_ctl.py stop --state-dir "$work/sandbox" >/dev/null 2>&1 || true; }
trap stop_sandbox EXIT

# The world names the sandbox URL, so pick the port first.
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"

echo "== chorus.corail demo in $work"
echo "-- world: $structures collectivités on $hosts Corail servers (some missing, rejected, expired,"
echo "   expiring and unattached accounts, unknown structures, a missing raccordement, a refused PISTE app)"
"$py" tests/sandbox/make_world.py --structures "$structures" --hosts "$hosts" --seed "$seed" --url "$url" \
  --out "$work" >"$work/world.json"
echo "-- sandbox (PISTE + Chorus Pro stand-in): $("$py" tests/sandbox/sandbox_ctl.py start --world "$work/world.yml" \
  --state-dir "$work/sandbox" --port "$port")"

# Exit code 2 means "some host failed": expected here, the world has problems on purpose.
run() {
  local name=$1 rc=0
  shift
  echo "-- ansible-playbook chorus.corail.$name (output: $work/$name.log)"
  ansible-playbook -i "$work/inventory" "chorus.corail.$name" -e "chorus_check_report_dir=$work/reports" "$@" \
    >"$work/$name.log" 2>&1 || rc=$?
  if [ "$rc" != 0 ] && [ "$rc" != 2 ]; then
    tail -n 40 "$work/$name.log" >&2
    echo "ansible-playbook chorus.corail.$name failed (exit code $rc), see $work/$name.log" >&2
    exit "$rc"
  fi
  grep -E '^[a-z0-9._-]+ +: ok=' "$work/$name.log" | sed 's/^/   /' || true
}

run rollout
echo "-- rollout summary:"
"$py" - "$work/rollout.log" <<'PY'
import json
import re
import sys
text = open(sys.argv[1], encoding='utf-8').read()
# the list that the task "Show what the rollout did not deploy, and why" prints
block = re.search(r'TASK \[Show what the rollout did not deploy, and why\].*?"msg": (\[.*?\n    \])', text, re.S)
for line in json.loads(block.group(1)) if block else ['(no summary: see the log)']:
    print('   ' + line)
PY

run check
echo "-- check summary:"
PYTHONPATH="$ANSIBLE_COLLECTIONS_PATH" "$py" - "$work/reports/latest/report.json" <<'PY'
import json
import sys
from ansible_collections.chorus.corail.plugins.module_utils._report import summary_lines
for line in summary_lines(json.load(open(sys.argv[1], encoding='utf-8'))):
    print('   ' + line)
PY
echo "-- configuration files written: $(find "$work/servers" -type f -name 'corail.*' | wc -l) (under $work/servers)"
echo "-- report: $work/reports/latest/report.html"
