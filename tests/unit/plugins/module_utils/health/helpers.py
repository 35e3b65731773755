"""Builders for API-shaped dicts used by the health engine tests."""
from __future__ import annotations

import datetime

NOW = datetime.datetime(2026, 11, 24, 12, 0, 0, tzinfo=datetime.timezone.utc)


def ago(seconds):
    return (NOW - datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def node(name, conditions=None, roles=(), kubelet="v1.36.4", unschedulable=False, taints=None):
    conds = conditions if conditions is not None else [
        {"type": "Ready", "status": "True", "lastTransitionTime": ago(86400)},
        {"type": "MemoryPressure", "status": "False"},
        {"type": "DiskPressure", "status": "False"},
        {"type": "PIDPressure", "status": "False"},
    ]
    labels = {"node-role.kubernetes.io/%s" % r: "" for r in roles}
    return {"metadata": {"name": name, "labels": labels},
            "spec": {"unschedulable": unschedulable, "taints": taints or []},
            "status": {"conditions": conds, "nodeInfo": {"kubeletVersion": kubelet, "containerRuntimeVersion": "containerd://2.1.4"}}}


def pod(name, ns="app", phase="Running", statuses=None, init_statuses=None, owner=None, node_name="n1",
        created=7200, conditions=None, spec=None, reason=None, message=None, labels=None, deleted=None):
    meta = {"name": name, "namespace": ns, "creationTimestamp": ago(created), "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
    if deleted is not None:
        meta["deletionTimestamp"] = ago(deleted)
    body = {"metadata": meta, "spec": dict({"nodeName": node_name, "containers": [{"name": "app", "image": "app:1"}]}, **(spec or {})),
            "status": {"phase": phase, "conditions": conditions or [], "containerStatuses": statuses or []}}
    if init_statuses is not None:
        body["status"]["initContainerStatuses"] = init_statuses
    if reason:
        body["status"]["reason"] = reason
    if message:
        body["status"]["message"] = message
    return body


def status(name="app", waiting=None, running=True, last=None, restarts=0, ready=True, terminated=None):
    state = {}
    if waiting:
        state["waiting"] = waiting
    elif terminated:
        state["terminated"] = terminated
    elif running:
        state["running"] = {"startedAt": ago(600)}
    out = {"name": name, "state": state, "restartCount": restarts, "ready": ready, "image": "app:1"}
    if last:
        out["lastState"] = {"terminated": last}
    return out


def ids(findings):
    return sorted(f["id"] for f in findings)
