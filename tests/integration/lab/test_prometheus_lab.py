"""The lab's Prometheus serves the history its ground truth describes.

PromQL cross-checks (issue 4): count_over_time(ALERTS{alertstate="firing"}[W]) x interval against
firing seconds, changes(ALERTS_FOR_STATE[W]) + 1 against activations, the raw samples against
every episode, stale markers where episodes end, and /api/v1/rules listing every rule with its
health. Plain `requests`: the lab is checked independently of the collection's own client.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

DROP = {"__name__", "alertstate"}


@pytest.fixture(scope="module")
def prom(lab_prometheus):
    truth = json.loads(open(lab_prometheus["ground_truth"]).read())
    return {"url": lab_prometheus["url"], "info": lab_prometheus, "truth": truth,
            "W": f"{int(truth['window']['seconds'])}s", "end": truth["window"]["end"]}


def _query(prom, expr, at=None):
    resp = requests.get(prom["url"] + "/api/v1/query", params={"query": expr, "time": at or prom["end"]}, timeout=60)
    assert resp.status_code == 200, resp.text[:500]
    return resp.json()["data"]["result"]


def _key(metric, ignored):
    labels = {k: v for k, v in metric.items() if k not in DROP and k not in ignored}
    return "{" + ", ".join(f'{k}="{labels[k]}"' for k in sorted(labels)) + "}"


def _per_series(prom, expr):
    """{(instance key, replica or None): float value} for an instant query."""
    ignored = set(prom["truth"]["ignored_labels"])
    replica_label = prom["truth"]["ha"]["label"]
    out = {}
    for row in _query(prom, expr):
        ident = (_key(row["metric"], ignored), row["metric"].get(replica_label))
        assert ident not in out, f"two series for {ident}"
        out[ident] = float(row["value"][1])
    return out


def _expected(prom, field):
    out = {}
    for inst in prom["truth"]["instances"]:
        for replica in inst["replicas"] or [None]:
            if inst[field]:
                out[(inst["key"], replica)] = inst[field]
    return out


def test_serves_the_recorded_version(prom):
    build = requests.get(prom["url"] + "/api/v1/status/buildinfo", timeout=10).json()["data"]
    assert build["version"] == prom["info"]["version"] == prom["truth"]["prometheus_version"]


def test_firing_samples_and_seconds_match_ground_truth(prom):
    got = _per_series(prom, f'count_over_time(ALERTS{{alertstate="firing"}}[{prom["W"]}])')
    want = _expected(prom, "firing_samples")
    assert got.keys() == want.keys()
    assert {k: int(v) for k, v in got.items()} == want
    interval = prom["truth"]["interval_seconds"]
    for inst in prom["truth"]["instances"]:
        if not inst["episodes"]:
            continue
        replica = (inst["replicas"] or [None])[0]
        promql_seconds = got[(inst["key"], replica)] * interval
        open_episodes = sum(e["open"] for e in inst["episodes"])
        # closed episodes: resolved - fired = samples x interval exactly; an open one is clipped at the window end
        assert abs(promql_seconds - inst["firing_seconds"]) <= interval * open_episodes + 1e-6, inst["key"]


def test_pending_samples_match_ground_truth(prom):
    got = _per_series(prom, f'count_over_time(ALERTS{{alertstate="pending"}}[{prom["W"]}])')
    assert {k: int(v) for k, v in got.items()} == _expected(prom, "pending_samples")


def test_activations_match_changes_of_for_state(prom):
    got = _per_series(prom, f'changes(ALERTS_FOR_STATE[{prom["W"]}]) + 1')
    assert {k: int(v) for k, v in got.items()} == _expected(prom, "activations")


def _raw(prom, selector):
    """Raw samples of every series of selector in the window: {(key, replica): [(ts, value)]}."""
    ignored = set(prom["truth"]["ignored_labels"])
    replica_label = prom["truth"]["ha"]["label"]
    out = {}
    for row in _query(prom, f'{selector}[{prom["W"]}]'):
        out[(_key(row["metric"], ignored), row["metric"].get(replica_label))] = [(float(t), float(v)) for t, v in row["values"]]
    return out


def test_every_episode_is_in_the_raw_samples(prom):
    """Group firing samples by the ALERTS_FOR_STATE value at the same evaluation: each group is one
    episode with the ground truth's active_at, fired_at and last firing sample."""
    firing = _raw(prom, 'ALERTS{alertstate="firing"}')
    for_state = _raw(prom, "ALERTS_FOR_STATE")
    offsets = prom["truth"]["ha"]["replicas"]
    for inst in prom["truth"]["instances"]:
        for replica in inst["replicas"] or [None]:
            shift = offsets[replica] if replica else 0.0
            active_by_ts = dict(for_state[(inst["key"], replica)])
            episodes = {}
            for ts, _value in firing.get((inst["key"], replica), []):
                ep = episodes.setdefault(active_by_ts[ts], [ts, ts])
                ep[1] = ts
            # a shifted replica floors its ActiveAt from its own evaluation time: compare times only
            got = sorted((None if shift else active, round(first, 3), round(last, 3)) for active, (first, last) in episodes.items())
            want = sorted((None if shift else e["active_at"], round(e["fired_at"] + shift, 3),
                           round(e["last_firing_sample"] + shift, 3)) for e in inst["episodes"])
            assert got == want, (inst["key"], replica)
            values = sorted({value for _ts, value in for_state[(inst["key"], replica)]})
            assert len(values) == inst["activations"]


