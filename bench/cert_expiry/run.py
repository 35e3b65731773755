#!/usr/bin/env python3
"""Benchmark cert_expiry on the lab's 500 scale TLS endpoints, against a baseline in the same run.

Measured in the same run (medians of --repeat, baseline of --baseline-repeat):
  baseline   community.crypto.get_certificate over the same 500 endpoints with Ansible's default
             forks (5): one inventory host per endpoint (connection local), one task, so five
             module runs at a time, each fetching one certificate;
  playbook   sre.toolkit.cert_expiry through ansible-playbook, all 500 endpoints in one task
             (Ansible start-up included): the figure compared with the baseline;
  engine     the same scan in-process (_tls.scan + the engine's facts, verification, hostname
             and severity for every endpoint), no Ansible;
  floor      what the concurrency limit allows: ceil(N / workers) x the median latency of one
             probe measured alone (sequential probes of the same endpoints, same run);
  cpu floor  what the machine allows: CPU seconds of one engine scan (ours) plus the lab daemon's
             CPU seconds during it, divided by the cores. On a small shared box this, not the
             concurrency limit, is the binding floor, so both are reported.
Targets (issue 7): baseline / playbook >= 20; engine / floor <= 1.5.
All 500 endpoints listen on 127.0.0.1, so per_host_limit is set to the worker count here (on a
real fleet the per-host limit protects each server). Results: bench/results/cert_expiry.json.

Needs the lab's TLS component at its scale option (`python tests/lab/lab.py up --scale --only tls`);
this script brings it up when it is not.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.integration.ansible import PYTHON, ansible_env  # noqa: E402
from tests.integration.collection import collections_root  # noqa: E402

sys.path.insert(0, str(collections_root()))

from ansible_collections.sre.toolkit.plugins.module_utils import _tls  # noqa: E402
from ansible_collections.sre.toolkit.plugins.module_utils._certs.load import load_certificates  # noqa: E402
from ansible_collections.sre.toolkit.plugins.module_utils._certs.chain import TrustStore  # noqa: E402
from ansible_collections.sre.toolkit.plugins.module_utils._certs.report import Settings, endpoint_finding  # noqa: E402


def lab_tls():
    from tests.lab import lab
    from tests.lab.common import LabContext

    ctx = LabContext(scale=True)
    info = lab.read_lab(ctx).get("tls")
    if not info or not info.get("scale") or not lab._component("tls").status(ctx).get("running"):
        info = lab.up(ctx, only=("tls",))["tls"]
    return info


def scale_targets(info):
    truth = json.loads(Path(info["targets_file"]).read_text())
    return [{"name": e["id"], "host": e["host"], "port": e["port"], "sni": e["sni"]}
            for e in truth["endpoints"] if "scale" in e["tags"]]


def ansible_playbook(play, workdir, inventory_text, forks=5):
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "play.yml").write_text(json.dumps(play))
    (workdir / "inventory.ini").write_text(inventory_text)
    env = ansible_env({"ANSIBLE_FORKS": str(forks)})  # 5 is Ansible's default; set so a user config cannot change it
    cmd = [str(Path(PYTHON).parent / "ansible-playbook"), "-i", str(workdir / "inventory.ini"), str(workdir / "play.yml")]
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, cwd=str(REPO))
    return time.monotonic() - started, proc


def run_baseline(targets, workdir):
    """get_certificate once per endpoint, one inventory host each, default forks (5)."""
    lines = ["[endpoints]"] + ["%s cert_port=%d cert_sni=%s" % (t["name"], t["port"], t["sni"]) for t in targets]
    lines += ["", "[endpoints:vars]", "ansible_connection=local", "ansible_python_interpreter=%s" % PYTHON]
    play = [{"hosts": "endpoints", "gather_facts": False, "tasks": [{
        "name": "fetch the certificate", "community.crypto.get_certificate": {
            "host": "127.0.0.1", "port": "{{ cert_port }}", "server_name": "{{ cert_sni }}"},
    }]}]
    elapsed, proc = ansible_playbook(play, workdir, "\n".join(lines) + "\n", forks=5)
    ok = "failed=0" in proc.stdout and proc.stdout.count("ok=1 ") == len(targets)
    if not ok:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
    return elapsed, ok


def run_playbook(targets, info, workers, workdir):
    """cert_expiry with every endpoint in one task, checked by an assert (an action on the controller,
    no second module run, so the timing is the scan's)."""
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "scan", "sre.toolkit.cert_expiry": {
            "endpoints": targets, "ca_bundle": info["ca_bundle"], "workers": workers, "per_host_limit": workers},
         "register": "scan"},
        {"name": "check", "ansible.builtin.assert": {"that": [
            "scan.summary.total == %d" % len(targets), "scan.summary.errors == 0"]}},
    ]}]
    inventory = "localhost ansible_connection=local ansible_python_interpreter=%s\n" % PYTHON
    elapsed, proc = ansible_playbook(play, workdir, inventory)
    ok = proc.returncode == 0 and "failed=0" in proc.stdout
    if not ok:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
    return elapsed, ok


