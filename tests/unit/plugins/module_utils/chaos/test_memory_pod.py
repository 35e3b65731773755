"""Unit tests of memory_hog's pod helper log reading (the real node showed the helper exiting 0
while the kernel had OOM-killed its worker in the target's cgroup)."""
from __future__ import annotations

import json

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
