"""The lab's SLI history by design: four services, per-minute request counts by status code and
latency bucket, with designed incidents (outages, a slow burn, a flapping error rate, a latency
regression) and a healthy control. Pure Python, seeded: the same seed gives the same counts for
any window end (the window always starts at a UTC midnight).

Minute j (0 .. MINUTES) is the sample at ``window.start - LEAD + j * 60``; the counts of minute j
are the requests that arrived in (sample j-1, sample j]. Minute 0 is the counters' first sample.
"""
from __future__ import annotations

import math
import random

STEP = 60
WINDOW_DAYS = 30
LEAD_DAYS = 3                      # history before the window: the longest standard burn-rate window
LEAD = LEAD_DAYS * 86400
MINUTES = (WINDOW_DAYS + LEAD_DAYS) * 1440
LE = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5)     # finite bucket bounds; +Inf follows
CODES = ("200", "500", "503")
JOB = "sli-lab"
REQUESTS = "http_requests_total"
HISTOGRAM = "http_request_duration_seconds"


def window_minute(day, hour=0, minute=0):
    """Minute index of a time given as window day (0-based), hour, minute."""
    return LEAD // STEP + day * 1440 + hour * 60 + minute


# service -> base requests per minute, baseline error probability (500s), latency tail
# {bound: P(latency > bound)} at baseline.
SERVICES = {
    "checkout": {"rate": 600, "errors": 0.0003, "tail": {0.1: 0.05, 0.25: 0.002, 0.5: 0.0008}},
    "search": {"rate": 900, "errors": 0.0002, "tail": {0.1: 0.0015, 0.25: 0.0005, 0.5: 0.0002}},
    "payments": {"rate": 300, "errors": 0.0002, "tail": {0.1: 0.1, 0.25: 0.01, 0.5: 0.003}},
    "catalog": {"rate": 400, "errors": 0.0001, "tail": {0.1: 0.02, 0.25: 0.001, 0.5: 0.0003}},
}

# Designed incidents: (name, service, kind, first minute, minutes, figures). kind "errors": 503s
# with probability p; "flap": alternating `on` minutes at p and `off` minutes at baseline;
# "latency": the tail becomes `tail`.
INCIDENTS = (
    ("checkout-outage", "checkout", "errors", window_minute(9, 14, 0), 40, {"p": 0.3, "tail": {0.1: 0.6, 0.25: 0.5, 0.5: 0.3}}),
    ("checkout-hard-down", "checkout", "errors", window_minute(20, 3, 10), 8, {"p": 1.0}),
    ("search-slow-burn", "search", "errors", window_minute(13, 0, 0), 48 * 60, {"p": 0.004}),
    ("payments-flapping", "payments", "flap", window_minute(24, 8, 0), 6 * 60, {"p": 0.05, "on": 10, "off": 10}),
    ("payments-latency", "payments", "latency", window_minute(4, 10, 0), 3 * 60, {"tail": {0.1: 0.4, 0.25: 0.3, 0.5: 0.25}}),
)

# The SLOs the lab's ground truth judges (and the tests hand the module).
SLOS = (
    {"name": "checkout-availability", "service": "checkout", "objective": 99.9, "sli": "ratio"},
    {"name": "checkout-latency", "service": "checkout", "objective": 99.5, "sli": "latency", "threshold": 0.25},
    {"name": "search-availability", "service": "search", "objective": 99.9, "sli": "ratio"},
    {"name": "search-latency", "service": "search", "objective": 99.9, "sli": "latency", "threshold": 0.1},
    {"name": "payments-availability", "service": "payments", "objective": 99.9, "sli": "ratio"},
    {"name": "payments-latency", "service": "payments", "objective": 99.0, "sli": "latency", "threshold": 0.5},
    {"name": "catalog-availability", "service": "catalog", "objective": 99.9, "sli": "ratio"},
)


