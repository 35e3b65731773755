# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rightsizing engine: one container's usage history in, its sizing out. Pure Python.

Input (``ContainerHistory`` as a plain dict, built by the service from Prometheus and the API):
``cpu`` / ``throttle`` / ``memory`` / ``network`` are ``{pod: [(t, value), ...]}`` (cores used per
step, share of CFS periods throttled, working-set peak bytes per step, pod receive bytes/s);
``ooms`` is ``[(t, pod, memory limit bytes at the time)]``; ``requests`` is ``{pod: {"cpu", "memory"}}``
as kube-state-metrics reported them; ``spec`` the current ``{"requests", "limits"}`` (cores, bytes).

Rules (each a function, its figures in the result):
- demand: CPU used is censored at the limit; a share f of throttled periods means the quota
  refused that share of the wanted time, so demand = used / (1 - f) (f capped at 0.9).
- cpu request = p(cpu_percentile) of pooled demand x (1 + cpu_margin); HPA-managed on CPU
  utilization: the median per-pod demand / target utilization, so the HPA keeps its replica count.
- cpu limit (only where one is set today) = p(cpu_limit_percentile) of demand x (1 + cpu_margin).
- memory = p(memory_percentile) of working-set peaks x (1 + memory_margin), and at least
  oom_bump x the limit of every OOM kill seen (the peak that killed it fell between scrapes).
- backtest: replay the history against the recommendation: minutes the CPU limit would have
  throttled, minutes demand sat above the request, would-be OOM kills (peaks above the memory
  value, OOMs at a limit at or above it). A recommendation the past refutes is vetoed and raised.
- confidence: history span, points per expected point (coverage), the longest gap; Jobs by runs.
- idle: a step is busy when any signal with data is: CPU >= idle_cpu_share of the requests, the
  working set moved by more than idle_memory_change within the step, pod receive traffic >=
  idle_network_bps, request rate >= idle_request_rate; idle_for = time since the last busy step.
"""

from __future__ import annotations

import math

DAY = 86400.0
MIB = 1024.0 ** 2
GIB = 1024.0 ** 3
HOURS_PER_MONTH = 730.0
MAX_THROTTLE = 0.9

DEFAULTS = {
    "step": 300.0, "cpu_percentile": 95.0, "cpu_margin": 0.15, "cpu_limit_percentile": 99.5,
    "memory_percentile": 100.0, "memory_margin": 0.15, "oom_bump": 1.2, "hpa_percentile": 50.0,
    "min_cpu": 0.01, "min_memory": 32 * MIB, "min_history": DAY, "min_points": 100, "min_job_runs": 3,
    "max_throttled_share": 0.01, "idle_cpu_share": 0.05, "idle_network_bps": 1024.0, "idle_after": DAY,
    "idle_memory_change": 0.1, "idle_request_rate": 0.01,
    "min_change_cpu": 0.05, "min_change_memory": 64 * MIB, "min_change_share": 0.2,
    "price_cpu_hour": 0.031611, "price_memory_gib_hour": 0.004237,
}


def percentile(values, q):
    """Linear-interpolated percentile q (0-100) of values; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    pos = (len(ordered) - 1) * float(q) / 100.0
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def round_up(value, unit):
    return math.ceil(value / unit - 1e-9) * unit


# ---- demand -------------------------------------------------------------------------------------

def cpu_demand(cpu, throttle):
    """[(t, pod, cores wanted)]: used / (1 - throttled share) where throttling is known."""
    out = []
    for pod, samples in cpu.items():
        shares = dict(throttle.get(pod, ()))
        for t, used in samples:
            share = min(max(shares.get(t, 0.0) or 0.0, 0.0), MAX_THROTTLE)
            out.append((t, pod, used / (1.0 - share)))
    out.sort()
    return out


def throttling(throttle, step):
    """Throttled time: samples with any throttling, the mean share, and minutes at >= 10 %."""
    shares = [s for samples in throttle.values() for _t, s in samples]
    if not shares:
        return None
    heavy = [s for s in shares if s >= 0.1]
    return {"samples": len(shares), "mean_share": round(sum(shares) / len(shares), 4),
            "share_of_time_over_10pct": round(len(heavy) / float(len(shares)), 4),
            "minutes_over_10pct": round(len(heavy) * step / 60.0, 1)}


