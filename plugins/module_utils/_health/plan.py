# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to list for which checks: pure data the module walks with its client.

Each source names the API path, the field projection (only what the rules read, so no
managedFields, annotations or volumes are kept), the HealthScan method that consumes one
item, and the checks that lose coverage if the list fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

POD_FIELDS = [
    "metadata.name", "metadata.namespace", "metadata.ownerReferences", "metadata.creationTimestamp",
    "metadata.deletionTimestamp", "metadata.deletionGracePeriodSeconds", "metadata.finalizers", "metadata.labels",
    "spec.nodeName", "spec.containers", "spec.initContainers", "spec.securityContext", "spec.resources",
    "spec.hostNetwork", "spec.hostPID", "spec.hostIPC",
    "spec.volumes", "spec.serviceAccountName", "spec.automountServiceAccountToken", "spec.imagePullSecrets",
    "status.phase", "status.reason", "status.message", "status.conditions", "status.containerStatuses",
    "status.initContainerStatuses",
]
WORKLOAD_FIELDS = ["metadata.name", "metadata.namespace", "metadata.labels", "metadata.ownerReferences",
                   "metadata.generation", "spec", "status"]
NODE_FIELDS = ["metadata.name", "metadata.labels", "spec.unschedulable", "spec.taints", "spec.providerID",
               "status.conditions", "status.nodeInfo"]
EVENT_FIELDS = ["metadata.namespace", "metadata.creationTimestamp", "type", "reason", "message", "note", "count",
                "firstTimestamp", "lastTimestamp", "eventTime", "series", "involvedObject", "regarding",
                "deprecatedCount", "deprecatedFirstTimestamp", "deprecatedLastTimestamp"]
LEASE_FIELDS = ["metadata.name", "metadata.namespace", "spec"]

# (name, path, namespaced, fields, params, feed method, feed args, checks)
SOURCES = [
    ("nodes", "/api/v1/nodes", False, NODE_FIELDS, None, "add_node", (),
     ["nodes.conditions", "nodes.scheduling", "versions.kubelet", "versions.kube_proxy"]),
    ("node leases", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", False, LEASE_FIELDS, None,
     "add_node_lease", (), ["nodes.leases"]),
    # identity Leases are labelled apiserver.kubernetes.io/identity (k8s.io/component on some builds): filtered in the scan
    ("kube-system leases", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases", False,
     LEASE_FIELDS + ["metadata.labels"], None, "add_apiserver_lease", (), ["controlplane.apiserver_leases"]),
    ("apiservices", "/apis/apiregistration.k8s.io/v1/apiservices", False, ["metadata.name", "spec.service", "status.conditions"],
     None, "add_apiservice", (), ["controlplane.apiservices"]),
    ("pods", "/api/v1/pods", True, POD_FIELDS, None, "add_pod", (),
     ["pods.containers", "pods.scheduling", "pods.lifecycle", "versions.control_plane", "audit.pod_specs"]),
    ("deployments", "/apis/apps/v1/deployments", True, WORKLOAD_FIELDS, None, "add_workload", ("Deployment",),
     ["workloads.rollouts", "audit.pod_specs", "audit.pdb_coverage"]),
    ("statefulsets", "/apis/apps/v1/statefulsets", True, WORKLOAD_FIELDS, None, "add_workload", ("StatefulSet",),
     ["workloads.rollouts", "audit.pod_specs", "audit.pdb_coverage"]),
    ("daemonsets", "/apis/apps/v1/daemonsets", True, WORKLOAD_FIELDS, None, "add_workload", ("DaemonSet",),
     ["workloads.rollouts", "audit.pod_specs", "versions.kube_proxy"]),
    ("jobs", "/apis/batch/v1/jobs", True, WORKLOAD_FIELDS, None, "add_workload", ("Job",), ["workloads.jobs", "audit.pod_specs"]),
    ("cronjobs", "/apis/batch/v1/cronjobs", True, WORKLOAD_FIELDS, None, "add_workload", ("CronJob",), ["audit.pod_specs"]),
    ("poddisruptionbudgets", "/apis/policy/v1/poddisruptionbudgets", True, ["metadata.name", "metadata.namespace", "spec", "status"],
     None, "add_pdb", (), ["workloads.disruption_budgets", "audit.pdb_coverage"]),
    ("events", "/api/v1/events", True, EVENT_FIELDS, {"fieldSelector": "type=Warning"}, "add_event", (), ["events.warnings"]),
    ("networkpolicies", "/apis/networking.k8s.io/v1/networkpolicies", True, ["metadata.name", "metadata.namespace", "spec"], None,
     "add_network_policy", (), ["audit.network_policies", "audit.references"]),
    ("ingresses", "/apis/networking.k8s.io/v1/ingresses", True, ["metadata.name", "metadata.namespace", "spec"], None,
     "peer_ingress", (), ["audit.references"]),
    ("serviceaccounts", "/api/v1/serviceaccounts", True, ["metadata.name", "metadata.namespace", "automountServiceAccountToken"],
     None, "peer_service_account", (), ["audit.references"]),
    ("resourcequotas", "/api/v1/resourcequotas", True, ["metadata.name", "metadata.namespace", "status"], None,
     "add_quota", (), ["audit.quotas"]),
    ("clusterroles", "/apis/rbac.authorization.k8s.io/v1/clusterroles", False, ["metadata.name", "rules"], None,
     "add_role", ("ClusterRole",), ["audit.rbac"]),
    ("roles", "/apis/rbac.authorization.k8s.io/v1/roles", True, ["metadata.name", "metadata.namespace", "rules"], None,
     "add_role", ("Role",), ["audit.rbac"]),
    ("clusterrolebindings", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", False,
     ["metadata.name", "roleRef", "subjects"], None, "add_binding", ("ClusterRoleBinding",), ["audit.rbac"]),
    ("rolebindings", "/apis/rbac.authorization.k8s.io/v1/rolebindings", True,
     ["metadata.name", "metadata.namespace", "roleRef", "subjects"], None, "add_binding", ("RoleBinding",), ["audit.rbac"]),
]


def namespaced_path(path, namespace):
    """/api/v1/pods -> /api/v1/namespaces/<ns>/pods."""
    head, resource = path.rsplit("/", 1)
    return "%s/namespaces/%s/%s" % (head, namespace, resource)


def sources_for(scan, sources=None):
    """Sources whose checks are wanted, with per-namespace paths when namespaces are included.
    sources: a list shaped like SOURCES (default SOURCES; objects.SOURCES for the cluster-object checks)."""
    out = []
    for name, path, namespaced, fields, params, method, args, checks in SOURCES if sources is None else sources:
        wanted = [c for c in checks if scan.wants(c)]
        if not wanted:
            continue
        paths = [path]
        if namespaced and scan.config["namespaces"]:
            paths = [namespaced_path(path, ns) for ns in scan.config["namespaces"]]
        out.append({"name": name, "paths": paths, "fields": fields, "params": dict(params or {}),
                    "method": method, "args": args, "checks": wanted})
    return out
