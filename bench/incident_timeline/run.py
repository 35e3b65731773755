#!/usr/bin/env python3
"""incident_timeline's engine on a busy cluster's two hours, without transfer: what building the
timeline costs once the sources are read.

Input (generated, deterministic): --events warning events seen through both event APIs (so half
of the objects are duplicates to fold), --replicasets ReplicaSets (a quarter rolled back), --pods
pods with a last termination, --alerts alert instances with ALERTS / ALERTS_FOR_STATE samples
every 15 s while active. Baseline in the same run: json.loads of the same input serialised (the
cheapest possible "read everything"); the figure is the engine's median and its ratio to it.

    python bench/incident_timeline/run.py [--events 20000] [--replicasets 2000] [--pods 5000] [--alerts 200] [--runs 3]
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
from ansible_collections.sre.toolkit.plugins.module_utils._incidents import normalize as norm  # noqa: E402
from ansible_collections.sre.toolkit.plugins.module_utils._incidents.assemble import assemble  # noqa: E402

START = 1_796_500_000.0
SPAN = 7200.0
STEP = 15.0


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(opts):
    events, v1 = [], []
    for i in range(opts.events):
        first = START + (i * 7919) % SPAN
        meta = {"name": "ev-%d" % i, "namespace": "ns-%d" % (i % 50), "uid": "uid-%d" % i}
        events.append({"metadata": meta, "involvedObject": {"kind": "Pod", "name": "svc-%d-abc-%d" % (i % 400, i % 7)},
                       "reason": "BackOff", "message": "Back-off restarting failed container", "type": "Warning",
                       "firstTimestamp": iso(first), "lastTimestamp": iso(min(first + 600, START + SPAN)), "count": 1 + i % 9})
        v1.append({"metadata": meta, "regarding": {"kind": "Pod", "name": "svc-%d-abc-%d" % (i % 400, i % 7)}, "reason": "BackOff",
                   "note": "Back-off restarting failed container", "type": "Warning", "deprecatedFirstTimestamp": iso(first),
                   "deprecatedLastTimestamp": iso(min(first + 600, START + SPAN)), "deprecatedCount": 1 + i % 9})
    replicasets = []
    for i in range(opts.replicasets):
        dep, rev = i // 4, i % 4 + 1
        ann = {norm.REVISION: str(rev + (2 if rev == 1 and dep % 4 == 0 else 0))}
        if rev == 1 and dep % 4 == 0:
            ann[norm.REVISION_HISTORY] = "1"
        replicasets.append({"metadata": {"name": "svc-%d-r%d" % (dep, rev), "namespace": "ns-%d" % (dep % 50), "annotations": ann,
                                         "creationTimestamp": iso(START + rev * 1200 + dep % 600), "uid": "rs-%d" % i,
                                         "ownerReferences": [{"kind": "Deployment", "name": "svc-%d" % dep, "controller": True}]},
                            "spec": {"template": {"metadata": {"labels": {"app": "svc-%d" % dep}},
                                                  "spec": {"containers": [{"name": "app", "image": "example/svc:%d" % rev}]}}}})
    pods = [{"metadata": {"name": "svc-%d-r1-%d" % (i % 400, i), "namespace": "ns-%d" % (i % 50), "labels": {"pod-template-hash": "r1"},
                          "ownerReferences": [{"kind": "ReplicaSet", "name": "svc-%d-r1" % (i % 400), "controller": True}]},
             "status": {"containerStatuses": [{"name": "app", "restartCount": i % 5, "lastState": {"terminated": {
                 "reason": "Error", "exitCode": 1, "finishedAt": iso(START + (i * 131) % SPAN)}}}]}} for i in range(opts.pods)]
    alerts, states = [], []
    for i in range(opts.alerts):
        labels = {"alertname": "Alert%d" % (i % 20), "namespace": "ns-%d" % (i % 50), "pod": "p-%d" % i}
        begin = START + (i * 313) % (SPAN - 1800)
        stamps = [begin + k * STEP for k in range(int(1200 / STEP))]
        alerts.append({"metadata": dict(labels, __name__="ALERTS", alertstate="pending"), "values": [[t, "1"] for t in stamps[:4]]})
        alerts.append({"metadata": dict(labels, __name__="ALERTS", alertstate="firing"), "values": [[t, "1"] for t in stamps[4:]]})
        states.append({"metric": dict(labels, __name__="ALERTS_FOR_STATE"), "values": [[t, str(begin)] for t in stamps]})
    for series in alerts:
        series["metric"] = series.pop("metadata")
    return {"core": events, "v1": v1, "replicasets": replicasets, "pods": pods, "alerts": alerts, "states": states}


def build(raw):
    records = [norm.event_record(e, "core/v1") for e in raw["core"]] + [norm.event_record(e, "events.k8s.io/v1") for e in raw["v1"]]
    data = {"alerts": (raw["alerts"], raw["states"]), "events": records, "replicasets": raw["replicasets"], "pods": raw["pods"]}
    options = {"start": START, "end": START + SPAN, "now": START + SPAN, "interval": STEP, "ignore_labels": [], "event_ttl": 3600,
               "trigger_window": 1800, "clock_skew": 60, "title": "bench", "store_from": None}
    return assemble(data, options, {})


def main():
    parser = argparse.ArgumentParser()
    for name, default in (("events", 20000), ("replicasets", 2000), ("pods", 5000), ("alerts", 200), ("runs", 3)):
        parser.add_argument("--" + name, type=int, default=default)
    opts = parser.parse_args()
    raw = generate(opts)
    blob = json.dumps(raw)
    base, ours = [], []
    for run in range(opts.runs):
        print("run %d" % (run + 1), file=sys.stderr)
        start = time.perf_counter()
        json.loads(blob)
        base.append(time.perf_counter() - start)
        start = time.perf_counter()
        result, findings = build(raw)
        ours.append(time.perf_counter() - start)
    tracemalloc.start()
    build(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    b, o = statistics.median(base), statistics.median(ours)
    entries = len(result["timeline"])
    print("input: %d event objects (%d unique), %d ReplicaSets, %d pods, %d alert instances; %.1f MiB as JSON" % (
        2 * opts.events, opts.events, opts.replicasets, opts.pods, opts.alerts, len(blob) / 2 ** 20))
    print("timeline entries %d, episodes %d, findings %d, postmortem %d KiB" % (
        entries, len(result["episodes"]), len(findings), len(result["postmortem"]) // 1024))
    print("baseline json.loads of the input: %.3fs median; engine (normalise, merge, milestones, triggers, limits, scaffold): "
          "%.3fs median; ratio %.2fx; peak traced memory %.1f MiB" % (b, o, o / b, peak / 2 ** 20))
    out = REPO / "bench" / "results" / "incident_timeline.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"events": opts.events, "replicasets": opts.replicasets, "pods": opts.pods, "alerts": opts.alerts,
                               "entries": entries, "baseline_json_loads_s": round(b, 3), "engine_s": round(o, 3),
                               "ratio": round(o / b, 2), "peak_mib": round(peak / 2 ** 20, 1)}, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