# ---- confidence ---------------------------------------------------------------------------------

def coverage(series_by_pod, step, kind):
    """History span, distinct points, coverage, longest gap, pods (runs for Jobs)."""
    times = sorted(set(t for samples in series_by_pod.values() for t, _v in samples))
    if not times:
        return {"first": None, "last": None, "span_seconds": 0, "points": 0, "coverage": 0.0, "longest_gap_seconds": 0, "pods": 0}
    span = times[-1] - times[0]
    expected = span / step + 1.0
    gap = max([b - a for a, b in zip(times, times[1:])] or [0.0])
    return {"first": times[0], "last": times[-1], "span_seconds": span, "points": len(times),
            "coverage": round(min(1.0, len(times) / expected), 3), "longest_gap_seconds": gap,
            "pods": len(series_by_pod), "job": kind in ("Job", "CronJob")}


def confidence(cov, opts):
    """(class, score 0-1, reason). insufficient < low < medium < high."""
    if cov["job"]:
        runs = cov["pods"]
        score = round(min(1.0, runs / 20.0), 2)
        if runs < opts["min_job_runs"]:
            return "insufficient", score, "%d run(s) seen, at least %d needed" % (runs, opts["min_job_runs"])
        level = "high" if runs >= 20 else "medium" if runs >= 8 else "low"
        return level, score, "%d runs seen" % runs
    span_days = cov["span_seconds"] / DAY
    score = round(min(1.0, span_days / 7.0) * cov["coverage"], 2)
    if cov["span_seconds"] < opts["min_history"] or cov["points"] < opts["min_points"]:
        return "insufficient", score, "%.1f h of history and %d points; at least %.0f h and %d points needed" % (
            cov["span_seconds"] / 3600.0, cov["points"], opts["min_history"] / 3600.0, opts["min_points"])
    if span_days < 3 or cov["coverage"] < 0.5:
        level = "low"
    elif span_days < 7 or cov["coverage"] < 0.9:
        level = "medium"
    else:
        level = "high"
    return level, score, "%.1f days of history, %.0f %% of the expected points, longest gap %.0f min" % (
        span_days, 100 * cov["coverage"], cov["longest_gap_seconds"] / 60.0)


# ---- sizing -------------------------------------------------------------------------------------

def size_cpu(demand, spec, hpa, opts):
    values = [d for _t, _p, d in demand]
    if not values:
        return None
    out = {"p50": percentile(values, 50), "p95": percentile(values, 95), "p99": percentile(values, 99), "peak": max(values)}
    if hpa and hpa.get("cpu_utilization"):
        target = hpa["cpu_utilization"] / 100.0
        base = percentile(values, opts["hpa_percentile"])
        request = base / target
        out["reason"] = "HPA-managed (CPU target %d %%): median per-pod demand %.3f cores / %.2f" % (hpa["cpu_utilization"], base, target)
    else:
        base = percentile(values, opts["cpu_percentile"])
        request = base * (1 + opts["cpu_margin"])
        out["reason"] = "p%g of demand %.3f cores + %d %% margin" % (opts["cpu_percentile"], base, round(100 * opts["cpu_margin"]))
    out["request"] = round_up(max(request, opts["min_cpu"]), 0.001)
    if (spec.get("limits") or {}).get("cpu"):
        limit = percentile(values, opts["cpu_limit_percentile"]) * (1 + opts["cpu_margin"])
        out["limit"] = round_up(max(limit, out["request"]), 0.001)
    else:
        out["limit"] = None
    return out


