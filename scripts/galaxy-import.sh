#!/usr/bin/env bash
# Run galaxy-importer (what Galaxy and Automation Hub run on every upload) on a built collection
# tarball, offline (settings: scripts/galaxy-importer.cfg), and fail on any warning or error line
# it prints, not only on a refused import: Galaxy shows the warnings to every user.
# Usage: scripts/galaxy-import.sh dist/sre-toolkit-X.Y.Z.tar.gz
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARBALL="$(realpath "${1:?usage: galaxy-import.sh <collection tarball>}")"
[ -f "$TARBALL" ] || { echo "galaxy-import: no such file: $1" >&2; exit 1; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sre-toolkit-gi.XXXXXX")"
LOG="$WORK/importer.log"
# ansible-core 2.19 with cryptography >= 44 warns about DSA when imported: not about this collection.
(cd "$WORK" && GALAXY_IMPORTER_CONFIG="$REPO/scripts/galaxy-importer.cfg" PYTHONWARNINGS='ignore:DSA is deprecated' \
  GALAXY_IMPORTER_TMP_ROOT_DIR="$WORK" python -m galaxy_importer.main "$TARBALL") > "$LOG" 2>&1
rc=$?
bad="$(grep -v '^Loading [a-z_]* [A-Za-z0-9_.]*$' "$LOG" | grep -inE 'warn|error|traceback|fail|deprecat|not present|not found|missing|invalid')"
grep -qx 'Importer processing completed successfully' "$LOG" || bad="${bad:+$bad$'\n'}(the importer did not say it completed)"
if [ "$rc" -ne 0 ] || [ -n "$bad" ]; then
  echo "galaxy-import: FAILED (exit $rc); warning and error lines of $LOG:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "galaxy-import: OK, no warning ($(basename "$TARBALL"), $(grep -c '^Loading ' "$LOG") contents loaded)"
rm -rf "$WORK"
