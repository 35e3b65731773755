"""memory_hog through a real ansible-playbook.

Host target: on this machine, with a watcher in the test that reads the hog's RSS from /proc,
and with ansible-playbook SIGKILLed mid-run (nothing may be left, checked by PID + start time).
Pod target: on the lab (kwok runs nothing; the spec, labels, self-limit, cleanup and a
simulated OOM kill are what is tested).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.integration.ansible import ansible_env, inventory_file, playbook_command, run_module
from tests.integration.collection import REPO_ROOT

TARGET = REPO_ROOT / "tests" / "integration" / "targets" / "memory_hog"
MI = 2 ** 20
SIZE = 300 * MI


# ---------------------------------------------------------------- /proc helpers (the test's own eyes)

def proc_stat(pid):
    """(start_ticks, ppid, state) of a live process, None when gone."""
    try:
        text = Path("/proc/%d/stat" % pid).read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    if fields[0] == "Z":
        return None
    return int(fields[19]), int(fields[1]), fields[0]


def alive(record):
    stat = proc_stat(record["pid"])
    return stat is not None and stat[0] == record["start_ticks"]


def zombie_wait_status(record):
    """How a not-yet-reaped process ended (field 52 of /proc/<pid>/stat, in waitpid's status format)."""
    text = Path("/proc/%d/stat" % record["pid"]).read_text()
    fields = text.rpartition(")")[2].split()
    assert fields[0] == "Z" and int(fields[19]) == record["start_ticks"]
    return int(fields[49])


def rss(pid):
    try:
        for line in Path("/proc/%d/status" % pid).read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def descendants(root):
    """Every process below root, each as {pid, start_ticks} (the identity we later check)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat:
                parents.setdefault(stat[1], []).append((int(entry), stat[0]))
    found, todo = [], [root]
    while todo:
        for pid, start in parents.get(todo.pop(), []):
            found.append({"pid": pid, "start_ticks": start})
            todo.append(pid)
    return found


def wait_for(predicate, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


class Watcher(threading.Thread):
    """Samples the recorded hog (main + workers) until it is gone: peak RSS and when it ended."""

    def __init__(self, state_file):
        super().__init__(daemon=True)
        self.state_file = state_file
        self.peak = 0
        self.record = None
        self.first_seen = None
        self.gone_at = None
        self.stop_flag = False

    def run(self):
        while not self.stop_flag:
            if self.record is None:
                try:
                    record = json.loads(self.state_file.read_text())
                except (OSError, ValueError):
                    record = None
                if record and record.get("start_ticks"):
                    self.record, self.first_seen = record, time.monotonic()
            if self.record is not None:
                try:
                    latest = json.loads(self.state_file.read_text())
                    self.record["workers"] = latest.get("workers", self.record["workers"])
                except (OSError, ValueError):
                    pass
                procs = [self.record] + self.record["workers"]
                live = [p for p in procs if alive(p)]
                if not live:
                    self.gone_at = time.monotonic()
                    return
                self.peak = max(self.peak, sum(rss(p["pid"]) for p in live))
            time.sleep(0.05)


def hog_playbook(tmp_path, args):
    args = dict({"dry_run": False}, **args)
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "hog", "sre.toolkit.memory_hog": args, "register": "hog"},
                       {"name": "save", "ansible.builtin.copy": {"content": "{{ hog | to_json }}", "dest": str(tmp_path / "result.json")}}]}]
    path = tmp_path / "play.yml"
    path.write_text(json.dumps(play))
    return path


def start_playbook(tmp_path, args):
    cmd = playbook_command(hog_playbook(tmp_path, args), tmp_path, inventory=inventory_file(tmp_path))
    log = open(tmp_path / "ansible.log", "w")
    proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), env=ansible_env(), stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return proc


# ---------------------------------------------------------------- host target

def run_target(tmp_path, part, extra):
    play = [{"hosts": "localhost", "gather_facts": False, "roles": [{"role": "memory_hog"}]}]
    path = tmp_path / "target.yml"
    path.write_text(json.dumps(play))
    cmd = playbook_command(path, tmp_path, dict(extra, memory_hog_part=part), inventory=inventory_file(tmp_path))
    env = ansible_env({"ANSIBLE_ROLES_PATH": str(TARGET.parent)})
    return subprocess.run(cmd, cwd=str(REPO_ROOT), env=env, capture_output=True, text=True, timeout=600, check=False)


def test_host_target_role(tmp_path):
    proc = run_target(tmp_path, "host", {"hog_state_dir": str(tmp_path / "state")})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "failed=0" in proc.stdout


def test_host_hog_raises_memory_and_ends_by_itself(tmp_path):
    state = tmp_path / "state"
    watcher = Watcher(state / "memory-hog.json")
    watcher.start()
    began = time.monotonic()
    proc = start_playbook(tmp_path, {"size": "300Mi", "duration": 8, "timeout_margin": 3, "state_dir": str(state)})
    assert proc.wait(timeout=120) == 0, (tmp_path / "ansible.log").read_text()[-4000:]
    watcher.join(timeout=10)
    watcher.stop_flag = True
    result = json.loads((tmp_path / "result.json").read_text())
    assert watcher.record is not None, "the watcher never saw the hog's state file"
    assert watcher.peak >= 0.9 * SIZE, "watcher saw at most %d bytes" % watcher.peak
    assert watcher.gone_at is not None
    ran_for = watcher.gone_at - watcher.first_seen
    assert 7.5 <= ran_for <= 8 + 3, ran_for
    assert result["outcome"] == "completed"
    assert result["peak"]["hog_rss_bytes"] >= 0.9 * SIZE
    assert time.monotonic() - began < 60


def test_sigkill_of_ansible_playbook_leaves_no_process(tmp_path):
    state = tmp_path / "state"
    state_file = state / "memory-hog.json"
    proc = start_playbook(tmp_path, {"size": "300Mi", "workers": 2, "duration": 60, "timeout_margin": 5, "state_dir": str(state)})
    try:
        record = wait_for(lambda: _record_with_workers(state_file, 2), timeout=60)
        assert record, (tmp_path / "ansible.log").read_text()[-4000:]
        assert wait_for(lambda: sum(rss(w["pid"]) for w in record["workers"]) >= 0.9 * SIZE, timeout=20)
        tree = descendants(proc.pid)
        hog = [record] + record["workers"]
        assert all(any(p["pid"] == h["pid"] and p["start_ticks"] == h["start_ticks"] for p in tree) for h in hog)
        killed_at = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # The module sees its ancestor gone, stops the hog, and exits; the worker follows.
        assert wait_for(lambda: not any(alive(p) for p in tree), timeout=10), [p for p in tree if alive(p)]
        assert time.monotonic() - killed_at < 10  # long before the hog's own 65 s limit
        assert not state_file.exists()
    finally:
        _kill_left(proc)


def test_hog_ends_at_its_hard_timeout_even_when_nobody_watches(tmp_path):
    """Freeze the module, SIGKILL ansible-playbook: nobody can stop the hog, it must end by itself."""
    state = tmp_path / "state"
    state_file = state / "memory-hog.json"
    proc = start_playbook(tmp_path, {"size": "300Mi", "duration": 4, "timeout_margin": 3, "state_dir": str(state)})
    module = None
    try:
        record = wait_for(lambda: _record_with_workers(state_file, 1), timeout=60)
        assert record, (tmp_path / "ansible.log").read_text()[-4000:]
        started = time.monotonic()
        module = {"pid": record["module_pid"], "start_ticks": proc_stat(record["module_pid"])[0]}
        os.kill(module["pid"], signal.SIGSTOP)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        hog = [record] + record["workers"]
        assert all(alive(h) for h in hog), "the hog must still run while its module is frozen"
        assert wait_for(lambda: not any(alive(h) for h in hog), timeout=15)
        ended = time.monotonic() - started
        # The alarm is duration + margin = 7 s from the stressor's own start, a moment before `started`.
        assert 1.0 <= ended <= 7 + 1.5, ended
        # Its frozen parent cannot reap it, so the zombie still tells how it ended: exit 0, by itself at its
        # duration (the alarm at duration + margin is the backstop, tested in the stressor's unit tests).
        assert zombie_wait_status(record) == 0
    finally:
        if module and alive(module):
            os.kill(module["pid"], signal.SIGKILL)
            os.kill(module["pid"], signal.SIGCONT)
        _kill_left(proc)


def test_later_run_and_absent_clean_up_without_touching_a_reused_pid(tmp_path):
    """A hog left by an earlier run is stopped; a record whose PID now belongs to someone else is not."""
    from ansible_collections.sre.toolkit.plugins.module_utils._chaos import memory_host

    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    spec = {"total": 8 * MI, "workers": 1, "ramp": 0, "duration": 120, "hard_timeout": 120, "parent_pid": 0}
    leftover = subprocess.Popen([sys.executable, "-c", memory_host.stressor_source(), json.dumps(spec)], stdout=subprocess.DEVNULL)
    bystander = subprocess.Popen(["sleep", "120"])
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    try:
        assert wait_for(lambda: Path("/proc/%d/comm" % leftover.pid).read_text().strip() == "sre-memory-hog", timeout=10)
        mine = {"pid": leftover.pid, "start_ticks": proc_stat(leftover.pid)[0]}
        theirs = {"pid": bystander.pid, "start_ticks": proc_stat(bystander.pid)[0]}
        (state / "old.json").write_text(json.dumps(dict(mine, name="old", boot_id=boot, workers=[])))
        # A record whose PID now belongs to another process (different start time).
        (state / "reused.json").write_text(json.dumps(dict(theirs, start_ticks=theirs["start_ticks"] - 1, name="reused", boot_id=boot, workers=[])))

        preview = run_module("memory_hog", {"state": "absent", "name": "old", "state_dir": str(state)}, check=True)
        assert preview["changed"] is True and alive(mine)

        # dry_run (the default) does not hold back state=absent: stopping leftovers ends chaos.
        cleaned = run_module("memory_hog", {"state": "absent", "name": "old", "state_dir": str(state)})
        assert cleaned["changed"] is True and cleaned["outcome"] == "cleaned"
        assert cleaned["cleaned_up"] == [dict(mine, name="old", alive=True, result="stopped")]
        assert leftover.wait(timeout=10) == 143
        assert not (state / "old.json").exists()

        # A later present run of that name stops nothing (PID reused) but drops the stale record.
        again = run_module("memory_hog", {"dry_run": False, "name": "reused", "size": "16Mi", "duration": 1, "timeout_margin": 2,
                                          "state_dir": str(state)})
        assert again["outcome"] == "completed", again.get("msg")
        assert again["cleaned_up"] == [dict(theirs, start_ticks=theirs["start_ticks"] - 1, name="reused", alive=False, result="not_running")]
        assert alive(theirs) and bystander.poll() is None
    finally:
        for p in (leftover, bystander):
            if p.poll() is None:
                p.kill()
                p.wait()


def _record_with_workers(state_file, count):
    try:
        record = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    return record if len(record.get("workers", [])) == count else None


def _kill_left(proc):
    """Only our own ansible-playbook's tree, by PID + start time."""
    if proc.poll() is None:
        for p in descendants(proc.pid):
            if alive(p):
                os.kill(p["pid"], signal.SIGKILL)
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- pod target (lab)

HOG_LABEL = "sre.toolkit/chaos=memory-hog"


@pytest.fixture
def kube(lab_k8s):
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=lab_k8s["kubeconfig"], context=lab_k8s.get("context")))
    return api


