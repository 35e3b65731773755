# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""memory_hog on a pod: find the target, preflight against its limits, run a helper pod, clean up.

Takes any object with the K8sClient methods (get, list_all, create, delete, get_text); imports
no client itself. The rules (limits, spec, outcome) live in ``memory.py``.
"""

from __future__ import annotations

import json
import time

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import memory
from ansible_collections.sre.toolkit.plugins.module_utils._errors import UNANSWERED_KINDS, ToolkitError

GRACE_SECONDS = 2
# After a create that got no answer (UNANSWERED_KINDS) the apiserver may still store the helper: the
# cleanup watches this long for it to appear before it says nothing is left.
APPEAR_SECONDS = 30.0


def pods_path(namespace, name=None):
    base = "/api/v1/namespaces/%s/pods" % namespace
    return "%s/%s" % (base, name) if name else base


def find_targets(client, namespace, pod_name, label_selector):
    if pod_name:
        pod = client.get_or_none(pods_path(namespace, pod_name))
        if pod is None:
            raise ToolkitError("pod_name: pod %s/%s does not exist" % (namespace, pod_name), kind="not_found")
        return [pod]
    pods = client.list_all(pods_path(namespace), params={"labelSelector": label_selector})
    if not pods:
        raise ToolkitError("label_selector: no pod in namespace %s matches %r" % (namespace, label_selector), kind="not_found")
    return pods


def node_allocatable(client, node_name):
    """The node's allocatable memory, or None when it cannot be read (RBAC may forbid nodes)."""
    try:
        node = client.get("/api/v1/nodes/%s" % node_name)
    except ToolkitError:
        return None
    value = node.get("status", {}).get("allocatable", {}).get("memory")
    return memory.parse_bytes(value, "allocatable.memory", api=True) if value else None


def shown_spec(pod):
    """The helper pod as shown in results: the stressor source replaced by its size."""
    shown = json.loads(json.dumps(pod))
    command = shown["spec"]["containers"][0]["command"]
    command[2] = "<stressor.py source, %d bytes>" % len(command[2])
    return shown


def _helpers(client, namespace, selector):
    return sorted(p["metadata"]["name"] for p in client.list_all(pods_path(namespace), params={"labelSelector": selector}))


def clean_up(client, namespace, selector, wait=30.0, check_mode=False, appear_within=0.0):
    """Delete every helper pod matching the selector and wait until they are gone.

    appear_within: seconds to keep looking while none is found (a create that may still land).
    """
    found = _helpers(client, namespace, selector)
    appear_end = time.monotonic() + appear_within
    while not found and not check_mode and time.monotonic() < appear_end:
        time.sleep(1.0)
        found = _helpers(client, namespace, selector)
    if check_mode or not found:
        return {"selector": selector, "namespace": namespace, "found": found, "deleted": [], "remaining": found if check_mode else []}
    deleted = []
    for name in found:
        try:
            # Graceful (2 s): the object disappears only once the kubelet has stopped the container,
            # so an empty `remaining` means the stressor is really gone, not just its API object.
            client.delete(pods_path(namespace, name), params={"gracePeriodSeconds": GRACE_SECONDS})
            deleted.append(name)
        except ToolkitError as exc:
            if exc.kind != "not_found":
                raise
            deleted.append(name)
    end = time.monotonic() + wait
    remaining = found
    while remaining and time.monotonic() < end:
        time.sleep(0.5)
        remaining = _helpers(client, namespace, selector)
    return {"selector": selector, "namespace": namespace, "found": found, "deleted": deleted, "remaining": remaining}


def read_peak(client, namespace, helper_name):
    """The stressor's last log line carries the peak RSS it measured; kwok (and RBAC) may have no logs."""
    try:
        text = client.get_text(pods_path(namespace, helper_name) + "/log", params={"container": memory.HELPER_CONTAINER})
    except ToolkitError as exc:
        return {"hog_rss_bytes": None, "source": "unavailable: %s" % exc.msg}
    for line in reversed((text or "").strip().splitlines()):
        try:
            summary = json.loads(line)
        except ValueError:
            continue
        if isinstance(summary, dict) and "peak_rss_bytes" in summary:
            # A worker SIGKILLed inside the target's cgroup: the target's limit was reached and the
            # kernel's OOM killer chose the hog (largest RSS) over the target's own processes.
            killed = [w for w in summary.get("workers", []) if isinstance(w, dict) and w.get("signal") == 9]
            return {"hog_rss_bytes": summary["peak_rss_bytes"], "source": "helper log", "oom_killed_workers": len(killed)}
    return {"hog_rss_bytes": None, "source": "unavailable: no summary line in the helper's log"}


