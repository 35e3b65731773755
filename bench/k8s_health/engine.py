#!/usr/bin/env python3
"""Engine-only throughput and memory: 500 nodes and 20,000 generated pods fed one at a time.

Complements run.py (which needs the scale lab): shows what the judging itself costs, without
transfer. Baseline in the same run: json.loads of the same pods serialised as one list (the
cheapest possible "read everything" in Python).

    python bench/k8s_health/engine.py [--pods 20000] [--nodes 500] [--runs 3]
"""
from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests.integration.collection import collections_root  # noqa: E402

sys.path.insert(0, str(collections_root()))
from ansible_collections.sre.toolkit.plugins.module_utils._health.scan import HealthScan  # noqa: E402

NOW = datetime.datetime(2026, 11, 24, 12, tzinfo=datetime.timezone.utc)


def gen_pod(i, nodes):
    bad = i % 50 == 0
    state = {"waiting": {"reason": "ImagePullBackOff", "message": "back-off"}} if bad else {"running": {"startedAt": "2026-11-24T10:00:00Z"}}
    return {
        "metadata": {"name": "svc-%05d" % i, "namespace": "ns-%d" % (i % 10), "creationTimestamp": "2026-11-24T09:00:00Z",
                     "ownerReferences": [{"kind": "ReplicaSet", "name": "svc-%d-abc" % (i % 200), "controller": True}],
                     "labels": {"app": "svc-%d" % (i % 200)}},
        "spec": {"nodeName": "node-%03d" % (i % nodes), "containers": [{"name": "app", "image": "example/app:1",
                                                                        "resources": {"requests": {"cpu": "10m"}}}]},
        "status": {"phase": "Pending" if bad else "Running",
                   "conditions": [{"type": "Ready", "status": "False" if bad else "True", "lastTransitionTime": "2026-11-24T10:00:00Z"}],
                   "containerStatuses": [{"name": "app", "ready": not bad, "restartCount": 0, "state": state, "image": "example/app:1"}]},
    }


def gen_node(i):
    return {"metadata": {"name": "node-%03d" % i, "labels": {"node-role.kubernetes.io/worker": ""}},
            "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"}],
                                   "nodeInfo": {"kubeletVersion": "v1.36.4", "containerRuntimeVersion": "containerd://2.1.4"}}}


def feed(pods, nodes):
    scan = HealthScan({}, now=NOW)
    scan.set_version({"gitVersion": "v1.36.4"})
    for i in range(nodes):
        scan.add_node(gen_node(i))
    for i in range(pods):
        scan.add_pod(gen_pod(i, nodes))
    return scan.result()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=20000)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    blob = json.dumps({"items": [gen_pod(i, opts.nodes) for i in range(opts.pods)]})
    base, ours = [], []
    for run in range(opts.runs):
        print("engine run %d" % (run + 1), file=sys.stderr)
        start = time.perf_counter()
        json.loads(blob)
        base.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = feed(opts.pods, opts.nodes)
        ours.append(time.perf_counter() - start)
    tracemalloc.start()
    feed(opts.pods, opts.nodes)
    peak_stream = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    tracemalloc.start()
    json.loads(blob)
    peak_list = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    b, o = statistics.median(base), statistics.median(ours)
    print("pods %d, nodes %d, findings %s" % (opts.pods, opts.nodes, result["summary"]["counts"]))
    print("baseline json.loads of the list: %.3fs median; engine streaming (generate + judge): %.3fs median; ratio %.2fx"
          % (b, o, o / b))
    print("peak traced memory: engine streaming %.1f MiB vs the whole list in memory %.1f MiB"
          % (peak_stream / 2 ** 20, peak_list / 2 ** 20))
    out = REPO / "bench" / "results" / "k8s_health_engine.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"pods": opts.pods, "nodes": opts.nodes, "baseline_json_loads_s": round(b, 3), "engine_s": round(o, 3),
                               "ratio": round(o / b, 2), "peak_stream_mib": round(peak_stream / 2 ** 20, 1),
                               "peak_list_mib": round(peak_list / 2 ** 20, 1)}, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
