"""The rightsizing engine on synthetic histories whose answer is known by construction."""
from __future__ import annotations

import random

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._rightsizing import engine
from ansible_collections.sre.toolkit.plugins.module_utils._rightsizing.findings import container_findings, workload_patches

STEP = 300.0
DAY = 86400.0
END = 1_796_515_200.0
MIB = engine.MIB


def series(days, value, start=None, seed=1, sd=0.0):
    rng = random.Random(seed)
    first = END - days * DAY if start is None else start
    n = int((END - first) / STEP)
    return [(first + i * STEP, max(0.0, value(i) + rng.gauss(0, sd))) for i in range(n)]


def history(cpu, memory, kind="Deployment", spec=None, **extra):
    out = {"namespace": "ns", "kind": kind, "name": "app", "container": "c", "step": STEP,
           "spec": spec or {"requests": {"cpu": 1.0, "memory": 1024 * MIB}, "limits": {"memory": 1024 * MIB}},
           "cpu": cpu, "memory": memory, "average_pods": 1.0}
    out.update(extra)
    return out


def test_percentile_interpolates():
    assert engine.percentile([1, 2, 3, 4, 5], 50) == 3
    assert engine.percentile([0, 10], 95) == pytest.approx(9.5)
    assert engine.percentile([], 95) is None


def test_steady_over_provisioned_sizes_at_p95_plus_margin_and_saves_money():
    cpu = {"p1": series(14, lambda i: 0.2)}
    mem = {"p1": series(14, lambda i: 300 * MIB)}
    out = engine.size_container(history(cpu, mem), END)
    assert out["confidence"]["level"] == "high"
    assert out["recommendation"]["requests"]["cpu"] == pytest.approx(0.23, abs=0.001)
    assert out["recommendation"]["requests"]["memory"] == pytest.approx(345 * MIB, abs=MIB)
    assert out["backtest"]["holds"] and out["cost"]["monthly_change"] < 0
    ids = [f["id"] for f in container_findings(out, engine.DEFAULTS)]
    assert ids == ["rightsizing.over_provisioned"]


def test_throttled_usage_is_uncensored():
    # demand 0.8 against a 0.5 limit: used 0.5, throttled share 1 - 0.5/0.8
    used = {"p1": series(14, lambda i: 0.5)}
    share = {"p1": [(t, 1 - 0.5 / 0.8) for t, _v in used["p1"]]}
    spec = {"requests": {"cpu": 0.25, "memory": 512 * MIB}, "limits": {"cpu": 0.5, "memory": 512 * MIB}}
    out = engine.size_container(history(used, {"p1": series(14, lambda i: 200 * MIB)}, spec=spec, throttle=share), END)
    assert out["usage"]["cpu"]["p95"] == pytest.approx(0.8)
    assert out["recommendation"]["requests"]["cpu"] == pytest.approx(0.92, abs=0.002)
    assert out["recommendation"]["limits"]["cpu"] >= out["recommendation"]["requests"]["cpu"]
    assert "rightsizing.cpu_throttled" in [f["id"] for f in container_findings(out, engine.DEFAULTS)]


def test_oom_between_scrapes_bumps_above_the_limit_it_died_at():
    mem = {"p1": series(14, lambda i: 480 * MIB)}
    ooms = [(END - 3 * DAY, "p1", 512 * MIB)]
    out = engine.size_container(history({"p1": series(14, lambda i: 0.1)}, mem, ooms=ooms), END)
    assert out["recommendation"]["requests"]["memory"] == pytest.approx(512 * 1.2 * MIB, abs=MIB)
    assert out["backtest"]["would_be_ooms"] == 0


def test_backtest_vetoes_a_memory_value_the_past_refutes():
    mem = {"p1": series(14, lambda i: 300 * MIB + (200 * MIB if i % 500 == 0 else 0))}
    out = engine.size_container(history({"p1": series(14, lambda i: 0.1)}, mem), END, {"memory_percentile": 50, "memory_margin": 0.1})
    assert out["backtest"]["vetoed"] and "OOM" in out["backtest"]["vetoed"][0]
    assert out["recommendation"]["requests"]["memory"] >= 500 * MIB and out["backtest"]["would_be_ooms"] == 0


def test_backtest_vetoes_a_throttling_cpu_limit():
    cpu = {"p1": series(14, lambda i: 1.0 if i % 20 == 0 else 0.1)}
    spec = {"requests": {"cpu": 0.5}, "limits": {"cpu": 2.0}}
    out = engine.size_container(history(cpu, {"p1": series(14, lambda i: 100 * MIB)}, spec=spec), END, {"cpu_limit_percentile": 90})
    assert out["backtest"]["vetoed"] and out["recommendation"]["limits"]["cpu"] >= 1.0
    assert out["backtest"]["throttled_minutes"] == 0


def test_hpa_sizes_per_pod_for_the_target():
    cpu = {"p%d" % k: series(14, lambda i: 0.35, seed=k) for k in range(2)}
    out = engine.size_container(history(cpu, {"p0": series(14, lambda i: 100 * MIB)}, hpa={"cpu_utilization": 70}), END)
    assert out["recommendation"]["requests"]["cpu"] == pytest.approx(0.5, abs=0.002)
    assert "HPA" in out["recommendation"]["reasons"]["cpu"]


def test_too_little_history_says_so_instead_of_guessing():
    cpu = {"p1": series(0.25, lambda i: 0.2)}
    out = engine.size_container(history(cpu, {"p1": series(0.25, lambda i: 100 * MIB)}), END)
    assert out["confidence"]["level"] == "insufficient" and out["recommendation"] is None
    assert [f["id"] for f in container_findings(out, engine.DEFAULTS)] == ["rightsizing.insufficient_history"]


