# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The memory_hog service: plan, preflight, clean up leftovers, run (or rehearse) on the host or in a pod.

Orchestration only: the host side goes through ``memory_host`` (processes and state files), the
pod side through ``memory_pod`` with a Kubernetes client from the ``k8s`` factory (the real
``K8sClient`` by default, built only for target=pod). Sizes, refusals and findings come from
the engine (``memory``, ``findings``).
"""
from __future__ import annotations

import socket
import uuid

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import findings, memory, memory_host, memory_pod
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._findings import contract, gate
from ansible_collections.sre.toolkit.plugins.module_utils._k8s import K8sClient


def _refuse_unless_ok(prepared):
    if not prepared["preflight"]["ok"]:
        raise ToolkitError(memory.refusal_message(prepared["plan"]["total_bytes"], prepared["preflight"]), kind="invalid",
                           details={"preflight": prepared["preflight"]})


def run_host(mode, params, rehearse):
    """target=host; ``mode`` is anything with ``check_mode`` (the AnsibleModule)."""
    store = memory_host.StateStore(params["state_dir"])
    if params["state"] == "absent":
        cleaned = memory_host.clean_up(store, [params["name"]], check_mode=mode.check_mode)
        return {"changed": any(c["alive"] for c in cleaned), "outcome": "cleaned", "cleaned_up": cleaned}
    prepared = memory_host.prepare(params)
    result = {"plan": prepared["plan"], "preflight": prepared["preflight"],
              "memory": {"meminfo": prepared["meminfo"], "cgroup": prepared["cgroup"]}}
    _refuse_unless_ok(prepared)
    if rehearse:
        leftovers = memory_host.clean_up(store, [params["name"]], check_mode=True)
        return dict(result, changed=not params["dry_run"], outcome="dry_run", cleaned_up=leftovers)
    cleaned = memory_host.clean_up(store, [params["name"]])
    result.update(memory_host.execute(prepared, store, params["name"]))
    return dict(result, changed=True, cleaned_up=cleaned)


def run_pod(mode, params, rehearse, client):
    """target=pod through ``client`` (K8sClient-like); ``mode`` as in ``run_host``."""
    helper_ns = params.get("helper_namespace") or params["namespace"]
    if params["state"] == "absent":
        cleanup = memory_pod.clean_up(client, helper_ns, memory.cleanup_selector(params["name"]), check_mode=mode.check_mode)
        return {"changed": bool(cleanup["found"]), "outcome": "cleaned", "cleaned_up": cleanup["found"], "cleanup": cleanup}
    run_id = uuid.uuid4().hex[:10]
    hog = memory_pod.PodHog(client, params, run_id, memory_host.stressor_source())
    prepared = hog.prepare()
    target = prepared["target"]["metadata"]
    result = {
        "run_id": run_id, "plan": prepared["plan"], "preflight": prepared["preflight"], "skipped": prepared["skipped"],
        "pod": {"namespace": target["namespace"], "name": target["name"], "uid": target.get("uid"),
                "node": prepared["target"]["spec"].get("nodeName"), "container": prepared["container"],
                "limits": prepared["limits"], "node_allocatable_bytes": prepared["node_allocatable_bytes"],
                "previous_oom_kills": memory.oom_kills(prepared["target"])},
    }
    _refuse_unless_ok(prepared)
    leftover_selector = memory.cleanup_selector(params["name"])
    if rehearse:
        leftovers = memory_pod.clean_up(client, helper_ns, leftover_selector, check_mode=True)
        return dict(result, changed=not params["dry_run"], outcome="dry_run", cleaned_up=leftovers["found"],
                    helper={"spec": memory_pod.shown_spec(prepared["helper"])})
    earlier = memory_pod.clean_up(client, helper_ns, leftover_selector)
    chain = memory_host.ancestors()
    hog.stop_check = lambda: "controller_gone" if memory_host.first_gone(chain) else None
    with memory_host.signals_interrupt():
        result.update(hog.run(prepared))
    return dict(result, changed=True, cleaned_up=earlier["deleted"])


def hog_memory(mode, params, k8s=K8sClient.from_params):
    """The whole memory_hog run: host or pod (``k8s(params)`` builds the client), then the check-mode
    fields, findings and the gate. A refusal or failure raises ToolkitError."""
    rehearse = mode.check_mode or params["dry_run"]
    if params["target"] == "pod" and params["state"] == "present" and not (params["pod_name"] or params["label_selector"]):
        raise memory.invalid("pod_name", "target=pod needs pod_name or label_selector to choose the target pod")
    if params["target"] == "host":
        result = run_host(mode, params, rehearse)
    else:
        result = run_pod(mode, params, rehearse, k8s(params))
    result.update(target=params["target"], dry_run=params["dry_run"], simulated=rehearse, check_mode=mode.check_mode)
    if params["target"] == "host":
        result["host"] = socket.gethostname()
    result["findings"], counts = contract(findings.memory_hog(result))
    result["summary"] = {"counts": counts, "gate": gate(counts, params["fail_on"])}
    return result
