# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Times and durations for people: ``3d 4h``, ``2026-12-09 14:00 UTC, in 3d``.

Pure and dependency-free; the one place for time parsing and human durations. Engines that still keep
their own copies (``_alerts/common.format_duration`` and ``parse_time``, ``_health/model.human_duration``,
``_chaos/windows.py``'s RFC 3339 parser) can move here; the report uses only this module.
"""

from __future__ import annotations

import datetime
import re

_UNITS = (("y", 31536000), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def human_duration(seconds, parts=2):
    """``3d 4h``, ``5m 2s``, ``45s``, ``0.3s``: at most ``parts`` units, largest first; None -> ``-``."""
    if seconds is None:
        return "-"
    seconds = float(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 10 and seconds != int(seconds):
        return "%s%.1fs" % (sign, seconds)
    whole = int(round(seconds))
    if whole == 0:
        return "0s"
    out = []
    for unit, size in _UNITS:
        if whole >= size and len(out) < parts:
            out.append("%d%s" % (whole // size, unit))
            whole %= size
        elif out:
            break
    return sign + " ".join(out)


def to_epoch(value):
    """Unix seconds from a number, an ISO-8601 / RFC 3339 string (``Z`` or an offset) or None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    return parse_rfc3339(text)


def parse_rfc3339(text):
    """Unix seconds from RFC 3339 / ISO-8601 text (``Z``, an offset, or naive = UTC); None when unreadable.

    Fractions of any length are accepted (``fromisoformat`` before Python 3.11 takes only 3 or 6 digits).
    """
    cleaned = str(text).strip().replace("z", "Z").replace("Z", "+00:00")
    cleaned = cleaned.replace(" ", "T", 1) if "T" not in cleaned else cleaned
    cleaned = re.sub(r"(\.\d{1,6})\d*", lambda m: m.group(1).ljust(7, "0"), cleaned, count=1)
    try:
        stamp = datetime.datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp()


def utc_text(epoch, seconds=False):
    """``2026-12-09 14:00 UTC`` (with ``:ss`` when asked); None -> ``-``."""
    if epoch is None:
        return "-"
    stamp = datetime.datetime.fromtimestamp(float(epoch), tz=datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def relative(epoch, now):
    """``in 3d 4h``, ``2h 5m ago``, ``now`` (within a minute)."""
    delta = float(epoch) - float(now)
    if abs(delta) < 60:
        return "now"
    text = human_duration(abs(delta))
    return ("in %s" % text) if delta > 0 else ("%s ago" % text)


def human_time(value, now=None):
    """``2026-12-09 14:00 UTC, in 3d``: a UTC date with its distance from ``now`` (when known)."""
    epoch = to_epoch(value)
    if epoch is None:
        return "-" if value in (None, "") else str(value)
    if now is None:
        return utc_text(epoch)
    return "%s, %s" % (utc_text(epoch), relative(epoch, now))
