"""The stressor's pure helpers, and its self-limits on real processes of this machine (small sizes)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import memory_host, stressor

MI = 2 ** 20


def test_split_total_and_chunks():
    assert stressor.split_total(10, 3) == [4, 3, 3]
    assert stressor.chunk_sizes(10, 4) == [4, 4, 2]
    assert stressor.chunk_sizes(8, 4) == [4, 4]


def test_touch_marks_every_page():
    buf = bytearray(3 * stressor.PAGE + 1)
    stressor.touch(buf)
    assert [buf[i] for i in range(0, len(buf), stressor.PAGE)] == [0x5A] * 4


def test_find_container_cgroup_v1_and_v2(tmp_path):
    v1 = tmp_path / "v1"
    (v1 / "memory" / "kubepods" / "burstable" / "podX" / "abc123").mkdir(parents=True)
    (v1 / "memory" / "kubepods" / "burstable" / "podX" / "abc123" / "cgroup.procs").write_text("")
    assert stressor.find_container_cgroup(str(v1), "abc123").endswith("podX/abc123")
    v2 = tmp_path / "v2" / "kubepods.slice" / "cri-containerd-abc123.scope"
    v2.mkdir(parents=True)
    (v2 / "cgroup.procs").write_text("")
    assert stressor.find_container_cgroup(str(tmp_path / "v2"), "abc123") == str(v2)
    assert stressor.find_container_cgroup(str(tmp_path / "v2"), "zzz") is None


def start(spec):
    source = memory_host.stressor_source()
    return subprocess.Popen([sys.executable, "-c", source, json.dumps(spec)], stdout=subprocess.PIPE, text=True)


def test_holds_for_the_duration_then_reports():
    proc = start({"total": 16 * MI, "workers": 2, "ramp": 0, "duration": 1, "hard_timeout": 10, "parent_pid": os.getpid()})
    out = proc.communicate(timeout=20)[0]
    summary = json.loads(out.strip().splitlines()[-1])
    assert proc.returncode == 0
    assert summary["peak_rss_bytes"] >= 14 * MI
    assert [w["exit_code"] for w in summary["workers"]] == [0, 0]
    assert 0.9 <= summary["elapsed_seconds"] < 5


def test_hard_timeout_ends_it_even_if_the_duration_is_longer():
    began = time.monotonic()
    proc = start({"total": 4 * MI, "workers": 1, "ramp": 0, "duration": 60, "hard_timeout": 1, "parent_pid": os.getpid()})
    proc.communicate(timeout=20)
    assert proc.returncode == -14  # SIGALRM
    assert time.monotonic() - began < 5


def test_dies_with_its_parent():
    # A middle process starts the stressor and is then SIGKILLed: PDEATHSIG must take the stressor down.
    code = (
        "import json,os,subprocess,sys,time\n"
        "p=subprocess.Popen([sys.executable,'-c',sys.argv[1],json.dumps(dict(json.loads(sys.argv[2]),parent_pid=os.getpid()))])\n"
        "print(p.pid,flush=True); time.sleep(60)\n"
    )
    spec = {"total": 4 * MI, "workers": 1, "ramp": 0, "duration": 60, "hard_timeout": 60}
    middle = subprocess.Popen([sys.executable, "-c", code, memory_host.stressor_source(), json.dumps(spec)], stdout=subprocess.PIPE, text=True)
    pid = int(middle.stdout.readline())
    time.sleep(0.5)
    record = memory_host.identity(pid)
    assert record is not None
    middle.kill()
    middle.wait()
    end = time.monotonic() + 5
    while memory_host.is_alive({"pid": pid, "start_ticks": record["start_ticks"]}) and time.monotonic() < end:
        time.sleep(0.05)
    assert not memory_host.is_alive({"pid": pid, "start_ticks": record["start_ticks"]})


def test_stress_ng_runs_one_vm_stressor_per_worker_with_its_own_timeout():
    argv = stressor.stress_ng_argv({"duration": 30, "stress_ng": "/usr/bin/stress-ng"}, 100 * MI)
    assert argv[:5] == ["/usr/bin/stress-ng", "--vm", "1", "--vm-bytes", "%db" % (100 * MI)]
    assert argv[argv.index("--timeout") + 1] == "30s" and "--vm-keep" in argv
