# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules out: Prometheus recording and alerting rules per SLO named and labelled as sloth generates
them (``slo:sli_error:ratio_rate5m`` ... with ``sloth_id``, ``sloth_service``, ``sloth_slo``,
``sloth_window``; one alert with ``sloth_severity`` page and ticket), a sloth ``prometheus/v1`` spec
and an OpenSLO v1 SLO. Differences from sloth, on purpose: the budget is written without float
noise (0.001, not 0.0009999999999999432), each group carries the evaluation interval the backtest
assumed, and user pairs become extra rules of the same alert (label ``slo_pair``, with ``for``).

An SLO here is {name, service, objective (Fraction), period, alert_name, sli: {errors, total}}
where errors and total are query templates with ``{{.window}}`` (sloth's placeholder).
"""

from __future__ import annotations

import re

from ansible_collections.sre.toolkit.plugins.module_utils._slo.common import STANDARD_PAIRS, STANDARD_WINDOWS, percent, window_text

WINDOW = "{{.window}}"
RECORD = "slo:sli_error:ratio_rate%s"


def ratio_queries(errors_selector, total_selector):
    """Error and total query templates of a ratio SLI from counter selectors."""
    return ("sum(rate(%s[%s]))" % (errors_selector, WINDOW), "sum(rate(%s[%s]))" % (total_selector, WINDOW))


def latency_queries(bucket_selector, count_selector):
    """Slower-than-threshold and total query templates of a latency SLI (the threshold's bucket)."""
    total = "sum(rate(%s[%s]))" % (count_selector, WINDOW)
    return ("(%s - sum(rate(%s[%s])))" % (total, bucket_selector, WINDOW), total)


def camel(name):
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def slo_labels(slo):
    return {"sloth_id": "%s-%s" % (slo["service"], slo["name"]), "sloth_service": slo["service"], "sloth_slo": slo["name"]}


def selector(labels):
    return "{%s}" % ", ".join('%s="%s"' % (k, labels[k]) for k in sorted(labels))


def budget_text(objective):
    return repr(float(1 - objective))


def _ratio_expr(slo, window):
    errors, total = slo["sli"]["errors"], slo["sli"]["total"]
    return "(%s)\n/\n(%s)\n" % (errors.replace(WINDOW, window), total.replace(WINDOW, window))


def _pair_expr(sel, pair, budget):
    _severity, long_s, short_s, factor = pair[:4]
    parts = ["max(%s%s > (%s * %s)) without (sloth_window)" % (RECORD % window_text(w), sel, factor, budget) for w in (short_s, long_s)]
    return "(\n    %s\n    and\n    %s\n)" % (parts[0], parts[1])


def prometheus_rules(slo, interval, user_pairs=()):
    """{"groups": [...]} for one SLO: SLI recordings, meta recordings, alerts."""
    labels = slo_labels(slo)
    sel = selector(labels)
    ident = labels["sloth_id"]
    interval_text = window_text(interval)
    period_text = window_text(slo["period"])
    budget = budget_text(slo["objective"])
    sli = [{"record": RECORD % window_text(w), "expr": _ratio_expr(slo, window_text(w)),
            "labels": dict(labels, sloth_window=window_text(w))} for w in STANDARD_WINDOWS]
    short = RECORD % window_text(STANDARD_WINDOWS[0])
    sli.append({"record": RECORD % period_text,
                "expr": "sum_over_time(%s%s[%s])\n/ ignoring (sloth_window)\ncount_over_time(%s%s[%s])\n" % (
                    short, sel, period_text, short, sel, period_text),
                "labels": dict(labels, sloth_window=period_text)})
    on = " / on(sloth_id, sloth_slo, sloth_service) group_left\n"
    meta = [
        {"record": "slo:objective:ratio", "expr": "vector(%r)" % float(slo["objective"]), "labels": dict(labels)},
        {"record": "slo:error_budget:ratio", "expr": "vector(1-%r)" % float(slo["objective"]), "labels": dict(labels)},
        {"record": "slo:time_period:days", "expr": "vector(%d)" % (slo["period"] // 86400), "labels": dict(labels)},
        {"record": "slo:current_burn_rate:ratio", "expr": "%s%s\n%sslo:error_budget:ratio%s\n" % (short, sel, on, sel), "labels": dict(labels)},
        {"record": "slo:period_burn_rate:ratio", "expr": "%s%s\n%sslo:error_budget:ratio%s\n" % (RECORD % period_text, sel, on, sel),
         "labels": dict(labels)},
        {"record": "slo:period_error_budget_remaining:ratio", "expr": "1 - slo:period_burn_rate:ratio%s" % sel, "labels": dict(labels)},
        {"record": "sloth_slo_info", "expr": "vector(1)",
         "labels": dict(labels, sloth_mode="sre.toolkit", sloth_objective=str(percent(slo["objective"])), sloth_spec="prometheus/v1",
                        sloth_version="sre.toolkit.slo_report")},
    ]
    alerts = []
    for severity in ("page", "ticket"):
        pairs = [p for p in STANDARD_PAIRS if p[0] == severity]
        alerts.append({
            "alert": slo["alert_name"],
            "expr": "%s\nor\n%s\n" % (_pair_expr(sel, pairs[0], budget), _pair_expr(sel, pairs[1], budget)),
            "labels": {"sloth_severity": severity, "severity": "critical" if severity == "page" else "warning"},
            "annotations": _annotations(slo, severity),
        })
    for pair in user_pairs:
        rule = {"alert": slo["alert_name"], "expr": _pair_expr(sel, pair, budget) + "\n",
                "labels": {"sloth_severity": pair[0], "severity": "critical" if pair[0] == "page" else "warning",
                           "slo_pair": "%s/%s" % (window_text(pair[1]), window_text(pair[2]))},
                "annotations": _annotations(slo, pair[0])}
        if pair[4]:
            rule["for"] = window_text(pair[4])
        alerts.append(rule)
    return {"groups": [
        {"name": "sloth-slo-sli-recordings-%s" % ident, "interval": interval_text, "rules": sli},
        {"name": "sloth-slo-meta-recordings-%s" % ident, "interval": interval_text, "rules": meta},
        {"name": "sloth-slo-alerts-%s" % ident, "interval": interval_text, "rules": alerts},
    ]}


def _annotations(slo, severity):
    return {"summary": "%s SLO error budget burn rate is too fast." % slo["name"],
            "title": "(%s) %s %s SLO error budget burn rate is too fast." % (severity, slo["service"], slo["name"])}


def expand(expr, recordings):
    """``expr`` with every recorded series replaced by the expression that records it, so it can be
    evaluated over the past (recording rules have no history). ``recordings``: the SLO's SLI group rules."""
    out = expr
    for rule in recordings:
        sel = selector({k: v for k, v in rule["labels"].items() if k != "sloth_window"})
        out = out.replace(rule["record"] + sel, "(" + rule["expr"].strip() + ")")
    return out


def sloth_spec(service, slos):
    """One sloth prometheus/v1 spec for the SLOs of a service."""
    return {"version": "prometheus/v1", "service": service, "labels": {"generated_by": "sre.toolkit.slo_report"}, "slos": [{
        "name": slo["name"], "objective": percent(slo["objective"]),
        "description": slo.get("description") or "%s SLO of %s" % (slo["name"], service),
        "sli": {"events": {"error_query": slo["sli"]["errors"], "total_query": slo["sli"]["total"]}},
        "alerting": {"name": slo["alert_name"], "labels": {"category": "slo"},
                     "page_alert": {"labels": {"severity": "critical"}}, "ticket_alert": {"labels": {"severity": "warning"}}},
    } for slo in slos]}


def openslo(slo):
    """OpenSLO v1 SLO (inline ratioMetric SLI, rolling window, Occurrences)."""
    def source(query):
        return {"metricSource": {"type": "Prometheus", "spec": {"query": query.replace("rate(", "increase(")}}}
    return {
        "apiVersion": "openslo/v1", "kind": "SLO",
        "metadata": {"name": slo["name"], "displayName": slo["name"]},
        "spec": {
            "service": slo["service"], "budgetingMethod": "Occurrences",
            "timeWindow": [{"duration": window_text(slo["period"]), "isRolling": True}],
            "indicator": {"metadata": {"name": "%s-sli" % slo["name"]}, "spec": {"ratioMetric": {
                "counter": False, "bad": source(slo["sli"]["errors"].replace(WINDOW, "5m")),
                "total": source(slo["sli"]["total"].replace(WINDOW, "5m"))}}},
            "objectives": [{"displayName": slo["name"], "target": float(slo["objective"])}],
        },
    }
