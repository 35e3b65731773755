"""Every module on the lab returns the one findings contract: each result validates against the
shipped schema (docs/findings.schema.json), every finding id is in the rule catalogue, counts and
order hold. pod_killer and memory_hog run in dry run, in check mode and for real."""
from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._catalogue import unknown_ids
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._findings import counts, sort_findings
from ansible_collections.sre.toolkit.plugins.module_utils._k8s import K8sClient
from tests.integration.ansible import run_module
from tests.integration.test_cert_expiry import endpoint_spec
from tests.integration.test_pod_killer import steady

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "findings.schema.json").read_text())


def assert_contract(result):
    assert not result.get("failed"), result.get("msg")
    assert "Traceback" not in result["_stdout"] + result["_stderr"]
    jsonschema.validate(result, SCHEMA)
    assert unknown_ids(result["findings"]) == []
    listed, total = counts(result["findings"]), result["summary"]["counts"]
    # k8s_health caps the findings listed per check (max_findings_per_check); counts keep the full numbers
    left_out = sum(c["total"] - c["shown"] for c in result.get("checks") or ())
    assert all(total[s] >= listed[s] for s in listed) and sum(total.values()) - sum(listed.values()) == left_out
    assert result["findings"] == sort_findings(result["findings"])
    return result


def test_alert_frequency(lab_prometheus):
    truth = json.loads(Path(lab_prometheus["ground_truth"]).read_text())
    result = assert_contract(run_module("alert_frequency", {
        "prometheus_url": lab_prometheus["url"], "start": str(truth["window"]["start"]), "end": str(truth["window"]["end"]),
        "ignore_labels": truth["ignored_labels"], "include_episodes": False}))
    assert {"alerts.unhealthy_rule", "alerts.keep_firing_for", "alerts.inhibit_cascade", "alerts.dead_rule"} <= {f["id"] for f in result["findings"]}


def test_slo_report(lab_prometheus):
    from tests.integration.slo_lab import lab_slos, truth_of

    truth = truth_of(lab_prometheus)
    result = assert_contract(run_module("slo_report", {
        "prometheus_url": lab_prometheus["url"], "end": str(truth["window"]["end"]), "slos": lab_slos(truth)[:3]}))
    assert {"slo.budget_low", "slo.objective_unmet_history"} <= {f["id"] for f in result["findings"]}


def test_rightsizing(lab_prometheus, lab_k8s):
    usage = json.loads(Path(lab_prometheus["histories"]["usage"]["ground_truth"]).read_text())
    result = assert_contract(run_module("rightsizing", {
        "prometheus_url": lab_prometheus["url"], "kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context"),
        "namespaces": [usage["namespace"]], "end": str(usage["window"]["end"]), "cluster": usage["cluster"]}))
    designed = {"rightsizing.oom_killed", "rightsizing.cpu_throttled", "rightsizing.idle", "rightsizing.insufficient_history"}
    assert designed <= {f["id"] for f in result["findings"]}


def test_cert_expiry(lab_tls):
    truth = json.loads(Path(lab_tls["targets_file"]).read_text())
    endpoints = [endpoint_spec(e) for e in truth["endpoints"] if "scale" not in e["tags"]]
    result = assert_contract(run_module("cert_expiry", {
        "endpoints": endpoints, "ca_bundle": lab_tls["ca_bundle"], "validation_time": lab_tls["generated_at"],
        "paths": [lab_tls["files_dir"]], "tls_timeout": 3, "tls_deadline": 8}))
    locators = [f["subject"]["locator"] for f in result["findings"]]
    assert any(loc.startswith("file %s/" % lab_tls["files_dir"]) for loc in locators)
    assert any(loc.startswith("endpoint ") for loc in locators)
    assert {"cert.expired", "cert.expires_soon", "cert.untrusted", "cert.unreadable"} <= {f["id"] for f in result["findings"]}


def test_k8s_health_live_and_src(lab_k8s):
    live = assert_contract(run_module("k8s_health", {"kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context")}))
    assert live["summary"]["counts"]["critical"] > 0
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"
    assert_contract(run_module("k8s_health", {"src": [str(fixtures)]}))


def test_incident_timeline(lab_k8s, lab_prometheus):
    result = assert_contract(run_module("incident_timeline", {
        "kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context"), "prometheus_url": lab_prometheus["url"],
        "window": "3h", "namespaces": ["lab-broken"], "event_ttl": "1m"}))
    assert result["timeline"] and {"incident.milestones", "incident.events_expired"} <= {f["id"] for f in result["findings"]}


@pytest.fixture(scope="module")
def chaos_ns(lab_k8s):
    k8s = K8sClient.from_params({"kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context")})
    ns = "contract-%s" % os.urandom(3).hex()
    k8s.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    template = {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "registry.invalid/contract/web:1"}], "terminationGracePeriodSeconds": 1}}
    k8s.create("/apis/apps/v1/namespaces/%s/deployments" % ns, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template}})
    steady(k8s, [ns])
    try:
        yield {"k8s": k8s, "ns": ns, "args": {"kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context"),
                                              "namespaces": [ns], "min_age": "0s", "cooldown": "0", "recovery_timeout": 120}}
    finally:
        try:
            k8s.delete("/api/v1/namespaces/%s" % ns)
        except ToolkitError:
            pass


@pytest.mark.parametrize("dry_run,check", [(True, False), (False, True), (False, False)], ids=["dry_run", "check_mode", "real"])
def test_pod_killer(chaos_ns, dry_run, check):
    steady(chaos_ns["k8s"], [chaos_ns["ns"]])
    result = assert_contract(run_module("pod_killer", dict(chaos_ns["args"], dry_run=dry_run), check=check))
    assert result["changed"] is (not dry_run) and result["simulated"] is (dry_run or check)
    ids = [f["id"] for f in result["findings"]]
    assert ids == ["chaos.pod_disrupted"], ids  # one victim, recovered (a real run waits for it)
    if not (dry_run or check):
        assert result["recovery"] and all(r["recovered"] for r in result["recovery"])


@pytest.mark.parametrize("dry_run,check", [(True, False), (False, True), (False, False)], ids=["dry_run", "check_mode", "real"])
def test_memory_hog_host(tmp_path, dry_run, check):
    result = assert_contract(run_module("memory_hog", {"size": "16Mi", "duration": 1, "timeout_margin": 2, "dry_run": dry_run,
                                                       "state_dir": str(tmp_path / "state"), "name": "contract"}, check=check))
    assert result["changed"] is (not dry_run) and result["dry_run"] is dry_run
    assert [f["id"] for f in result["findings"]] == ["chaos.memory_pressure"]
    assert result["findings"][0]["subject"]["locator"].startswith("host ")
    assert result["outcome"] == ("dry_run" if dry_run or check else "completed")
