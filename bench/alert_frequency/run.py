"""Benchmark alert_frequency on the lab's scale history (2,000 alert instances x 30 days).

Measured in the same run, each repeated (median of --repeat):
  fetch      the baseline: the raw samples of ALERTS and ALERTS_FOR_STATE over the window, fetched
             through the same client and chunking the module uses, and nothing else;
  engine     the analysis alone, on samples fetched once;
  module     the module's work in-process (rules + fetch + analysis), in a fresh subprocess
             that also reports its peak RSS;
  playbook   the real module through ansible-playbook (Ansible start-up included), once per repeat.
The target (issue 6): module wall time <= 2 x fetch. Results: bench/results/alert_frequency.json.

Needs the lab's Prometheus at its scale option: `python tests/lab/lab.py up --scale --only prometheus`
(bench/run.sh does it; LAB_STATE_DIR selects a separate lab).
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

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.analyze import analyze  # noqa: E402
from ansible_collections.sre.toolkit.plugins.module_utils._gc import collector_paused  # noqa: E402
from ansible_collections.sre.toolkit.plugins.module_utils._http import HttpClient  # noqa: E402
from ansible_collections.sre.toolkit.plugins.module_utils._prom import PrometheusClient  # noqa: E402
from tests.lab.common import STATE_DIR  # noqa: E402

CHUNK = 86400.0


def lab_prometheus():
    path = Path(STATE_DIR) / "lab.json"
    info = json.loads(path.read_text()).get("prometheus") if path.exists() else None
    if not info or not info.get("scale"):
        sys.exit("bench/alert_frequency: the lab's Prometheus is not up at its scale option (%s); run "
                 "`python tests/lab/lab.py up --scale --only prometheus` first" % path)
    return info


def fetch(url, start, end):
    """The baseline at its fastest: like the module, with the cyclic collector paused (see _gc.py)."""
    prom = PrometheusClient(HttpClient(url, timeout=300))
    with collector_paused():
        groups = prom.rules("alert")
        alerts = [s for part in prom.iter_raw("ALERTS{}", start, end, CHUNK) for s in part]
        for_state = [s for part in prom.iter_raw("ALERTS_FOR_STATE{}", start, end, CHUNK) for s in part]
    return groups, alerts, for_state, prom.all_stats()


MODULE_CHILD = r'''
import json, resource, sys, time
sys.path[:0] = %(paths)r
from ansible_collections.sre.toolkit.plugins.modules import alert_frequency as mod
params = {name: spec.get("default") for name, spec in mod.argument_spec().items()}
params.update(%(params)r)
t0 = time.perf_counter()
result, warnings = mod.run(params, time.time())
wall = time.perf_counter() - t0
# VmHWM is this process's own high-water mark; ru_maxrss would carry the forking parent's over exec.
hwm = [int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(json.dumps({"wall": wall, "rss_kib": hwm,
                  "episodes": result["summary"]["episodes"], "queries": result["queries"]}))
'''


def module_in_subprocess(params):
    return run_child(MODULE_CHILD, params=params)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-playbook", action="store_true", help="skip the ansible-playbook measurement")
    args = parser.parse_args()
    lab = lab_prometheus()
    truth = json.loads(Path(lab["ground_truth"]).read_text())
    start, end = truth["window"]["start"], truth["window"]["end"]
    params = {"prometheus_url": lab["url"], "start": str(start), "end": str(end), "include_episodes": False,
              "query_chunk": "1d", "prometheus_timeout": 300.0}

    fetch_s, engine_s, module_s, module_rss, play_s = [], [], [], [], []
    play_rss = []
    stats = episodes = None
    for _round in range(args.repeat):
        t0 = time.perf_counter()
        groups, alerts, for_state, stats = fetch(lab["url"], start, end)
        fetch_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = analyze(alerts, for_state, groups, start, end, {"include_episodes": False})
        engine_s.append(time.perf_counter() - t0)
        episodes = result["summary"]["episodes"]
        del alerts, for_state, result
        child = module_in_subprocess(params)
        module_s.append(child["wall"])
        module_rss.append(child["rss_kib"])
        if child["episodes"] != episodes:
            raise SystemExit("module and engine disagree: %s vs %s episodes" % (child["episodes"], episodes))
        if not args.no_playbook:
            wall, rss = playbook_once("alert_frequency", params)
            play_s.append(wall)
            play_rss.append(rss)

    fetch_m = statistics.median(fetch_s)
    report = {
        "lab": {"instances": truth["totals"]["instances"], "samples": truth["totals"]["samples"],
                "series": truth["totals"]["series"], "window_days": (end - start) / 86400.0,
                "interval_seconds": truth["interval_seconds"], "prometheus": lab.get("version")},
        "repeat": args.repeat,
        "queries": stats,
        "episodes": episodes,
        "episodes_truth": truth["totals"]["episodes"],
        "median_seconds": {"fetch_baseline": round(fetch_m, 3), "engine": round(statistics.median(engine_s), 3),
                           "module_in_process": round(statistics.median(module_s), 3)},
        "ratio_vs_fetch": {"engine": round(statistics.median(engine_s) / fetch_m, 3),
                           "module_in_process": round(statistics.median(module_s) / fetch_m, 3)},
        "peak_rss_mib": {"module_in_process": round(max(module_rss) / 1024.0, 1)},
        "target": "module_in_process <= 2.0 x fetch_baseline",
    }
    figures.add_playbook(report, play_s, play_rss, fetch_m)
    report["target_met"] = report["ratio_vs_fetch"]["module_in_process"] <= 2.0
    out = figures.write("alert_frequency", report)
    print("alert_frequency on %(instances)s instances, %(samples)s samples, %(window_days).0f days" % report["lab"])
    figures.print_medians(report)
    print("  peak RSS MiB: %s" % report["peak_rss_mib"])
    print("  episodes %s (ground truth %s); target met: %s" % (episodes, report["episodes_truth"], report["target_met"]))
    print("  written: %s" % out.relative_to(REPO))
    return 0 if report["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
