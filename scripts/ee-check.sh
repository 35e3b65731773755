#!/usr/bin/env bash
# Validate the execution environment without a container engine:
#   1. build the collection tarball, 2. `ansible-builder create` the build context from
#   meta/execution-environment.yml, 3. check the context (Containerfile, our Python and system
#   requirements, the collection tarball referenced and present), 4. install that tarball in an
#   empty collections path and run the EE smoke playbook tests/ee/all.yml with it.
# Usage: scripts/ee-check.sh [WORKDIR]   (default: a temporary folder, removed on success)
#   EE_DEFINITION=<file> checks another definition (default meta/execution-environment.yml).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/sre-toolkit-ee.XXXXXX")}"
KEEP="${1:+1}"
fail() { echo "ee-check: FAILED: $*" >&2; exit 1; }
step() { echo "ee-check: $*"; }

VERSION="$(python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')"
TARBALL="sre-toolkit-$VERSION.tar.gz"
mkdir -p "$WORK/meta" "$WORK/dist"
EE_DEFINITION="${EE_DEFINITION:-meta/execution-environment.yml}"
cp meta/ee-requirements.txt meta/ee-bindep.txt "$WORK/meta/"
cp "$EE_DEFINITION" "$WORK/meta/execution-environment.yml"

step "building the collection ($TARBALL)"
ansible-galaxy collection build --force --output-path "$WORK/dist" . >/dev/null
[ -f "$WORK/dist/$TARBALL" ] || fail "ansible-galaxy did not produce $TARBALL"
grep -q "collections/$TARBALL" "$EE_DEFINITION" ||
  fail "$EE_DEFINITION does not reference collections/$TARBALL (galaxy.yml version $VERSION)"

step "ansible-builder create"
ansible-builder create -f "$WORK/meta/execution-environment.yml" -c "$WORK/context" --output-filename Containerfile -v 1 >/dev/null
CTX="$WORK/context"
[ -s "$CTX/Containerfile" ] || fail "no Containerfile in $CTX"

step "checking the build context"
while read -r line; do
  grep -qxF "$line" "$CTX/_build/requirements.txt" || fail "_build/requirements.txt lacks '$line'"
done < <(grep -v '^\s*\(#\|$\)' meta/ee-requirements.txt)
while read -r line; do
  grep -qxF "$line" "$CTX/_build/bindep.txt" || fail "_build/bindep.txt lacks '$line'"
done < <(grep -v '^\s*\(#\|$\)' meta/ee-bindep.txt)
grep -q "collections/$TARBALL" "$CTX/_build/requirements.yml" || fail "_build/requirements.yml does not reference $TARBALL"
cmp -s "$CTX/_build/collections/$TARBALL" "$WORK/dist/$TARBALL" || fail "_build/collections/$TARBALL is not the built tarball"
for pattern in 'ARG EE_BASE_IMAGE="quay.io/fedora/fedora:41"' 'ansible-galaxy collection install' '^COPY _build /build' \
               'assemble' 'ansible-galaxy collection list sre.toolkit'; do
  grep -q -- "$pattern" "$CTX/Containerfile" || fail "Containerfile lacks '$pattern'"
done
python - "$CTX/_build/requirements.yml" "$TARBALL" <<'PY' || fail "_build/requirements.yml is not what the EE should install"
import sys, yaml
req = yaml.safe_load(open(sys.argv[1]))
names = [(c.get("name"), c.get("type")) for c in req.get("collections", [])]
assert names == [("collections/" + sys.argv[2], "file")], names
PY

step "installing the tarball and running the EE smoke playbook (tests/ee/all.yml)"
ANSIBLE_COLLECTIONS_PATH="$WORK/collections" ansible-galaxy collection install --offline --force -p "$WORK/collections" "$WORK/dist/$TARBALL" >/dev/null 2>&1 ||
  fail "could not install $TARBALL"
[ -f "$WORK/collections/ansible_collections/sre/toolkit/MANIFEST.json" ] || fail "the tarball did not install as sre.toolkit"
ANSIBLE_COLLECTIONS_PATH="$WORK/collections" ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 \
  ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
  ansible-playbook -i localhost, -c local -e "ansible_python_interpreter=$(command -v python)" tests/ee/all.yml \
  > "$WORK/smoke.log" 2>&1 || { cat "$WORK/smoke.log" >&2; fail "the smoke playbook failed"; }
grep -q 'failed=0' "$WORK/smoke.log" || fail "smoke playbook reported failures"

step "OK (context: $CTX)"
[ -n "$KEEP" ] || rm -rf "$WORK"
