# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pod rules: container waiting/terminated reasons with the real cause, scheduling, evictions,
restarts judged by recency, pods stuck terminating."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .model import age_seconds, dig, finding, human_duration, meta

IMAGE_REASONS = ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
                 "ImageInspectError", "RegistryUnavailable", "SignatureValidationFailed")
START_REASONS = ("CreateContainerError", "PreCreateHookError", "PreStartHookError", "PostStartHookError", "RunContainerError")
CONFIG_REASONS = ("CreateContainerConfigError",)
STARTING_REASONS = ("ContainerCreating", "PodInitializing")
SIGNALS = {1: "SIGHUP", 2: "SIGINT", 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM"}

FIX_CRASHLOOP = "Read the previous logs (kubectl logs --previous) and fix the crash; the evidence holds the last exit."
FIX_OOM = "Raise the container's memory limit or fix the leak; the kernel killed it at its limit."
FIX_IMAGE = "Fix the image name/tag or the registry credentials (imagePullSecrets), then let the pod retry."
FIX_CONFIG = "Create the missing ConfigMap/Secret/key named in the message, or fix the reference (or runAsNonRoot vs a root image)."
FIX_START = "The runtime could not create or start the container: read the message (command, mounts, hooks) and fix the spec."


def owner_of(obj):
    refs = meta(obj).get("ownerReferences") or []
    for ref in refs:
        if ref.get("controller"):
            return ref.get("kind") or "", ref.get("name") or ""
    if refs:
        return refs[0].get("kind") or "", refs[0].get("name") or ""
    return "", ""


def _exit_text(code):
    if code is None:
        return ""
    code = int(code)
    if code > 128 and code - 128 in SIGNALS:
        return "%d (%s)" % (code, SIGNALS[code - 128])
    return str(code)


def _last_terminated(status):
    return dig(status, "lastState", "terminated") or {}


def _terminated_evidence(term, now):
    if not term:
        return {}
    return {
        "last_reason": term.get("reason") or "",
        "last_exit_code": term.get("exitCode"),
        "last_exit": _exit_text(term.get("exitCode")),
        "last_finished": term.get("finishedAt") or "",
        "last_finished_ago": human_duration(age_seconds(term.get("finishedAt"), now)),
        "last_message": (term.get("message") or "")[:300],
    }


def _base_evidence(pod, status, init):
    owner_kind, owner_name = owner_of(pod)
    ev = {"container": status.get("name") or "", "restarts": int(status.get("restartCount") or 0),
          "node": dig(pod, "spec", "nodeName") or "", "phase": dig(pod, "status", "phase") or ""}
    if init:
        ev["init_container"] = init
    if owner_kind:
        ev["owner"] = "%s/%s" % (owner_kind, owner_name)
    return ev


def _sidecar_names(pod):
    return set(c.get("name") for c in dig(pod, "spec", "initContainers", default=[]) if c.get("restartPolicy") == "Always")


def judge_container(pod, status, init, now, thresholds, pod_age):
    """Findings for one container status. `init` is '', 'init' or 'sidecar'."""
    ns, name = meta(pod).get("namespace"), meta(pod).get("name")
    state = status.get("state") or {}
    waiting = state.get("waiting") or {}
    reason = waiting.get("reason") or ""
    message = (waiting.get("message") or "")[:300]
    last = _last_terminated(status)
    ev = _base_evidence(pod, status, init)
    label = "%scontainer %s" % ((init + " ") if init else "", status.get("name"))
    if reason == "CrashLoopBackOff":
        ev.update(_terminated_evidence(last, now))
        ev["state"] = reason
        cause = last.get("reason") or "unknown"
        if cause == "OOMKilled":
            return [finding("pod.oomkilled", "critical", "Pod", name,
                            "%s is crash-looping, killed for memory (OOMKilled, %d restarts)" % (label, ev["restarts"]),
                            FIX_OOM, namespace=ns, evidence=ev)]
        return [finding("pod.crashloop", "critical", "Pod", name,
                        "%s is in CrashLoopBackOff: last exit %s (%s), %d restarts"
                        % (label, ev.get("last_exit") or "?", cause, ev["restarts"]),
                        FIX_CRASHLOOP, namespace=ns, evidence=ev)]
    if reason in IMAGE_REASONS:
        ev.update({"state": reason, "message": message, "image": status.get("image") or ""})
        return [finding("pod.image_pull", "critical", "Pod", name, "%s cannot pull its image: %s" % (label, reason),
                        FIX_IMAGE, namespace=ns, evidence=ev)]
    if reason in CONFIG_REASONS:
        ev.update({"state": reason, "message": message})
        return [finding("pod.config_error", "critical", "Pod", name, "%s cannot be created: %s" % (label, message or reason),
                        FIX_CONFIG, namespace=ns, evidence=ev)]
    if reason in START_REASONS:
        ev.update({"state": reason, "message": message})
        return [finding("pod.container_error", "critical", "Pod", name, "%s failed to start: %s" % (label, reason),
                        FIX_START, namespace=ns, evidence=ev)]
    pending_after = thresholds["pending_minutes"] * 60
    if reason and pod_age is not None and pod_age > pending_after:
        ev.update({"state": reason, "message": message, "pod_age": human_duration(pod_age)})
        return [finding("pod.container_waiting", "warning", "Pod", name,
                        "%s has been waiting (%s) for %s" % (label, reason, human_duration(pod_age)),
                        "Describe the pod (kubectl describe pod) and its events to see why the container does not start.",
                        namespace=ns, evidence=ev)]
    return _judge_terminations(pod, status, init, now, thresholds, ev, label, state)


def _judge_terminations(pod, status, init, now, thresholds, ev, label, state):
    ns, name = meta(pod).get("namespace"), meta(pod).get("name")
    window = thresholds["restart_window_minutes"] * 60
    current = state.get("terminated") or {}
    if current.get("reason") == "OOMKilled" and not (init == "init" and current.get("exitCode") == 0):
        ev.update({"state": "terminated", "reason": "OOMKilled", "exit_code": current.get("exitCode"),
                   "finished": current.get("finishedAt") or ""})
        return [finding("pod.oomkilled", "warning", "Pod", name, "%s was OOMKilled" % label, FIX_OOM, namespace=ns, evidence=ev)]
    last = _last_terminated(status)
    last_age = age_seconds(last.get("finishedAt"), now)
    recent = last_age is not None and last_age <= window
    if last.get("reason") == "OOMKilled":
        # an old OOM kill is history worth knowing, a recent one is a live problem
        ev.update(_terminated_evidence(last, now))
        return [finding("pod.oomkilled", "warning" if recent else "info", "Pod", name,
                        "%s was OOMKilled %s ago and restarted (%d restarts)" % (label, ev["last_finished_ago"], ev["restarts"]),
                        FIX_OOM, namespace=ns, evidence=ev)]
    restarts = ev["restarts"]
    # restartCount lives only as long as the pod object; old restarts with no recent exit are history
    if restarts >= thresholds["restarts_warning"] and recent:
        severity = "critical" if restarts >= thresholds["restarts_critical"] else "warning"
        ev.update(_terminated_evidence(last, now))
        return [finding("pod.restarts", severity, "Pod", name,
                        "%s restarted %d times, last exit %s (%s) %s ago"
                        % (label, restarts, ev.get("last_exit") or "?", last.get("reason") or "unknown", ev["last_finished_ago"]),
                        FIX_CRASHLOOP, namespace=ns, evidence=ev)]
    return []


def _scheduled_condition(pod):
    for cond in dig(pod, "status", "conditions", default=[]):
        if cond.get("type") == "PodScheduled":
            return cond
    return {}


def judge_pending(pod, now, thresholds, pod_age):
    ns, name = meta(pod).get("namespace"), meta(pod).get("name")
    cond = _scheduled_condition(pod)
    owner_kind, owner_name = owner_of(pod)
    ev = {"phase": "Pending", "pod_age": human_duration(pod_age)}
    if owner_kind:
        ev["owner"] = "%s/%s" % (owner_kind, owner_name)
    if cond.get("status") == "False":
        reason = cond.get("reason") or ""
        ev.update({"reason": reason, "message": (cond.get("message") or "")[:400], "since": cond.get("lastTransitionTime") or ""})
        if reason == "SchedulingGated":
            if pod_age is not None and pod_age > thresholds["pending_minutes"] * 60:
                return [finding("pod.scheduling_gated", "info", "Pod", name, "Pod is held by scheduling gates for %s" % ev["pod_age"],
                                "A controller must remove spec.schedulingGates; check the component that owns the gate.",
                                namespace=ns, evidence=ev)]
            return []
        return [finding("pod.unschedulable", "warning", "Pod", name,
                        "Pod cannot be scheduled (%s): %s" % (reason or "no reason", ev["message"] or "no message"),
                        "Read the scheduler message: add capacity, relax requests, node selectors, affinity or tolerations.",
                        namespace=ns, evidence=ev)]
    return []


def judge_failed(pod, now):
    ns, name = meta(pod).get("namespace"), meta(pod).get("name")
    reason = dig(pod, "status", "reason") or ""
    message = (dig(pod, "status", "message") or "")[:300]
    owner_kind, owner_name = owner_of(pod)
    ev = {"phase": "Failed", "reason": reason, "message": message, "node": dig(pod, "spec", "nodeName") or ""}
    if owner_kind:
        ev["owner"] = "%s/%s" % (owner_kind, owner_name)
    if reason == "Evicted":
        return finding("pod.evicted", "warning", "Pod", name, "Pod was evicted: %s" % (message or "no message"),
                       "Find the node pressure that caused it; delete the evicted pod object once understood.",
                       namespace=ns, evidence=ev)
    return finding("pod.failed", "warning", "Pod", name, "Pod failed (%s): %s" % (reason or "no reason", message or "no message"),
                   "Inspect the pod's containers and events; delete it once understood (its controller, if any, made a new one).",
                   namespace=ns, evidence=ev)


def judge_pod(pod, now, thresholds):
    """All findings for one pod (callers skip pods on lost nodes: their status is stale)."""
    ns, name = meta(pod).get("namespace"), meta(pod).get("name")
    phase = dig(pod, "status", "phase") or ""
    owner_kind = owner_of(pod)[0]
    pod_age = age_seconds(meta(pod).get("creationTimestamp"), now)
    deleting = meta(pod).get("deletionTimestamp")
    if deleting:
        grace = int(meta(pod).get("deletionGracePeriodSeconds") or 30)
        overdue = age_seconds(deleting, now)
        if overdue is not None and overdue > thresholds["terminating_minutes"] * 60:
            return [finding("pod.stuck_terminating", "warning", "Pod", name,
                            "Pod has been terminating for %s" % human_duration(overdue + grace),
                            "Check finalizers and the node; force deletion only when the node is gone.",
                            namespace=ns, evidence={"deletion_timestamp": deleting, "finalizers": meta(pod).get("finalizers") or [],
                                                    "node": dig(pod, "spec", "nodeName") or ""})]
        return []
    if phase == "Succeeded":
        return []
    if phase == "Failed":
        # Job pods fail by design (backoffLimit retries): the Job's own condition is judged instead
        return [] if owner_kind == "Job" else [judge_failed(pod, now)]
    out = []
    if phase == "Pending" and not dig(pod, "spec", "nodeName"):
        out.extend(judge_pending(pod, now, thresholds, pod_age))
    sidecars = _sidecar_names(pod)
    for status in dig(pod, "status", "initContainerStatuses", default=[]):
        kind = "sidecar" if status.get("name") in sidecars else "init"
        out.extend(judge_container(pod, status, kind, now, thresholds, pod_age))
    init_blocked = bool(out)
    for status in dig(pod, "status", "containerStatuses", default=[]):
        found = judge_container(pod, status, "", now, thresholds, pod_age)
        # app containers wait in PodInitializing behind a failing init container: one cause, one finding
        out.extend(f for f in found if not (init_blocked and f["id"] == "pod.container_waiting"))
    if phase == "Pending" and not out and pod_age is not None and pod_age > thresholds["pending_minutes"] * 60:
        out.append(finding("pod.pending", "warning", "Pod", name, "Pod has been Pending for %s" % human_duration(pod_age),
                           "Describe the pod: volumes, image pulls or the node may be blocking it.",
                           namespace=ns, evidence={"phase": phase, "node": dig(pod, "spec", "nodeName") or "",
                                                   "pod_age": human_duration(pod_age)}))
    if phase == "Running" and not out:
        out.extend(_judge_not_ready(pod, now, thresholds))
    return out


def _judge_not_ready(pod, now, thresholds):
    for cond in dig(pod, "status", "conditions", default=[]):
        if cond.get("type") != "Ready" or cond.get("status") == "True":
            continue
        since = age_seconds(cond.get("lastTransitionTime"), now)
        if since is None or since <= thresholds["pending_minutes"] * 60:
            return []
        not_ready = sorted(s.get("name") for s in dig(pod, "status", "containerStatuses", default=[]) if not s.get("ready"))
        if not not_ready and cond.get("reason") != "ReadinessGatesNotReady":
            return []
        return [finding("pod.not_ready", "warning", "Pod", meta(pod).get("name"),
                        "Pod is Running but not Ready for %s (%s)" % (human_duration(since), cond.get("reason") or "no reason"),
                        "Check the readiness probe and the containers' logs.",
                        namespace=meta(pod).get("namespace"),
                        evidence={"reason": cond.get("reason") or "", "containers_not_ready": not_ready,
                                  "since": cond.get("lastTransitionTime") or ""})]
    return []
