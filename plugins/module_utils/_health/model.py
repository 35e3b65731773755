# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings, check records and the small helpers every rule module shares."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from .. import _time
from .._findings import sort_key, subject

SEVERITIES = ("critical", "warning", "info")
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
# "off" in a severity override drops the finding entirely (still counted as suppressed).
OVERRIDE_VALUES = SEVERITIES + ("off",)

STATUS_OK = "ok"
STATUS_FINDINGS = "findings"
STATUS_SKIPPED = "skipped"
STATUS_FORBIDDEN = "forbidden"
STATUS_UNAVAILABLE = "unavailable"

GROUPS = ("apiserver", "nodes", "versions", "pods", "workloads", "events", "audit")

DEFAULT_THRESHOLDS = {
    # restarts are judged only when the last termination is recent (a recreated pod starts at 0,
    # a month-old pod may carry restarts from long ago)
    "restarts_warning": 5,
    "restarts_critical": 20,
    "restart_window_minutes": 60,
    # how long a pod may stay Pending / ContainerCreating / Terminating before it is a finding
    "pending_minutes": 15,
    "terminating_minutes": 15,
    # Warning events older than this are history, not health
    "event_window_minutes": 60,
    "event_min_count": 1,
    # node Lease: the kubelet renews every ~10 s of a 40 s lease
    "node_lease_stale_seconds": 120,
    # leader Lease grace on top of leaseDurationSeconds
    "leader_lease_grace_seconds": 30,
    "quota_warning_percent": 80,
    "max_findings_per_check": 50,
}

# Kinds the API server stores without a namespace: scope comes from the kind, never from a
# metadata.namespace written into a manifest (the server drops it on these kinds).
CLUSTER_SCOPED_KINDS = frozenset((
    "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding", "ClusterTrustBundle",
    "ComponentStatus", "CSIDriver", "CSINode", "CustomResourceDefinition", "DeviceClass", "FlowSchema", "IngressClass",
    "IPAddress", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "MutatingWebhookConfiguration", "Namespace",
    "Node", "PersistentVolume", "PodSecurityPolicy", "PriorityClass", "PriorityLevelConfiguration", "ResourceSlice",
    "RuntimeClass", "SelfSubjectAccessReview", "SelfSubjectReview", "SelfSubjectRulesReview", "ServiceCIDR",
    "StorageClass", "StorageVersion", "StorageVersionMigration", "SubjectAccessReview", "TokenReview",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration",
    "VolumeAttachment", "VolumeAttributesClass",
))


def is_cluster_scoped(kind):
    return kind in CLUSTER_SCOPED_KINDS


def parse_time(value):
    """RFC 3339 string (as the API writes it) -> aware datetime, or None for empty/garbage."""
    if not value or not isinstance(value, str):
        return None
    return _time.to_datetime(_time.parse_rfc3339(value))


def format_time(value):
    if value is None:
        return None
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def age_seconds(value, now):
    """Seconds from an API timestamp (string or datetime) to now; None when unknown."""
    when = parse_time(value) if not isinstance(value, datetime.datetime) else value
    if when is None:
        return None
    return max(0, int((now - when).total_seconds()))


def human_duration(seconds):
    """``1d5h``, ``2h``, ``45s``: the largest unit and the next one when not zero."""
    if seconds is None:
        return "unknown time"
    if seconds < 60:
        return "%ds" % int(seconds)
    return _time.duration_text(seconds, parts=2, adjacent=True)


def dig(obj, *keys, default=None):
    """Safe nested get through dicts (and list indexes)."""
    for key in keys:
        if isinstance(obj, dict):
            obj = obj.get(key)
        elif isinstance(obj, list) and isinstance(key, int) and -len(obj) <= key < len(obj):
            obj = obj[key]
        else:
            return default
        if obj is None:
            return default
    return obj


def meta(obj):
    return obj.get("metadata") or {}


def finding(fid, severity, kind, name, message, fix, namespace=None, evidence=None):
    """One finding of the one contract (``_findings``; ids in ``_health/catalogue.py``), keeping the
    top-level kind/namespace/name of earlier releases beside ``subject``."""
    about = subject(kind, name, namespace)
    about["locator"] = about["locator"] or "(unnamed object)"
    return {
        "id": fid,
        "severity": severity,
        "kind": kind,
        "namespace": namespace or "",
        "name": name or "",
        "subject": about,
        "message": message,
        "evidence": dict(evidence or {}),
        "fix": fix,
    }


def finding_sort_key(item):
    return sort_key(item)


class CheckRecord:
    """What one check saw: status, how many objects it judged, and its findings (capped on output)."""

    def __init__(self, check_id, group, description):
        self.id = check_id
        self.group = group
        self.description = description
        self.status = STATUS_OK
        self.reason = ""
        self.ran = False
        self.objects = 0
        self.findings = []
        self.suppressed = 0

    def mark(self, status, reason=""):
        # forbidden/unavailable are sticky: one failed list leaves a coverage gap for the whole check
        if self.status in (STATUS_FORBIDDEN, STATUS_UNAVAILABLE) and status not in (STATUS_FORBIDDEN, STATUS_UNAVAILABLE):
            return
        if self.status == STATUS_FORBIDDEN and status == STATUS_UNAVAILABLE:
            return
        self.status = status
        if reason:
            self.reason = reason if not self.reason or self.reason == reason else self.reason + "; " + reason

    def as_dict(self, cap):
        ordered = sorted(self.findings, key=finding_sort_key)
        counts = {sev: 0 for sev in SEVERITIES}
        for item in ordered:
            counts[item["severity"]] += 1
        status = self.status
        if status == STATUS_OK and ordered:
            status = STATUS_FINDINGS
        if not self.ran and status == STATUS_OK:
            status = STATUS_SKIPPED
        return {
            "id": self.id,
            "group": self.group,
            "description": self.description,
            "status": status,
            "reason": self.reason,
            "objects": self.objects,
            "counts": counts,
            "total": len(ordered),
            "shown": min(len(ordered), cap),
            "suppressed": self.suppressed,
        }, ordered
