#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pod_killer
short_description: Evict or delete Kubernetes pods for chaos experiments, without breaking what must not break
version_added: 1.0.0
description:
  - Picks pods at random among those it may safely disrupt, and evicts (default) or deletes them.
  - Safe by default. O(dry_run=true) only lists the victims it would pick and, for every other pod, why it was
    skipped. Check mode does the same, and reports C(changed) as a real run would (V(true) when O(dry_run=false) and
    there are victims).
  - Only settled pods are picked (Running, Ready, not terminating, older than O(min_age)) whose owner is a Deployment,
    StatefulSet, DaemonSet, ReplicaSet or ReplicationController at full strength. Pods in protected namespaces or
    with the opt-out annotation are never touched.
  - PodDisruptionBudgets decide. Victims are chosen within each budget's C(disruptionsAllowed), and the default
    O(action=evict) goes through the eviction API, so the API server enforces the budget too. An eviction the API
    refuses (HTTP 429) is reported as a skip, not a failure.
  - Each victim is checked again just before it is disrupted, with fresh reads of the pod, its owner and the
    budgets.
  - After acting, the module waits until every disrupted owner has its ready replicas back and returns each
    owner's recovery time in seconds.
  - Each disruption writes a Kubernetes Event on the victim's owner and records the time on the owner (annotation
    C(sre.toolkit/chaos-last-disruption)), which the O(cooldown) reads on later runs.
author:
  - sre.toolkit maintainers (@sre-toolkit)
extends_documentation_fragment:
  - sre.toolkit._k8s_auth
  - sre.toolkit._prometheus
  - sre.toolkit._attributes
  - sre.toolkit._attributes.CHAOS_MODULE
  - sre.toolkit._gate
