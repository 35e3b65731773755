# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Admission webhooks whose backend is gone. A webhook with failurePolicy Fail (the default in
admissionregistration/v1) and no ready endpoint rejects every request in its scope."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .model import dig, finding, meta

WEBHOOK_KINDS = {"validating": "ValidatingWebhookConfiguration", "mutating": "MutatingWebhookConfiguration"}


def _rules(webhook):
    out = []
    for rule in webhook.get("rules") or []:
        groups = ",".join(g or "core" for g in rule.get("apiGroups") or []) or "-"
        out.append("%s %s/%s" % (",".join(rule.get("operations") or []) or "-", groups,
                                 ",".join(rule.get("resources") or []) or "-"))
    return sorted(out)


def webhook_rows(kind, configuration):
    """One plain row per webhook of a Validating/MutatingWebhookConfiguration."""
    rows = []
    for webhook in configuration.get("webhooks") or []:
        client = webhook.get("clientConfig") or {}
        service = client.get("service") or None
        rows.append({
            "kind": kind,
            "configuration": meta(configuration).get("name") or "",
            "webhook": webhook.get("name") or "",
            "failure_policy": webhook.get("failurePolicy") or "Fail",
            "service": None if not service else {"namespace": service.get("namespace") or "", "name": service.get("name") or "",
                                                 "port": int(service.get("port") or 443), "path": service.get("path") or ""},
            "url": client.get("url") or "",
            "rules": _rules(webhook),
            "namespace_selector": webhook.get("namespaceSelector") or {},
            "object_selector": webhook.get("objectSelector") or {},
            "timeout_seconds": webhook.get("timeoutSeconds"),
        })
    return rows


def _service_has_port(service, port):
    ports = dig(service, "spec", "ports", default=[])
    return any(int(p.get("port") or 0) == port for p in ports)


def judge_webhook(row, service, counts):
    """row: from webhook_rows() with a service; service: the Service dict or None (not found);
    counts: {slices, endpoints, ready} of its EndpointSlices."""
    svc = row["service"]
    fail = row["failure_policy"] != "Ignore"
    severity = "critical" if fail else "warning"
    target = "%s/%s:%d" % (svc["namespace"], svc["name"], svc["port"])
    scope = "; ".join(row["rules"]) or "no rules"
    impact = ("the API server rejects every matching request (%s)" % scope if fail else
              "matching requests (%s) skip it after its timeout, unchecked" % scope)
    evidence = {"webhook": row["webhook"], "failure_policy": row["failure_policy"], "service": target, "rules": row["rules"],
                "namespace_selector": row["namespace_selector"], "object_selector": row["object_selector"],
                "timeout_seconds": row["timeout_seconds"]}
    fix_tail = ("or delete the %s %s if its controller was uninstalled (or set failurePolicy Ignore)."
                % (row["kind"], row["configuration"]))
    if service is None:
        return finding("webhook.service_missing", severity, row["kind"], row["configuration"],
                       "webhook %s calls Service %s, which does not exist: %s" % (row["webhook"], target, impact),
                       "Restore the Service %s/%s, %s" % (svc["namespace"], svc["name"], fix_tail), evidence=evidence)
    if not _service_has_port(service, svc["port"]) and dig(service, "spec", "type") != "ExternalName":
        evidence["service_ports"] = sorted(int(p.get("port") or 0) for p in dig(service, "spec", "ports", default=[]))
        return finding("webhook.no_ready_endpoints", severity, row["kind"], row["configuration"],
                       "webhook %s calls port %d of Service %s/%s, which has no such port: %s"
                       % (row["webhook"], svc["port"], svc["namespace"], svc["name"], impact),
                       "Make the webhook's clientConfig.service.port match the Service, %s" % fix_tail, evidence=evidence)
    if dig(service, "spec", "type") == "ExternalName" or not dig(service, "spec", "selector"):
        # endpoints of selector-less Services are managed by hand (or by a mirror); not judged here
        return None
    counts = counts or {"slices": 0, "endpoints": 0, "ready": 0}
    if counts["ready"] > 0:
        return None
    evidence.update(endpoints=counts["endpoints"], ready_endpoints=0, endpoint_slices=counts["slices"])
    return finding("webhook.no_ready_endpoints", severity, row["kind"], row["configuration"],
                   "webhook %s calls Service %s, which has no ready endpoint (%d not ready): %s"
                   % (row["webhook"], target, counts["endpoints"], impact),
                   "Bring the webhook's pods in %s back (kubectl get pods -n %s), %s" % (svc["namespace"], svc["namespace"], fix_tail),
                   evidence=evidence)
