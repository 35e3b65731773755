"""Pure helpers of the Prometheus and Kubernetes clients."""
from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._argspec import kubeconfig_secrets
from ansible_collections.sre.toolkit.plugins.module_utils._k8s import compile_fields, item_key, project
from ansible_collections.sre.toolkit.plugins.module_utils._prom import (
    MAX_POINTS_PER_SERIES, _window, flatten, merge_series, range_chunks,
)


def test_range_chunks_cover_the_range_without_gaps():
    chunks = range_chunks(0, 100, 30)
    assert chunks == [(0, 30), (30, 60), (60, 90), (90, 100)]
    assert range_chunks(5, 5, 10) == []


def test_range_query_chunk_respects_point_limit():
    step = 15.0
    span = step * (MAX_POINTS_PER_SERIES - 1)
    start, end = 0.0, 30 * 86400.0
    for a, b in range_chunks(start, end, span):
        assert (b - a) / step + 1 <= MAX_POINTS_PER_SERIES


def test_merge_deduplicates_boundary_samples_and_sorts():
    merged = {}
    a = [{"metric": {"b": "2", "a": "1"}, "values": [[10, "1"], [20, "1"]]}]
    b = [{"metric": {"a": "1", "b": "2"}, "values": [[20, "1"], [30, "1"]]}]
    assert merge_series(merged, a) == 2
    assert merge_series(merged, b) == 1
    assert flatten(merged) == [{"metric": {"a": "1", "b": "2"}, "values": [[10.0, "1"], [20.0, "1"], [30.0, "1"]]}]


def test_projection_keeps_named_paths_through_lists():
    pod = {
        "metadata": {"name": "p", "namespace": "n", "uid": "u1", "managedFields": [{"big": 1}]},
        "spec": {"containers": [{"name": "c", "image": "i", "env": [1, 2]}], "nodeName": "n1"},
        "status": {"phase": "Running"},
    }
    tree = compile_fields(["metadata.name", "metadata.namespace", "spec.containers.name", "status"])
    assert project(pod, tree) == {
        "metadata": {"name": "p", "namespace": "n"},
        "spec": {"containers": [{"name": "c"}]},
        "status": {"phase": "Running"},
    }


def test_shorter_path_wins_over_longer_one():
    assert compile_fields(["status", "status.phase"]) == {"status": None}
    assert compile_fields(["status.phase", "status"]) == {"status": None}


def test_item_key_prefers_uid():
    assert item_key({"metadata": {"uid": "x", "name": "a"}}) == "x"
    assert item_key({"metadata": {"name": "a", "namespace": "b"}}) == ("b", "a")


def test_kubeconfig_secrets_found_at_any_depth():
    kubeconfig = {"users": [{"name": "u", "user": {"token": "t0k", "client-key-data": "a2V5"}}],
                  "clusters": [{"name": "c", "cluster": {"server": "https://x"}}]}
    assert kubeconfig_secrets(kubeconfig) == {"t0k", "a2V5"}
    assert kubeconfig_secrets("/path/to/kubeconfig") == set()


def test_raw_chunk_window_is_left_open_and_sorted():
    result = [{"metric": {"a": "2"}, "values": [[10, "1"], [20, "1"]]},
              {"metric": {"a": "1"}, "values": [[15, "1"], [25, "1"]]},
              {"metric": {"a": "3"}, "values": [[5, "1"]]}]
    assert _window(result, 10, 20) == [{"metric": {"a": "1"}, "values": [[15.0, "1"]]},
                                       {"metric": {"a": "2"}, "values": [[20.0, "1"]]}]