def size_memory(memory, ooms, opts):
    values = [v for samples in memory.values() for _t, v in samples]
    if not values:
        return None
    peak = max(values)
    base = percentile(values, opts["memory_percentile"])
    value = base * (1 + opts["memory_margin"])
    reason = "p%g of working-set peaks %.0f MiB + %d %% margin" % (opts["memory_percentile"], base / MIB, round(100 * opts["memory_margin"]))
    oom_limits = [limit for _t, _pod, limit in ooms if limit]
    if oom_limits and max(oom_limits) * opts["oom_bump"] > value:
        value = max(oom_limits) * opts["oom_bump"]
        reason = "%d OOM kill(s) at a %.0f MiB limit: x%.2f" % (len(ooms), max(oom_limits) / MIB, opts["oom_bump"])
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "peak": peak,
            "value": round_up(max(value, opts["min_memory"]), MIB), "reason": reason}


# ---- backtest -----------------------------------------------------------------------------------

def backtest(demand, memory, ooms, cpu, mem, step, opts):
    """Replay the history against the recommendation; veto (raise) what the past refutes."""
    minutes = step / 60.0
    out = {"vetoed": []}
    values = [d for _t, _p, d in demand]
    if cpu:
        out["minutes_above_cpu_request"] = round(sum(1 for d in values if d > cpu["request"]) * minutes, 1)
        if cpu["limit"]:
            throttled = sum(1 for d in values if d > cpu["limit"])
            share = throttled / float(len(values))
            if share > opts["max_throttled_share"]:
                raised = round_up(max(values) * (1 + opts["cpu_margin"]), 0.001)
                out["vetoed"].append("cpu limit %.3f would have throttled %.1f %% of the time: raised to %.3f" % (cpu["limit"], 100 * share, raised))
                cpu["limit"] = raised
                throttled = sum(1 for d in values if d > raised)
            out["throttled_minutes"] = round(throttled * minutes, 1)
            out["throttled_share"] = round(throttled / float(len(values)), 4)
    if mem:
        peaks = [v for samples in memory.values() for _t, v in samples]

        def would_oom(value):
            return sum(1 for v in peaks if v >= value) + sum(1 for _t, _p, limit in ooms if limit and limit >= value)

        count = would_oom(mem["value"])
        if count:
            raised = round_up(max([max(peaks) * (1 + opts["memory_margin"])] + [l * opts["oom_bump"] for _t, _p, l in ooms if l]), MIB)
            out["vetoed"].append("memory %.0f MiB would have been OOM-killed %d time(s): raised to %.0f MiB" % (mem["value"] / MIB, count, raised / MIB))
            mem["value"] = raised
            count = would_oom(raised)
        out["would_be_ooms"] = count
    out["holds"] = out.get("would_be_ooms", 0) == 0 and out.get("throttled_share", 0.0) <= opts["max_throttled_share"]
    return out


# ---- idle ---------------------------------------------------------------------------------------

SIGNALS = ("cpu", "memory", "network", "requests")
MIN_MEMORY_MOVE = 32 * MIB   # below this a working set's step-to-step move is noise, whatever its share


def _busy_steps(cpu, memory, network, request_rate, requests, spec_cpu_request, opts):
    """{signal: set of busy step times} for the signals that have data, and every step seen."""
    used, wanted = {}, {}
    for pod, samples in cpu.items():
        req = (requests.get(pod) or {}).get("cpu") or spec_cpu_request or 0.0
        for t, value in samples:
            used[t] = used.get(t, 0.0) + value
            wanted[t] = wanted.get(t, 0.0) + req
    busy = {"cpu": {t for t, value in used.items() if value >= (opts["idle_cpu_share"] * wanted[t] if wanted[t] else 0.005)}}
    if memory:
        # an idle process holds its memory; work arriving moves the working set (loads, caches, buffers)
        busy["memory"] = set()
        for samples in memory.values():
            for (_t0, before), (t, after) in zip(samples, samples[1:]):
                if abs(after - before) > max(opts["idle_memory_change"] * before, MIN_MEMORY_MOVE):
                    busy["memory"].add(t)
    for signal, series, floor in (("network", network, opts["idle_network_bps"]), ("requests", request_rate, opts["idle_request_rate"])):
        if series:
            total = {}
            for samples in series.values():
                for t, value in samples:
                    total[t] = total.get(t, 0.0) + value
            busy[signal] = {t for t, value in total.items() if value >= floor}
    return busy, set(used)


