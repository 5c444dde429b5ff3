#!/usr/bin/env bash
# Make the collection visible as ansible_collections/chorus/corail:
#  - .tmp/link/...: a symlink to this checkout, for ansible-playbook, molecule and ansible-doc;
#  - $CHORUS_BUILD_DIR/... (with --copy): a fresh copy of the files git knows (tracked, and
#    untracked but not ignored), because ansible-test resolves symlinks, must run inside
#    ansible_collections/ and skips everything that sits in an ignored folder of a git checkout.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/.tmp/link/ansible_collections/chorus"
ln -sfn "$top" "$top/.tmp/link/ansible_collections/chorus/corail"
if [ "${1:-}" = "--copy" ]; then
  dest="${CHORUS_BUILD_DIR:-/tmp/chorus.corail-build}/ansible_collections/chorus/corail"
  rm -rf "$dest"
  mkdir -p "$dest"
  # Files deleted in the work tree but still tracked are skipped.
  (cd "$top" && git ls-files -z --cached --others --exclude-standard \
     | while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done \
     | tar --null -T - -cf -) | (cd "$dest" && tar -xf -)
  echo "$dest"
fi
