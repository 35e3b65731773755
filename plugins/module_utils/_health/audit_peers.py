# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit rules that give every Polaris and kube-score check a counterpart (docs/k8s_health.md,
"Coverage against Polaris and kube-score"), live and on manifest files alike.

Two kinds of rule, both pure (plain dicts in, findings out):

- pod template rules (``template_findings``): hostPath volumes, hostPorts, image tags and pull
  policies, seccomp/AppArmor/SELinux/procMount/hostProcess, capabilities not dropping ALL, secrets
  in plain env values, CronJob deadlines. They go to the ``audit.pod_specs`` check.
- reference rules (``PeerIndex``): objects judged against what they name or select (Ingress ->
  Service, Service selector -> pod templates, StatefulSet -> headless Service, HPA -> target and
  PDBs, NetworkPolicy <-> pods, pods -> ServiceAccount automount). The index keeps small tuples,
  never whole objects, and is judged once at the end (``findings``) into ``audit.references``.

Severities follow the Pod Security Standards where the peers disagree with each other: what the
*baseline* profile forbids (hostPath, hostPort, unconfined seccomp/AppArmor, custom SELinux types,
unmasked /proc, hostProcess) is a warning; what only *restricted* asks for (a seccomp profile set,
capabilities dropping ALL) is info. The docs give the reason for every other choice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from .._k8s_labels import label_selector_matches
from .audit import pod_spec_of
from .model import STATUS_FORBIDDEN, STATUS_SKIPPED, STATUS_UNAVAILABLE, dig, finding, meta

POD_CHECK = "audit.pod_specs"
CHECK = "audit.references"
CHECKS = {
    CHECK: ("audit", "Ingresses, Services, StatefulSets, HPAs and NetworkPolicies against the workloads and Services they name or select"),
}

# Polaris sensitiveContainerEnvVar: names that hold credentials; a literal value under such a name is a secret in clear
SENSITIVE_NAME = re.compile(r"(?i)(^AWS_SECRET_ACCESS_KEY$|^GOOGLE_APPLICATION_CREDENTIALS$|^AZURE_.+KEY$|^OCI_CLI_KEY_CONTENT$"
                            r"|password|passwd|token|bearer|secret|api_?key|private_?key)")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
# Pod Security Standards (baseline): the SELinux types a pod may ask for
SELINUX_TYPES = frozenset(("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"))
# Polaris insecureCapabilities: dropping all of these is as good as dropping ALL
INSECURE_CAPABILITIES = frozenset(("NET_ADMIN", "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID",
                                   "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"))
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
WORKLOAD_TARGETS = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


def _list(value):
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _map(value):
    return value if isinstance(value, dict) else {}


def _all_containers(spec):
    return [("init", c) for c in _list(spec.get("initContainers"))] + [("", c) for c in _list(spec.get("containers"))]


def _cname(container):
    return str(container.get("name") or "")


def image_tag(image):
    """(tag, digest) of an image reference; ("", "") for a bare name (which pulls :latest)."""
    image = str(image or "")
    name, _at, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    return tag, digest


def effective_pull_policy(container):
    """imagePullPolicy as the API server defaults it: Always for :latest or no tag (without digest), else IfNotPresent."""
    policy = container.get("imagePullPolicy")
    if policy:
        return str(policy)
    tag, digest = image_tag(container.get("image"))
    return "Always" if (tag in ("", "latest") and not digest) else "IfNotPresent"


def _template_meta(kind, obj, key):
    if kind == "Pod":
        return _map(meta(obj).get(key))
    if kind == "CronJob":
        return _map(dig(obj, "spec", "jobTemplate", "spec", "template", "metadata", key))
    return _map(dig(obj, "spec", "template", "metadata", key))


def template_labels(kind, obj):
    """The labels its pods get (a bare pod's own labels)."""
    return _template_meta(kind, obj, "labels")


def _sc_value(pod_sc, container, *keys):
    """A securityContext field, the container's overriding the pod's."""
    value = dig(_map(container.get("securityContext")), *keys)
    return value if value is not None else dig(pod_sc, *keys)


def _drops_all(container):
    drop = set(str(c).upper() for c in dig(_map(container.get("securityContext")), "capabilities", "drop", default=[]) or [])
    return "ALL" in drop or INSECURE_CAPABILITIES <= drop


