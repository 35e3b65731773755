# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Error budget of one SLO over its window: achieved SLI, budget spent and left, the budget per
day (and cumulative), the burn rate at every standard window at the end, the worst hours and days.

Input: per-interval error and total counts on the grid (sli.py) with ``lead`` intervals of
history before the window and ``n`` intervals in it.
"""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._slo.common import STANDARD_WINDOWS, rounded, window_text


def _ratio(errors, total):
    return None if not total else errors / total


def summary(err_cum, tot_cum, lead, n, budget):
    """Achieved SLI and budget figures over the window (budget = 1 - objective, a float)."""
    errors = err_cum[lead + n] - err_cum[lead]
    total = tot_cum[lead + n] - tot_cum[lead]
    ratio = _ratio(errors, total)
    consumed = None if ratio is None else ratio / budget
    return {
        "errors": rounded(errors, 3), "total": rounded(total, 3),
        "achieved": rounded(None if ratio is None else 1 - ratio, 8), "error_ratio": rounded(ratio, 8),
        "allowed_errors": rounded(budget * total, 3),
        "budget_consumed": rounded(consumed), "budget_remaining": rounded(None if consumed is None else 1 - consumed),
    }


def periods(err_cum, tot_cum, lead, n, step, start, budget, seconds):
    """Consecutive periods of ``seconds`` from the window start: errors, total, SLI, the share of the
    window's budget each spent, and the cumulative share spent and left."""
    per = max(1, int(seconds // step))
    allowed = budget * (tot_cum[lead + n] - tot_cum[lead])
    out, spent = [], 0.0
    for first in range(0, n, per):
        last = min(n, first + per)
        errors = err_cum[lead + last] - err_cum[lead + first]
        total = tot_cum[lead + last] - tot_cum[lead + first]
        share = errors / allowed if allowed else None
        spent += share or 0.0
        ratio = _ratio(errors, total)
        out.append({
            "start": start + first * step, "end": start + last * step, "errors": rounded(errors, 3), "total": rounded(total, 3),
            "sli": rounded(None if ratio is None else 1 - ratio, 8), "burn_rate": rounded(None if ratio is None else ratio / budget, 4),
            "budget_consumed": rounded(share), "budget_consumed_cumulative": rounded(spent if allowed else None),
            "budget_remaining": rounded(1 - spent if allowed else None),
        })
    return out


def burn_rates(err_cum, tot_cum, lead, n, step, budget, period):
    """Burn rate over each standard window (and the period) ending at the window end."""
    end = lead + n
    out = []
    for seconds in sorted(set(STANDARD_WINDOWS + (period,))):
        w = int(seconds // step)
        if w > end:
            continue
        ratio = _ratio(err_cum[end] - err_cum[end - w], tot_cum[end] - tot_cum[end - w])
        out.append({"window": window_text(seconds), "seconds": seconds, "error_ratio": rounded(ratio, 8),
                    "burn_rate": rounded(None if ratio is None else ratio / budget, 4)})
    return out


def worst(rows, count):
    """The ``count`` periods that spent the most budget, worst first (ties: earlier first)."""
    spent = [r for r in rows if r["budget_consumed"]]
    spent.sort(key=lambda r: (-r["budget_consumed"], r["start"]))
    return spent[:count]
