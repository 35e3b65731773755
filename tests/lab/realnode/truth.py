"""Ground truth of the real node's workloads (namespace lab-real), read from the live cluster once
the real kubelet has played them: what it wrote is what the tests compare against.

    {"node": "127.0.0.1", "namespace": "lab-real",
     "workloads": {"web": {"replicas": 2, "ready": 2, "pdb": "web", "pods": [...]}, ...},
     "scenarios": {"CrashLoopBackOff": {"pod": ..., "container": ..., "waiting_reason": "CrashLoopBackOff",
                                        "last_terminated_reason": "Error", "last_exit_code": 3, "restart_count": n},
                   "OOMKilled": {... "last_terminated_reason": "OOMKilled", "last_exit_code": 137},
                   "NotReady": {... "ready": false, "probe_event": "Readiness probe failed: ..."}},
     "pdbs": {"web": {"disruptions_allowed": 1, "expected_pods": 2}}}
"""
from __future__ import annotations

import json

from tests.lab.components.k8s import Kubectl, _wait

NAMESPACE = "lab-real"
NODE = "127.0.0.1"  # components/realnode.py NODE (not imported: that module imports this one)
SCENARIO_LABEL = "lab.sre-toolkit.io/real-scenario"
HEALTHY = {"web": 2, "hog-target": 1, "hog-heavy": 1}
SCENARIOS = ("CrashLoopBackOff", "NotReady", "OOMKilled")
SETTLE_TIMEOUT = 240.0


def _status(pod: dict) -> dict:
    cs = (pod.get("status", {}).get("containerStatuses") or [{}])[0]
    state, last = cs.get("state", {}), (cs.get("lastState") or {}).get("terminated") or {}
    return {
        "pod": pod["metadata"]["name"], "container": cs.get("name"), "phase": pod["status"].get("phase"),
        "ready": bool(cs.get("ready")), "running": "running" in state,
        "waiting_reason": (state.get("waiting") or {}).get("reason"),
        "last_terminated_reason": last.get("reason"), "last_exit_code": last.get("exitCode"),
        "restart_count": cs.get("restartCount", 0),
    }


def _probe_events(kubectl: Kubectl, pod_name: str) -> list:
    events = kubectl.items("events", NAMESPACE)
    return sorted(e.get("message", "") for e in events
                  if e["involvedObject"].get("name") == pod_name and e.get("reason") == "Unhealthy")


def _scenario_ok(scenario: str, st: dict) -> bool:
    if st.get("deleting"):
        return False
    if scenario == "CrashLoopBackOff":
        return st["waiting_reason"] == "CrashLoopBackOff" and st["last_terminated_reason"] == "Error" and st["restart_count"] >= 1
    if scenario == "OOMKilled":
        return st["last_terminated_reason"] == "OOMKilled" and st["restart_count"] >= 1
    if scenario == "NotReady":
        return st["running"] and not st["ready"] and bool(st.get("probe_events"))
    return False


def unsettled(snap: dict) -> list:
    """What in one snapshot is not yet as designed (empty when every scenario has played)."""
    wrong = [f"deployment {name} ready {snap['workloads'].get(name, {}).get('ready', 0)}/{replicas}"
             for name, replicas in HEALTHY.items() if snap["workloads"].get(name, {}).get("ready", 0) != replicas]
    for scenario in SCENARIOS:
        row = snap["scenarios"].get(scenario)
        if not row or not _scenario_ok(scenario, row):
            wrong.append(f"{scenario}: {row}")
    if snap["pdbs"]["web"]["disruptions_allowed"] != 1:
        wrong.append(f"pdb web disruptionsAllowed {snap['pdbs']['web']['disruptions_allowed']}")
    return wrong


def settle(kubectl: Kubectl) -> dict:
    """Wait until the real kubelet has played every scenario and the healthy workloads are ready; the
    ground truth is the very snapshot that showed it (a crash-looper re-read later may be running again)."""
    taken = {}

    def probe():
        taken["snapshot"] = snapshot(kubectl)
        wrong = unsettled(taken["snapshot"])
        return not wrong, wrong
    _wait("the real node's workloads to settle", probe, timeout=SETTLE_TIMEOUT, interval=2.0)
    return taken["snapshot"]


def snapshot(kubectl: Kubectl) -> dict:
    pods = kubectl.items("pods", NAMESPACE)
    deployments = kubectl.items("deployments", NAMESPACE)
    workloads = {}
    for dep in deployments:
        name = dep["metadata"]["name"]
        selector = dep["spec"]["selector"]["matchLabels"]
        mine = [p for p in pods if all(p["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())]
        workloads[name] = {"replicas": dep["spec"]["replicas"], "ready": dep.get("status", {}).get("readyReplicas", 0),
                           "pdb": "web" if name == "web" else None, "pods": sorted(p["metadata"]["name"] for p in mine),
                           "nodes": sorted({p["spec"].get("nodeName") for p in mine})}
    scenarios = {}
    for pod in pods:
        scenario = pod["metadata"].get("labels", {}).get(SCENARIO_LABEL)
        if scenario:
            row = {**_status(pod), "deleting": bool(pod["metadata"].get("deletionTimestamp"))}
            if scenario == "NotReady":
                row["probe_events"] = _probe_events(kubectl, row["pod"])[:3]
            scenarios[scenario] = row
    pdb = kubectl.get("pdb", "web", NAMESPACE)
    return {
        "node": NODE, "namespace": NAMESPACE, "workloads": dict(sorted(workloads.items())),
        "scenarios": dict(sorted(scenarios.items())),
        "pdbs": {"web": {"disruptions_allowed": pdb["status"].get("disruptionsAllowed"), "expected_pods": pdb["status"].get("expectedPods"),
                         "min_available": pdb["spec"].get("minAvailable")}},
    }


if __name__ == "__main__":  # print the live truth of a running lab
    import sys
    from pathlib import Path
    lab = json.loads(Path(sys.argv[1]).read_text())["k8s"]
    print(json.dumps(snapshot(Kubectl(Path(lab["kubectl"]), Path(lab["kubeconfig"]))), indent=2))
