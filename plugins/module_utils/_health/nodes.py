# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node rules: conditions judged by their own polarity, cordons, taints, node Leases, roles."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .model import age_seconds, dig, finding, human_duration, meta

# Polarity is a property of the condition type, never guessed from its name.
# type -> (healthy status, finding id, severity when bad, fix)
PROBLEM_WHEN_TRUE = {
    "MemoryPressure": ("node.memory_pressure", "warning", "Free memory on the node or move pods away; the kubelet is evicting."),
    "DiskPressure": ("node.disk_pressure", "warning", "Free disk (images, logs, emptyDir) on the node; the kubelet is evicting."),
    "PIDPressure": ("node.pid_pressure", "warning", "Find the pod forking processes; set pod PID limits."),
    "NetworkUnavailable": ("node.network_unavailable", "critical", "Check the CNI / route controller for this node."),
    # node-problem-detector
    "KernelDeadlock": ("node.problem_detected", "warning", "Inspect the kernel log on the node; reboot it if the deadlock persists."),
    "ReadonlyFilesystem": ("node.problem_detected", "warning", "The node's filesystem went read-only: drain and repair the node."),
    "FrequentKubeletRestart": ("node.problem_detected", "warning", "Check kubelet logs on the node for the crash cause."),
    "FrequentContainerdRestart": ("node.problem_detected", "warning", "Check containerd logs on the node for the crash cause."),
    "FrequentDockerRestart": ("node.problem_detected", "warning", "Check the container runtime logs on the node."),
    "CorruptDockerOverlay2": ("node.problem_detected", "warning", "Drain the node and rebuild its overlay2 storage."),
}
# Cloud agents name conditions after readiness (EKS node monitoring agent): False is the problem.
PROBLEM_WHEN_FALSE = {
    "ContainerRuntimeReady": ("node.agent_not_ready", "warning", "The container runtime on the node is unhealthy; check the node agent."),
    "StorageReady": ("node.agent_not_ready", "warning", "Node storage is unhealthy according to the node agent."),
    "NetworkingReady": ("node.agent_not_ready", "warning", "Node networking is unhealthy according to the node agent."),
    "KernelReady": ("node.agent_not_ready", "warning", "The node agent reports a kernel problem."),
}
# Admin-set maintenance conditions: True means planned work, reported as information.
MAINTENANCE = ("GracefulNodeShutdownInProgress", "DrainInProgress", "Drained", "MaintenancePlanned", "MaintenanceInProgress")
# Informational types some distributions add, never judged.
INFORMATIONAL = ("EtcdIsVoter",)

ROLE_PREFIX = "node-role.kubernetes.io/"
# Taints the control plane itself manages from conditions; the condition findings already cover them.
MANAGED_TAINT_PREFIXES = ("node.kubernetes.io/", "node.cloudprovider.kubernetes.io/uninitialized")
ROLE_TAINTS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


def node_roles(node):
    labels = meta(node).get("labels") or {}
    roles = sorted(key[len(ROLE_PREFIX):] for key in labels if key.startswith(ROLE_PREFIX) and key[len(ROLE_PREFIX):])
    if not roles and labels.get("kubernetes.io/role"):
        roles = [labels["kubernetes.io/role"]]
    return roles


def ready_state(node):
    """'True', 'False', 'Unknown' or 'Missing' for the Ready condition."""
    for cond in dig(node, "status", "conditions", default=[]):
        if cond.get("type") == "Ready":
            return cond.get("status") or "Unknown"
    return "Missing"


def _cond_evidence(cond, now):
    since = age_seconds(cond.get("lastTransitionTime"), now)
    return {
        "condition": cond.get("type"),
        "status": cond.get("status"),
        "reason": cond.get("reason") or "",
        "message": (cond.get("message") or "")[:300],
        "since": cond.get("lastTransitionTime") or "",
        "for": human_duration(since),
        "last_heartbeat": cond.get("lastHeartbeatTime") or "",
    }


def judge_ready(name, cond, now):
    status = cond.get("status")
    ev = _cond_evidence(cond, now)
    if status == "True":
        return None
    if status == "False":
        return finding("node.not_ready", "critical", "Node", name,
                       "Node is NotReady for %s (%s)" % (ev["for"], ev["reason"] or "no reason"),
                       "Check the kubelet and container runtime on the node (journalctl -u kubelet); drain it if it does not recover.",
                       evidence=ev)
    return finding("node.unreachable", "critical", "Node", name,
                   "Node stopped reporting for %s: Ready is %s (%s)" % (ev["for"], status or "Unknown", ev["reason"] or "no reason"),
                   "The kubelet stopped posting status: check the machine, its network and the kubelet; its pods are stale.",
                   evidence=ev)


