#!/usr/bin/env python3
"""Benchmark cert_expiry on the lab's scale TLS endpoints, against a baseline in the same run.

The scale lab serves 500 leaves twice: `scale_NNN` answer at loopback speed, so a probe is pure
CPU (ours and the lab daemon's, on the same cores); `far_NNN` answer each ClientHello 50 ms late,
like servers two 25 ms round trips away, so a probe waits on the network as on a real fleet.

Measured in the same run (medians of --repeat, baseline of --baseline-repeat):
  baseline   community.crypto.get_certificate over the 500 loopback endpoints with Ansible's
             default forks (5): one inventory host per endpoint (connection local), one task;
  playbook   sre.toolkit.cert_expiry through ansible-playbook, all 500 endpoints in one task
             (Ansible start-up included), on both families;
  engine     the module's scan in-process (_tls.scan + facts, verification, hostname and
             severity for every endpoint; a new trust store per scan, as per module run);
  floor      what the concurrency limit allows: ceil(N / workers) x the median time of one probe
             alone (sequential probes of the same endpoints, same run). It is the binding limit
             on the far family, where probes wait;
  cpu floor  on the loopback family: CPU seconds of one scan (ours plus the lab daemon's during
             it) divided by the cores; there the machine, not the pool, binds (the daemon is one
             asyncio process, so even a perfect client cannot run 32 of its handshakes at once).
Targets (issue 7): baseline / playbook >= 20 (loopback); engine / floor <= 1.5 (far).
Every finding is compared with the lab's ground truth (chain fingerprints, verify, no error).
All endpoints listen on 127.0.0.1, so per_host_limit is set to the worker count here (on a real
fleet the per-host limit protects each server). Results: bench/results/cert_expiry.json.

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


def scale_targets(info, family):
    """(targets, truth by id) of one scale family: "scale" (loopback speed) or "far" (answers late)."""
    truth = json.loads(Path(info["targets_file"]).read_text())
    chosen = [e for e in truth["endpoints"] if "scale" in e["tags"] and ("far" in e["tags"]) == (family == "far")]
    targets = [{"name": e["id"], "host": e["host"], "port": e["port"], "sni": e["sni"]} for e in chosen]
    return targets, {e["id"]: e for e in chosen}


def matches_truth(finding, truth):
    expected = truth[finding["id"]]
    return (finding["error_kind"] is None and finding["verify"] == expected["verify"]
            and [c["sha256"] for c in finding["chain"]] == [c["sha256"] for c in expected["chain"]])


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


def fresh_settings(info):
    """What one module run judges with: a new trust store, so nothing verified earlier is reused."""
    anchors = TrustStore([c for c, _o in load_certificates(Path(info["ca_bundle"]).read_bytes())[0]])
    now = datetime.datetime.now(datetime.timezone.utc)
    return Settings(now, now, anchors)


def engine_scan(targets, info, workers, server_pid=0):
    """(wall seconds, findings, CPU seconds ours + the daemon's)."""
    settings = fresh_settings(info)
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


def median(values, digits=3):
    return round(statistics.median(values), digits) if values else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    info = lab_tls()
    near, near_truth = scale_targets(info, "scale")
    far, far_truth = scale_targets(info, "far")
    pid = info.get("pid") or 0
    print("cert_expiry bench: %d loopback + %d far (50 ms) endpoints on 127.0.0.1, workers=%d, load average %s" % (
        len(near), len(far), args.workers, " ".join("%.1f" % x for x in os.getloadavg())))

    for targets in (near, far):  # warm-up: the lab builds each endpoint's TLS context lazily
        engine_scan(targets, info, args.workers)
    latency = {"near": single_latency(near), "far": single_latency(far)}
    batches = math.ceil(len(far) / args.workers)  # both families have the same size
    floor = {name: batches * value for name, value in latency.items()}

    runs = {key: [] for key in ("engine_near", "engine_far", "cpu_near", "playbook_near", "playbook_far", "baseline")}
    checks = []
    with tempfile.TemporaryDirectory(prefix="bench-cert-expiry-") as tmp:
        for i in range(args.repeat):
            for family, targets, truth in (("near", near, near_truth), ("far", far, far_truth)):
                elapsed, findings, cpu = engine_scan(targets, info, args.workers, pid)
                runs["engine_" + family].append(elapsed)
                if family == "near":
                    runs["cpu_near"].append(cpu)
                checks.append(len(findings) == len(targets) and all(matches_truth(f, truth) for f in findings))
                elapsed, ok = run_playbook(targets, info, args.workers, Path(tmp) / ("play-%s-%d" % (family, i)))
                runs["playbook_" + family].append(elapsed)
                checks.append(ok)
        if not args.skip_baseline:
            for i in range(args.baseline_repeat):
                elapsed, ok = run_baseline(near, Path(tmp) / ("base%d" % i))
                runs["baseline"].append(elapsed)
                checks.append(ok)

    cores = os.cpu_count() or 1
    result = {
        "endpoints_per_family": len(near), "workers": args.workers, "repeat": args.repeat,
        "baseline_repeat": args.baseline_repeat, "load_average": os.getloadavg(), "far_delay_s": 0.05,
        "runs_s": {key: [round(v, 3) for v in values] for key, values in runs.items()},
        "single_probe_latency_s": {k: round(v, 5) for k, v in latency.items()},
        "floor_s": {k: round(v, 3) for k, v in floor.items()},
        "engine_median_s": {"near": median(runs["engine_near"]), "far": median(runs["engine_far"])},
        "playbook_median_s": {"near": median(runs["playbook_near"]), "far": median(runs["playbook_far"])},
        "baseline_median_s": median(runs["baseline"]),
        "cpu_s_per_scan_near": median(runs["cpu_near"]),
        "cpu_floor_near_s": round(statistics.median(runs["cpu_near"]) / cores, 3),
        "all_results_correct": all(checks),
    }
    result["engine_far_vs_floor"] = round(result["engine_median_s"]["far"] / floor["far"], 2)
    result["playbook_far_vs_floor"] = round(result["playbook_median_s"]["far"] / floor["far"], 2)
    result["engine_near_vs_cpu_floor"] = round(result["engine_median_s"]["near"] / max(result["cpu_floor_near_s"], 1e-6), 2)
    result["engine_near_vs_floor"] = round(result["engine_median_s"]["near"] / floor["near"], 2)
    if runs["baseline"]:
        result["baseline_vs_playbook"] = round(result["baseline_median_s"] / result["playbook_median_s"]["near"], 1)

    print("far endpoints (network-bound): the concurrency floor binds")
    print("  single probe alone (median)      %8.4f s" % latency["far"])
    print("  floor ceil(N/workers) x latency  %8.3f s" % floor["far"])
    print("  engine in-process (median)       %8.3f s   %.2fx floor (target <= 1.5x)" % (
        result["engine_median_s"]["far"], result["engine_far_vs_floor"]))
    print("  cert_expiry playbook (median)    %8.3f s   %.2fx floor (Ansible start-up included)" % (
        result["playbook_median_s"]["far"], result["playbook_far_vs_floor"]))
    print("loopback endpoints (CPU-bound): the machine binds")
    print("  single probe alone (median)      %8.4f s   floor %.3f s, engine %.2fx it (unreachable here: see --help)" % (
        latency["near"], floor["near"], result["engine_near_vs_floor"]))
    print("  cpu floor (ours + lab daemon)/%d  %8.3f s" % (cores, result["cpu_floor_near_s"]))
    print("  engine in-process (median)       %8.3f s   %.2fx cpu floor" % (
        result["engine_median_s"]["near"], result["engine_near_vs_cpu_floor"]))
    print("  cert_expiry playbook (median)    %8.3f s" % result["playbook_median_s"]["near"])
    if runs["baseline"]:
        print("  get_certificate, forks 5         %8.3f s   baseline / cert_expiry = %.1fx (target >= 20x)" % (
            result["baseline_median_s"], result["baseline_vs_playbook"]))
    print("results equal the ground truth: %s" % result["all_results_correct"])
    out = REPO / "bench" / "results" / "cert_expiry.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print("wrote %s" % out.relative_to(REPO))
    return 0 if result["all_results_correct"] else 1


if __name__ == "__main__":
    sys.exit(main())
