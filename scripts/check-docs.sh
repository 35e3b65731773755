#!/usr/bin/env bash
# ansible-doc must render every module and role of the collection installed under $1.
set -euo pipefail
COLLECTIONS="$1"
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rc=0
for f in "$REPO"/plugins/modules/*.py; do
  [ -e "$f" ] || continue
  m="$(basename "$f" .py)"
  if ansible-doc -t module "sre.toolkit.$m" > /dev/null 2>"/tmp/ansible-doc-$m.err" && ! grep -q "WARNING\|ERROR" "/tmp/ansible-doc-$m.err"; then
    echo "ansible-doc sre.toolkit.$m: ok"
  else
    echo "ansible-doc sre.toolkit.$m: FAILED"; cat "/tmp/ansible-doc-$m.err"; rc=1
  fi
done
for d in "$REPO"/roles/*/meta/argument_specs.yml; do
  [ -e "$d" ] || continue
  r="$(basename "$(dirname "$(dirname "$d")")")"
  if ansible-doc -t role "sre.toolkit.$r" > /dev/null; then echo "ansible-doc role sre.toolkit.$r: ok"; else echo "role $r: FAILED"; rc=1; fi
done
exit $rc
