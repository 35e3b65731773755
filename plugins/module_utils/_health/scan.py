# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HealthScan: objects are fed one at a time (as pages arrive) and judged at once, so memory
holds findings and small per-node/per-workload summaries, never whole lists."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from . import apiserver, audit, audit_peers, nodes, objects, pods, scoring, versions, workloads
from .events import EventGroups
from .._k8s_labels import label_selector_matches
from .model import (DEFAULT_THRESHOLDS, GROUPS, OVERRIDE_VALUES, SEVERITIES, SEVERITY_RANK, STATUS_FORBIDDEN,
                    STATUS_SKIPPED, STATUS_UNAVAILABLE, CheckRecord, dig, finding_sort_key, meta)

SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")

# check id -> (group, description)
CHECKS = {
    "apiserver.version": ("apiserver", "API server answers /version"),
    "apiserver.livez": ("apiserver", "/livez?verbose: every liveness check passes"),
    "apiserver.readyz": ("apiserver", "/readyz?verbose: every readiness check passes"),
    "controlplane.leader_leases": ("apiserver", "kube-scheduler and kube-controller-manager leader Leases are fresh"),
    "controlplane.apiserver_leases": ("apiserver", "API server identity Leases are fresh (instances counted)"),
    "controlplane.apiservices": ("apiserver", "aggregated APIServices are Available"),
    "controlplane.componentstatuses": ("apiserver", "legacy componentstatuses (fallback when leader Leases are not visible)"),
    "nodes.conditions": ("nodes", "node conditions judged by their own polarity"),
    "nodes.scheduling": ("nodes", "cordoned nodes and extra scheduling taints"),
    "nodes.leases": ("nodes", "node heartbeat Leases in kube-node-lease are fresh"),
    "versions.kubelet": ("versions", "kubelet vs API server skew policy"),
    "versions.kube_proxy": ("versions", "kube-proxy image vs API server and kubelets"),
    "versions.control_plane": ("versions", "HA API servers, controller-manager and scheduler skew"),
    "pods.containers": ("pods", "container waiting/terminated reasons, OOM kills, recent restarts"),
    "pods.scheduling": ("pods", "Pending pods and the scheduler's reason"),
    "pods.lifecycle": ("pods", "evicted, failed, not-ready and stuck-terminating pods"),
    "workloads.rollouts": ("workloads", "Deployments, StatefulSets and DaemonSets have their replicas; rollouts progress"),
    "workloads.jobs": ("workloads", "Jobs that failed"),
    "workloads.disruption_budgets": ("workloads", "PodDisruptionBudgets that allow no disruption"),
    "events.warnings": ("events", "recent Warning events grouped by reason and object"),
    "audit.pod_specs": ("audit", "requests/limits, probes and securityContext of workload templates"),
    "audit.network_policies": ("audit", "namespaces with workloads but no NetworkPolicy"),
    "audit.rbac": ("audit", "cluster-admin bindings, wildcards, secret reads, exec rights, public bindings"),
    "audit.quotas": ("audit", "ResourceQuota usage"),
    "audit.pdb_coverage": ("audit", "replicated workloads without a PodDisruptionBudget"),
    "audit.deprecated_apis": ("audit", "deprecated APIs requested, from apiserver_requested_deprecated_apis"),
}
CHECKS.update(objects.CHECKS)  # webhooks, namespaces, CSRs, claims, HPAs, Services (objects.py)
CHECKS.update(audit_peers.CHECKS)  # Polaris/kube-score counterparts joining objects (audit_peers.py)

POD_CHECK = {
    "pod.unschedulable": "pods.scheduling", "pod.scheduling_gated": "pods.scheduling", "pod.pending": "pods.scheduling",
    "pod.evicted": "pods.lifecycle", "pod.failed": "pods.lifecycle", "pod.stuck_terminating": "pods.lifecycle",
    "pod.not_ready": "pods.lifecycle",
}
CONTROL_PLANE_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "cloud-controller-manager")
AUDITED_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod")
STATIC_REPLICA_KINDS = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class ConfigError(ValueError):
    """Bad option value; the message names the option and the fix."""


