"""Lab seed steps for the k8s_health cluster-object checks that a manifest cannot express, and
their ground truth (see tests/lab/k8s/README.md, "Cluster objects").

seed/70-cluster-objects.yaml creates the objects; seed() then creates the CSRs (fresh keys),
approves/denies them, writes the HPAs' status (the lab runs no HPA controller: there is no metrics
API, and it would mark every HPA ScalingActive=False), deletes the two namespaces that stay
Terminating, and waits for the controllers (PV binder, EndpointSlice, namespace) to settle.
"""
from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timezone

from tests.lab.common import LabError

NODE = "lab-worker-0"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
NOBODY_SIGNER = "lab.sre-toolkit.io/nobody"

# designed cases: finding id (None = healthy control, must produce nothing) and severity
WEBHOOKS = [
    {"kind": "ValidatingWebhookConfiguration", "name": "lab-policy-fail-missing-service", "webhook": "policy.lab.sre-toolkit.io",
     "failure_policy": "Fail", "service": "lab-objects/policy-engine:443", "finding": "webhook.service_missing", "severity": "critical"},
    {"kind": "MutatingWebhookConfiguration", "name": "lab-injector-fail-no-endpoints", "webhook": "inject.lab.sre-toolkit.io",
     "failure_policy": "Fail", "service": "lab-objects/webhook-down:443", "finding": "webhook.no_ready_endpoints", "severity": "critical"},
    {"kind": "ValidatingWebhookConfiguration", "name": "lab-audit-ignore-missing-service", "webhook": "audit.lab.sre-toolkit.io",
     "failure_policy": "Ignore", "service": "lab-objects/audit-sink:443", "finding": "webhook.service_missing", "severity": "warning"},
    {"kind": "ValidatingWebhookConfiguration", "name": "lab-healthy-webhooks", "webhook": "ready.lab.sre-toolkit.io",
     "failure_policy": "Fail", "service": "lab-healthy/web:80", "finding": None, "severity": None},
    {"kind": "ValidatingWebhookConfiguration", "name": "lab-healthy-webhooks", "webhook": "url.lab.sre-toolkit.io",
     "failure_policy": "Fail", "service": None, "url": "https://127.0.0.1:9/validate", "finding": None, "severity": None},
]
NAMESPACES = [
    {"name": "lab-stuck-spec-finalizer", "cause": "spec.finalizers", "finalizer": "lab.sre-toolkit.io/never-released"},
    {"name": "lab-stuck-content-finalizer", "cause": "NamespaceFinalizersRemaining", "finalizer": "lab.sre-toolkit.io/hold"},
]
CSRS = [
    {"name": "lab-kubelet-serving-pending", "signer": KUBELET_SERVING, "state": "pending", "finding": "csr.pending", "severity": "warning"},
    {"name": "lab-approved-never-issued", "signer": NOBODY_SIGNER, "state": "approved", "finding": "csr.not_issued", "severity": "warning"},
    {"name": "lab-denied", "signer": NOBODY_SIGNER, "state": "denied", "finding": None, "severity": None},
]
PVCS = [
    {"namespace": "lab-objects", "name": "data-missing-class", "phase": "Pending", "finding": "pvc.pending", "reason": "does not exist",
     "event_reason": "ProvisioningFailed"},
    {"namespace": "lab-objects", "name": "data-no-volume", "phase": "Pending", "finding": "pvc.pending", "reason": "statically created",
     "event_reason": None},
    {"namespace": "lab-healthy", "name": "cache-wait-for-pod", "phase": "Pending", "finding": None, "reason": "WaitForFirstConsumer",
     "event_reason": None},
    {"namespace": "lab-healthy", "name": "data", "phase": "Bound", "finding": None, "reason": None, "event_reason": None},
]
SERVICES = [
    {"namespace": "lab-objects", "name": "webhook-down", "finding": "service.no_matching_pods"},
    {"namespace": "lab-broken", "name": "payments-worker", "finding": "service.no_ready_endpoints"},
    {"namespace": "lab-objects", "name": "external-db", "finding": None},
    {"namespace": "lab-objects", "name": "manual-endpoints", "finding": None},
    {"namespace": "lab-healthy", "name": "web", "finding": None},
    {"namespace": "lab-healthy", "name": "db", "finding": None},
]


def _cond(ctype, status, reason, message, now):
    return {"type": ctype, "status": status, "reason": reason, "message": message, "lastTransitionTime": now}


