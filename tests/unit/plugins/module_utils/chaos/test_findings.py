"""pod_killer and memory_hog outcomes in the one findings contract."""
from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import findings
from ansible_collections.sre.toolkit.plugins.module_utils._findings import contract

from ..test_contract import assert_contract


def _check(found):
    ordered, counts = contract(found)
    assert_contract({"findings": ordered, "summary": {"counts": counts}})
    return ordered


def test_a_victim_that_did_not_recover_is_critical():
    result = {"run_id": "pk-1", "simulated": False,
              "victims": [{"namespace": "shop", "name": "web-1", "owner": "Deployment/shop/web", "outcome": "evicted"}],
              "recovery": [{"kind": "Deployment", "namespace": "shop", "name": "web", "recovered": False, "ready": 1, "baseline_ready": 3}],
              "gate": {"checked": False, "passed": True, "checks": []}, "permissions": [], "summary": {}}
    found = _check(findings.pod_killer(result))
    assert [(f["id"], f["severity"], f["subject"]["locator"]) for f in found] == [
        ("chaos.not_recovered", "critical", "Deployment shop/web"), ("chaos.pod_disrupted", "info", "Pod shop/web-1")]


def test_a_failed_gate_and_no_victim_say_why():
    result = {"run_id": "pk-2", "victims": [], "recovery": [],
              "gate": {"checked": True, "passed": False, "checks": [{"check": "promql", "passed": False, "detail": "empty"}]},
              "permissions": [{"verb": "create", "resource": "pods/eviction", "namespace": "shop", "allowed": False}],
              "summary": {"skipped_by_reason": {"gate_failed": 3}}}
    found = _check(findings.pod_killer(result))
    assert [f["id"] for f in found] == ["chaos.gate_failed", "chaos.permission_missing"]
    assert "promql: empty" in found[0]["message"] and found[0]["subject"]["locator"] == "chaos run pk-2"
    quiet = _check(findings.pod_killer(dict(result, gate={"checked": False, "passed": True}, permissions=[],
                                            summary={"skipped_by_reason": {"protected_namespace": 4}})))
    assert [(f["id"], f["message"]) for f in quiet] == [("chaos.no_victim", "no eligible pod: 4 protected_namespace")]


def test_an_oom_killed_target_is_recorded_as_the_outcome_it_is():
    base = {"target": "pod", "outcome": "target_oom_killed", "pod": {"namespace": "shop", "name": "api-1"},
            "plan": {"total_human": "300.0 MiB", "duration_seconds": 60, "total_bytes": 314572800}, "peak": {}, "oom_killed": True,
            "cleanup": {"remaining": []}, "preflight": {"oom_expected": False}}
    found = _check(findings.memory_hog(base))
    assert [(f["id"], f["severity"]) for f in found] == [("chaos.target_oom_killed", "warning"), ("chaos.memory_pressure", "info")]
    assert "expected" not in found[0]["message"] and found[0]["evidence"]["expected"] is False
    expected = _check(findings.memory_hog(dict(base, preflight={"oom_expected": True})))
    assert expected[0]["severity"] == "warning" and "expected" in expected[0]["message"]


def test_leftovers_and_a_failed_helper_are_reported_and_a_cleanup_run_has_nothing():
    result = {"target": "host", "host": "web-1", "outcome": "helper_failed", "plan": {}, "peak": {},
              "cleanup": {"remaining": ["memory-hog-abc"]}}
    found = _check(findings.memory_hog(result))
    assert [f["id"] for f in found] == ["chaos.cleanup_incomplete", "chaos.hog_failed", "chaos.memory_pressure"]
    assert found[0]["subject"]["locator"] == "host web-1"
    assert findings.memory_hog({"outcome": "cleaned"}) == []
