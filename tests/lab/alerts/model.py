"""The seeded alert model: which instances exist, when their conditions hold, and the episodes
Prometheus 2.42 makes of that (see SEMANTICS.md). Pure Python, no I/O.

Everything is in evaluation indexes k (evaluation k at start + phase + k * interval); the
condition of an instance is a list of runs [s, e): true at evaluations s .. e-1.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone

DAY = 86400
HA_LABEL = "prometheus_replica"
HA_GROUPS = ("kubernetes",)
HA_OFFSETS_MS = {"a": 0, "b": 20000}  # replica b evaluates 20 s after replica a
PHASE_MS = 7689  # evaluations never land on a window edge

# rule -> (behaviour, instances at default size). Rules of rules.yml absent here never fire.
BASE_INSTANCES = {
    "Watchdog": ("always", 1),
    "NodeDown": ("steady_rare", 4),
    "NodeHighCpu": ("business_hours", 3),
    "NodeDiskFillingUp": ("long_running", 3),
    "HighErrorRate": ("cofire_lead", 3),
    "HighLatencyP99": ("cofire_follower", 3),
    "QueueBacklog": ("flappy", 3),
    "KubePodCrashLooping": ("near_miss", 4),
    "KubeJobFailed": ("reactivating", 3),
    "KubeApiErrorBudgetBurn": ("kept_flappy", 2),
    "QueueDepthHigh": ("value_churn", 3),
    "PaymentsRolloutStuck": ("spread_lead", 5),
    "PaymentsCheckoutErrors": ("spread_follower", 5),
}
COFIRE_PAIRS = {"HighLatencyP99": "HighErrorRate"}  # follower -> lead, same expression labels
# follower -> lead whose few episodes are spread over services: at most two per instance pair,
# so only the rules as a whole show the pattern
SPREAD_PAIRS = {"PaymentsCheckoutErrors": "PaymentsRolloutStuck"}
SPREAD_SERVICES = (0, 1, 2, 3, 4, 0)  # the service of each designed episode, in time order
ERROR_RULES = {"KubeQuotaOvercommit": "many-to-many matching not allowed"}
ALWAYS_FIRING = ("Watchdog",)
SCALE_INSTANCES = 2000

FLAP_STATES, FLAP_HIGH, FLAP_LOW = 21, 30.0, 20.0
COFIRE_MIN_SCORE, COFIRE_MIN_TOGETHER = 0.7, 3


@dataclass
class Episode:
    start: int                 # first active evaluation (ActiveAt)
    fire: int | None           # first firing evaluation; None for a near miss
    last: int                  # last active (firing, or pending for a near miss) evaluation


@dataclass
class Instance:
    rule: str
    behaviour: str
    labels: dict               # expression labels + rule labels + alertname (no alertstate)
    replicas: tuple            # () or ("a", "b")
    episodes: list = field(default_factory=list)


@dataclass
class Timeline:
    start_ms: int              # window start
    interval_ms: int
    evaluations: int

    def t_ms(self, k: int, offset_ms: int = 0) -> int:
        return self.start_ms + PHASE_MS + k * self.interval_ms + offset_ms

    def k_at(self, unix_s: float) -> int:
        """First evaluation at or after unix_s."""
        return math.ceil((unix_s * 1000 - self.start_ms - PHASE_MS) / self.interval_ms)

    def evals(self, seconds: float) -> int:
        return max(1, int(seconds * 1000 // self.interval_ms))


# ---------------------------------------------------------------- behaviours (condition runs)

def _runs_every(rng, tl, lo, hi, mean_gap_s, length):
    """Runs starting at Poisson times in [lo, hi) with lengths from length(rng)."""
    runs, k = [], lo + int(rng.expovariate(1.0 / tl.evals(mean_gap_s)))
    while k < hi:
        n = length(rng)
        runs.append((k, k + n))
        k += n + 2 + int(rng.expovariate(1.0 / tl.evals(mean_gap_s)))
    return runs


def b_always(rng, tl, index, p, warm):
    return [(-warm, tl.evaluations + 10)]


def b_steady_rare(rng, tl, index, p, warm):
    return _runs_every(rng, tl, -warm, tl.evaluations, 3 * DAY, lambda r: p + r.randint(tl.evals(600), tl.evals(7200)))


def b_business_hours(rng, tl, index, p, warm):
    runs = []
    first_day = (tl.start_ms // 1000) // DAY
    for day in range(first_day, first_day + tl.evaluations * tl.interval_ms // 1000 // DAY + 2):
        if datetime.fromtimestamp(day * DAY, timezone.utc).weekday() >= 5 or rng.random() > 0.8:
            continue
        begin = tl.k_at(day * DAY + 9 * 3600 + rng.uniform(0, 7200))
        runs.append((begin, begin + p + rng.randint(tl.evals(1200), tl.evals(5400))))
    return runs


def b_long_running(rng, tl, index, p, warm):
    n, runs = tl.evaluations, []
    k = tl.evals(rng.uniform(DAY, 3 * DAY))
    if index % 3 == 0:  # active since before the window start
        runs.append((-tl.evals(rng.uniform(DAY, 3 * DAY)), k))
        k += tl.evals(rng.uniform(3 * DAY, 6 * DAY))
    if index % 3 == 2:  # pending at the window start, firing inside it: a complete episode
        runs.append((-(p // 2), p - p // 2 + tl.evals(2 * 3600)))
    stop = n - tl.evals(4 * DAY) if index % 3 == 1 else n - tl.evals(DAY)
    while k < stop:
        length = tl.evals(rng.uniform(DAY / 2, 2.5 * DAY))
        runs.append((k, min(k + length, stop)))
        k += length + tl.evals(rng.uniform(4 * DAY, 9 * DAY))
    if index % 3 == 1:  # still firing at the window end
        runs.append((n - tl.evals(rng.uniform(DAY / 2, 2 * DAY)), n + 10))
    return runs


def b_cofire_lead(rng, tl, index, p, warm):
    return _runs_every(rng, tl, 0, tl.evaluations - tl.evals(DAY), 1.2 * DAY, lambda r: p + r.randint(tl.evals(900), tl.evals(3600)))


def b_flappy(rng, tl, index, p, warm):
    runs = []
    for lo, hi in _runs_every(rng, tl, 0, tl.evaluations - tl.evals(DAY), 1.5 * DAY, lambda r: r.randint(tl.evals(1800), tl.evals(7200))):
        k = lo
        while k < hi:
            on = p + rng.randint(1, 3)
            runs.append((k, k + on))
            k += on + rng.randint(1, 4)
    return runs


def b_near_miss(rng, tl, index, p, warm):
    runs, k, n = [], tl.evals(3600), tl.evaluations - tl.evals(DAY)
    only_near = index % 4 == 0
    while k < n:
        roll = rng.random()
        if only_near or roll < 0.7:  # pending, never reaches `for`
            length = rng.randint(2, p)
            runs.append((k, k + length))
        else:
            length = p + rng.randint(tl.evals(300), tl.evals(10800))
            runs.append((k, k + length))
            if roll > 0.9:  # one false evaluation, then active again: a new activation
                k += length + 1
                length = p + rng.randint(tl.evals(300), tl.evals(3600))
                runs.append((k, k + length))
        k += length + 2 + int(rng.expovariate(1.0 / tl.evals(10 * 3600)))
    return runs


def b_reactivating(rng, tl, index, p, warm):
    runs = []
    for lo, _ in _runs_every(rng, tl, 0, tl.evaluations - tl.evals(DAY), DAY, lambda r: 1):
        k = lo
        for _ in range(rng.randint(2, 3)):  # runs separated by exactly one false evaluation
            length = p + rng.randint(tl.evals(300), tl.evals(2400))
            runs.append((k, k + length))
            k += length + 1
    return runs


def b_kept_flappy(rng, tl, index, p, warm):
    runs = []
    for lo, hi in _runs_every(rng, tl, 0, tl.evaluations - tl.evals(DAY), 2 * DAY, lambda r: r.randint(tl.evals(3600), tl.evals(4 * 3600))):
        k = lo
        while k < hi:
            on = p + rng.randint(1, 6)
            runs.append((k, k + on))
            k += on + (rng.randint(1, 9) if rng.random() < 0.85 else rng.randint(12, 20))
    return runs


def b_value_churn(rng, tl, index, p, warm):
    """Short firings about twice a day, each with the value that names it."""
    return _runs_every(rng, tl, 0, tl.evaluations - tl.evals(DAY), 10 * 3600, lambda r: p + r.randint(1, 3))


BEHAVIOURS = {
    "always": b_always, "steady_rare": b_steady_rare, "business_hours": b_business_hours,
    "long_running": b_long_running, "cofire_lead": b_cofire_lead, "flappy": b_flappy,
    "near_miss": b_near_miss, "reactivating": b_reactivating, "kept_flappy": b_kept_flappy,
    "value_churn": b_value_churn,
}


# ---------------------------------------------------------------- Prometheus' state machine

def normalise(runs):
    """Sort and join runs that touch (a run ending at e and one starting at e are one run)."""
    out = []
    for s, e in sorted(runs):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def episodes_from_runs(runs, pending_evals, keep_evals):
    """Alerting-rule semantics of 2.42 (rules/alerting.go) on a condition given as runs.

    A run fires when it is still true `pending_evals` evaluations after it started. Once firing,
    `keep_firing_for` holds it for `keep_evals` false evaluations, and a run starting within
    them continues the same alert (same ActiveAt). A run that never fires is a near miss.
    """
    episodes, i = [], 0
    while i < len(runs):
        s, e = runs[i]
        i += 1
        if e - s <= pending_evals:
            episodes.append(Episode(s, None, e - 1))
            continue
        while keep_evals and i < len(runs) and runs[i][0] <= e + keep_evals:
            e = runs[i][1]
            i += 1
        episodes.append(Episode(s, s + pending_evals, e - 1 + keep_evals))
    return episodes


def clip_to_window(episodes, n):
    """Keep what the window shows unambiguously: drop episodes wholly outside it, near misses
    cut by an edge, and alerts still pending at the end (their fate is unknown)."""
    kept = []
    for ep in episodes:
        if ep.last < 0 or ep.start >= n:
            continue
        if ep.fire is None and (ep.start < 0 or ep.last >= n - 1):
            continue
        if ep.fire is not None and ep.fire > n - 1:
            continue
        kept.append(ep)
    return kept


# ---------------------------------------------------------------- the population

def _instance_labels(rule, index):
    if rule.startswith("Node"):
        return {"instance": f"node-{index:04d}:9100", "job": "node"}
    if rule in ("HighErrorRate", "HighLatencyP99", "PaymentsRolloutStuck", "PaymentsCheckoutErrors"):
        return {"namespace": "payments", "service": f"svc-{index:04d}"}
    if rule == "QueueDepthHigh":  # the rule templates `depth` from $value: few values, each its own alert
        return {"namespace": "payments", "queue": "orders", "depth": str(5210 + 37 * index * (index + 1))}
    if rule == "QueueBacklog":
        return {"namespace": "payments", "queue": f"queue-{index:04d}"}
    if rule == "KubePodCrashLooping":
        return {"namespace": f"team-{index % 7}", "pod": f"worker-{index:04d}", "container": "app",
                "reason": "CrashLoopBackOff"}
    if rule == "KubeJobFailed":
        return {"namespace": f"team-{index % 7}", "job_name": f"batch-{index:04d}", "condition": "true"}
    if rule == "KubeApiErrorBudgetBurn":
        return {"slo": f"apiserver-{index:04d}"}
    return {}


def instance_counts(scale):
    counts = {rule: n for rule, (_, n) in BASE_INSTANCES.items()}
    if not scale:
        return counts
    unscaled = ALWAYS_FIRING + tuple(SPREAD_PAIRS) + tuple(SPREAD_PAIRS.values())  # a fixed design at any size
    fixed = sum(counts[r] for r in unscaled)
    base = sum(n for r, n in counts.items() if r not in unscaled)
    want = SCALE_INSTANCES - fixed
    exact = {r: n * want / base for r, n in counts.items() if r not in unscaled}
    scaled = {r: int(x) for r, x in exact.items()}
    for r in sorted(exact, key=lambda r: exact[r] - scaled[r], reverse=True)[:want - sum(scaled.values())]:
        scaled[r] += 1
    if scaled.get("HighLatencyP99", 0) > scaled.get("HighErrorRate", 0):  # every follower needs its lead
        scaled["HighErrorRate"], scaled["HighLatencyP99"] = scaled["HighLatencyP99"], scaled["HighErrorRate"]
    return {**counts, **scaled}


def _pending_evals(rules, rule, tl):
    return math.ceil(rules[rule]["for_seconds"] / (tl.interval_ms / 1000))


def spread_runs(rng, tl, p):
    """service index -> runs: len(SPREAD_SERVICES) episodes, one in each equal slot of the window."""
    slot = (tl.evaluations - 2 * tl.evals(DAY)) // len(SPREAD_SERVICES)
    runs = {}
    for j, service in enumerate(SPREAD_SERVICES):
        begin = tl.evals(DAY) + j * slot + rng.randint(0, slot - tl.evals(3 * 3600))
        runs.setdefault(service, []).append((begin, begin + p + rng.randint(tl.evals(1200), tl.evals(3600))))
    return runs


def _runs(rules, tl, seed, rule, behaviour, index, p, warm):
    """The condition runs of one instance; followers copy their lead's runs, starting 1-2 evaluations later."""
    if behaviour in ("cofire_follower", "spread_follower"):
        lead = {**COFIRE_PAIRS, **SPREAD_PAIRS}[rule]
        lead_runs = _runs(rules, tl, seed, lead, BASE_INSTANCES[lead][0], index, _pending_evals(rules, lead, tl), warm)
        rng = random.Random(f"{seed}:{rule}:{index}")
        return [(s + rng.randint(1, 2), e + rng.randint(0, 2)) for s, e in lead_runs]
    if behaviour == "spread_lead":
        return spread_runs(random.Random(f"{seed}:{rule}:spread"), tl, p).get(index, [])
    return BEHAVIOURS[behaviour](random.Random(f"{seed}:{rule}:{index}"), tl, index, p, warm)


def build_population(rules, tl, seed, scale):
    """rules: {name: {group, for_seconds, keep_firing_for_seconds, labels}} from rules.yml."""
    warm = tl.evals(10 * DAY)
    instances = []
    for rule, count in sorted(instance_counts(scale).items()):
        behaviour = BASE_INSTANCES[rule][0]
        spec = rules[rule]
        p = _pending_evals(rules, rule, tl)
        keep = math.ceil(spec["keep_firing_for_seconds"] / (tl.interval_ms / 1000))
        for index in range(count):
            runs = _runs(rules, tl, seed, rule, behaviour, index, p, warm)
            episodes = clip_to_window(episodes_from_runs(normalise(runs), p, keep), tl.evaluations)
            labels = {**spec["labels"], **_instance_labels(rule, index), "alertname": rule}
            name = behaviour
            if behaviour == "near_miss" and index % 4 == 0:
                name = "near_miss_only"
            elif behaviour == "long_running" and index % 3 != 2:
                name = ("long_running_truncated", "long_running_open")[index % 3]
            replicas = tuple(HA_OFFSETS_MS) if spec["group"] in HA_GROUPS else ()
            instances.append(Instance(rule, name, labels, replicas, episodes))
    return instances