def utc_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class PodHog:
    """One run against one pod: preflight first, then the helper, the wait, the cleanup."""

    def __init__(self, client, params, run_id, stressor_source, poll=1.0, stop_check=None):
        self.client = client
        # Returns an outcome word when the run must end now (e.g. ansible-playbook is gone), else None.
        self.stop_check = stop_check or (lambda: None)
        self.params = params
        self.run_id = run_id
        self.source = stressor_source
        self.poll = poll
        self.namespace = params["namespace"]
        self.helper_namespace = params.get("helper_namespace") or self.namespace
        self.create_unanswered = False

    def prepare(self):
        """Target, sizes, preflight and helper spec: everything check mode reports."""
        pods = find_targets(self.client, self.namespace, self.params.get("pod_name"), self.params.get("label_selector"))
        container = self.params.get("container")
        target, skipped = memory.select_target(pods, container)
        if target is None:
            raise ToolkitError("no target pod is fit for a memory hog: %s" % "; ".join(
                "%s (%s)" % (s["name"], s["reason"]) for s in skipped), kind="not_found", details={"skipped": skipped})
        container = container or memory.default_container(target)
        limits = memory.pod_limits(target, container)
        allocatable = node_allocatable(self.client, target["spec"]["nodeName"])
        size = memory.parse_size(self.params["size"])
        total = memory.resolve_size(size, {"available": allocatable, "cgroup_limit": limits["container_limit"]}, self.params["percent_of"])
        plan = memory.build_plan(total, self.params["workers"], self.params["duration"], self.params["ramp"],
                                 self.params["timeout_margin"], "python")
        verdict = memory.pod_preflight(total, limits, allocatable, memory.parse_size(self.params["safety_margin"], "safety_margin"),
                                       self.params["force"])
        helper = memory.build_helper_pod(target, container, plan, self.params["name"], self.run_id,
                                         self.params["helper_image"], self.source, self.helper_namespace)
        return {
            "target": target, "container": container, "skipped": skipped, "limits": limits,
            "node_allocatable_bytes": allocatable, "plan": plan, "preflight": verdict, "helper": helper,
        }

    def _create_helper(self, body):
        try:
            return self.client.create(pods_path(self.helper_namespace), body)
        except ToolkitError as exc:
            self.create_unanswered = exc.kind in UNANSWERED_KINDS
            raise

    def run(self, prepared):
        """Create the helper, wait for its end (or an OOM kill of the target), always clean up."""
        target = prepared["target"]
        meta = target["metadata"]
        selector = memory.cleanup_selector(self.params["name"], self.run_id)
        started_at = utc_now()
        started = time.monotonic()
        deadline = started + prepared["plan"]["hard_timeout_seconds"]
        outcome, helper, helper_name, new_ooms, peak = "running", None, None, [], None
        try:
            created = self._create_helper(prepared["helper"])
            helper_name = created["metadata"]["name"]
            try:
                while True:
                    now_target = self.client.get_or_none(pods_path(meta["namespace"], meta["name"]))
                    helper = self.client.get_or_none(pods_path(self.helper_namespace, helper_name))
                    target_gone = now_target is None or now_target["metadata"].get("uid") != meta.get("uid")
                    new_ooms = [] if target_gone else memory.new_oom_kills(target, now_target, started_at)
                    outcome = memory.classify_pod_outcome(new_ooms, helper, target_gone, time.monotonic() >= deadline)
                    if outcome == "running":
                        outcome = self.stop_check() or outcome
                    if outcome != "running":
                        break
                    time.sleep(self.poll)
            except KeyboardInterrupt:
                outcome = "interrupted"
            peak = read_peak(self.client, self.helper_namespace, helper_name)
            if outcome == "completed" and peak.get("oom_killed_workers"):
                outcome = "hog_oom_killed"  # the helper exits 0 even when the kernel killed its workers
        finally:
            ended_at = utc_now()
            cleanup = clean_up(self.client, self.helper_namespace, selector, appear_within=APPEAR_SECONDS if self.create_unanswered else 0.0)
        return {
            "outcome": outcome, "started_at": started_at, "ended_at": ended_at,
            "elapsed_seconds": round(time.monotonic() - started, 3),
            "oom_killed": bool(new_ooms), "oom_kills": new_ooms,
            "helper": {"name": helper_name, "namespace": self.helper_namespace,
                       "phase": (helper or {}).get("status", {}).get("phase"),
                       "reason": (helper or {}).get("status", {}).get("reason")},
            "peak": peak, "cleanup": cleanup,
        }