def test_confidence_reflects_gaps_and_length():
    full = engine.coverage({"p": series(14, lambda i: 1)}, STEP, "Deployment")
    gappy = engine.coverage({"p": [s for k, s in enumerate(series(14, lambda i: 1)) if k % 3]}, STEP, "Deployment")
    short = engine.coverage({"p": series(2, lambda i: 1)}, STEP, "Deployment")
    assert engine.confidence(full, engine.DEFAULTS)[0] == "high"
    assert engine.confidence(gappy, engine.DEFAULTS)[0] == "medium"
    assert engine.confidence(short, engine.DEFAULTS)[0] == "low"
    runs = engine.coverage({"job-%d" % k: series(0.01, lambda i: 1) for k in range(2)}, STEP, "CronJob")
    assert engine.confidence(runs, engine.DEFAULTS)[0] == "insufficient"


def test_idle_from_cpu_and_network_with_its_duration():
    cpu = {"p1": series(14, lambda i: 0.3 if i < 9 * 288 else 0.002)}
    net = {"p1": series(14, lambda i: 20000 if i < 9 * 288 else 100)}
    out = engine.size_container(history(cpu, {"p1": series(14, lambda i: 100 * MIB)}, network=net), END)
    assert out["idle"]["idle"] and out["idle"]["idle_for_seconds"] == pytest.approx(5 * DAY, abs=STEP)
    assert out["idle"]["signals"] == ["cpu", "memory", "network"] and out["idle"]["unavailable"] == ["requests"]
    assert out["idle"]["last_busy"]["network"] == out["idle"]["since"] and "last busy: cpu, network" in out["idle"]["reason"]
    # network traffic alone keeps it busy
    busy = engine.size_container(history(cpu, {"p1": series(14, lambda i: 100 * MIB)}, network={"p1": series(14, lambda i: 20000)}), END)
    assert not busy["idle"]["idle"]


QUIET_CPU = {"p1": series(14, lambda i: 0.002)}
QUIET_NET = {"p1": series(14, lambda i: 300)}


def test_requests_served_keep_a_quiet_workload_busy():
    rate = {"p1": series(14, lambda i: 0.5 if i < 13.5 * 288 else 0.0)}
    out = engine.size_container(history(QUIET_CPU, {"p1": series(14, lambda i: 100 * MIB)}, network=QUIET_NET, request_rate=rate), END)
    assert not out["idle"]["idle"] and out["idle"]["idle_for_seconds"] == pytest.approx(DAY / 2, abs=STEP)
    assert out["idle"]["signals"] == ["cpu", "memory", "network", "requests"] and out["idle"]["last_busy"]["requests"] == out["idle"]["since"]
    assert out["recommendation"] is not None
    # a request rate under the floor (health checks) does not count
    checks = {"p1": series(14, lambda i: 0.005)}
    quiet = engine.size_container(history(QUIET_CPU, {"p1": series(14, lambda i: 100 * MIB)}, network=QUIET_NET, request_rate=checks), END)
    assert quiet["idle"]["idle"] and quiet["idle"]["last_busy"]["requests"] is None


def test_memory_moving_keeps_a_quiet_workload_busy_but_a_full_steady_heap_does_not():
    loads = {"p1": series(14, lambda i: 900 * MIB if i % 12 < 4 else 300 * MIB)}
    out = engine.size_container(history(QUIET_CPU, loads, network=QUIET_NET), END)
    assert not out["idle"]["idle"] and out["idle"]["last_busy"]["memory"] is not None
    heap = {"p1": series(14, lambda i: 950 * MIB, sd=5 * MIB)}
    held = engine.size_container(history(QUIET_CPU, heap, network=QUIET_NET), END)
    assert held["idle"]["idle"] and held["idle"]["last_busy"]["memory"] is None and "working set steady" in held["idle"]["reason"]


def test_gone_workload_is_not_idle():
    cpu = {"p1": series(14, lambda i: 0.001, start=END - 14 * DAY)[:288 * 10]}
    out = engine.size_container(history(cpu, {"p1": [(t, 1.0) for t, _v in cpu["p1"]]}), END)
    assert not out["idle"]["idle"] and "not idle" in out["idle"]["reason"]


def test_recommendation_is_stable_under_small_window_changes():
    cpu = {"p1": series(14, lambda i: 0.4, sd=0.04, seed=3)}
    mem = {"p1": series(14, lambda i: 300 * MIB)}
    full = engine.size_container(history(cpu, mem), END)["recommendation"]["requests"]["cpu"]
    cut = {"p1": [s for s in cpu["p1"] if s[0] >= END - 13 * DAY]}
    shorter = engine.size_container(history(cut, mem), END)["recommendation"]["requests"]["cpu"]
    assert abs(shorter - full) / full < 0.03


def test_patch_targets_the_pod_template_with_a_rollback():
    runs = ["job-%d" % k for k in range(25)]
    cpu = {p: series(0.02, lambda i: 0.2, start=END - (k + 1) * DAY / 2) for k, p in enumerate(runs)}
    mem = {p: [(t, 300 * MIB) for t, _v in cpu[p]] for p in runs}
    out = engine.size_container(history(cpu, mem, kind="CronJob"), END)
    assert out["confidence"]["level"] == "high"
    out["in_api"] = True
    patch = workload_patches([out])[0]
    containers = patch["patch"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert containers == [{"name": "c", "resources": {"requests": {"cpu": "230m", "memory": "345Mi"}, "limits": {"memory": "345Mi"}}}]
    assert patch["rollback"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "1000m"
    assert patch["kubectl"].startswith("kubectl -n ns patch cronjob app --type strategic -p '")
