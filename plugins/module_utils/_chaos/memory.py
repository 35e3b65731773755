# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""memory_hog engine: sizes, preflight, pod-target specs and outcomes. Pure logic.

Everything here takes plain data (text of /proc files, pod dicts as the API returns them) and
returns plain dicts, so unit tests drive it without a host or a cluster. Every preflight check
has a stable id (``host.mem_available``, ``pod.container_limit`` ...).
"""

from __future__ import annotations

import json
import re

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError

PAGE = 4096
# cgroup v1 reports "no limit" as a huge page-aligned number.
UNLIMITED_FLOOR = 1 << 60

DECIMAL = {"k": 10 ** 3, "m": 10 ** 6, "g": 10 ** 9, "t": 10 ** 12, "p": 10 ** 15, "e": 10 ** 18}
BINARY = {"ki": 2 ** 10, "mi": 2 ** 20, "gi": 2 ** 30, "ti": 2 ** 40, "pi": 2 ** 50, "ei": 2 ** 60}

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_CHAOS = "sre.toolkit/chaos"
LABEL_HOG_NAME = "sre.toolkit/hog-name"
LABEL_RUN_ID = "sre.toolkit/run-id"
LABEL_TARGET = "sre.toolkit/target-pod"
CHAOS_KIND = "memory-hog"
HELPER_CONTAINER = "memory-hog"
HOST_CGROUP_MOUNT = "/host/sys/fs/cgroup"

_NUMBER_UNIT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?(?:[eE][0-9]+)?)\s*([A-Za-z]*)\s*$")
_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9._-]")


def invalid(param, msg):
    return ToolkitError("%s: %s" % (param, msg), kind="invalid", details={"param": param})


# ---------------------------------------------------------------- sizes

def _unit_factor(unit, param, api):
    low = unit.lower()
    if low in ("", "b"):
        return 1
    if unit == "m":
        if api:
            return None  # Kubernetes milli-bytes; handled by the caller
        raise invalid(param, "'m' means milli in Kubernetes quantities; write Mi (2^20 bytes) or M (10^6 bytes)")
    if low.endswith("ib") and low[:-1] in BINARY:
        return BINARY[low[:-1]]
    if low in BINARY:
        return BINARY[low]
    if low.endswith("b") and low[:-1] in DECIMAL:
        return DECIMAL[low[:-1]]
    if low in DECIMAL:
        return DECIMAL[low]
    raise invalid(param, "unknown unit %r; use B, K/KB, M/MB, G/GB, T/TB (powers of 10) or Ki/KiB, Mi/MiB, Gi/GiB, Ti/TiB (powers of 2)" % unit)


def parse_bytes(text, param, api=False):
    """'300Mi', '1G', '1.5GiB', '1048576' -> bytes. api=True also accepts Kubernetes' milli suffix."""
    match = _NUMBER_UNIT.match(str(text))
    if not match:
        raise invalid(param, "%r is not a size; write bytes like '300Mi', '1G' or a percent like '20%%'" % (text,))
    number, unit = float(match.group(1)), match.group(2)
    factor = _unit_factor(unit, param, api)
    if factor is None:
        return int(number / 1000)
    return int(number * factor)


def parse_size(text, param="size"):
    """A size option: {'bytes': n} or {'percent': p}."""
    if text is None or str(text).strip() == "":
        raise invalid(param, "is required; write bytes like '300Mi' or a percent like '20%'")
    match = _PERCENT.match(str(text))
    if match:
        percent = float(match.group(1))
        if not 0 < percent <= 100:
            raise invalid(param, "percent must be above 0 and at most 100, got %s" % text)
        return {"percent": percent}
    value = parse_bytes(text, param)
    if value <= 0:
        raise invalid(param, "must be more than 0 bytes, got %r" % (text,))
    return {"bytes": value}


