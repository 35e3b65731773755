#!/usr/bin/env bash
# The README's first command (`make demo`): start the local lab, run
# `ansible-playbook sre.toolkit.diagnose` against it, and print where the report is.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

python tests/lab/lab.py up
REPORT_DIR="${SRE_TOOLKIT_REPORT_DIR:-$REPO/reports/$(date -u +%Y%m%dT%H%M%SZ)}"
VARS="$(mktemp "${TMPDIR:-/tmp}/sre-toolkit-demo.XXXXXX.json")"
trap 'rm -f "$VARS"' EXIT
python scripts/demo_vars.py "$REPORT_DIR" > "$VARS"
ANSIBLE_COLLECTIONS_PATH="$(python -c 'from tests.integration.collection import collections_root; print(collections_root())')"
export ANSIBLE_COLLECTIONS_PATH ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0

ansible-playbook sre.toolkit.diagnose -e "@$VARS" -e "ansible_python_interpreter=$(command -v python)"

echo
echo "Reports:"
ls -1 "$REPORT_DIR"/diagnose.* | sed 's/^/  /'
echo "Open $REPORT_DIR/diagnose.html in a browser. Stop the lab with: make lab-down"