def process_cpu(pid):
    """User + system CPU seconds of another process (the lab daemon), from /proc."""
    try:
        fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def engine_scan(targets, settings, workers, server_pid=0):
    """(wall seconds, findings, CPU seconds ours + the daemon's)."""
    probe = _tls.Probe(timeout=10, deadline=30, retries=1)
    specs = [{"id": t["name"], "host": t["host"], "port": t["port"], "sni": t["sni"], "starttls": None} for t in targets]
    cpu_before, server_before = time.process_time(), process_cpu(server_pid)
    started = time.monotonic()
    findings = _tls.scan(specs, probe, workers=workers, per_host=workers, transform=lambda fetched: endpoint_finding(fetched, settings))
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu_before + process_cpu(server_pid) - server_before
    return elapsed, findings, cpu


def single_latency(targets):
    """Median time of one probe alone (sequential), the unit of the concurrency floor."""
    probe = _tls.Probe(timeout=10, deadline=30, retries=0)
    times = []
    for t in targets:
        started = time.monotonic()
        result = _tls.probe_address({"id": t["name"], "host": t["host"], "port": t["port"], "sni": t["sni"],
                                     "starttls": None, "address": t["host"]}, probe)
        if result["error_kind"] is None:
            times.append(time.monotonic() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    info = lab_tls()
    targets = scale_targets(info)
    anchors = TrustStore([c for c, _o in load_certificates(Path(info["ca_bundle"]).read_bytes())[0]])
    now = datetime.datetime.now(datetime.timezone.utc)
    settings = Settings(now, now, anchors)
    n = len(targets)
    print("cert_expiry bench: %d scale endpoints on 127.0.0.1, workers=%d, load average %s" % (
        n, args.workers, " ".join("%.1f" % x for x in os.getloadavg())))

    engine_scan(targets, settings, args.workers)  # warm-up: the lab builds each endpoint's context lazily
    latency = single_latency(targets)
    floor = math.ceil(n / args.workers) * latency

    engine_times, engine_cpu, playbook_times, baseline_times, checks = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-cert-expiry-") as tmp:
        for i in range(args.repeat):
            elapsed, findings, cpu = engine_scan(targets, settings, args.workers, info.get("pid") or 0)
            engine_times.append(elapsed)
            engine_cpu.append(cpu)
            checks.append(all(f["error_kind"] is None and len(f["chain"]) >= 1 for f in findings))
            elapsed, ok = run_playbook(targets, info, args.workers, Path(tmp) / ("play%d" % i))
            playbook_times.append(elapsed)
            checks.append(ok)
        if not args.skip_baseline:
            for i in range(args.baseline_repeat):
                elapsed, ok = run_baseline(targets, Path(tmp) / ("base%d" % i))
                baseline_times.append(elapsed)
                checks.append(ok)

    result = {
        "endpoints": n, "workers": args.workers, "repeat": args.repeat, "baseline_repeat": args.baseline_repeat,
        "load_average": os.getloadavg(),
        "single_probe_latency_s": round(latency, 5), "floor_s": round(floor, 3),
        "engine_s": [round(t, 3) for t in engine_times], "engine_median_s": round(statistics.median(engine_times), 3),
        "playbook_s": [round(t, 3) for t in playbook_times], "playbook_median_s": round(statistics.median(playbook_times), 3),
        "baseline_s": [round(t, 3) for t in baseline_times],
        "baseline_median_s": round(statistics.median(baseline_times), 3) if baseline_times else None,
        "all_results_correct": all(checks),
        "cpu_s_per_scan": round(statistics.median(engine_cpu), 3),
        "cpu_floor_s": round(statistics.median(engine_cpu) / (os.cpu_count() or 1), 3),
    }
    result["engine_vs_cpu_floor"] = round(result["engine_median_s"] / max(result["cpu_floor_s"], 1e-6), 2)
    result["engine_vs_floor"] = round(result["engine_median_s"] / floor, 2)
    result["playbook_vs_floor"] = round(result["playbook_median_s"] / floor, 2)
    if baseline_times:
        result["baseline_vs_playbook"] = round(result["baseline_median_s"] / result["playbook_median_s"], 1)
    print("single probe alone (median)      %8.4f s" % latency)
    print("floor ceil(N/workers) x latency  %8.3f s" % floor)
    print("engine in-process (median)       %8.3f s   %.2fx floor (target <= 1.5x)" % (result["engine_median_s"], result["engine_vs_floor"]))
    print("cpu floor (ours + lab daemon)/%d   %8.3f s   engine = %.2fx cpu floor" % (
        os.cpu_count() or 1, result["cpu_floor_s"], result["engine_vs_cpu_floor"]))
    print("cert_expiry playbook (median)    %8.3f s   %.2fx floor" % (result["playbook_median_s"], result["playbook_vs_floor"]))
    if baseline_times:
        print("get_certificate, forks 5         %8.3f s   baseline / cert_expiry = %.1fx (target >= 20x)" % (
            statistics.median(baseline_times), result["baseline_vs_playbook"]))
    print("results correct: %s" % result["all_results_correct"])
    out = REPO / "bench" / "results" / "cert_expiry.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print("wrote %s" % out.relative_to(REPO))
    return 0 if result["all_results_correct"] else 1


if __name__ == "__main__":
    sys.exit(main())