def resolve_size(spec, bases, percent_of, param="size"):
    """Turn a parsed size into bytes; percents apply to bases[percent_of]."""
    if "bytes" in spec:
        return spec["bytes"]
    base = bases.get(percent_of)
    if not base:
        raise invalid(param, "is a percent of %s, but this target has no %s; give bytes or another percent_of" % (percent_of, percent_of))
    return int(base * spec["percent"] / 100.0)


def human(n):
    """Bytes for messages: binary units, one decimal."""
    if n is None:
        return "n/a"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024.0
    return str(n)


# ---------------------------------------------------------------- plan

def validate_timing(duration, ramp, margin):
    if duration is None or int(duration) < 1:
        raise invalid("duration", "must be at least 1 second, got %r" % (duration,))
    if ramp is None or int(ramp) < 0:
        raise invalid("ramp", "must be 0 or more seconds, got %r" % (ramp,))
    if int(ramp) > int(duration):
        raise invalid("ramp", "(%s s) cannot be longer than duration (%s s)" % (ramp, duration))
    if margin is None or int(margin) < 1:
        raise invalid("timeout_margin", "must be at least 1 second, got %r" % (margin,))


def build_plan(total, workers, duration, ramp, margin, engine):
    """What the stressor will do: per-worker bytes and the two time limits."""
    if workers is None or int(workers) < 1:
        raise invalid("workers", "must be at least 1, got %r" % (workers,))
    validate_timing(duration, ramp, margin)
    if total < int(workers) * PAGE:
        raise invalid("size", "%d bytes is less than one page per worker (%d workers x %d bytes)" % (total, workers, PAGE))
    base, extra = divmod(total, int(workers))
    return {
        "total_bytes": int(total),
        "total_human": human(total),
        "workers": int(workers),
        "bytes_per_worker": [base + (1 if i < extra else 0) for i in range(int(workers))],
        "duration_seconds": int(duration),
        "ramp_seconds": int(ramp),
        "hard_timeout_seconds": int(duration) + int(margin),
        "engine": engine,
    }


def choose_engine(requested, stress_ng_path):
    """python always works; stress-ng only when present (auto falls back to python)."""
    if requested == "python":
        return "python"
    if requested == "stress-ng":
        if not stress_ng_path:
            raise invalid("engine", "stress-ng was asked for but is not on the target's PATH; install it or use engine=python (or auto)")
        return "stress-ng"
    return "stress-ng" if stress_ng_path else "python"


# ---------------------------------------------------------------- /proc parsing

def parse_meminfo(text):
    """/proc/meminfo -> {'mem_total': bytes, 'mem_available': bytes}."""
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("MemTotal:", "MemAvailable:"):
            values[parts[0][:-1]] = int(parts[1]) * (1024 if len(parts) > 2 and parts[2] == "kB" else 1)
    if "MemTotal" not in values or "MemAvailable" not in values:
        raise ToolkitError("cannot read MemTotal/MemAvailable from /proc/meminfo (kernel older than 3.14?)", kind="dependency")
    return {"mem_total": values["MemTotal"], "mem_available": values["MemAvailable"]}


def parse_proc_cgroup(text):
    """/proc/self/cgroup -> {'v2': path or None, 'v1_memory': path or None}."""
    found = {"v2": None, "v1_memory": None}
    for line in text.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        hid, controllers, path = parts
        if hid == "0" and controllers == "":
            found["v2"] = path
        elif "memory" in controllers.split(","):
            found["v1_memory"] = path
    return found


def parse_cgroup_limit(text):
    """memory.max / memory.limit_in_bytes content -> bytes, or None when unlimited."""
    value = (text or "").strip()
    if value in ("", "max"):
        return None
    number = int(value)
    return None if number >= UNLIMITED_FLOOR else number


def parse_proc_stat(text):
    """/proc/<pid>/stat -> pid, comm, state, ppid, start_ticks (the start time that makes a PID unique)."""
    head, _sep, tail = text.rpartition(")")
    pid, _sep, comm = head.partition(" (")
    fields = tail.split()
    # tail starts at field 3 (state); starttime is field 22.
    return {"pid": int(pid), "comm": comm, "state": fields[0], "ppid": int(fields[1]), "start_ticks": int(fields[19])}


