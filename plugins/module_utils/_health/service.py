# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The k8s_health service: read the cluster (or the manifests in src) into the scan, then score and gate.

Orchestration only: which sources to list, in which order, through the Kubernetes client (built by
the ``k8s`` factory, the real ``K8sClient`` by default), and how a failed read becomes a coverage
gap instead of a crash. Every verdict comes from the engine (``HealthScan``, ``manifests``,
``scoring``).
"""

from __future__ import annotations

import time

from ansible_collections.sre.toolkit.plugins.module_utils._deps import OptionalImport
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._health import manifests, objects, plan, scoring
from ansible_collections.sre.toolkit.plugins.module_utils._health.apiserver import LEADER_LEASES
from ansible_collections.sre.toolkit.plugins.module_utils._health.model import STATUS_FORBIDDEN, STATUS_UNAVAILABLE
from ansible_collections.sre.toolkit.plugins.module_utils._health.scan import ConfigError, HealthScan
from ansible_collections.sre.toolkit.plugins.module_utils._k8s import K8sClient

with OptionalImport("yaml") as YAML:
    import yaml


def scan_config(params):
    keys = ("groups", "checks", "namespaces", "exclude_namespaces", "audit_system_namespaces", "severity_overrides", "thresholds",
            "target_version")
    return {key: params.get(key) for key in keys}


def gap_status(exc):
    return STATUS_FORBIDDEN if exc.kind in ("forbidden", "auth") else STATUS_UNAVAILABLE


def read_source(client, scan, source):
    """Stream one source page by page into the scan; a failure leaves a coverage gap, not a crash."""
    feed = getattr(scan, source["method"])
    read = 0
    for path in source["paths"]:
        try:
            for item in client.list(path, params=source["params"] or None, fields=source["fields"], page_size=500):
                feed(*(source["args"] + (item,)))
                read += 1
        except ToolkitError as exc:
            partial = " after %d item(s)" % read if read else ""
            scan.coverage_gap(source["checks"], gap_status(exc), "list %s%s: %s" % (source["name"], partial, exc.msg))
            return
    scan.listed(source["checks"])


def read_control_plane(client, scan):
    for check_id, endpoint in (("apiserver.livez", "/livez?verbose"), ("apiserver.readyz", "/readyz?verbose")):
        if scan.wants(check_id):
            try:
                status, text = client.probe(endpoint)
                scan.add_probe(endpoint, status, text)
            except ToolkitError as exc:
                scan.coverage_gap([check_id], gap_status(exc), "%s: %s" % (endpoint, exc.msg))
    if scan.wants("controlplane.leader_leases"):
        for name in LEADER_LEASES:
            try:
                scan.add_leader_lease(name, client.get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/%s" % name))
            except ToolkitError as exc:
                if exc.kind != "not_found":
                    scan.coverage_gap(["controlplane.leader_leases"], gap_status(exc), "lease %s: %s" % (name, exc.msg))
                scan.add_leader_lease(name, None)
        scan.finish_leader_leases()
    if scan.needs_componentstatuses():
        read_source(client, scan, {"name": "componentstatuses (legacy)", "paths": ["/api/v1/componentstatuses"], "params": {},
                                   "fields": None, "method": "add_componentstatus", "args": (),
                                   "checks": ["controlplane.componentstatuses"]})
    elif scan.wants("controlplane.componentstatuses"):
        scan.checks["controlplane.componentstatuses"].mark("skipped", "not needed: leader Leases are visible")


def read_webhook_services(client, scan):
    """GET each Service an admission webhook calls (a 404 is a finding) and list its EndpointSlices."""
    for namespace, name in scan.webhook_services():
        service_path, slices_path, params = objects.webhook_service_paths(namespace, name)
        try:
            service = client.get_or_none(service_path)
            slices = client.list_all(slices_path, params=params, fields=objects.SLICE_FIELDS) if service is not None else []
        except ToolkitError as exc:
            scan.coverage_gap([objects.WEBHOOKS], gap_status(exc), "webhook Service %s/%s: %s" % (namespace, name, exc.msg))
            continue
        scan.add_webhook_service(namespace, name, service, slices)


def read_metrics(client, scan):
    try:
        scan.add_deprecated_metrics(client.get_text("/metrics"))
    except ToolkitError as exc:
        scan.coverage_gap(["audit.deprecated_apis"], gap_status(exc), "GET /metrics: %s" % exc.msg)


def run_live(params, scan, client):
    try:
        # the first call proves the server is reachable; failing here is an error, not a finding
        scan.set_version(client.version())
    except ToolkitError as exc:
        exc.msg = "cannot reach the Kubernetes API server: %s" % exc.msg
        raise
    read_control_plane(client, scan)
    for source in plan.sources_for(scan) + objects.sources_for(scan):
        read_source(client, scan, source)
    read_webhook_services(client, scan)
    if params["read_metrics"] and scan.wants("audit.deprecated_apis"):
        read_metrics(client, scan)
    elif scan.wants("audit.deprecated_apis"):
        scan.checks["audit.deprecated_apis"].mark("skipped", "read_metrics is false")
    result = scan.result()
    return result, client.all_stats


def run_manifests(params, config):
    if not YAML.available:
        raise ToolkitError("src needs the Python library PyYAML: pip install 'PyYAML>=6'", kind="dependency")
    return manifests.audit_src(params["src"], yaml.safe_load, config), {}


def check_health(params, k8s=K8sClient.from_params, clock=time.monotonic):
    """The whole k8s_health run, live (``k8s(params)`` builds the client) or over src: (result, warnings, gate reasons)."""
    started = clock()
    try:
        config = scan_config(params)
        if params["src"]:
            result, stats = run_manifests(params, config)
        else:
            result, stats = run_live(params, HealthScan(config), k8s(params))
    except ConfigError as exc:
        raise ToolkitError(str(exc), kind="invalid")
    result.update(changed=False, api_calls=stats, duration_seconds=round(clock() - started, 3))
    warnings = []
    if result.get("errors"):
        warnings.append("src: %d file(s), document(s) or item(s) could not be audited; see errors" % len(result["errors"]))
    reasons = scoring.gate(result["summary"], params["fail_on"], params["min_score"], len(result.get("errors") or []))["reasons"]
    result["summary"]["gate"] = reasons
    gaps = result["summary"]["coverage_gaps"]
    if gaps:
        warnings.append("not covered (forbidden or unavailable): %s" % ", ".join(gaps))
    return result, warnings, reasons
