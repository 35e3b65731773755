"""Where this checkout is visible as the collection sre.toolkit (outside the repo)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def collections_root() -> Path:
    """A directory holding ansible_collections/sre/toolkit -> this checkout (created on demand)."""
    key = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:12]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sre-toolkit" / f"collections-{key}"
    link = base / "ansible_collections" / "sre" / "toolkit"
    if not link.is_symlink() or link.resolve() != REPO_ROOT:
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f".toolkit-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(REPO_ROOT)
        os.replace(tmp, link)
    return base
