"""The lab's real node (REAL = 127.0.0.1, InternalIP 10.213.77.1: kubelet + containerd + runc, tests/lab/components/realnode.py):
what a real kubelet writes, and the chaos modules against real containers and cgroups.

The node must be up: if the machine refused it, the first test fails with the exact error the
component recorded (never a skip).
"""
from __future__ import annotations

import json
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.integration.ansible import run_module
from tests.lab.components.realnode import NODE as REAL

NS = "lab-real"
WIDE = {"max_findings_per_check": 1000, "restart_window_minutes": 100000, "event_window_minutes": 100000}


@pytest.fixture(scope="module")
def node(lab_k8s, lab_realnode):
    assert lab_realnode.get("available"), f"the real node did not come up: {lab_realnode.get('error')}"
    found = {"k8s": lab_k8s, "info": lab_realnode, "truth": json.loads(Path(lab_realnode["ground_truth"]).read_text())}

    def backing_off():
        # A fresh node's crasher is still between its first restarts (running, terminated, backing off for
        # 10 s); from the second restart on it waits 20 s and more in CrashLoopBackOff, as crash-loopers do.
        cs = _crasher_status(found)
        return cs["restartCount"] >= 2 and (cs["state"].get("waiting") or {}).get("reason") == "CrashLoopBackOff"
    wait_for("the crasher backing off after its second restart", backing_off, timeout=150)
    return found


def _crasher_status(node) -> dict:
    pod = items(node, "pods", "-n", NS, "-l", "app.kubernetes.io/name=crasher")[0]
    return pod["status"]["containerStatuses"][0]