def judge_condition(name, cond, now, ready_unknown):
    """One non-Ready condition -> finding or None. Unknown types are information, never failures."""
    ctype = cond.get("type") or ""
    status = cond.get("status") or "Unknown"
    if ctype in INFORMATIONAL:
        return None
    ev = _cond_evidence(cond, now)
    if ctype in PROBLEM_WHEN_TRUE:
        fid, severity, fix = PROBLEM_WHEN_TRUE[ctype]
        if status == "True":
            return finding(fid, severity, "Node", name, "%s is True for %s" % (ctype, ev["for"]), fix, evidence=ev)
        if status == "Unknown" and not ready_unknown:
            return finding("node.condition_unknown", "warning", "Node", name, "%s is Unknown" % ctype,
                           "The component that owns this condition stopped reporting; check it on the node.", evidence=ev)
        return None
    if ctype in PROBLEM_WHEN_FALSE:
        fid, severity, fix = PROBLEM_WHEN_FALSE[ctype]
        if status == "False":
            return finding(fid, severity, "Node", name, "%s is False for %s" % (ctype, ev["for"]), fix, evidence=ev)
        return None
    if ctype in MAINTENANCE:
        if status == "True":
            return finding("node.maintenance", "info", "Node", name, "%s is True" % ctype,
                           "Planned maintenance: expect this node to drain; nothing to fix unless it is unexpected.", evidence=ev)
        return None
    return finding("node.unknown_condition", "info", "Node", name,
                   "Condition %s=%s has no known polarity" % (ctype, status),
                   "Not judged: check what sets this condition (a node agent or problem detector) and whether %s is healthy." % status,
                   evidence=ev)


def judge_node(node, now):
    """All condition, cordon and taint findings for one node."""
    name = meta(node).get("name")
    out = []
    conditions = dig(node, "status", "conditions", default=[])
    ready = [c for c in conditions if c.get("type") == "Ready"]
    if not ready:
        out.append(finding("node.not_ready", "critical", "Node", name, "Node has no Ready condition",
                           "The kubelet never reported status: check that it runs and can reach the API server.",
                           evidence={"condition": "Ready", "status": "Missing"}))
    ready_unknown = bool(ready) and ready[0].get("status") not in ("True", "False")
    for cond in conditions:
        item = judge_ready(name, cond, now) if cond.get("type") == "Ready" else judge_condition(name, cond, now, ready_unknown)
        if item:
            out.append(item)
    if dig(node, "spec", "unschedulable"):
        out.append(finding("node.cordoned", "warning", "Node", name, "Node is cordoned (unschedulable)",
                           "Uncordon the node when maintenance is over: kubectl uncordon %s." % name,
                           evidence={"unschedulable": True}))
    extra = [t for t in dig(node, "spec", "taints", default=[])
             if t.get("effect") in ("NoSchedule", "NoExecute")
             and not (t.get("key") or "").startswith(MANAGED_TAINT_PREFIXES)
             and t.get("key") not in ROLE_TAINTS]
    if extra:
        out.append(finding("node.tainted", "info", "Node", name,
                           "Node carries %d scheduling taint(s): %s" % (len(extra), ", ".join(sorted(t.get("key", "") for t in extra))),
                           "Only pods with matching tolerations land here; remove the taint if it is left over.",
                           evidence={"taints": sorted(("%s=%s:%s" % (t.get("key", ""), t.get("value", ""), t.get("effect", ""))) for t in extra)}))
    return out


def judge_node_lease(node_name, lease, now, stale_after):
    """A node Lease older than `stale_after` seconds means the kubelet stopped heartbeating."""
    if lease is None:
        return finding("node.lease_missing", "warning", "Node", node_name, "Node has no Lease in kube-node-lease",
                       "The kubelet has not created its heartbeat Lease: check the kubelet and its RBAC.",
                       evidence={"namespace": "kube-node-lease"})
    renew = dig(lease, "spec", "renewTime") or dig(lease, "spec", "acquireTime")
    age = age_seconds(renew, now)
    if age is None or age > stale_after:
        return finding("node.lease_stale", "critical", "Node", node_name,
                       "Node heartbeat Lease last renewed %s ago" % human_duration(age),
                       "The kubelet stopped renewing its Lease: check the node and the kubelet.",
                       evidence={"renew_time": renew or "", "age_seconds": age, "stale_after_seconds": stale_after,
                                 "holder": dig(lease, "spec", "holderIdentity") or ""})
    return None
