"""Turn the model's episodes into the exact ALERTS / ALERTS_FOR_STATE samples (stale markers
included) and write them, in time order, into a Prometheus remote-write receiver."""
from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

from tests.lab.alerts import model, remote_write
from tests.lab.common import LabError, free_port, start_daemon, stop_daemon

SLICE_EVALS = 120  # one remote-write request per 2 h of evaluations
BLOCK = "24h"  # receiver block size: 30 head compactions instead of 360 2-hour ones plus their merges


def instance_series(inst, n):
    """{"firing"|"pending"|"for_state": [(first k, last k, active k or None, stale k or None)]}
    for one replica, clipped to evaluations 0 .. n-1. A stale marker is written at the first
    evaluation a series is absent, only when the sample before it is inside the window."""
    out = {"firing": [], "pending": [], "for_state": []}

    def add(kind, a, b, active, stale_allowed=True):
        if b < 0 or a > n - 1 or a > b:
            return
        stale = b + 1 if stale_allowed and b + 1 <= n - 1 else None
        out[kind].append((max(a, 0), min(b, n - 1), active, stale))

    for ep in inst.episodes:
        add("for_state", ep.start, ep.last, ep.start)
        if ep.fire is None:
            add("pending", ep.start, ep.last, None)
        else:
            add("pending", ep.start, ep.fire - 1, None)
            add("firing", ep.fire, ep.last, None)
    return {k: v for k, v in out.items() if v}


def _series_labels(inst, kind, replica):
    labels = dict(inst.labels)
    if kind == "for_state":
        labels["__name__"] = "ALERTS_FOR_STATE"
    else:
        labels["__name__"] = "ALERTS"
        labels["alertstate"] = kind
    if replica:
        labels[model.HA_LABEL] = replica
    return labels


def plan_slices(tl, instances):
    """Slice index -> [(series id, first k, last k, value bytes, offset ms)], and the labels of each series."""
    slices = defaultdict(list)
    series_labels = []
    one = remote_write.value_bytes(1.0)
    stale = remote_write.value_bytes(0.0, stale=True)
    for inst in instances:
        for replica in inst.replicas or (None,):
            offset = model.HA_OFFSETS_MS[replica] if replica else 0
            for kind, segments in instance_series(inst, tl.evaluations).items():
                sid = len(series_labels)
                series_labels.append(remote_write.encode_labels(_series_labels(inst, kind, replica)))
                for a, b, active, stale_k in segments:
                    raw = one if active is None else remote_write.value_bytes(float(tl.t_ms(active, offset) // 1000))
                    for sl in range(a // SLICE_EVALS, b // SLICE_EVALS + 1):
                        lo, hi = max(a, sl * SLICE_EVALS), min(b, sl * SLICE_EVALS + SLICE_EVALS - 1)
                        slices[sl].append((sid, lo, hi, raw, offset))
                    if stale_k is not None:
                        slices[stale_k // SLICE_EVALS].append((sid, stale_k, stale_k, stale, offset))
    return slices, series_labels


def encode_slice(tl, entries, series_labels):
    per_series = defaultdict(list)
    for entry in sorted(entries, key=lambda e: (e[0], e[1])):
        per_series[entry[0]].append(entry)
    # every sample of a slice shares few timestamps and values: encode each once
    timestamps = {}
    heads = {}
    body = []
    for sid, parts in per_series.items():
        samples = []
        for _, lo, hi, raw, offset in parts:
            for k in range(lo, hi + 1):
                ts = timestamps.get((k, offset))
                if ts is None:
                    ts = timestamps[(k, offset)] = remote_write.varint(tl.t_ms(k, offset))
                head = heads.get((raw, len(ts)))
                if head is None:
                    head = heads[(raw, len(ts))] = b"\x12" + remote_write.varint(10 + len(ts)) + b"\x09" + raw + b"\x10"
                samples.append(head + ts)
        body.append(remote_write.encode_series(series_labels[sid], b"".join(samples)))
    return b"".join(body)


def write(url, tl, instances):
    slices, series_labels = plan_slices(tl, instances)
    for sl in sorted(slices):
        remote_write.push(url, encode_slice(tl, slices[sl], series_labels))
    return len(series_labels)


def _get(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read()


def wait_ready(url, timeout=120.0, proc_alive=lambda: True):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _get(url + "/-/ready", timeout=2.0)
            return
        except OSError:
            if not proc_alive():
                raise LabError(f"prometheus at {url} exited before it was ready")
            time.sleep(0.2)
    raise LabError(f"prometheus at {url} not ready after {timeout:.0f}s")


def write_tsdb(prometheus_bin, workdir: Path, tl, instances, out_tsdb: Path) -> dict:
    """Start a receiver Prometheus (remote-write receiver + admin API, loopback only), push the
    history in time order, snapshot it into out_tsdb, stop the receiver."""
    return receive_and_snapshot(prometheus_bin, workdir, out_tsdb, lambda url: {"series": write(url, tl, instances)})


def receive_and_snapshot(prometheus_bin, workdir: Path, out_tsdb: Path, push) -> dict:
    """Run a receiver Prometheus, call push(url) (returns figures), snapshot into out_tsdb, stop it.
    Shared by every lab history generator (alerts, sli, usage)."""
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "receiver-data"
    shutil.rmtree(data, ignore_errors=True)
    config = workdir / "receiver.yml"
    config.write_text("global: {}\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    start_daemon("receiver", [prometheus_bin, f"--config.file={config}", f"--storage.tsdb.path={data}",
                              f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver",
                              "--web.enable-admin-api", "--storage.tsdb.retention.time=3650d",
                              f"--storage.tsdb.min-block-duration={BLOCK}", f"--storage.tsdb.max-block-duration={BLOCK}"], workdir)
    timings = {}
    t0 = time.monotonic()
    try:
        wait_ready(url)
        timings["receiver_start_seconds"] = round(time.monotonic() - t0, 2)
        t0 = time.monotonic()
        pushed = push(url)
        timings["push_seconds"] = round(time.monotonic() - t0, 2)
        t0 = time.monotonic()
        req = urllib.request.Request(url + "/api/v1/admin/tsdb/snapshot", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=600) as resp:
            name = json.loads(resp.read())["data"]["name"]
        shutil.rmtree(out_tsdb, ignore_errors=True)
        shutil.move(str(data / "snapshots" / name), str(out_tsdb))
        timings["snapshot_seconds"] = round(time.monotonic() - t0, 2)
    finally:
        t0 = time.monotonic()
        stop_daemon("receiver", workdir, timeout=60)
        timings["receiver_stop_seconds"] = round(time.monotonic() - t0, 2)
        shutil.rmtree(data, ignore_errors=True)
    return {**pushed, **timings}
