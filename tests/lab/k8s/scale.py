"""Benchmark-size Kubernetes lab: about 500 kwok nodes and 20,000 pods from generated Deployments.

Used by components/k8s.py when ctx.scale is set (lab.py up --scale). Every object is generated
deterministically (no randomness), so two scale runs hold the same objects. A few Deployments per
namespace carry a failure scenario, so health checks have findings to report at scale.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from tests.lab.common import LabError

NODES = 500
NAMESPACES = 10
DEPLOYMENTS_PER_NAMESPACE = 20
REPLICAS = 100                                  # 10 x 20 x 100 = 20,000 pods
SCENARIOS = {18: "ImagePullBackOff", 19: "OOMKilled"}   # deployment index -> scenario (one-shot stages only)
BATCH = 100
SETTLE_TIMEOUT = 3600.0

# Client-side rate limits of the controllers, raised so 20,000 pods do not take an hour; the
# apiserver keeps its own limits (APF), so clients still see real 429s.
COMPONENT_ARGS = [
    {"name": "kube-controller-manager", "extraArgs": [
        {"key": "kube-api-qps", "value": "100"}, {"key": "kube-api-burst", "value": "200"}]},
    {"name": "kube-scheduler", "extraArgs": [
        {"key": "kube-api-qps", "value": "100"}, {"key": "kube-api-burst", "value": "200"}]},
]


# kwok plays 4 pod stages at a time by default: too few for 20,000 pods. A KwokConfiguration
# document replaces kwok's defaults wholesale (seen: "node leases parallelism must be greater
# than 0"), so every option is spelled out with kwok v0.8.0's default except the three raised
# (500 node leases renewed 4 at a time go stale on a busy machine: nodes flip to Unknown).
KWOK_CONFIGURATION = {
    "apiVersion": "config.kwok.x-k8s.io/v1alpha1", "kind": "KwokConfiguration",
    "options": {"cidr": "10.0.0.0/24", "enableDebuggingHandlers": True, "enableProfilingHandler": True,
                "enableContentionProfiling": False, "podPlayStageParallelism": 16, "nodePlayStageParallelism": 8,
                "nodeLeaseParallelism": 16, "podsOnNodeSyncParallelism": 1, "enablePodsOnNodeSyncListPager": True,
                "enablePodsOnNodeSyncStreamWatch": False},
}


def node(index: int) -> dict:
    name = f"lab-scale-node-{index:03d}"
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name,
                     "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                                "node-role.kubernetes.io/worker": "", "topology.kubernetes.io/zone": f"lab-{'abc'[index % 3]}",
                                "type": "kwok", "lab.sre-toolkit.io/scale": "true"},
                     "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
        "status": {"capacity": {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "200Gi"},
                   "allocatable": {"cpu": "15800m", "memory": "62Gi", "pods": "110", "ephemeral-storage": "190Gi"},
                   "nodeInfo": {"kubeletVersion": "v1.36.4", "kubeProxyVersion": "v1.36.4", "containerRuntimeVersion": "containerd://2.1.4",
                                "kernelVersion": "6.8.0-lab", "osImage": "Debian GNU/Linux 12 (bookworm)", "operatingSystem": "linux",
                                "architecture": "amd64", "machineID": f"{index:032x}", "systemUUID": f"00000000-0000-4000-8000-{index:012x}",
                                "bootID": f"10000000-0000-4000-8000-{index:012x}"}},
    }


def deployment(namespace: str, index: int) -> dict:
    name = f"svc-{index:02d}"
    labels = {"app.kubernetes.io/name": name, "lab.sre-toolkit.io/scale": "true"}
    pod_labels = dict(labels)
    if index in SCENARIOS:
        pod_labels["lab.sre-toolkit.io/scenario"] = SCENARIOS[index]
    container = {"name": "app", "image": f"ghcr.io/example/{name}:1.{index}.0",
                 "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}}
    if index % 4:  # a quarter without probes
        container["readinessProbe"] = {"httpGet": {"path": "/ready", "port": 8080}}
        container["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": 8080}}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                 "template": {"metadata": {"labels": pod_labels},
                              "spec": {"containers": [container], "automountServiceAccountToken": False}}},
    }


def namespaces() -> list:
    return [f"lab-scale-{i:02d}" for i in range(NAMESPACES)]


def _create(kubectl, objects: list) -> None:
    for start in range(0, len(objects), BATCH):
        body = {"apiVersion": "v1", "kind": "List", "items": objects[start:start + BATCH]}
        kubectl("create", "-f", "-", stdin=json.dumps(body), timeout=600)


def _rss_mib(pids: dict) -> dict:
    out = {}
    for name, rec in pids.items():
        try:
            for line in Path(f"/proc/{rec['pid']}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[name] = round(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return dict(sorted(out.items()))


def _settle(kubectl, log, pids: dict) -> dict:
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        dead = sorted(name for name, rec in pids.items() if not Path(f"/proc/{rec['pid']}").exists())
        if dead:
            raise LabError(f"scale: control-plane process(es) exited under load: {dead}; see the kwokctl logs")
        deployments = [d for d in json.loads(kubectl("get", "deployments", "-A", "-l", "lab.sre-toolkit.io/scale=true", "-o", "json", timeout=300))["items"]]
        created = sum(d.get("status", {}).get("replicas", 0) for d in deployments)
        ready = sum(d.get("status", {}).get("readyReplicas", 0) for d in deployments)
        want_ready = REPLICAS * NAMESPACES * (DEPLOYMENTS_PER_NAMESPACE - len(SCENARIOS)) + REPLICAS * NAMESPACES * list(SCENARIOS.values()).count("OOMKilled")
        want_created = REPLICAS * NAMESPACES * DEPLOYMENTS_PER_NAMESPACE
        if created >= want_created and ready >= want_ready:
            return {"pods_created": created, "pods_ready": ready}
        if time.monotonic() > deadline:
            raise LabError(f"scale: {created}/{want_created} pods created, {ready}/{want_ready} ready after {SETTLE_TIMEOUT:.0f}s")
        log(f"k8s scale: {created}/{want_created} pods created, {ready}/{want_ready} ready")
        time.sleep(15)


def scale_up(kubectl, ctx, pids: dict) -> dict:
    """Create the nodes and Deployments, wait until the pods run; returns timings and sizes."""
    t0 = time.monotonic()
    existing = kubectl("get", "nodes", "-l", "lab.sre-toolkit.io/scale=true", "-o", "name").split()
    if len(existing) < NODES:
        present = set(existing)
        _create(kubectl, [n for n in (node(i) for i in range(NODES)) if f"node/{n['metadata']['name']}" not in present])
    nodes_seconds = round(time.monotonic() - t0, 1)
    t1 = time.monotonic()
    for ns in namespaces():
        kubectl("create", "namespace", ns, check=False)
        kubectl("label", "namespace", ns, "lab.sre-toolkit.io/scale=true", "--overwrite")
        wanted = [deployment(ns, i) for i in range(DEPLOYMENTS_PER_NAMESPACE)]
        kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": wanted}), timeout=600)
    counts = _settle(kubectl, ctx.log, pids)
    pods_seconds = round(time.monotonic() - t1, 1)
    return {"nodes": NODES, "namespaces": namespaces(), "deployments": NAMESPACES * DEPLOYMENTS_PER_NAMESPACE, **counts,
            "nodes_seconds": nodes_seconds, "pods_seconds": pods_seconds, "total_seconds": round(time.monotonic() - t0, 1),
            "rss_mib": _rss_mib(pids)}
