#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: memory_hog
short_description: Put memory pressure on a host or a pod, always ending by itself
version_added: 1.0.0
description:
  - Allocates and touches a requested amount of memory for a fixed time, on the managed host (O(target=host)) or
    in a Kubernetes pod (O(target=pod)), measures the peak, and reports how it ended.
  - The module blocks while the hog runs. The hog can never outlive its limits. It has its own hard timeout of
    O(duration) + O(timeout_margin) seconds (an C(alarm) the kernel enforces), it dies with the module
    (C(PR_SET_PDEATHSIG)), and the module stops it as soon as C(ansible-playbook) (any process above the module
    when it started) is gone.
  - Every process is recorded by PID and start time (and boot id) in a state file, so a later run or
    O(state=absent) stops what is left without ever signalling a PID the kernel has reused.
  - A preflight refuses sizes beyond C(MemAvailable) (and the free part of the memory cgroup's limit) minus
    O(safety_margin) on a host, or beyond the target container's and pod's memory limits in a pod, unless O(force=true).
  - "Pod targets use a helper pod on the target's node, not an ephemeral container: ephemeral containers can never
    be removed from a pod, carry no labels and take no C(activeDeadlineSeconds), so cleanup could not find or end
    them. The helper (privileged, C(hostPID)) moves its stressor into the target container's cgroup, so the memory
    counts against the target's limit, and C(activeDeadlineSeconds) bounds it on the kubelet side."
  - An OOM kill of the target pod's container is an expected result (RV(outcome=target_oom_killed)), not a failure.
author:
  - sre.toolkit maintainers (@sre-toolkit)
extends_documentation_fragment:
  - sre.toolkit._k8s_auth
  - sre.toolkit._attributes
  - sre.toolkit._attributes.CHAOS_MODULE
  - sre.toolkit._gate
options:
  target:
    description:
      - V(host) hogs memory on the managed host itself; V(pod) in a Kubernetes pod chosen by O(pod_name) or O(label_selector).
      - The Kubernetes connection options are used only with V(pod).
    type: str
    choices: [host, pod]
    default: host
  state:
    description:
      - V(present) runs a hog (after stopping anything an earlier run of the same O(name) left).
      - V(absent) only stops and removes what earlier runs of O(name) left (host processes, or helper pods in the namespace).
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of this hog. It keys the host state file and the C(sre.toolkit/hog-name) label of helper pods,
        so a later run or O(state=absent) finds what this one left.
    type: str
    default: memory-hog
  size:
    description:
      - Total memory to allocate, split across O(workers). Required with O(state=present).
      - Bytes with an optional unit, as in Kubernetes quantities, V(300Mi), V(1Gi), V(1G) (10^9), V(512MB), V(1048576);
        or a percent, V(20%), of what O(percent_of) names.
    type: str
  percent_of:
    description:
      - What a percent O(size) is taken of.
      - V(available) is C(MemAvailable) on a host, the node's allocatable memory for a pod.
      - V(cgroup_limit) is the memory limit of the module's cgroup on a host, the target container's memory limit for a pod.
    type: str
    choices: [available, cgroup_limit]
    default: available
  workers:
    description: Number of worker processes sharing O(size).
    type: int
    default: 1
  duration:
    description: Seconds to hold the memory, from the start (the ramp included).
    type: int
    default: 60
  ramp:
    description: Seconds over which the memory is allocated step by step (0 allocates at once). Not more than O(duration).
    type: int
    default: 0
  timeout_margin:
    description:
      - Seconds after O(duration) at which the hog is killed whatever happens (its hard timeout, the pod's
        C(activeDeadlineSeconds), and the module's watchdog).
    type: int
    default: 10
  safety_margin:
    description:
      - Memory the preflight keeps free. Bytes (V(512Mi)) or a percent of the limit checked (C(MemTotal) for
        C(MemAvailable), the cgroup or container limit, the node's allocatable).
    type: str
    default: 10%
  force:
    description:
      - Run even when the preflight refuses the size. With a pod target this is how to provoke an OOM kill of the target on purpose.
    type: bool
    default: false
  dry_run:
    description:
      - Safe by default, like the collection's other chaos modules. With V(true) (the default) the module reads,
        sizes and preflights, and returns the plan (RV(outcome=dry_run)) without starting a hog or creating
        anything. Set V(false) to run. Check mode does the same whatever this says.
      - O(state=absent) is not affected, since stopping leftovers ends chaos and does not cause it. Check mode
        still only lists what it would stop.
    type: bool
    default: true
  engine:
    description:
      - Host stressor. V(python) is the collection's own stdlib stressor (needs nothing on the target).
        V(stress-ng) runs C(stress-ng --vm) (fails if it is not installed); V(auto) uses stress-ng when present, else python.
      - With stress-ng, O(ramp) is not applied. Pod targets always use the python stressor.
    type: str
    choices: [auto, python, stress-ng]
    default: python
  state_dir:
    description:
      - Directory of the host state files. Defaults to C(sre-toolkit-memory-hog-<uid>) in the system temporary directory,
        which a reboot clears, as it clears the processes.
    type: path
  namespace:
    description: Namespace of the target pod. Required with O(target=pod).
    type: str
  pod_name:
    description: Name of the target pod. Exactly one of O(pod_name) and O(label_selector) with O(target=pod).
    type: str
  label_selector:
    description:
      - Label selector for the target pod. Only one pod is hogged (the first Running, bound pod by name); the
        others are listed in RV(skipped) with the reason.
    type: str
  container:
    description: Container of the target pod whose limit and cgroup are used. Defaults to the pod's first container.
    type: str
  helper_namespace:
    description: Namespace for the helper pod. Defaults to O(namespace).
    type: str
  helper_image:
    description: Image of the helper pod; it must have C(python3) (3.6 or later).
    type: str
    default: python:3.12-slim
notes:
  - Runs on Linux only (C(/proc), C(prctl)). For a pod target, run it on the controller (C(delegate_to=localhost)).
  - The helper pod is privileged with C(hostPID) and mounts the host's C(/sys/fs/cgroup), which Pod Security
    C(baseline)/C(restricted) namespaces refuse; use O(helper_namespace) for a namespace that allows it.
seealso:
  - module: sre.toolkit.pod_killer
"""

EXAMPLES = r"""
- name: Hold 300 MiB for one minute on every web host, two workers, 10 s ramp
  sre.toolkit.memory_hog:
    dry_run: false
    size: 300Mi
    workers: 2
    ramp: 10
    duration: 60

- name: Take 20% of the cgroup's limit, refuse nothing (the OOM killer may act)
  sre.toolkit.memory_hog:
    dry_run: false
    size: 20%
    percent_of: cgroup_limit
    duration: 30
    force: true

- name: See what a 2G hog would do, changing nothing (dry_run is the default)
  sre.toolkit.memory_hog:
    size: 2G
  register: plan

- name: Push the api pod towards its limit for two minutes
  sre.toolkit.memory_hog:
    dry_run: false
    target: pod
    namespace: shop
    label_selector: app=api
    size: 80%
    percent_of: cgroup_limit
    duration: 120
  delegate_to: localhost
  register: hog

- name: Remove anything an interrupted run left
  sre.toolkit.memory_hog:
    target: pod
    namespace: shop
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
dry_run:
  description: The O(dry_run) the task was given.
  returned: always
  type: bool
simulated:
  description: Whether this run only rehearsed (O(dry_run) or check mode); nothing was changed then. C(changed) still says
    what a real run would change.
  returned: always
  type: bool
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
findings:
  description:
    - The run in the one findings contract of the collection (docs/findings.schema.json, ids in docs/rule_catalogue.md) -
      V(chaos.memory_pressure) (info, what was or would be applied), V(chaos.target_oom_killed), V(chaos.hog_failed),
      V(chaos.cleanup_incomplete).
  returned: always
  type: list
  elements: dict
summary:
  description: C(counts) of RV(findings) per severity and C(gate), the O(fail_on) verdict.
  returned: always
  type: dict
  sample: {counts: {critical: 0, warning: 0, info: 1}, gate: {fail_on: never, failed: false, reasons: []}}
outcome:
  description:
    - How the run ended. V(completed) (held for the whole duration and ended by itself), V(dry_run), V(cleaned)
      (O(state=absent)), V(controller_gone) (ansible-playbook died, the hog was stopped),
      V(stopped_at_deadline) (the watchdog killed it), V(stopped_by_hard_timeout), V(hog_oom_killed) (the kernel
      killed a worker; in a pod, the target container's memory limit was reached and the OOM killer chose the
      hog's worker in the target's cgroup, so the target's own processes kept running), V(hog_killed),
      V(hog_failed), V(interrupted); for pods also V(target_oom_killed) (expected, not a failure),
      V(deadline_exceeded), V(helper_failed), V(helper_not_started), V(helper_gone), V(target_gone).
  returned: always
  type: str
  sample: completed
started_at:
  description: UTC time the hog started (RFC 3339).
  returned: when a hog ran
  type: str
  sample: "2026-11-24T09:00:00Z"
ended_at:
  description: UTC time the hog was over (RFC 3339).
  returned: when a hog ran
  type: str
elapsed_seconds:
  description: Seconds from start to end.
  returned: when a hog ran
  type: float
plan:
  description: What the stressor does, sizes in bytes and time limits in seconds.
  returned: with O(state=present)
  type: dict
  sample: {total_bytes: 314572800, total_human: "300.0 MiB", workers: 2, bytes_per_worker: [157286400, 157286400],
           duration_seconds: 60, ramp_seconds: 10, hard_timeout_seconds: 70, engine: python}
preflight:
  description:
    - The checks the size went through; each has a stable C(id) (C(host.mem_available),
      C(host.cgroup_limit), C(pod.container_limit), C(pod.pod_limit), C(pod.node_allocatable)).
  returned: with O(state=present)
  type: dict
  contains:
    ok:
      description: Whether the run was allowed (true when forced).
      type: bool
    forced:
      description: A check failed and O(force) let it through.
      type: bool
    refused_by:
      description: Ids of the failed checks.
      type: list
      elements: str
    allowed_bytes:
      description: The largest size every check allows.
      type: int
    checks:
      description: Each check with its C(id), C(ok), requested and limit bytes, and a sentence.
      type: list
      elements: dict
    oom_expected:
      description: Pod target only. A limit check failed and was forced, so an OOM kill of the target is expected.
      type: bool
peak:
  description:
    - What was measured. On a host C(hog_rss_bytes) (the largest summed RSS of the stressor and its workers),
      C(mem_available_before_bytes), C(mem_available_min_bytes), C(mem_available_drop_bytes), C(samples).
    - On a pod C(hog_rss_bytes) from the stressor's last log line, or V(null) with C(source) saying why, and
      C(oom_killed_workers), the stressor's workers the kernel OOM-killed in the target's cgroup.
  returned: when a hog ran
  type: dict
process:
  description: Host only. The stressor's PID, start time (clock ticks since boot), boot id, workers, exit code or signal.
  returned: when a host hog ran
  type: dict
cleaned_up:
  description: What earlier runs left and this run stopped (host entries with PID and start time; pod helper names).
  returned: always
  type: raw
memory:
  description: Host only. C(MemTotal), C(MemAvailable) and the memory cgroup (path, limit, usage) seen by the preflight.
  returned: with O(target=host) and O(state=present)
  type: dict
pod:
  description:
    - Pod only. The target (namespace, name, uid, node, container), its limits, the node's allocatable memory,
      and the OOM kills it already showed before the run (C(previous_oom_kills); not counted as this run's outcome).
  returned: with O(target=pod) and O(state=present)
  type: dict
run_id:
  description: Pod only. Id of this run, also the helper pod's C(sre.toolkit/run-id) label (for audit records).
  returned: with O(target=pod) and O(state=present)
  type: str
  sample: 3f9c2a71be
skipped:
  description: Pod only. Pods matched by O(label_selector) but not hogged, each with the reason.
  returned: with O(target=pod) and O(state=present)
  type: list
  elements: dict
helper:
  description: Pod only. The helper pod's name, namespace and last phase; in check mode and dry run, its full spec.
  returned: with O(target=pod) and O(state=present)
  type: dict
oom_killed:
  description: Pod only. Whether the target container was OOM-killed during the run.
  returned: when a pod hog ran
  type: bool
oom_kills:
  description: Pod only. The OOM kills seen during the run (container, state or lastState, exit code, finish time).
  returned: when a pod hog ran
  type: list
  elements: dict
cleanup:
  description: Pod only. Helper pods found by label after the run, deleted, and still remaining (should be empty).
  returned: when a pod hog ran
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.toolkit.plugins.module_utils._argspec import K8S_AUTH_SPEC, check_numeric_options, protect_kubeconfig, spec
from ansible_collections.sre.toolkit.plugins.module_utils._chaos.memory_service import hog_memory
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError, exit_gated, fail_from_error


def argument_spec():
    return spec(
        K8S_AUTH_SPEC,
        target={"type": "str", "choices": ["host", "pod"], "default": "host"},
        state={"type": "str", "choices": ["present", "absent"], "default": "present"},
        name={"type": "str", "default": "memory-hog"},
        size={"type": "str"},
        percent_of={"type": "str", "choices": ["available", "cgroup_limit"], "default": "available"},
        workers={"type": "int", "default": 1},
        duration={"type": "int", "default": 60},
        ramp={"type": "int", "default": 0},
        timeout_margin={"type": "int", "default": 10},
        safety_margin={"type": "str", "default": "10%"},
        force={"type": "bool", "default": False},
        dry_run={"type": "bool", "default": True},
        engine={"type": "str", "choices": ["auto", "python", "stress-ng"], "default": "python"},
        state_dir={"type": "path"},
        namespace={"type": "str"},
        pod_name={"type": "str"},
        label_selector={"type": "str"},
        container={"type": "str"},
        helper_namespace={"type": "str"},
        helper_image={"type": "str", "default": "python:3.12-slim"},
        fail_on={"type": "str", "choices": ["never", "none", "info", "warning", "critical"], "default": "never"},
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("pod_name", "label_selector")],
        required_if=[
            ("state", "present", ("size",)),
            ("target", "pod", ("namespace",)),
        ],
    )
    protect_kubeconfig(module)
    check_numeric_options(module, "memory_hog")
    try:  # the service builds the Kubernetes client for target=pod
        result = hog_memory(module, module.params)
    except ToolkitError as exc:
        fail_from_error(module, exc, changed=False, outcome="refused" if exc.kind == "invalid" else "error")
    exit_gated(module, result)


if __name__ == "__main__":
    main()
