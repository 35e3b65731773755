"""Benchmark rightsizing on the lab's scale usage history (2,000 containers x 14 days at a 30 s scrape).

Measured in the same run, each in a fresh subprocess that reports its wall time and peak RSS (VmHWM):
  raw        the baseline: every raw sample of the series the module reads (cAdvisor CPU, CFS periods,
             working set, network; kube-state-metrics requests, limits, restarts, terminations, owners),
             per namespace, fetched through the same client in 1-day chunks and discarded;
  module     the module's service in-process (use_api=false: the bench has no 2,000-workload API),
             step series at --step, percentiles, backtests, idle and cost computed locally;
  p95_promql the CPU p95 and memory peak per container computed by Prometheus
             (quantile_over_time over a [14d:step] subquery of the rate, max_over_time of the working set);
  p95_local  the same two figures from step series fetched with query_range and computed in Python.
The raw baseline takes minutes per namespace (36 M samples each), so it runs on --raw-namespaces (1 by
default) and the module is timed on the same namespaces beside it (module_same_namespaces) as well as on
all 20 (module). The targets (issue 15): module <= 2 x raw, peak RSS < 500 MB. Results: bench/results/rightsizing.json.

Needs the lab's Prometheus at its scale option: `python tests/lab/lab.py up --scale --only prometheus`
(bench/run.sh does it; LAB_STATE_DIR selects a separate lab).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.integration.collection import collections_root  # noqa: E402
from tests.lab.common import STATE_DIR  # noqa: E402

RAW_METRICS = (
    "container_cpu_usage_seconds_total", "container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_periods_total",
    "container_memory_working_set_bytes", "container_network_receive_bytes_total", "kube_pod_container_resource_requests",
    "kube_pod_container_resource_limits", "kube_pod_container_status_restarts_total",
    "kube_pod_container_status_last_terminated_reason", "kube_pod_owner", "kube_replicaset_owner", "kube_job_owner",
)

PRELUDE = r'''
import json, sys, time
sys.path[:0] = %(paths)r
from ansible_collections.sre.toolkit.plugins.module_utils._http import HttpClient
from ansible_collections.sre.toolkit.plugins.module_utils._prom import PrometheusClient
args = %(args)r
prom = PrometheusClient(HttpClient(args["url"], timeout=600))
def hwm():
    return [int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
t0 = time.perf_counter()
'''

CHILDREN = {
    "raw": r'''
samples = 0
for ns in args["raw_namespaces"]:
    for metric in args["metrics"]:
        for part in prom.iter_raw('%s{namespace="%s", cluster="bench"}' % (metric, ns), args["start"], args["end"], 86400):
            samples += sum(len(s["values"]) for s in part)
print(json.dumps({"wall": time.perf_counter() - t0, "rss_kib": hwm(), "samples": samples, "queries": prom.stats["queries"]}))
''',
    "module": r'''
from ansible_collections.sre.toolkit.plugins.modules import rightsizing as mod
from ansible_collections.sre.toolkit.plugins.module_utils._rightsizing.service import run
params = {name: spec.get("default") for name, spec in mod.argument_spec().items()}
params.update({"prometheus_url": args["url"], "namespaces": args[args.get("which", "namespaces")], "end": str(args["end"]), "cluster": "bench",
               "use_api": False, "step": args["step"], "prometheus_timeout": 600.0})
t0 = time.perf_counter()
result = run(params, time.time(), lambda p: prom)
s = result["summary"]
print(json.dumps({"wall": time.perf_counter() - t0, "rss_kib": hwm(), "containers": s["containers"], "recommended": s["recommended"],
                  "queries": s["queries"], "samples": s["samples"], "errors": s["errors"],
                  "p95": {"%s/%s" % (c["namespace"], c["name"]): c["usage"]["cpu"]["p95"] for c in result["containers"] if c.get("usage")}}))
''',
    "p95_promql": r'''
out = {}
for ns in args["namespaces"]:
    sel = 'namespace="%s", cluster="bench", container!="", container!="POD"' % ns
    cpu = prom.query('max by (pod) (quantile_over_time(0.95, max by (pod) (rate(container_cpu_usage_seconds_total{%s}[%s]))[%ds:%s]))'
                     % (sel, args["step"], args["end"] - args["start"], args["step"]), at=args["end"])
    mem = prom.query('max by (pod) (max_over_time(container_memory_working_set_bytes{%s}[%ds]))' % (sel, args["end"] - args["start"]), at=args["end"])
    out[ns] = (len(cpu), len(mem))
print(json.dumps({"wall": time.perf_counter() - t0, "rss_kib": hwm(), "series": sum(a + b for a, b in out.values())}))
''',
    "p95_local": r'''
def p95(values):
    values = sorted(values)
    pos = (len(values) - 1) * 0.95
    lo = int(pos)
    return values[lo] + (values[min(lo + 1, len(values) - 1)] - values[lo]) * (pos - lo)
count = 0
step = float(args["step_seconds"])
for ns in args["namespaces"]:
    sel = 'namespace="%s", cluster="bench", container!="", container!="POD"' % ns
    cpu = prom.query_range('max by (pod) (rate(container_cpu_usage_seconds_total{%s}[%s]))' % (sel, args["step"]), args["start"], args["end"], step)
    mem = prom.query_range('max by (pod) (max_over_time(container_memory_working_set_bytes{%s}[%s]))' % (sel, args["step"]), args["start"], args["end"], step)
    figures = [p95([float(v) for _t, v in s["values"]]) for s in cpu] + [max(float(v) for _t, v in s["values"]) for s in mem]
    count += len(figures)
print(json.dumps({"wall": time.perf_counter() - t0, "rss_kib": hwm(), "series": count}))
''',
}


def child(name, args):
    code = PRELUDE % {"paths": [str(REPO), str(collections_root())], "args": args} + CHILDREN[name]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=str(REPO))
    if out.returncode:
        raise SystemExit("bench/rightsizing: %s failed:\n%s" % (name, out.stderr[-3000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def lab_prometheus():
    path = Path(STATE_DIR) / "lab.json"
    info = json.loads(path.read_text()).get("prometheus") if path.exists() else None
    if not info or not info.get("scale") or "usage" not in (info.get("histories") or {}):
        sys.exit("bench/rightsizing: the lab's Prometheus is not up at its scale option (%s); run "
                 "`python tests/lab/lab.py up --scale --only prometheus` first" % path)
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--step", default="5m")
    parser.add_argument("--namespaces", type=int, default=0, help="only the first N namespaces (0 = all)")
    parser.add_argument("--skip-raw", action="store_true", help="skip the raw baseline")
    parser.add_argument("--raw-namespaces", type=int, default=1,
                        help="namespaces the raw baseline fetches (100 containers each; the module is also timed on the same ones)")
    opts = parser.parse_args()
    lab = lab_prometheus()
    truth = json.loads(Path(lab["histories"]["usage"]["ground_truth"]).read_text())
    namespaces = truth["namespaces"][:opts.namespaces or None]
    step_seconds = {"s": 1, "m": 60, "h": 3600}[opts.step[-1]] * int(opts.step[:-1])
    args = {"url": lab["url"], "namespaces": namespaces, "start": truth["window"]["start"], "end": truth["window"]["end"],
            "metrics": RAW_METRICS, "step": opts.step, "step_seconds": step_seconds, "raw_namespaces": namespaces[:opts.raw_namespaces]}
    runs = {name: [] for name in ("raw", "module_same_namespaces", "module", "p95_promql", "p95_local")}
    for _round in range(opts.repeat):
        for name in runs:
            if name in ("raw", "module_same_namespaces") and opts.skip_raw:
                continue
            if name == "module_same_namespaces":
                runs[name].append(child("module", dict(args, which="raw_namespaces")))
            else:
                runs[name].append(child(name, args))
            print("  %-10s %8.2f s  %7.1f MiB" % (name, runs[name][-1]["wall"], runs[name][-1]["rss_kib"] / 1024.0), flush=True)
    med = {name: round(statistics.median(r["wall"] for r in rs), 3) for name, rs in runs.items() if rs}
    rss = {name: round(max(r["rss_kib"] for r in rs) / 1024.0, 1) for name, rs in runs.items() if rs}
    module = runs["module"][-1]
    report = {
        "lab": {"containers": truth["containers"], "namespaces": len(namespaces), "window_days": (args["end"] - args["start"]) / 86400.0,
                "interval_seconds": truth["interval_seconds"], "samples": truth["generation"]["samples"], "series": truth["generation"]["series"],
                "prometheus": lab.get("version")},
        "repeat": opts.repeat, "step": opts.step, "median_seconds": med, "peak_rss_mib": rss,
        "module": {k: module[k] for k in ("containers", "recommended", "queries", "samples", "errors")},
        "raw_samples": runs["raw"][-1]["samples"] if runs["raw"] else None, "raw_namespaces": len(args["raw_namespaces"]),
        "target": "module <= 2.0 x raw, peak RSS < 500 MB",
    }
    if "raw" in med:
        report["ratio_vs_raw"] = {"module_same_namespaces": round(med["module_same_namespaces"] / med["raw"], 4)}
        report["target_met"] = med["module_same_namespaces"] <= 2 * med["raw"] and rss["module"] * 1.048576 < 500
    report["percentiles"] = {"promql_seconds": med["p95_promql"], "local_seconds": med["p95_local"],
                             "choice": "local: the backtest, throttling-aware demand and idle detection need the step series anyway, "
                                       "and fetching them plus computing p95 locally costs %.2f x the PromQL subquery" % (med["p95_local"] / med["p95_promql"])}
    out = REPO / "bench" / "results" / "rightsizing.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, sort_keys=True))
    print(json.dumps(report, indent=1, sort_keys=True))
    return 0 if report.get("target_met", True) else 1


if __name__ == "__main__":
    sys.exit(main())