def kubectl(node, *args) -> str:
    k8s = node["k8s"]
    proc = subprocess.run([k8s["kubectl"], "--kubeconfig", k8s["kubeconfig"], *args], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def items(node, *args) -> list:
    return json.loads(kubectl(node, "get", *args, "-o", "json"))["items"]


def module_args(node, **extra) -> dict:
    return {"kubeconfig": node["k8s"]["kubeconfig"], "context": node["k8s"]["context"], **extra}


def wait_for(what, probe, timeout=120.0, interval=1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def ts(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").timestamp()


# ---------------------------------------------------------------- the node itself

def test_kubectl_shows_the_real_node_ready_beside_the_kwok_nodes(node):
    table = kubectl(node, "get", "nodes", "-o", "wide")
    rows = {line.split()[0]: line.split() for line in table.splitlines()[1:]}
    assert rows[REAL][1] == "Ready", table
    assert "containerd://1.6" in table and rows[REAL][4] == "v1.36.4", table
    kwok_ready = [name for name, row in rows.items() if name != REAL and row[1] == "Ready"]
    assert len(kwok_ready) >= 3, table
    real = json.loads(kubectl(node, "get", "node", REAL, "-o", "json"))
    assert {"key": "lab.sre-toolkit.io/real-node", "value": "true", "effect": "NoSchedule"} in real["spec"]["taints"]
    assert real["metadata"]["labels"]["lab.sre-toolkit.io/real-node"] == "true"
    assert real["status"]["nodeInfo"]["kernelVersion"] and real["status"]["nodeInfo"]["osImage"].startswith("Debian")
    # the kubelet writes real capacity from the machine, not kwok's fixed figures
    assert int(real["status"]["capacity"]["cpu"]) >= 1 and real["status"]["capacity"]["memory"].endswith("Ki")
    # only pods that tolerate the taint run there; their IPs are on the lab bridge's /24
    on_real = items(node, "pods", "-A", "--field-selector", f"spec.nodeName={REAL}")
    assert on_real and {p["metadata"]["namespace"] for p in on_real} <= {NS}
    subnet = node["info"]["pod_subnet"].rsplit(".", 1)[0] + "."
    assert all(p["status"].get("podIP", "").startswith(subnet) for p in on_real if p["status"].get("podIP"))
    # kwok plays none of it: the real kubelet's own heartbeat lease
    lease = json.loads(kubectl(node, "get", "lease", REAL, "-n", "kube-node-lease", "-o", "json"))
    assert lease["spec"]["holderIdentity"] == REAL


def test_logs_come_from_the_real_container(node):
    pod = node["truth"]["scenarios"]["CrashLoopBackOff"]["pod"]
    logs = kubectl(node, "logs", "-n", NS, "deploy/crasher", "--previous") if pod else ""
    assert "crasher: config missing, exiting" in logs


# ---------------------------------------------------------------- k8s_health on what the kubelet wrote

@pytest.fixture(scope="module")
def health(node):
    result = run_module("k8s_health", module_args(node, namespaces=[NS], thresholds=dict(WIDE)))
    assert not result.get("failed"), result.get("msg")
    assert "Traceback" not in result["_stdout"] + result["_stderr"]
    return result


def findings_of(result, kind, name_prefix):
    return [f for f in result["findings"] if f["kind"] == kind and f["namespace"] == NS and f["name"].startswith(name_prefix)]


def test_k8s_health_reads_the_real_crash_loop(node, health):
    truth = node["truth"]["scenarios"]["CrashLoopBackOff"]
    assert truth["waiting_reason"] == "CrashLoopBackOff" and truth["last_exit_code"] == 3
    # The real container runs about a second between back-offs: read in that second it is a restarting
    # container (pod.restarts once past the threshold), otherwise CrashLoopBackOff.
    found = [f for f in findings_of(health, "Pod", "crasher-") if f["id"] in ("pod.crashloop", "pod.restarts")]
    assert found, health["findings"]
    ev = found[0]["evidence"]
    assert found[0]["id"] == "pod.crashloop" and found[0]["severity"] == "critical" or ev["restarts"] >= 3, found
    assert ev["last_exit_code"] == 3 and ev["last_reason"] == "Error" and ev["restarts"] >= 1 and ev["node"] == REAL
    back_off = [f for f in findings_of(health, "Pod", "crasher-") if f["id"] == "event.back_off"]
    assert back_off and "Back-off restarting failed container crasher in pod crasher-" in back_off[0]["evidence"]["message"]
    assert [f for f in findings_of(health, "Deployment", "crasher") if f["id"] == "workload.unavailable"]


def test_k8s_health_reads_the_real_oom_kill(node, health):
    truth = node["truth"]["scenarios"]["OOMKilled"]
    assert truth["last_terminated_reason"] == "OOMKilled" and truth["last_exit_code"] == 137
    found = [f for f in findings_of(health, "Pod", "oom-") if f["id"] == "pod.oomkilled"]
    assert found, health["findings"]
    ev = found[0]["evidence"]
    # read while terminated (state), backing off (CrashLoopBackOff, critical) or running again (lastState)
    if ev.get("state") == "terminated":
        assert ev["exit_code"] == 137 and ev["reason"] == "OOMKilled"
    else:
        assert ev["last_exit_code"] == 137 and ev["last_reason"] == "OOMKilled"
        assert found[0]["severity"] == ("critical" if ev.get("state") == "CrashLoopBackOff" else "warning")


def test_k8s_health_reads_the_real_probe_failures(node, health):
    truth = node["truth"]["scenarios"]["NotReady"]
    assert truth["running"] and not truth["ready"]
    found = [f for f in findings_of(health, "Pod", "not-ready-") if f["id"] == "event.unhealthy"]
    assert found and found[0]["evidence"]["message"].startswith("Readiness probe failed: cat: can't open '/tmp/ready'")
    assert found[0]["evidence"]["count"] >= 2
    assert [f for f in findings_of(health, "Deployment", "not-ready") if f["id"] == "workload.unavailable"]


def test_k8s_health_finds_nothing_wrong_with_the_healthy_real_workloads(node, health):
    assert node["truth"]["pdbs"]["web"]["disruptions_allowed"] == 1
    # (not events: a real readiness probe may fail once while a replacement starts)
    broken = {"pod.", "workload.", "pdb."}
    for name in ("web", "hog-target"):
        bad = [f for f in health["findings"] if f["namespace"] == NS and f["name"].startswith(name) and f["severity"] != "info"
               and any(f["id"].startswith(p) for p in broken)]
        assert bad == [], bad


def test_kwok_stages_have_the_real_kubelet_shapes(node, lab_k8s):
    """The kwok-played crash loop and OOM kill carry the fields a real kubelet writes."""
    real = {p["metadata"]["labels"].get("lab.sre-toolkit.io/real-scenario"): p for p in items(node, "pods", "-n", NS)}
    played = {p["metadata"]["labels"].get("lab.sre-toolkit.io/scenario"): p for p in items(node, "pods", "-n", "lab-broken")}
    for scenario in ("CrashLoopBackOff", "OOMKilled"):
        r, k = real[scenario]["status"], played[scenario]["status"]
        assert r["phase"] == k["phase"] == "Running"
        rc, kc = r["containerStatuses"][0], k["containerStatuses"][0]
        assert set(rc["lastState"]["terminated"]) <= set(kc["lastState"]["terminated"]) | {"message", "signal"}, (rc, kc)
        assert "containerID" in rc and "containerID" in kc, (scenario, kc)
    ready = {c["type"]: c for c in played["CrashLoopBackOff"]["status"]["conditions"]}["Ready"]
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    # Between back-offs the real crasher runs for a moment and terminates again: read it while it waits.
    real_wait = wait_for("the real crasher waiting in its back-off", lambda: _crasher_status(node)["state"].get("waiting"), timeout=60, interval=0.5)
    played_wait = played["CrashLoopBackOff"]["status"]["containerStatuses"][0]["state"]["waiting"]
    prefix = "back-off "
    assert real_wait["message"].startswith(prefix) and played_wait["message"].startswith(prefix)


# ---------------------------------------------------------------- memory_hog's pod mode for real

def _target(node, app):
    pod = items(node, "pods", "-n", NS, "-l", f"app.kubernetes.io/name={app}")[0]
    cid = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
    cgroup = Path("/sys/fs/cgroup/memory") / node["info"]["cgroup_root"].lstrip("/") / "kubepods" / "burstable" / f"pod{pod['metadata']['uid']}" / cid
    return pod, cgroup


def _usage(cgroup: Path) -> int:
    return int((cgroup / "memory.usage_in_bytes").read_text())


def _no_helper_left(node):
    helpers = items(node, "pods", "-n", NS, "-l", "sre.toolkit/chaos=memory-hog")
    assert helpers == [], [h["metadata"]["name"] for h in helpers]


def test_memory_hog_joins_the_target_cgroup_and_ends_by_itself(node):
    pod, cgroup = _target(node, "hog-target")
    assert cgroup.is_dir(), f"no memory cgroup for the target container at {cgroup}"
    before = _usage(cgroup)
    samples, done = [], threading.Event()

    def sample():
        while not done.is_set():
            samples.append(_usage(cgroup))
            time.sleep(0.25)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = run_module("memory_hog", module_args(node, target="pod", namespace=NS, label_selector="app.kubernetes.io/name=hog-target",
                                                      size="96Mi", duration=6, dry_run=False, name="real-node-test",
                                                      helper_image=node["info"]["images"]["python"]))
    finally:
        done.set()
        sampler.join()
    assert not result.get("failed"), result.get("msg")
    assert result["outcome"] == "completed", result
    assert result["peak"]["source"] == "helper log" and result["peak"]["hog_rss_bytes"] >= 96 * 2**20
    assert result["peak"]["oom_killed_workers"] == 0
    rise = max(samples) - before
    assert rise >= 80 * 2**20, f"the target's cgroup rose by {rise} bytes only (samples {len(samples)})"
    # the configured duration ended it (not the deadline), and the cleanup left nothing
    assert 6 <= result["elapsed_seconds"] < 6 + 20
    assert result["cleanup"]["remaining"] == [] and result["cleanup"]["found"]
    _no_helper_left(node)
    assert _usage(cgroup) < before + 16 * 2**20, "the hog's memory is still charged to the target"
    after = items(node, "pods", "-n", NS, "-l", "app.kubernetes.io/name=hog-target")[0]
    assert after["metadata"]["uid"] == pod["metadata"]["uid"] and after["status"]["containerStatuses"][0]["restartCount"] == 0
    print(f"memory_hog real: target cgroup +{rise / 2**20:.0f} MiB, hog peak {result['peak']['hog_rss_bytes'] / 2**20:.0f} MiB, "
          f"{result['elapsed_seconds']}s")


def test_memory_hog_reports_a_real_oom_kill_of_the_target(node):
    """hog-heavy holds 160 MiB of its 256 MiB limit: 120 MiB more and the kernel kills its (larger) process."""
    pod, _cgroup = _target(node, "hog-heavy")
    restarts = pod["status"]["containerStatuses"][0]["restartCount"]
    result = run_module("memory_hog", module_args(node, target="pod", namespace=NS, label_selector="app.kubernetes.io/name=hog-heavy",
                                                  size="120Mi", duration=20, dry_run=False, force=True, name="real-node-oom",
                                                  helper_image=node["info"]["images"]["python"]))
    assert not result.get("failed"), result.get("msg")
    assert result["outcome"] == "target_oom_killed" and result["oom_killed"] is True, result
    kill = result["oom_kills"][0]
    assert kill["container"] == "app" and kill["exit_code"] == 137 and kill["restart_count"] >= restarts
    assert [f for f in result["findings"] if f["id"] == "chaos.target_oom_killed"]
    assert result["elapsed_seconds"] < 20, "the OOM kill should end the run before its duration"
    assert result["cleanup"]["remaining"] == []
    _no_helper_left(node)
    wait_for("hog-heavy Ready again", lambda: items(node, "pods", "-n", NS, "-l", "app.kubernetes.io/name=hog-heavy")[0]["status"]
             ["containerStatuses"][0].get("ready"), timeout=120)


def test_memory_hog_past_the_limit_of_a_small_target_kills_the_hog(node):
    """hog-target's own process is tiny: beyond its limit the kernel kills the hog's worker in its cgroup."""
    pod, _cgroup = _target(node, "hog-target")
    result = run_module("memory_hog", module_args(node, target="pod", namespace=NS, label_selector="app.kubernetes.io/name=hog-target",
                                                  size="400Mi", duration=6, dry_run=False, force=True, name="real-node-oom-hog",
                                                  helper_image=node["info"]["images"]["python"]))
    assert result["preflight"]["oom_expected"] is True and result["preflight"]["forced"] is True
    assert result["outcome"] == "hog_oom_killed", result
    assert result["peak"]["oom_killed_workers"] >= 1 and result["oom_killed"] is False
    assert [f for f in result["findings"] if f["id"] == "chaos.hog_failed"]
    after = items(node, "pods", "-n", NS, "-l", "app.kubernetes.io/name=hog-target")[0]
    assert after["metadata"]["uid"] == pod["metadata"]["uid"]
    assert after["status"]["containerStatuses"][0]["restartCount"] == pod["status"]["containerStatuses"][0]["restartCount"]
    _no_helper_left(node)


# ---------------------------------------------------------------- pod_killer's recovery of a real container

def test_pod_killer_recovery_of_a_real_container_is_measured(node):
    wait_for("web 2/2 ready", lambda: json.loads(kubectl(node, "get", "deploy", "web", "-n", NS, "-o", "json"))["status"].get("readyReplicas") == 2)
    before = {p["metadata"]["name"] for p in items(node, "pods", "-n", NS, "-l", "app.kubernetes.io/name=web")}
    result = run_module("pod_killer", module_args(node, namespaces=[NS], label_selector="app.kubernetes.io/name=web", dry_run=False,
                                                  min_age="0s", cooldown="0", recovery_timeout=120, recovery_poll=0.5))
    assert not result.get("failed"), result.get("msg")
    assert len(result["victims"]) == 1, result["victims"]
    [recovery] = result["recovery"]
    assert recovery["recovered"] is True and recovery["seconds"] > 0, recovery
    pods = items(node, "pods", "-n", NS, "-l", "app.kubernetes.io/name=web")
    fresh = [p for p in pods if p["metadata"]["name"] not in before]
    assert len(fresh) == 1, [p["metadata"]["name"] for p in pods]
    st = fresh[0]["status"]
    created = ts(fresh[0]["metadata"]["creationTimestamp"])
    started = ts(st["containerStatuses"][0]["state"]["running"]["startedAt"])
    ready = ts({c["type"]: c for c in st["conditions"]}["Ready"]["lastTransitionTime"])
    assert created <= started <= ready, (created, started, ready)
    assert st["containerStatuses"][0]["restartCount"] == 0 and st["podIP"].startswith(node["info"]["pod_subnet"].rsplit(".", 1)[0])
    print(f"pod_killer real recovery: {recovery['seconds']}s to ready replicas; replacement container started "
          f"{started - created:.0f}s after creation, Ready {ready - created:.0f}s after creation")


# ---------------------------------------------------------------- down leaves nothing (then the node comes back)

def test_down_leaves_no_container_shim_mount_or_netns_then_up_again(node):
    """The component's down, checked by the lab's own verify-down list; then a warm up restores the node."""
    from tests.lab import lab
    from tests.lab.common import LabContext
    from tests.lab.components import realnode

    ctx = LabContext()
    before = realnode.leftovers(ctx)
    assert set(before) >= {"shims", "container_processes", "mounts", "network_namespaces", "cgroups", "bridge"}, before
    shim_pids = sorted(before["shims"])
    lab.down(ctx, only=("realnode",))
    try:
        assert realnode.leftovers(ctx) == {}
        assert not [k for k in lab.leftovers(ctx) if k.startswith("realnode ")]
        assert not [pid for pid in shim_pids if realnode._running(pid)]
        assert f"node/{REAL}" not in kubectl(node, "get", "nodes", "-o", "name").split()
    finally:
        info = lab.up(ctx, only=("realnode",))["realnode"]
    assert info["available"], info.get("error")
    print(f"real node warm up: {info['timings']}")
