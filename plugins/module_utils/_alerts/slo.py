# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Multi-window multi-burn-rate view of SLIs (``slo.burn_rate``), after the SRE Workbook.

burn rate = error ratio / (1 - objective). An alert condition holds when both its long and its
short window burn faster than its factor.
"""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.common import AlertInputError, rounded

# (severity, long window, short window, burn-rate factor), in seconds.
BURN_ALERTS = (
    ("page", 3600, 300, 14.4),
    ("page", 21600, 1800, 6.0),
    ("ticket", 86400, 7200, 3.0),
    ("ticket", 259200, 21600, 1.0),
)
SLO_PERIOD = 30 * 86400


def windows_needed(window_seconds):
    """Every window (seconds) the view needs an error ratio for."""
    needed = {int(window_seconds)}
    for _severity, long_w, short_w, _factor in BURN_ALERTS:
        needed.update((long_w, short_w))
    return sorted(needed)


def validate_objective(name, objective):
    try:
        value = float(objective)
    except (TypeError, ValueError):
        raise AlertInputError("slos[%s].objective: expected a number such as 0.999 or 99.9, got %r" % (name, objective))
    if value > 1.0:
        value /= 100.0
    if not 0.0 < value < 1.0:
        raise AlertInputError("slos[%s].objective: must lie between 0 and 1 (or 0 and 100 %%), got %r" % (name, objective))
    return value


def burn_view(name, objective, error_ratios, window_seconds, period=SLO_PERIOD):
    """One SLO's burn rates per window, the alert conditions that hold, and budget consumed.

    ``error_ratios`` maps window seconds -> error ratio (None when the SLI had no data).
    budget_consumed is the share of a ``period`` error budget spent over the analysis window.
    """
    objective = validate_objective(name, objective)
    budget = 1.0 - objective
    burn = {}
    for seconds, value in sorted(error_ratios.items()):
        burn[int(seconds)] = None if value is None else value / budget
    alerts = []
    for severity, long_w, short_w, factor in BURN_ALERTS:
        long_rate, short_rate = burn.get(long_w), burn.get(short_w)
        firing = long_rate is not None and short_rate is not None and long_rate > factor and short_rate > factor
        alerts.append({
            "severity": severity, "long_window": long_w, "short_window": short_w, "factor": factor,
            "long_burn_rate": rounded(long_rate, 4), "short_burn_rate": rounded(short_rate, 4), "firing": firing,
        })
    window_ratio = error_ratios.get(int(window_seconds))
    consumed = None if window_ratio is None else window_ratio / budget * (window_seconds / period)
    return {
        "id": "slo.burn_rate",
        "name": name,
        "objective": objective,
        "error_ratio": rounded(window_ratio, 6),
        "burn_rates": [{"window": w, "burn_rate": rounded(r, 4)} for w, r in sorted(burn.items())],
        "alerts": alerts,
        "budget_consumed": rounded(consumed, 4),
        "budget_remaining": rounded(None if consumed is None else 1.0 - consumed, 4),
    }
