# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control-plane rules that work on managed clusters too: /livez, /readyz per check,
leader Leases, API-server identity Leases, APIService availability; componentstatuses only
as a labelled legacy fallback."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from .model import age_seconds, dig, finding, human_duration, meta

_CHECK_LINE = re.compile(r"^\[([+-])\]([^\s]+)\s*(.*)$")
LEADER_LEASES = ("kube-scheduler", "kube-controller-manager")


def parse_health_checks(text):
    """'[+]ping ok' / '[-]etcd failed: reason withheld' lines of ?verbose -> {name: (ok, detail)}."""
    checks = {}
    for line in (text or "").splitlines():
        match = _CHECK_LINE.match(line.strip())
        if match:
            checks[match.group(2)] = (match.group(1) == "+", match.group(3).strip())
    return checks


def judge_health_endpoint(endpoint, status, text):
    """Findings for /livez or /readyz: one per failing named check, or one for the endpoint."""
    checks = parse_health_checks(text)
    failed = sorted(name for name, verdict in checks.items() if not verdict[0])
    if status == 200 and not failed:
        return []
    fid = "apiserver.readyz_failed" if endpoint.startswith("/readyz") else "apiserver.livez_failed"
    if failed:
        return [finding(fid, "critical", "APIServer", endpoint.split("?")[0],
                        "%s check %s failed: %s" % (endpoint.split("?")[0], name, checks[name][1] or "failed"),
                        "Read kube-apiserver logs for the %s check (etcd reachability, post-start hooks)." % name,
                        evidence={"check": name, "http_status": status, "detail": checks[name][1]})
                for name in failed]
    return [finding(fid, "critical", "APIServer", endpoint.split("?")[0],
                    "%s returned HTTP %s" % (endpoint.split("?")[0], status),
                    "Read kube-apiserver logs; the server reports itself unhealthy.",
                    evidence={"http_status": status, "body": (text or "")[:300]})]


def judge_leader_lease(name, lease, now, grace):
    """A leader Lease not renewed within its duration (+grace) means no working leader."""
    spec = lease.get("spec") or {}
    duration = int(spec.get("leaseDurationSeconds") or 15)
    renew = spec.get("renewTime") or spec.get("acquireTime")
    age = age_seconds(renew, now)
    if age is not None and age <= duration + grace:
        return None
    return finding("controlplane.leader_stale", "critical", "Lease", name,
                   "%s leader Lease last renewed %s ago (lease %ss)" % (name, human_duration(age), duration),
                   "No %s is leading: check its pods/logs (on managed clusters, the provider's status page)." % name,
                   namespace="kube-system",
                   evidence={"holder": spec.get("holderIdentity") or "", "renew_time": renew or "", "age_seconds": age,
                             "lease_duration_seconds": duration})


def judge_apiserver_identities(leases, now, stale_after):
    """Identity Leases (label k8s.io/component=kube-apiserver): one per running apiserver."""
    out = []
    for lease in leases:
        renew = dig(lease, "spec", "renewTime")
        age = age_seconds(renew, now)
        if age is None or age > stale_after:
            out.append(finding("controlplane.apiserver_lease_stale", "warning", "Lease", meta(lease).get("name"),
                               "API server instance %s stopped renewing its identity Lease %s ago"
                               % (dig(lease, "spec", "holderIdentity") or "?", human_duration(age)),
                               "An API server instance went away in the last hour: check that the remaining ones carry the load.",
                               namespace=meta(lease).get("namespace") or "kube-system",
                               evidence={"holder": dig(lease, "spec", "holderIdentity") or "", "renew_time": renew or "",
                                         "age_seconds": age}))
    return out


def judge_apiservice(svc):
    for cond in dig(svc, "status", "conditions", default=[]):
        if cond.get("type") == "Available" and cond.get("status") != "True":
            service = dig(svc, "spec", "service") or {}
            return finding("apiservice.unavailable", "warning", "APIService", meta(svc).get("name"),
                           "Aggregated API %s is unavailable (%s): discovery is partial"
                           % (meta(svc).get("name"), cond.get("reason") or "no reason"),
                           "Fix the backing service %s/%s (e.g. metrics-server), or delete the APIService if unused."
                           % (service.get("namespace", "?"), service.get("name", "?")),
                           evidence={"reason": cond.get("reason") or "", "message": (cond.get("message") or "")[:300],
                                     "service": "%s/%s" % (service.get("namespace", ""), service.get("name", ""))})
    return None


def judge_componentstatus(item):
    """Legacy: componentstatuses probe fixed insecure ports and lie on current clusters, hence info."""
    for cond in item.get("conditions") or []:
        if cond.get("type") == "Healthy" and cond.get("status") != "True":
            return finding("controlplane.componentstatus_unhealthy", "info", "ComponentStatus", meta(item).get("name"),
                           "legacy componentstatuses says %s is unhealthy: %s" % (meta(item).get("name"), (cond.get("error") or "")[:200]),
                           "componentstatuses is deprecated (1.19) and often wrong; confirm with the component's own health endpoint.",
                           evidence={"legacy": True, "error": (cond.get("error") or "")[:300]})
    return None
