"""slo_report against the lab's SLI history (tests/lab/sli): budgets and the backtest equal the
designed ground truth, and the backtest equals Prometheus evaluating the generated rules.

Prometheus evaluates rules only going forward, so two honest replays are used: (1) every generated
alert expression, with its recorded series expanded into the expressions that record them
(rules.expand), is evaluated by the lab's Prometheus with query_range at every evaluation step of
the window, and `for` is applied to the result; (2) `promtool test rules` (Prometheus' own rule
engine, recording rules, `for` and ALERTS included) runs the unchanged generated rule file over a
3 days 16 hours stretch of the stored counters of payments-availability (its flapping error rate)
and checks, minute by minute over 9 hours, that the firing alerts are the backtest's.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.ansible import run_module
from tests.integration.slo_lab import designed_incident, firing_times, intervals, lab_slos, promtool_test_file, truth_of

USER_PAIR = {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 14.4, "for": "10m"}
PAIR_KEYS = {  # module pair name -> ground-truth key
    "page 1h/5m x14.4": "page:60m/5m:14.4:for0s", "page 6h/30m x6": "page:360m/30m:6:for0s",
    "ticket 1d/2h x3": "ticket:1440m/120m:3:for0s", "ticket 3d/6h x1": "ticket:4320m/360m:1:for0s",
    "page 1h/5m x14.4 for 10m": "page:60m/5m:14.4:for600s",
}


@pytest.fixture(scope="module")
def lab(lab_prometheus):
    truth = truth_of(lab_prometheus)
    return {"url": lab_prometheus["url"], "truth": truth, "promtool": shutil.which("promtool")}


@pytest.fixture(scope="module")
def report(lab):
    slos = lab_slos(lab["truth"]) + [
        {"name": "zz-rejected", "service": "broken", "objective": 99.9,
         "ratio": {"errors": 'http_requests_total{code=~"("}', "total": "http_requests_total"}},
        {"name": "zz-empty", "service": "broken", "objective": 99.9,
         "ratio": {"errors": 'http_requests_total{service="nope"}', "total": 'http_requests_total{service="nope"}'}},
        {"name": "zz-not-a-bucket", "service": "broken", "objective": 99.0,
         "latency": {"histogram": 'http_request_duration_seconds{service="checkout"}', "threshold": 0.3}},
    ]
    result = run_module("slo_report", {"prometheus_url": lab["url"], "end": str(lab["truth"]["window"]["end"]),
                                       "slos": slos, "alert_pairs": [USER_PAIR]})
    assert result["_rc"] == 0 and not result.get("failed"), result.get("msg")
    return result


def _good(report):
    return {r["name"]: r for r in report["slos"] if "error" not in r}


def test_budgets_equal_the_ground_truth(report, lab):
    window = lab["truth"]["window"]
    assert report["window"]["start"] == window["start"] and report["window"]["end"] == window["end"]
    good = _good(report)
    assert sorted(good) == sorted(lab["truth"]["slos"])
    for name, want in lab["truth"]["slos"].items():
        got = good[name]["budget"]
        assert (got["errors"], got["total"]) == (want["errors"], want["total"]), name
        assert got["achieved"] == pytest.approx(want["achieved"], abs=1e-8), name
        assert got["budget_consumed"] == pytest.approx(want["budget_consumed"], abs=1e-6), name
        assert [(d["start"], d["errors"], d["total"]) for d in good[name]["daily"]] == [(d["day"], d["errors"], d["total"]) for d in want["daily"]]
        assert good[name]["daily"][-1]["budget_consumed_cumulative"] == pytest.approx(want["budget_consumed"], abs=1e-5)
    assert report["summary"]["budget_exhausted"] == ["search-latency"]


def test_backtest_firing_equals_the_ground_truth(report, lab):
    good = _good(report)
    for name, want in lab["truth"]["slos"].items():
        pairs = {p["name"]: p for p in good[name]["backtest"]["pairs"]}
        assert sorted(pairs) == sorted(PAIR_KEYS)
        for pair, key in PAIR_KEYS.items():
            got = [{k: f[k] for k in ("fired", "last", "resolved")} for f in pairs[pair]["firing"]]
            assert got == want["firing"][key], (name, pair)
    # the design shows through: the slow burn only tickets, the flapping rate pages again and again
    search = {p["name"]: p for p in good["search-availability"]["backtest"]["pairs"]}
    assert search["page 1h/5m x14.4"]["firing"] == [] and search["ticket 1d/2h x3"]["firing"]
    flapping = {p["name"]: p for p in good["payments-availability"]["backtest"]["pairs"]}
    assert len(flapping["page 1h/5m x14.4"]["firing"]) > 10
    assert all(p["firing"] == [] for p in good["catalog-availability"]["backtest"]["pairs"])


def test_real_burns_are_found_and_judged(report, lab):
    good = _good(report)
    outage = designed_incident(lab["truth"], "checkout-outage")
    found = good["checkout-availability"]["backtest"]["incidents"]
    hit = [i for i in found if i["start"] <= outage["start"] < i["end"]]
    assert hit and hit[0]["paged"]
    page = next(c for c in hit[0]["caught_by"] if c["severity"] == "page")
    assert 0 <= page["detection_seconds"] <= outage["start"] - hit[0]["start"] + 600
    slow = designed_incident(lab["truth"], "search-slow-burn")
    burns = good["search-availability"]["backtest"]["incidents"]
    assert any(i["start"] <= slow["start"] + 3600 and i["end"] >= slow["end"] - 3600 and i["caught"] and not i["paged"] for i in burns)
    assert good["catalog-availability"]["backtest"]["incidents"] == []
    targets = good["catalog-availability"]["targets"]
    assert targets["suggested_objective"] >= 99.9
    assert {c["objective"]: c["met"] for c in good["search-latency"]["targets"]["candidates"]}[99.9] is False
    # at its own objective, a candidate's pages and tickets are the ground truth's firings of the standard pairs
    for name in ("checkout-availability", "payments-availability", "search-availability"):
        firing = lab["truth"]["slos"][name]["firing"]
        row = next(c for c in good[name]["targets"]["candidates"] if c["objective"] == 99.9)
        assert row["pages"] == sum(len(firing[k]) for k in lab["truth"]["standard_pairs"] if k.startswith("page")), name
        assert row["tickets"] == sum(len(firing[k]) for k in lab["truth"]["standard_pairs"] if k.startswith("ticket")), name


def test_findings(report):
    ids = {(f["id"], f["subject"]["name"]) for f in report["findings"]}
    assert ("slo.budget_exhausted", "search-latency") in ids
    assert ("slo.noisy_alert", "payments-availability") in ids
    assert report["summary"]["counts"]["critical"] >= 4 and report["changed"] is False


def test_bad_slos_fail_alone_with_their_fix(report):
    failed = {r["name"]: r for r in report["slos"] if "error" in r}
    assert sorted(failed) == ["zz-empty", "zz-not-a-bucket", "zz-rejected"]
    assert failed["zz-rejected"]["error"].startswith("slos[zz-rejected].ratio.errors: Prometheus rejected")
    assert "matched no samples" in failed["zz-empty"]["error"]
    assert "0.3 s is not a bucket of http_request_duration_seconds; buckets: 0.05, 0.1, 0.25, 0.5, 1, 2.5" in failed["zz-not-a-bucket"]["error"]
    assert all(r["fix"] for r in failed.values())
    assert report["summary"]["failed"] == 3 and "Traceback" not in report["_stdout"] + report["_stderr"]


def test_unreachable_prometheus_names_the_slo_and_the_fix(lab):
    result = run_module("slo_report", {"prometheus_url": "http://127.0.0.1:9", "prometheus_retries": 0,
                                       "slos": lab_slos(lab["truth"])[:1]})
    assert result.get("failed") and result["error_kind"] == "connection"
    assert result["msg"].startswith("slos[catalog-availability]: reading ratio.errors from Prometheus failed")
    assert "check prometheus_url" in result["msg"] and "Traceback" not in result["_stdout"]


def test_generated_rules_pass_promtool_check(report, lab, tmp_path):
    rules_file = tmp_path / "slo-rules.yml"
    rules_file.write_text(yaml.safe_dump(report["rules"], sort_keys=False))
    proc = subprocess.run([lab["promtool"], "check", "rules", str(rules_file)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: %d rules found" % sum(len(g["rules"]) for g in report["rules"]["groups"]) in proc.stdout + proc.stderr
    records = {r["record"] for g in report["rules"]["groups"] for r in g["rules"] if "record" in r}
    assert {"slo:sli_error:ratio_rate5m", "slo:sli_error:ratio_rate3d", "slo:period_error_budget_remaining:ratio", "sloth_slo_info"} <= records
    spec = {s["service"]: s for s in report["sloth"]}["checkout"]
    assert spec["version"] == "prometheus/v1" and all("{{.window}}" in s["sli"]["events"]["error_query"] for s in spec["slos"])
    assert {o["kind"] for o in report["openslo"]} == {"SLO"}


def _alert_rules(report, name):
    group = next(g for g in report["rules"]["groups"] if g["name"].startswith("sloth-slo-alerts-") and g["name"].endswith("-" + name))
    sli = next(g for g in report["rules"]["groups"] if g["name"] == group["name"].replace("alerts", "sli-recordings"))
    return group, sli


def test_backtest_equals_prometheus_evaluating_the_generated_alerts(report, lab):
    from ansible_collections.sre.toolkit.plugins.module_utils._slo.rules import expand

    step = lab["truth"]["interval_seconds"]
    window = lab["truth"]["window"]
    compared = 0
    for name, rep in sorted(_good(report).items()):
        if lab["truth"]["slos"][name]["ties"]:
            continue  # a ratio exactly on a threshold: float rounding decides in Prometheus
        group, sli = _alert_rules(report, name)
        assert len(group["rules"]) == len(rep["backtest"]["alerts"]) == 3
        for rule, alert in zip(group["rules"], rep["backtest"]["alerts"]):
            assert {k: v for k, v in rule["labels"].items() if k != "severity"} == alert["labels"]
            times = firing_times(lab["url"], expand(rule["expr"], sli["rules"]), window["start"] + step, window["end"], step)
            from_prometheus = intervals(times, step, 600 if rule.get("for") == "10m" else 0, window["end"])
            assert from_prometheus == [{k: f[k] for k in ("fired", "last", "resolved")} for f in alert["firing"]], (name, rule["labels"])
            compared += 1
    assert compared >= 15 and "checkout-availability" in _good(report) and not lab["truth"]["slos"]["checkout-availability"]["ties"]


def test_promtool_runs_the_generated_rules_over_the_flapping_stretch(report, lab, tmp_path):
    step = lab["truth"]["interval_seconds"]
    name = "payments-availability"
    flap = designed_incident(lab["truth"], "payments-flapping")
    group, sli = _alert_rules(report, name)
    groups = [g for g in report["rules"]["groups"] if g["name"].endswith("-payments-" + name)]
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    rep = _good(report)[name]
    alerts = []
    for rule, alert in zip(group["rules"], rep["backtest"]["alerts"]):
        labels = dict(rule["labels"], alertname=rule["alert"], **sli["rules"][0]["labels"])
        labels.pop("sloth_window")
        alerts.append({"alertname": rule["alert"], "exp_labels": labels, "annotations": rule["annotations"],
                       "firing": alert["firing"], "groups": [g["name"] for g in groups]})
    start = flap["start"] - 8 * 3600 - 3 * 86400          # 3 days of lookback before the checked hours
    stretch = (start, flap["end"] + 2 * 3600, flap["start"] - 3600)
    test_file = tmp_path / "test.yml"
    test_file.write_text(yaml.safe_dump(promtool_test_file(rules_file, lab["url"], lab["truth"]["slos"][name], alerts, stretch, step)))
    firing_minutes = sum(1 for t in range(stretch[2], stretch[1] + 1, step) for a in alerts if any(f["fired"] <= t <= f["last"] for f in a["firing"]))
    assert firing_minutes > 60        # the stretch does exercise the alerts
    proc = subprocess.run([lab["promtool"], "test", "rules", str(test_file)], capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "SUCCESS" in proc.stdout + proc.stderr


def test_alert_frequency_slo_view_is_the_same_engine(report, lab):
    """alert_frequency's `slos` view (instant error ratios per window) and slo_report (raw counters)
    give the same burn rates at the window end: one implementation of the pairs and the budget."""
    name = "checkout-availability"
    slo = lab["truth"]["slos"][name]
    query = "sum(rate(%s[$window])) / sum(rate(%s[$window]))" % (slo["errors_selector"], slo["total_selector"])
    result = run_module("alert_frequency", {"prometheus_url": lab["url"], "end": str(lab["truth"]["window"]["end"]), "window": "1d",
                                            "include_episodes": False, "slos": [{"name": name, "objective": 99.9, "error_ratio_query": query}]})
    assert not result.get("failed"), result.get("msg")
    view = result["slo"][0]
    mine = {b["seconds"]: b["burn_rate"] for b in _good(report)[name]["burn_rates"]}
    for row in view["burn_rates"]:
        assert row["burn_rate"] == pytest.approx(mine[row["window"]], abs=1e-3), row
    holds = {(a["long_window"], a["short_window"]): a["firing"] for a in view["alerts"]}
    pairs = {(p["long_seconds"], p["short_window"]): p["holds_at_end"] for p in _good(report)[name]["backtest"]["pairs"] if not p["user"]}
    assert len(holds) == len(pairs) == 4 and sorted(holds.values()) == sorted(pairs.values())


def test_playbook_writes_the_rules_where_prometheus_reads_them(lab, tmp_path):
    from tests.integration.ansible import run_playbook

    playbook = Path(__file__).resolve().parents[2] / "playbooks" / "slo.yml"
    rules_dir = tmp_path / "rules"
    variables = {"slo_prometheus_url": lab["url"], "slo_objectives": lab_slos(lab["truth"])[1:3], "slo_rules_dir": str(rules_dir),
                 "slo_specs_dir": str(tmp_path), "slo_options": {"end": str(lab["truth"]["window"]["end"])}}
    dry = run_playbook(playbook, variables, check=True)
    assert dry["rc"] == 0, dry["stdout"][-2000:]
    assert not rules_dir.exists()                       # check mode writes nothing
    real = run_playbook(playbook, variables)
    assert real["rc"] == 0, real["stdout"][-2000:]
    written = yaml.safe_load((rules_dir / "sre-toolkit-slo.yml").read_text())
    assert [g["name"] for g in written["groups"]][:3] == ["sloth-slo-sli-recordings-checkout-checkout-availability",
                                                          "sloth-slo-meta-recordings-checkout-checkout-availability",
                                                          "sloth-slo-alerts-checkout-checkout-availability"]
    assert subprocess.run([lab["promtool"], "check", "rules", str(rules_dir / "sre-toolkit-slo.yml")], capture_output=True, check=False).returncode == 0
    assert yaml.safe_load((tmp_path / "sloth.yml").read_text())["version"] == "prometheus/v1"
    assert "achieved of 99.9%" in real["stdout"]
    # the same rules again: nothing changes; the gate (checkout-availability has a warning) fails after the write
    gated = run_playbook(playbook, dict(variables, slo_fail_on="warning"))
    assert gated["rc"] != 0 and "at or above fail_on=warning" in gated["stdout"]
    assert "changed=0" in gated["stdout"]
