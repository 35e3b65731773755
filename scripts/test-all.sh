#!/usr/bin/env bash
# Every test tier of sre.toolkit; `make test` (and so .ci/run) runs this with no argument.
#   scripts/test-all.sh [unit|sanity|build|lint|integration|molecule|ee ...]
# Runs inside the cached virtualenv `make venv` made; exits non-zero if any tier fails.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PY="$(command -v python)"
TIERS=("$@")
[ ${#TIERS[@]} -eq 0 ] && TIERS=(unit sanity build lint integration molecule ee)
STARTED_LAB=0

say() { printf '\n=== %s ===\n' "$*"; }

collection_copy() {
  # Sanity checks what ships: the built collection (galaxy.yml's build_ignore applied, so the
  # lab and benchmarks are left out), unpacked where ansible-test wants it; a symlink is refused.
  local root; root="$(mktemp -d "${TMPDIR:-/tmp}/sre-toolkit-ac.XXXXXX")"
  local dest="$root/ansible_collections/sre/toolkit"
  mkdir -p "$dest"
  ansible-galaxy collection build --force --output-path "$root" . >/dev/null || return 1
  tar -xzf "$root"/sre-toolkit-*.tar.gz -C "$dest"
  rm -f "$root"/sre-toolkit-*.tar.gz
  echo "$dest"
}

install_pip_standin() {
  local ver
  ver="$("$PY" - <<'PY'
import re, ansible_test, pathlib
src = (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)"
  mkdir -p "$HOME/.ansible/test/cache"
  cp scripts/ansible-test-get-pip.py "$HOME/.ansible/test/cache/get_pip_${ver//./_}.py"
}

tier_unit() {
  python -m pytest -q -p no:cacheprovider tests/unit
}

tier_sanity() {
  install_pip_standin
  local dest; dest="$(collection_copy)" || return 1
  (cd "$dest" && ansible-test sanity --python 3.11 --color no)
  local rc=$?
  rm -rf "$(dirname "$(dirname "$(dirname "$dest")")")"
  return $rc
}

tier_build() {
  local out; out="$(mktemp -d)"
  ansible-galaxy collection build --force --output-path "$out" . &&
    ls -l "$out"/sre-toolkit-*.tar.gz &&
    ANSIBLE_COLLECTIONS_PATH="$out/installed" ansible-galaxy collection install -p "$out/installed" "$out"/sre-toolkit-*.tar.gz >/dev/null &&
    bash scripts/check-docs.sh "$out/installed" &&
    bash scripts/galaxy-import.sh "$out"/sre-toolkit-*.tar.gz &&
    SRE_TOOLKIT_TARBALL="$(echo "$out"/sre-toolkit-*.tar.gz)" python -m pytest -q -p no:cacheprovider tests/ee/test_collection_ee_metadata.py
  local rc=$?
  rm -rf "$out"
  return $rc
}

tier_lint() {
  # ansible-lint resolves our own modules through the collections path (offline: no install).
  # It also searches ~/.ansible/collections first, where an older installed sre.toolkit would hide
  # this checkout's new modules: it runs with a HOME of its own.
  local home rc; home="$(mktemp -d "${TMPDIR:-/tmp}/sre-toolkit-lint.XXXXXX")"
  HOME="$home" ANSIBLE_COLLECTIONS_PATH="$(python -c 'from tests.integration.collection import collections_root; print(collections_root())')" \
    ansible-lint --profile production --offline &&
    antsibull-changelog lint &&
    antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck .
  rc=$?
  rm -rf "$home"
  return $rc
}

tier_ee() {
  # Builds the execution environment image (podman, a debootstrap base cached in ~/.cache/sre-toolkit-ee)
  # and runs the diagnose playbook inside it against the lab. Measured on the 2-core machine: cold
  # (no podman, no cached base) about 160 s, warm (cached base) about 60 s.
  lab_up || return 1
  bash scripts/ee-build.sh all
}

lab_up() {
  # A lab that was already up (a developer's) is used and left running.
  if [ "$STARTED_LAB" = 0 ] && [ "${LAB_CHECKED:-0}" = 0 ]; then
    LAB_CHECKED=1
    if python tests/lab/lab.py status 2>/dev/null | python -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if all(c.get("running") for c in s.values()) else 1)'; then
      echo "using the lab that is already up"
      return 0
    fi
    STARTED_LAB=1
    python tests/lab/lab.py up || return 1
  fi
}

system_packages() {
  # Tools the integration tests drive: headless Chromium (report screenshots), xmllint
  # (JUnit schema), stress-ng (memory_hog's optional engine), Alertmanager (silences). Once per machine.
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v xmllint >/dev/null || missing+=(libxml2-utils)
  command -v stress-ng >/dev/null || missing+=(stress-ng)
  command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null
}

tier_integration() {
  system_packages || return 1
  lab_up || return 1
  # Two workers: the files that change or audit the lab cluster run in one of them, one after the
  # other; every other file is free to run beside them (groups in tests/conftest.py).
  # The real node's files run by themselves afterwards (RUN_ALONE).
  local rc=0
  LAB_KEEP=1 python -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup -m "not alone" tests/integration || rc=1
  LAB_KEEP=1 python -m pytest -q -p no:cacheprovider -m alone tests/integration || rc=1
  return $rc
}

tier_molecule() {
  lab_up || return 1
  local rc=0 scenario
  for scenario in extensions/molecule/*/molecule.yml; do
    [ -e "$scenario" ] || continue
    scenario="$(basename "$(dirname "$scenario")")"
    [ "$scenario" = "utils" ] && continue
    say "molecule scenario $scenario"
    molecule test -s "$scenario" || rc=1
  done
  return $rc
}

cleanup() {
  if [ "$STARTED_LAB" = 1 ] && [ "${LAB_KEEP:-0}" != 1 ]; then
    say "lab down"
    python tests/lab/lab.py down
    python tests/lab/lab.py verify-down || exit 1
  fi
}
trap cleanup EXIT

RESULTS="$(mktemp "${TMPDIR:-/tmp}/sre-toolkit-tiers.XXXXXX")"
run_tier() {
  local tier=$1 t0=$SECONDS rc=0
  say "tier $tier"
  "tier_$tier" || rc=1
  echo "$tier $((SECONDS - t0)) $rc" >>"$RESULTS"
}

# The tiers that need no lab (unit, sanity, build, lint) run in the background while the lab comes up
# and the lab tiers run: most of the integration tier waits on servers, so they fill idle cores. Their
# output is printed whole once they are done.
BACKGROUND=() FOREGROUND=()
for tier in "${TIERS[@]}"; do
  case " ${TIERS[*]} " in *" integration "* | *" molecule "* | *" ee "*) ;; *) FOREGROUND+=("$tier"); continue ;; esac
  case "$tier" in unit | sanity | build | lint) BACKGROUND+=("$tier") ;; *) FOREGROUND+=("$tier") ;; esac
done
BG_PID="" BG_LOG=""
if [ ${#BACKGROUND[@]} -gt 0 ]; then
  BG_LOG="$(mktemp "${TMPDIR:-/tmp}/sre-toolkit-static.XXXXXX")"
  echo "tiers ${BACKGROUND[*]} run in the background; their output follows the lab tiers"
  (for tier in "${BACKGROUND[@]}"; do run_tier "$tier"; done) >"$BG_LOG" 2>&1 &
  BG_PID=$!
fi
for tier in "${FOREGROUND[@]}"; do run_tier "$tier"; done
if [ -n "$BG_PID" ]; then
  wait "$BG_PID"
  cat "$BG_LOG"
  rm -f "$BG_LOG"
fi

say "summary"
status=0 failed=()
for tier in "${TIERS[@]}"; do
  read -r _ seconds rc < <(grep "^$tier " "$RESULTS" || echo "$tier ? 1")
  if [ "$rc" = 0 ]; then printf '%-12s %-7s %4ss\n' "$tier" passed "$seconds"; else printf '%-12s %-7s %4ss\n' "$tier" FAILED "$seconds"; failed+=("$tier"); fi
done
rm -f "$RESULTS"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed tiers: ${failed[*]}"
  exit 1
fi
echo "all tiers passed"
