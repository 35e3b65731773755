# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live cluster objects no other check reads: admission webhooks, Terminating namespaces,
CertificateSigningRequests, PersistentVolumeClaims, HorizontalPodAutoscalers and Services.

CHECKS and SOURCES are pure data (same shapes as scan.CHECKS and plan.SOURCES); ObjectChecks is
mixed into HealthScan and only keeps small summaries (per-Service endpoint counters, Pending
claims, webhook rows), never whole lists.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from . import admission, autoscaling, certificates, namespaces, plan, services, storage
from .model import STATUS_FORBIDDEN, STATUS_SKIPPED, STATUS_UNAVAILABLE, dig, meta

WEBHOOKS = "controlplane.admission_webhooks"
NAMESPACES = "controlplane.namespaces"
CSRS = "controlplane.certificate_requests"
CLAIMS = "workloads.volume_claims"
AUTOSCALERS = "workloads.autoscalers"
SERVICES = "workloads.services"
REFERENCES = "audit.references"  # audit_peers.CHECK: Ingress/StatefulSet/HPA references

CHECKS = {
    WEBHOOKS: ("apiserver", "admission webhooks whose Service is missing or has no ready endpoint"),
    NAMESPACES: ("apiserver", "namespaces stuck Terminating, with the controller's reason and the finalizers"),
    CSRS: ("apiserver", "CertificateSigningRequests left pending (kubelet serving certificates) or approved and never issued"),
    CLAIMS: ("workloads", "PersistentVolumeClaims Pending (storage class, last event) or Lost"),
    AUTOSCALERS: ("workloads", "HorizontalPodAutoscalers at maxReplicas or unable to scale"),
    SERVICES: ("workloads", "Services whose selector reaches no ready pod (EndpointSlices)"),
}

SLICE_FIELDS = ["metadata.name", "metadata.namespace", "metadata.labels", "endpoints"]
_META = ["metadata.name", "metadata.namespace", "metadata.creationTimestamp"]

# (name, path, namespaced, fields, params, feed method, feed args, checks): as plan.SOURCES
SOURCES = [
    ("validatingwebhookconfigurations", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", False,
     ["metadata.name", "webhooks"], None, "add_webhook_configuration", (admission.WEBHOOK_KINDS["validating"],), [WEBHOOKS]),
    ("mutatingwebhookconfigurations", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", False,
     ["metadata.name", "webhooks"], None, "add_webhook_configuration", (admission.WEBHOOK_KINDS["mutating"],), [WEBHOOKS]),
    ("namespaces", "/api/v1/namespaces", False,
     ["metadata.name", "metadata.deletionTimestamp", "metadata.finalizers", "spec.finalizers", "status"], None,
     "add_namespace", (), [NAMESPACES]),
    ("certificatesigningrequests", "/apis/certificates.k8s.io/v1/certificatesigningrequests", False,
     ["metadata.name", "metadata.creationTimestamp", "spec.signerName", "spec.username", "spec.usages", "status.conditions",
      "status.certificate"], None, "add_csr", (), [CSRS]),
    ("storageclasses", "/apis/storage.k8s.io/v1/storageclasses", False,
     ["metadata.name", "metadata.annotations", "provisioner", "volumeBindingMode"], None, "add_storage_class", (), [CLAIMS]),
    ("persistentvolumeclaims", "/api/v1/persistentvolumeclaims", True, _META + ["spec", "status.phase"], None,
     "add_pvc", (), [CLAIMS]),
    ("horizontalpodautoscalers", "/apis/autoscaling/v2/horizontalpodautoscalers", True,
     ["metadata.name", "metadata.namespace", "spec.scaleTargetRef", "spec.minReplicas", "spec.maxReplicas", "status"], None,
     "add_hpa", (), [AUTOSCALERS, REFERENCES]),
    ("services", "/api/v1/services", True,
     ["metadata.name", "metadata.namespace", "spec.selector", "spec.type", "spec.ports", "spec.clusterIP"],
     None, "add_service", (), [SERVICES, REFERENCES]),
    ("endpointslices", "/apis/discovery.k8s.io/v1/endpointslices", True, SLICE_FIELDS, None, "add_endpoint_slice", (), [SERVICES]),
]


def sources_for(scan):
    """plan.sources_for over the SOURCES above."""
    return plan.sources_for(scan, SOURCES)


def webhook_service_paths(namespace, name):
    """GET path of a webhook's Service and list path + params of its EndpointSlices."""
    return ("/api/v1/namespaces/%s/services/%s" % (namespace, name),
            "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % namespace,
            {"labelSelector": "%s=%s" % (services.SERVICE_NAME_LABEL, name)})