def _hpa_status(now):
    healthy = [_cond("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size", now),
               _cond("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count", now),
               _cond("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range", now)]
    return {
        ("lab-healthy", "web"): ({"currentReplicas": 3, "desiredReplicas": 3, "conditions": healthy}, []),
        ("lab-objects", "checkout-at-max"): ({"currentReplicas": 4, "desiredReplicas": 4, "conditions": healthy[:2] + [
            _cond("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count", now)]},
            ["hpa.at_max_replicas"]),
        ("lab-objects", "search-no-metrics"): ({"currentReplicas": 2, "desiredReplicas": 2, "conditions": [
            healthy[0],
            _cond("ScalingActive", "False", "FailedGetResourceMetric",
                  "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: "
                  "unable to fetch metrics from resource metrics API: the server could not find the requested resource "
                  "(get pods.metrics.k8s.io)", now)]},
            ["hpa.scaling_inactive"]),
        ("lab-objects", "reports-missing-target"): ({"currentReplicas": 0, "desiredReplicas": 0, "conditions": [
            _cond("AbleToScale", "False", "FailedGetScale",
                  'the HPA controller was unable to get the target\'s current scale: deployments/scale.apps "reports" not found', now)]},
            ["hpa.unable_to_scale"]),
    }


def _csr_pem(common_name, organization=None, dns=None):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        names.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names))
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _csr_body(name, signer, pem, usages):
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
            "spec": {"signerName": signer, "request": base64.b64encode(pem).decode(), "usages": usages}}


def _seed_csrs(kubectl):
    serving = _csr_body("lab-kubelet-serving-pending", KUBELET_SERVING,
                        _csr_pem("system:node:%s" % NODE, "system:nodes", dns=NODE), ["digital signature", "server auth"])
    # as the node itself, so spec.username is system:node:<name> like a real kubelet's request
    node_auth = ["--as", "system:node:%s" % NODE, "--as-group", "system:nodes", "--as-group", "system:authenticated"]
    proc = kubectl(*node_auth, "create", "-f", "-", stdin=json.dumps(serving), check=False)
    if "created" not in proc:
        kubectl("create", "-f", "-", stdin=json.dumps(serving))
    for name in ("lab-approved-never-issued", "lab-denied"):
        kubectl("create", "-f", "-", stdin=json.dumps(_csr_body(name, NOBODY_SIGNER, _csr_pem("lab-%s" % name), ["client auth"])))
    kubectl("certificate", "approve", "lab-approved-never-issued")
    kubectl("certificate", "deny", "lab-denied")


def _wait(what, probe, timeout=300.0):
    deadline = time.monotonic() + timeout
    while True:
        ok, detail = probe()
        if ok:
            return
        if time.monotonic() > deadline:
            raise LabError("timed out waiting for %s: %s" % (what, detail))
        time.sleep(2)


def _settled(kubectl):
    wrong = []
    for row in NAMESPACES:
        ns = kubectl.get("namespace", row["name"])
        conds = {c["type"]: c["status"] for c in ns.get("status", {}).get("conditions", [])}
        if row["cause"] == "spec.finalizers" and ns.get("spec", {}).get("finalizers") != [row["finalizer"]]:
            wrong.append("%s finalizers %s" % (row["name"], ns.get("spec", {}).get("finalizers")))
        if row["cause"] != "spec.finalizers" and conds.get(row["cause"]) != "True":
            wrong.append("%s conditions %s" % (row["name"], conds))
    for row in PVCS:
        phase = kubectl.get("pvc", row["name"], row["namespace"]).get("status", {}).get("phase")
        if phase != row["phase"]:
            wrong.append("pvc %s/%s %s" % (row["namespace"], row["name"], phase))
    slices = kubectl.items("endpointslices")
    for row in SERVICES:
        if row["finding"]:
            mine = [s for s in slices if s["metadata"]["namespace"] == row["namespace"]
                    and s["metadata"].get("labels", {}).get("kubernetes.io/service-name") == row["name"]]
            endpoints = [e for s in mine for e in s.get("endpoints") or []]
            if not mine:
                wrong.append("no EndpointSlice for %s/%s" % (row["namespace"], row["name"]))
            elif row["finding"] == "service.no_ready_endpoints" and not endpoints:
                wrong.append("%s/%s has no endpoints yet" % (row["namespace"], row["name"]))
    return not wrong, wrong


def seed(kubectl) -> dict:
    """Run after seed/70-cluster-objects.yaml is applied; returns the ground truth."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    _seed_csrs(kubectl)
    hpas = _hpa_status(now)
    for (ns, name), (status, _findings) in sorted(hpas.items()):
        kubectl("patch", "hpa", name, "-n", ns, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status}))
    for row in NAMESPACES:
        kubectl("delete", "namespace", row["name"], "--wait=false")
    _wait("cluster objects to settle (namespaces Terminating, PVCs, EndpointSlices)", lambda: _settled(kubectl))
    return truth()


def truth() -> dict:
    hpas = _hpa_status("")
    return {
        "webhooks": WEBHOOKS,
        "namespaces": NAMESPACES,
        "csrs": CSRS,
        "pvcs": PVCS,
        "hpas": [{"namespace": ns, "name": name, "findings": findings} for (ns, name), (_s, findings) in sorted(hpas.items())],
        "services": SERVICES,
        "node": NODE,
    }
