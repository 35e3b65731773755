"""The SLO engine on small hand-built histories: counts, budget, backtest, targets, rules."""
from __future__ import annotations

from fractions import Fraction

import re

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._slo import analyze, backtest, budget, rules, spec, targets
from ansible_collections.sre.toolkit.plugins.module_utils._slo.common import SloInputError, objective_fraction, pair_name, window_text
from ansible_collections.sre.toolkit.plugins.module_utils._slo.sli import cumulative, increments, latency_errors

START = 1_000_000_020 // 60 * 60


def test_increments_bin_by_sample_time_and_count_resets_like_rate():
    series = [{"metric": {"code": "500"}, "values": [[START, "10"], [START + 60, "15"], [START + 120, "3"], [START + 150, "4"]]},
              {"metric": {"code": "503"}, "values": [[START + 60, "100"], [START + 120, "101"]]}]
    # bins of 60 s from START: (START, START+60], (START+60, START+120], (START+120, START+180]
    assert increments(series, START, 60, 3) == [5.0, 4.0, 1.0]   # reset 15 -> 3 counts 3; the second series' first sample is its base
    regular = [{"values": [[START + 60 * k, str(10 * k)] for k in range(6)]}]   # on the grid: the slice path
    assert increments(regular, START + 60, 60, 3) == [10.0, 10.0, 10.0]
    assert increments(regular, START - 60, 60, 3) == [0.0, 10.0, 10.0]


def test_cumulative_and_latency_errors():
    assert cumulative([1, 2, 3]) == [0.0, 1.0, 3.0, 6.0]
    assert latency_errors([10.0, 5.0], [9.0, 6.0]) == [1.0, 0.0]


def test_objective_forms_and_errors():
    assert objective_fraction(99.9, "s") == Fraction(999, 1000) == objective_fraction(0.999, "s")
    for bad in (0, 100, 150, "x", float("nan")):
        with pytest.raises(SloInputError, match="s.objective"):
            objective_fraction(bad, "s")


def test_window_text_and_pair_names():
    assert [window_text(s) for s in (300, 5400, 86400, 2592000)] == ["5m", "1h30m", "1d", "30d"]
    assert pair_name("page", 3600, 300, "14.4", 600) == "page 1h/5m x14.4 for 10m"


def _history(errors_per_step, total_per_step, lead, n):
    return cumulative(errors_per_step), cumulative(total_per_step), lead, n


def test_condition_is_strict_at_an_exact_tie():
    # 1000 requests a step; errors exactly 14.4 x 0.1 % = 1.44 % of them would tie: 14.4 of 1000 is not whole,
    # so use a 1000-request step with factor 1 and objective 99 %: 10 errors is a tie, 11 fires.
    for errors, fires in ((10.0, False), (11.0, True)):
        ec, tc, lead, n = _history([errors] * 20, [1000.0] * 20, 10, 10)
        windows = backtest.window_sums(ec, tc, lead, n, 60, (300, 60))
        holds = backtest.condition(windows, ("ticket", 300, 60, "1"), Fraction(99, 100))
        assert all(h is fires for h in holds)


def test_episodes_honour_for_and_resolution():
    holds = [False, True, True, True, False, True, False, True, True]
    start, step = 0, 60
    assert backtest.episodes(holds, start, step) == [
        {"pending_since": 120, "fired": 120, "last": 240, "resolved": 300},
        {"pending_since": 360, "fired": 360, "last": 360, "resolved": 420},
        {"pending_since": 480, "fired": 480, "last": 540, "resolved": None}]
    # for: 2m fires at the third holding evaluation; shorter runs stay pending and are left out
    assert backtest.episodes(holds, start, step, 120) == [{"pending_since": 120, "fired": 240, "last": 240, "resolved": 300}]


def test_budget_summary_periods_and_worst():
    lead, n = 2, 4
    ec, tc = cumulative([5, 5, 1, 0, 9, 0]), cumulative([100] * 6)
    head = budget.summary(ec, tc, lead, n, 0.01)
    assert head["errors"] == 10 and head["total"] == 400 and head["achieved"] == 0.975 and head["budget_consumed"] == 2.5
    rows = budget.periods(ec, tc, lead, n, 60, 0, 0.01, 120)
    assert [r["budget_consumed"] for r in rows] == [0.25, 2.25]
    assert rows[-1]["budget_consumed_cumulative"] == 2.5 and rows[-1]["budget_remaining"] == -1.5
    assert budget.worst(rows, 1)[0]["start"] == 120


