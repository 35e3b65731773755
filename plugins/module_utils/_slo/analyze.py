# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One SLO's report from its per-interval counts: budget, budget over time, burn rates, worst
periods, backtest of the standard and user pairs and of the generated alerts, target suggestion
and the rules out. Pure: plain data in, plain sorted data out.

``slo``: {name, service, objective (Fraction), period (s), alert_name, sli: {errors, total} query
templates, pairs: user pairs [(severity, long s, short s, factor text, for s)]}.
``data``: {errors, total (per-interval lists), lead, n, step, start}.
"""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._slo import backtest, budget, rules, targets
from ansible_collections.sre.toolkit.plugins.module_utils._slo.common import STANDARD_PAIRS, pair_name, percent, window_text
from ansible_collections.sre.toolkit.plugins.module_utils._slo.sli import cumulative

DEFAULTS = {"candidates": targets.DEFAULT_CANDIDATES, "incident_min_budget": 0.02, "worst": 5, "include_rules": True}


def _pair_row(pair, holds, start, step, user):
    severity, long_s, short_s, factor = pair[:4]
    for_s = pair[4] if len(pair) > 4 else 0
    return {"name": pair_name(severity, long_s, short_s, factor, for_s), "severity": severity, "long_window": window_text(long_s),
            "short_window": window_text(short_s), "factor": float(factor), "for": window_text(for_s), "user": user,
            "long_seconds": long_s, "firing": backtest.episodes(holds, start, step, for_s), "holds_at_end": bool(holds and holds[-1])}


def analyze_slo(slo, data, options=None):
    opts = dict(DEFAULTS, **(options or {}))
    lead, n, step, start = data["lead"], data["n"], data["step"], data["start"]
    objective = slo["objective"]
    allowed_ratio = float(1 - objective)
    err_cum, tot_cum = cumulative(data["errors"]), cumulative(data["total"])
    head = budget.summary(err_cum, tot_cum, lead, n, allowed_ratio)
    days = budget.periods(err_cum, tot_cum, lead, n, step, start, allowed_ratio, 86400)
    weeks = budget.periods(err_cum, tot_cum, lead, n, step, start, allowed_ratio, 7 * 86400)
    hours = budget.periods(err_cum, tot_cum, lead, n, step, start, allowed_ratio, 3600)
    windows = backtest.window_sums(err_cum, tot_cum, lead, n, step, [w for p in STANDARD_PAIRS + tuple(slo.get("pairs", ())) for w in p[1:3]])
    conditions = {p: backtest.condition(windows, p, objective) for p in STANDARD_PAIRS}
    pairs = [_pair_row(p, conditions[p], start, step, False) for p in STANDARD_PAIRS]
    for p in slo.get("pairs", ()):
        pairs.append(_pair_row(p, conditions.get(p[:4]) or backtest.condition(windows, p, objective), start, step, True))
    # the generated alerts: page = either page pair, ticket = either ticket pair (no for), user pairs as they are
    alerts = []
    for severity in ("page", "ticket"):
        holds = backtest.either(*[conditions[p] for p in STANDARD_PAIRS if p[0] == severity])
        alerts.append({"name": "%s %s" % (slo["alert_name"], severity), "severity": severity, "labels": {"sloth_severity": severity},
                       "long_seconds": max(p[1] for p in STANDARD_PAIRS if p[0] == severity),
                       "firing": backtest.episodes(holds, start, step), "holds_at_end": bool(holds and holds[-1])})
    for row in pairs:
        if row["user"]:
            alerts.append({"name": "%s %s" % (slo["alert_name"], row["name"]), "severity": row["severity"],
                           "labels": {"sloth_severity": row["severity"], "slo_pair": "%s/%s" % (row["long_window"], row["short_window"])},
                           "long_seconds": row["long_seconds"], "firing": row["firing"], "holds_at_end": row["holds_at_end"]})
    found = backtest.incidents(hours, opts["incident_min_budget"])
    backtest.judge(alerts, found)
    backtest.judge(pairs, [dict(i) for i in found])
    report = {
        "name": slo["name"], "service": slo["service"], "objective": percent(objective), "period": window_text(slo["period"]),
        "window": {"start": start, "end": start + n * step, "evaluation_interval": window_text(step)},
        "sli": dict(slo["sli"], kind=slo.get("kind", "ratio")),
        "budget": head,
        "daily": days, "weekly": weeks,
        "burn_rates": budget.burn_rates(err_cum, tot_cum, lead, n, step, allowed_ratio, slo["period"]),
        "worst": {"hours": budget.worst(hours, opts["worst"]), "days": budget.worst(days, opts["worst"])},
        "backtest": {"pairs": pairs, "alerts": alerts, "incidents": found,
                     "missed": [i for i in found if not i["caught"]]},
        "targets": targets.suggest(opts["candidates"], days, weeks, err_cum, tot_cum, (lead, n, step, start), windows),
    }
    if opts["include_rules"]:
        report["rules"] = rules.prometheus_rules(slo, step, list(slo.get("pairs", ())))
        report["openslo"] = rules.openslo(slo)
    return report


def cannot_fire(objective):
    """Standard pairs whose threshold factor x (1 - objective) reaches 1: they can never fire."""
    return [pair_name(*p) for p in STANDARD_PAIRS if float(p[3]) * float(1 - objective) >= 1]