# ---------------------------------------------------------------- preflight

def _margin_bytes(margin_spec, base):
    if "bytes" in margin_spec:
        return margin_spec["bytes"]
    return int((base or 0) * margin_spec["percent"] / 100.0)


def _check(check_id, ok, requested, limit, detail):
    return {"id": check_id, "ok": bool(ok), "requested_bytes": requested, "limit_bytes": limit, "detail": detail}


def host_preflight(requested, meminfo, cgroup, margin_spec, force):
    """Refuse sizes beyond MemAvailable (and the cgroup's headroom) minus the safety margin."""
    checks = []
    margin = _margin_bytes(margin_spec, meminfo["mem_total"])
    allowed = meminfo["mem_available"] - margin
    checks.append(_check(
        "host.mem_available", requested <= allowed, requested, allowed,
        "MemAvailable %s minus safety margin %s leaves %s" % (human(meminfo["mem_available"]), human(margin), human(max(0, allowed)))))
    if cgroup and cgroup.get("limit"):
        cg_margin = _margin_bytes(margin_spec, cgroup["limit"])
        cg_allowed = cgroup["limit"] - (cgroup.get("usage") or 0) - cg_margin
        checks.append(_check(
            "host.cgroup_limit", requested <= cg_allowed, requested, cg_allowed,
            "cgroup %s limit %s, usage %s, safety margin %s leaves %s" % (
                cgroup.get("path"), human(cgroup["limit"]), human(cgroup.get("usage")), human(cg_margin), human(max(0, cg_allowed)))))
    return _verdict(checks, force)


def _verdict(checks, force):
    failed = [c for c in checks if not c["ok"]]
    return {
        "ok": not failed or bool(force),
        "forced": bool(failed) and bool(force),
        "checks": checks,
        "refused_by": [c["id"] for c in failed],
        "allowed_bytes": min([c["limit_bytes"] for c in checks]) if checks else None,
    }


def refusal_message(requested, verdict):
    reasons = "; ".join("%s: %s" % (c["id"], c["detail"]) for c in verdict["checks"] if not c["ok"])
    return ("size %s is beyond what the preflight allows (%s). Ask for at most %s, lower safety_margin, "
            "or set force=true to go ahead anyway" % (human(requested), reasons, human(max(0, verdict["allowed_bytes"] or 0))))


# ---------------------------------------------------------------- pod target

def container_spec(pod, name):
    for container in pod.get("spec", {}).get("containers", []) or []:
        if container.get("name") == name:
            return container
    return None


def container_status(pod, name):
    for status in pod.get("status", {}).get("containerStatuses", []) or []:
        if status.get("name") == name:
            return status
    return None


def memory_limit(resources):
    value = ((resources or {}).get("limits") or {}).get("memory")
    return parse_bytes(value, "resources.limits.memory", api=True) if value is not None else None


def pod_limits(pod, container_name):
    """The target container's memory limit and the pod's (pod-level resources, or the sum when every container has one)."""
    container = container_spec(pod, container_name) or {}
    per_container = [memory_limit(c.get("resources")) for c in pod.get("spec", {}).get("containers", []) or []]
    pod_level = memory_limit(pod.get("spec", {}).get("resources"))
    if pod_level is None and per_container and all(v is not None for v in per_container):
        pod_level = sum(per_container)
    return {"container_limit": memory_limit(container.get("resources")), "pod_limit": pod_level}


def select_target(pods, container_name):
    """Blast radius 1: the first settled pod by name; every other pod with the reason it was skipped.

    container_name None means each pod's first container.
    """
    skipped = []
    chosen = None
    for pod in sorted(pods, key=lambda p: p.get("metadata", {}).get("name", "")):
        meta = pod.get("metadata", {})
        reason = _unfit_reason(pod, container_name or default_container(pod))
        if reason is None and chosen is None:
            chosen = pod
            continue
        skipped.append({"name": meta.get("name"), "reason": reason or "blast radius is 1 pod; another pod was chosen"})
    return chosen, skipped