def test_incidents_and_judge():
    hours = [{"start": h * 3600, "end": (h + 1) * 3600, "burn_rate": b, "budget_consumed": b / 720.0}
             for h, b in enumerate([0.5, 20, 30, 0.2, 1.5, 0.1])]
    found = backtest.incidents(hours, 0.02)
    assert [(i["start"], i["end"], i["peak_burn_rate"]) for i in found] == [(3600, 10800, 30)]  # the 1.5 hour spent too little
    alerts = [{"name": "a", "severity": "page", "long_seconds": 3600,
               "firing": [{"fired": 4000, "last": 9000, "resolved": 9060}, {"fired": 50000, "last": 50060, "resolved": 50120}]}]
    backtest.judge(alerts, found)
    assert found[0]["caught"] and found[0]["caught_by"][0]["detection_seconds"] == 400
    assert found[0]["caught_by"][0]["reset_seconds"] == 0
    assert alerts[0]["precision"] == 0.5 and alerts[0]["recall"] == 1.0


def _slo(**over):
    base = {"name": "api-availability", "service": "api", "objective": Fraction(999, 1000), "period": 86400,
            "alert_name": "ApiAvailabilityBudgetBurn", "kind": "ratio",
            "sli": dict(zip(("errors", "total"), rules.ratio_queries('http_requests_total{code=~"5.."}', "http_requests_total"))),
            "pairs": [("page", 3600, 300, "14.4", 600)]}
    base.update(over)
    return base


def _outage_data():
    step, lead, n = 60, 4320, 1440
    total = [1000.0] * (lead + n)
    errors = [0.0] * (lead + n)
    for i in range(lead + 600, lead + 620):       # 20 minutes at 50 %
        errors[i] = 500.0
    return {"errors": errors, "total": total, "lead": lead, "n": n, "step": step, "start": 0}


def test_analyze_one_outage_end_to_end():
    rep = analyze.analyze_slo(_slo(), _outage_data())
    assert rep["budget"]["errors"] == 10000 and rep["budget"]["budget_consumed"] == pytest.approx(10000 / 1440.0, abs=1e-6)
    pairs = {p["name"]: p for p in rep["backtest"]["pairs"]}
    fast = pairs["page 1h/5m x14.4"]["firing"]
    # 50 % errors: the 5m window passes 1.44 % at once, the 1h window after 2 minutes (1000/60000 > 1.44 %)
    assert fast[0]["fired"] == 602 * 60
    assert pairs["page 1h/5m x14.4 for 10m"]["firing"][0]["fired"] == fast[0]["fired"] + 600
    assert fast[0]["resolved"] == 625 * 60     # the first evaluation whose 5m window has no outage minute
    incident = rep["backtest"]["incidents"][0]
    assert incident["caught"] and incident["paged"] and rep["backtest"]["missed"] == []
    assert rep["targets"]["candidates"][0]["objective"] == 99.0 and rep["targets"]["candidates"][0]["met"]
    assert rep["worst"]["hours"][0]["start"] == 36000
    groups = rep["rules"]["groups"]
    assert [g["name"] for g in groups] == ["sloth-slo-sli-recordings-api-api-availability", "sloth-slo-meta-recordings-api-api-availability",
                                           "sloth-slo-alerts-api-api-availability"]


def test_rules_follow_sloth_names_and_expand_for_backtests():
    out = rules.prometheus_rules(_slo(), 60, [("page", 3600, 300, "14.4", 600)])
    sli, _meta, alerts = [g["rules"] for g in out["groups"]]
    assert [r["record"] for r in sli] == ["slo:sli_error:ratio_rate%s" % w for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "1d")]
    assert sli[0]["labels"] == {"sloth_id": "api-api-availability", "sloth_service": "api", "sloth_slo": "api-availability", "sloth_window": "5m"}
    assert "rate(http_requests_total[5m])" in sli[0]["expr"]
    page = alerts[0]
    assert page["labels"]["sloth_severity"] == "page" and "(14.4 * 0.001)" in page["expr"] and "(6 * 0.001)" in page["expr"]
    assert alerts[2]["for"] == "10m" and alerts[2]["labels"]["slo_pair"] == "1h/5m"
    expanded = rules.expand(page["expr"], sli)
    assert "slo:sli_error" not in expanded and "rate(http_requests_total{code=~\"5..\"}[1h])" in expanded


