"""Turn the design's true demand into the series cAdvisor and kube-state-metrics export.

One `Series` per exported label set: its first minute index and its values, one per minute (the
lab scrapes every 60 s). What the exporters do and the model copies:
- cAdvisor: `container_cpu_usage_seconds_total` counts what the container *got* (censored at its
  CPU limit), `container_cpu_cfs_periods_total` / `_throttled_periods_total` only exist with a CPU
  limit (600 periods of 100 ms a minute; a period is throttled when the quota ran out, so the
  throttled share is the demand the quota refused, 1 - limit/demand); counters start at 0 with a
  new container, whose `id`/`name` labels change; `container_network_receive_bytes_total` is per
  pod (container="POD"). An OOM kill happens between two scrapes: the last scrape before it
  shows less than the limit.
- kube-state-metrics: `kube_pod_owner`, `kube_replicaset_owner`, `kube_job_owner`,
  `kube_pod_container_resource_requests`/`_limits` {resource, unit}, `_status_restarts_total`,
  `_status_last_terminated_reason` {reason} (only the last reason: a later Error forgets an OOM),
  `kube_horizontalpodautoscaler_info` / `_spec_target_metric` / `_spec_min_replicas` /
  `_spec_max_replicas` / `_status_current_replicas`.
"""
from __future__ import annotations

import hashlib
import random
from array import array

from tests.lab.usage import design

KSM = {"job": "kube-state-metrics", "instance": "10.0.9.9:8080"}
PERIODS_PER_MINUTE = 600


class Series:
    __slots__ = ("labels", "k0", "values", "raw_labels")

    def __init__(self, labels, k0):
        self.labels = labels
        self.k0 = k0
        self.values = array("d")

    @property
    def k1(self):
        return self.k0 + len(self.values)


def _hex(*parts, n=10):
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()[:n]


