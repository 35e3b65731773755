# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the SLO engine shares: its input error, the standard burn-rate pairs, objectives as exact
fractions, durations through _time."""

from __future__ import annotations

import math
from fractions import Fraction

from ansible_collections.sre.toolkit.plugins.module_utils import _time
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError


class SloInputError(ToolkitError):
    """Bad option or input: the message names the option (and the SLO) and the fix."""

    def __init__(self, msg):
        super().__init__(msg, kind="invalid")


# The SRE Workbook's multiwindow multi-burn-rate pairs for a 30-day period, as sloth generates them:
# (severity, long window, short window, factor) in seconds.
STANDARD_PAIRS = (
    ("page", 3600, 300, "14.4"),
    ("page", 21600, 1800, "6"),
    ("ticket", 86400, 7200, "3"),
    ("ticket", 259200, 21600, "1"),
)
# Windows the burn rate is reported at (and sloth records), seconds.
STANDARD_WINDOWS = (300, 1800, 3600, 7200, 21600, 86400, 259200)


def duration(value, name):
    """Seconds of a Prometheus-style duration ('5m', '1h', '30d'); SloInputError naming name otherwise."""
    seconds = _time.parse_duration(value)
    if seconds is None or seconds < 0 or math.isnan(seconds):
        raise SloInputError("%s: %r is not a duration; write units like 5m, 1h, 30d" % (name, value))
    return int(seconds)


def window_text(seconds):
    """Prometheus duration text for a window: 5m, 1h, 1d, 3d, 30d."""
    return _time.duration_text(int(seconds))


def objective_fraction(value, name):
    """The objective as an exact fraction of 1 (99.9 and 0.999 both mean 99.9 %)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SloInputError("%s.objective: expected a number such as 99.9, got %r" % (name, value))
    if not math.isfinite(number):
        raise SloInputError("%s.objective: expected a number such as 99.9, got %r" % (name, value))
    exact = Fraction(repr(number))
    if exact > 1:
        exact /= 100
    if not 0 < exact < 1:
        raise SloInputError("%s.objective: must lie between 0 and 100 %% (exclusive), got %r" % (name, value))
    return exact


def percent(fraction):
    """99.9 for Fraction(999, 1000): the objective as people write it."""
    return float(round(fraction * 100, 6))


def pair_name(severity, long_s, short_s, factor, for_s=0):
    text = "%s %s/%s x%s" % (severity, window_text(long_s), window_text(short_s), factor)
    return text + (" for %s" % window_text(for_s) if for_s else "")


def rounded(value, digits=6):
    return None if value is None else round(float(value), digits)
