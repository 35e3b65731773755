"""Generate the lab's SLI history (request counters by status code, latency histograms) and its
ground truth.

    python -m tests.lab.sli.generator --out DIR [--seed 42] [--end UNIX_SECONDS]

DIR/tsdb holds 33 days of samples every 60 s, ending at `end` (default the last UTC midnight): a
3-day lead-in (so every standard burn-rate window is full from the first evaluation) and the
30-day window. DIR/ground_truth.json: see README.md. Written through a remote-write receiver
(24 h blocks) and snapshotted, as the alerts history is.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.lab.alerts import remote_write  # noqa: E402
from tests.lab.alerts.generator import day_end, prometheus_version  # noqa: E402
from tests.lab.alerts import history  # noqa: E402
from tests.lab.sli import design, truth  # noqa: E402

GENERATOR_VERSION = "1"
SLICE = 180          # minutes per remote-write request


def series_of(counts):
    """[(labels, per-minute cumulative values)] of every series, minute 0 .. MINUTES."""
    out = []

    def cumulative(values):
        acc, res = 0, []
        for v in values:
            acc += v
            res.append(acc)
        return res

    for service in sorted(counts):
        c = counts[service]
        base = {"job": design.JOB, "service": service, "instance": "%s:8080" % service}
        ok = [t - a - b for t, a, b in zip(c["total"], c["500"], c["503"])]
        for code, values in (("200", ok), ("500", c["500"]), ("503", c["503"])):
            out.append((dict(base, __name__=design.REQUESTS, code=code), cumulative(values)))
        for i, le in enumerate(list(design.LE) + ["+Inf"]):
            le_text = "+Inf" if le == "+Inf" else repr(float(le))
            out.append((dict(base, __name__=design.HISTOGRAM + "_bucket", le=le_text), cumulative([row[i] for row in c["buckets"]])))
        out.append((dict(base, __name__=design.HISTOGRAM + "_count"), cumulative(c["total"])))
        out.append((dict(base, __name__=design.HISTOGRAM + "_sum"), cumulative(c["sum"])))
    return out


def push_all(url, first_ms, series):
    encoded = [remote_write.encode_labels(labels) for labels, _ in series]
    stamps = [remote_write.varint(first_ms + j * design.STEP * 1000) for j in range(design.MINUTES + 1)]
    for lo in range(0, design.MINUTES + 1, SLICE):
        hi = min(lo + SLICE, design.MINUTES + 1)
        body = []
        for raw_labels, (_labels, values) in zip(encoded, series):
            samples = b"".join(b"\x12" + remote_write.varint(10 + len(stamps[j])) + b"\x09" + remote_write.value_bytes(float(values[j]))
                               + b"\x10" + stamps[j] for j in range(lo, hi))
            body.append(remote_write.encode_series(raw_labels, samples))
        remote_write.push(url, b"".join(body))
    return len(series)


def generate(out, *, seed=42, scale=False, end=None, prometheus_bin="prometheus", workdir=None):
    """Write out/tsdb and out/ground_truth.json; return timing figures. `scale` is accepted for the
    lab's interface and changes nothing (the SLI history has one size)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    end = int(end if end is not None else day_end(time.time()))
    start = end - design.WINDOW_DAYS * 86400
    counts = design.generate_counts(seed)
    ground = truth.build(counts, start, end, seed)
    ground["prometheus_version"] = prometheus_version(prometheus_bin)
    ground["generator_version"] = GENERATOR_VERSION
    modelled = time.monotonic() - t0
    series = series_of(counts)
    first_ms = (start - design.LEAD) * 1000
    written = history.receive_and_snapshot(prometheus_bin, Path(workdir or out / "work"), out / "tsdb",
                                           lambda url: {"series": push_all(url, first_ms, series)})
    shutil.rmtree(out / "work", ignore_errors=True)
    ground["generation"] = {"model_seconds": round(modelled, 2), "series": len(series), **written,
                            "total_seconds": round(time.monotonic() - t0, 2)}
    (out / "ground_truth.json").write_text(json.dumps(ground, indent=1, sort_keys=True))
    return ground["generation"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end", type=int, help="window end, unix seconds (default: the last UTC midnight)")
    parser.add_argument("--prometheus", default="prometheus")
    args = parser.parse_args(argv)
    print(json.dumps(generate(args.out, seed=args.seed, end=args.end, prometheus_bin=args.prometheus)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
