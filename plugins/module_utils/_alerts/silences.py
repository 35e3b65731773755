# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Share of firing time covered by Alertmanager silences (``silences.share``).

Takes silences as /api/v2/silences returns them (active and expired, within Alertmanager's
retention) and matches their matchers against each instance's labels.
"""

from __future__ import annotations

import re

from ansible_collections.sre.toolkit.plugins.module_utils import _time
from ansible_collections.sre.toolkit.plugins.module_utils._alerts.common import AlertInputError


def parse_time(text):
    """Unix seconds from RFC 3339 text (nanosecond fractions allowed), or None."""
    return _time.parse_rfc3339(text) if text else None


class Silence:
    __slots__ = ("id", "start", "end", "matchers")

    def __init__(self, raw):
        self.id = raw.get("id")
        self.start = parse_time(raw.get("startsAt"))
        self.end = parse_time(raw.get("endsAt"))
        self.matchers = []
        for matcher in raw.get("matchers") or ():
            name, value = matcher.get("name"), matcher.get("value", "")
            equal = matcher.get("isEqual", True)
            if matcher.get("isRegex"):
                try:
                    test = re.compile(r"(?:%s)\Z" % value).match
                except re.error:
                    raise AlertInputError("silence %s: matcher %s=~%r is not a valid regex" % (self.id, name, value))
            else:
                test = value.__eq__
            self.matchers.append((name, test, equal))

    def matches(self, labels):
        for name, test, equal in self.matchers:
            if bool(test(labels.get(name, ""))) != bool(equal):
                return False
        return True


def load_silences(raw_silences):
    silences = [Silence(raw) for raw in raw_silences or ()]
    return [s for s in silences if s.start is not None and s.end is not None and s.end > s.start]


def silenced_seconds(labels, firing_intervals, silences):
    """Seconds of the given firing intervals during which a matching silence was active."""
    covering = sorted((s.start, s.end) for s in silences if s.matches(labels))
    if not covering:
        return 0.0
    merged = []
    for start, end in covering:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    seconds = 0.0
    for fire_start, fire_end in firing_intervals:
        for start, end in merged:
            lo, hi = max(fire_start, start), min(fire_end, end)
            if hi > lo:
                seconds += hi - lo
    return seconds