def _idle_reason(opts, signals):
    words = {"cpu": "CPU under %d %% of requests" % round(100 * opts["idle_cpu_share"]),
             "memory": "working set steady (no step moved it over %d %% and %.0f MiB)" % (round(100 * opts["idle_memory_change"]), MIN_MEMORY_MOVE / MIB),
             "network": "network under %.0f B/s" % opts["idle_network_bps"],
             "requests": "requests under %g/s" % opts["idle_request_rate"]}
    return ", ".join(words[s] for s in signals)


def idle(cpu, network, requests, spec_cpu_request, end, opts, memory=None, request_rate=None):
    """Idle when every signal with data (CPU against the requests, memory movement, network, request
    rate) has been quiet for idle_after; idle_for counts from the last step any signal was busy."""
    busy, steps = _busy_steps(cpu, memory or {}, network or {}, request_rate or {}, requests, spec_cpu_request, opts)
    signals = [s for s in SIGNALS if s in busy]
    out = {"idle": False, "idle_for_seconds": 0, "signals": signals, "unavailable": [s for s in SIGNALS if s not in busy]}
    if not steps:
        return dict(out, reason="no usage samples")
    last = max(steps)
    if end - last > 2 * opts["step"] + 300:
        return dict(out, reason="no samples in the last %.0f min: gone or scaled to 0, not idle" % ((end - last) / 60))
    last_busy = {s: max(busy[s]) if busy[s] else None for s in signals}
    out["last_busy"] = last_busy
    times = [t for t in last_busy.values() if t is not None]
    since = max(times) if times else None
    idle_for = last - (since if since is not None else min(steps)) if since != last else 0.0
    woke = [s for s in signals if last_busy[s] is not None and last_busy[s] == since]
    woke_text = "; last busy: %s" % ", ".join(woke) if woke and idle_for > 0 else ""
    return dict(out, idle=idle_for >= opts["idle_after"], idle_for_seconds=int(idle_for), since=since,
                reason="%s for %.1f h%s" % (_idle_reason(opts, signals), idle_for / 3600.0, woke_text))


# ---- cost and patch -----------------------------------------------------------------------------

def monthly_cost(cpu_cores, memory_bytes, pods, opts):
    return HOURS_PER_MONTH * pods * ((cpu_cores or 0.0) * opts["price_cpu_hour"] + (memory_bytes or 0.0) / GIB * opts["price_memory_gib_hour"])


def cpu_text(cores):
    return None if cores is None else "%dm" % int(round(cores * 1000))


def memory_text(value):
    return None if value is None else "%dMi" % int(math.ceil(value / MIB - 1e-9))


def resources_block(requests, limits):
    out = {}
    for key, values in (("requests", requests), ("limits", limits)):
        block = {}
        if values.get("cpu") is not None:
            block["cpu"] = cpu_text(values["cpu"])
        if values.get("memory") is not None:
            block["memory"] = memory_text(values["memory"])
        if block:
            out[key] = block
    return out


# ---- pictures -----------------------------------------------------------------------------------

