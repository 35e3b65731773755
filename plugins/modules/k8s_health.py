#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_health
short_description: Judge the whole health of a Kubernetes cluster (or audit manifest files) with stable findings
version_added: 1.0.0
description:
  - Reads a cluster and returns sorted, stable data, never changing anything. RV(summary) holds the score, grade and
    counts per severity; RV(checks) lists every check with its status, so a clean result can be proven; RV(findings)
    holds each problem with a stable id, severity, object, evidence and fix; RV(inventory) describes the cluster.
  - Checks the API server (V(/livez) and V(/readyz) per check, V(/version)), the control plane in a way that also
    works on managed clusters (leader Leases of the scheduler and controller manager, API server identity Leases,
    APIService availability; C(componentstatuses) only as a labelled legacy fallback), nodes (each condition judged
    with its own polarity, cordons, taints, heartbeat Leases), the version-skew policy (kubelet, kube-proxy image,
    controller manager, scheduler, HA API servers; vendor suffixes such as C(-eks-), C(-gke.), C(+k3s1) parsed), pods
    (crash loops with the real cause from the last terminated state, image pulls, configuration and start errors, OOM
    kills, scheduling, evictions, restarts judged by count and recency), workloads, Warning events, and a
    configuration audit (requests/limits, probes, securityContext, NetworkPolicy coverage, RBAC excess, quotas,
    PodDisruptionBudgets, deprecated APIs requested according to C(apiserver_requested_deprecated_apis)).
  - Also reads cluster objects that often explain a bad night - admission webhooks whose Service is missing or has
    no ready endpoint (critical with C(failurePolicy=Fail)), namespaces stuck Terminating (with the namespace
    controller's reason and the finalizers), CertificateSigningRequests left pending (kubelet serving certificates)
    or approved and never issued, PersistentVolumeClaims Pending or Lost, HorizontalPodAutoscalers at
    C(maxReplicas) or unable to scale, and Services whose selector reaches no ready pod (from EndpointSlices).
  - A list the credentials may not read (HTTP 403) makes its checks V(forbidden), never healthy; other failed
    reads make them V(unavailable) with the reason. The rest of the result is still returned.
  - Lists are read in pages of 500 with a field projection and judged page by page, so memory stays bounded on
    large clusters. RV(api_calls) counts the requests.
  - With O(src) the same audit rules run on manifest files instead of a cluster, to gate a deploy in CI.
  - See the user guide C(docs/k8s_health.md) for every finding id and how it is judged.
author:
  - sre.toolkit maintainers (@sre-toolkit)
extends_documentation_fragment:
  - sre.toolkit._k8s_auth
  - sre.toolkit._requirements.KUBERNETES
  - sre.toolkit._attributes
  - sre.toolkit._attributes.INFO_MODULE
  - sre.toolkit._gate
options:
  groups:
    description:
      - Check groups to run. Checks of other groups are reported with status V(skipped).
    type: list
    elements: str
    choices: [apiserver, nodes, versions, pods, workloads, events, audit]
    default: [apiserver, nodes, versions, pods, workloads, events, audit]
  checks:
    description:
      - Run only these check ids (for example V(pods.containers)); others are V(skipped). Empty runs every check of
        O(groups).
    type: list
    elements: str
    default: []
  namespaces:
    description:
      - Only these namespaces (namespaced lists are then read per namespace). Empty means all namespaces.
      - Cluster-scoped checks (nodes, API server, ClusterRoleBindings) still run.
    type: list
    elements: str
    default: []
  exclude_namespaces:
    description:
      - Namespaces to leave out.
    type: list
    elements: str
    default: []
  audit_system_namespaces:
    description:
      - Whether the configuration audit also judges C(kube-system), C(kube-public) and C(kube-node-lease), whose
        node agents often need host access by design. Live health checks always include them.
    type: bool
    default: false
  severity_overrides:
    description:
      - Map of finding id to V(critical), V(warning), V(info), or V(off) to drop that finding (counted as suppressed
        on its check).
    type: dict
    default: {}
  thresholds:
    description:
      - Override judgement thresholds. Keys and defaults are C(restarts_warning=5), C(restarts_critical=20),
        C(restart_window_minutes=60), C(pending_minutes=15), C(terminating_minutes=15), C(event_window_minutes=60),
        C(event_min_count=1), C(node_lease_stale_seconds=120), C(leader_lease_grace_seconds=30),
        C(quota_warning_percent=80), C(max_findings_per_check=50).
      - C(max_findings_per_check) caps the findings listed per check; RV(checks[].total) keeps the full count.
    type: dict
    default: {}
  min_score:
    description:
      - Fail the task when RV(summary.score) is below this value (0 to 100).
    type: float
    default: 0
  src:
    description:
      - Manifest files or folders (YAML or JSON, searched recursively) to audit instead of a cluster. No connection
        is made; checks that need a live cluster are V(skipped).
      - A file that cannot be read, a document that cannot be parsed (an unrendered template, for example) and an
        object whose fields do not have the types the API expects each give one entry in RV(errors) naming the file,
        the document number and the fix; every other document is still audited. RV(summary.complete) is then false,
        and a O(fail_on) gate fails, since what was not read cannot be judged.
    type: list
    elements: path
  target_version:
    description:
      - The Kubernetes version the O(src) manifests are meant for, for example V(1.34) or V(v1.34.2). Rules that
        depend on the version use it; today C(rbac.exec) for C(get) on C(pods/exec) or C(pods/attach), which grants
        exec before 1.35 (the WebSocket upgrade is a GET). Unset, such grants are judged as before 1.35.
      - A live scan always judges by the API server's own version.
    type: str
  read_metrics:
    description:
      - Read the API server's C(/metrics) for C(apiserver_requested_deprecated_apis). Needs C(get) on the
        non-resource URL C(/metrics).
    type: bool
    default: true
notes:
  - Needs only read access. C(docs/k8s-health-readonly-clusterrole.yml) in the collection is a least-privilege ClusterRole
    for it (no Secret or ConfigMap reads).
  - Pods on a node that stopped reporting keep a stale status; they are counted under that node's
    C(node.unreachable) finding instead of being judged one by one.
seealso:
  - module: sre.toolkit.pod_killer
"""

EXAMPLES = r"""
- name: Health of the current kubeconfig context
  sre.toolkit.k8s_health:
  register: health

- name: Gate CI on critical findings and a minimum score, only for two namespaces
  sre.toolkit.k8s_health:
    kubeconfig: ~/.kube/prod
    context: prod-eu
    namespaces: [payments, checkout]
    fail_on: critical
    min_score: 80

- name: Live health only, with our own thresholds and a quieter audit
  sre.toolkit.k8s_health:
    groups: [apiserver, nodes, pods, workloads]
    thresholds:
      restarts_warning: 10
      pending_minutes: 30
    severity_overrides:
      node.cordoned: info
      audit.missing_liveness_probe: "off"

- name: Audit manifests before a deploy
  sre.toolkit.k8s_health:
    src:
      - deploy/k8s/
    fail_on: warning
"""

RETURN = r"""
summary:
  description: Score (0-100, events unscored), grade (A to F), counts per severity and check statuses.
  returned: always
  type: dict
  contains:
    score:
      description: Mean of the group scores; a group scores the share of judged objects without problems
        (critical costs 1, warning 0.5).
      type: float
      sample: 87.5
    grade:
      description:
        - A (>= 90), B (>= 80), C (>= 70), D (>= 60), E (>= 50) or F from RV(summary.score), capped so that it cannot
          contradict the verdict - at most D with a critical finding, at most B with a warning.
      type: str
      sample: B
    grade_capped_by:
      description: The severity (V(critical) or V(warning)) whose findings lowered the grade below the score's, or null.
      type: str
      sample: critical
    counts:
      description: Findings per severity (after O(severity_overrides)), before the per-check cap; the O(fail_on) gate
        judges these.
      type: dict
      sample: {critical: 3, warning: 12, info: 4}
    total_findings:
      description: Number of findings before the cap.
      type: int
    shown_findings:
      description: Number of findings in RV(findings).
      type: int
    groups:
      description: Score per check group.
      type: dict
      sample: {apiserver: 100.0, nodes: 83.3, pods: 91.2}
    checks:
      description: Number of checks per status.
      type: dict
      sample: {ok: 18, findings: 6, skipped: 1, forbidden: 1}
    complete:
      description: False when a check is V(forbidden) or V(unavailable), so a clean result is not proof of health.
      type: bool
    coverage_gaps:
      description: Ids of the checks that are V(forbidden) or V(unavailable).
      type: list
      elements: str
    gate:
      description:
        - Reasons the gate failed the task; empty when it passed. The gate is the collection's one gate - findings at
          or above O(fail_on) - plus this module's own conditions, a score below O(min_score) and, with O(fail_on) other
          than V(never), O(src) documents that could not be audited.
      type: list
      elements: str
    errors:
      description: With O(src), the number of entries in RV(errors); any makes RV(summary.complete) false.
      type: int
  sample: {score: 87.5, grade: D, grade_capped_by: critical, counts: {critical: 3, warning: 12, info: 4}, complete: true,
           gate: []}
checks:
  description: Every check, sorted by id, with what it judged.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Stable check id, for example V(nodes.conditions).
      type: str
    group:
      description: Check group.
      type: str
    status:
      description: V(ok), V(findings), V(skipped), V(forbidden) (HTTP 403) or V(unavailable) (with RV(checks[].reason)).
      type: str
    reason:
      description: Why the check was skipped, forbidden or unavailable, or what it could not see.
      type: str
    objects:
      description: Number of objects judged.
      type: int
    counts:
      description: Findings per severity.
      type: dict
    total:
      description: Findings of this check before the cap.
      type: int
    shown:
      description: Findings of this check present in RV(findings).
      type: int
    suppressed:
      description: Findings dropped by O(severity_overrides) V(off).
      type: int
  sample: [{id: pods.containers, group: pods, status: findings, reason: "", objects: 412, total: 3, shown: 3,
            counts: {critical: 2, warning: 1, info: 0}, suppressed: 0}]
findings:
  description:
    - Problems found, most severe first, at most C(max_findings_per_check) per check (see O(thresholds)).
    - Each follows the collection's one findings contract (C(id), C(severity), C(subject), C(message), C(fix),
      C(evidence), C(check); C(docs/findings.schema.json)); every id is listed in C(docs/rule_catalogue.md). C(kind),
      C(namespace) and C(name) stay at the top level as in earlier releases.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Stable finding id, for example V(pod.crashloop) or V(node.not_ready).
      type: str
    severity:
      description: V(critical), V(warning) or V(info).
      type: str
    check:
      description: Id of the check that raised it.
      type: str
    subject:
      description:
        - The object concerned - C(kind), C(namespace), C(name) and a readable C(locator) such as V(Pod team-a/web-1),
          V(Node worker-1) or V(ClusterRole admin-all); with O(src) the locator ends with the file and the document
          number in parentheses.
      type: dict
    kind:
      description: Kind of the object concerned.
      type: str
    namespace:
      description: Its namespace (empty for cluster-scoped objects).
      type: str
    name:
      description: Its name.
      type: str
    message:
      description: One line for humans.
      type: str
    evidence:
      description: The facts behind the finding (reasons, exit codes, times, subjects...).
      type: dict
    fix:
      description: What to do about it.
      type: str
  sample: [{id: pod.crashloop, severity: critical, check: pods.containers, kind: Pod, namespace: shop, name: api-7c9d-x2x,
            subject: {kind: Pod, namespace: shop, name: api-7c9d-x2x, locator: Pod shop/api-7c9d-x2x},
            message: "container api is in CrashLoopBackOff: last exit 1 (Error), 9 restarts",
            evidence: {container: api, last_reason: Error, last_exit_code: 1, restarts: 9, owner: ReplicaSet/api-7c9d},
            fix: "Read the previous logs (kubectl logs --previous) and fix the crash; the evidence holds the last exit."}]