options:
  dry_run:
    description:
      - Only plan. Nothing on the cluster changes, and the result shows the victims with the outcome
        V(would_evict) or V(would_delete).
      - Set it to V(false) to disrupt pods. Check mode always works as a dry run.
    type: bool
    default: true
  namespaces:
    description:
      - Namespaces to target. Empty means every namespace, except the protected ones.
    type: list
    elements: str
    default: []
  exclude_namespaces:
    description:
      - Namespaces never to target.
    type: list
    elements: str
    default: []
  protected_namespaces:
    description:
      - More protected namespaces on top of C(kube-system), C(kube-public) and C(kube-node-lease), which are always
        protected, even when listed in O(namespaces).
    type: list
    elements: str
    default: []
  label_selector:
    description:
      - Kubernetes label selector, for example V(app=web,tier in (front,edge\),!canary).
      - It is parsed before anything is read, so a syntax error fails with nothing changed.
    type: str
  field_selector:
    description:
      - Field selector evaluated on each pod. Each requirement is a dotted path, then V(=), V(==) or V(!=), then a value,
        for example V(spec.nodeName=node-1,status.qosClass!=Guaranteed). Escape V(,), V(=) and V(!) in values with a
        backslash.
    type: str
  name_regex:
    description:
      - Python regular expression the pod name must contain a match for (C(re.search)).
    type: str
  owner_kinds:
    description:
      - Only pods whose owner is of one of these kinds. The owner is the top of the controller chain, so it is
        V(Deployment) for pods of a Deployment's ReplicaSet. Empty means any supported kind.
    type: list
    elements: str
    choices: [Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController]
    default: []
  exclude_owner_kinds:
    description:
      - Never pods whose owner is of one of these kinds.
    type: list
    elements: str
    choices: [Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController]
    default: []
  phases:
    description:
      - Pod phases to target. Only V(Running) pods are ever disrupted, so another phase here only makes such pods
        show up as skipped with reason C(not_running).
    type: list
    elements: str
    default: [Running]
  min_age:
    description:
      - Minimum pod age, measured from C(creationTimestamp). Give a number of seconds or a duration such as V(90s),
        V(10m) or V(1h).
    type: str
    default: 60s
  opt_out_annotation:
    description:
      - Annotation that protects a pod, or every pod of a namespace, when its value is V(true), V(yes), V(on) or V(1).
    type: str
    default: sre.toolkit/chaos-opt-out
  mode:
    description:
      - How many pods to disrupt, out of the eligible ones (the pods that pass every per-pod rule).
      - V(one) picks one pod. V(fixed) picks O(count) pods. V(all) picks every eligible pod.
      - V(percent) picks ceil(eligible x O(percent) / 100) pods. It rounds up, so any percent above 0 picks at least
        one pod when one is eligible.
      - Victims are sampled without replacement. O(max_per_owner), O(min_ready_replicas) and the budgets can leave
        fewer victims than asked for. Each pod that is left out is listed in RV(skipped_pods) with its reason.
    type: str
    choices: [one, fixed, percent, all]
    default: one
  count:
    description:
      - Number of pods for O(mode=fixed), at least 1.
    type: int
  percent:
    description:
      - Percentage for O(mode=percent), more than 0 and at most 100.
    type: float
  seed:
    description:
      - Seed of the random sampling. The same seed on the same cluster state picks the same victims.
      - Without it a random seed is drawn, and RV(seed) returns it so the run can be repeated.
    type: int
  max_per_owner:
    description:
      - Most victims per owner in one run. V(0) means no limit.
    type: int
    default: 1
  min_ready_replicas:
    description:
      - Ready replicas each owner must keep. A pod is only picked when its owner's ready count minus this run's
        victims (the pod included) stays at or above this number.
    type: int
    default: 1
  cooldown:
    description:
      - Owners disrupted less than this long ago are skipped. The time comes from the owner's
        C(sre.toolkit/chaos-last-disruption) annotation, which every real run writes. V(0) turns the cooldown off
        and then the annotation is not written.
      - Give a number of seconds or a duration such as V(30m) or V(1h).
    type: str
    default: 1h
  window:
    description:
      - When disruption is allowed. Outside the window every pod is skipped with reason C(outside_window).
      - Leave it unset to allow disruption at any time.
    type: dict
    suboptions:
      timezone:
        description:
          - IANA timezone in which O(window.weekdays), O(window.hours) and O(window.excluded_dates) are read, for
            example V(Europe/Berlin).
        type: str
        default: UTC
      weekdays:
        description:
          - Allowed weekdays (V(mon) ... V(sun)). Empty means every day.
        type: list
        elements: str
      hours:
        description:
          - Allowed local time ranges V(HH:MM-HH:MM). The end is exclusive, and a range can cross midnight
            (V(22:00-02:00)). Empty means all day.
        type: list
        elements: str
      excluded_dates:
        description:
          - Local dates on which disruption is never allowed. V(YYYY-MM-DD) applies once and V(MM-DD) every year.
        type: list
        elements: str
  action:
    description:
      - V(evict) uses the policy/v1 Eviction API, so PodDisruptionBudgets are enforced by the API server as well.
      - V(delete) deletes the pod. Budgets are still respected when victims are picked and re-checked, but the API
        server does not enforce them.
    type: str
    choices: [evict, delete]
    default: evict
  grace_period:
    description:
      - Termination grace period in seconds. Without it, each pod's own C(terminationGracePeriodSeconds) applies.
    type: int
  force:
    description:
      - Terminate at once (grace period 0). Works with both actions.
    type: bool
    default: false
  sequence:
    description:
      - V(serial) re-checks and disrupts the victims one after another, waiting O(interval) seconds between them.
      - V(parallel) re-checks every victim, then disrupts all of them at once.
    type: str
    choices: [serial, parallel]
    default: serial
  interval:
    description:
      - Seconds to wait between two victims when O(sequence=serial).
    type: float
    default: 0
  gate:
    description:
      - Steady-state checks run before anything is disrupted. If one fails, nothing is disrupted, RV(gate.passed)
        is V(false), and the planned victims are listed as skipped with reason C(gate_failed).
    type: dict
    suboptions:
      owners_ready:
        description:
          - Every owner of a targeted pod must be at full strength (ready = desired, no rollout in progress).
        type: bool
        default: false
      promql:
        description:
          - PromQL query run against O(prometheus_url).
        type: str
      promql_expect:
        description:
          - With V(truthy), the query must return at least one sample and no sample may be 0. This suits queries
            such as V(sum(up{job="web"}\) >= 3).
          - With V(empty), the query must return nothing. This suits queries such as V(ALERTS{alertstate="firing"}).
        type: str
        choices: [truthy, empty]
        default: truthy
      http_url:
        description:
          - URL that must answer a GET with one of O(gate.http_status).
        type: str
      http_status:
        description:
          - Accepted HTTP statuses for O(gate.http_url).
        type: list
        elements: int
        default: [200]
      http_timeout:
        description:
          - Seconds the probe may take.
        type: float
        default: 10
      http_validate_certs:
        description:
          - Whether to verify the probe's TLS certificate.
        type: bool
        default: true
  wait_recovery:
    description:
      - After disrupting, wait until each owner has its ready replicas back (as many ready pods as before, not
        counting the victims) and return the time it took in RV(recovery).
    type: bool
    default: true
  recovery_timeout:
    description:
      - Seconds to wait for recovery. An owner that is not back in time is reported with RV(recovery[].recovered=false).
        That is a finding, not a module failure.
    type: float
    default: 300
  recovery_poll:
    description:
      - Seconds between two recovery checks. This is also the resolution of the recovery times.
    type: float
    default: 1
  events:
    description:
      - Write a Kubernetes Event (reason C(ChaosPodEvicted) or C(ChaosPodDeleted)) on each victim's owner.
    type: bool
    default: true
  run_id:
    description:
      - Identifier written to the Events, the owner annotation and the result. A unique one is generated when it is
        not given.
    type: str
