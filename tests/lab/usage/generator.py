"""Generate the rightsizing lab's usage history (cAdvisor + kube-state-metrics) and its ground truth.

    python -m tests.lab.usage.generator --out DIR [--seed 42] [--end UNIX_SECONDS] [--days 14]

DIR/tsdb holds Prometheus blocks (written through a remote-write receiver, then snapshotted),
DIR/ground_truth.json the designed answer per container (truth.py) and the window.
Registered in tests/lab/components/prometheus.py HISTORIES as "usage".
"""
from __future__ import annotations

import argparse
import json
import shutil
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.lab.alerts import remote_write  # noqa: E402
from tests.lab.alerts.history import receive_and_snapshot  # noqa: E402
from tests.lab.usage import design, model, scale, truth  # noqa: E402

GENERATOR_VERSION = "2"
SCALE_VERSION = "1"    # the bench history (scale.py) has its own version: it takes ~25 min to regenerate
INTERVAL_SECONDS = 60
WINDOW_DAYS = 14
SLICE = 180            # minutes per remote-write request


def day_end(now: float) -> int:
    return int(now) // 86400 * 86400


def encode_slice(series, lo, hi, n, ts_cache):
    stale = remote_write.value_bytes(0.0, stale=True)
    pack = struct.Struct("<d").pack
    body = []
    for s in series:
        a, b = max(s.k0, lo), min(s.k1, hi)
        parts = []
        if a < b:
            vals = s.values
            for k in range(a, b):
                ts = ts_cache[k]
                parts.append(b"\x12" + remote_write.varint(10 + len(ts)) + b"\x09" + pack(vals[k - s.k0]) + b"\x10" + ts)
        if lo <= s.k1 < hi and s.k1 < n:   # the series ends inside the window: Prometheus writes a stale marker
            ts = ts_cache[s.k1]
            parts.append(b"\x12" + remote_write.varint(10 + len(ts)) + b"\x09" + stale + b"\x10" + ts)
        if parts:
            body.append(remote_write.encode_series(s.raw_labels, b"".join(parts)))
    return b"".join(body)


def write_tsdb(prometheus_bin, workdir: Path, series, start_ms, n, out_tsdb: Path) -> dict:
    def push(url):
        for s in series:
            s.raw_labels = remote_write.encode_labels(s.labels)
        ts_cache = [remote_write.varint(start_ms + k * INTERVAL_SECONDS * 1000) for k in range(n + 1)]
        for lo in range(0, n, SLICE):
            payload = encode_slice(series, lo, min(n, lo + SLICE), n, ts_cache)
            if payload:
                remote_write.push(url, payload)
        return {"series": len(series), "samples": sum(len(s.values) for s in series)}
    return receive_and_snapshot(prometheus_bin, workdir, out_tsdb, push)


def generate(out: Path, *, seed=42, scale=False, end=None, prometheus_bin="prometheus", days=WINDOW_DAYS) -> dict:
    """Write out/tsdb and out/ground_truth.json; return timing figures. `scale`: the bench history (scale.py)."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    end = int(end if end is not None else day_end(time.time()))
    if scale:
        return generate_scale(out, seed, end, prometheus_bin, days, t0)
    n = days * 1440
    start = end - n * INTERVAL_SECONDS
    series, pods, rows = model.build(seed, n, start // 60)
    ground = {
        "schema": 1, "generator_version": GENERATOR_VERSION, "seed": seed, "scale": bool(scale), "interval_seconds": INTERVAL_SECONDS,
        "window": {"start": start, "end": end, "seconds": end - start}, "namespace": design.NAMESPACE,
        "cluster_label": "cluster", "cluster": design.CLUSTER, "policy": truth.POLICY,
        "containers": truth.build(rows, n),
        "pods": sorted(({"name": p.name, "workload": "%s/%s" % (p.arch.kind, p.arch.name), "node": p.node,
                         "start": start + p.k0 * INTERVAL_SECONDS, "end": start + p.k1 * INTERVAL_SECONDS} for p in pods),
                       key=lambda p: (p["workload"], p["start"], p["name"])),
    }
    modelled = time.monotonic() - t0
    written = write_tsdb(prometheus_bin, out / "work", series, start * 1000, n, out / "tsdb")
    shutil.rmtree(out / "work", ignore_errors=True)
    ground["generation"] = {"model_seconds": round(modelled, 2), **written, "total_seconds": round(time.monotonic() - t0, 2)}
    (out / "ground_truth.json").write_text(json.dumps(ground, indent=1, sort_keys=True))
    return ground["generation"]


def generate_scale(out, seed, end, prometheus_bin, days, t0):
    n = days * 86400 // scale.INTERVAL
    start = end - n * scale.INTERVAL
    written = receive_and_snapshot(prometheus_bin, out / "work", out / "tsdb", lambda url: scale.push_all(url, start * 1000, n, seed))
    shutil.rmtree(out / "work", ignore_errors=True)
    ground = {"schema": 1, "generator_version": GENERATOR_VERSION, "seed": seed, "scale": True, "interval_seconds": scale.INTERVAL,
              "window": {"start": start, "end": end, "seconds": end - start}, "cluster_label": "cluster", "cluster": "bench",
              "namespaces": ["bench-rs-%02d" % i for i in range(scale.NAMESPACES)],
              "containers": scale.NAMESPACES * scale.DEPLOYMENTS * scale.REPLICAS,
              "generation": {**written, "total_seconds": round(time.monotonic() - t0, 2)}}
    (out / "ground_truth.json").write_text(json.dumps(ground, indent=1, sort_keys=True))
    return ground["generation"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end", type=int)
    parser.add_argument("--days", type=int, default=WINDOW_DAYS)
    parser.add_argument("--prometheus", default="prometheus")
    parser.add_argument("--scale", action="store_true", help="the bench history: 2,000 containers at 30 s (scale.py)")
    args = parser.parse_args(argv)
    print(json.dumps(generate(args.out, seed=args.seed, scale=args.scale, end=args.end, prometheus_bin=args.prometheus, days=args.days)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
