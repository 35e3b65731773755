"""Pure logic of the k8s_health module: streaming a source into the scan and mapping errors to coverage."""
from __future__ import annotations

import datetime

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._health import plan
from ansible_collections.sre.toolkit.plugins.module_utils._health.scan import HealthScan
from ansible_collections.sre.toolkit.plugins.module_utils._health import service as k8s_health

NOW = datetime.datetime(2026, 11, 24, 12, tzinfo=datetime.timezone.utc)


class PagedLister:
    """Yields items like K8sClient.list, optionally failing after some of them."""

    def __init__(self, items, fail_after=None, error=None):
        self.items, self.fail_after, self.error, self.calls = items, fail_after, error, []

    def list(self, path, params=None, fields=None, page_size=500):
        self.calls.append((path, params, tuple(fields or ()), page_size))
        for index, item in enumerate(self.items):
            if self.fail_after is not None and index == self.fail_after:
                raise self.error
            yield item


def pods_source(scan):
    return [s for s in plan.sources_for(scan) if s["name"] == "pods"][0]


def pod(name):
    return {"metadata": {"name": name, "namespace": "a"}, "spec": {"nodeName": "n"}, "status": {"phase": "Running"}}


def checks(scan):
    return {c["id"]: c for c in scan.result()["checks"]}


def test_source_is_read_with_projection_and_pages_of_500():
    scan = HealthScan(now=NOW)
    lister = PagedLister([pod("a"), pod("b")])
    k8s_health.read_source(lister, scan, pods_source(scan))
    path, fields, page_size = lister.calls[0][0], lister.calls[0][2], lister.calls[0][3]
    assert path == "/api/v1/pods" and page_size == 500 and "status.containerStatuses" in fields
    assert "metadata.managedFields" not in fields
    assert checks(scan)["pods.containers"]["status"] == "ok" and checks(scan)["pods.containers"]["objects"] == 2


def test_forbidden_list_marks_its_checks_forbidden():
    scan = HealthScan(now=NOW)
    k8s_health.read_source(PagedLister([pod("a")], 0, ToolkitError("pods is forbidden", kind="forbidden", status=403)), scan, pods_source(scan))
    record = checks(scan)["pods.containers"]
    assert record["status"] == "forbidden" and "pods is forbidden" in record["reason"]


def test_failure_mid_list_is_partial_and_says_so():
    scan = HealthScan(now=NOW)
    error = ToolkitError("GET /api/v1/pods: timed out", kind="timeout")
    k8s_health.read_source(PagedLister([pod("a"), pod("b"), pod("c")], 2, error), scan, pods_source(scan))
    record = checks(scan)["pods.scheduling"]
    assert record["status"] == "unavailable" and "after 2 item(s)" in record["reason"] and record["objects"] == 2


def test_scan_config_passes_only_engine_options():
    params = {"groups": ["pods"], "checks": [], "namespaces": ["a"], "exclude_namespaces": [], "audit_system_namespaces": False,
              "severity_overrides": {}, "thresholds": {}, "kubeconfig": "/secret/path", "api_key": "token"}
    assert "api_key" not in k8s_health.scan_config(params) and "kubeconfig" not in k8s_health.scan_config(params)
