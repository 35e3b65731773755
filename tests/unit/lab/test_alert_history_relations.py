"""Co-firing and cascade claims on the lab's alert history, for many seeds and end times.

The lab's history ends at a UTC midnight, so it is the same all day; its shape depends on the
seed and, through the business-hours rule, on the weekday the window starts. Seven consecutive
end days therefore cover every history the lab can serve for a seed, and the analysis must claim
exactly the designed pairs in each: a chance pair here would turn the integration tests red on
that weekday. The seeds besides 42 are ones whose histories made the earlier, onset-counting
analysis claim pairs the lab never designed.
"""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.analyze import analyze
from tests.lab.alerts import generator, model, series, truth

DAY = 86400
MONDAY = 1_795_392_000  # 2026-11-23 00:00 UTC
RULES = generator.load_rules()


def _claims(seed, end):
    tl = generator.timeline(end)
    instances = model.build_population(RULES, tl, seed, False)
    alerts, for_state = series.raw_series(tl, instances)
    start = tl.start_ms / 1000.0
    groups = series.rule_groups(RULES, tl.interval_ms / 1000.0)
    result = analyze(alerts, for_state, groups, start, start + tl.evaluations * tl.interval_ms / 1000.0,
                     {"ignore_labels": [model.HA_LABEL], "include_episodes": False})
    ground = truth.build(tl, RULES, instances, seed=seed, scale=False, version="test", generated_at=end)
    return result, ground


@pytest.mark.parametrize("seed", [42, 0, 95, 118])
@pytest.mark.parametrize("day", range(7))
def test_only_designed_pairs_are_claimed(seed, day):
    result, ground = _claims(seed, generator.day_end(MONDAY + day * DAY + 3600))
    designed = {tuple(p) for p in ground["designed_pairs"]}
    designed_rules = {tuple(p) for p in ground["designed_rule_pairs"]}
    pairs = {(p["level"], p["a"], p["b"]) for p in result["cofiring"]}
    chains = {(c["level"], c["first"], c["then"]) for c in result["cascades"]}
    assert pairs == {("instance",) + tuple(sorted(p)) for p in designed} | {("rule",) + tuple(sorted(p)) for p in designed_rules}
    assert chains == {("instance",) + p for p in designed} | {("rule",) + p for p in designed_rules}
    assert all(item["confidence"] >= 0.99 for item in result["cofiring"] + result["cascades"])


def test_the_spread_pair_is_seen_only_as_whole_rules():
    result, ground = _claims(42, MONDAY)
    spread = [[lead, follower] for follower, lead in model.SPREAD_PAIRS.items()]
    assert spread and all(p in ground["designed_rule_pairs"] for p in spread)
    instance_rules = {tuple(sorted(p["rules"])) for p in result["cofiring"] if p["level"] == "instance"}
    assert not instance_rules & {tuple(sorted(p)) for p in spread}
    episodes = {}
    for inst in ground["instances"]:
        if inst["rule"] in spread[0]:
            episodes.setdefault(inst["rule"], []).append(len(inst["episodes"]))
    assert all(sum(counts) == len(model.SPREAD_SERVICES) and max(counts) <= 2 for counts in episodes.values())


def test_history_end_is_the_day_boundary():
    assert generator.day_end(MONDAY + 5) == MONDAY and generator.day_end(MONDAY + DAY - 1) == MONDAY
    assert generator.day_end(MONDAY) == MONDAY


def test_rule_figures_follow_the_designed_classes():
    """Episodes pending at the window start count as complete; $value labels are churn; long
    alerts get advice of their own."""
    result, ground = _claims(42, MONDAY)
    rows = {row["rule"]: row for row in result["rules"]}
    advice = {(r["id"], r["rule"]) for r in result["recommendations"]}
    pending_at_start = 0
    for name, want in ground["rules"].items():
        if want["dead"]:
            continue
        assert rows[name]["resolve_time"]["count"] == len(want["resolve_seconds"]), name
        assert rows[name]["pending_delay"]["count"] == len(want["pending_delays"]), name
        pending_at_start += len(want["pending_delays"]) - (want["episodes"] - want["truncated_episodes"])
        churn = [c["label"] for c in rows[name]["label_churn"] if c["templated"]]
        assert churn == want["value_labels"], name
        if want["value_labels"]:
            assert ("advice.label_churn", name) in advice and ("advice.raise_for", name) not in advice
        if not want["always_firing"]:
            assert (("advice.long_running", name) in advice) == (want["median_episode_seconds"] >= 4 * 3600), name
    assert pending_at_start >= 1  # the lab has such an episode
