#!/usr/bin/env bash
# Build the sre.toolkit docsite with antsibull-docs (offline).
#   scripts/docs-build.sh [DEST]    (default: a temporary folder; prints where the HTML is)
# Steps: `antsibull-docs sphinx-init --use-current` into DEST (mode 700, as antsibull-docs
# wants), pip install DEST/requirements.txt into the current Python, then the collection RST
# (DEST/build.sh's first half) and sphinx-build with the warnings kept in DEST/warnings.txt.
# There is no network here for intersphinx, so the intersphinx mapping is emptied and warnings
# about labels that live in other docsites (Ansible's own pages, other collections) are
# tolerated; any other warning fails the build.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
DEST="${1:-$(mktemp -d "${TMPDIR:-/tmp}/sre-toolkit-docsite.XXXXXX")}"
PY="$(command -v python)"
ANSIBLE_COLLECTIONS_PATH="$("$PY" -c 'from tests.integration.collection import collections_root; print(collections_root())')"
export ANSIBLE_COLLECTIONS_PATH

rm -rf "$DEST"
mkdir -p "$DEST"
chmod 700 "$DEST"
antsibull-docs sphinx-init --use-current --dest-dir "$DEST" sre.toolkit >/dev/null
"$PY" -m pip install -q -r "$DEST/requirements.txt"
echo 'intersphinx_mapping = {}  # offline build (scripts/docs-build.sh)' >> "$DEST/conf.py"

cd "$DEST"
mkdir -p rst
chmod og-w rst
antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything --use-current --dest-dir rst \
  sre.toolkit 2>&1 | tee antsibull.log
if grep -q 'nonfatal_errors\|did not return correct DOCUMENTATION' antsibull.log; then
  echo "docs-build: antsibull-docs could not parse some plugin documentation (see above)" >&2
  exit 1
fi
# Guides reference the screenshot relative to the docsite's guide pages.
mkdir -p rst/collections/sre/toolkit/docsite/images
cp "$REPO/docs/images/"*.png rst/collections/sre/toolkit/docsite/images/
sphinx-build -M html rst build -c . --keep-going -w warnings.txt -q || true
EXTERNAL="undefined label: '(common_return_values|ansible_configuration_settings|ansible_collections\\.(ansible|community|kubernetes)\\.[^']*)'"
if grep -v -E "$EXTERNAL" warnings.txt | grep -q .; then
  echo "docs-build: Sphinx warnings:" >&2
  grep -v -E "$EXTERNAL" warnings.txt >&2
  exit 1
fi
[ -f build/html/collections/sre/toolkit/index.html ] || { echo "docs-build: no collection index page" >&2; exit 1; }
echo "docs-build: OK: $DEST/build/html/index.html"
