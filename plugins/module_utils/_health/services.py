# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Services whose selector reaches no ready pod, judged from EndpointSlices (what kube-proxy and
the API server's webhook client really route to), never from the deprecated Endpoints."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .model import dig, finding, meta

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def endpoint_ready(endpoint):
    """conditions.ready: a nil value means ready (the API's own rule)."""
    ready = dig(endpoint, "conditions", "ready")
    return ready is None or bool(ready)


def slice_summary(endpoint_slice):
    """EndpointSlice -> (namespace, service name, endpoints, ready endpoints); service None when the
    slice belongs to no Service (no kubernetes.io/service-name label)."""
    labels = meta(endpoint_slice).get("labels") or {}
    endpoints = endpoint_slice.get("endpoints") or []
    ready = sum(1 for endpoint in endpoints if endpoint_ready(endpoint))
    return meta(endpoint_slice).get("namespace") or "", labels.get(SERVICE_NAME_LABEL), len(endpoints), ready


def add_counts(counts, total, ready):
    """Fold one slice into {slices, endpoints, ready}."""
    counts = dict(counts or {"slices": 0, "endpoints": 0, "ready": 0})
    counts["slices"] += 1
    counts["endpoints"] += total
    counts["ready"] += ready
    return counts


def count_slices(slices):
    counts = {"slices": 0, "endpoints": 0, "ready": 0}
    for endpoint_slice in slices or []:
        counts = add_counts(counts, *slice_summary(endpoint_slice)[2:])
    return counts


def selector_service(service):
    """True for a Service the endpointslice controller manages: a selector, not ExternalName."""
    return bool(dig(service, "spec", "selector")) and dig(service, "spec", "type") != "ExternalName"


def judge_service(service, counts):
    """A selector Service with no ready endpoint drops every connection. counts: {slices, endpoints, ready}
    summed over its EndpointSlices (None: no slice at all)."""
    if not selector_service(service):
        return None
    counts = counts or {"slices": 0, "endpoints": 0, "ready": 0}
    if counts["ready"] > 0:
        return None
    ns, name = meta(service).get("namespace"), meta(service).get("name")
    selector = dict(sorted((dig(service, "spec", "selector") or {}).items()))
    text = ",".join("%s=%s" % item for item in selector.items())
    evidence = {"selector": selector, "type": dig(service, "spec", "type") or "ClusterIP",
                "endpoint_slices": counts["slices"], "endpoints": counts["endpoints"], "ready_endpoints": 0}
    if counts["endpoints"]:
        return finding("service.no_ready_endpoints", "warning", "Service", name,
                       "Service selects %d pod(s) (%s) but none is ready: every connection to it fails" % (counts["endpoints"], text),
                       "Look at the findings on the pods it selects (crash loops, failing readiness probes) and fix them.",
                       namespace=ns, evidence=evidence)
    if not counts["slices"]:
        return finding("service.no_ready_endpoints", "warning", "Service", name,
                       "Service has no EndpointSlice: nothing routes to it (%s)" % text,
                       "Check that kube-controller-manager runs its endpointslice controller, and that pods match %s." % text,
                       namespace=ns, evidence=evidence)
    return finding("service.no_matching_pods", "warning", "Service", name,
                   "Service selector %s matches no running pod: every connection to it fails" % text,
                   "Fix the selector or the pod labels (kubectl get pods -n %s -l %s), or scale the workload up." % (ns, text),
                   namespace=ns, evidence=evidence)