@pytest.fixture
def hog_ns(kube):
    """Our own namespace with target pod 'api' (app 256Mi + sidecar 64Mi limits), deleted afterwards."""
    name = "memory-hog-%s" % os.urandom(3).hex()
    kube.create_namespace({"metadata": {"name": name}})
    kube.create_namespaced_pod(name, {
        "metadata": {"name": "api", "labels": {"app": "api"}},
        "spec": {"containers": [
            {"name": "app", "image": "registry.invalid/api:1", "resources": {"limits": {"memory": "256Mi"}}},
            {"name": "sidecar", "image": "registry.invalid/side:1", "resources": {"limits": {"memory": "64Mi"}}},
        ]},
    })
    assert wait_for(lambda: _running(kube, name, "api"), timeout=60), "kwok never ran the target pod"
    yield name
    kube.delete_namespace(name)


def _running(kube, namespace, pod):
    status = kube.read_namespaced_pod(pod, namespace).status
    return status.phase == "Running" and status.container_statuses and all(c.container_id for c in status.container_statuses)


def _helpers(kube, namespace):
    return kube.list_namespaced_pod(namespace, label_selector=HOG_LABEL).items


def test_pod_target_role(tmp_path, lab_k8s, hog_ns):
    extra = {"hog_kubeconfig": lab_k8s["kubeconfig"], "hog_context": lab_k8s.get("context"), "hog_ns": hog_ns}
    proc = run_target(tmp_path, "pod", extra)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "failed=0" in proc.stdout


