# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Warning events (core/v1 and events.k8s.io/v1 shapes) grouped by reason and object."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from .model import dig, finding, format_time, meta, parse_time

# Reasons that mean something is broken now; every other Warning is information.
WARNING_REASONS = frozenset((
    "FailedMount", "FailedAttachVolume", "FailedCreatePodSandBox", "FailedCreate", "FailedScheduling",
    "OOMKilling", "SystemOOM", "Evicted", "EvictionThresholdMet", "NodeNotReady", "FailedKillPod",
    "FailedSync", "NetworkNotReady", "ProvisioningFailed", "BackOff", "Failed", "Unhealthy",
    "FailedPostStartHook", "FailedPreStopHook", "InspectFailed", "ErrImageNeverPull", "FreeDiskSpaceFailed",
    "ImageGCFailed", "ContainerGCFailed", "Rebooted", "FailedNodeAllocatableEnforcement", "BackoffLimitExceeded",
    "DeadlineExceeded", "FailedGetResourceMetric", "FailedComputeMetricsReplicas",
))
# Warning reasons that inform (each has its own id in the rule catalogue); any reason in neither
# table is reported as OTHER_EVENT with the reason in its evidence, so every id is catalogued.
INFO_REASONS = frozenset((
    "DNSConfigForming", "ProbeWarning", "FailedToUpdateEndpoint", "FailedToUpdateEndpointSlices", "FailedBinding",
    "ExceededGracePeriod", "InvalidDiskCapacity", "FailedGetScale", "FailedRescale", "CalculateExpectedPodCountFailed",
    "FailedDaemonPod", "VolumeResizeFailed", "FailedDetachVolume", "FailedMapVolume",
))
OTHER_EVENT = "event.other"


def event_time(event):
    """Most recent time of an event from whichever field its recorder filled.

    series.lastObservedTime, then lastTimestamp (deprecatedLastTimestamp in events.k8s.io/v1),
    then eventTime, then creationTimestamp: the new recorder leaves lastTimestamp empty.
    """
    for value in (dig(event, "series", "lastObservedTime"), event.get("lastTimestamp"), event.get("deprecatedLastTimestamp"),
                  event.get("eventTime"), meta(event).get("creationTimestamp")):
        when = parse_time(value)
        if when is not None:
            return when
    return None


def event_first_time(event):
    for value in (event.get("firstTimestamp"), event.get("deprecatedFirstTimestamp"), event.get("eventTime"),
                  meta(event).get("creationTimestamp")):
        when = parse_time(value)
        if when is not None:
            return when
    return None


def event_count(event):
    for value in (dig(event, "series", "count"), event.get("count"), event.get("deprecatedCount")):
        if value:
            return int(value)
    return 1


def event_object(event):
    """(kind, namespace, name) of the object the event is about."""
    ref = event.get("involvedObject") or event.get("regarding") or {}
    return ref.get("kind") or "", ref.get("namespace") or meta(event).get("namespace") or "", ref.get("name") or ""


def event_message(event):
    return (event.get("message") or event.get("note") or "")


def snake(reason):
    text = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", reason or "unknown")
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "unknown"


def event_id(reason):
    """``event.<reason>`` (snake case) for the reasons of the two tables, else ``event.other``."""
    if reason in WARNING_REASONS or reason in INFO_REASONS:
        return "event.%s" % snake(reason)
    return OTHER_EVENT


class EventGroups:
    """Accumulates Warning events by (reason, object) with bounded state: one entry per group."""

    def __init__(self, now, window_minutes, min_count):
        self.now = now
        self.window = window_minutes * 60
        self.min_count = min_count
        self.groups = {}
        self.seen = 0
        self.old = 0

    def add(self, event):
        if (event.get("type") or "") != "Warning":
            return
        self.seen += 1
        when = event_time(event)
        if when is None or (self.now - when).total_seconds() > self.window:
            self.old += 1
            return
        kind, namespace, name = event_object(event)
        key = (event.get("reason") or "", kind, namespace, name)
        group = self.groups.get(key)
        count = event_count(event)
        first = event_first_time(event) or when
        if group is None:
            self.groups[key] = {"count": count, "events": 1, "first": first, "last": when, "message": event_message(event)}
            return
        group["count"] += count
        group["events"] += 1
        group["first"] = min(group["first"], first)
        if when >= group["last"]:
            group["last"] = when
            group["message"] = event_message(event)

    def findings(self):
        out = []
        for (reason, kind, namespace, name), group in self.groups.items():
            if group["count"] < self.min_count:
                continue
            severity = "warning" if reason in WARNING_REASONS else "info"
            out.append(finding(event_id(reason), severity, kind or "Unknown", name,
                               "%s x%d: %s" % (reason, group["count"], group["message"][:200]),
                               "Describe the %s and follow the event message; the pod/node findings usually hold the cause." % (kind or "object"),
                               namespace=namespace,
                               evidence={"reason": reason, "count": group["count"], "events": group["events"],
                                         "first_seen": format_time(group["first"]), "last_seen": format_time(group["last"]),
                                         "message": group["message"][:400]}))
        return out
