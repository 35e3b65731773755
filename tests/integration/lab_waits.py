"""Waits on the lab's live state that several integration tests need."""
from __future__ import annotations

import time

import requests


def wait_for_live_watchdog(url: str, history_end: float, timeout: float) -> None:
    """A freshly started Prometheus writes no ALERTS for its first evaluations: wait for a Watchdog
    sample newer than the generated history (whose last samples may still be within the lookback)."""
    deadline = time.time() + timeout
    query = 'timestamp(ALERTS{alertname="Watchdog",alertstate="firing"})'
    while time.time() < deadline:
        answer = requests.get(url + "/api/v1/query", params={"query": query}, timeout=10).json()
        if any(float(row["value"][1]) > history_end for row in answer["data"]["result"]):
            return
        time.sleep(5)
    raise AssertionError("Watchdog never fired live on the lab's Prometheus within %ss" % timeout)
