# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small helpers shared by the alert engine: durations, percentiles, rounding."""

from __future__ import annotations

import math

from ansible_collections.sre.toolkit.plugins.module_utils import _time
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError


class AlertInputError(ToolkitError):
    """Bad option or input: the message names the option and the fix."""

    def __init__(self, msg):
        super().__init__(msg, kind="invalid")


def parse_duration(value, name):
    """Seconds from a Prometheus-style duration ('90s', '1h30m', '7d') or a number of seconds."""
    seconds = _time.parse_duration(value)
    if seconds is None:
        if isinstance(value, bool):
            raise AlertInputError("%s: expected a duration such as 5m or 7d, got %r" % (name, value))
        raise AlertInputError("%s: %r is not a duration; use a number of seconds or units like 30s, 5m, 2h, 7d" % (name, value))
    if seconds < 0 or math.isnan(seconds):
        raise AlertInputError("%s: duration must not be negative, got %r" % (name, value))
    return seconds


def format_duration(seconds):
    """'1h30m'-style text for reasons and recommendations (whole seconds)."""
    return _time.duration_text(max(0, round(seconds)))


def percentile(sorted_values, fraction):
    """Linear-interpolated percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    rank = fraction * (len(sorted_values) - 1)
    low = int(math.floor(rank))
    high = min(low + 1, len(sorted_values) - 1)
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low))


def summary(values):
    """mean / median / p90 of a list of seconds, rounded; None fields when empty."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "mean": None, "median": None, "p90": None}
    return {
        "count": len(ordered),
        "mean": rounded(sum(ordered) / len(ordered)),
        "median": rounded(percentile(ordered, 0.5)),
        "p90": rounded(percentile(ordered, 0.9)),
    }


def rounded(value, digits=3):
    if value is None:
        return None
    return round(float(value), digits)


def ratio(part, whole):
    return rounded(part / whole, 4) if whole else 0.0


def parse_time(value, name):
    """Unix seconds from a number, numeric text, 'now' (None) or RFC 3339 text."""
    if value is None or value == "" or str(value).strip().lower() == "now":
        return None
    stamp = _time.to_epoch(value)
    if stamp is None:
        raise AlertInputError("%s: %r is neither unix seconds nor an RFC 3339 time such as 2026-11-01T00:00:00Z" % (name, value))
    return stamp


def resolve_window(start, end, window, now, max_window):
    """(start, end) in unix seconds from the module's start/end/window options.

    end defaults to now; an explicit start fixes the window to end - start, else start = end - window.
    """
    end_ts = parse_time(end, "end")
    end_ts = float(now) if end_ts is None else end_ts
    start_ts = parse_time(start, "start")
    if start_ts is None:
        seconds = parse_duration(window, "window")
        if seconds <= 0:
            raise AlertInputError("window: must be longer than 0s, for example 7d")
        start_ts = end_ts - seconds
    if start_ts >= end_ts:
        raise AlertInputError("start: %s is not before end %s" % (start_ts, end_ts))
    if end_ts - start_ts > max_window:
        raise AlertInputError("window: %.1f days is more than the %d days allowed; shorten window (or move start closer to end)" % (
            (end_ts - start_ts) / 86400.0, max_window // 86400))
    return start_ts, end_ts