def _suffix(*parts, n=5):
    """Name characters as Kubernetes draws them (rand.SafeEncodeString: no vowels, no 0, 1, 3)."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:n])


class Pod:
    def __init__(self, arch, name, node, k0, k1, owner_kind, owner_name, requests_of, limits_of):
        self.arch, self.name, self.node, self.k0, self.k1 = arch, name, node, k0, k1
        self.owner_kind, self.owner_name = owner_kind, owner_name
        self.requests_of, self.limits_of = requests_of, limits_of   # container name -> dict
        self.uid = "%s-%s-%s-%s" % (_hex(name, n=8), _hex(name, 1, n=4), _hex(name, 2, n=4), _hex(name, 3, n=12))


def plan_pods(arch, n, start_minute):
    """The pods an archetype had in the window [0, n) minutes, and its owner objects
    ([(kind, name, owner kind, owner name, first k)])."""
    ns_seed = design.NAMESPACE + "/" + arch.name
    pods, owners = [], []
    cur = {c.name: c.requests for c in arch.containers}
    cur_lim = {c.name: c.limits for c in arch.containers}
    if arch.kind == "CronJob":
        k = (-start_minute) % arch.job_every_minutes
        while k < n:
            job = "%s-%d" % (arch.name, (start_minute + k))
            owners.append(("Job", job, "CronJob", arch.name, k))
            pods.append(Pod(arch, "%s-%s" % (job, _suffix(job)), design.NODES[(k // arch.job_every_minutes) % 3],
                            k, min(n, k + arch.job_minutes), "Job", job, cur, cur_lim))
            k += arch.job_every_minutes
        return pods, owners
    first = 0 if arch.age_hours is None else n - int(arch.age_hours * 60)
    cuts = [first]
    if arch.rollout_days:
        step = int(arch.rollout_days * design.DAY)
        cuts += list(range(first + step, n, step))
    if arch.change_day is not None:
        cuts.append(int(arch.change_day * design.DAY))
    cuts = sorted(set(cuts)) + [n]
    for gen, (a, b) in enumerate(zip(cuts, cuts[1:])):
        old = arch.change_day is not None and a < arch.change_day * design.DAY
        reqs = {c.name: (c.old_requests if old and c.old_requests else c.requests) for c in arch.containers}
        lims = {c.name: (c.old_limits if old and c.old_limits is not None else c.limits) for c in arch.containers}
        if arch.kind == "StatefulSet":
            owner_kind, owner_name = "StatefulSet", arch.name
            names = ["%s-%d" % (arch.name, i) for i in range(arch.replicas)]
        else:
            rs = "%s-%s" % (arch.name, _suffix(arch.name, gen, reqs, n=9))
            owners.append(("ReplicaSet", rs, "Deployment", arch.name, a))
            owner_kind, owner_name = "ReplicaSet", rs
            names = ["%s-%s" % (rs, _suffix(rs, i)) for i in range(arch.replicas)]
        for i, name in enumerate(names):
            pods.append(Pod(arch, name, design.NODES[(gen + i) % 3], a, b, owner_kind, owner_name, reqs, lims))
    del ns_seed
    return pods, owners


def _labels(metric, **labels):
    out = {"__name__": metric, "cluster": design.CLUSTER}
    out.update(labels)
    return out


def _constant(series_list, labels, k0, k1, value):
    s = Series(labels, k0)
    s.values.extend([float(value)] * (k1 - k0))
    series_list.append(s)


def simulate(pod, container, seed, start_minute, restart_minutes, out, truth_rows):
    """Append the pod-container's series to `out`; its true demand per minute to truth_rows."""
    rng = random.Random("%s/%s/%s" % (seed, pod.name, container.name))
    ns = design.NAMESPACE
    req, lim = pod.requests_of[container.name], pod.limits_of[container.name]
    cpu_limit, mem_limit = lim.get("cpu"), lim.get("memory")
    image = "registry.example/rightsizing/%s:1" % container.name
    base = dict(namespace=ns, pod=pod.name, container=container.name, node=pod.node)
    cad = dict(job="kubelet", metrics_path="/metrics/cadvisor", instance=pod.node, image=image, **base)
    ksm_c = dict(KSM, namespace=ns, pod=pod.name, uid=pod.uid, container=container.name)
    for resource, value in req.items():
        _constant(out, _labels("kube_pod_container_resource_requests", resource=resource,
                               unit="core" if resource == "cpu" else "byte", node=pod.node, **ksm_c), pod.k0, pod.k1, value)
    for resource, value in lim.items():
        _constant(out, _labels("kube_pod_container_resource_limits", resource=resource,
                               unit="core" if resource == "cpu" else "byte", node=pod.node, **ksm_c), pod.k0, pod.k1, value)
    restarts = Series(_labels("kube_pod_container_status_restarts_total", **ksm_c), pod.k0)
    out.append(restarts)
    reason_series = None
    incarnation, age = 0, 0
    cpu_s = mem_s = per_s = thr_s = None
    cpu_total = periods = throttled = 0.0
    count = 0
    noise_c = noise_m = 0.0
    idle_from = int(pod.arch.idle_from_day * design.DAY) if pod.arch.idle_from_day is not None else None

    def new_container(k):
        nonlocal cpu_s, mem_s, per_s, thr_s, cpu_total, periods, throttled, age
        cid = _hex(pod.uid, container.name, incarnation, n=64)
        ident = dict(cad, id="/kubepods/burstable/pod%s/%s" % (pod.uid, cid), name=cid)
        cpu_s = Series(_labels("container_cpu_usage_seconds_total", cpu="total", **ident), k)
        mem_s = Series(_labels("container_memory_working_set_bytes", **ident), k)
        out.extend((cpu_s, mem_s))
        if cpu_limit:
            per_s = Series(_labels("container_cpu_cfs_periods_total", **ident), k)
            thr_s = Series(_labels("container_cpu_cfs_throttled_periods_total", **ident), k)
            out.extend((per_s, thr_s))
        cpu_total = periods = throttled = 0.0
        age = 0

    def terminate(k, reason):
        nonlocal reason_series, count, incarnation
        count += 1
        incarnation += 1
        if reason_series is None or reason_series.labels["reason"] != reason:
            reason_series = Series(_labels("kube_pod_container_status_last_terminated_reason", reason=reason, **ksm_c), k)
            out.append(reason_series)
        new_container(k)

    new_container(pod.k0)
    for k in range(pod.k0, pod.k1):
        if k % 5 == 0 or k == pod.k0:
            noise_c, noise_m = rng.gauss(0, 1), rng.gauss(0, 1)
        idle = idle_from is not None and k >= idle_from
        cpu = 0.002 + 0.0005 * abs(noise_c) if idle else design.cpu_demand(container.cpu, k, start_minute, noise_c)
        mem = design.mem_demand(container.mem, k, start_minute, age, noise_m)
        if k in restart_minutes:
            terminate(k, "Error")
            mem = design.mem_demand(container.mem, k, start_minute, 0, noise_m)
        elif mem_limit and mem >= mem_limit:
            terminate(k, "OOMKilled")   # killed between the last scrape and this one
            mem = design.mem_demand(container.mem, k, start_minute, 0, noise_m)
        got = min(cpu, cpu_limit) if cpu_limit else cpu
        cpu_total += got * 60
        cpu_s.values.append(cpu_total)
        mem_s.values.append(mem)
        if cpu_limit:
            share = 1.0 - cpu_limit / cpu if cpu > cpu_limit else 0.0
            periods += PERIODS_PER_MINUTE
            throttled += round(PERIODS_PER_MINUTE * share)
            per_s.values.append(periods)
            thr_s.values.append(throttled)
        restarts.values.append(float(count))
        if reason_series is not None:
            reason_series.values.append(1.0)
        truth_rows.append((k, pod.name, cpu, mem, idle))
        age += 1