def template_findings(kind, namespace, name, obj, spec):
    """Findings of the peer rules on one pod template (and the CronJob around it)."""
    spec = _map(spec)
    pod_sc = _map(spec.get("securityContext"))
    annotations = _template_meta(kind, obj, "annotations")
    out = []
    host_paths = sorted("%s (%s)" % (v.get("name"), dig(v, "hostPath", "path") or "")
                        for v in _list(spec.get("volumes")) if isinstance(v.get("hostPath"), dict))
    if host_paths:
        out.append(finding("pod.host_path", "warning", kind, name, "Pod mounts hostPath volume(s): %s" % ", ".join(host_paths),
                           "Use a PersistentVolumeClaim, emptyDir, ConfigMap or a CSI volume; a hostPath lets the pod read or "
                           "change the node's files (Pod Security Standards baseline forbids it).",
                           namespace=namespace, evidence={"volumes": host_paths}))
    ports, tags, pulls, seccomp_off, seccomp_unset, apparmor, selinux, proc, host_process, caps, secrets, keys = (
        [], [], [], [], [], [], [], [], [], [], [], [])
    for role, container in _all_containers(spec):
        cname = _cname(container)
        for port in _list(container.get("ports")):
            if port.get("hostPort"):
                ports.append("%s:%s" % (cname, port.get("hostPort")))
        tag, digest = image_tag(container.get("image"))
        if not digest and tag in ("", "latest"):
            tags.append("%s (%s)" % (cname, container.get("image") or "no image"))
        if effective_pull_policy(container) != "Always":
            pulls.append("%s (%s)" % (cname, effective_pull_policy(container)))
        seccomp = _sc_value(pod_sc, container, "seccompProfile", "type")
        if seccomp == "Unconfined":
            seccomp_off.append(cname)
        elif not seccomp:
            seccomp_unset.append(cname)
        profile = _sc_value(pod_sc, container, "appArmorProfile", "type")
        if profile == "Unconfined" or annotations.get(APPARMOR_ANNOTATION + cname) == "unconfined":
            apparmor.append(cname)
        options = _map(_sc_value(pod_sc, container, "seLinuxOptions"))
        if str(options.get("type") or "") not in SELINUX_TYPES or options.get("user") or options.get("role"):
            selinux.append("%s (%s)" % (cname, ", ".join("%s=%s" % kv for kv in sorted(options.items()) if kv[0] != "level")))
        if dig(_map(container.get("securityContext")), "procMount") not in (None, "", "Default"):
            proc.append(cname)
        if _sc_value(pod_sc, container, "windowsOptions", "hostProcess") is True:
            host_process.append(cname)
        if not _drops_all(container) and not dig(_map(container.get("securityContext")), "privileged"):
            caps.append(cname)
        for env in _list(container.get("env")):
            value = env.get("value")
            if not isinstance(value, str) or not value:
                continue
            if PRIVATE_KEY.search(value):
                keys.append("%s:%s" % (cname, env.get("name")))
            elif SENSITIVE_NAME.search(str(env.get("name") or "")):
                secrets.append("%s:%s" % (cname, env.get("name")))
    if ports:
        out.append(finding("pod.host_port", "warning", kind, name, "Containers bind host ports: %s" % ", ".join(sorted(ports)),
                           "Expose the port through a Service; a hostPort ties the pod to one port per node and bypasses "
                           "NetworkPolicies on some CNIs (Pod Security Standards baseline forbids it).",
                           namespace=namespace, evidence={"host_ports": sorted(ports)}))
    if tags:
        out.append(finding("image.latest_tag", "warning", kind, name, "Images without a fixed tag: %s" % ", ".join(sorted(tags)),
                           "Pin a version tag or a digest (image@sha256:...): with :latest or no tag, two nodes can run different "
                           "code and a rollback does not roll back.", namespace=namespace, evidence={"containers": sorted(tags)}))
    pull_secrets = [str(s.get("name")) for s in _list(spec.get("imagePullSecrets"))]
    if pulls and pull_secrets:
        out.append(finding("image.pull_policy", "info", kind, name,
                           "Private images (imagePullSecrets %s) not pulled Always: %s" % (", ".join(pull_secrets), ", ".join(sorted(pulls))),
                           "Set imagePullPolicy: Always (or enable the AlwaysPullImages admission plugin) so a pod without the "
                           "registry credentials cannot start from an image another pod left on the node.",
                           namespace=namespace, evidence={"containers": sorted(pulls), "image_pull_secrets": pull_secrets}))
    if seccomp_off or seccomp_unset:
        severity = "warning" if seccomp_off else "info"
        out.append(finding("pod.seccomp", severity, kind, name,
                           "Containers without a seccomp profile: %s" % ", ".join(
                               ["%s (Unconfined)" % c for c in sorted(seccomp_off)] + ["%s (not set)" % c for c in sorted(seccomp_unset)]),
                           "Set securityContext.seccompProfile.type: RuntimeDefault in the pod (Unconfined is forbidden by the "
                           "baseline Pod Security Standard, an unset profile by restricted).",
                           namespace=namespace, evidence={"unconfined": sorted(seccomp_off), "not_set": sorted(seccomp_unset)}))
    if apparmor:
        out.append(finding("pod.apparmor", "warning", kind, name, "Containers run AppArmor-unconfined: %s" % ", ".join(sorted(apparmor)),
                           "Remove the Unconfined AppArmor profile (securityContext.appArmorProfile or the beta annotation); "
                           "the runtime default profile applies otherwise.", namespace=namespace,
                           evidence={"containers": sorted(apparmor)}))
    if selinux:
        out.append(finding("pod.selinux", "warning", kind, name, "Containers set custom SELinux options: %s" % ", ".join(sorted(selinux)),
                           "Leave seLinuxOptions type to the runtime (container_t) and do not set user or role; spc_t and "
                           "unconfined types escape the container policy.", namespace=namespace,
                           evidence={"containers": sorted(selinux)}))
    if proc:
        out.append(finding("pod.proc_mount", "warning", kind, name, "Containers unmask /proc: %s" % ", ".join(sorted(proc)),
                           "Remove securityContext.procMount (Default masks the kernel's sensitive /proc paths).",
                           namespace=namespace, evidence={"containers": sorted(proc)}))
    if host_process:
        out.append(finding("pod.host_process", "warning", kind, name,
                           "Windows HostProcess containers: %s" % ", ".join(sorted(host_process)),
                           "Run as a normal Windows container; a HostProcess container has the node's full access.",
                           namespace=namespace, evidence={"containers": sorted(host_process)}))
    if caps:
        out.append(finding("container.capabilities_not_dropped", "info", kind, name,
                           "Containers keep the runtime's default capabilities: %s" % ", ".join(sorted(caps)),
                           "Set securityContext.capabilities.drop: [ALL] and add back only what is needed (e.g. NET_BIND_SERVICE).",
                           namespace=namespace, evidence={"containers": sorted(caps)}))
    if keys:
        out.append(finding("env.plain_secret", "critical", kind, name,
                           "Private key material in plain env values: %s" % ", ".join(sorted(keys)),
                           "Move the key into a Secret (valueFrom.secretKeyRef or a mounted Secret volume) and rotate it: it is "
                           "readable by anyone who can read this object.", namespace=namespace,
                           evidence={"variables": sorted(keys), "private_key": True}))
    if secrets:
        out.append(finding("env.plain_secret", "warning", kind, name,
                           "Credential-like env variables with literal values: %s" % ", ".join(sorted(secrets)),
                           "Read them from a Secret (valueFrom.secretKeyRef); a literal value is stored in the object, in Git "
                           "and in every `kubectl get -o yaml`.", namespace=namespace,
                           evidence={"variables": sorted(secrets), "private_key": False}))
    if kind == "CronJob" and dig(obj, "spec", "startingDeadlineSeconds") is None:
        out.append(finding("cronjob.no_deadline", "warning", kind, name, "CronJob has no startingDeadlineSeconds",
                           "Set spec.startingDeadlineSeconds: without it, after more than 100 missed schedules (controller "
                           "down, suspend) the CronJob stops starting jobs, and late runs start at any time.",
                           namespace=namespace, evidence={"schedule": str(dig(obj, "spec", "schedule") or "")}))
    return out