def normalise_config(config):
    config = dict(config or {})
    groups = list(config.get("groups") or GROUPS)
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        raise ConfigError("groups: unknown group(s) %s; choose from %s" % (", ".join(unknown), ", ".join(GROUPS)))
    thresholds = dict(DEFAULT_THRESHOLDS)
    for key, value in (config.get("thresholds") or {}).items():
        if key not in DEFAULT_THRESHOLDS:
            raise ConfigError("thresholds: unknown key %r; known keys are %s" % (key, ", ".join(sorted(DEFAULT_THRESHOLDS))))
        try:
            thresholds[key] = int(value)
        except (TypeError, ValueError):
            raise ConfigError("thresholds.%s must be an integer, got %r" % (key, value))
        if thresholds[key] < 0:
            raise ConfigError("thresholds.%s must be >= 0, got %r" % (key, value))
    unknown_checks = sorted(set(config.get("checks") or []) - set(CHECKS))
    if unknown_checks:
        raise ConfigError("checks: unknown check id(s) %s; known ids are %s" % (", ".join(unknown_checks), ", ".join(sorted(CHECKS))))
    target_version = config.get("target_version")
    parsed_target = versions.parse_version(str(target_version)) if target_version not in (None, "") else None
    if target_version not in (None, "") and parsed_target is None:
        raise ConfigError("target_version: %r is not a Kubernetes version; give the version the manifests are meant for, "
                          "e.g. 1.34 or v1.34.2" % (target_version,))
    overrides = dict(config.get("severity_overrides") or {})
    for fid, value in overrides.items():
        if value not in OVERRIDE_VALUES:
            raise ConfigError("severity_overrides.%s must be one of %s, got %r" % (fid, ", ".join(OVERRIDE_VALUES), value))
    return {
        "groups": groups,
        "namespaces": sorted(set(config.get("namespaces") or [])),
        "exclude_namespaces": sorted(set(config.get("exclude_namespaces") or [])),
        "severity_overrides": overrides,
        "thresholds": thresholds,
        "audit_system_namespaces": bool(config.get("audit_system_namespaces", False)),
        "checks": set(config.get("checks") or []),
        "target_version": parsed_target,
    }


