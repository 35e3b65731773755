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
    # a DaemonSet pod is not a Deployment named after its first word: "exporter" is no pod-template-hash
    assert service.guess_owner("node-exporter-x7k2p") == ("Pod", "node-exporter-x7k2p")


def test_pods_kube_pod_owner_misses_get_their_owner_by_name():
    q = service.Queries({}, "shop", service.options(PARAMS))
    results = {"pod_owner": [{"metric": {"pod": "api-7d9f6c8b5-x2k4p", "owner_kind": "ReplicaSet", "owner_name": "api-7d9f6c8b5"}}],
               "replicaset_owner": [{"metric": {"replicaset": "api-7d9f6c8b5", "owner_kind": "Deployment", "owner_name": "api"}},
                                    {"metric": {"replicaset": "api-5b4c8d9f7", "owner_kind": "Deployment", "owner_name": "api"}}],
               "job_owner": [{"metric": {"job_name": "report-29000100", "owner_kind": "CronJob", "owner_name": "report"}}]}
    workloads = [("Deployment", "api"), ("Deployment", "api-gateway"), ("StatefulSet", "db"), ("DaemonSet", "node-exporter"),
                 ("CronJob", "report"), ("Job", "migrate")]
    ran = ["api-7d9f6c8b5-x2k4p", "api-5b4c8d9f7-q9w8z", "api-gateway-6c7d8f9b5-k2j4h", "db-1", "node-exporter-x7k2p",
           "report-29000100-pq2rs", "report-29000220-mn4bc", "migrate-z8x7c", "debug-shell"]
    assert service.owners(results, q, ran, workloads) == {
        "api-7d9f6c8b5-x2k4p": ("Deployment", "api"), "api-5b4c8d9f7-q9w8z": ("Deployment", "api"),
        "api-gateway-6c7d8f9b5-k2j4h": ("Deployment", "api-gateway"), "db-1": ("StatefulSet", "db"),
        "node-exporter-x7k2p": ("DaemonSet", "node-exporter"), "report-29000100-pq2rs": ("CronJob", "report"),
        "report-29000220-mn4bc": ("CronJob", "report"), "migrate-z8x7c": ("Job", "migrate"), "debug-shell": ("Pod", "debug-shell")}


class Recorded:
    """A Fetch stand-in answering instant queries from kube-state-metrics-shaped results."""
    def __init__(self, answers):
        self.answers = answers

    def instant(self, name, expr):
        return self.answers.get(name, [])


def test_hpas_from_kube_state_metrics_when_the_api_is_not_read():
    q = service.Queries({}, "shop", service.options(PARAMS))
    assert "kube_horizontalpodautoscaler_spec_target_metric" in q.hpa_queries()["hpa_target"]
    hpa = {"horizontalpodautoscaler": "web"}
    fetch = Recorded({
        "hpa_info": [{"metric": dict(hpa, scaletargetref_kind="Deployment", scaletargetref_name="web"), "value": [0, "1"]},
                     {"metric": {"horizontalpodautoscaler": "keda-hpa-queue", "scaletargetref_kind": "Deployment", "scaletargetref_name": "queue"},
                      "value": [0, "1"]}],
        "hpa_target": [{"metric": dict(hpa, metric_name="cpu", metric_target_type="utilization"), "value": [0, "70"]},
                       {"metric": {"horizontalpodautoscaler": "keda-hpa-queue", "metric_name": "s0-rabbitmq-queue", "metric_target_type": "average"},
                        "value": [0, "20"]}],
        "hpa_min": [{"metric": hpa, "value": [0, "2"]}], "hpa_max": [{"metric": hpa, "value": [0, "6"]}]})
    assert service.ksm_hpas(fetch, q) == {
        ("Deployment", "web"): {"name": "web", "min": 2, "max": 6, "cpu_utilization": 70.0, "source": "kube-state-metrics"},
        ("Deployment", "queue"): {"name": "keda-hpa-queue", "min": None, "max": None, "cpu_utilization": None, "source": "kube-state-metrics"}}


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
