# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The alert_frequency service: check the options, fetch through the clients, run the engine, gate.

Orchestration only: what to fetch (rules, raw ALERTS / ALERTS_FOR_STATE chunks, silences, SLO
ratios), in which order and through which client. The clients come in as factories
(``prometheus(params)``, ``alertmanager(params)``; the real ones by default), so tests hand in
recorded ones; every decision is taken by the engine (``analyze``).
"""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.analyze import MAX_WINDOW, Collector, analyze, parse_matchers
from ansible_collections.sre.toolkit.plugins.module_utils._alerts.common import parse_duration, resolve_window
from ansible_collections.sre.toolkit.plugins.module_utils._alerts.slo import windows_needed
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._findings import gate
from ansible_collections.sre.toolkit.plugins.module_utils._gc import collector_paused
from ansible_collections.sre.toolkit.plugins.module_utils._http import HttpClient
from ansible_collections.sre.toolkit.plugins.module_utils._prom import PrometheusClient


def engine_options(params, matchers):
    flap, cof = params["flapping"] or {}, params["cofiring"] or {}
    return {
        "ignore_labels": params["ignore_labels"],
        "evaluation_interval": parse_duration(params["evaluation_interval"], "evaluation_interval"),
        "gap_tolerance": params["gap_tolerance"],
        "timezone": params["timezone"],
        "flapping_high": flap.get("high_threshold"),
        "flapping_low": flap.get("low_threshold"),
        "flapping_states": flap.get("states"),
        "short_episode": parse_duration(params["short_episode"], "short_episode"),
        "long_episode": parse_duration(params["long_episode"], "long_episode"),
        "always_firing": params["always_firing"],
        "cofiring_min_score": cof.get("min_score"),
        "cofiring_min_jaccard": cof.get("min_jaccard"),
        "cofiring_min_together": cof.get("min_together"),
        "cofiring_bucket": parse_duration(cof.get("bucket") or "5m", "cofiring.bucket"),
        "cascade_within": parse_duration(cof.get("cascade_within") or "5m", "cofiring.cascade_within"),
        "cascade_min_lift": cof.get("cascade_min_lift"),
        "cascade_min_share": cof.get("cascade_min_share"),
        "cofiring_burst_gap": parse_duration(cof.get("burst_gap") or "30m", "cofiring.burst_gap"),
        "cofiring_alpha": cof.get("significance"),
        "include_episodes": params["include_episodes"],
        "rule_matchers": matchers,
    }


def series_selector(metric, matchers):
    return "%s{%s}" % (metric, ", ".join('%s%s"%s"' % m for m in matchers))


def fetch_raw(prom, selector, start, end, chunk, consume):
    """Hand every chunk of raw samples of `selector` in (start, end] to `consume`; returns the series count.

    A selector Prometheus rejects is named as the option at fault.
    """
    count = 0
    try:
        for part in prom.iter_raw(selector, start, end, chunk):
            count += len(part)
            consume(part)
    except ToolkitError as exc:
        if exc.status == 400 or exc.kind == "invalid":
            raise ToolkitError("selector: Prometheus rejected %s: %s" % (selector, exc.msg), kind="invalid", status=exc.status)
        raise
    return count


def alertmanager_client(params):
    return HttpClient.from_params(params, "alertmanager_url")


def fetch_silences(http):
    silences = http.get_json("/api/v2/silences")
    if not isinstance(silences, list):
        raise ToolkitError("alertmanager_url: /api/v2/silences did not return a list; is this an Alertmanager (v0.16+)?", kind="http")
    return silences, http.stats.get("requests", 0)


def slo_inputs(prom, slos, start, end):
    inputs = []
    for item in slos:
        if "$window" not in item["error_ratio_query"]:
            raise ToolkitError("slos[%s].error_ratio_query: write $window where the range goes, e.g. rate(x[$window])" % item["name"])
        ratios = {}
        for seconds in windows_needed(end - start):
            result = prom.query(item["error_ratio_query"].replace("$window", "%ds" % seconds), at=end)
            values = [float(r["value"][1]) for r in result if r.get("value")]
            ratios[seconds] = values[0] if len(values) == 1 else None
        inputs.append({"name": item["name"], "objective": item["objective"], "error_ratios": ratios})
    return inputs


def run(params, now, prometheus=PrometheusClient.from_params, alertmanager=alertmanager_client):
    """Every option checked before a client is built; then ``analyze_history``. Returns (result, warnings)."""
    if not params.get("prometheus_url"):
        raise ToolkitError("prometheus_url: required; give the base URL of the Prometheus API, e.g. http://127.0.0.1:9090")
    start, end = resolve_window(params["start"], params["end"], params["window"], now, MAX_WINDOW)
    matchers = parse_matchers(params["selector"])
    chunk = parse_duration(params["query_chunk"], "query_chunk")
    if chunk < 60:
        raise ToolkitError("query_chunk: at least 1m, got %s" % params["query_chunk"])
    options = engine_options(params, matchers)
    silences = (lambda: alertmanager(params)) if params.get("alertmanager_url") else None
    return analyze_history(prometheus(params), silences, params, (start, end, chunk, matchers, options))


def analyze_history(prom, alertmanager, params, plan):
    """Fetch the rules, the raw series, silences (``alertmanager``: None or a factory of the client,
    built only when reached) and SLO ratios for ``plan`` = (start, end, chunk, matchers, engine
    options), run the engine and the gate: (result, warnings)."""
    start, end, chunk, matchers, options = plan
    groups = prom.rules("alert")
    collector = Collector(params["ignore_labels"])
    with collector_paused():  # millions of decoded samples, no cycles: see _gc.py
        alerts = fetch_raw(prom, series_selector("ALERTS", matchers), start, end, chunk, collector.add_alerts)
        fetch_raw(prom, series_selector("ALERTS_FOR_STATE", matchers), start, end, chunk, collector.add_for_state)
        silences, am_requests = fetch_silences(alertmanager()) if alertmanager else (None, 0)
        slos = slo_inputs(prom, params["slos"], start, end) if params["slos"] else None
        result = analyze(None, None, groups, start, end, options, silence_list=silences, slo_inputs=slos, collector=collector)
    result["queries"] = dict(prom.all_stats(), alertmanager_requests=am_requests)
    result["summary"]["gate"] = gate(result["summary"]["counts"], params["fail_on"])
    warnings = []
    if not alerts:
        warnings.append(
            "no ALERTS samples between %s and %s%s: check start/end/window, the selector, and that this server "
            "stores the rule evaluations" % (start, end, (" for selector " + params["selector"]) if params["selector"] else ""))
    if not groups:
        warnings.append("/api/v1/rules lists no alerting rules: dead and unhealthy rules cannot be found "
                        "(a query frontend may not serve rules; point prometheus_url at the ruler)")
    return result, warnings
