# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Times and durations: parsing (RFC 3339, ``1h30m``) and text for people (``3d 4h``,
``2026-12-09 14:00 UTC, in 3d``).

Pure and dependency-free; the one place for time parsing and durations. The engines' own helpers
(``_alerts/common``, ``_alerts/silences``, ``_chaos/windows``, ``_health/model``, ``_certs/report``)
only wrap these with their own error types and text styles.
"""

from __future__ import annotations

import datetime
import math
import re

_UNITS = (("y", 31536000), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
DAYS_TO_SECONDS = _UNITS[1:]
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_duration(value, units=None):
    """Seconds from a number, numeric text, or ``90s``, ``1.5h``, ``1h30m``, ``7d``; None when unreadable
    (or when it uses a unit outside ``units``, when given).

    Negative numbers are returned as they are (whether they are allowed is the caller's rule); NaN and
    infinity are unreadable.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    text = str(value).strip()
    try:
        number = float(text)
        return number if math.isfinite(number) else None
    except ValueError:
        pass
    seconds, pos = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos or units is not None and match.group(2) not in units:
            return None
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return seconds if text and pos == len(text) else None


def duration_text(seconds, parts=None, sep="", units=DAYS_TO_SECONDS, adjacent=False):
    """Whole ``seconds`` as ``1d2h``: at most ``parts`` units, largest first; ``adjacent`` stops at the first
    unit that is zero once one is written (``1d`` for a day and a minute); ``0s`` when nothing is left."""
    whole = int(seconds)
    out = []
    for unit, size in units:
        if whole >= size and (parts is None or len(out) < parts):
            out.append("%d%s" % (whole // size, unit))
            whole %= size
        elif out and adjacent:
            break
    return sep.join(out) or "0s"


def human_duration(seconds, parts=2):
    """``3d 4h``, ``5m 2s``, ``45s``, ``0.3s``: at most ``parts`` units, largest first; None -> ``-``."""
    if seconds is None:
        return "-"
    seconds = float(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 10 and seconds != int(seconds):
        return "%s%.1fs" % (sign, seconds)
    return sign + duration_text(round(seconds), parts, " ", _UNITS, adjacent=True)


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


def to_datetime(epoch):
    """An aware UTC datetime from unix seconds (None stays None)."""
    return None if epoch is None else datetime.datetime.fromtimestamp(float(epoch), tz=datetime.timezone.utc)


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
