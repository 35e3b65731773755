# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The burn-rate view at one instant from error ratios per window (what alert_frequency's ``slos``
option shows): burn rate per window, which standard pairs hold, budget spent over the window.
The same pairs and the same strict "above factor x budget" rule as the backtest."""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._slo.common import STANDARD_PAIRS, rounded

PERIOD = 30 * 86400


def windows_needed(window_seconds):
    """Every window (seconds) the view needs an error ratio for: the pairs' windows and the analysis window."""
    needed = {int(window_seconds)}
    for _severity, long_s, short_s, _factor in STANDARD_PAIRS:
        needed.update((long_s, short_s))
    return sorted(needed)


def pair_holds(long_ratio, short_ratio, factor, objective):
    """Both windows' error ratios above factor x (1 - objective); no data never holds."""
    if long_ratio is None or short_ratio is None:
        return False
    limit = float(factor) * float(1 - objective)
    return long_ratio > limit and short_ratio > limit


def burn_view(name, objective, error_ratios, window_seconds, period=PERIOD):
    """``objective`` a Fraction; ``error_ratios`` window seconds -> ratio (None without data)."""
    budget = float(1 - objective)
    burn = {int(s): (None if r is None else r / budget) for s, r in sorted(error_ratios.items())}
    alerts = []
    for severity, long_s, short_s, factor in STANDARD_PAIRS:
        alerts.append({
            "severity": severity, "long_window": long_s, "short_window": short_s, "factor": float(factor),
            "long_burn_rate": rounded(burn.get(long_s), 4), "short_burn_rate": rounded(burn.get(short_s), 4),
            "firing": pair_holds(error_ratios.get(long_s), error_ratios.get(short_s), factor, objective),
        })
    ratio = error_ratios.get(int(window_seconds))
    consumed = None if ratio is None else ratio / budget * (window_seconds / period)
    return {
        "id": "slo.burn_rate", "name": name, "objective": float(objective), "error_ratio": rounded(ratio, 6),
        "burn_rates": [{"window": w, "burn_rate": rounded(r, 4)} for w, r in sorted(burn.items())],
        "alerts": alerts, "budget_consumed": rounded(consumed, 4),
        "budget_remaining": rounded(None if consumed is None else 1.0 - consumed, 4),
    }
