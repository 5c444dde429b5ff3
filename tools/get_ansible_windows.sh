#!/usr/bin/env bash
# Put ansible.windows (an OPTIONAL dependency of chorus.corail, for Windows Corail servers) into a
# test collections path, without touching the venv's ansible-core: the community `ansible` package
# ships ansible_collections/ansible/windows; its wheel is downloaded once (--no-deps, so ansible-core
# is never reinstalled), cached, and only that folder is unpacked.
#   tools/get_ansible_windows.sh        -> prints the collections path (.tmp/windows_collections)
# ANSIBLE_COMMUNITY_VERSION picks the community release; 12.x requires ansible-core ~=2.19.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
version=${ANSIBLE_COMMUNITY_VERSION:-12.0.0}
cache=${CHORUS_DOWNLOAD_CACHE:-$HOME/.cache/chorus-corail}
dest="$top/.tmp/windows_collections"
pip="$top/.venv/bin/pip"
[ -x "$pip" ] || pip="pip"
wheel="$cache/ansible-$version-py3-none-any.whl"
if [ ! -f "$wheel" ]; then
  mkdir -p "$cache"
  "$pip" download --quiet --disable-pip-version-check --no-deps "ansible==$version" -d "$cache" >&2
fi
stamp="$dest/.from-ansible-$version"
if [ ! -f "$stamp" ]; then
  rm -rf "$dest"
  mkdir -p "$dest"
  python3 - "$wheel" "$dest" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1:]
prefix = 'ansible_collections/ansible/windows/'
with zipfile.ZipFile(wheel) as z:
    members = [n for n in z.namelist() if n.startswith(prefix)]
    if not members:
        sys.exit('%s has no %s' % (wheel, prefix))
    z.extractall(dest, members)
PY
  touch "$stamp"
fi
echo "$dest"
