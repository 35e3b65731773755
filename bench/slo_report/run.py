"""Benchmark slo_report: 20 SLOs x 30 days (+3 days of lookback) on the lab's SLI history.

Measured in the same run, each repeated (median of --repeat):
  fetch      the baseline: the raw samples of every SLO's series (its error and total selectors, or
             the histogram's threshold bucket and _count) over the same span, through the same client
             and chunking, and nothing else;
  module     the module's work in-process (fetch + engine: budget, backtest of 5 pairs, targets for
             5 candidates, rules), in a fresh subprocess that also reports its peak RSS;
  playbook   the real module through ansible-playbook (Ansible start-up included), once per repeat.
The target (issue 16): module <= 2 x fetch. Results: bench/results/slo_report.json.

Needs the lab's Prometheus (any size): `python tests/lab/lab.py up --only prometheus`.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench import figures  # noqa: E402
from bench.children import playbook_once, run_child  # noqa: E402
from tests.integration.collection import collections_root  # noqa: E402

sys.path.insert(0, str(collections_root()))

from ansible_collections.sre.toolkit.plugins.module_utils._gc import collector_paused  # noqa: E402
from ansible_collections.sre.toolkit.plugins.module_utils._http import HttpClient  # noqa: E402
from ansible_collections.sre.toolkit.plugins.module_utils._prom import PrometheusClient  # noqa: E402
from tests.lab.common import STATE_DIR  # noqa: E402

CHUNK = 86400
LOOKBACK = 3 * 86400
SERVICES = ("catalog", "checkout", "payments", "search")


def lab_prometheus():
    path = Path(STATE_DIR) / "lab.json"
    info = json.loads(path.read_text()).get("prometheus") if path.exists() else None
    if not info or "sli" not in (info.get("histories") or {}):
        sys.exit("bench/slo_report: the lab's Prometheus with the sli history is not up (%s); run "
                 "`python tests/lab/lab.py up --only prometheus` first" % path)
    return info


def twenty_slos(truth):
    """20 SLOs: per service, availability at 99.5 / 99.9 and latency under 0.1 / 0.25 / 0.5 s."""
    slos = []
    for service in SERVICES:
        base = 'job="%s", service="%s"' % (truth["job"], service)
        for objective in (99.5, 99.9):
            slos.append({"name": "%s-availability-%s" % (service, objective), "service": service, "objective": objective,
                         "ratio": {"errors": '%s{%s, code=~"5.."}' % (truth["requests_metric"], base),
                                   "total": "%s{%s}" % (truth["requests_metric"], base)}})
        for threshold in (0.1, 0.25, 0.5):
            slos.append({"name": "%s-latency-%s" % (service, threshold), "service": service, "objective": 99.0,
                         "latency": {"histogram": "%s{%s}" % (truth["histogram"], base), "threshold": threshold}})
    return slos


def selectors(slo):
    if "ratio" in slo:
        return [slo["ratio"]["errors"], slo["ratio"]["total"]]
    name, inner = slo["latency"]["histogram"].split("{", 1)
    inner = inner.rstrip("}")
    return ['%s_bucket{%s, le="%r"}' % (name, inner, float(slo["latency"]["threshold"])), "%s_count{%s}" % (name, inner)]


def fetch(url, slos, start, end):
    prom = PrometheusClient(HttpClient(url, timeout=300))
    samples = 0
    with collector_paused():
        for slo in slos:
            for selector in selectors(slo):
                for part in prom.iter_raw(selector, start - LOOKBACK - 60, end, CHUNK):
                    samples += sum(len(s["values"]) for s in part)
    return samples, prom.all_stats()


MODULE_CHILD = r'''
import json, sys, time
sys.path[:0] = %(paths)r
from ansible_collections.sre.toolkit.plugins.modules import slo_report as mod
params = {name: spec.get("default") for name, spec in mod.argument_spec().items()}
params.update(%(params)r)
for slo in params["slos"]:
    for key in ("ratio", "latency", "description", "alert_name"):
        slo.setdefault(key, None)
    slo.setdefault("alert_pairs", [])
t0 = time.perf_counter()
result, warnings = mod.run(params, time.time())
wall = time.perf_counter() - t0
hwm = [int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(json.dumps({"wall": wall, "rss_kib": hwm, "failed": result["summary"]["failed"], "queries": result["queries"],
                  "consumed": {r["name"]: r["budget"]["budget_consumed"] for r in result["slos"] if "budget" in r}}))
'''


def module_in_subprocess(params):
    return run_child(MODULE_CHILD, params=params)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-playbook", action="store_true", help="skip the ansible-playbook measurement")
    args = parser.parse_args()
    lab = lab_prometheus()
    truth = json.loads(Path(lab["histories"]["sli"]["ground_truth"]).read_text())
    start, end = truth["window"]["start"], truth["window"]["end"]
    slos = twenty_slos(truth)
    params = {"prometheus_url": lab["url"], "end": str(end), "slos": slos, "query_chunk": "1d", "prometheus_timeout": 300.0}
    fetch_s, module_s, module_rss, play_s, play_rss = [], [], [], [], []
    samples = stats = child = None
    for _round in range(args.repeat):
        t0 = time.perf_counter()
        samples, stats = fetch(lab["url"], slos, start, end)
        fetch_s.append(time.perf_counter() - t0)
        child = module_in_subprocess(params)
        if child["failed"]:
            raise SystemExit("%d SLOs failed in the module" % child["failed"])
        module_s.append(child["wall"])
        module_rss.append(child["rss_kib"])
        if not args.no_playbook:
            wall, rss = playbook_once("slo_report", params)
            play_s.append(wall)
            play_rss.append(rss)
    fetch_m = statistics.median(fetch_s)
    report = {
        "lab": {"slos": len(slos), "window_days": (end - start) / 86400.0, "lookback_days": LOOKBACK / 86400.0,
                "interval_seconds": truth["interval_seconds"], "prometheus": lab.get("version")},
        "repeat": args.repeat, "fetch_samples": samples, "fetch_queries": stats, "module_queries": child["queries"],
        "median_seconds": {"fetch_baseline": round(fetch_m, 3), "module_in_process": round(statistics.median(module_s), 3)},
        "ratio_vs_fetch": {"module_in_process": round(statistics.median(module_s) / fetch_m, 3)},
        "peak_rss_mib": {"module_in_process": round(max(module_rss) / 1024.0, 1)},
        "target": "module_in_process <= 2.0 x fetch_baseline",
    }
    figures.add_playbook(report, play_s, play_rss, fetch_m)
    report["target_met"] = report["ratio_vs_fetch"]["module_in_process"] <= 2.0
    out = figures.write("slo_report", report)
    print("slo_report on %(slos)s SLOs x %(window_days).0f days (+%(lookback_days).0f days lookback)" % report["lab"])
    figures.print_medians(report)
    print("  samples fetched %s; peak RSS MiB: %s; target met: %s" % (samples, report["peak_rss_mib"], report["target_met"]))
    print("  written: %s" % out.relative_to(REPO))
    return 0 if report["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