def test_reactivation_after_one_false_evaluation_leaves_a_two_interval_gap(prom):
    interval = prom["truth"]["interval_seconds"]
    firing = _raw(prom, 'ALERTS{alertstate="firing"}')
    seen = 0
    for inst in prom["truth"]["instances"]:
        eps = inst["episodes"]
        samples = [ts for ts, _value in firing.get((inst["key"], (inst["replicas"] or [None])[0]), [])]
        gaps = {round(b - a, 3) for a, b in zip(samples, samples[1:])}
        for prev, nxt in zip(eps, eps[1:]):
            if abs(nxt["fired_at"] - prev["last_firing_sample"] - 2 * interval) < 1e-6:
                assert nxt["active_at"] != prev["active_at"]
                assert 2 * interval in gaps
                seen += 1
    assert seen > 0, "the history has no re-activation after a single false evaluation"


def test_stale_markers_end_episodes(prom):
    """Right after the last firing sample the alert is still visible (lookback); one evaluation
    later, at resolved_at, a stale marker hides it, where a backfill without markers would not."""
    checked = 0
    for inst in prom["truth"]["instances"]:
        closed = [e for e in inst["episodes"] if not e["open"]]
        if not closed or inst["replicas"]:
            continue
        ep = closed[len(closed) // 2]
        matcher = ", ".join(f'{k}="{v}"' for k, v in sorted(inst["labels"].items()))
        selector = f'ALERTS{{alertstate="firing", {matcher}}}'
        assert _query(prom, selector, at=ep["last_firing_sample"] + 1), inst["key"]
        assert _query(prom, selector, at=ep["resolved_at"] + 1) == [], inst["key"]
        checked += 1
    assert checked > 0


def test_dead_rules_have_no_samples_and_live_rules_do(prom):
    truth = prom["truth"]
    fired = {row["metric"]["alertname"] for row in _query(prom, f'count by (alertname) (count_over_time(ALERTS_FOR_STATE[{prom["W"]}]))')}
    assert fired == {name for name, rule in truth["rules"].items() if not rule["dead"]}
    assert set(truth["dead_rules"]) == set(truth["rules"]) - fired
    assert truth["dead_rules"], "the history needs rules that never fired"


def _rules_after_first_evaluation(prom, timeout):
    deadline = time.monotonic() + timeout
    while True:
        groups = requests.get(prom["url"] + "/api/v1/rules", params={"type": "alert"}, timeout=10).json()["data"]["groups"]
        rules = {r["name"]: dict(r, group=g["name"], group_interval=g["interval"]) for g in groups for r in g["rules"]}
        if all(r["health"] != "unknown" for r in rules.values()) or time.monotonic() > deadline:
            return rules


def test_rules_api_lists_every_rule_with_its_health(prom):
    truth = prom["truth"]
    rules = _rules_after_first_evaluation(prom, timeout=3 * truth["interval_seconds"] + 10)
    assert sorted(rules) == sorted(truth["rules"])
    unhealthy = {u["rule"]: u for u in truth["unhealthy_rules"]}
    for name, want in truth["rules"].items():
        got = rules[name]
        assert got["group"] == want["group"] and got["group_interval"] == truth["interval_seconds"]
        assert got["duration"] == want["for_seconds"] and got["keepFiringFor"] == want["keep_firing_for_seconds"]
        assert got["labels"].get("severity") == want["severity"]
        assert got["health"] == want["health"], (name, got.get("lastError"))
        if name in unhealthy:
            assert unhealthy[name]["error_contains"] in got["lastError"]
        else:
            assert not got.get("lastError")


def test_ha_pairs_are_the_same_alerts_from_two_replicas(prom):
    truth = prom["truth"]
    ha = [i for i in truth["instances"] if i["replicas"]]
    assert ha, "the history needs HA-duplicated instances"
    counts = _per_series(prom, f'count_over_time(ALERTS_FOR_STATE[{prom["W"]}])')
    for inst in ha:
        per_replica = {counts[(inst["key"], r)] for r in inst["replicas"]}
        assert len(per_replica) == 1, inst["key"]


def test_generator_writes_what_a_live_prometheus_writes(lab_prometheus, tmp_path):
    """Run the installed Prometheus on verification/live-rules.yml (1 s evaluations: for, no for,
    keep_firing_for, near misses, one-evaluation re-activations) and compare every sample and
    stale marker it wrote with the generator's prediction for the same conditions."""
    repo = Path(__file__).resolve().parents[3]
    proc = subprocess.run([sys.executable, "-m", "tests.lab.alerts.verification.verify_live", "--seconds", "45",
                           "--compare", "--keep", str(tmp_path / "live")], cwd=repo, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "generator prediction matches all 16 series" in proc.stdout


def _nagios_flapping(states, high, low):
    """Textbook Nagios: for each evaluation, the last 21 states, a change at position x (1..20,
    oldest first) weighs 0.75 + (x - 1) * 0.5 / 19, PSC = 100 * sum / 20, hysteresis high/low."""
    changes = [0] + [int(states[i] != states[i - 1]) for i in range(1, len(states))]
    prefix = [0]
    for c in changes:
        prefix.append(prefix[-1] + c)
    best, starts, flapping = 0.0, 0, False
    for end in range(20, len(states)):
        if prefix[end + 1] - prefix[end - 19] == 0:
            psc = 0.0
        else:
            psc = 100.0 * sum(0.75 + (x - 1) * 0.5 / 19 for x in range(1, 21) if changes[end - 20 + x]) / 20
        best = max(best, psc)
        if not flapping and psc >= high:
            flapping, starts = True, starts + 1
        elif flapping and psc <= low:
            flapping = False
    return best, starts


def test_flapping_in_the_ground_truth_follows_the_served_samples(prom):
    truth = prom["truth"]
    interval, n = truth["interval_seconds"], truth["evaluations"]
    first = truth["window"]["start"] + truth["eval_phase_seconds"]
    firing = _raw(prom, 'ALERTS{alertstate="firing"}')
    rules = {"QueueBacklog", "KubeJobFailed", "NodeDown"}  # flapping, re-activating, steady
    checked = flapping = 0
    for inst in truth["instances"]:
        if inst["rule"] not in rules:
            continue
        states = [0] * n
        for ts, _value in firing.get((inst["key"], (inst["replicas"] or [None])[0]), []):
            states[round((ts - first) / interval)] = 1
        best, starts = _nagios_flapping(states, truth["flapping"]["high"], truth["flapping"]["low"])
        assert abs(best - inst["max_psc"]) < 1e-2 and starts == inst["flap_starts"], inst["key"]
        checked, flapping = checked + 1, flapping + inst["flapping"]
    assert checked and flapping, "the history needs flapping and steady instances"
