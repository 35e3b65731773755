#!/usr/bin/env bash
# Validate the execution environment without a container engine:
#   1. build the collection tarball, 2. `ansible-builder create` the build context from the image
#   definition docs/awx/ee/execution-environment.yml, 3. check the context (Containerfile, the
#   collection tarball referenced and present), 4. install that tarball in an empty collections path,
#   check that ansible-builder's introspection finds the collection's Python and system requirements
#   (meta/execution-environment.yml -> requirements.txt, bindep.txt) and run the EE smoke playbook
#   tests/ee/all.yml with it. scripts/ee-build.sh builds and runs the real image.
# Usage: scripts/ee-check.sh [WORKDIR]   (default: a temporary folder, removed on success)
#   EE_DEFINITION=<file> checks another definition (default docs/awx/ee/execution-environment.yml).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/sre-toolkit-ee.XXXXXX")}"
KEEP="${1:+1}"
fail() { echo "ee-check: FAILED: $*" >&2; exit 1; }
step() { echo "ee-check: $*"; }

VERSION="$(python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')"
TARBALL="sre-toolkit-$VERSION.tar.gz"
mkdir -p "$WORK/def" "$WORK/dist"
EE_DEFINITION="${EE_DEFINITION:-docs/awx/ee/execution-environment.yml}"
cp "$EE_DEFINITION" "$WORK/def/execution-environment.yml"
cp docs/awx/ee/apt-get-ee "$WORK/def/"

step "building the collection ($TARBALL)"
ansible-galaxy collection build --force --output-path "$WORK/dist" . >/dev/null
[ -f "$WORK/dist/$TARBALL" ] || fail "ansible-galaxy did not produce $TARBALL"
cp "$WORK/dist/$TARBALL" "$WORK/def/sre-toolkit.tar.gz"
grep -q "collections/sre-toolkit.tar.gz" "$EE_DEFINITION" ||
  fail "$EE_DEFINITION does not reference collections/sre-toolkit.tar.gz"

step "ansible-builder create"
ansible-builder create -f "$WORK/def/execution-environment.yml" -c "$WORK/context" --output-filename Containerfile -v 1 >/dev/null
CTX="$WORK/context"
[ -s "$CTX/Containerfile" ] || fail "no Containerfile in $CTX"

step "checking the build context"
grep -q "collections/sre-toolkit.tar.gz" "$CTX/_build/requirements.yml" || fail "_build/requirements.yml does not reference the tarball"
cmp -s "$CTX/_build/collections/sre-toolkit.tar.gz" "$WORK/dist/$TARBALL" || fail "_build/collections/sre-toolkit.tar.gz is not the built tarball"
for pattern in 'ARG EE_BASE_IMAGE="localhost/sre-toolkit-ee-base:bookworm"' 'ansible-galaxy collection install' 'COPY _build/scripts/ /output/scripts/' \
               'assemble' 'ARG PKGMGR="/usr/local/bin/apt-get-ee"' 'ansible-galaxy collection list sre.toolkit'; do
  grep -q -- "$pattern" "$CTX/Containerfile" || fail "Containerfile lacks '$pattern'"
done
python - "$CTX/_build/requirements.yml" "$TARBALL" <<'PY' || fail "_build/requirements.yml is not what the EE should install"
import sys, yaml
req = yaml.safe_load(open(sys.argv[1]))
names = [(c.get("name"), c.get("type")) for c in req.get("collections", [])]
assert names == [("collections/sre-toolkit.tar.gz", "file")], names
PY

step "installing the tarball and running the EE smoke playbook (tests/ee/all.yml)"
ANSIBLE_COLLECTIONS_PATH="$WORK/collections" ansible-galaxy collection install --offline --force -p "$WORK/collections" "$WORK/dist/$TARBALL" >/dev/null 2>&1 ||
  fail "could not install $TARBALL"
[ -f "$WORK/collections/ansible_collections/sre/toolkit/MANIFEST.json" ] || fail "the tarball did not install as sre.toolkit"
step "ansible-builder introspect: the requirements the EE build will find in the installed collection"
ansible-builder introspect "$WORK/collections" > "$WORK/introspect.txt" 2>/dev/null || fail "ansible-builder introspect"
for dep in kubernetes requests cryptography idna; do
  grep -q "^- '$dep[<>=].*# from collection sre.toolkit'" "$WORK/introspect.txt" || fail "introspection lacks the Python requirement $dep"
done
grep -q "^- 'ca-certificates .*# from collection sre.toolkit'" "$WORK/introspect.txt" || fail "introspection lacks the system requirement ca-certificates"
ANSIBLE_COLLECTIONS_PATH="$WORK/collections" ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 \
  ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
  ansible-playbook -i localhost, -c local -e "ansible_python_interpreter=$(command -v python)" tests/ee/all.yml \
  > "$WORK/smoke.log" 2>&1 || { cat "$WORK/smoke.log" >&2; fail "the smoke playbook failed"; }
grep -q 'failed=0' "$WORK/smoke.log" || fail "smoke playbook reported failures"

step "OK (context: $CTX)"
[ -n "$KEEP" ] || rm -rf "$WORK"
