# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The slo_report service: check the options, fetch each SLO's counters raw through the Prometheus
client, hand per-interval counts to the engine (analyze.py), turn reports into findings, gate.

One SLO failing (its query rejected, no data, no such bucket) becomes a critical slo.sli_failed
finding naming it and the fix; the others are still reported. Prometheus unreachable fails the
run, naming the SLO it was reading.
"""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._findings import contract, gate
from ansible_collections.sre.toolkit.plugins.module_utils._gc import collector_paused
from ansible_collections.sre.toolkit.plugins.module_utils._prom import PrometheusClient
from ansible_collections.sre.toolkit.plugins.module_utils._slo import findings as slo_findings
from ansible_collections.sre.toolkit.plugins.module_utils._slo import rules as slo_rules
from ansible_collections.sre.toolkit.plugins.module_utils._slo import spec as slo_spec
from ansible_collections.sre.toolkit.plugins.module_utils._slo.analyze import analyze_slo
from ansible_collections.sre.toolkit.plugins.module_utils._slo.common import STANDARD_PAIRS, duration
from ansible_collections.sre.toolkit.plugins.module_utils._slo.sli import Increments, latency_errors
from ansible_collections.sre.toolkit.plugins.module_utils._time import utc_text

FATAL = ("connection", "timeout", "tls", "auth", "forbidden", "deadline", "dns", "server", "too_many_requests")


class SliFailed(Exception):
    def __init__(self, message, fix, kind="invalid"):
        super().__init__(message)
        self.message, self.fix, self.kind = message, fix, kind


def _fetch(prom, slo, option, selector, span, chunk):
    lo, hi, step, n = span
    counts = Increments(lo + step, step, n)
    try:
        for part in prom.iter_raw(selector, lo, hi, chunk):
            counts.add(part)
    except ToolkitError as exc:
        if exc.kind in FATAL:
            raise ToolkitError("slos[%s]: reading %s from Prometheus failed: %s; check prometheus_url and that the server is up" % (
                slo["name"], option, exc.msg), kind=exc.kind, status=exc.status)
        raise SliFailed("slos[%s].%s: Prometheus rejected %s: %s" % (slo["name"], option, selector, exc.msg),
                        "write a plain metric selector such as http_requests_total{service=\"api\", code=~\"5..\"} (no functions)")
    if not counts.series:
        raise SliFailed("slos[%s].%s: %s matched no samples between %s and %s" % (slo["name"], option, selector, utc_text(lo), utc_text(hi)),
                        "check the metric name and labels in the Prometheus UI, and end/period (is there data in that window?)", "not_found")
    return counts.out


def _threshold_bucket(prom, slo, end):
    name, inner = slo["histogram"]
    where = "slos[%s].latency" % slo["name"]
    try:
        rows = prom.query("group by (le) (%s_bucket{%s})" % (name, inner), at=end)
    except ToolkitError as exc:
        if exc.kind in FATAL:
            raise
        raise SliFailed("%s.histogram: Prometheus rejected it: %s" % (where, exc.msg), "write the histogram as name{label=\"value\"}")
    les = {}
    for row in rows:
        text = row.get("metric", {}).get("le")
        try:
            les[float(text)] = text
        except (TypeError, ValueError):
            continue
    if not les:
        raise SliFailed("%s.histogram: no %s_bucket series at %s" % (where, name, utc_text(end)),
                        "check the histogram's name and labels (the module adds _bucket and _count)", "not_found")
    if slo["threshold"] not in les:
        raise SliFailed("%s.threshold: %g s is not a bucket of %s; buckets: %s" % (
            where, slo["threshold"], name, ", ".join("%g" % v for v in sorted(les))),
            "use one of those le values as threshold (a latency SLI counts the requests in that bucket)")
    slo_spec.set_bucket(slo, les[slo["threshold"]])


def slo_counts(prom, slo, plan):
    """Per-interval errors and totals of one SLO over the window and its lookback."""
    start, end, step, lookback, chunk = plan
    lead = lookback // step
    n = (end - start) // step
    span = (start - lookback - step, end, step, lead + n)
    if slo["kind"] == "latency":
        _threshold_bucket(prom, slo, end)
        total = _fetch(prom, slo, "latency.histogram (_count)", slo["selectors"]["total"], span, chunk)
        good = _fetch(prom, slo, "latency.threshold (_bucket)", slo["selectors"]["good"], span, chunk)
        errors = latency_errors(total, good)
    else:
        errors = _fetch(prom, slo, "ratio.errors", slo["selectors"]["errors"], span, chunk)
        total = _fetch(prom, slo, "ratio.total", slo["selectors"]["total"], span, chunk)
    if not any(total[lead:]):
        raise SliFailed("slos[%s]: no requests counted between %s and %s (the total is 0)" % (slo["name"], utc_text(start), utc_text(end)),
                        "check the total selector and the window; an SLO needs traffic", "not_found")
    return {"errors": errors, "total": total, "lead": lead, "n": n, "step": step, "start": start}


def run(params, now, prometheus=PrometheusClient.from_params):
    """Every option checked before the client is built; then one report per SLO. Returns (result, warnings)."""
    if not params.get("prometheus_url"):
        raise ToolkitError("prometheus_url: required; give the base URL of the Prometheus API, e.g. http://127.0.0.1:9090")
    start, end, step, period = slo_spec.window(params, now)
    specs, invalid = slo_spec.slos(params, period)
    lookback = max([p[1] for p in STANDARD_PAIRS] + [p[1] for s in specs for p in s["pairs"]])
    chunk = duration(params["query_chunk"], "query_chunk")
    options = {"candidates": params["candidates"], "incident_min_budget": params["incident_min_budget"] / 100.0}
    return report(prometheus(params), specs, (start, end, step, lookback, chunk), options, params, invalid)


def report(prom, specs, plan, options, params, invalid=()):
    reports, found, groups, warnings = [], [], [], []
    fix = "correct that SLO's options (the message names the option)"
    for bad in invalid:
        found.append(slo_findings.failed(bad["name"], bad["service"], bad["error"], fix, "invalid"))
        reports.append(dict(bad, fix=fix, error_kind="invalid"))
    with collector_paused():
        for slo in specs:
            try:
                data = slo_counts(prom, slo, plan)
            except SliFailed as exc:
                found.append(slo_findings.failed(slo["name"], slo["service"], exc.message, exc.fix, exc.kind))
                reports.append({"name": slo["name"], "service": slo["service"], "error": exc.message, "fix": exc.fix, "error_kind": exc.kind})
                continue
            rep = analyze_slo(slo, data, options)
            groups.extend(rep.pop("rules")["groups"])
            found.extend(slo_findings.report_findings(rep, slo["objective"], params["budget_warning"] / 100.0))
            reports.append(rep)
    ok = [s for s, r in zip(specs, reports[len(invalid):]) if "error" not in r]
    services = sorted(set(s["service"] for s in ok))
    ordered, counts = contract(found)
    result = {
        "window": {"start": plan[0], "end": plan[1], "evaluation_interval": plan[2], "lookback_seconds": plan[3]},
        "slos": sorted(reports, key=lambda r: r["name"]),
        "rules": {"groups": groups},
        "sloth": [slo_rules.sloth_spec(svc, [s for s in ok if s["service"] == svc]) for svc in services],
        "openslo": [r.pop("openslo") for r in reports if "openslo" in r],
        "findings": ordered,
        "summary": {"counts": counts, "slos": len(reports), "failed": len(specs) + len(invalid) - len(ok),
                    "budget_exhausted": sorted(r["name"] for r in reports if (r.get("budget") or {}).get("budget_consumed", 0) >= 1)},
        "queries": prom.all_stats(),
    }
    result["summary"]["gate"] = gate(counts, params["fail_on"])
    if not ok:
        warnings.append("no SLO could be computed; see findings (slo.sli_failed) for each one's fix")
    return result, warnings