errors:
  description:
    - With O(src), one entry per file, document or List item that could not be audited, sorted by file and document.
    - Keys C(file), C(document) (number in the file, from 1; null for a file that cannot be read), C(item) (index in
      a List, or null), C(kind), C(name), C(message) and C(fix).
  returned: when O(src) is set
  type: list
  elements: dict
  sample: [{file: deploy/web.yaml, document: 2, item: null, kind: Deployment, name: web,
            message: "deploy/web.yaml document 2: Deployment web not audited: spec.replicas: expected an integer >= 0,
              got '{{ .Values.replicas }}' (an unrendered template)",
            fix: "Render the templates first (helm template, kustomize build) and audit the rendered output."}]
inventory:
  description: Server version, control-plane visibility, nodes (counts by role and version, first items), pods per
    phase, workloads per kind, add-ons.
  returned: always
  type: dict
  sample: {server_version: v1.36.4, control_plane: "not visible (managed or external)",
           nodes: {total: 3, not_ready: 0, roles: {worker: 3}, kubelet_versions: {v1.36.4: 3}},
           pods: {total: 42, phases: {Running: 40, Pending: 2}}}
api_calls:
  description: Requests made, pages read, retries and bytes received (none with O(src)).
  returned: always
  type: dict
  sample: {requests: 31, pages: 24, retries: 0, bytes: 1843210, list_restarts: 0}
