"""Episode reconstruction against a simulated Prometheus rule evaluator."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.episodes import build_episodes, group_instances

from .sim import evaluate, periods

T0 = 1_700_000_000.0
START, END = T0, T0 + 86400.0


def episodes_of(alerts, for_state, interval=60.0, start=START, end=END, ignore=("prometheus", "prometheus_replica", "replica")):
    instances = group_instances(alerts, for_state, ignore)
    build_episodes(instances, lambda rule: interval, start, end)
    return instances


def only(instances):
    assert len(instances) == 1, sorted(instances)
    return next(iter(instances.values()))


def test_pending_then_firing_episode_matches_prometheus():
    alerts, for_state, truth = evaluate(periods((T0 + 3600, T0 + 5400)), START, END, 60.0, for_s=300)
    episode = only(episodes_of(alerts, for_state)).episodes
    assert len(episode) == len(truth) == 1
    got, want = episode[0], truth[0]
    assert got["active_at"] == want["active_at"]
    assert got["fired_at"] == want["fired_at"] == want["active_at"] + 300
    assert got["resolved_at"] == want["resolved_at"]
    assert got["firing_seconds"] == want["resolved_at"] - want["fired_at"]
    assert not got["open"] and not got["truncated"]


def test_one_false_evaluation_makes_two_episodes():
    # The condition is false at exactly one evaluation (T0+4200): a 2 x interval sample gap.
    condition = periods((T0 + 3600, T0 + 4200), (T0 + 4260, T0 + 5000))
    alerts, for_state, truth = evaluate(condition, START, END, 60.0)
    firing = [s for s in alerts if s["metric"]["alertstate"] == "firing"][0]["values"]
    gaps = {b[0] - a[0] for a, b in zip(firing, firing[1:])}
    assert gaps == {60.0, 120.0}
    got = only(episodes_of(alerts, for_state)).episodes
    assert [(e["active_at"], e["fired_at"], e["resolved_at"]) for e in got] == [
        (t["active_at"], t["fired_at"], t["resolved_at"]) for t in truth]
    assert len(got) == 2


def test_gap_rule_alone_splits_without_for_state():
    condition = periods((T0 + 3600, T0 + 4200), (T0 + 4260, T0 + 5000))
    alerts, _for_state, truth = evaluate(condition, START, END, 60.0)
    got = only(episodes_of(alerts, [])).episodes
    assert [e["fired_at"] for e in got] == [t["fired_at"] for t in truth]


def test_missed_evaluation_with_same_active_at_stays_one_episode():
    alerts, for_state, truth = evaluate(periods((T0 + 3600, T0 + 7200)), START, END, 60.0, for_s=120)
    skipped = T0 + 5400
    for series in alerts + for_state:
        series["values"] = [v for v in series["values"] if v[0] != skipped]
    got = only(episodes_of(alerts, for_state)).episodes
    assert len(got) == 1 and got[0]["resolved_at"] == truth[0]["resolved_at"]


def test_ha_replicas_deduplicate_to_one_instance():
    condition = periods((T0 + 3600, T0 + 4200), (T0 + 4260, T0 + 5000), (T0 + 9000, T0 + 9100))
    labels = {"alertname": "Disk", "instance": "a:9100"}
    a_alerts, a_state, truth = evaluate(condition, START, END, 60.0, for_s=60, labels=labels,
                                        replica={"prometheus_replica": "prom-0"})
    b_alerts, b_state, truth_b = evaluate(condition, START, END, 60.0, for_s=60, labels=labels, phase=23.0,
                                          replica={"prometheus_replica": "prom-1"})
    assert len(truth) == len(truth_b) == 3
    instance = only(episodes_of(a_alerts + b_alerts, a_state + b_state))
    assert instance.labels == labels and len(instance.sources) == 2
    assert len(instance.episodes) == 3
    assert all(e["replicas"] == 2 for e in instance.episodes)
    # Each replica sees the activation at its own phase; the merged episode keeps the earliest evidence.
    earliest = [min(x for x in (a["fired_at"], b["fired_at"]) if x is not None) for a, b in zip(truth, truth_b)]
    assert [e["fired_at"] for e in instance.episodes] == earliest
    for got, a, b in zip(instance.episodes, truth, truth_b):
        for replica in (a, b):
            if replica["fired_at"]:
                assert abs(got["resolved_at"] - replica["resolved_at"]) < 60.0


def test_ha_identical_copies_merge_without_double_counting():
    labels = {"alertname": "Disk"}
    a = evaluate(periods((T0 + 3600, T0 + 4000)), START, END, 60.0, labels=labels, replica={"replica": "x"})
    b = evaluate(periods((T0 + 3600, T0 + 4000)), START, END, 60.0, labels=labels, replica={"replica": "y"})
    instance = only(episodes_of(a[0] + b[0], a[1] + b[1]))
    assert len(instance.episodes) == 1
    assert instance.episodes[0]["firing_seconds"] == a[2][0]["resolved_at"] - a[2][0]["fired_at"]


def test_replica_label_kept_when_not_ignored():
    labels = {"alertname": "Disk"}
    a = evaluate(periods((T0 + 3600, T0 + 4000)), START, END, 60.0, labels=labels, replica={"replica": "x"})
    b = evaluate(periods((T0 + 3600, T0 + 4000)), START, END, 60.0, labels=labels, replica={"replica": "y"})
    assert len(episodes_of(a[0] + b[0], a[1] + b[1], ignore=())) == 2


def test_episode_cut_by_window_start_is_truncated_and_clipped():
    alerts, for_state, truth = evaluate(periods((T0 - 1800, T0 + 600)), START, END, 60.0, for_s=300)
    got = only(episodes_of(alerts, for_state)).episodes[0]
    assert got["truncated"] and not got["open"]
    assert got["active_at"] == truth[0]["active_at"] < START
    assert got["resolved_at"] == truth[0]["resolved_at"]
    assert got["firing_seconds"] == truth[0]["resolved_at"] - START


def test_episode_cut_by_window_end_is_open():
    alerts, for_state, truth = evaluate(periods((END - 900, END + 900)), START, END, 60.0)
    got = only(episodes_of(alerts, for_state)).episodes[0]
    assert got["open"] and not got["truncated"] and got["resolved_at"] is None
    assert got["firing_seconds"] == END - truth[0]["fired_at"]


def test_resolution_exactly_at_window_end_is_closed():
    # Evaluations land on END itself; the condition turns false there, so the alert resolved in the window.
    alerts, for_state, truth = evaluate(periods((END - 900, END)), START, END, 60.0, phase=END % 60)
    got = only(episodes_of(alerts, for_state)).episodes[0]
    assert not got["open"] and got["resolved_at"] == truth[0]["resolved_at"] == END


def test_for_zero_rule_writes_no_pending_and_fires_at_activation():
    alerts, for_state, truth = evaluate(periods((T0 + 100, T0 + 400)), START, END, 60.0, for_s=0)
    assert {s["metric"]["alertstate"] for s in alerts} == {"firing"}
    got = only(episodes_of(alerts, for_state)).episodes[0]
    assert got["fired_at"] == got["active_at"] == truth[0]["active_at"]


def test_pending_only_run_is_a_near_miss():
    alerts, for_state, truth = evaluate(periods((T0 + 100, T0 + 250)), START, END, 60.0, for_s=300)
    assert truth[0]["fired_at"] is None
    got = only(episodes_of(alerts, for_state)).episodes[0]
    assert not got["fired"] and got["fired_at"] is None and got["firing_seconds"] == 0.0


def test_value_label_makes_one_instance_per_activation():
    condition = periods(*[(T0 + 1000 * k, T0 + 1000 * k + 300) for k in range(1, 8)])
    alerts, for_state, truth = evaluate(condition, START, END, 60.0, labels={"alertname": "Lag"}, value_label="value")
    instances = episodes_of(alerts, for_state)
    assert len(instances) == len(truth) == 7
    assert all(len(i.episodes) == 1 for i in instances.values())


@pytest.mark.parametrize("interval", [15.0, 30.0, 60.0])
def test_many_flaps_counted_exactly(interval):
    spans = [(T0 + 600 * k, T0 + 600 * k + 7 * interval) for k in range(1, 100)]
    alerts, for_state, truth = evaluate(periods(*spans), START, END, interval, for_s=interval * 2)
    got = only(episodes_of(alerts, for_state, interval=interval)).episodes
    assert len(got) == len(truth)
    assert all(g["fired_at"] == t["fired_at"] and g["resolved_at"] == t["resolved_at"] for g, t in zip(got, truth))