def network(pod, out):
    idle_from = int(pod.arch.idle_from_day * design.DAY) if pod.arch.idle_from_day is not None else None
    bps = max(c.net_bps for c in pod.arch.containers)
    base = dict(job="kubelet", metrics_path="/metrics/cadvisor", instance=pod.node, node=pod.node, namespace=design.NAMESPACE,
                pod=pod.name, container="POD", interface="eth0", id="/kubepods/burstable/pod%s" % pod.uid, name="")
    rx = Series(_labels("container_network_receive_bytes_total", **base), pod.k0)
    tx = Series(_labels("container_network_transmit_bytes_total", **base), pod.k0)
    total = 0.0
    for k in range(pod.k0, pod.k1):
        total += (150.0 if idle_from is not None and k >= idle_from else bps) * 60
        rx.values.append(total)
        tx.values.append(total / 2)
    out.extend((rx, tx))
    rps = max(c.rps for c in pod.arch.containers)
    if rps:   # the app's own counter, scraped from the pod (kubernetes_sd relabels namespace and pod)
        app = dict(job="app", instance="%s:8080" % pod.name, namespace=design.NAMESPACE, pod=pod.name, method="GET")
        for code, share in (("200", 0.98), ("500", 0.02)):
            served = Series(_labels("http_requests_total", code=code, **app), pod.k0)
            total = 0.0
            for k in range(pod.k0, pod.k1):
                total += 0.0 if idle_from is not None and k >= idle_from else rps * share * 60
                served.values.append(total)
            out.append(served)


def build(seed, n, start_minute):
    """(series, pods, true demand rows per (archetype, container))."""
    out, pods_all, truth = [], [], {}
    for arch in design.ARCHETYPES:
        pods, owners = plan_pods(arch, n, start_minute)
        for kind, name, owner_kind, owner_name, k0 in owners:
            if kind == "ReplicaSet":
                _constant(out, _labels("kube_replicaset_owner", replicaset=name, owner_kind=owner_kind, owner_name=owner_name,
                                       owner_is_controller="true", namespace=design.NAMESPACE, **KSM), k0, n, 1)
            else:   # a finished Job stays listed until the CronJob's history limit removes it (~6 runs later)
                _constant(out, _labels("kube_job_owner", job_name=name, owner_kind=owner_kind, owner_name=owner_name,
                                       owner_is_controller="true", namespace=design.NAMESPACE, **KSM), k0, min(n, k0 + 6 * arch.job_every_minutes), 1)
        rng = random.Random("%s/%s/restarts" % (seed, arch.name))
        restart_at = {}
        for _ in range(arch.restarts):
            pod = rng.choice(pods)
            restart_at.setdefault(pod.name, set()).add(rng.randrange(pod.k0 + 60, pod.k1 - 60))
        for pod in pods:
            if arch.ksm_owner:
                _constant(out, _labels("kube_pod_owner", namespace=design.NAMESPACE, pod=pod.name, uid=pod.uid, owner_kind=pod.owner_kind,
                                       owner_name=pod.owner_name, owner_is_controller="true", **KSM), pod.k0, pod.k1, 1)
            for container in arch.containers:
                simulate(pod, container, seed, start_minute, restart_at.get(pod.name, set()), out,
                         truth.setdefault((arch.name, container.name), []))
            network(pod, out)
        if arch.hpa:
            hpa = dict(KSM, namespace=design.NAMESPACE, horizontalpodautoscaler=arch.name)
            _constant(out, _labels("kube_horizontalpodautoscaler_info", scaletargetref_api_version="apps/v1",
                                   scaletargetref_kind=arch.kind, scaletargetref_name=arch.name, **hpa), 0, n, 1)
            _constant(out, _labels("kube_horizontalpodautoscaler_spec_target_metric", metric_name="cpu",
                                   metric_target_type="utilization", **hpa), 0, n, arch.hpa["cpu_utilization"])
            _constant(out, _labels("kube_horizontalpodautoscaler_spec_min_replicas", **hpa), 0, n, arch.hpa["min"])
            _constant(out, _labels("kube_horizontalpodautoscaler_spec_max_replicas", **hpa), 0, n, arch.hpa["max"])
            _constant(out, _labels("kube_horizontalpodautoscaler_status_current_replicas", **hpa), 0, n, arch.replicas)
        pods_all += pods
    return out, pods_all, truth