class ObjectChecks:
    """Mixed into HealthScan (which provides emit, ran, wants, in_scope, coverage_gap, t, now)."""

    def _init_objects(self):
        self.webhook_rows = []
        self.url_webhooks = []
        self.webhook_backends = {}
        self.storage_classes = {}
        self.pending_claims = []
        self.claim_events = {}
        self.services_seen = []
        self.slice_counts = {}

    # ---- admission webhooks: rows now, judged once their Services were read ---------------

    def add_webhook_configuration(self, kind, configuration):
        for row in admission.webhook_rows(kind, configuration):
            if row["service"]:
                self.webhook_rows.append(row)
            else:
                self.url_webhooks.append("%s/%s" % (row["configuration"], row["webhook"]))

    def webhook_services(self):
        """(namespace, name) of every Service a webhook calls, for the caller to GET."""
        if not self.wants(WEBHOOKS):
            return []
        return sorted({(r["service"]["namespace"], r["service"]["name"]) for r in self.webhook_rows})

    def add_webhook_service(self, namespace, name, service, slices):
        """service None = 404; slices: its EndpointSlices (empty when the Service is missing)."""
        self.webhook_backends[(namespace, name)] = (service, services.count_slices(slices))

    def _finish_webhooks(self):
        record = self.checks[WEBHOOKS]
        if record.status == STATUS_SKIPPED:
            return
        unread = []
        for row in self.webhook_rows:
            key = (row["service"]["namespace"], row["service"]["name"])
            if key not in self.webhook_backends:
                unread.append("%s/%s" % (row["configuration"], row["webhook"]))
                continue
            self.ran(WEBHOOKS, 1)
            service, counts = self.webhook_backends[key]
            self.emit(WEBHOOKS, [admission.judge_webhook(row, service, counts)])
        notes = []
        if self.url_webhooks:
            notes.append("%d webhook(s) call a URL, not judged by endpoints: %s" % (
                len(self.url_webhooks), ", ".join(sorted(self.url_webhooks)[:10])))
        if unread:
            notes.append("%d webhook(s) not judged, their Service could not be read: %s" % (len(unread), ", ".join(sorted(unread)[:10])))
        if notes:
            record.reason = "; ".join([record.reason] + notes if record.reason else notes)

    # ---- namespaces and CSRs: judged one by one ------------------------------------------

    def add_namespace(self, ns):
        if not self.in_scope(meta(ns).get("name")):
            return
        self.ran(NAMESPACES, 1)
        self.emit(NAMESPACES, [namespaces.judge_namespace(ns, self.now, self.t["terminating_minutes"])])

    def add_csr(self, csr):
        self.ran(CSRS, 1)
        self.emit(CSRS, [certificates.judge_csr(csr, self.now, self.t["pending_minutes"])])

    # ---- claims: Pending ones kept until classes and events are known ----------------------

    def add_storage_class(self, storage_class):
        name, info = storage.storage_class_summary(storage_class)
        self.storage_classes[name] = info

    def add_pvc(self, pvc):
        if not self.in_scope(meta(pvc).get("namespace")):
            return
        self.ran(CLAIMS, 1)
        if (dig(pvc, "status", "phase") or "Pending") in ("Pending", "Lost"):
            self.pending_claims.append(pvc)

    def note_claim_event(self, event):
        """Called for every event read: keeps the latest Warning per PersistentVolumeClaim."""
        obj = event.get("involvedObject") or event.get("regarding") or {}
        if obj.get("kind") != "PersistentVolumeClaim" or event.get("type") != "Warning":
            return
        key = (obj.get("namespace") or meta(event).get("namespace") or "", obj.get("name") or "")
        when = (dig(event, "series", "lastObservedTime") or event.get("lastTimestamp") or event.get("deprecatedLastTimestamp")
                or event.get("eventTime") or meta(event).get("creationTimestamp") or "")
        if key not in self.claim_events or when >= self.claim_events[key]["last_seen"]:
            self.claim_events[key] = {"reason": event.get("reason") or "", "message": (event.get("message") or event.get("note") or "")[:300],
                                      "last_seen": when}

    def _finish_claims(self):
        record = self.checks[CLAIMS]
        if record.status == STATUS_SKIPPED:
            return
        classes = self.storage_classes if record.status not in (STATUS_FORBIDDEN, STATUS_UNAVAILABLE) else None
        for pvc in self.pending_claims:
            key = (meta(pvc).get("namespace") or "", meta(pvc).get("name") or "")
            self.emit(CLAIMS, [storage.judge_pvc(pvc, classes, self.claim_events.get(key), self.now, self.t["pending_minutes"])])

    # ---- HPAs ------------------------------------------------------------------------------

    def add_hpa(self, hpa):
        if not self.in_scope(meta(hpa).get("namespace")):
            return
        self.peer_hpa(hpa)
        self.ran(AUTOSCALERS, 1)
        self.emit(AUTOSCALERS, autoscaling.judge_hpa(hpa))

    # ---- Services: selector Services kept as small tuples, slices folded into counters ----

    def add_service(self, service):
        self.peer_service(service)
        if not self.in_scope(meta(service).get("namespace")) or not services.selector_service(service):
            return
        self.services_seen.append({"metadata": {"namespace": meta(service).get("namespace"), "name": meta(service).get("name")},
                                   "spec": {"selector": dig(service, "spec", "selector"), "type": dig(service, "spec", "type")}})

    def add_endpoint_slice(self, endpoint_slice):
        ns, service, total, ready = services.slice_summary(endpoint_slice)
        if service and self.in_scope(ns):
            self.slice_counts[(ns, service)] = services.add_counts(self.slice_counts.get((ns, service)), total, ready)

    def _finish_services(self):
        record = self.checks[SERVICES]
        if record.status in (STATUS_SKIPPED, STATUS_FORBIDDEN, STATUS_UNAVAILABLE):
            # without both lists a Service cannot be judged: never call it healthy or broken
            return
        for service in self.services_seen:
            self.ran(SERVICES, 1)
            key = (meta(service)["namespace"], meta(service)["name"])
            self.emit(SERVICES, [services.judge_service(service, self.slice_counts.get(key))])

    def finish_objects(self):
        self._finish_webhooks()
        self._finish_claims()
        self._finish_services()