def _unfit_reason(pod, container_name):
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return "terminating"
    if pod.get("status", {}).get("phase") != "Running":
        return "phase is %s, not Running" % pod.get("status", {}).get("phase")
    if not pod.get("spec", {}).get("nodeName"):
        return "not bound to a node"
    if container_spec(pod, container_name) is None:
        return "has no container %r" % container_name
    status = container_status(pod, container_name)
    if not status or not status.get("containerID"):
        return "container %r has no containerID yet" % container_name
    return None


def default_container(pod):
    containers = pod.get("spec", {}).get("containers", []) or []
    return containers[0].get("name") if containers else None


def pod_preflight(requested, limits, node_allocatable, margin_spec, force):
    """Size against the container's limit, then the pod's, else the node's allocatable memory."""
    checks = []
    for check_id, key, what in (("pod.container_limit", "container_limit", "container"), ("pod.pod_limit", "pod_limit", "pod")):
        limit = limits.get(key)
        if limit:
            allowed = limit - _margin_bytes(margin_spec, limit)
            checks.append(_check(check_id, requested <= allowed, requested, allowed,
                                 "%s memory limit %s minus safety margin leaves %s; beyond it the target is OOM-killed" % (
                                     what, human(limit), human(max(0, allowed)))))
    if not checks and node_allocatable:
        allowed = node_allocatable - _margin_bytes(margin_spec, node_allocatable)
        checks.append(_check("pod.node_allocatable", requested <= allowed, requested, allowed,
                             "no memory limit on the target; node allocatable %s minus safety margin leaves %s" % (
                                 human(node_allocatable), human(max(0, allowed)))))
    verdict = _verdict(checks, force)
    verdict["oom_expected"] = bool(verdict["forced"]) and any(c["id"] != "pod.node_allocatable" for c in checks if not c["ok"])
    return verdict


def label_value(text):
    """A valid label value (63 chars, alphanumerics and -_. inside)."""
    cleaned = _LABEL_VALUE.sub("-", str(text))[:63].strip("-_.")
    return cleaned or "x"


def helper_labels(hog_name, run_id, target_name):
    return {
        LABEL_MANAGED_BY: "sre.toolkit",
        LABEL_CHAOS: CHAOS_KIND,
        LABEL_HOG_NAME: label_value(hog_name),
        LABEL_RUN_ID: label_value(run_id),
        LABEL_TARGET: label_value(target_name),
    }


def cleanup_selector(hog_name=None, run_id=None):
    parts = ["%s=%s" % (LABEL_MANAGED_BY, "sre.toolkit"), "%s=%s" % (LABEL_CHAOS, CHAOS_KIND)]
    if hog_name:
        parts.append("%s=%s" % (LABEL_HOG_NAME, label_value(hog_name)))
    if run_id:
        parts.append("%s=%s" % (LABEL_RUN_ID, label_value(run_id)))
    return ",".join(parts)


def container_id(status):
    """'containerd://abc' -> 'abc'."""
    raw = (status or {}).get("containerID") or ""
    return raw.split("://", 1)[-1]