def test_pod_helper_spec_and_simulated_oom_kill(tmp_path, lab_k8s, kube, hog_ns):
    """While the hog runs, the target's status says OOMKilled: the run ends early with that outcome, helper removed."""
    args = {"target": "pod", "kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context"), "namespace": hog_ns,
            "pod_name": "api", "size": "200Mi", "workers": 2, "duration": 60, "timeout_margin": 10, "name": "oom-test"}
    began = time.monotonic()
    proc = start_playbook(tmp_path, args)
    try:
        helpers = wait_for(lambda: _helpers(kube, hog_ns), timeout=60)
        assert len(helpers) == 1, (tmp_path / "ansible.log").read_text()[-4000:]
        helper = kube.api_client.sanitize_for_serialization(helpers[0])
        target = kube.read_namespaced_pod("api", hog_ns)
        spec = helper["spec"]
        assert spec["nodeName"] == target.spec.node_name
        assert spec["activeDeadlineSeconds"] == 70
        assert spec["restartPolicy"] == "Never" and spec["hostPID"] is True
        assert spec["containers"][0]["securityContext"]["privileged"] is True
        command = spec["containers"][0]["command"]
        stressor_args = json.loads(command[3])
        assert command[:2] == ["python3", "-c"] and "PR_SET_PDEATHSIG" in command[2]
        app = [c for c in target.status.container_statuses if c.name == "app"][0]
        assert stressor_args["join_container_id"] == app.container_id.split("://")[-1]
        assert stressor_args["total"] == 200 * MI and stressor_args["workers"] == 2 and stressor_args["hard_timeout"] == 70
        labels = helper["metadata"]["labels"]
        assert labels["sre.toolkit/hog-name"] == "oom-test" and labels["sre.toolkit/target-pod"] == "api"
        assert labels["sre.toolkit/run-id"]

        # Simulate the kernel's answer: the app container was OOM-killed and restarted.
        status = kube.api_client.sanitize_for_serialization(target.status)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for item in status["containerStatuses"]:
            if item["name"] == "app":
                item["restartCount"] = item.get("restartCount", 0) + 1
                item["lastState"] = {"terminated": {"reason": "OOMKilled", "exitCode": 137, "startedAt": now, "finishedAt": now}}
        kube.patch_namespaced_pod_status("api", hog_ns, {"status": {"containerStatuses": status["containerStatuses"]}})

        assert proc.wait(timeout=60) == 0, (tmp_path / "ansible.log").read_text()[-4000:]
        result = json.loads((tmp_path / "result.json").read_text())
        assert result["outcome"] == "target_oom_killed"
        assert result["oom_killed"] is True
        restarts = [c["restartCount"] for c in status["containerStatuses"] if c["name"] == "app"][0]
        assert result["oom_kills"] == [{"container": "app", "in": "lastState", "exit_code": 137, "finished_at": now,
                                        "restart_count": restarts}]
        assert result["helper"]["name"] == helper["metadata"]["name"]
        assert result["cleanup"]["remaining"] == [] and result["cleanup"]["deleted"] == [helper["metadata"]["name"]]
        assert _helpers(kube, hog_ns) == []
        assert time.monotonic() - began < 50  # ended on the OOM, not at the 70 s deadline
    finally:
        _kill_left(proc)


