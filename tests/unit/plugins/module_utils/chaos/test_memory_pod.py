"""Unit tests of memory_hog's pod helper log reading (the real node showed the helper exiting 0
while the kernel had OOM-killed its worker in the target's cgroup)."""
from __future__ import annotations

import json
import time

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import memory_pod
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError


class LogClient:
    def __init__(self, text=None, error=None):
        self.text, self.error, self.calls = text, error, []

    def get_text(self, path, params=None):
        self.calls.append((path, params))
        if self.error:
            raise self.error
        return self.text


def _summary(workers):
    return json.dumps({"engine": "python", "peak_rss_bytes": 250 * 2 ** 20, "workers": workers, "cgroup": "/sys/fs/cgroup/memory/x"})


def test_peak_and_oom_killed_workers_from_the_last_summary_line():
    text = "starting\n" + _summary([{"pid": 7, "signal": 9}, {"pid": 8, "exit_code": 0}]) + "\n"
    peak = memory_pod.read_peak(LogClient(text), "ns", "helper")
    assert peak == {"hog_rss_bytes": 250 * 2 ** 20, "source": "helper log", "oom_killed_workers": 1}


def test_no_killed_worker_counts_zero_and_other_signals_are_not_oom():
    peak = memory_pod.read_peak(LogClient(_summary([{"pid": 7, "exit_code": 0}, {"pid": 8, "signal": 15}])), "ns", "helper")
    assert peak["oom_killed_workers"] == 0


def test_unreadable_log_says_why_and_counts_nothing():
    peak = memory_pod.read_peak(LogClient(error=ToolkitError("GET .../log answered 400: no logs")), "ns", "helper")
    assert peak["hog_rss_bytes"] is None and peak["source"].startswith("unavailable: ") and "oom_killed_workers" not in peak
    assert memory_pod.read_peak(LogClient("garbage\n"), "ns", "h")["source"] == "unavailable: no summary line in the helper's log"


class Clock:
    """memory_pod's clock: sleeping advances it at once."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds

    strftime, gmtime = staticmethod(time.strftime), staticmethod(time.gmtime)


class Apiserver:
    """Answers a helper's create with `error`; the helper is stored anyway once `lands_on_list` lists were made."""

    def __init__(self, error, lands_on_list=None):
        self.error, self.lands_on_list, self.lists, self.pods, self.deleted = error, lands_on_list, 0, [], []

    def create(self, path, body):
        raise self.error

    def list_all(self, path, params=None):
        self.lists += 1
        if self.lists == self.lands_on_list:
            self.pods.append({"metadata": {"name": "hog-helper-x"}})
        return list(self.pods)

    def delete(self, path, params=None):
        self.deleted.append(path.rsplit("/", 1)[1])
        self.pods = []


def _run_helper(client, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(memory_pod, "time", clock)
    hog = memory_pod.PodHog(client, {"name": "hog", "namespace": "ns"}, "r1", "stressor")
    prepared = {"target": {"metadata": {"namespace": "ns", "name": "app", "uid": "u1"}}, "plan": {"hard_timeout_seconds": 70},
                "helper": {"metadata": {"name": "hog-helper-x"}}}
    with pytest.raises(ToolkitError):
        hog.run(prepared)
    return clock


def test_a_create_that_timed_out_but_landed_is_found_and_deleted(monkeypatch):
    client = Apiserver(ToolkitError("POST .../pods: timed out", kind="timeout"), lands_on_list=4)
    _run_helper(client, monkeypatch)
    assert client.deleted == ["hog-helper-x"] and client.pods == []


def test_an_unanswered_create_that_never_lands_is_watched_for_a_bounded_time(monkeypatch):
    client = Apiserver(ToolkitError("POST .../pods answered 504: timeout", kind="server"))
    clock = _run_helper(client, monkeypatch)
    assert client.deleted == [] and memory_pod.APPEAR_SECONDS <= clock.now <= memory_pod.APPEAR_SECONDS + 1


def test_a_refused_create_is_not_waited_for(monkeypatch):
    client = Apiserver(ToolkitError("POST .../pods answered 422: invalid", kind="invalid"))
    clock = _run_helper(client, monkeypatch)
    assert client.lists == 1 and clock.now == 0.0 and client.deleted == []
