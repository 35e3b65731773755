"""PodDisruptionBudgets that allow no disruption (issue #20 part 2a): by their spec alone, whatever
they select; against the replicas of what they select (1 replica with minAvailable 1); live from
their status, or from their spec when the status says nothing."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.sre.toolkit.plugins.module_utils._health import audit, manifests
from ansible_collections.sre.toolkit.plugins.module_utils._health.scan import HealthScan
from helpers import NOW

FIXTURES = Path(__file__).resolve().parents[5] / "tests" / "fixtures" / "manifests"


def pdb(name, ns=None, selector=None, status=None, **spec):
    body = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
            "spec": dict(spec, selector=selector if selector is not None else {"matchLabels": {"app": name}})}
    if ns:
        body["metadata"]["namespace"] = ns
    if status is not None:
        body["status"] = status
    return body


def deployment(name, replicas, labels=None, kind="Deployment"):
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name},
            "spec": {"replicas": replicas, "template": {"metadata": {"labels": labels or {"app": name}},
                                                        "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}}


def blocked(result):
    return sorted(f["name"] for f in result["findings"] if f["id"] == "pdb.blocks_disruption")


SPEC_ALONE = [
    {"maxUnavailable": 0},
    {"maxUnavailable": "0%"},
    {"maxUnavailable": "0"},
    {"minAvailable": "100%"},
    {"minAvailable": "150%"},
]


@pytest.mark.parametrize("spec", SPEC_ALONE, ids=[str(s) for s in SPEC_ALONE])
def test_spec_alone_blocks_whatever_it_selects_in_files(spec):
    """No workload in src at all: the budget still allows no disruption."""
    res = manifests.scan_manifests([("pdb.yaml", pdb("lonely", **spec))], now=NOW)
    assert blocked(res) == ["lonely"]
    item = [f for f in res["findings"] if f["id"] == "pdb.blocks_disruption"][0]
    assert item["evidence"]["basis"] == "spec" and item["evidence"]["file"] == "pdb.yaml"
    assert "whatever pods it selects" in item["message"]


@pytest.mark.parametrize("spec", SPEC_ALONE, ids=[str(s) for s in SPEC_ALONE])
def test_spec_alone_blocks_live_even_when_it_selects_no_pod(spec):
    scan = HealthScan(now=NOW)
    scan.listed(["workloads.disruption_budgets"])
    empty = {"expectedPods": 0, "disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "observedGeneration": 1}
    scan.add_pdb(pdb("lonely", ns="shop", status=empty, **spec))
    scan.add_pdb(pdb("unobserved", ns="shop", **spec))  # no status yet: the spec decides
    assert blocked(scan.result()) == ["lonely", "unobserved"]


@pytest.mark.parametrize("replicas,spec,expected", [
    (1, {"minAvailable": 1}, True),          # 1 replica, minAvailable 1: every drain blocks
    (1, {"minAvailable": "50%"}, True),      # rounds up to 1 of 1
    (2, {"minAvailable": "50%"}, False),     # 1 of 2 may go
    (3, {"minAvailable": 3}, True),
    (3, {"minAvailable": 2}, False),
    (3, {"minAvailable": 5}, True),
    (1, {"maxUnavailable": 1}, False),
    (1, {"maxUnavailable": "10%"}, False),  # rounds up to 1
    (0, {"minAvailable": 1}, False),         # scaled to zero: no pod to protect
])
def test_min_available_against_the_replicas_it_selects(replicas, spec, expected):
    docs = [("app.yaml", deployment("web", replicas)), ("app.yaml", pdb("web", **spec))]
    assert blocked(manifests.scan_manifests(docs, now=NOW)) == (["web"] if expected else [])


def test_replicas_of_every_selected_workload_count_and_one_finding_per_pdb():
    docs = [("a.yaml", deployment("a", 1, {"tier": "db"})), ("a.yaml", deployment("b", 1, {"tier": "db"}, kind="StatefulSet")),
            ("a.yaml", pdb("db-two", selector={"matchLabels": {"tier": "db"}}, minAvailable=2)),
            ("a.yaml", pdb("db-one", selector={"matchLabels": {"tier": "db"}}, minAvailable=1)),
            ("a.yaml", pdb("db-zero", selector={"matchLabels": {"tier": "db"}}, maxUnavailable=0))]
    res = manifests.scan_manifests(docs, now=NOW)
    assert blocked(res) == ["db-two", "db-zero"]  # db-zero once, though it selects two workloads
    two = [f for f in res["findings"] if f["name"] == "db-two"][0]
    assert two["evidence"]["replicas"] == 2 and two["evidence"]["basis"] == "replicas"


def test_a_pdb_in_another_namespace_does_not_count_the_workload():
    other = pdb("web", minAvailable=1)
    other["metadata"]["namespace"] = "elsewhere"
    assert blocked(manifests.scan_manifests([("a.yaml", deployment("web", 1)), ("b.yaml", other)], now=NOW)) == []


def test_live_status_decides_when_observed():
    scan = HealthScan(now=NOW)
    scan.listed(["workloads.disruption_budgets"])
    scan.add_pdb(pdb("one-of-one", ns="a", minAvailable=1, status={"expectedPods": 1, "disruptionsAllowed": 0,
                                                                   "currentHealthy": 1, "desiredHealthy": 1}))
    scan.add_pdb(pdb("room", ns="a", minAvailable=1, status={"expectedPods": 2, "disruptionsAllowed": 1,
                                                             "currentHealthy": 2, "desiredHealthy": 1}))
    res = scan.result()
    assert blocked(res) == ["one-of-one"]
    assert [f["evidence"]["basis"] for f in res["findings"] if f["id"] == "pdb.blocks_disruption"] == ["status"]


def test_judge_pdb_evidence_keeps_its_keys():
    found = audit.judge_pdb(pdb("x", ns="a", maxUnavailable=0, status={"expectedPods": 3, "disruptionsAllowed": 0,
                                                                       "currentHealthy": 3, "desiredHealthy": 3}))
    assert {"min_available", "max_unavailable", "expected_pods", "current_healthy", "desired_healthy"} <= set(found["evidence"])
    assert audit.pdb_spec_blocks(pdb("y", minAvailable=3), 3)["evidence"]["replicas"] == 3


def test_fixture_budgets_file():
    res = manifests.audit_src([str(FIXTURES / "pdb" / "budgets.yaml")], yaml.safe_load, now=NOW)
    assert res["errors"] == []
    assert blocked(res) == ["max-zero-percent", "max-zero-selects-nothing", "min-half-of-one", "min-hundred-percent", "min-one-of-one"]