def build_helper_pod(target, container_name, plan, hog_name, run_id, image, stressor_source, namespace):
    """The helper pod: on the target's node, joins the target container's cgroup, self-limited twice.

    A helper pod rather than an ephemeral container: ephemeral containers can never be removed
    from a pod, carry no labels, and take no activeDeadlineSeconds, so cleanup could not find or
    end them; a labelled pod pinned to the node can be listed, deadlined and deleted.
    """
    meta = target.get("metadata", {})
    status = container_status(target, container_name)
    spec = {
        "total": plan["total_bytes"], "workers": plan["workers"], "ramp": plan["ramp_seconds"],
        "duration": plan["duration_seconds"], "hard_timeout": plan["hard_timeout_seconds"],
        "engine": "python", "parent_pid": 0,
        "join_container_id": container_id(status), "cgroup_root": HOST_CGROUP_MOUNT,
    }
    name = label_value("memory-hog-%s-%s" % (meta.get("name", "pod")[:30], run_id))[:63].lower().strip("-.")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": helper_labels(hog_name, run_id, meta.get("name", "")),
            "annotations": {
                "sre.toolkit/target": "%s/%s" % (meta.get("namespace", ""), meta.get("name", "")),
                "sre.toolkit/target-uid": meta.get("uid", ""),
                "sre.toolkit/target-container": container_name,
                "sre.toolkit/size-bytes": str(plan["total_bytes"]),
                "sre.toolkit/duration-seconds": str(plan["duration_seconds"]),
            },
        },
        "spec": {
            "nodeName": target.get("spec", {}).get("nodeName"),
            "restartPolicy": "Never",
            # The kubelet ends the pod here even if the stressor's own alarm failed.
            "activeDeadlineSeconds": plan["hard_timeout_seconds"],
            "terminationGracePeriodSeconds": 2,  # the stressor stops its workers on SIGTERM at once
            "hostPID": True,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{
                "name": HELPER_CONTAINER,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["python3", "-c", stressor_source, json.dumps(spec, sort_keys=True)],
                "securityContext": {"privileged": True},
                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "1"}},
                "volumeMounts": [{"name": "host-cgroup", "mountPath": HOST_CGROUP_MOUNT}],
            }],
            "volumes": [{"name": "host-cgroup", "hostPath": {"path": "/sys/fs/cgroup", "type": "Directory"}}],
        },
    }


# ---------------------------------------------------------------- outcomes

def oom_kills(pod, since=None):
    """Containers whose current or last state is terminated by OOMKilled (finished at/after `since`, RFC 3339 text)."""
    found = []
    for status in pod.get("status", {}).get("containerStatuses", []) or []:
        for where in ("state", "lastState"):
            term = ((status.get(where) or {}).get("terminated")) or {}
            if term.get("reason") != "OOMKilled":
                continue
            finished = term.get("finishedAt")
            if since and finished and finished < since:
                continue
            found.append({"container": status.get("name"), "in": where, "exit_code": term.get("exitCode"),
                          "finished_at": finished, "restart_count": status.get("restartCount", 0)})
    return sorted(found, key=lambda f: (f["container"] or "", f["in"]))


def new_oom_kills(before, after, since):
    """OOM kills of the target that happened during this run (not ones it already showed)."""
    old = {(o["container"], o["in"], o["finished_at"]) for o in oom_kills(before)}
    return [o for o in oom_kills(after, since) if (o["container"], o["in"], o["finished_at"]) not in old]


def classify_pod_outcome(new_ooms, helper, target_gone, deadline_reached):
    """One word for what happened to a pod-target run. An OOM-killed target is an expected result."""
    if new_ooms:
        return "target_oom_killed"
    if target_gone:
        return "target_gone"
    if helper is None:
        return "helper_gone"
    phase = helper.get("status", {}).get("phase")
    if phase == "Succeeded":
        return "completed"
    if phase == "Failed":
        reason = helper.get("status", {}).get("reason")
        return "deadline_exceeded" if reason == "DeadlineExceeded" else "helper_failed"
    if deadline_reached:
        return "stopped_at_deadline" if phase == "Running" else "helper_not_started"
    return "running"


def classify_host_outcome(exit_code, term_signal, stopped_by, summary):
    """One word for a host-target run, from how the stressor ended and who stopped it."""
    if stopped_by:
        return stopped_by
    if exit_code is None and term_signal is None:
        return "running"
    if term_signal == 14:  # SIGALRM: the stressor's own hard timeout fired
        return "stopped_by_hard_timeout"
    if term_signal is not None:
        return "hog_killed"
    killed = [w for w in (summary or {}).get("workers", []) if w.get("signal") == 9]
    if killed:
        return "hog_oom_killed"
    return "completed" if exit_code == 0 else "hog_failed"
