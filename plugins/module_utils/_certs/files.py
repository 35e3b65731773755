# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate files on the host: files, folders and globs into readable items.

This is the engine's only filesystem access (the "client" for files): it never raises for
one path; every item comes back with its bytes or one error reason.
"""

from __future__ import annotations

import glob
import os

GLOB_CHARS = frozenset("*?[")
MAX_FILE_BYTES = 16 * 1024 * 1024


def _walk(directory, include_hidden, recurse):
    for current, dirs, names in os.walk(directory, followlinks=False):
        if not include_hidden:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        dirs.sort()
        for name in sorted(names):
            if include_hidden or not name.startswith("."):
                yield os.path.join(current, name)
        if not recurse:
            dirs[:] = []


def expand(specs, include_hidden=False, recurse=True):
    """[(path, passphrase, origin spec, error reason or None)] for every file the specs name, sorted, unique.

    specs: [{"path": str, "passphrase": str or None}]. A pattern that matches nothing or a
    missing path gives one not_found item, so a typo is never silent.
    """
    seen, items = set(), []
    for spec in specs:
        raw = os.path.expanduser(spec["path"])
        passphrase = spec.get("passphrase")
        if GLOB_CHARS & set(raw):
            # shell rules: hidden entries match only when the pattern names them (".*")
            matches = sorted(glob.glob(raw, recursive=True))
            paths = [m for m in matches if not os.path.isdir(m)]
            if not paths:
                items.append((raw, passphrase, spec["path"], "not_found"))
        elif os.path.isdir(raw):
            paths = list(_walk(raw, include_hidden, recurse))
        elif os.path.lexists(raw):
            paths = [raw]
        else:
            items.append((raw, passphrase, spec["path"], "not_found"))
            paths = []
        for path in paths:
            if path in seen:
                if passphrase is not None:  # a later entry naming the passphrase wins over a folder scan
                    items = [(p, passphrase, spec["path"], None) if p == path else (p, pw, o, e) for p, pw, o, e in items]
                continue
            seen.add(path)
            items.append((path, passphrase, spec["path"], None))
    return sorted(items, key=lambda item: item[0])


def read(path):
    """(bytes or None, error reason or None, message or None) for one path."""
    if os.path.islink(path) and not os.path.exists(path):
        return None, "broken_symlink", "symlink to %s which does not exist" % os.readlink(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            return None, "too_large", "file is %d bytes; certificate files are far smaller (limit %d)" % (size, MAX_FILE_BYTES)
        with open(path, "rb") as handle:
            return handle.read(), None, None
    except PermissionError as exc:
        return None, "permission_denied", "cannot read: %s" % exc
    except FileNotFoundError:
        return None, "not_found", "no such file (check the path)"
    except IsADirectoryError:
        return None, "not_a_file", "is a directory"
    except OSError as exc:
        return None, "read_failed", "cannot read: %s" % exc