def test_pod_run_cleans_up_when_ansible_playbook_is_killed(tmp_path, lab_k8s, kube, hog_ns):
    """SIGKILL ansible-playbook mid-run: the module notices, deletes its helper pod and exits."""
    args = {"target": "pod", "kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context"), "namespace": hog_ns,
            "pod_name": "api", "size": "64Mi", "duration": 120, "timeout_margin": 10, "name": "killed"}
    proc = start_playbook(tmp_path, args)
    try:
        assert wait_for(lambda: _helpers(kube, hog_ns), timeout=60), (tmp_path / "ansible.log").read_text()[-4000:]
        tree = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert wait_for(lambda: not _helpers(kube, hog_ns), timeout=40), "helper pod left behind"
        assert wait_for(lambda: not any(alive(p) for p in tree), timeout=20), [p for p in tree if alive(p)]
    finally:
        _kill_left(proc)


def test_pod_leftovers_are_removed_by_absent_and_by_a_later_run(lab_k8s, kube, hog_ns):
    base = {"target": "pod", "kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context"), "namespace": hog_ns}
    for name, hog in (("left-1", "old"), ("left-2", "old"), ("other-hog", "other")):
        kube.create_namespaced_pod(hog_ns, {
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "sre.toolkit", "sre.toolkit/chaos": "memory-hog",
                                                  "sre.toolkit/hog-name": hog, "sre.toolkit/run-id": "earlier"}},
            "spec": {"containers": [{"name": "x", "image": "registry.invalid/x:1"}], "activeDeadlineSeconds": 600},
        })
    preview = run_module("memory_hog", dict(base, state="absent", name="old"), check=True)
    assert preview["changed"] is True and preview["cleanup"]["found"] == ["left-1", "left-2"]
    assert len(_helpers(kube, hog_ns)) == 3

    cleaned = run_module("memory_hog", dict(base, state="absent", name="old"))
    assert cleaned["changed"] is True and cleaned["cleanup"]["deleted"] == ["left-1", "left-2"] and cleaned["cleanup"]["remaining"] == []
    assert [p.metadata.name for p in _helpers(kube, hog_ns)] == ["other-hog"]

    later = run_module("memory_hog", dict(base, dry_run=False, name="other", pod_name="api", size="16Mi", duration=1, timeout_margin=1))
    assert later["outcome"] == "stopped_at_deadline", later.get("msg")
    assert later["cleaned_up"] == ["other-hog"]
    assert _helpers(kube, hog_ns) == []


