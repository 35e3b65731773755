"""A tiny rule evaluator that writes ALERTS / ALERTS_FOR_STATE the way Prometheus does.

Evaluations run at phase + k * interval. An alert becomes pending when its condition turns
true (ActiveAt = that evaluation, floored to seconds in ALERTS_FOR_STATE), firing once it has
been active for `for_s` (same evaluation when for_s is 0: no pending sample), and ends at the
first evaluation where the condition is false (after keep_firing_for). The truth returned is
what Prometheus itself considers one alert, so tests compare the engine against it.
"""
from __future__ import annotations

import math


def evaluate(condition, start, end, interval, for_s=0.0, keep_firing_for=0.0, phase=0.0, labels=None,
             replica=None, history_from=None, value_label=None):
    labels = dict(labels or {"alertname": "Test"})
    if replica:
        labels.update(replica)
    origin = history_from if history_from is not None else start - 7200
    k = math.ceil((origin - phase) / interval)
    series = {}
    truth = []
    state = None  # None | "pending" | "firing"
    active_at = last_true = None
    current_labels = None
    while True:
        ts = phase + k * interval
        k += 1
        if ts > end:
            break
        cond = condition(ts)
        if cond:
            last_true = ts
            if state is None:
                state, active_at = "pending", ts
                current_labels = dict(labels)
                if value_label:
                    current_labels[value_label] = "%.2f" % (ts % 97 + 0.5)
                truth.append({"active_at": ts, "fired_at": None, "resolved_at": None, "labels": current_labels})
            if state == "pending" and ts - active_at >= for_s:
                state = "firing"
                truth[-1]["fired_at"] = ts
        elif state is not None:
            if state == "firing" and keep_firing_for and ts - last_true < keep_firing_for:
                pass
            else:
                truth[-1]["resolved_at"] = ts
                state = None
        if state is not None and start < ts <= end:
            _append(series, dict(current_labels, __name__="ALERTS", alertstate=state), ts, "1")
            _append(series, dict(current_labels, __name__="ALERTS_FOR_STATE"), ts, "%d" % math.floor(active_at))
    alerts = [s for s in series.values() if s["metric"]["__name__"] == "ALERTS"]
    for_state = [s for s in series.values() if s["metric"]["__name__"] == "ALERTS_FOR_STATE"]
    return alerts, for_state, truth


def _append(series, metric, ts, value):
    key = tuple(sorted(metric.items()))
    series.setdefault(key, {"metric": metric, "values": []})["values"].append([ts, value])


def periods(*spans):
    """Condition true inside any [a, b) span."""
    def condition(ts):
        return any(a <= ts < b for a, b in spans)
    return condition


def group(interval=60.0, rules=(), name="g"):
    """An /api/v1/rules group: rules given as (name, for_s, labels) tuples."""
    return {
        "name": name, "file": "/etc/prometheus/rules.yml", "interval": interval,
        "rules": [{"type": "alerting", "name": n, "duration": f, "labels": dict(l or {}), "health": "ok", "query": "up == 0"}
                  for n, f, l in rules],
    }