duration_seconds:
  description: Wall time of the run.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.toolkit.plugins.module_utils._argspec import K8S_AUTH_SPEC, check_numeric_options, protect_kubeconfig, spec
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError, fail_from_error
from ansible_collections.sre.toolkit.plugins.module_utils._health.model import GROUPS
from ansible_collections.sre.toolkit.plugins.module_utils._health.service import check_health


def argument_spec():
    return spec(
        K8S_AUTH_SPEC,
        groups={"type": "list", "elements": "str", "choices": list(GROUPS), "default": list(GROUPS)},
        checks={"type": "list", "elements": "str", "default": []},
        namespaces={"type": "list", "elements": "str", "default": []},
        exclude_namespaces={"type": "list", "elements": "str", "default": []},
        audit_system_namespaces={"type": "bool", "default": False},
        severity_overrides={"type": "dict", "default": {}},
        thresholds={"type": "dict", "default": {}},
        fail_on={"type": "str", "choices": ["never", "none", "info", "warning", "critical"], "default": "never"},
        min_score={"type": "float", "default": 0},
        src={"type": "list", "elements": "path"},
        target_version={"type": "str"},
        read_metrics={"type": "bool", "default": True},
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    protect_kubeconfig(module)
    check_numeric_options(module, "k8s_health")
    try:  # the service builds the Kubernetes client (none for src)
        result, warnings, reasons = check_health(module.params)
    except ToolkitError as exc:
        fail_from_error(module, exc, changed=False)
    for warning in warnings:
        module.warn(warning)
    if reasons:
        module.fail_json(msg="k8s_health gate failed: %s" % "; ".join(reasons), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