notes:
  - The identity needs list/get on pods, the workload kinds, PodDisruptionBudgets and namespaces. To act it also needs
    create on C(pods/eviction) (or delete on pods), patch on the owners' kind and create on events. These permissions
    are checked with SelfSubjectAccessReviews before anything is changed. When one is missing the module fails and
    nothing is changed; a dry run only warns.
  - Bare pods (no controller) and pods of Jobs or custom controllers are never disrupted, because nothing would
    measure their recovery.
seealso:
  - name: Eviction API
    description: How evictions honour PodDisruptionBudgets.
    link: https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/
"""

EXAMPLES = r"""
- name: See which pod would be evicted in the shop namespace (dry run, the default)
  sre.toolkit.pod_killer:
    namespaces: [shop]
    label_selector: app in (cart,checkout)
  register: plan

- name: Evict 25% (rounded up) of the web pods on weekdays during office hours, behind a steady-state gate
  sre.toolkit.pod_killer:
    dry_run: false
    namespaces: [shop]
    label_selector: app=web
    mode: percent
    percent: 25
    max_per_owner: 0
    min_ready_replicas: 2
    window:
      timezone: Europe/Berlin
      weekdays: [mon, tue, wed, thu]
      hours: ["10:00-16:00"]
      excluded_dates: ["12-24", "12-31"]
    gate:
      owners_ready: true
      promql: sum(up{job="web"}) >= 3
      http_url: https://shop.example.com/healthz
    prometheus_url: http://prometheus.monitoring:9090
    recovery_timeout: 180
  register: chaos

- name: Fail the play when an owner did not recover
  ansible.builtin.assert:
    that: chaos.recovery | rejectattr('recovered') | list | length == 0
    fail_msg: "not recovered: {{ chaos.recovery | rejectattr('recovered') | map(attribute='name') | list }}"

- name: Force-delete two pods of StatefulSets, one after another, 30 s apart, reproducibly
  sre.toolkit.pod_killer:
    dry_run: false
    action: delete
    force: true
    owner_kinds: [StatefulSet]
    mode: fixed
    count: 2
    sequence: serial
    interval: 30
    seed: 42
"""

RETURN = r"""
dry_run:
  description: The O(dry_run) the task was given.
  returned: success
  type: bool
simulated:
  description: Whether this run only planned (O(dry_run) or check mode); nothing was changed then.
  returned: success
  type: bool
check_mode:
  description: Whether the task ran in check mode.
  returned: success
  type: bool
findings:
  description:
    - The run in the one findings contract of the collection (docs/findings.schema.json, ids in docs/rule_catalogue.md) -
      V(chaos.pod_disrupted) (info) per victim, V(chaos.not_recovered) (critical) per owner that did not recover,
      V(chaos.gate_failed), V(chaos.permission_missing), V(chaos.no_victim).
  returned: success
  type: list
  elements: dict