# ---- reference rules --------------------------------------------------------------------------

def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _min_available(value, replicas):
    """minAvailable as a pod count for `replicas` (a percentage rounded up, like the disruption controller)."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return int(math.ceil(float(value.strip()[:-1]) * replicas / 100.0))
        except ValueError:
            return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return _count(value)


def _policy_types(spec):
    types = spec.get("policyTypes")
    if isinstance(types, list) and types:
        return set(str(t) for t in types)
    return {"Ingress", "Egress"} if "egress" in spec else {"Ingress"}


def ingress_backends(spec):
    """(service name, port) of every backend of an Ingress spec (default backend and rules)."""
    out = []

    def add(backend):
        service = _map(_map(backend).get("service"))
        if service.get("name"):
            port = _map(service.get("port"))
            out.append((str(service["name"]), port.get("name") or port.get("number")))
        elif _map(backend).get("serviceName"):  # extensions/networking v1beta1
            out.append((str(backend["serviceName"]), backend.get("servicePort")))

    add(spec.get("defaultBackend") or spec.get("backend"))
    for rule in _list(spec.get("rules")):
        for path in _list(dig(rule, "http", "paths")):
            add(path.get("backend"))
    return out


class PeerIndex:
    """Small summaries of the objects the reference rules join, judged by ``findings()``.

    live=True: a cluster (Services are judged by their EndpointSlices elsewhere, HPA targets by the
    HPA controller's conditions, so those src-only rules stay quiet); live=False: manifest files.
    """

    def __init__(self, live=True):
        self.live = live
        self.templates = []         # (kind, ns, name, labels, replicas or None, service account, automount)
        self.services = {}          # (ns, name) -> (selector, headless, type)
        self.ingresses = []         # (ns, name, has tls, backends)
        self.hpas = []              # (ns, name, target kind, target name, min, max)
        self.pdbs = []              # (ns, name, selector, minAvailable)
        self.policies = []          # (ns, name, podSelector, policy types)
        self.statefulsets = []      # (ns, name, serviceName)
        self.service_accounts = {}  # (ns, name) -> automountServiceAccountToken

    def add_template(self, kind, obj, spec, labels):
        ns, name = meta(obj).get("namespace") or "", meta(obj).get("name") or ""
        spec = _map(spec)
        replicas = _count(dig(obj, "spec", "replicas")) if kind in WORKLOAD_TARGETS else None
        self.templates.append((kind, ns, name, dict(_map(labels)), replicas, str(spec.get("serviceAccountName") or "default"),
                               spec.get("automountServiceAccountToken")))
        if kind == "StatefulSet":
            self.statefulsets.append((ns, name, str(dig(obj, "spec", "serviceName") or "")))

    def add_service(self, service):
        spec = _map(service.get("spec"))
        key = (meta(service).get("namespace") or "", meta(service).get("name") or "")
        self.services[key] = (_map(spec.get("selector")), spec.get("clusterIP") == "None", str(spec.get("type") or "ClusterIP"))

    def add_ingress(self, ingress):
        spec = _map(ingress.get("spec"))
        self.ingresses.append((meta(ingress).get("namespace") or "", meta(ingress).get("name") or "",
                               bool(_list(spec.get("tls"))), ingress_backends(spec)))

    def add_hpa(self, hpa):
        spec = _map(hpa.get("spec"))
        ref = _map(spec.get("scaleTargetRef"))
        minimum = _count(spec.get("minReplicas"))
        self.hpas.append((meta(hpa).get("namespace") or "", meta(hpa).get("name") or "", str(ref.get("kind") or ""),
                          str(ref.get("name") or ""), 1 if minimum is None else minimum, _count(spec.get("maxReplicas"))))

    def add_pdb(self, pdb):
        spec = _map(pdb.get("spec"))
        self.pdbs.append((meta(pdb).get("namespace") or "", meta(pdb).get("name") or "", spec.get("selector"), spec.get("minAvailable")))

    def add_network_policy(self, policy):
        spec = _map(policy.get("spec"))
        selector = spec.get("podSelector")
        self.policies.append((meta(policy).get("namespace") or "", meta(policy).get("name") or "",
                              selector if isinstance(selector, dict) else {}, _policy_types(spec)))

    def add_service_account(self, account):
        key = (meta(account).get("namespace") or "", meta(account).get("name") or "")
        self.service_accounts[key] = account.get("automountServiceAccountToken")

    # ---- judgement ------------------------------------------------------------------------

    def automount_findings(self):
        out = []
        for kind, ns, name, _labels, _replicas, account, automount in self.templates:
            if automount is False or (automount is None and self.service_accounts.get((ns, account)) is False):
                continue
            out.append(finding("pod.automount_token", "info", kind, name,
                               "Pod gets an API token mounted (ServiceAccount %s)%s" % (
                                   account, ": automountServiceAccountToken is true" if automount else ""),
                               "Set automountServiceAccountToken: false in the pod (or on ServiceAccount %s) unless the pod "
                               "calls the Kubernetes API." % account,
                               namespace=ns, evidence={"service_account": account, "pod_setting": automount,
                                                       "service_account_setting": self.service_accounts.get((ns, account))}))
        return out

    def _labels_in(self, ns):
        return [(kind, name, labels) for kind, wl_ns, name, labels, _r, _a, _m in self.templates if wl_ns == ns]

    def findings(self):
        """Reference findings (for ``audit.references``) and the objects judged."""
        out, judged = [], 0
        for ns, name, tls, backends in self.ingresses:
            judged += 1
            if not tls:
                out.append(finding("ingress.no_tls", "warning", "Ingress", name, "Ingress serves plain HTTP: no spec.tls",
                                   "Add spec.tls with the hosts and a certificate Secret (e.g. from cert-manager).",
                                   namespace=ns, evidence={"backends": sorted(set(b[0] for b in backends))}))
            missing = sorted(set(svc for svc, _port in backends if (ns, svc) not in self.services))
            if missing:
                out.append(finding("ingress.missing_service", "warning", "Ingress", name,
                                   "Ingress routes to Service(s) that do not exist: %s" % ", ".join(missing),
                                   "Create the Service or fix the backend name: the ingress controller answers 503 for these paths.",
                                   namespace=ns, evidence={"missing": missing, "basis": "live" if self.live else "src"}))
        for (ns, name), (selector, headless, svc_type) in sorted(self.services.items()):
            judged += 1
            if svc_type == "NodePort":
                out.append(finding("service.node_port", "info", "Service", name, "Service is of type NodePort",
                                   "Prefer a LoadBalancer or an Ingress: a NodePort opens the port on every node.",
                                   namespace=ns, evidence={"type": svc_type}))
            if self.live or not selector or svc_type == "ExternalName":
                continue
            if not any(label_selector_matches({"matchLabels": selector}, labels) for _k, _n, labels in self._labels_in(ns)):
                text = ",".join("%s=%s" % kv for kv in sorted(selector.items()))
                out.append(finding("service.selector_matches_nothing", "warning", "Service", name,
                                   "Service selector %s matches no pod template in src" % text,
                                   "Fix the selector or the workload's pod labels; deployed as is, every connection to it fails.",
                                   namespace=ns, evidence={"selector": dict(sorted(selector.items()))}))
        for ns, name, service in self.statefulsets:
            judged += 1
            found = self.services.get((ns, service)) if service else None
            if found is None or not found[1]:
                why = ("no spec.serviceName" if not service else "Service %s does not exist" % service if found is None
                       else "Service %s is not headless (clusterIP is not None)" % service)
                out.append(finding("statefulset.no_headless_service", "warning", "StatefulSet", name,
                                   "StatefulSet has no governing headless Service: %s" % why,
                                   "Create a Service with clusterIP: None selecting the pods and name it in spec.serviceName; "
                                   "without it the pods get no stable DNS names.",
                                   namespace=ns, evidence={"service_name": service, "basis": "live" if self.live else "src"}))
        out += self._hpa_findings()
        judged += len(self.hpas)
        out += self._policy_findings()
        judged += len(self.policies) + len(self.templates)
        return out, judged

    def _target(self, ns, kind, name):
        for wl_kind, wl_ns, wl_name, labels, replicas, _a, _m in self.templates:
            if (wl_kind, wl_ns, wl_name) == (kind, ns, name):
                return labels, replicas
        return None

    def _hpa_findings(self):
        out = []
        for ns, name, kind, target, minimum, maximum in self.hpas:
            evidence = {"target": "%s/%s" % (kind, target), "min_replicas": minimum, "max_replicas": maximum}
            if maximum is not None and maximum <= minimum:
                out.append(finding("hpa.min_equals_max", "warning", "HorizontalPodAutoscaler", name,
                                   "HPA cannot scale: minReplicas %d >= maxReplicas %d" % (minimum, maximum),
                                   "Raise maxReplicas above minReplicas, or drop the HPA and set replicas on the workload.",
                                   namespace=ns, evidence=evidence))
            found = self._target(ns, kind, target)
            if found is None:
                if not self.live:
                    out.append(finding("hpa.target_missing", "warning", "HorizontalPodAutoscaler", name,
                                       "HPA targets %s/%s, which is not in src" % (kind, target),
                                       "Fix scaleTargetRef (kind and name in the same namespace) or add the workload.",
                                       namespace=ns, evidence=evidence))
                continue
            labels, replicas = found
            if not self.live and replicas is not None:
                out.append(finding("hpa.target_sets_replicas", "warning", kind, target,
                                   "%s sets spec.replicas (%d) and HPA %s scales it: every apply resets the replica count" % (
                                       kind, replicas, name),
                                   "Remove spec.replicas from the manifest of an autoscaled workload.",
                                   namespace=ns, evidence=dict(evidence, replicas=replicas, hpa=name)))
            for pdb_ns, pdb, selector, min_available in self.pdbs:
                if pdb_ns != ns or not label_selector_matches(selector, labels):
                    continue
                needed = _min_available(min_available, minimum)
                if needed is not None and needed >= minimum:
                    out.append(finding("hpa.pdb_conflict", "warning", "HorizontalPodAutoscaler", name,
                                       "PodDisruptionBudget %s needs %s available but HPA %s may scale %s/%s down to %d: at the "
                                       "minimum no pod can be evicted and node drains hang" % (pdb, min_available, name, kind, target, minimum),
                                       "Raise the HPA's minReplicas above the PDB's minAvailable, or use maxUnavailable: 1 in the PDB.",
                                       namespace=ns, evidence=dict(evidence, pdb=pdb, min_available=min_available)))
        return out

    def _policy_findings(self):
        out = []
        namespaces = set(p[0] for p in self.policies)
        for ns, name, selector, _types in self.policies:
            workloads = self._labels_in(ns)
            if workloads and not any(label_selector_matches(selector, labels) for _k, _n, labels in workloads):
                out.append(finding("networkpolicy.selects_nothing", "warning", "NetworkPolicy", name,
                                   "NetworkPolicy podSelector matches none of the %d workload(s) of its namespace" % len(workloads),
                                   "Fix spec.podSelector (a label typo leaves the pods it meant to protect open).",
                                   namespace=ns, evidence={"pod_selector": selector, "workloads": len(workloads)}))
        for kind, ns, name, labels, _r, _a, _m in self.templates:
            if ns not in namespaces:
                continue  # audit.no_network_policy reports the namespace
            covered = set()
            for pol_ns, _pol, selector, types in self.policies:
                if pol_ns == ns and label_selector_matches(selector, labels):
                    covered |= types
            missing = sorted({"Ingress", "Egress"} - covered)
            if not missing:
                continue
            severity = "warning" if "Ingress" in missing else "info"
            out.append(finding("networkpolicy.pod_not_selected", severity, kind, name,
                               "No NetworkPolicy of namespace %s selects these pods for %s" % (ns, " or ".join(missing)),
                               "Add the pods' labels to a NetworkPolicy's podSelector (or a default-deny policy with podSelector: {}); "
                               "pods no policy selects accept all traffic.",
                               namespace=ns, evidence={"missing": missing, "labels": dict(sorted(labels.items()))}))
        return out


class PeerChecks:
    """Mixed into HealthScan (which provides emit, ran, wants, checks and _audit_scope)."""

    def _init_peers(self):
        self.peers = PeerIndex(live=True)

    def _peer_scope(self, obj):
        return self._audit_scope(meta(obj).get("namespace"))

    def peer_template(self, kind, obj):
        if not self._peer_scope(obj):
            return
        spec = pod_spec_of(kind, obj)
        self.peers.add_template(kind, obj, spec, template_labels(kind, obj))
        if self.wants(POD_CHECK):
            self.emit(POD_CHECK, template_findings(kind, meta(obj).get("namespace"), meta(obj).get("name"), obj, spec))

    def peer_service(self, service):
        if self._peer_scope(service):
            self.peers.add_service(service)

    def peer_ingress(self, ingress):
        if self._peer_scope(ingress):
            self.peers.add_ingress(ingress)

    def peer_hpa(self, hpa):
        if self._peer_scope(hpa):
            self.peers.add_hpa(hpa)

    def peer_pdb(self, pdb):
        if self._peer_scope(pdb):
            self.peers.add_pdb(pdb)

    def peer_network_policy(self, policy):
        if self._peer_scope(policy):
            self.peers.add_network_policy(policy)

    def peer_service_account(self, account):
        if self._peer_scope(account):
            self.peers.add_service_account(account)

    def finish_peers(self):
        record = self.checks[CHECK]
        if record.status in (STATUS_SKIPPED, STATUS_FORBIDDEN, STATUS_UNAVAILABLE):
            return  # a list it needs was not read: never judge references on half the objects
        found, judged = self.peers.findings()
        found += self.peers.automount_findings()
        self.ran(CHECK, judged)
        self.emit(CHECK, found)
