# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""When alerts fire: hour-of-day and weekday histograms in a chosen timezone (``patterns.time``)."""

from __future__ import annotations

from datetime import datetime

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # pragma: no cover - Python < 3.9 is not supported by the collection
    ZoneInfo = None
    ZoneInfoNotFoundError = KeyError

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.common import AlertInputError, ratio

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
BUSINESS_HOURS = (9, 17)


def load_timezone(name):
    if ZoneInfo is None:
        raise AlertInputError("timezone: zoneinfo is not available on this Python")
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise AlertInputError("timezone: unknown timezone %r; use an IANA name such as UTC or Europe/Berlin" % (name,))


def time_patterns(onsets, tz):
    """Histograms of onset timestamps: hours[0..23], weekdays[Mon..Sun], and two ratios.

    business_hours_ratio counts onsets Mon-Fri 09:00-17:00 local time; weekend_ratio Sat/Sun.
    """
    hours = [0] * 24
    weekdays = [0] * 7
    business = 0
    for ts in onsets:
        local = datetime.fromtimestamp(ts, tz)
        hours[local.hour] += 1
        day = local.weekday()
        weekdays[day] += 1
        if day < 5 and BUSINESS_HOURS[0] <= local.hour < BUSINESS_HOURS[1]:
            business += 1
    total = len(onsets)
    return {
        "hours": hours,
        "weekdays": weekdays,
        "business_hours_ratio": ratio(business, total),
        "weekend_ratio": ratio(weekdays[5] + weekdays[6], total),
    }