run_id:
  description: The run's identifier, also on the Events and the owners' annotation.
  returned: success
  type: str
  sample: pk-20261124t091500z-3fa2c1
seed:
  description: The sampling seed used; pass it as O(seed) to pick the same victims again.
  returned: success
  type: int
victims:
  description: Pods disrupted (or, in a dry run, that would be), sorted by namespace and name.
  returned: success
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the pod.
      type: str
    name:
      description: Pod name.
      type: str
    uid:
      description: Pod UID (used as a precondition, so a replacement with the same name is never hit).
      type: str
    node:
      description: Node the pod ran on.
      type: str
    owner:
      description: The owner (kind, namespace, name, uid, ready, desired, steady) when the pod was picked.
      type: dict
    pdbs:
      description: PodDisruptionBudgets selecting the pod, with their C(disruptions_allowed) at planning time.
      type: list
      elements: dict
    why:
      description: Why the pod was picked (seed, mode, how many were wanted among how many eligible).
      type: str
    outcome:
      description: V(evicted), V(deleted), V(would_evict) or V(would_delete).
      type: str
    acted_at:
      description: When the pod was disrupted (RFC 3339 UTC); absent in a dry run.
      type: str
    event:
      description: Name of the Event written on the owner.
      type: str
skipped_pods:
  description:
    - Every other pod that was read, with the first rule it failed, sorted by namespace and name.
    - "Reasons, in the order they are checked (the first that applies is reported): C(namespace_not_included),
      C(namespace_excluded), C(protected_namespace), C(namespace_opted_out), C(pod_opted_out), C(label_selector_mismatch),
      C(field_selector_mismatch), C(name_mismatch), C(phase_mismatch), C(no_owner), C(owner_kind_unsupported), C(owner_not_found),
      C(owner_kind_not_included), C(owner_kind_excluded),
      C(terminating), C(not_running), C(not_ready), C(too_young), C(owner_not_ready), C(owner_cooldown),
      C(multiple_pdbs), C(pdb_not_observed), C(outside_window), C(max_per_owner), C(min_ready_replicas),
      C(pdb_budget), C(not_sampled), C(gone), C(pdb_refused), C(action_failed), C(gate_failed)."
  returned: success
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the pod.
      type: str
    name:
      description: Pod name.
      type: str
    uid:
      description: Pod UID.
      type: str
    owner:
      description: C(Kind/namespace/name) of the owner, when known.
      type: str
    reason:
      description: Stable id of the rule.
      type: str
    detail:
      description: The facts behind the reason.
      type: str
    stage:
      description: V(plan) (when picking) or V(action) (the re-check just before acting, or the API's answer).
      type: str
owners:
  description: Owners of the targeted pods with their ready and desired replicas at planning time.
  returned: success
  type: list
  elements: dict
gate:
  description: The steady-state gate.
  returned: success
  type: dict
  sample: {"checked": true, "passed": true, "checks": [{"check": "owners_ready", "passed": true, "detail": "..."}]}
  contains:
    checked:
      description: Whether any check was configured (and there were victims to protect).
      type: bool
    passed:
      description: Whether every check passed; V(true) when none was configured.
      type: bool
    checks:
      description: One entry per check (C(owners_ready), C(promql), C(http)) with C(passed) and C(detail).
      type: list
      elements: dict
window:
  description: Whether the time window was open at planning time, and why.
  returned: success
  type: dict
permissions:
  description: The SelfSubjectAccessReviews made before acting (namespace, verb, resource, allowed).
  returned: success
  type: list
  elements: dict
recovery:
  description: Per disrupted owner, whether its ready replicas came back within O(recovery_timeout) and how long it took.
  returned: success
  type: list
  elements: dict
  contains:
    kind:
      description: Owner kind.
      type: str
    namespace:
      description: Owner namespace.
      type: str
    name:
      description: Owner name.
      type: str
    baseline_ready:
      description: Ready replicas before the run.
      type: int
    ready:
      description: Ready pods (not counting victims) at the last check.
      type: int
    recovered:
      description: Whether the baseline was reached in time.
      type: bool
    seconds:
      description: Seconds from the owner's first disruption to recovery (null when not recovered).
      type: float
    victims:
      description: How many of the owner's pods were disrupted.
      type: int
summary:
  description:
    - Counts (pods read, eligible, wanted, victims, skipped) and skipped pods per reason, C(counts) of RV(findings)
      per severity and C(gate), the O(fail_on) verdict.
  returned: success
  type: dict
record:
  description: The audit record of the run (what, when, why, outcome), suitable for storing as is.
  returned: success
  type: dict
  sample:
    run_id: pk-20261124t091500z-3fa2c1
    module: sre.toolkit.pod_killer
    started_at: "2026-11-24T09:15:00Z"
    finished_at: "2026-11-24T09:15:09Z"
    dry_run: false
    action: evict
    mode: one
    seed: 1234
    outcome: evicted 1 pod(s); 1 owner(s) recovered, 0 did not within 300.0s
    victims: [shop/web-7d9c-x2x1]
    skipped_by_reason: {max_per_owner: 2, protected_namespace: 12}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.toolkit.plugins.module_utils._argspec import (K8S_AUTH_SPEC, PROMETHEUS_SPEC, check_numeric_options,
                                                                           protect_kubeconfig, spec)
from ansible_collections.sre.toolkit.plugins.module_utils._chaos.pod_run import kill_pods
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError, exit_gated, fail_from_error

KINDS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"]


def argument_spec():
    return spec(
        K8S_AUTH_SPEC, PROMETHEUS_SPEC,
        dry_run={"type": "bool", "default": True},
        namespaces={"type": "list", "elements": "str", "default": []},
        exclude_namespaces={"type": "list", "elements": "str", "default": []},
        protected_namespaces={"type": "list", "elements": "str", "default": []},
        label_selector={"type": "str"},
        field_selector={"type": "str"},
        name_regex={"type": "str"},
        owner_kinds={"type": "list", "elements": "str", "choices": KINDS, "default": []},
        exclude_owner_kinds={"type": "list", "elements": "str", "choices": KINDS, "default": []},
        phases={"type": "list", "elements": "str", "default": ["Running"]},
        min_age={"type": "str", "default": "60s"},
        opt_out_annotation={"type": "str", "default": "sre.toolkit/chaos-opt-out"},
        mode={"type": "str", "choices": ["one", "fixed", "percent", "all"], "default": "one"},
        count={"type": "int"},
        percent={"type": "float"},
        seed={"type": "int"},
        max_per_owner={"type": "int", "default": 1},
        min_ready_replicas={"type": "int", "default": 1},
        cooldown={"type": "str", "default": "1h"},
        window={"type": "dict", "options": {
            "timezone": {"type": "str", "default": "UTC"},
            "weekdays": {"type": "list", "elements": "str"},
            "hours": {"type": "list", "elements": "str"},
            "excluded_dates": {"type": "list", "elements": "str"},
        }},
        action={"type": "str", "choices": ["evict", "delete"], "default": "evict"},
        grace_period={"type": "int"},
        force={"type": "bool", "default": False},
        sequence={"type": "str", "choices": ["serial", "parallel"], "default": "serial"},
        interval={"type": "float", "default": 0},
        gate={"type": "dict", "options": {
            "owners_ready": {"type": "bool", "default": False},
            "promql": {"type": "str"},
            "promql_expect": {"type": "str", "choices": ["truthy", "empty"], "default": "truthy"},
            "http_url": {"type": "str"},
            "http_status": {"type": "list", "elements": "int", "default": [200]},
            "http_timeout": {"type": "float", "default": 10},
            "http_validate_certs": {"type": "bool", "default": True},
        }},
        wait_recovery={"type": "bool", "default": True},
        recovery_timeout={"type": "float", "default": 300},
        recovery_poll={"type": "float", "default": 1},
        events={"type": "bool", "default": True},
        run_id={"type": "str"},
        fail_on={"type": "str", "choices": ["never", "none", "info", "warning", "critical"], "default": "never"},
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    protect_kubeconfig(module)
    check_numeric_options(module, "pod_killer")
    try:  # the service checks every option, then builds the Kubernetes, Prometheus and HTTP clients
        result, warnings = kill_pods(module.params, module.check_mode)
    except ToolkitError as exc:
        fail_from_error(module, exc, changed=bool(exc.partial["victims"]), **exc.partial)
    exit_gated(module, result, warnings)


if __name__ == "__main__":
    main()
