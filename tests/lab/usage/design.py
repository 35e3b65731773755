"""The designed workloads of the rightsizing lab namespace: who they are, what they really use.

Each archetype is one workload of `lab-rightsizing` (seed/80-rightsizing.yaml holds the same
names, containers and current requests/limits). Its containers carry the *true* demand (CPU cores
and memory bytes per minute, noise redrawn every 5 minutes); model.py turns that demand into what
cAdvisor and kube-state-metrics would have exported (usage censored at the CPU limit, throttled
CFS periods, OOM kills between scrapes, restarts, owner chains), and truth.py derives the designed
recommendation from the true demand, not from the exported series.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

NAMESPACE = "lab-rightsizing"
CLUSTER = "lab"
MI = 1024 ** 2
GI = 1024 ** 3
DAY = 1440            # minutes
NODES = ("lab-worker-0", "lab-worker-1", "lab-worker-2")


@dataclass
class Container:
    name: str
    requests: dict                      # {"cpu": cores, "memory": bytes}
    limits: dict
    cpu: tuple                          # (shape, mean cores, sd cores, extra...)
    mem: tuple                          # (shape, mean bytes, sd bytes, extra...)
    net_bps: float = 20000.0            # receive bytes/s of the pod while busy
    rps: float = 0.0                    # requests/s served while busy (http_requests_total; 0 = not exported)
    old_requests: dict | None = None    # requests/limits before a mid-history change
    old_limits: dict | None = None


@dataclass
class Archetype:
    name: str
    kind: str                           # Deployment | StatefulSet | CronJob
    archetype: str
    replicas: int
    containers: list
    expect: dict = field(default_factory=dict)
    rollout_days: float = 0.0           # a new ReplicaSet every N days (pods renamed, rescheduled)
    change_day: float | None = None     # requests/limits changed (new ReplicaSet) on this day
    age_hours: float | None = None      # created this long before the window end
    idle_from_day: float | None = None  # idle from this day on
    job_every_minutes: int = 0
    job_minutes: int = 0
    restarts: int = 0                   # container restarts (reason Error) spread over the window
    hpa: dict | None = None             # {"min": n, "max": n, "cpu_utilization": percent}
    ksm_owner: bool = True              # False: kube-state-metrics never listed its pods (kube_pod_owner)


def res(cpu, memory):
    out = {}
    if cpu is not None:
        out["cpu"] = cpu
    if memory is not None:
        out["memory"] = memory
    return out


ARCHETYPES = [
    Archetype("steady-api", "Deployment", "steady_over_provisioned", 3, [
        Container("api", res(2.0, 4 * GI), res(2.0, 4 * GI), ("steady", 0.20, 0.02), ("steady", 300 * MI, 6 * MI))]),
    Archetype("starved-worker", "Deployment", "cpu_starved_throttled", 2, [
        Container("worker", res(0.25, 512 * MI), res(0.5, 512 * MI), ("steady", 0.75, 0.04), ("steady", 260 * MI, 6 * MI))]),
    Archetype("oom-cache", "StatefulSet", "memory_oom_kills", 1, [
        Container("cache", res(0.1, 512 * MI), res(None, 512 * MI), ("steady", 0.05, 0.005), ("leak", 300 * MI, 4 * MI, 560 * MI, 3.0))]),
    Archetype("daily-web", "Deployment", "daily_cycle", 2, [
        Container("web", res(1.0, 1 * GI), res(None, 1 * GI), ("daily", 0.30, 0.02, 0.25), ("daily", 600 * MI, 6 * MI, 200 * MI)),
        Container("envoy", res(0.1, 128 * MI), res(None, 128 * MI), ("steady", 0.05, 0.004), ("steady", 90 * MI, 2 * MI))]),
    Archetype("batch-report", "CronJob", "spiky_batch_job", 1, [
        Container("report", res(0.5, 1 * GI), res(None, 1 * GI), ("steady", 1.5, 0.08), ("steady", 700 * MI, 20 * MI))],
        job_every_minutes=120, job_minutes=15),
    Archetype("idle-legacy", "Deployment", "idle_for_days", 1, [
        Container("app", res(0.5, 512 * MI), res(None, 512 * MI), ("steady", 0.30, 0.03), ("steady", 200 * MI, 4 * MI), rps=25.0)],
        idle_from_day=9.0),
    Archetype("hpa-frontend", "Deployment", "hpa_managed", 2, [
        Container("frontend", res(1.0, 512 * MI), res(None, 512 * MI), ("steady", 0.35, 0.02), ("steady", 250 * MI, 5 * MI))],
        hpa={"min": 2, "max": 6, "cpu_utilization": 70}),
    Archetype("resized-search", "Deployment", "requests_changed", 2, [Container(
        "search", res(0.6, 1 * GI), res(None, 1 * GI), ("steady", 0.40, 0.03), ("steady", 500 * MI, 8 * MI),
        old_requests=res(2.0, 2 * GI), old_limits=res(None, 2 * GI))], change_day=7.0),
    Archetype("fresh-service", "Deployment", "new_workload", 1, [
        Container("svc", res(0.5, 512 * MI), res(None, 512 * MI), ("steady", 0.10, 0.01), ("steady", 120 * MI, 3 * MI))],
        age_hours=6.0),
    Archetype("churny-queue", "Deployment", "restarted_rescheduled", 3, [
        Container("consumer", res(0.5, 768 * MI), res(None, 768 * MI), ("steady", 0.50, 0.03), ("steady", 400 * MI, 8 * MI))],
        rollout_days=2.0, restarts=4),
    # CPU, network and memory all quiet, yet it serves requests: not idle (and kube_pod_owner never listed its pods)
    Archetype("quiet-api", "Deployment", "quiet_but_serving", 2, [
        Container("api", res(0.4, 512 * MI), res(None, 512 * MI), ("steady", 0.01, 0.001), ("steady", 150 * MI, 3 * MI),
                  net_bps=400.0, rps=0.5)], ksm_owner=False),
    # CPU and network quiet, but it reloads its data set every hour: the working set moving says busy
    Archetype("loader-cache", "Deployment", "memory_active", 1, [
        Container("loader", res(0.5, 1280 * MI), res(None, 1280 * MI), ("steady", 0.012, 0.001), ("hourly", 300 * MI, 5 * MI, 600 * MI, 20),
                  net_bps=300.0)]),
]


def cpu_demand(shape, minute_of_window, day_start_minute, noise):
    """Cores wanted at one minute: the shape's mean (and daily swing) plus the 5-minute noise."""
    kind, mean, sd = shape[0], shape[1], shape[2]
    value = mean + sd * noise
    if kind == "daily":
        value += shape[3] * daily(minute_of_window + day_start_minute)
    return max(value, 0.001)


def mem_demand(shape, minute_of_window, day_start_minute, age_minutes, noise):
    """Working-set bytes wanted at one minute; a leak grows from the mean to shape[3] in shape[4] days."""
    kind, mean, sd = shape[0], shape[1], shape[2]
    value = mean + sd * noise
    if kind == "daily":
        value += shape[3] * daily(minute_of_window + day_start_minute)
    elif kind == "leak":
        value += (shape[3] - mean) * age_minutes / (shape[4] * DAY)
    elif kind == "hourly":   # shape[3] more for the first shape[4] minutes of every hour
        value += shape[3] if (minute_of_window + day_start_minute) % 60 < shape[4] else 0.0
    return max(value, 1.0)


def daily(minute_of_day_abs):
    """0..1 swing peaking at 14:00 UTC, flat 0 through the night."""
    hours = (minute_of_day_abs % DAY) / 60.0
    return max(0.0, math.sin(2 * math.pi * (hours - 8.0) / 24.0))
