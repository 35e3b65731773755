# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Durations and time windows (weekdays, hours, excluded dates) in a named timezone."""
from __future__ import annotations

import datetime
import re

from ansible_collections.sre.toolkit.plugins.module_utils import _time
from ansible_collections.sre.toolkit.plugins.module_utils._chaos import ChaosInputError

try:
    import zoneinfo
except ImportError:  # Python < 3.9 has no zoneinfo; only UTC then
    zoneinfo = None

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_duration(value, param):
    """Seconds from ``90``, ``"90s"``, ``"10m"``, ``"1.5h"``, ``"1d"``; a bare number means seconds."""
    seconds = _time.parse_duration(value, units=("ms", "s", "m", "h", "d", "w"))
    if seconds is None:
        if isinstance(value, bool):
            raise ChaosInputError(param, "must be a duration such as 30s, 10m, 1h or a number of seconds")
        raise ChaosInputError(param, "%r is not a duration; use a number of seconds or 30s, 10m, 1h, 1d" % (value,))
    if seconds < 0:
        raise ChaosInputError(param, "must not be negative")
    return seconds


def parse_timestamp(text):
    """An aware UTC datetime from RFC 3339 text (``Z`` or an offset), or None when unreadable."""
    if not isinstance(text, str) or not text:
        return None
    return _time.to_datetime(_time.parse_rfc3339(text))


def format_timestamp(stamp):
    """RFC 3339 UTC with a Z, second precision (the form Kubernetes itself writes)."""
    return stamp.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _timezone(name):
    if name in (None, "", "UTC", "Etc/UTC", "Z"):
        return datetime.timezone.utc
    if zoneinfo is None:
        raise ChaosInputError("window.timezone", "named timezones need Python 3.9+; use UTC")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, KeyError):
        raise ChaosInputError("window.timezone", "unknown timezone %r; use an IANA name such as Europe/Berlin or UTC" % (name,))


def _minutes(hour, minute, raw):
    hour, minute = int(hour), int(minute)
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        raise ChaosInputError("window.hours", "%r is not a time range HH:MM-HH:MM" % raw)
    return hour * 60 + minute


class TimeWindow(object):
    """When disruption is allowed. No window at all means always allowed.

    ``weekdays`` and ``hours`` say when it is allowed (empty = any day / any time); ``excluded_dates``
    are local dates when it never is (``YYYY-MM-DD`` once, ``MM-DD`` every year). Weekday and date
    are read on the local date of the moment checked, so an overnight range 22:00-02:00 allowed
    on ``fri`` covers Friday 22:00-24:00 and Friday 00:00-02:00.
    """

    def __init__(self, timezone=None, weekdays=None, hours=None, excluded_dates=None):
        self.timezone_name = timezone or "UTC"
        self.tz = _timezone(timezone)
        self.weekdays = self._weekdays(weekdays or [])
        self.hours = [self._range(raw) for raw in hours or []]
        self.excluded = [self._date(raw) for raw in excluded_dates or []]

    @staticmethod
    def _weekdays(raw):
        days = set()
        for day in raw:
            key = str(day).strip().lower()[:3]
            if key not in WEEKDAYS:
                raise ChaosInputError("window.weekdays", "%r is not a weekday; use mon, tue, wed, thu, fri, sat, sun" % (day,))
            days.add(WEEKDAYS.index(key))
        return days

    @staticmethod
    def _range(raw):
        match = _HOURS_RE.match(str(raw))
        if not match:
            raise ChaosInputError("window.hours", "%r is not a time range HH:MM-HH:MM (end exclusive, may pass midnight)" % (raw,))
        start = _minutes(match.group(1), match.group(2), raw)
        end = _minutes(match.group(3), match.group(4), raw)
        if start == end:
            raise ChaosInputError("window.hours", "%r is empty: start and end are equal" % (raw,))
        return start, end

    @staticmethod
    def _date(raw):
        text = str(raw).strip()
        try:
            return "once", datetime.datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            pass
        try:  # 2000 is a leap year, so 02-29 is accepted as a yearly date
            parsed = datetime.datetime.strptime("2000-" + text, "%Y-%m-%d")
            return "yearly", (parsed.month, parsed.day)
        except ValueError:
            pass
        raise ChaosInputError("window.excluded_dates", "%r is not a date; use YYYY-MM-DD or MM-DD (every year)" % (raw,))

    def check(self, now):
        """(open, detail) for the aware datetime ``now``."""
        local = now.astimezone(self.tz)
        stamp = "%s %s" % (local.strftime("%Y-%m-%d %H:%M %a"), self.timezone_name)
        for kind, value in self.excluded:
            if (kind == "once" and local.date() == value) or (kind == "yearly" and (local.month, local.day) == value):
                return False, "%s is an excluded date" % stamp
        if self.weekdays and local.weekday() not in self.weekdays:
            return False, "%s is not an allowed weekday" % stamp
        if self.hours:
            minute = local.hour * 60 + local.minute
            if not any(_in_range(minute, start, end) for start, end in self.hours):
                return False, "%s is outside the allowed hours" % stamp
        return True, "%s is inside the window" % stamp


def _in_range(minute, start, end):
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def window_from_params(spec):
    """A TimeWindow from the module's ``window`` dict, or None when no window is set."""
    if not spec:
        return None
    known = {"timezone", "weekdays", "hours", "excluded_dates"}
    unknown = sorted(set(k for k, v in spec.items() if v is not None) - known)
    if unknown:
        raise ChaosInputError("window", "unknown keys %s; use timezone, weekdays, hours, excluded_dates" % ", ".join(unknown))
    return TimeWindow(spec.get("timezone"), spec.get("weekdays"), spec.get("hours"), spec.get("excluded_dates"))
