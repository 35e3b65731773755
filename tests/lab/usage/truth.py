"""The designed answer for every container of the rightsizing lab, from its *true* demand.

The policy is the module's documented default (cpu request = p95 of demand x 1.15, demand =
what the container wanted, not what it got; memory = peak x 1.15, at least 1.2 x the limit it was
OOM-killed at; an HPA-managed container is sized so its median per-pod use sits at the HPA's
target utilization), applied to the demand the design drew, never to the exported series.
"""
from __future__ import annotations

from tests.lab.usage import design

POLICY = {"cpu_percentile": 95, "cpu_margin": 0.15, "memory_margin": 0.15, "oom_bump": 1.2, "hpa_percentile": 50}
TOLERANCE = {"cpu": 0.15, "memory": 0.10}
FINDINGS = {
    ("steady-api", "api"): ["rightsizing.over_provisioned"],
    ("starved-worker", "worker"): ["rightsizing.cpu_throttled"],
    ("oom-cache", "cache"): ["rightsizing.oom_killed"],
    ("daily-web", "web"): ["rightsizing.over_provisioned"],
    ("daily-web", "envoy"): [],
    ("batch-report", "report"): ["rightsizing.under_provisioned"],
    ("idle-legacy", "app"): ["rightsizing.idle"],
    ("hpa-frontend", "frontend"): ["rightsizing.over_provisioned"],
    ("resized-search", "search"): ["rightsizing.over_provisioned"],
    ("fresh-service", "svc"): ["rightsizing.insufficient_history"],
    ("churny-queue", "consumer"): ["rightsizing.under_provisioned"],
    ("quiet-api", "api"): ["rightsizing.over_provisioned"],
    ("loader-cache", "loader"): ["rightsizing.over_provisioned"],
}
# the idle signal that keeps a quiet workload busy (the others stay under their floors)
BUSY_SIGNAL = {"quiet-api": "requests", "loader-cache": "memory"}


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return None
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def container_truth(arch, container, rows, n):
    """rows: (minute, pod, cpu cores wanted, memory bytes wanted, idle) of every pod-minute."""
    busy = [r for r in rows if not r[4]]
    cpu = [r[2] for r in busy]
    mem = [r[3] for r in rows]
    expect = {"archetype": arch.archetype, "findings": FINDINGS[(arch.name, container.name)], "idle": arch.idle_from_day is not None,
              "confidence": "insufficient" if arch.age_hours is not None and arch.age_hours < 24 else "high"}
    if expect["idle"]:
        expect["idle_for_seconds"] = int((n - arch.idle_from_day * design.DAY) * 60)
        expect["idle_tolerance_seconds"] = 3600
    expect["idle_signals"] = sorted(["cpu", "memory", "network"] + (["requests"] if any(c.rps for c in arch.containers) else []))
    expect["busy_signal"] = BUSY_SIGNAL.get(arch.name)
    expect["kube_pod_owner"] = arch.ksm_owner
    if expect["confidence"] == "insufficient" or expect["idle"]:
        expect["cpu_request"] = expect["memory"] = None
        expect["history_seconds"] = int(arch.age_hours * 3600) if arch.age_hours else None
    else:
        if arch.hpa:
            cpu_rec = percentile(cpu, POLICY["hpa_percentile"]) / (arch.hpa["cpu_utilization"] / 100.0)
        else:
            cpu_rec = percentile(cpu, POLICY["cpu_percentile"]) * (1 + POLICY["cpu_margin"])
        mem_rec = max(mem) * (1 + POLICY["memory_margin"])
        if container.mem[0] == "leak":
            mem_rec = max(mem_rec, container.limits["memory"] * POLICY["oom_bump"])
        expect["cpu_request"] = {"value": round(cpu_rec, 4), "tolerance": TOLERANCE["cpu"],
                                 "true_p95": round(percentile(cpu, 95), 4), "true_peak": round(max(cpu), 4)}
        expect["memory"] = {"value": int(mem_rec), "tolerance": TOLERANCE["memory"], "true_peak": int(max(mem))}
    return {
        "namespace": design.NAMESPACE, "kind": arch.kind, "name": arch.name, "workload": "%s/%s" % (arch.kind, arch.name),
        "container": container.name, "replicas": arch.replicas, "hpa": arch.hpa,
        "current": {"requests": container.requests, "limits": container.limits},
        "previous": {"requests": container.old_requests, "limits": container.old_limits} if container.old_requests else None,
        "pods_seen": len(set(r[1] for r in rows)), "minutes_seen": len(rows), "expect": expect,
    }


def build(truth_rows, n):
    out = []
    for arch in design.ARCHETYPES:
        for container in arch.containers:
            out.append(container_truth(arch, container, truth_rows[(arch.name, container.name)], n))
    return sorted(out, key=lambda c: (c["namespace"], c["workload"], c["container"]))
