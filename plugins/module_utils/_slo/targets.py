# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target suggestion from history: the SLI the service met per day and per week, and what each
candidate objective would have meant: budget spent over the window, days and weeks below it, and
how often its page and ticket alerts (the standard pairs at that objective) would have fired.
"""

from __future__ import annotations

from fractions import Fraction

from ansible_collections.sre.toolkit.plugins.module_utils._slo import backtest
from ansible_collections.sre.toolkit.plugins.module_utils._slo.common import STANDARD_PAIRS, percent, rounded

DEFAULT_CANDIDATES = (99.0, 99.5, 99.9, 99.95, 99.99)


def _quantile(values, q):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def suggest(candidates, days, weeks, err_cum, tot_cum, grid, windows=None):
    """Candidate rows and the suggestion. ``grid`` = (lead, n, step, start); ``windows`` from backtest.window_sums."""
    lead, n, step, _start = grid
    total = tot_cum[lead + n] - tot_cum[lead]
    errors = err_cum[lead + n] - err_cum[lead]
    full_weeks = [w for w in weeks if w["end"] - w["start"] >= 7 * 86400]
    if windows is None:
        windows = backtest.window_sums(err_cum, tot_cum, lead, n, step, [w for p in STANDARD_PAIRS for w in p[1:3]])
    objectives = [Fraction(repr(float(c))) / (100 if c > 1 else 1) for c in candidates]
    fired = {}
    for pair in STANDARD_PAIRS:
        limits = [float(pair[3]) * float(1 - o) for o in objectives]
        fired[pair] = backtest.firings_above(backtest.ratio_floor(windows, pair), limits)
    rows = []
    for index, objective in enumerate(objectives):
        budget = float(1 - objective)
        pages = sum(fired[p][index] for p in STANDARD_PAIRS if p[0] == "page")
        tickets = sum(fired[p][index] for p in STANDARD_PAIRS if p[0] == "ticket")
        rows.append({
            "objective": percent(objective),
            "budget_consumed": rounded(errors / (budget * total)) if total else None,
            "met": bool(total) and errors <= budget * total,
            "days_below": sum(1 for d in days if d["sli"] is not None and d["sli"] < 1 - budget),
            "weeks_below": sum(1 for w in full_weeks if w["sli"] is not None and w["sli"] < 1 - budget),
            "pages": pages, "tickets": tickets,
            "pairs_that_cannot_fire": [p[1] for p in STANDARD_PAIRS if Fraction(p[3]) * (1 - objective) >= 1],
        })
    fitting = [r for r in rows if r["met"] and r["weeks_below"] == 0]
    suggested = max(fitting, key=lambda r: r["objective"]) if fitting else None
    daily = [d["sli"] for d in days]
    return {
        "candidates": rows,
        "suggested_objective": suggested["objective"] if suggested else None,
        "daily_sli": {"min": rounded(_quantile(daily, 0), 8), "p10": rounded(_quantile(daily, 0.1), 8),
                      "median": rounded(_quantile(daily, 0.5), 8)},
        "weekly_sli": [w["sli"] for w in full_weeks],
    }
