"""memory_host: process identity by PID + start time, state files, cleanup that never hits a reused PID."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import memory_host
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError


def sleeper():
    return subprocess.Popen(["sleep", "60"])


def hog():
    """A real stressor, 1 MiB for up to a minute, that names itself like every hog."""
    spec = {"total": 2 ** 20, "workers": 1, "ramp": 0, "duration": 60, "hard_timeout": 60, "parent_pid": 0}
    proc = subprocess.Popen([sys.executable, "-c", memory_host.stressor_source(), json.dumps(spec)], stdout=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while time.monotonic() < end and memory_host.identity(proc.pid)["comm"] != "sre-memory-hog":
        time.sleep(0.02)
    return proc


def record_of(proc, **over):
    me = memory_host.identity(proc.pid)
    return dict({"pid": proc.pid, "start_ticks": me["start_ticks"], "boot_id": memory_host.boot_id(), "workers": []}, **over)


def test_identity_of_self_and_ancestors():
    me = memory_host.identity(os.getpid())
    assert me["pid"] == os.getpid() and me["start_ticks"] > 0
    chain = memory_host.ancestors()
    assert chain[0]["pid"] == os.getppid()
    assert memory_host.first_gone(chain) is None


def test_cleanup_stops_the_recorded_hog_only_if_it_is_the_same_process(tmp_path):
    store = memory_host.StateStore(str(tmp_path / "state"))
    store.ensure()
    mine, other, bystander = hog(), hog(), sleeper()
    try:
        store.write("real", record_of(mine))
        # Same PID, different start time: what a reused PID looks like. Must be left alone.
        store.write("reused", record_of(other, start_ticks=record_of(other)["start_ticks"] + 1))
        # Right PID and start time, but recorded in another boot.
        store.write("old-boot", record_of(other, boot_id="another-boot"))
        # Right PID, start time and boot, but not a hog (a forged record): never signalled.
        store.write("not-a-hog", record_of(bystander))

        preview = memory_host.clean_up(store, check_mode=True)
        assert [(p["name"], p["alive"]) for p in preview] == [("not-a-hog", False), ("old-boot", False), ("real", True), ("reused", False)]
        assert mine.poll() is None and len(store.names()) == 4

        report = memory_host.clean_up(store)
        assert {p["name"]: p["result"] for p in report} == {
            "not-a-hog": "not_running", "old-boot": "not_running", "real": "stopped", "reused": "not_running"}
        assert mine.wait(timeout=5) == 143  # its SIGTERM handler took its workers down and exited
        assert other.poll() is None and bystander.poll() is None
        assert store.names() == []
    finally:
        for proc in (mine, other, bystander):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_signal_recorded_refuses_a_dead_or_reused_pid():
    proc = hog()
    record = record_of(proc)
    proc.kill()
    proc.wait()
    assert memory_host.signal_recorded(record, 15) is False


def test_state_dir_writable_by_others_is_refused(tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o777)
    with pytest.raises(ToolkitError, match="state_dir: .* not writable by group or others"):
        memory_host.StateStore(str(loose)).names()
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(ToolkitError, match="state_dir"):
        memory_host.StateStore(str(link)).load("x")
    assert memory_host.StateStore(str(tmp_path / "missing")).names() == []


def test_host_memory_and_cgroup_are_read():
    mem = memory_host.host_memory()
    assert 0 < mem["mem_available"] <= mem["mem_total"]
    cgroup = memory_host.cgroup_memory()
    assert cgroup is None or cgroup["version"] in (1, 2)
