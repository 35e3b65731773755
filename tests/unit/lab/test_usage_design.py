"""The rightsizing lab's seed (tests/lab/k8s/seed/80-rightsizing.yaml) holds the workloads the usage
history was generated for, and the model exports what the archetypes promise."""
from __future__ import annotations

from pathlib import Path

import yaml

from tests.lab.usage import design, model

SEED = Path(__file__).resolve().parents[2] / "lab" / "k8s" / "seed" / "80-rightsizing.yaml"
UNITS = {"m": 0.001, "Mi": design.MI, "Gi": design.GI}


def quantity(text):
    for suffix, factor in UNITS.items():
        if text.endswith(suffix):
            return float(text[:-len(suffix)]) * factor
    return float(text)


def test_seed_matches_design():
    docs = [d for d in yaml.safe_load_all(SEED.read_text()) if d["kind"] not in ("Namespace", "HorizontalPodAutoscaler")]
    seeded = {}
    for doc in docs:
        spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]["template"]["spec"]
        for c in spec["containers"]:
            seeded[(doc["kind"], doc["metadata"]["name"], c["name"])] = {
                key: {r: quantity(v) for r, v in c["resources"].get(key, {}).items()} for key in ("requests", "limits")}
    designed = {(a.kind, a.name, c.name): {"requests": c.requests, "limits": c.limits} for a in design.ARCHETYPES for c in a.containers}
    assert seeded == designed


def test_model_exports_the_designed_behaviour():
    series, pods, rows = model.build(42, 4 * design.DAY, 29_000_000)
    names = {s.labels["__name__"] for s in series}
    assert {"container_cpu_usage_seconds_total", "container_cpu_cfs_throttled_periods_total", "container_memory_working_set_bytes",
            "kube_pod_owner", "kube_replicaset_owner", "kube_job_owner", "kube_pod_container_resource_requests",
            "kube_pod_container_status_last_terminated_reason", "kube_horizontalpodautoscaler_spec_target_metric"} <= names
    reasons = {(s.labels["pod"], s.labels["reason"]) for s in series if s.labels["__name__"].endswith("last_terminated_reason")}
    assert ("oom-cache-0", "OOMKilled") in reasons
    # the OOM happens between scrapes: no scraped working set reaches the limit
    cache = [s for s in series if s.labels["__name__"] == "container_memory_working_set_bytes" and s.labels["pod"] == "oom-cache-0"]
    assert len(cache) >= 2 and max(max(s.values) for s in cache) < 512 * design.MI
    # usage is censored at the CPU limit; the refused demand shows as throttled periods
    worker = [s for s in series if s.labels["__name__"] == "container_cpu_usage_seconds_total" and s.labels["container"] == "worker"]
    assert all(abs(s.values[-1] / (60 * len(s.values)) - 0.5) < 1e-6 for s in worker)
    assert {p.arch.name for p in pods} == {a.name for a in design.ARCHETYPES}
    assert rows[("fresh-service", "svc")] and len(rows[("fresh-service", "svc")]) == 360
    # the idle signals beyond CPU and network: requests served, the working set moving
    served = {s.labels["pod"] for s in series if s.labels["__name__"] == "http_requests_total"}
    assert {p.name for p in pods if p.arch.name in ("quiet-api", "idle-legacy")} == served
    owned = {s.labels["pod"] for s in series if s.labels["__name__"] == "kube_pod_owner"}
    assert not any(p.name in owned for p in pods if p.arch.name == "quiet-api") and any(p.name in owned for p in pods)
    loader = [s for s in series if s.labels["__name__"] == "container_memory_working_set_bytes" and s.labels["container"] == "loader"]
    assert max(loader[0].values) > 2.5 * min(loader[0].values)
    # pod-template-hashes as Kubernetes writes them (no vowels, no 0, 1, 3)
    hashes = {s.labels["replicaset"].rsplit("-", 1)[1] for s in series if s.labels["__name__"] == "kube_replicaset_owner"}
    assert hashes and all(set(h) <= set("bcdfghjklmnpqrstvwxz2456789") for h in hashes)
