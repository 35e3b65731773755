# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backtest of burn-rate alert pairs: replay the history at every evaluation and list when each
pair (and each generated alert, an OR of pairs) would have fired and resolved, honouring ``for``,
as Prometheus' rule manager does: an alert is pending from the first evaluation its condition
holds, fires once it has held for ``for``, resolves at the first evaluation it does not hold.

A pair holds at evaluation t when the error ratio over its long window and over its short window
(both ending at t) are above factor x (1 - objective). The threshold is an exact fraction and the
counts are compared as errors x denominator > numerator x total, so a ratio equal to the
threshold never fires (as the designed ground truth says).

Real budget burns (incidents) are the runs of whole hours whose burn rate is above 1, kept when
they spent at least ``incident_min_budget`` of the window's budget. A pair caught an incident when
it fired between the incident's start and its end plus the pair's long window.
"""

from __future__ import annotations

import bisect
from fractions import Fraction

from ansible_collections.sre.toolkit.plugins.module_utils._slo.common import rounded


def threshold(factor, objective):
    """(numerator, denominator) of factor x (1 - objective), exact."""
    value = Fraction(str(factor)) * (1 - objective)
    return float(value.numerator), float(value.denominator)


def window_sums(err_cum, tot_cum, lead, n, step, seconds):
    """{window seconds: (errors, totals)}: per evaluation k = 1 .. n, the counts of the window ending at
    window start + k * step (0, 0 where the history is too short: such a window never holds)."""
    out = {}
    for span in sorted(set(int(s) for s in seconds)):
        w = int(span // step)
        sums = []
        for cum in (err_cum, tot_cum):
            lo = lead + 1 - w
            head = [0.0] * max(0, -lo)
            lo = max(lo, 0)
            sums.append(head + [b - a for a, b in zip(cum[lo:lead + n + 1 - w], cum[lo + w:lead + n + 1])])
        out[span] = tuple(sums)
    return out


def condition(windows, pair, objective):
    """[bool] per evaluation k = 1 .. n: does the pair hold at window start + k * step."""
    num, den = threshold(pair[3], objective)
    long_e, long_t = windows[pair[1]]
    short_e, short_t = windows[pair[2]]
    return [le * den > num * lt and se * den > num * st for le, lt, se, st in zip(long_e, long_t, short_e, short_t)]


def ratio_floor(windows, pair):
    """Per evaluation, the lower of the pair's two windows' error ratios (-1 without traffic): the pair
    holds at any objective whose threshold is below it. For comparing many objectives at once (target
    suggestion), in floats; the backtest itself uses condition()."""
    long_e, long_t = windows[pair[1]]
    short_e, short_t = windows[pair[2]]
    return [min(le / lt, se / st) if lt > 0 and st > 0 else -1.0 for le, lt, se, st in zip(long_e, long_t, short_e, short_t)]


def firings_above(floor, limits):
    """For each limit, how many times a pair without for would have fired: the rising edges of
    floor > limit. A step from a to b (a < b) is an edge for every limit in [a, b): count those with
    two sorted lists instead of walking the history once per limit (steps that end below every
    limit are no edge for any)."""
    low = min(limits)
    rising = [(a, b) for a, b in zip([-1.0] + floor, floor) if b > low and b > a]
    lows = sorted(a for a, _b in rising)
    highs = sorted(b for _a, b in rising)
    return [bisect.bisect_right(lows, limit) - bisect.bisect_right(highs, limit) for limit in limits]


def episodes(holds, start, step, for_seconds=0):
    """Firing intervals of an alert whose condition is ``holds``: [{pending_since, fired, last, resolved}]
    (unix seconds; resolved None when still firing at the end). Pending-only episodes are left out."""
    out = []
    active = fired = None
    k = 0
    for k, value in enumerate(holds, 1):
        if value:
            if active is None:
                active = k
            if fired is None and (k - active) * step >= for_seconds:
                fired = k
        else:
            if fired is not None:
                out.append(_interval(start, step, active, fired, k - 1, k))
            active = fired = None
    if fired is not None:
        out.append(_interval(start, step, active, fired, k, None))
    return out


def _interval(start, step, active, fired, last, resolved):
    return {"pending_since": start + active * step, "fired": start + fired * step, "last": start + last * step,
            "resolved": None if resolved is None else start + resolved * step}


def either(*conditions):
    return [any(values) for values in zip(*conditions)]


def incidents(hours, min_share):
    """Runs of hours (budget.periods rows) burning faster than 1 that spent >= min_share of the budget."""
    out, run = [], []
    for row in list(hours) + [None]:
        if row is not None and (row["burn_rate"] or 0) > 1:
            run.append(row)
            continue
        if run:
            share = sum(r["budget_consumed"] or 0 for r in run)
            if share >= min_share:
                out.append({"start": run[0]["start"], "end": run[-1]["end"], "budget_consumed": rounded(share),
                            "peak_burn_rate": max(r["burn_rate"] for r in run)})
            run = []
    return out


def judge(alerts, found):
    """Per incident: which alerts caught it, detection and reset time; per alert: precision figures.

    ``alerts``: [{name, severity, long_seconds, firing: [...]}] (changed in place)."""
    for incident in found:
        incident["caught_by"] = []
        for alert in alerts:
            horizon = incident["end"] + alert["long_seconds"]
            hits = [f for f in alert["firing"] if f["fired"] <= horizon and (f["resolved"] or f["last"] + 1) > incident["start"]]
            if not hits:
                continue
            resolved = [f["resolved"] for f in hits]
            incident["caught_by"].append({
                "alert": alert["name"], "severity": alert["severity"],
                "detection_seconds": max(0, hits[0]["fired"] - incident["start"]),
                "reset_seconds": None if None in resolved else max(0, max(resolved) - incident["end"]),
            })
        incident["caught"] = bool(incident["caught_by"])
        incident["paged"] = any(c["severity"] == "page" for c in incident["caught_by"])
    for alert in alerts:
        matched = 0
        for f in alert["firing"]:
            if any(f["fired"] <= i["end"] + alert["long_seconds"] and (f["resolved"] or f["last"] + 1) > i["start"] for i in found):
                matched += 1
        alert["firings"] = len(alert["firing"])
        alert["firing_seconds"] = sum((f["resolved"] or f["last"]) - f["fired"] for f in alert["firing"])
        alert["matching_incidents"] = matched
        alert["precision"] = rounded(matched / len(alert["firing"]), 4) if alert["firing"] else None
        caught = sum(1 for i in found if any(c["alert"] == alert["name"] for c in i["caught_by"]))
        alert["recall"] = rounded(caught / len(found), 4) if found else None
    return alerts, found