class HealthScan(objects.ObjectChecks, audit_peers.PeerChecks):
    """Feed API objects with add_*(); call result() once at the end."""

    def __init__(self, config=None, now=None):
        self.config = normalise_config(config)
        self.t = self.config["thresholds"]
        self.now = now or _utcnow()
        self.checks = {cid: CheckRecord(cid, group, desc) for cid, (group, desc) in CHECKS.items()}
        self._affected = {cid: {} for cid in CHECKS}
        for cid, record in self.checks.items():
            if record.group not in self.config["groups"]:
                record.mark(STATUS_SKIPPED, "group %s not selected" % record.group)
            elif self.config["checks"] and cid not in self.config["checks"]:
                record.mark(STATUS_SKIPPED, "check not selected")
        self.server_version = None
        self.server_version_text = ""
        self.node_versions = {}
        self.node_summaries = []
        self.node_count = 0
        self.nodes_seen = set()
        self.node_leases_seen = set()
        self.node_roles = {}
        self.lost_nodes = {}
        self.kube_proxy = None
        self.control_plane_pods = {}
        self.apiserver_instances = 0
        self.leader_leases_visible = {}
        self.pod_phases = {}
        self.pods_total = 0
        self.workload_counts = {}
        self.addons = {}
        self.namespaces_with_workloads = {}
        self.namespaces_with_netpol = set()
        self.replicated = []
        self.pdbs = []
        self.static_replicas = []
        self.roles = {}
        self.bindings = []
        self.events = EventGroups(self.now, self.t["event_window_minutes"], self.t["event_min_count"])
        self.stats = {}
        self._init_objects()
        self._init_peers()

    # ---- scope and bookkeeping -----------------------------------------------------------

    def wants(self, check_id):
        return self.checks[check_id].status != STATUS_SKIPPED

    def wants_any(self, *check_ids):
        return any(self.wants(cid) for cid in check_ids)

    def in_scope(self, namespace):
        if not namespace:
            return True
        if self.config["namespaces"] and namespace not in self.config["namespaces"]:
            return False
        return namespace not in self.config["exclude_namespaces"]

    def _audit_scope(self, namespace):
        return self.in_scope(namespace) and (self.config["audit_system_namespaces"] or namespace not in SYSTEM_NAMESPACES)

    def coverage_gap(self, check_ids, status, reason):
        """A list that failed (403, 404, timeout): the checks it feeds are not proven healthy."""
        for cid in check_ids:
            if self.wants(cid):
                self.checks[cid].mark(status, reason)

    def listed(self, check_ids):
        """A list behind these checks succeeded (even if empty): they ran."""
        for cid in check_ids:
            if self.wants(cid):
                self.ran(cid)

    def ran(self, check_id, objects=0):
        record = self.checks[check_id]
        record.ran = True
        record.objects += objects

    def emit(self, check_id, items):
        record = self.checks[check_id]
        if not self.wants(check_id):
            return
        overrides = self.config["severity_overrides"]
        for item in items:
            if item is None:
                continue
            override = overrides.get(item["id"])
            if override == "off":
                record.suppressed += 1
                continue
            if override:
                item["severity"] = override
            item["check"] = check_id
            record.findings.append(item)
            key = (item["kind"], item["namespace"], item["name"])
            worst = self._affected[check_id].get(key)
            if worst is None or SEVERITY_RANK[item["severity"]] < SEVERITY_RANK[worst]:
                self._affected[check_id][key] = item["severity"]

    # ---- API server / control plane ------------------------------------------------------

    def set_version(self, info):
        self.ran("apiserver.version", 1)
        self.server_version_text = (info or {}).get("gitVersion") or ""
        self.server_version = versions.parse_version(self.server_version_text)

    def add_probe(self, endpoint, status, text):
        check_id = "apiserver.livez" if endpoint.startswith("/livez") else "apiserver.readyz"
        if status in (401, 403):
            self.coverage_gap([check_id], STATUS_FORBIDDEN, "%s answered HTTP %s" % (endpoint, status))
            return
        if status == 404:
            self.coverage_gap([check_id], STATUS_UNAVAILABLE, "%s not served (HTTP 404)" % endpoint)
            return
        self.ran(check_id, 1)
        self.emit(check_id, apiserver.judge_health_endpoint(endpoint, status, text))

    def add_leader_lease(self, name, lease):
        """lease None = not found (managed control planes hide these)."""
        self.leader_leases_visible[name] = lease is not None
        if lease is None:
            return
        self.ran("controlplane.leader_leases", 1)
        self.emit("controlplane.leader_leases", [apiserver.judge_leader_lease(name, lease, self.now, self.t["leader_lease_grace_seconds"])])

    def finish_leader_leases(self):
        missing = sorted(n for n, seen in self.leader_leases_visible.items() if not seen)
        if missing and not any(self.leader_leases_visible.values()):
            self.coverage_gap(["controlplane.leader_leases"], STATUS_UNAVAILABLE,
                              "leader Leases %s not visible (managed control plane?)" % ", ".join(missing))
        elif missing:
            self.checks["controlplane.leader_leases"].reason = "not visible: %s" % ", ".join(missing)

    def needs_componentstatuses(self):
        return self.wants("controlplane.componentstatuses") and not any(self.leader_leases_visible.values())

    def add_componentstatus(self, item):
        record = self.checks["controlplane.componentstatuses"]
        record.reason = "legacy fallback: deprecated since 1.19 and unreliable on current clusters"
        self.ran("controlplane.componentstatuses", 1)
        self.emit("controlplane.componentstatuses", [apiserver.judge_componentstatus(item)])

    def add_apiserver_lease(self, lease):
        labels = meta(lease).get("labels") or {}
        if "kube-apiserver" not in (labels.get("apiserver.kubernetes.io/identity"), labels.get("k8s.io/component")):
            return
        self.apiserver_instances += 1
        self.ran("controlplane.apiserver_leases", 1)
        self.emit("controlplane.apiserver_leases",
                  apiserver.judge_apiserver_identities([lease], self.now, max(120, self.t["node_lease_stale_seconds"])))

    def add_apiservice(self, svc):
        self.ran("controlplane.apiservices", 1)
        self.emit("controlplane.apiservices", [apiserver.judge_apiservice(svc)])

    # ---- nodes ---------------------------------------------------------------------------

    def add_node(self, node):
        name = meta(node).get("name")
        self.node_count += 1
        self.nodes_seen.add(name)
        self.ran("nodes.conditions", 1)
        self.ran("nodes.scheduling", 1)
        found = nodes.judge_node(node, self.now)
        self.emit("nodes.conditions", [f for f in found if f["id"] not in ("node.cordoned", "node.tainted")])
        self.emit("nodes.scheduling", [f for f in found if f["id"] in ("node.cordoned", "node.tainted")])
        ready = nodes.ready_state(node)
        if ready not in ("True", "False"):
            self.lost_nodes[name] = {"count": 0, "pods": []}
        kubelet_text = dig(node, "status", "nodeInfo", "kubeletVersion") or ""
        self.node_versions[name] = (kubelet_text, versions.parse_version(kubelet_text))
        if len(self.node_summaries) < self.t["max_findings_per_check"] * 4:
            self.node_summaries.append({
                "name": name, "roles": nodes.node_roles(node), "ready": ready,
                "unschedulable": bool(dig(node, "spec", "unschedulable")), "kubelet_version": kubelet_text,
                "container_runtime": dig(node, "status", "nodeInfo", "containerRuntimeVersion") or "",
                "os_image": dig(node, "status", "nodeInfo", "osImage") or "",
            })
        self._count_roles(node)

    def _count_roles(self, node):
        for role in nodes.node_roles(node) or ["<none>"]:
            self.node_roles[role] = self.node_roles.get(role, 0) + 1

    def add_node_lease(self, lease):
        """Leases arrive after nodes; a missing lease is judged in finish_node_leases()."""
        name = meta(lease).get("name")
        if name not in self.nodes_seen:
            return
        self.ran("nodes.leases", 1)
        self.node_leases_seen.add(name)
        self.emit("nodes.leases", [nodes.judge_node_lease(name, lease, self.now, self.t["node_lease_stale_seconds"])])

    def finish_node_leases(self):
        if self.checks["nodes.leases"].status in (STATUS_FORBIDDEN, STATUS_UNAVAILABLE, STATUS_SKIPPED):
            return
        self.ran("nodes.leases")
        for name in sorted(self.nodes_seen - self.node_leases_seen):
            self.emit("nodes.leases", [nodes.judge_node_lease(name, None, self.now, self.t["node_lease_stale_seconds"])])

    # ---- pods ----------------------------------------------------------------------------

    def add_pod(self, pod):
        ns = meta(pod).get("namespace")
        if not self.in_scope(ns):
            return
        self.pods_total += 1
        phase = dig(pod, "status", "phase") or "Unknown"
        self.pod_phases[phase] = self.pod_phases.get(phase, 0) + 1
        self._note_control_plane_pod(pod)
        node = dig(pod, "spec", "nodeName")
        for cid in ("pods.containers", "pods.scheduling", "pods.lifecycle"):
            self.ran(cid, 1)
        if node in self.lost_nodes:
            # the kubelet is gone: this status is stale, so the pod is reported under its node
            lost = self.lost_nodes[node]
            lost["count"] += 1
            if len(lost["pods"]) < 10:
                lost["pods"].append("%s/%s" % (ns, meta(pod).get("name")))
            return
        by_check = {}
        for item in pods.judge_pod(pod, self.now, self.t):
            by_check.setdefault(POD_CHECK.get(item["id"], "pods.containers"), []).append(item)
        for cid, items in by_check.items():
            self.emit(cid, items)
        owner_kind = pods.owner_of(pod)[0]
        if not owner_kind:
            self._audit_template("Pod", pod)

    def _note_control_plane_pod(self, pod):
        labels = meta(pod).get("labels") or {}
        component = labels.get("component")
        if meta(pod).get("namespace") != "kube-system" or component not in CONTROL_PLANE_COMPONENTS:
            return
        for container in dig(pod, "spec", "containers", default=[]):
            version = versions.image_tag_version(container.get("image"))
            if version and component in (container.get("name"), labels.get("component")):
                self.control_plane_pods[meta(pod).get("name")] = (component, version)
                return

    # ---- workloads -----------------------------------------------------------------------

    def add_workload(self, kind, obj, live=True):
        """live=False (manifest files): only the template audit, no status judgement."""
        ns = meta(obj).get("namespace")
        if not self.in_scope(ns):
            return
        counts = self.workload_counts.setdefault(kind, 0)
        self.workload_counts[kind] = counts + 1
        self._note_addon(kind, obj)
        judge = workloads.JUDGES.get(kind) if live else None
        if judge:
            cid = "workloads.jobs" if kind == "Job" else "workloads.rollouts"
            self.ran(cid, 1)
            self.emit(cid, judge(obj, self.now))
        owner_kind = pods.owner_of(obj)[0]
        # Jobs made by CronJobs and ReplicaSets made by Deployments are audited through their owner
        if kind in AUDITED_KINDS and not (kind in ("Job", "ReplicaSet") and owner_kind):
            self._audit_template(kind, obj)
        if not live and kind in STATIC_REPLICA_KINDS and not owner_kind:
            # manifests: a PDB's minAvailable is judged against the replicas of what it selects
            labels = dig(obj, "spec", "template", "metadata", "labels", default={})
            self.static_replicas.append((ns, int(dig(obj, "spec", "replicas", default=1)), labels))
        if kind in ("Deployment", "StatefulSet") and self._audit_scope(ns):
            replicas = int(dig(obj, "spec", "replicas", default=1))
            if replicas >= 2:
                labels = dig(obj, "spec", "template", "metadata", "labels", default={})
                self.replicated.append((kind, ns, meta(obj).get("name"), replicas, labels))

    def _note_addon(self, kind, obj):
        if meta(obj).get("namespace") != "kube-system":
            return
        name = meta(obj).get("name")
        labels = meta(obj).get("labels") or {}
        if kind == "DaemonSet" and (name == "kube-proxy" or labels.get("k8s-app") == "kube-proxy"):
            self.addons["kube-proxy"] = "present"
            for container in dig(obj, "spec", "template", "spec", "containers", default=[]):
                version = versions.image_tag_version(container.get("image"))
                if version:
                    self.kube_proxy = (("kube-system", name), version)
        if kind == "Deployment" and (name in ("coredns", "kube-dns") or labels.get("k8s-app") == "kube-dns"):
            self.addons["dns"] = name

    def _audit_template(self, kind, obj):
        self.peer_template(kind, obj)
        ns = meta(obj).get("namespace")
        if not self._audit_scope(ns) or not self.wants("audit.pod_specs"):
            return
        self.namespaces_with_workloads[ns] = self.namespaces_with_workloads.get(ns, 0) + 1
        self.ran("audit.pod_specs", 1)
        self.emit("audit.pod_specs", audit.audit_pod_spec(kind, ns, meta(obj).get("name"), audit.pod_spec_of(kind, obj)))

    def add_pdb(self, pdb, live=True):
        ns = meta(pdb).get("namespace")
        if not self.in_scope(ns):
            return
        self.pdbs.append((ns, meta(pdb).get("name"), dig(pdb, "spec", "selector"), pdb if not live else None))
        self.peer_pdb(pdb)
        if live:
            self.ran("workloads.disruption_budgets", 1)
            self.emit("workloads.disruption_budgets", [audit.judge_pdb(pdb)])

    # ---- events --------------------------------------------------------------------------

    def add_event(self, event):
        ns = meta(event).get("namespace") or (event.get("involvedObject") or event.get("regarding") or {}).get("namespace")
        if not self.in_scope(ns):
            return
        self.ran("events.warnings", 1 if event.get("type") == "Warning" else 0)
        self.events.add(event)
        self.note_claim_event(event)

    # ---- audit ---------------------------------------------------------------------------

    def add_network_policy(self, policy):
        self.ran("audit.network_policies")
        self.namespaces_with_netpol.add(meta(policy).get("namespace"))
        self.peer_network_policy(policy)

    def add_quota(self, quota):
        if not self.in_scope(meta(quota).get("namespace")):
            return
        self.ran("audit.quotas", 1)
        self.emit("audit.quotas", audit.judge_quota(quota, self.t["quota_warning_percent"]))

    def add_role(self, kind, role):
        key = (kind, meta(role).get("namespace") or "", meta(role).get("name"))
        self.roles[key] = {"rules": role.get("rules") or []}

    def add_binding(self, kind, binding):
        if kind == "RoleBinding" and not self.in_scope(meta(binding).get("namespace")):
            return
        self.bindings.append((kind, binding))

    def add_deprecated_metrics(self, text):
        rows = audit.parse_deprecated_metric(text)
        self.ran("audit.deprecated_apis", max(1, len(rows)))
        self.emit("audit.deprecated_apis", [audit.judge_deprecated_api(row, self.server_version) for row in rows])

    def _finish_rbac(self):
        if not self.bindings and not self.roles:
            return
        self.ran("audit.rbac")
        for kind, binding in self.bindings:
            ref = binding.get("roleRef") or {}
            ns = meta(binding).get("namespace") or ""
            role_key = ("ClusterRole", "", ref.get("name")) if ref.get("kind") == "ClusterRole" else ("Role", ns, ref.get("name"))
            self.checks["audit.rbac"].objects += 1
            self.emit("audit.rbac", audit.judge_binding(binding, self.roles.get(role_key), kind == "ClusterRoleBinding",
                                                        self.server_version or self.config["target_version"]))

    def _finish_network_policies(self):
        record = self.checks["audit.network_policies"]
        if record.status in (STATUS_FORBIDDEN, STATUS_UNAVAILABLE, STATUS_SKIPPED) or not record.ran:
            return
        for ns, count in sorted(self.namespaces_with_workloads.items()):
            record.objects += 1
            if ns not in self.namespaces_with_netpol:
                self.emit("audit.network_policies", [audit.namespace_without_netpol(ns, count)])

    def _finish_pdb_coverage(self):
        record = self.checks["audit.pdb_coverage"]
        if record.status in (STATUS_FORBIDDEN, STATUS_UNAVAILABLE, STATUS_SKIPPED) or not record.ran:
            return
        self.ran("audit.pdb_coverage")
        for kind, ns, name, replicas, labels in self.replicated:
            record.objects += 1
            matching = [p for p in self.pdbs if p[0] == ns and label_selector_matches(p[2], labels)]
            if not matching:
                self.emit("audit.pdb_coverage", [audit.workload_without_pdb(kind, ns, name, replicas)])

    def _finish_static_pdbs(self):
        """Manifests: each PDB judged once, by its spec and the replicas of the workloads it selects."""
        for ns, _name, selector, static in self.pdbs:
            if static is None:
                continue
            selected = [r for wl_ns, r, labels in self.static_replicas if wl_ns == ns and label_selector_matches(selector, labels)]
            self.ran("workloads.disruption_budgets", 1)
            self.emit("workloads.disruption_budgets", [audit.judge_pdb(static, sum(selected) if selected else None)])

    # ---- versions ------------------------------------------------------------------------

    def _finish_versions(self):
        apiservers = {name: ("kube-system", v) for name, (comp, v) in self.control_plane_pods.items() if comp == "kube-apiserver"}
        known = [item[1] for item in apiservers.values()] + ([self.server_version] if self.server_version else [])
        if not known:
            for cid in ("versions.kubelet", "versions.kube_proxy", "versions.control_plane"):
                self.coverage_gap([cid], STATUS_UNAVAILABLE, "API server version unknown")
            return
        oldest = min(known)
        self.ran("versions.control_plane", len(self.control_plane_pods))
        self.emit("versions.control_plane", [versions.judge_apiservers(apiservers)])
        for pod_name, (component, version) in sorted(self.control_plane_pods.items()):
            if component != "kube-apiserver":
                self.emit("versions.control_plane",
                          [versions.judge_control_plane_component(component, "kube-system", pod_name, version, oldest)])
        if not self.control_plane_pods:
            self.checks["versions.control_plane"].reason = "control-plane pods not visible (managed control plane?)"
        parsed = {name: item[1] for name, item in self.node_versions.items() if item[1]}
        unparsed = sorted(name for name, item in self.node_versions.items() if not item[1])
        if self.nodes_seen:
            self.ran("versions.kubelet", len(parsed))
            if unparsed:
                self.checks["versions.kubelet"].reason = "%d node(s) report a kubelet version that is not a Kubernetes version (e.g. %s)" % (
                    len(unparsed), self.node_versions[unparsed[0]][0] or "empty")
        for name in sorted(parsed):
            self.emit("versions.kubelet", [versions.judge_kubelet(name, parsed[name], oldest)])
        if self.kube_proxy:
            self.ran("versions.kube_proxy", 1)
            self.emit("versions.kube_proxy", versions.judge_kube_proxy(self.kube_proxy[0], self.kube_proxy[1], oldest, parsed))
        elif self.checks["versions.kube_proxy"].status not in (STATUS_FORBIDDEN, STATUS_UNAVAILABLE):
            self.checks["versions.kube_proxy"].reason = "no kube-proxy DaemonSet (absent by design on eBPF dataplanes)"
            self.ran("versions.kube_proxy")

    def _finish_lost_nodes(self):
        for item in self.checks["nodes.conditions"].findings:
            lost = self.lost_nodes.get(item["name"])
            if item["id"] == "node.unreachable" and lost:
                item["evidence"]["pods_on_node"] = lost["count"]
                item["evidence"]["pods_sample"] = sorted(lost["pods"])

    # ---- result --------------------------------------------------------------------------

    def result(self, extra_inventory=None):
        if self.checks["nodes.leases"].ran:
            self.finish_node_leases()
        self._finish_lost_nodes()
        self._finish_rbac()
        self._finish_network_policies()
        self._finish_pdb_coverage()
        self._finish_static_pdbs()
        self.finish_peers()
        self.finish_objects()
        if self.wants("events.warnings"):
            self.emit("events.warnings", self.events.findings())
        record = self.checks["controlplane.apiserver_leases"]
        if record.ran and not self.apiserver_instances:
            record.reason = "no API server identity Leases (APIServerIdentity off, or hidden by the provider)"
        if self.wants_any("versions.kubelet", "versions.kube_proxy", "versions.control_plane"):
            self._finish_versions()
        cap = self.t["max_findings_per_check"]
        checks, findings, scores = [], [], []
        counts = {sev: 0 for sev in SEVERITIES}
        statuses = {}
        for cid in sorted(self.checks):
            record = self.checks[cid]
            data, ordered = record.as_dict(cap)
            checks.append(data)
            findings.extend(ordered[:cap])
            for sev in SEVERITIES:
                counts[sev] += data["counts"][sev]
            statuses[data["status"]] = statuses.get(data["status"], 0) + 1
            if data["status"] in ("ok", "findings"):
                scores.append((record.group, scoring.check_score(record.objects, self._affected[cid])))
        score, group_scores = scoring.combine(scores)
        findings.sort(key=finding_sort_key)
        gaps = sorted(c["id"] for c in checks if c["status"] in (STATUS_FORBIDDEN, STATUS_UNAVAILABLE))
        summary = {
            "score": score, "counts": counts, "total_findings": sum(counts.values()),
            "shown_findings": len(findings), "groups": group_scores, "checks": statuses,
            "complete": not gaps, "coverage_gaps": gaps,
        }
        summary.update(scoring.capped_grade(score, counts))
        return {"summary": summary, "checks": checks, "findings": findings, "inventory": self._inventory(extra_inventory)}

    def _inventory(self, extra):
        roles = self.node_roles
        kubelets, runtimes = {}, {}
        for text in (item[0] for item in self.node_versions.values()):
            kubelets[text or "unknown"] = kubelets.get(text or "unknown", 0) + 1
        for item in self.node_summaries:
            runtimes[item["container_runtime"] or "unknown"] = runtimes.get(item["container_runtime"] or "unknown", 0) + 1
        inventory = {
            "server_version": self.server_version_text,
            "control_plane": "visible" if self.control_plane_pods else "not visible (managed or external)",
            "apiserver_instances": self.apiserver_instances,
            "nodes": {
                "total": self.node_count,
                "not_ready": len([n for n in self.node_summaries if n["ready"] == "False"]),
                "lost": len(self.lost_nodes),
                "roles": dict(sorted(roles.items())),
                "kubelet_versions": dict(sorted(kubelets.items())),
                "container_runtimes": dict(sorted(runtimes.items())),
                "items": sorted(self.node_summaries, key=lambda n: n["name"]),
                "items_shown": len(self.node_summaries),
            },
            "pods": {"total": self.pods_total, "phases": dict(sorted(self.pod_phases.items()))},
            "workloads": dict(sorted(self.workload_counts.items())),
            "addons": {"dns": self.addons.get("dns", "absent"), "kube_proxy": self.addons.get("kube-proxy", "absent")},
            "events": {"warnings_seen": self.events.seen, "warnings_outside_window": self.events.old},
            "control_plane_components": {name: versions.version_text(v) for name, (c, v) in sorted(self.control_plane_pods.items())},
        }
        inventory.update(extra or {})
        return inventory
