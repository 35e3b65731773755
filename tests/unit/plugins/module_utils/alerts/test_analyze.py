"""The whole analysis on a small simulated history."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.analyze import analyze, parse_matchers
from ansible_collections.sre.toolkit.plugins.module_utils._alerts.common import AlertInputError

from .sim import evaluate, group, periods

T0 = 1_700_000_040.0  # a multiple of 60
START, END = T0, T0 + 7 * 86400.0


def history():
    alerts, states = [], []

    def add(result):
        alerts.extend(result[0])
        states.extend(result[1])
        return result[2]

    flap_spans = [(T0 + 3600 * h + 240 * k, T0 + 3600 * h + 240 * k + 120) for h in range(1, 40, 6) for k in range(6)]
    truth = {
        "Flappy": add(evaluate(periods(*flap_spans), START, END, 60.0, labels={"alertname": "Flappy", "severity": "warning"})),
        "Lead": add(evaluate(periods(*[(T0 + 20000 * k, T0 + 20000 * k + 1800) for k in range(1, 20)]), START, END, 60.0,
                             for_s=120, labels={"alertname": "Lead", "severity": "critical"})),
        "Follow": add(evaluate(periods(*[(T0 + 20000 * k + 120, T0 + 20000 * k + 1900) for k in range(1, 20)]), START, END, 60.0,
                               for_s=120, labels={"alertname": "Follow", "severity": "critical"})),
        "Watchdog": add(evaluate(lambda ts: True, START, END, 60.0, labels={"alertname": "Watchdog", "severity": "none"})),
        "Shy": add(evaluate(periods((T0 + 5000, T0 + 5100)), START, END, 60.0, for_s=600, labels={"alertname": "Shy"})),
    }
    groups = [group(60.0, [("Flappy", 0, {"severity": "warning"}), ("Lead", 120, {"severity": "critical"}),
                           ("Follow", 120, {"severity": "critical"}), ("Watchdog", 0, {"severity": "none"}),
                           ("Shy", 600, {}), ("NeverSeen", 300, {"severity": "warning"})])]
    groups[0]["rules"].append({"type": "alerting", "name": "Broken", "duration": 0, "labels": {}, "health": "err",
                               "lastError": "many-to-many matching not allowed"})
    return alerts, states, groups, truth


@pytest.fixture(scope="module")
def result():
    alerts, states, groups, truth = history()
    return analyze(alerts, states, groups, START, END, {"timezone": "Europe/Berlin"}), truth


def rule(result, name):
    return next(r for r in result["rules"] if r["rule"] == name)


def test_episode_counts_match_truth(result):
    res, truth = result
    for name in ("Flappy", "Lead", "Follow"):
        fired = [t for t in truth[name] if t["fired_at"] and t["fired_at"] > START]
        assert rule(res, name)["episodes"] == len(fired), name
    assert rule(res, "Shy")["episodes"] == 0 and rule(res, "Shy")["near_misses"] == 1


def test_firing_time_and_resolve_stats(result):
    res, truth = result
    lead = rule(res, "Lead")
    durations = sorted(t["resolved_at"] - t["fired_at"] for t in truth["Lead"] if t["fired_at"] and t["resolved_at"])
    assert lead["firing_seconds"] == pytest.approx(sum(durations))
    assert lead["resolve_time"]["median"] == pytest.approx(durations[len(durations) // 2])
    assert lead["pending_delay"]["mean"] == pytest.approx(120.0)
    assert lead["firing_share"] == pytest.approx(sum(durations) / (END - START), abs=1e-4)


def test_flapper_is_flagged_and_gets_keep_firing_for(result):
    res, _truth = result
    assert rule(res, "Flappy")["flapping_instances"] == 1
    advice = [r for r in res["recommendations"] if r["rule"] == "Flappy"]
    ids = {r["id"] for r in advice}
    assert "advice.keep_firing_for" in ids and "advice.raise_for" in ids
    assert all(r["reason"] for r in advice)


def test_noise_ranks_flapper_first(result):
    res, _truth = result
    assert res["rules"][0]["rule"] == "Flappy"


def test_cofiring_and_cascade(result):
    res, _truth = result
    assert sorted((p["level"], p["rules"]) for p in res["cofiring"]) == [("instance", ["Follow", "Lead"]), ("rule", ["Follow", "Lead"])]
    assert sorted((c["level"], c["rules"]) for c in res["cascades"]) == [("instance", ["Lead", "Follow"]), ("rule", ["Lead", "Follow"])]
    assert all(item["confidence"] > 0.99 for item in res["cofiring"] + res["cascades"])
    ids = {(r["id"], tuple(r.get("rules") or ())) for r in res["recommendations"]}
    assert ("advice.inhibit_cascade", ("Lead", "Follow")) in ids


def test_dead_never_fired_unhealthy_and_watchdog(result):
    res, _truth = result
    assert [d["rule"] for d in res["dead_rules"]] == ["Broken", "NeverSeen"]
    assert [d["rule"] for d in res["never_fired_rules"]] == ["Shy"]
    assert [(u["rule"], u["health"]) for u in res["unhealthy_rules"]] == [("Broken", "err")]
    assert res["always_firing"][0]["rule"] == "Watchdog" and res["always_firing"][0]["ok"]
    assert rule(res, "Watchdog")["noise_score"] == 0.0
    assert not any("Watchdog" in (r.get("rules") or [r["rule"]]) for r in res["recommendations"])


def test_timezone_histogram(result):
    res, truth = result
    lead = rule(res, "Lead")
    assert sum(lead["hours"]) == lead["episodes"] and len(lead["weekdays"]) == 7
    import datetime
    import zoneinfo
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    first = next(t["fired_at"] for t in truth["Lead"] if t["fired_at"])
    assert lead["hours"][datetime.datetime.fromtimestamp(first, berlin).hour] >= 1


def test_label_churn_recommendation():
    spans = [(T0 + 3000 * k, T0 + 3000 * k + 600) for k in range(1, 12)]
    alerts, states, _truth = evaluate(periods(*spans), START, END, 60.0, labels={"alertname": "Lag"}, value_label="value")
    res = analyze(alerts, states, [group(60.0, [("Lag", 0, {})])], START, END)
    assert rule(res, "Lag")["label_churn"][0]["label"] == "value"
    assert any(r["id"] == "advice.label_churn" for r in res["recommendations"])


def test_empty_history_lists_every_rule_as_dead():
    res = analyze([], [], [group(60.0, [("A", 0, {}), ("B", 60, {})])], START, END)
    assert res["summary"]["episodes"] == 0 and [d["rule"] for d in res["dead_rules"]] == ["A", "B"]


def test_selector_limits_dead_rules():
    groups = [group(60.0, [("A", 0, {"severity": "page"}), ("B", 60, {"severity": "info"})])]
    res = analyze([], [], groups, START, END, {"rule_matchers": parse_matchers('severity="page"')})
    assert [d["rule"] for d in res["dead_rules"]] == ["A"]


def test_window_too_large_is_rejected():
    with pytest.raises(AlertInputError, match="90 days"):
        analyze([], [], [], START, START + 91 * 86400)


def test_bad_timezone_is_rejected():
    with pytest.raises(AlertInputError, match="timezone"):
        analyze([], [], [], START, END, {"timezone": "Mars/Olympus"})


@pytest.mark.parametrize("text", ['severity=critical', 'a="x" b="y"', 'x=~"("', 'alertstate="firing"'])
def test_bad_selectors(text):
    with pytest.raises(AlertInputError, match="selector"):
        parse_matchers(text)


def test_good_selector():
    assert parse_matchers('{severity="critical", alertname=~"Kube.*"}') == [("severity", "=", "critical"), ("alertname", "=~", "Kube.*")]


def test_results_are_deterministic():
    alerts, states, groups, _truth = history()
    first = analyze(alerts, states, groups, START, END)
    second = analyze(list(reversed(alerts)), list(reversed(states)), groups, START, END)
    assert first == second


@pytest.mark.parametrize("alpha", [0, -0.1, 1.5])
def test_significance_out_of_range_is_named(alpha):
    with pytest.raises(AlertInputError, match="cofiring.significance"):
        analyze([], [], [], START, END, {"cofiring_alpha": alpha})
