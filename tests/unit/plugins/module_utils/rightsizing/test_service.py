"""The rightsizing service's own logic on recorded query results: owner chains, label names, options,
and a failed later query turning into a partial result."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._rightsizing import service


def test_owner_chain_through_replicasets_and_jobs():
    q = service.Queries({"label_names": {"pod": "pod_name"}}, "shop", service.options(PARAMS))
    results = {
        "pod_owner": [{"metric": {"pod_name": "api-7d9f-abcde", "owner_kind": "ReplicaSet", "owner_name": "api-7d9f"}},
                      {"metric": {"pod_name": "report-29000-xyz", "owner_kind": "Job", "owner_name": "report-29000"}},
                      {"metric": {"pod_name": "db-0", "owner_kind": "StatefulSet", "owner_name": "db"}},
                      {"metric": {"pod_name": "debug", "owner_kind": "<none>", "owner_name": "<none>"}}],
        "replicaset_owner": [{"metric": {"replicaset": "api-7d9f", "owner_kind": "Deployment", "owner_name": "api"}}],
        "job_owner": [{"metric": {"job_name": "report-29000", "owner_kind": "CronJob", "owner_name": "report"}}],
    }
    assert service.owners(results, q) == {"api-7d9f-abcde": ("Deployment", "api"), "report-29000-xyz": ("CronJob", "report"),
                                          "db-0": ("StatefulSet", "db"), "debug": ("Pod", "debug")}
    assert 'pod_name' in q.range_queries()["cpu"] and 'namespace="shop"' in q.range_queries()["cpu"]


def test_without_kube_state_metrics_the_pod_name_tells_the_deployment():
    assert service.guess_owner("api-7d9f6c8b5-x2k4p") == ("Deployment", "api")
    assert service.guess_owner("db-0") == ("Pod", "db-0")


PARAMS = {"history": "14d", "step": "5m", "rate_window": "5m", "min_history": "24h", "idle_after": "24h"}


def test_bad_duration_names_the_option():
    with pytest.raises(ToolkitError) as err:
        service.options(dict(PARAMS, step="five minutes"))
    assert err.value.msg.startswith("step:") and err.value.kind == "invalid"


class Prom:
    """Answers the first query, refuses the rest with 403."""
    def __init__(self):
        self.calls = 0
        self.http = type("H", (), {"base_url": "http://prom"})()

    def query_range(self, expr, start, end, step):
        self.calls += 1
        if self.calls > 1:
            raise ToolkitError("403 Forbidden", kind="forbidden", status=403)
        return []


def test_first_failure_fails_later_ones_are_partial():
    fetch = service.Fetch(Prom(), 0, 1, 300)
    assert fetch.range("cpu", "x") == []
    assert fetch.range("throttle", "y") is None
    assert fetch.errors[0]["query"] == "throttle" and "prometheus_token" in fetch.errors[0]["msg"]
    with pytest.raises(ToolkitError) as err:
        denied = Prom()
        denied.calls = 5
        service.Fetch(denied, 0, 1, 300).range("cpu", "x")
    assert err.value.msg.startswith("prometheus_url http://prom:") and err.value.status == 403
