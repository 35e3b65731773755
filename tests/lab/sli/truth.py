"""Ground truth of the SLI history, computed from the designed per-minute counts with exact
integer arithmetic (no float, no code shared with the module's engine).

Evaluation k = 1 .. N happens at window.start + k * 60 (N = 30 days of minutes, the last one at
window.end). A window of w minutes at evaluation k covers minutes J-w+1 .. J (J = k + lead
minutes): exactly what rate(x[w]) sees at that instant in Prometheus 2.42, whose range selectors
include both ends, when samples sit on the evaluation grid.
"""
from __future__ import annotations

from fractions import Fraction

from tests.lab.sli import design

# (severity, long minutes, short minutes, factor, for seconds): the anchor's standard pairs and one
# user pair with `for`.
STANDARD_PAIRS = (("page", 60, 5, "14.4", 0), ("page", 360, 30, "6", 0), ("ticket", 1440, 120, "3", 0), ("ticket", 4320, 360, "1", 0))
USER_PAIRS = (("page", 60, 5, "14.4", 600),)


def pair_key(severity, long_m, short_m, factor, for_s):
    return "%s:%dm/%dm:%s:for%ds" % (severity, long_m, short_m, factor, for_s)


def _cumsum(values):
    out, acc = [], 0
    for v in values:
        acc += v
        out.append(acc)
    return out


def firing(err_cum, tot_cum, lead, n, budget, pair):
    """Firing intervals [{fired, last, resolved}] in evaluation indices (resolved None when still firing)."""
    _sev, long_m, short_m, factor, for_s = pair
    threshold = Fraction(factor) * budget
    num, den = threshold.numerator, threshold.denominator
    ties = 0
    intervals, active_since, fired = [], None, None
    for k in range(1, n + 1):
        j = lead + k
        cond = True
        for w in (long_m, short_m):
            e, t = err_cum[j] - err_cum[j - w], tot_cum[j] - tot_cum[j - w]
            if t == 0:
                cond = False
                break
            ties += e * den == num * t
            if not e * den > num * t:
                cond = False
                break
        if cond:
            if active_since is None:
                active_since = k
            if fired is None and (k - active_since) * design.STEP >= for_s:
                fired = k
        else:
            if fired is not None:
                intervals.append({"fired": fired, "last": k - 1, "resolved": k})
            active_since, fired = None, None
    if fired is not None:
        intervals.append({"fired": fired, "last": n, "resolved": None})
    return intervals, ties


def build(counts, start, end, seed):
    lead = design.LEAD // design.STEP
    n = (end - start) // design.STEP

    def ts(k):
        return None if k is None else start + k * design.STEP

    slos = {}
    for slo in design.SLOS:
        errors, total = design.slo_counts(counts, slo)
        objective = Fraction(str(slo["objective"])) / 100
        budget = 1 - objective
        e_win, t_win = sum(errors[lead + 1:]), sum(total[lead + 1:])
        consumed = Fraction(e_win) / (budget * t_win)
        err_cum, tot_cum = _cumsum(errors), _cumsum(total)
        pairs, ties = {}, 0
        for pair in STANDARD_PAIRS + USER_PAIRS:
            found, tied = firing(err_cum, tot_cum, lead, n, budget, pair)
            ties += tied
            pairs[pair_key(*pair)] = [{"fired": ts(i["fired"]), "last": ts(i["last"]), "resolved": ts(i["resolved"])} for i in found]
        daily = []
        for day in range(n * design.STEP // 86400):
            lo = lead + day * 1440 + 1
            daily.append({"day": start + day * 86400, "errors": sum(errors[lo:lo + 1440]), "total": sum(total[lo:lo + 1440])})
        errors_sel, total_sel = design.selectors(slo)
        slos[slo["name"]] = dict(slo, errors_selector=errors_sel, total_selector=total_sel, errors=e_win, total=t_win,
                                 achieved=float(1 - Fraction(e_win, t_win)), budget_consumed=float(consumed),
                                 budget_remaining=float(1 - consumed), daily=daily, firing=pairs, ties=ties)
    incidents = [{"name": name, "service": svc, "kind": kind, "start": start + (first - lead) * design.STEP,
                  "end": start + (first - lead + length) * design.STEP}
                 for name, svc, kind, first, length, _fig in design.INCIDENTS]
    return {
        "schema": 1, "seed": seed, "interval_seconds": design.STEP, "lead_seconds": design.LEAD,
        "window": {"start": start, "end": end, "seconds": end - start},
        "job": design.JOB, "requests_metric": design.REQUESTS, "histogram": design.HISTOGRAM, "buckets": list(design.LE),
        "standard_pairs": [pair_key(*p) for p in STANDARD_PAIRS], "user_pairs": [pair_key(*p) for p in USER_PAIRS],
        "slos": slos, "incidents": incidents,
    }
