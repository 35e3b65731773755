#!/usr/bin/env python3
"""Benchmark of sre.toolkit.k8s_health on the lab (use the scale lab: ~500 nodes, 20,000 pods).

Measured in the same run, each repeated --runs times (medians printed):
  baseline  `kubectl get nodes,pods,events -A -o json > /dev/null` (the transfer floor)
  ours      the k8s_health module process (exactly what Ansible runs on the target), all groups
  popeye    `popeye -A -o json` on the same cluster (when the binary is found)
Wall time and peak RSS of each child come from wait4(); API calls from the module's result.

    python bench/k8s_health/run.py                     # lab from $LAB_STATE_DIR (default: the scale lab's)
    python bench/k8s_health/run.py --state ~/.local/state/sre-toolkit-lab --runs 3
    python bench/k8s_health/run.py --popeye /path/to/popeye

Writes bench/results/k8s_health.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.integration.collection import collections_root  # noqa: E402

DEFAULT_STATE = os.environ.get("LAB_STATE_DIR") or str(Path.home() / ".cache" / "sre-toolkit-bench" / "scale-lab")
DEFAULT_POPEYE = Path.home() / ".cache" / "sre-toolkit-bench" / "bin" / "popeye"
MODULE = "ansible_collections.sre.toolkit.plugins.modules.k8s_health"


def _rss_mib(pid):
    try:
        for line in Path("/proc/%d/status" % pid).read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _guard(proc, start, limit_seconds, limit_rss_mib, stopped):
    """Stop a child that outgrows its time or memory budget (popeye can eat the machine at scale)."""
    while proc.poll() is None:
        if limit_seconds and time.monotonic() - start > limit_seconds:
            stopped.append("stopped by the bench after %ds" % limit_seconds)
        elif limit_rss_mib and _rss_mib(proc.pid) > limit_rss_mib:
            stopped.append("stopped by the bench at %d MiB RSS" % limit_rss_mib)
        if stopped:
            proc.kill()
            return
        time.sleep(0.5)


def measure(cmd, stdin=None, stdout=subprocess.DEVNULL, env=None, limit_seconds=None, limit_rss_mib=None):
    """(wall seconds, peak RSS MiB, returncode, stderr) of one child process, RSS from wait4()."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.PIPE, env=env)
    stopped = []
    if limit_seconds or limit_rss_mib:
        threading.Thread(target=_guard, args=(proc, start, limit_seconds, limit_rss_mib, stopped), daemon=True).start()
    if stdin is not None:
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
    status, usage = os.wait4(proc.pid, 0)[1:]
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") + "".join("\n" + reason for reason in stopped)
    return wall, usage.ru_maxrss / 1024.0, proc.returncode, stderr


def module_env():
    return dict(os.environ, PYTHONPATH=str(collections_root()))


def run_ours(lab):
    args = {"kubeconfig": lab["kubeconfig"], "context": lab.get("context")}
    with tempfile.TemporaryFile() as out:
        wall, rss, rc, err = measure([sys.executable, "-m", MODULE], stdin=json.dumps({"ANSIBLE_MODULE_ARGS": args}),
                                     stdout=out, env=module_env())
        out.seek(0)
        body = out.read().decode()
    try:
        result = json.loads(body)
    except ValueError:
        raise SystemExit("k8s_health did not return JSON (rc=%s): %s %s" % (rc, body[:500], err[-1000:]))
    if result.get("failed"):
        raise SystemExit("k8s_health failed: %s" % result.get("msg"))
    return wall, rss, result


def run_kubectl(lab):
    wall, rss, rc, err = measure([lab["kubectl"], "--kubeconfig", lab["kubeconfig"], "get", "nodes,pods,events", "-A", "-o", "json"])
    if rc:
        raise SystemExit("kubectl failed: %s" % err[-500:])
    return wall, rss


def run_popeye(popeye, lab, limit_seconds, limit_rss_mib):
    env = dict(os.environ, KUBECONFIG=lab["kubeconfig"])
    return measure([str(popeye), "--kubeconfig", lab["kubeconfig"], "-A", "-o", "json", "--force-exit-zero"], env=env,
                   limit_seconds=limit_seconds, limit_rss_mib=limit_rss_mib)


