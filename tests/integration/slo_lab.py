"""What the slo_report integration tests share: the lab's SLOs as module options, the ground
truth, and Prometheus itself evaluating the generated rules over the stored history."""
from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.lab.sli import design


def lab_slos(truth):
    """The module's `slos` option for every SLO of the lab's ground truth."""
    out = []
    for name, slo in sorted(truth["slos"].items()):
        item = {"name": name, "service": slo["service"], "objective": slo["objective"]}
        if slo["sli"] == "ratio":
            item["ratio"] = {"errors": slo["errors_selector"], "total": slo["total_selector"]}
        else:
            item["latency"] = {"histogram": '%s{job="%s", service="%s"}' % (truth["histogram"], truth["job"], slo["service"]),
                               "threshold": slo["threshold"]}
        out.append(item)
    return out


def truth_of(lab_prometheus):
    return json.loads(Path(lab_prometheus["histories"]["sli"]["ground_truth"]).read_text())


def firing_times(url, expr, start, end, step):
    """Evaluation times in [start, end] (step apart) at which `expr` returns a sample, by query_range."""
    times = set()
    cursor = start
    while cursor <= end:
        upper = min(end, cursor + step * 10000)
        body = requests.post(url + "/api/v1/query_range", data={"query": expr, "start": cursor, "end": upper, "step": step},
                             timeout=120).json()
        assert body["status"] == "success", body
        for series in body["data"]["result"]:
            times.update(int(float(ts)) for ts, _value in series["values"])
        cursor = upper + step
    return sorted(times)


def intervals(times, step, for_seconds, end):
    """Firing intervals {fired, last, resolved} of an alert whose condition holds at `times`, with `for`."""
    out, run = [], []
    for t in times + [None]:
        if t is not None and run and t == run[-1] + step:
            run.append(t)
            continue
        if run:
            fired = run[0] + (-(-for_seconds // step)) * step
            if fired <= run[-1]:
                out.append({"fired": fired, "last": run[-1], "resolved": None if run[-1] >= end else run[-1] + step})
        run = [t] if t is not None else []
    return out


def raw_series(url, selector, start, end):
    """Every stored sample of `selector` in [start, end] (one range-vector query)."""
    body = requests.get(url + "/api/v1/query", params={"query": "%s[%ds]" % (selector, end - start), "time": end}, timeout=120).json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def promtool_test_file(rules_file, url, slo, alerts, stretch, step):
    """A `promtool test rules` file: the stored counters of one SLO over `stretch` = (start, end) as
    input series, and at every evaluation in the second part of it the alerts the backtest says fire."""
    start, end, check_from = stretch
    series = []
    for raw in raw_series(url, slo["total_selector"], start, end):
        labels = ", ".join('%s="%s"' % (k, v) for k, v in sorted(raw["metric"].items()) if k != "__name__")
        values = [raw_value for _ts, raw_value in raw["values"]]
        assert len(values) == (end - start) // step + 1, "the stored history has a gap"
        series.append({"series": "%s{%s}" % (raw["metric"]["__name__"], labels), "values": " ".join(values)})
    tests = []
    for t in range(check_from, end + 1, step):
        exp = []
        for alert in alerts:
            if any(f["fired"] <= t <= f["last"] for f in alert["firing"]):
                exp.append({"exp_labels": alert["exp_labels"], "exp_annotations": alert["annotations"]})
        tests.append({"eval_time": "%dm" % ((t - start) // 60), "alertname": alerts[0]["alertname"], "exp_alerts": exp})
    return {"rule_files": [str(rules_file)], "evaluation_interval": "%ds" % step,
            "group_eval_order": list(alerts[0]["groups"]),
            "tests": [{"interval": "%ds" % step, "input_series": series, "alert_rule_test": tests}]}


def designed_incident(truth, name):
    return next(i for i in truth["incidents"] if i["name"] == name)


__all__ = ["design", "lab_slos", "truth_of", "firing_times", "intervals", "promtool_test_file", "designed_incident"]