def test_targets_count_pages_per_candidate():
    data = _outage_data()
    ec, tc = cumulative(data["errors"]), cumulative(data["total"])
    days = budget.periods(ec, tc, data["lead"], data["n"], 60, 0, 0.001, 86400)
    out = targets.suggest((90.0, 99.0, 99.9), days, days, ec, tc, (data["lead"], data["n"], 60, 0))
    rows = {r["objective"]: r for r in out["candidates"]}
    assert rows[90.0]["pairs_that_cannot_fire"] == [3600]     # 14.4 x 10 % >= 1
    assert rows[99.9]["pages"] >= 1 and not rows[99.9]["met"] and rows[99.0]["met"]
    assert out["suggested_objective"] == 99.0


def _params(**over):
    base = {"evaluation_interval": "1m", "period": "30d", "end": "1796601600", "alert_pairs": [],
            "slos": [{"name": "a", "service": "s", "objective": 99.9, "ratio": {"errors": 'x_total{code="500"}', "total": "x_total"}}]}
    base.update(over)
    return base


@pytest.mark.parametrize("over,needle", [
    ({"period": "12h"}, "period"),
    ({"evaluation_interval": "soon"}, "evaluation_interval"),
    ({"end": "yesterday"}, "end"),
])
def test_window_errors_name_the_option(over, needle):
    with pytest.raises(SloInputError, match=needle):
        spec.window(_params(**over), 0)


def test_slo_list_errors_fail_the_run():
    for slos, needle in (([], "slos: give at least one"), ([{"name": "a"}] * 2, "unique")):
        with pytest.raises(SloInputError, match=needle):
            spec.slos(_params(slos=slos), 30 * 86400)


@pytest.mark.parametrize("slos,needle", [
    ([{"name": "a", "objective": 99.9}], r"slos\[a\]: give exactly one"),
    ([{"name": "a", "objective": 99.9, "ratio": {"errors": "sum(rate(x[5m]))", "total": "x"}}], r"slos\[a\].ratio.errors"),
    ([{"name": "a", "objective": 99.9, "latency": {"histogram": "h", "threshold": 0}}], r"slos\[a\].latency.threshold"),
    ([{"name": "a", "objective": 99.9, "ratio": {"errors": "x", "total": "x"},
       "alert_pairs": [{"long_window": "5m", "short_window": "1h", "factor": 2}]}], r"slos\[a\].alert_pairs\[0\]"),
])
def test_one_bad_slo_fails_alone_naming_itself(slos, needle):
    good = {"name": "ok", "objective": 99.9, "ratio": {"errors": "x", "total": "x"}}
    specs, failed = spec.slos(_params(slos=slos + [good]), 30 * 86400)
    assert [s["name"] for s in specs] == ["ok"]
    assert len(failed) == 1 and re.search(needle, failed[0]["error"])


def test_latency_selectors_use_the_exact_bucket_label():
    slo = spec.slos(_params(slos=[{"name": "l", "objective": 99, "latency": {"histogram": 'h_bucket{job="a"}', "threshold": 1}}]), 86400)[0][0]
    spec.set_bucket(slo, "1.0")
    assert slo["selectors"] == {"good": 'h_bucket{job="a", le="1.0"}', "total": 'h_count{job="a"}'}
    assert slo["sli"]["errors"].startswith("(sum(rate(h_count{job=\"a\"}[{{.window}}])) - sum(rate(h_bucket")


def test_target_pages_count_what_the_backtest_fires():
    rep = analyze.analyze_slo(_slo(objective=Fraction(999, 1000)), _outage_data())
    fired = {"page": 0, "ticket": 0}
    for pair in rep["backtest"]["pairs"]:
        if not pair["user"]:
            fired[pair["severity"]] += len(pair["firing"])
    row = next(r for r in rep["targets"]["candidates"] if r["objective"] == 99.9)
    assert (row["pages"], row["tickets"]) == (fired["page"], fired["ticket"]) and fired["page"] >= 2


def test_window_sums_pad_a_short_history_and_firings_count_rising_edges():
    ec, tc = cumulative([1.0] * 5), cumulative([10.0] * 5)
    sums = backtest.window_sums(ec, tc, 1, 4, 60, (180,))[180]
    assert sums == ([0.0, 3.0, 3.0, 3.0], [0.0, 30.0, 30.0, 30.0])   # the first window reaches before the history
    assert backtest.firings_above([0.5, 2, 3, 0.1, 5, 5], [1, 4, 0.2, 6]) == [2, 1, 2, 0]
    assert backtest.firings_above([2.0, 0.1], [1]) == [1]
