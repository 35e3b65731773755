"""The incident_timeline service with recorded clients: options, around_alert, partial reads."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._incidents import normalize as norm
from ansible_collections.sre.toolkit.plugins.module_utils._incidents.service import run
from ansible_collections.sre.toolkit.plugins.modules.incident_timeline import argument_spec

NOW = 1_790_010_000.0


def params(**over):
    base = {name: spec.get("default") for name, spec in argument_spec().items()}
    base.update({"prometheus_url": "http://prom", "kubeconfig": "/dev/null"})
    base.update(over)
    return base


class Prom:
    """ALERTS of one episode: pending from NOW-600, firing from NOW-540 to NOW-300 (60 s evaluations)."""

    def __init__(self, fail=None):
        self.fail, self.queries = fail, []

    def query_raw(self, selector, start, end, chunk_seconds=None):
        self.queries.append(selector)
        if self.fail:
            raise self.fail
        labels = {"alertname": "Down", "severity": "critical"}
        if selector.startswith("ALERTS_FOR_STATE"):
            return [{"metric": dict(labels, __name__="ALERTS_FOR_STATE"), "values": [[t, str(NOW - 600)] for t in range(int(NOW - 600), int(NOW - 300), 60)]}]
        if selector.startswith("ALERTS"):
            return [{"metric": dict(labels, __name__="ALERTS", alertstate="pending"), "values": [[NOW - 600, "1"]]},
                    {"metric": dict(labels, __name__="ALERTS", alertstate="firing"),
                     "values": [[t, "1"] for t in range(int(NOW - 540), int(NOW - 300), 60)]}]
        return [{"metric": {"__name__": "up"}, "values": [[t, "1"] for t in range(int(start), int(end) + 1, 60)]}]


class K8s:
    def __init__(self, forbidden=()):
        self.forbidden, self.paths = forbidden, []

    def list_all(self, path, params=None):
        self.paths.append(path)
        if any(word in path for word in self.forbidden):
            raise ToolkitError("events is forbidden", kind="forbidden", status=403)
        if path.endswith("/nodes"):
            return [{"metadata": {"name": "n1"}, "status": {"conditions": [
                {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "lastTransitionTime": "2026-09-21T16:05:00Z"}]}}]
        return []


def test_around_alert_finds_the_episode_and_widens_it():
    result, warnings = run(params(around_alert={"alertname": "Down", "matchers": None, "at": None, "lookback": "1d", "before": "10m",
                                                "after": "5m"}), NOW, k8s=lambda p: K8s(), prometheus=lambda p: Prom())
    assert result["range"]["start"] == NOW - 600 - 600 and result["range"]["end"] == NOW - 300 + 300
    assert result["range"]["how"].startswith("around alert/Down")
    assert result["milestones"]["detection"]["time"] == NOW - 540 and not warnings


def test_around_alert_without_an_episode_names_the_alert():
    with pytest.raises(ToolkitError, match="around_alert: no episode of alertname=\"Nope\""):
        run(params(around_alert={"alertname": "Nope", "lookback": "1h", "before": "1m", "after": "1m", "at": NOW - 7200, "matchers": None}),
            NOW, k8s=lambda p: K8s(), prometheus=lambda p: Prom())


@pytest.mark.parametrize("over, words", [
    ({"window": "soon"}, "window: 'soon' is not a duration"),
    ({"start": "yesterday"}, "start: 'yesterday' is neither"),
    ({"start": "-1h", "end": "-2h"}, "start: "),
    ({"window": "40d"}, "window: at most 31 days"),
    ({"event_ttl": "0s"}, "event_ttl: "),
    ({"around_alert": {"alertname": "Down"}, "start": "-1h"}, "around_alert and start"),
])
def test_bad_options_name_the_option(over, words):
    with pytest.raises(ToolkitError) as caught:
        run(params(**over), NOW, k8s=lambda p: K8s(), prometheus=lambda p: Prom())
    assert words in caught.value.msg and caught.value.kind == "invalid"


def test_every_failed_source_is_a_partial_timeline():
    down = ToolkitError("connection refused", kind="connection")
    result, warnings = run(params(window="1h"), NOW, k8s=lambda p: K8s(forbidden=("/events", "/pods")), prometheus=lambda p: Prom(down))
    assert result["summary"]["partial"] == ["alerts", "containers", "events"]
    assert result["sources"]["events"]["status"] == "forbidden" and result["sources"]["alerts"]["status"] == "error"
    assert result["sources"]["nodes"]["status"] == "ok" and warnings and warnings[0].startswith("timeline is partial")
    assert {f["id"] for f in result["findings"]} >= {"incident.source_unavailable"}


def test_a_kubernetes_client_that_cannot_be_built_costs_its_sources_only():
    def broken(_params):
        raise ToolkitError("kubeconfig /nope does not exist: give the path of a kubeconfig file", kind="invalid")

    result, _warnings = run(params(window="1h"), NOW, k8s=broken, prometheus=lambda p: Prom())
    assert result["summary"]["partial"] == ["config", "containers", "events", "nodes", "rollouts"]
    assert result["milestones"]["detection"]["time"] == NOW - 540


def test_no_prometheus_url_is_said():
    result, _warnings = run(params(window="1h", prometheus_url=None), NOW, k8s=lambda p: K8s(), prometheus=lambda p: Prom())
    assert result["sources"]["alerts"]["status"] == "not_configured" and result["summary"]["partial"] == ["alerts"]


def test_other_normalisers_nodes_controller_revisions_memory_hog():
    start, end = NOW - 3600, NOW
    nodes = norm.node_entries([{"metadata": {"name": "n1"}, "status": {"conditions": [
        {"type": "MemoryPressure", "status": "True", "reason": "KubeletHasInsufficientMemory", "lastTransitionTime": "2026-09-21T16:00:00Z"},
        {"type": "Ready", "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z"}]}}], start, end)
    assert [(e["kind"], e["what"]) for e in nodes] == [("node_condition", "MemoryPressure=True (KubeletHasInsufficientMemory)")]
    revs = norm.revision_entries([{"metadata": {"name": "db-5f6", "namespace": "a", "creationTimestamp": "2026-09-21T16:00:00Z",
                                                "ownerReferences": [{"kind": "StatefulSet", "name": "db", "controller": True}]},
                                   "revision": 4}], start, end)
    assert revs[0]["subject"]["locator"] == "StatefulSet a/db" and "revision 4" in revs[0]["what"]
    pods = [{"metadata": {"name": "hog-1", "namespace": "a", "creationTimestamp": "2026-09-21T16:00:00Z",
                          "labels": {norm.RUN_LABEL: "mh-1"}}, "status": {}}]
    entries, hidden = norm.container_entries(pods, start, end)
    assert [(e["kind"], e["evidence"]["run_id"]) for e in entries] == [("chaos_action", "mh-1")] and hidden == 0