def selectors(slo):
    """The SLO's (errors, total) counter selectors as a user writes them."""
    svc = 'job="%s", service="%s"' % (JOB, slo["service"])
    if slo["sli"] == "ratio":
        return '%s{%s, code=~"5.."}' % (REQUESTS, svc), "%s{%s}" % (REQUESTS, svc)
    return None, None


def _poisson(rng, lam):
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _binomial(rng, n, p):
    if p <= 0 or n <= 0:
        return 0
    if p >= 1:
        return n
    mean = n * p
    if mean < 30:
        return min(n, _poisson(rng, mean))
    return min(n, max(0, int(round(rng.gauss(mean, math.sqrt(mean * (1 - p)))))))


def _tail_probs(tail):
    """P(latency > bound) for every finite bound, monotone, from a partial tail."""
    q = {0.05: 0.45, 0.1: tail[0.1], 0.25: tail[0.25], 0.5: tail[0.5], 1.0: tail[0.5] / 3, 2.5: tail[0.5] / 20}
    out, last = [], 1.0
    for bound in LE:
        last = min(last, max(q[bound], 0.0))
        out.append(last)
    return out


MIDPOINTS = (0.03, 0.075, 0.17, 0.37, 0.72, 1.6, 4.0)


def _state(service, j):
    """(error probability, tail) of `service` at minute j, incidents applied."""
    spec = SERVICES[service]
    p, tail = spec["errors"], spec["tail"]
    extra = 0.0
    for _name, svc, kind, first, length, fig in INCIDENTS:
        if svc != service or not first <= j < first + length:
            continue
        if kind == "errors":
            extra = fig["p"]
            tail = fig.get("tail", tail)
        elif kind == "flap":
            if (j - first) % (fig["on"] + fig["off"]) < fig["on"]:
                extra = fig["p"]
        elif kind == "latency":
            tail = fig["tail"]
    return p, extra, tail


def generate_counts(seed):
    """{service: {"total": [...], "500": [...], "503": [...], "buckets": [[per le + Inf]...], "sum": [...]}}
    per minute j = 0 .. MINUTES (minute 0 all zero: the counters' first sample)."""
    out = {}
    for index, service in enumerate(sorted(SERVICES)):
        rng = random.Random(seed * 1000 + index)
        spec = SERVICES[service]
        total, e500, e503, sums = [0], [0], [0], [0.0]
        buckets = [[0] * (len(LE) + 1)]
        for j in range(1, MINUTES + 1):
            minute_of_day = (j * STEP) % 86400 / 60.0
            lam = spec["rate"] * (1 + 0.3 * math.sin(2 * math.pi * minute_of_day / 1440))
            n = _poisson(rng, lam)
            p, extra, tail = _state(service, j)
            outage = _binomial(rng, n, extra)
            base = _binomial(rng, n - outage, p)
            # latency bins: sequential binomials over P(bin) from the tail
            tails = _tail_probs(tail)
            remaining, prev, bins = n, 1.0, []
            for q in tails:
                here = prev - q
                c = _binomial(rng, remaining, here / prev if prev > 0 else 0.0)
                bins.append(c)
                remaining -= c
                prev = q
            bins.append(remaining)
            cumulative, acc = [], 0
            for c in bins:
                acc += c
                cumulative.append(acc)
            total.append(n)
            e500.append(base)
            e503.append(outage)
            buckets.append(cumulative)
            sums.append(sum(c * m for c, m in zip(bins, MIDPOINTS)))
        out[service] = {"total": total, "500": e500, "503": e503, "buckets": buckets, "sum": sums}
    return out


def slo_counts(counts, slo):
    """Per-minute (errors, total) of one SLO from the designed counts."""
    svc = counts[slo["service"]]
    if slo["sli"] == "ratio":
        return [a + b for a, b in zip(svc["500"], svc["503"])], list(svc["total"])
    k = LE.index(slo["threshold"])
    return [row[-1] - row[k] for row in svc["buckets"]], [row[-1] for row in svc["buckets"]]
