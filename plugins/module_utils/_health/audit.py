# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuration audit shared by live clusters and manifest files: pod templates, RBAC,
quotas, NetworkPolicy coverage, deprecated API use."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from . import workloads
from .model import dig, finding, meta

DANGEROUS_CAPABILITIES = frozenset(("ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH", "BPF", "PERFMON", "SYS_RAWIO"))
# Workload kinds whose pods are expected to exit: probes make no sense there
RUN_TO_COMPLETION = ("Job", "CronJob")
SYSTEM_SUBJECT_PREFIXES = ("system:",)
PUBLIC_GROUPS = ("system:anonymous", "system:unauthenticated", "system:authenticated")


def pod_spec_of(kind, obj):
    """The pod spec inside a workload object (or the pod itself)."""
    if kind == "Pod":
        return obj.get("spec") or {}
    if kind == "CronJob":
        return dig(obj, "spec", "jobTemplate", "spec", "template", "spec", default={})
    return dig(obj, "spec", "template", "spec", default={})


def _long_running(spec):
    """App containers plus restartable init containers (sidecars)."""
    containers = list(spec.get("containers") or [])
    containers += [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    return containers


def _effective(pod_sc, container, key):
    sc = container.get("securityContext") or {}
    if key in sc and sc[key] is not None:
        return sc[key]
    return (pod_sc or {}).get(key)


def audit_pod_spec(kind, namespace, name, spec):
    """Findings for one pod template; one finding per rule listing the containers involved."""
    containers = _long_running(spec)
    pod_sc = spec.get("securityContext") or {}
    pod_requests = dig(spec, "resources", "requests", default={})
    pod_limits = dig(spec, "resources", "limits", default={})
    hits = {}

    def hit(rule, container, detail=""):
        hits.setdefault(rule, []).append(str(container.get("name") or "") + ((" (" + detail + ")") if detail else ""))

    for container in containers:
        res = container.get("resources") or {}
        missing = [r for r in ("cpu", "memory") if r not in (res.get("requests") or {}) and r not in pod_requests]
        if missing:
            hit("requests", container, "/".join(missing))
        if "memory" not in (res.get("limits") or {}) and "memory" not in pod_limits:
            hit("memory_limit", container)
        if "cpu" not in (res.get("limits") or {}) and "cpu" not in pod_limits:
            hit("cpu_limit", container)
        if kind not in RUN_TO_COMPLETION:
            if not container.get("readinessProbe"):
                hit("readiness", container)
            if not container.get("livenessProbe"):
                hit("liveness", container)
        _audit_security(pod_sc, container, hit)
    for container in spec.get("initContainers") or []:
        if container.get("restartPolicy") != "Always":
            sc = container.get("securityContext") or {}
            if sc.get("privileged"):
                hit("privileged", container, "init")
    host = [key for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    return _audit_findings(kind, namespace, name, hits, host)


def _audit_security(pod_sc, container, hit):
    sc = container.get("securityContext") or {}
    privileged = bool(sc.get("privileged"))
    if privileged:
        hit("privileged", container)
    if not privileged and sc.get("allowPrivilegeEscalation") is not False:
        hit("privilege_escalation", container)
    run_as_user = _effective(pod_sc, container, "runAsUser")
    if _effective(pod_sc, container, "runAsNonRoot") is not True and not (isinstance(run_as_user, int) and run_as_user > 0):
        hit("root", container)
    if run_as_user == 0:
        hit("root_uid", container)
    if sc.get("readOnlyRootFilesystem") is not True:
        hit("rootfs", container)
    added = set(str(c).upper() for c in dig(sc, "capabilities", "add", default=[]))
    bad = sorted(added & DANGEROUS_CAPABILITIES)
    if bad:
        hit("capabilities", container, ",".join(bad))


RULES = {
    # rule -> (id, severity, message, fix)
    "requests": ("audit.missing_requests", "warning", "containers without CPU/memory requests",
                 "Set resources.requests so the scheduler can place the pod and eviction order is predictable."),
    "memory_limit": ("audit.missing_memory_limit", "warning", "containers without a memory limit",
                     "Set resources.limits.memory so one leak cannot exhaust the node."),
    "cpu_limit": ("audit.missing_cpu_limit", "info", "containers without a CPU limit",
                  "Optional: a CPU limit caps bursts but throttles; many teams leave it unset on purpose."),
    "readiness": ("audit.missing_readiness_probe", "warning", "containers without a readiness probe",
                  "Add a readinessProbe so Services only send traffic to pods that can serve."),
    "liveness": ("audit.missing_liveness_probe", "info", "containers without a liveness probe",
                 "Consider a livenessProbe for processes that can hang without exiting."),
    "privileged": ("audit.privileged", "critical", "privileged containers",
                   "Drop privileged: true; grant only the specific capabilities needed."),
    "privilege_escalation": ("audit.privilege_escalation", "warning", "containers allowing privilege escalation",
                             "Set securityContext.allowPrivilegeEscalation: false."),
    "root": ("audit.may_run_as_root", "warning", "containers that may run as root",
             "Set runAsNonRoot: true (and a non-zero runAsUser) in the pod or container securityContext."),
    "root_uid": ("audit.runs_as_root", "critical", "containers with runAsUser 0",
                 "Run as a non-zero UID."),
    "rootfs": ("audit.writable_root_filesystem", "info", "containers with a writable root filesystem",
               "Set readOnlyRootFilesystem: true and mount emptyDir where writes are needed."),
    "capabilities": ("audit.dangerous_capabilities", "warning", "containers adding dangerous capabilities",
                     "Remove the added capabilities; drop ALL and add back only what is required."),
}


def _audit_findings(kind, namespace, name, hits, host):
    out = []
    for rule in sorted(hits):
        fid, severity, message, fix = RULES[rule]
        containers = sorted(hits[rule])
        out.append(finding(fid, severity, kind, name, "%d %s: %s" % (len(containers), message, ", ".join(containers)),
                           fix, namespace=namespace, evidence={"containers": containers}))
    if host:
        out.append(finding("audit.host_namespace", "warning", kind, name, "Pod shares the host's %s" % ", ".join(host),
                           "Remove hostNetwork/hostPID/hostIPC unless this is a node agent that needs them.",
                           namespace=namespace, evidence={"host_namespaces": host}))
    return out


# ---- RBAC ------------------------------------------------------------------------------------

# pods/exec and pods/attach through a WebSocket upgrade are a GET: before 1.35 (KEP-4006 and the
# AuthorizePodWebsocketUpgradeCreatePermission gate, on by default from 1.35) `get` alone grants exec.
EXEC_BY_GET_FIXED_IN = (1, 35)
EXEC_RESOURCES = frozenset(("pods/exec", "pods/attach", "nodes/proxy", "serviceaccounts/token", "pods/*", "*"))
EXEC_BY_GET_RESOURCES = frozenset(("pods/exec", "pods/attach", "pods/*", "*"))


def exec_by_get(version):
    """Whether `get` on pods/exec grants exec on this Kubernetes version (None: unknown, judged as before 1.35)."""
    return version is None or tuple(version[:2]) < EXEC_BY_GET_FIXED_IN


def _rule_flags(rule, cluster_wide, version=None):
    verbs = set(rule.get("verbs") or [])
    resources = set(rule.get("resources") or [])
    groups = set(rule.get("apiGroups") or [])
    flags = set()
    if rule.get("nonResourceURLs") and not resources:
        return flags
    if "*" in verbs or "*" in resources or "*" in groups:
        flags.add("wildcard")
    if verbs & {"escalate", "bind", "impersonate"}:
        flags.add("escalation")
    reads = verbs & {"get", "list", "watch", "*"}
    if reads and resources & {"secrets", "*"} and ("" in groups or "*" in groups):
        flags.add("secrets_cluster" if cluster_wide else "secrets")
    if verbs & {"create", "*"} and resources & EXEC_RESOURCES:
        flags.add("exec")
    elif "get" in verbs and resources & EXEC_BY_GET_RESOURCES and groups & {"", "*"} and exec_by_get(version):
        flags.add("exec_get")
    return flags


RBAC_RULES = {
    "wildcard": ("rbac.wildcard", "warning", "grants wildcard (*) verbs, resources or API groups",
                 "List the verbs, resources and API groups actually needed instead of *."),
    "escalation": ("rbac.escalation_verbs", "warning", "grants escalate, bind or impersonate",
                   "Remove escalate/bind/impersonate unless the subject administers RBAC."),
    "secrets_cluster": ("rbac.secret_read", "warning", "can read Secrets in every namespace",
                        "Scope Secret access to a namespaced Role with resourceNames."),
    "secrets": ("rbac.secret_read", "info", "can read Secrets in its namespace",
                "Limit Secret reads with resourceNames where possible."),
    "exec": ("rbac.exec", "warning", "can exec/attach into pods, proxy to nodes or mint tokens",
             "Grant pods/exec, pods/attach, nodes/proxy and serviceaccounts/token only to break-glass roles."),
    "exec_get": ("rbac.exec", "warning", "can exec/attach into pods with get alone (the WebSocket upgrade is a GET before 1.35)",
                 "Remove get on pods/exec and pods/attach (and * resources) from this role, or upgrade to 1.35+ where exec needs create."),
}


def _is_system(name):
    return (name or "").startswith(SYSTEM_SUBJECT_PREFIXES)


def subject_text(subject):
    kind = subject.get("kind") or ""
    ns = subject.get("namespace")
    return "%s:%s/%s" % (kind, ns, subject.get("name")) if ns else "%s:%s" % (kind, subject.get("name"))


def judge_binding(binding, role, cluster_wide, version=None):
    """Findings for one (Cluster)RoleBinding given the rules of the role it references.

    Reported per binding with its subjects, so the fix names who holds the access. `version`
    ((major, minor, patch), the cluster's or the src target's; None = unknown) decides whether
    `get` on pods/exec grants exec.
    """
    kind = "ClusterRoleBinding" if cluster_wide else "RoleBinding"
    name = meta(binding).get("name")
    ns = meta(binding).get("namespace")
    role_ref = binding.get("roleRef") or {}
    subjects = binding.get("subjects") or []
    if _is_system(name) and all(_is_system(s.get("name")) or s.get("namespace") == "kube-system" for s in subjects):
        return []
    subject_names = sorted(subject_text(s) for s in subjects)
    evidence = {"role": "%s/%s" % (role_ref.get("kind"), role_ref.get("name")), "subjects": subject_names}
    out = []
    public = sorted(s.get("name") for s in subjects if s.get("name") in PUBLIC_GROUPS)
    if public:
        out.append(finding("rbac.public_binding", "critical", kind, name,
                           "binds %s to %s" % (evidence["role"], ", ".join(public)),
                           "Bind to named users, groups or service accounts, never to anonymous/all authenticated users.",
                           namespace=ns, evidence=evidence))
    human = [s for s in subjects if not _is_system(s.get("name"))]
    if role_ref.get("name") == "cluster-admin" and human:
        out.append(finding("rbac.cluster_admin", "critical" if cluster_wide else "warning", kind, name,
                           "grants cluster-admin to %s" % ", ".join(sorted(subject_text(s) for s in human)),
                           "Replace cluster-admin with a role holding only the permissions this subject needs.",
                           namespace=ns, evidence=evidence))
        return out
    if role is None or not human:
        return out
    flags = set()
    for rule in role.get("rules") or []:
        flags |= _rule_flags(rule, cluster_wide and role_ref.get("kind") == "ClusterRole", version)
    if "exec" in flags:
        flags.discard("exec_get")
    for flag in sorted(flags):
        fid, severity, message, fix = RBAC_RULES[flag]
        found_evidence = evidence
        if flag == "exec_get":
            judged = "%d.%d" % tuple(version[:2]) if version else ""
            found_evidence = dict(evidence, exec_by_get=True, judged_for_version=judged or "unknown (judged as before 1.35)")
        out.append(finding(fid, severity, kind, name, "%s %s" % (evidence["role"], message) + " (subjects: %s)" % ", ".join(subject_names),
                           fix, namespace=ns, evidence=found_evidence))
    return out


# ---- quotas, network policies, deprecated APIs ------------------------------------------------

_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_SUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
           "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4, "Pi": 1024 ** 5, "Ei": 1024 ** 6}


def parse_quantity(text):
    if text is None:
        return None
    match = _QUANTITY.match(str(text).strip())
    if not match or match.group(2) not in _SUFFIX:
        try:
            return float(text)
        except (TypeError, ValueError):
            return None
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def judge_quota(quota, warn_percent):
    hard = dig(quota, "status", "hard", default={})
    used = dig(quota, "status", "used", default={})
    ns, name = meta(quota).get("namespace"), meta(quota).get("name")
    out = []
    for resource in sorted(hard):
        limit, current = parse_quantity(hard[resource]), parse_quantity(used.get(resource, "0"))
        if not limit or current is None:
            continue
        percent = round(100.0 * current / limit, 1)
        evidence = {"resource": resource, "used": used.get(resource, "0"), "hard": hard[resource], "percent": percent}
        if percent >= 100:
            out.append(finding("quota.exhausted", "warning", "ResourceQuota", name, "%s is at %s%% of its quota" % (resource, percent),
                               "New pods/objects are rejected: raise the quota or free resources.", namespace=ns, evidence=evidence))
        elif percent >= warn_percent:
            out.append(finding("quota.almost_full", "info", "ResourceQuota", name, "%s is at %s%% of its quota" % (resource, percent),
                               "Raise the quota before it blocks deployments.", namespace=ns, evidence=evidence))
    return out


def namespace_without_netpol(namespace, workloads):
    return finding("audit.no_network_policy", "info", "Namespace", namespace,
                   "Namespace runs %d workload(s) and has no NetworkPolicy" % workloads,
                   "Add a default-deny NetworkPolicy and allow the flows the workloads need.",
                   evidence={"workloads": workloads})


def workload_without_pdb(kind, namespace, name, replicas):
    return finding("audit.no_pdb", "info", kind, name,
                   "%d replicas and no PodDisruptionBudget" % replicas,
                   "Add a PodDisruptionBudget (e.g. maxUnavailable: 1) so drains keep it available.",
                   namespace=namespace, evidence={"replicas": replicas})


def _int_value(value):
    """An IntOrString that is a plain count (2 or "2"), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _percent_value(value):
    """An IntOrString percentage ("25%") as a number, else None."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1])
        except ValueError:
            return None
    return None


def _shown(value):
    return value if value is None or isinstance(value, (int, float, str)) else str(value)


def pdb_never_allows(spec):
    """Why a PDB spec allows no voluntary disruption whatever it selects (maxUnavailable 0 or "0%",
    minAvailable "100%"), else None."""
    spec = spec if isinstance(spec, dict) else {}
    max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
    if _int_value(max_unavailable) == 0 or _percent_value(max_unavailable) == 0:
        return "maxUnavailable is %s" % max_unavailable
    percent = _percent_value(min_available)
    if percent is not None and percent >= 100:
        return "minAvailable is %s" % min_available
    return None


def pdb_blocks_replicas(spec, replicas):
    """Why a PDB allows no disruption of `replicas` healthy pods (minAvailable >= replicas, rounded up
    as the disruption controller does), else None."""
    if not replicas:
        return None
    min_available = (spec or {}).get("minAvailable")
    needed = _int_value(min_available)
    percent = _percent_value(min_available)
    if needed is None and percent is not None:
        needed = int(math.ceil(percent * replicas / 100.0))
    if needed is not None and needed >= replicas:
        return "minAvailable %s of %d replica(s) leaves nothing to disrupt" % (min_available, replicas)
    return None


def _pdb_finding(pdb, message, evidence):
    spec = pdb.get("spec") if isinstance(pdb.get("spec"), dict) else {}
    evidence = dict(evidence, min_available=_shown(spec.get("minAvailable")), max_unavailable=_shown(spec.get("maxUnavailable")))
    return finding("pdb.blocks_disruption", "warning", "PodDisruptionBudget", meta(pdb).get("name"), message,
                   "Node drains will hang: lower minAvailable / raise maxUnavailable, or add replicas.",
                   namespace=meta(pdb).get("namespace"), evidence=evidence)


def pdb_spec_blocks(pdb, replicas):
    """Static check (manifests): a PDB that can never allow a disruption, from its spec alone or
    against the replicas of the workloads it selects (None when unknown)."""
    spec = pdb.get("spec") or {}
    why = pdb_never_allows(spec)
    basis = "spec"
    if why is None:
        why, basis = pdb_blocks_replicas(spec, replicas), "replicas"
    if why is None:
        return None
    return _pdb_finding(pdb, "PodDisruptionBudget can never allow a disruption: %s (replicas=%s)" % (why, replicas),
                        {"replicas": replicas, "basis": basis})


def judge_pdb(pdb, replicas=None):
    """One verdict per PodDisruptionBudget, live or from a file.

    The spec alone (maxUnavailable 0, minAvailable 100%) blocks whatever it selects, even nothing;
    then the live status (expectedPods > 0 and disruptionsAllowed 0) when the controller has
    observed it; else minAvailable against `replicas` (the selected workloads' replicas, or None).
    """
    status = pdb.get("status") if isinstance(pdb.get("status"), dict) else {}
    why = pdb_never_allows(pdb.get("spec"))
    if why:
        evidence = {"basis": "spec", "replicas": replicas}
        if "expectedPods" in status:
            evidence.update(expected_pods=status.get("expectedPods"), current_healthy=status.get("currentHealthy", 0),
                            desired_healthy=status.get("desiredHealthy", 0), disruptions_allowed=status.get("disruptionsAllowed", 0))
        return _pdb_finding(pdb, "PodDisruptionBudget can never allow a disruption: %s, whatever pods it selects" % why, evidence)
    if "disruptionsAllowed" in status and "expectedPods" in status:
        found = workloads.judge_pdb_status(pdb)
        if found is not None:
            found["evidence"]["basis"] = "status"
        return found
    return pdb_spec_blocks(pdb, replicas)


_METRIC_LINE = re.compile(r'^apiserver_requested_deprecated_apis\{([^}]*)\}\s+([0-9.eE+-]+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_deprecated_metric(text):
    """Rows of apiserver_requested_deprecated_apis from the apiserver's /metrics text."""
    rows = {}
    for line in (text or "").splitlines():
        match = _METRIC_LINE.match(line)
        if not match or float(match.group(2)) <= 0:
            continue
        labels = dict(_LABEL.findall(match.group(1)))
        key = (labels.get("group", ""), labels.get("version", ""), labels.get("resource", ""), labels.get("subresource", ""))
        rows[key] = labels.get("removed_release", "")
    return [dict(zip(("group", "version", "resource", "subresource", "removed_release"), key + (removed,)))
            for key, removed in sorted(rows.items())]


def judge_deprecated_api(row, server_minor):
    api = "%s/%s" % (row["group"], row["version"]) if row["group"] else row["version"]
    resource = row["resource"] + ("/" + row["subresource"] if row["subresource"] else "")
    removed = row["removed_release"]
    severity = "info"
    if removed:
        parts = removed.split(".")
        soon = server_minor is not None and len(parts) == 2 and parts[1].isdigit() and int(parts[1]) <= server_minor[1] + 1
        severity = "warning" if soon else "info"
    return finding("api.deprecated_in_use", severity, "APIResource", "%s %s" % (api, resource),
                   "Clients requested deprecated %s %s%s" % (api, resource, " (removed in %s)" % removed if removed else ""),
                   "Find the caller (audit log annotation k8s.io/deprecated or the Warning header) and move it to the current API version.",
                   evidence=dict(row))


# Manifest-only: apiVersions the server no longer serves (or soon will not), with their removal release.
REMOVED_APIS = {
    ("extensions/v1beta1", "Ingress"): "1.22", ("extensions/v1beta1", "Deployment"): "1.16",
    ("extensions/v1beta1", "DaemonSet"): "1.16", ("extensions/v1beta1", "NetworkPolicy"): "1.16",
    ("extensions/v1beta1", "PodSecurityPolicy"): "1.16", ("apps/v1beta1", "Deployment"): "1.16",
    ("apps/v1beta2", "Deployment"): "1.16", ("apps/v1beta1", "StatefulSet"): "1.16",
    ("apps/v1beta2", "StatefulSet"): "1.16", ("apps/v1beta2", "DaemonSet"): "1.16",
    ("networking.k8s.io/v1beta1", "Ingress"): "1.22", ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"): "1.22",
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"): "1.22", ("rbac.authorization.k8s.io/v1beta1", "Role"): "1.22",
    ("rbac.authorization.k8s.io/v1beta1", "RoleBinding"): "1.22", ("batch/v1beta1", "CronJob"): "1.25",
    ("policy/v1beta1", "PodDisruptionBudget"): "1.25", ("policy/v1beta1", "PodSecurityPolicy"): "1.25",
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): "1.25", ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): "1.26",
    ("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema"): "1.29", ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"): "1.32",
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): "1.27", ("discovery.k8s.io/v1beta1", "EndpointSlice"): "1.25",
}


def judge_manifest_api(obj, source):
    key = (obj.get("apiVersion"), obj.get("kind"))
    removed = REMOVED_APIS.get(key)
    if not removed:
        return None
    return finding("api.removed_version", "critical", obj.get("kind") or "", meta(obj).get("name"),
                   "%s %s was removed in Kubernetes %s" % (key[0], key[1], removed),
                   "Move the manifest to the current apiVersion of %s." % key[1],
                   namespace=meta(obj).get("namespace"), evidence={"api_version": key[0], "removed_in": removed, "file": source})
