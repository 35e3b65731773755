"""memory_host: process identity by PID + start time, state files, cleanup that never hits a reused PID."""
from __future__ import annotations

import os
import subprocess

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import memory_host


def sleeper():
    return subprocess.Popen(["sleep", "60"])


def test_identity_of_self_and_ancestors():
    me = memory_host.identity(os.getpid())
    assert me["pid"] == os.getpid() and me["start_ticks"] > 0
    chain = memory_host.ancestors()
    assert chain[0]["pid"] == os.getppid()
    assert memory_host.first_gone(chain) is None


def test_cleanup_stops_the_recorded_process_only_if_it_is_the_same_one(tmp_path):
    store = memory_host.StateStore(str(tmp_path))
    same, other = sleeper(), sleeper()
    try:
        me = memory_host.identity(same.pid)
        them = memory_host.identity(other.pid)
        boot = memory_host.boot_id()
        store.write("real", {"pid": same.pid, "start_ticks": me["start_ticks"], "boot_id": boot, "workers": []})
        # Same PID, different start time: what a reused PID looks like. Must be left alone.
        store.write("reused", {"pid": other.pid, "start_ticks": them["start_ticks"] + 1, "boot_id": boot, "workers": []})
        # Right PID and start time, but recorded in another boot.
        store.write("old-boot", {"pid": other.pid, "start_ticks": them["start_ticks"], "boot_id": "another-boot", "workers": []})

        preview = memory_host.clean_up(store, check_mode=True)
        assert [(p["name"], p["alive"]) for p in preview] == [("old-boot", False), ("real", True), ("reused", False)]
        assert same.poll() is None and store.names() == ["old-boot", "real", "reused"]

        report = memory_host.clean_up(store)
        assert {p["name"]: p["result"] for p in report} == {"old-boot": "not_running", "real": "stopped", "reused": "not_running"}
        assert same.wait(timeout=5) == -15
        assert other.poll() is None
        assert store.names() == []
    finally:
        for proc in (same, other):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_signal_recorded_refuses_a_dead_or_reused_pid():
    proc = sleeper()
    record = dict(memory_host.identity(proc.pid), boot_id=memory_host.boot_id())
    proc.kill()
    proc.wait()
    assert memory_host.signal_recorded(record, 15) is False


def test_host_memory_and_cgroup_are_read():
    mem = memory_host.host_memory()
    assert 0 < mem["mem_available"] <= mem["mem_total"]
    cgroup = memory_host.cgroup_memory()
    assert cgroup is None or cgroup["version"] in (1, 2)
