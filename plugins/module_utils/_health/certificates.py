# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CertificateSigningRequests nobody decides on, or that were approved and never signed. Kubelet
serving certificates (kubernetes.io/kubelet-serving) are never approved by the built-in approver:
left pending, the node's kubelet keeps an expiring certificate and logs/exec/metrics break."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .model import age_seconds, dig, finding, human_duration, meta

KUBELET_SERVING = "kubernetes.io/kubelet-serving"
KUBELET_CLIENT = "kubernetes.io/kube-apiserver-client-kubelet"


def _conditions(csr):
    return {c.get("type"): c for c in dig(csr, "status", "conditions", default=[]) if c.get("status", "True") == "True"}


def _evidence(csr, age):
    return {"signer": dig(csr, "spec", "signerName") or "", "requestor": dig(csr, "spec", "username") or "",
            "usages": sorted(dig(csr, "spec", "usages", default=[])), "age_seconds": age,
            "created": meta(csr).get("creationTimestamp") or ""}


def judge_csr(csr, now, pending_minutes):
    """csr.pending: no Approved/Denied over pending_minutes; csr.not_issued: Approved over
    pending_minutes ago and still no certificate; csr.failed: the signer gave up."""
    conds = _conditions(csr)
    name = meta(csr).get("name")
    signer = dig(csr, "spec", "signerName") or ""
    requestor = dig(csr, "spec", "username") or ""
    if "Denied" in conds or dig(csr, "status", "certificate"):
        return None
    if "Failed" in conds:
        cond = conds["Failed"]
        evidence = _evidence(csr, age_seconds(meta(csr).get("creationTimestamp"), now))
        evidence.update(reason=cond.get("reason") or "", message=(cond.get("message") or "")[:300])
        return finding("csr.failed", "warning", "CertificateSigningRequest", name,
                       "CSR for %s: signer %s failed: %s" % (requestor or "?", signer, cond.get("message") or cond.get("reason") or ""),
                       "Read the signer's logs (kube-controller-manager for kubernetes.io/* signers) and ask the requestor to retry.",
                       evidence=evidence)
    if "Approved" in conds:
        approved = conds["Approved"].get("lastUpdateTime") or conds["Approved"].get("lastTransitionTime")
        age = age_seconds(approved, now)
        if age is None or age < pending_minutes * 60:
            return None
        evidence = _evidence(csr, age_seconds(meta(csr).get("creationTimestamp"), now))
        evidence.update(approved=approved or "")
        return finding("csr.not_issued", "warning", "CertificateSigningRequest", name,
                       "CSR for %s was approved %s ago but signer %s never issued a certificate" % (requestor or "?", human_duration(age), signer),
                       "No controller signs for %s: run that signer (kube-controller-manager needs --cluster-signing-cert-file and "
                       "-key-file for kubernetes.io/* signers), or fix the signerName." % signer,
                       evidence=evidence)
    age = age_seconds(meta(csr).get("creationTimestamp"), now)
    if age is None or age < pending_minutes * 60:
        return None
    evidence = _evidence(csr, age)
    if signer == KUBELET_SERVING:
        node = requestor[len("system:node:"):] if requestor.startswith("system:node:") else ""
        evidence["node"] = node
        return finding("csr.pending", "warning", "CertificateSigningRequest", name,
                       "kubelet serving certificate of node %s pending for %s: no approver handles %s, so the kubelet's "
                       "serving certificate does not rotate (kubectl logs/exec and metrics scrapes fail once it expires)"
                       % (node or requestor or "?", human_duration(age), signer),
                       "Check the request (kubectl get csr %s -o yaml: node name and IPs) and approve it "
                       "(kubectl certificate approve %s), or run an approver for kubelet-serving CSRs "
                       "(e.g. kubelet-csr-approver)." % (name, name),
                       evidence=evidence)
    severity = "warning" if signer == KUBELET_CLIENT else "info"
    return finding("csr.pending", severity, "CertificateSigningRequest", name,
                   "CSR for %s (signer %s) pending for %s: neither approved nor denied" % (requestor or "?", signer, human_duration(age)),
                   "Approve it (kubectl certificate approve %s) or deny it (kubectl certificate deny %s); "
                   "pending CSRs are garbage-collected after 24 h." % (name, name),
                   evidence=evidence)