def test_seeded_oom_killed_pod_is_reported_as_previous(lab_k8s, kube):
    """The lab's OOMKilled pod, read in check mode only (nothing is created in its namespace)."""
    truth = json.loads(Path(lab_k8s["ground_truth"]).read_text())
    seeded = [p for p in truth["pods"] if p["scenario"] == "OOMKilled"][0]
    result = run_module("memory_hog", {"target": "pod", "kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context"),
                                       "namespace": seeded["namespace"], "pod_name": seeded["name"], "size": "1Mi",
                                       "container": seeded["container"]}, check=True)
    assert result["outcome"] == "dry_run", result.get("msg")
    previous = result["pod"]["previous_oom_kills"]
    assert [(p["container"], p["in"], p["exit_code"]) for p in previous] == [(seeded["container"], "lastState", seeded["last_exit_code"])]
    assert previous[0]["restart_count"] >= seeded["min_restart_count"]


def test_stress_ng_engine_when_present_clear_error_when_not(tmp_path):
    """engine=stress-ng runs stress-ng (one --vm 1 per worker) where it is installed, and fails clearly where not."""
    args = {"size": "128Mi", "workers": 2, "duration": 2, "timeout_margin": 3, "engine": "stress-ng", "state_dir": str(tmp_path / "s"),
            "dry_run": False}
    result = run_module("memory_hog", args)
    if shutil.which("stress-ng"):
        assert result["outcome"] == "completed", result.get("msg")
        assert result["plan"]["engine"] == "stress-ng" and result["stressor"]["engine"] == "stress-ng"
        assert result["peak"]["hog_rss_bytes"] >= 0.9 * 128 * MI
        assert [w["exit_code"] for w in result["stressor"]["workers"]] == [0, 0]
    else:
        assert result["failed"] is True and result["msg"].startswith("engine: stress-ng was asked for")
        assert not (tmp_path / "s").exists()
    auto = run_module("memory_hog", dict(args, engine="auto", dry_run=True))
    assert auto["plan"]["engine"] == ("stress-ng" if shutil.which("stress-ng") else "python")