def usage_series(demand, memory, request_timeline, spec, bucket=3600.0):
    """Hourly (bucket) peaks of per-pod CPU demand and working set, with the request in force and the
    current limit, for the report's usage-against-request pictures."""
    def peaks(samples):
        out = {}
        for t, value in samples:
            key = int(t // bucket * bucket)
            out[key] = max(out.get(key, 0.0), value)
        return [[t, round(v, 4)] for t, v in sorted(out.items())]

    cpu = peaks((t, d) for t, _p, d in demand)
    mem = peaks((t, v) for samples in memory.values() for t, v in samples)
    timeline = sorted(request_timeline or ())

    def requested(index):
        points = [[entry[0], entry[1 + index]] for entry in timeline if entry[1 + index] is not None]
        if points and cpu:
            points.append([cpu[-1][0], points[-1][1]])
        return points

    limits = spec.get("limits") or {}
    return {"cpu": cpu, "memory": mem, "cpu_request": requested(0), "memory_request": requested(1),
            "cpu_limit": limits.get("cpu"), "memory_limit": limits.get("memory")}


# ---- one container ------------------------------------------------------------------------------

def size_container(history, end, options=None):
    """The whole verdict for one container (a plain dict; see the module's RETURN)."""
    opts = dict(DEFAULTS, **(options or {}))
    step = float(history.get("step") or opts["step"])
    opts["step"] = step
    spec = history.get("spec") or {"requests": {}, "limits": {}}
    cpu, throttle, memory = history.get("cpu") or {}, history.get("throttle") or {}, history.get("memory") or {}
    ooms = history.get("ooms") or []
    cov = coverage(cpu or memory, step, history.get("kind"))
    level, score, why = confidence(cov, opts)
    demand = cpu_demand(cpu, throttle)
    out = {
        "namespace": history["namespace"], "kind": history["kind"], "name": history["name"], "container": history["container"],
        "current": {"requests": dict(spec.get("requests") or {}), "limits": dict(spec.get("limits") or {})},
        "pods": cov["pods"], "average_pods": history.get("average_pods"), "hpa": history.get("hpa"),
        "history": {k: cov[k] for k in ("first", "last", "span_seconds", "points", "coverage", "longest_gap_seconds")},
        "confidence": {"level": level, "score": score, "reason": why},
        "throttling": throttling(throttle, step), "ooms": [{"time": t, "pod": p, "limit": l} for t, p, l in ooms],
        "requests_changed": history.get("requests_changed") or [],
        "usage": None, "recommendation": None, "backtest": None, "cost": None,
    }
    out["idle"] = idle(cpu, history.get("network") or {}, history.get("requests") or {}, out["current"]["requests"].get("cpu"), end, opts,
                       memory=memory, request_rate=history.get("request_rate"))
    if level == "insufficient":
        out["recommendation_reason"] = "not enough history: " + why
        return out
    cpu_size = size_cpu(demand, spec, history.get("hpa"), opts)
    mem_size = size_memory(memory, ooms, opts)
    out["usage"] = {
        "cpu": None if not cpu_size else {k: round(cpu_size[k], 4) for k in ("p50", "p95", "p99", "peak")},
        "memory": None if not mem_size else {k: int(mem_size[k]) for k in ("p50", "p95", "peak")},
    }
    out["backtest"] = backtest(demand, memory, ooms, cpu_size, mem_size, step, opts)
    if out["idle"]["idle"]:
        out["recommendation_reason"] = "idle for %.1f days: scale to zero or remove rather than resize" % (out["idle"]["idle_for_seconds"] / DAY)
        return out
    has_mem_limit = (spec.get("limits") or {}).get("memory") is not None
    rec_requests = {"cpu": cpu_size["request"] if cpu_size else None, "memory": mem_size["value"] if mem_size else None}
    rec_limits = {"cpu": cpu_size["limit"] if cpu_size else None, "memory": mem_size["value"] if mem_size and has_mem_limit else None}
    out["recommendation"] = {"requests": rec_requests, "limits": rec_limits,
                             "reasons": {"cpu": cpu_size and cpu_size["reason"], "memory": mem_size and mem_size["reason"]}}
    out["resources"] = resources_block(rec_requests, rec_limits)
    pods = history.get("average_pods") or 1.0
    cur_req = out["current"]["requests"]
    before = monthly_cost(cur_req.get("cpu"), cur_req.get("memory"), pods, opts)
    after = monthly_cost(rec_requests["cpu"] if rec_requests["cpu"] is not None else cur_req.get("cpu"),
                         rec_requests["memory"] if rec_requests["memory"] is not None else cur_req.get("memory"), pods, opts)
    out["cost"] = {"monthly_before": round(before, 2), "monthly_after": round(after, 2), "monthly_change": round(after - before, 2), "pods": round(pods, 2)}
    return out


def change(current, recommended, minimum, share):
    """'up' / 'down' when the recommendation moves far enough from the current value, else None."""
    if recommended is None:
        return None
    if current is None:
        return "up"
    delta = recommended - current
    if abs(delta) < minimum or abs(delta) < share * current:
        return None
    return "up" if delta > 0 else "down"