def median(values):
    return round(statistics.median(values), 3) if values else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--state", default=DEFAULT_STATE, help="lab state dir holding lab.json")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--popeye", default=str(DEFAULT_POPEYE))
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "k8s_health.json"))
    parser.add_argument("--kubeconfig", help="a cluster that is not (yet) in lab.json, e.g. a scale lab still settling")
    parser.add_argument("--kubectl", default="kubectl")
    parser.add_argument("--popeye-timeout", type=float, default=900, help="seconds before popeye is stopped")
    parser.add_argument("--popeye-max-rss-mib", type=float, default=8192, help="RSS at which popeye is stopped")
    opts = parser.parse_args()
    lab_file = Path(opts.state) / "lab.json"
    if opts.kubeconfig:
        lab = {"kubeconfig": opts.kubeconfig, "kubectl": opts.kubectl}
    elif lab_file.exists():
        lab = json.loads(lab_file.read_text())["k8s"]
    else:
        raise SystemExit("no lab at %s: run `LAB_STATE_DIR=%s python tests/lab/lab.py up --scale --only k8s` first" % (lab_file, opts.state))
    popeye = Path(opts.popeye) if Path(opts.popeye).exists() else None

    samples = {"kubectl": [], "ours": [], "popeye": []}
    last = None
    for run in range(opts.runs):
        # interleaved so background load hits every tool alike
        samples["kubectl"].append(run_kubectl(lab))
        wall, rss, last = run_ours(lab)
        samples["ours"].append((wall, rss))
        if popeye:
            wall, rss, rc, err = run_popeye(popeye, lab, opts.popeye_timeout, opts.popeye_max_rss_mib)
            samples["popeye"].append((wall, rss))
            if rc:
                print("popeye exited %s: %s" % (rc, err.strip().splitlines()[-1:] if err.strip() else ""), file=sys.stderr)
        print("run %d: kubectl %.2fs, ours %.2fs%s" % (run + 1, samples["kubectl"][-1][0], samples["ours"][-1][0],
                                                       ", popeye %.2fs" % samples["popeye"][-1][0] if popeye else ""), flush=True)

    figures = {name: {"wall_seconds": median([s[0] for s in rows]), "peak_rss_mib": median([s[1] for s in rows]), "runs": len(rows)}
               for name, rows in samples.items() if rows}
    inventory = last["inventory"]
    report = {
        "cluster": {"nodes": inventory["nodes"]["total"], "pods": inventory["pods"]["total"], "server": inventory["server_version"]},
        "figures": figures,
        "ratio_wall_ours_vs_kubectl": round(figures["ours"]["wall_seconds"] / figures["kubectl"]["wall_seconds"], 2),
        "ratio_wall_popeye_vs_kubectl": (round(figures["popeye"]["wall_seconds"] / figures["kubectl"]["wall_seconds"], 2)
                                         if "popeye" in figures else None),
        "api_calls": last["api_calls"],
        "findings": last["summary"]["counts"],
        "complete": last["summary"]["complete"],
        "budget": {"wall_ratio_max": 2.0, "peak_rss_mib_max": 250, "page_size": 500},
        "popeye_binary": str(popeye) if popeye else None,
    }
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(json.dumps(report, indent=2, sort_keys=True))

    print("\ncluster: %(nodes)d nodes, %(pods)d pods, %(server)s" % report["cluster"])
    print("%-10s %12s %14s" % ("tool", "wall (s)", "peak RSS (MiB)"))
    for name in ("kubectl", "ours", "popeye"):
        if name in figures:
            print("%-10s %12.2f %14.1f" % (name, figures[name]["wall_seconds"], figures[name]["peak_rss_mib"]))
    print("ours / kubectl wall: %.2fx (budget 2.0x); ours peak RSS %.1f MiB (budget 250)"
          % (report["ratio_wall_ours_vs_kubectl"], figures["ours"]["peak_rss_mib"]))
    if report["ratio_wall_popeye_vs_kubectl"] is not None:
        print("popeye / kubectl wall: %.2fx" % report["ratio_wall_popeye_vs_kubectl"])
    print("api calls: %(requests)s requests, %(pages)s pages, %(retries)s retries, %(bytes)s bytes" % report["api_calls"])
    print("findings: %s; complete: %s" % (report["findings"], report["complete"]))
    print("wrote %s" % opts.out)


if __name__ == "__main__":
    main()