# ---------------------------------------------------------------- the pod mechanism, for real, on this host

def _own_memory_cgroup():
    """(root, own cgroup dir, version) of this process's memory cgroup."""
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    for line in lines:
        hid, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return "/sys/fs/cgroup", Path("/sys/fs/cgroup/memory") / path.lstrip("/"), 1
    path = [line.split(":", 2)[2] for line in lines if line.startswith("0::")][0]
    return "/sys/fs/cgroup", Path("/sys/fs/cgroup") / path.lstrip("/"), 2


@pytest.fixture
def fake_container_cgroup():
    """A child memory cgroup limited to 64 MiB, named like a container ID; removed afterwards."""
    root, own, version = _own_memory_cgroup()
    name = "sre-toolkit-test-%s" % os.urandom(6).hex()
    path = own / name
    path.mkdir()
    (path / ("memory.limit_in_bytes" if version == 1 else "memory.max")).write_text(str(64 * MI))
    if version == 2:
        (path / "memory.swap.max").write_text("0")
    yield root, name, path, version
    wait_for(lambda: not (path / "cgroup.procs").read_text().strip(), timeout=10)
    path.rmdir()


def _stressor(spec):
    from ansible_collections.sre.toolkit.plugins.module_utils._chaos import memory_host

    proc = subprocess.run([sys.executable, "-c", memory_host.stressor_source(), json.dumps(spec)],
                          capture_output=True, text=True, timeout=60, check=False)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_stressor_joins_a_container_cgroup_and_its_limit_applies(fake_container_cgroup):
    """What the helper pod does to its target: join the container's cgroup by ID, so the container's limit binds."""
    root, name, path, version = fake_container_cgroup
    base = {"workers": 1, "ramp": 0, "duration": 1, "hard_timeout": 20, "parent_pid": 0, "join_container_id": name, "cgroup_root": root}

    fits = _stressor(dict(base, total=24 * MI))
    assert fits["cgroup"] == str(path)
    assert fits["workers"][0] == {"pid": fits["worker_pids"][0], "exit_code": 0}
    usage_file = "memory.max_usage_in_bytes" if version == 1 else "memory.peak"
    assert int((path / usage_file).read_text()) >= 24 * MI  # charged to the "container", not to us

    too_big = _stressor(dict(base, total=128 * MI))
    assert too_big["workers"][0].get("signal") == signal.SIGKILL  # the kernel's OOM killer, as for a target container
    oom_file = "memory.oom_control" if version == 1 else "memory.events"
    assert "oom_kill 1" in (path / oom_file).read_text()
