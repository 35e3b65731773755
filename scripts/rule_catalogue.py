#!/usr/bin/env python3
"""Write docs/rule_catalogue.md from the engines' rule tables (the code is the source of truth).

    python scripts/rule_catalogue.py [--check]

--check exits 1 when the page differs from what the code says (a test runs it that way).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.collection import collections_root  # noqa: E402

sys.path.insert(0, str(collections_root()))

from ansible_collections.sre.toolkit.plugins.module_utils._catalogue import markdown  # noqa: E402

PAGE = REPO / "docs" / "rule_catalogue.md"


def main(argv=None) -> int:
    text = markdown() + "\n"
    if "--check" in (argv if argv is not None else sys.argv[1:]):
        if not PAGE.exists() or PAGE.read_text() != text:
            print("%s is out of date: run python scripts/rule_catalogue.py" % PAGE)
            return 1
        return 0
    PAGE.write_text(text)
    print("wrote %s (%d lines)" % (PAGE, text.count("\n")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
