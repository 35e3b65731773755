"""The usage history at bench scale: 2,000 containers x 14 days at a 30 s scrape (`lab.py up --scale`).

20 namespaces `bench-rs-00` .. `bench-rs-19`, each with Deployments `svc-00` .. `svc-49` of 2 replicas
and one container `app` (every 4th with a CPU limit, so with CFS series), the same cAdvisor and
kube-state-metrics series as the small lab. Demand is drawn per 5-minute block; the samples are
built with array/itertools and encoded with fixed-size protobuf samples (18 bytes each: the
timestamps of the window share one varint length) so Python never loops per sample.
"""
from __future__ import annotations

import hashlib
import itertools
import random
from array import array

from tests.lab.alerts import remote_write

INTERVAL = 30
NAMESPACES = 20
DEPLOYMENTS = 50
REPLICAS = 2
SLICE = 720              # samples per remote-write request (6 h)
BLOCK = 10               # samples per demand block (5 min)
MI = 1024 ** 2
KSM = {"job": "kube-state-metrics", "instance": "10.0.9.9:8080", "cluster": "bench"}


def _h(*parts):
    return int(hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:8], 16)


class Big:
    """One series whose samples are made slice by slice (time order across every series, as the
    receiver's head needs): a constant, a gauge of 5-minute blocks, or a counter adding per-sample
    increments (constant or per block) to its running total."""
    __slots__ = ("labels", "kind", "data", "total", "raw_labels")

    def __init__(self, labels, kind, data):
        self.labels, self.kind, self.data, self.total = labels, kind, data, 0.0

    def make(self, lo, hi):
        m = hi - lo
        if self.kind == "const":
            return array("d", [self.data]) * m
        if self.kind == "rate":
            steps = itertools.repeat(self.data, m)
        else:
            steps = itertools.islice(itertools.chain.from_iterable(itertools.repeat(v, BLOCK) for v in self.data[lo // BLOCK:hi // BLOCK + 1]), m)
            if self.kind == "gauge":
                return array("d", steps)
        out = array("d", itertools.accumulate(steps, initial=self.total))[1:]
        self.total = out[-1]
        return out


def namespace_series(ns_index, nb, seed):
    """Every series of one namespace; nb = 5-minute blocks in the window."""
    ns = "bench-rs-%02d" % ns_index
    out = []
    for d in range(DEPLOYMENTS):
        name = "svc-%02d" % d
        rs = "%s-%08x" % (name, _h(ns, name))
        out.append(Big(dict(KSM, __name__="kube_replicaset_owner", namespace=ns, replicaset=rs, owner_kind="Deployment",
                            owner_name=name, owner_is_controller="true"), "const", 1.0))
        mean_cpu = 0.05 + (_h(ns, name, "cpu") % 950) / 1000.0
        mean_mem = (100 + _h(ns, name, "mem") % 900) * MI
        cpu_limit = mean_cpu * 1.1 if d % 4 == 0 else None
        for r in range(REPLICAS):
            pod = "%s-%05x" % (rs, _h(rs, r) % 0xFFFFF)
            node = "lab-scale-node-%03d" % (_h(pod) % 500)
            rng = random.Random("%s/%s" % (seed, pod))
            uid = "%032x" % _h(pod, "uid")
            out.append(Big(dict(KSM, __name__="kube_pod_owner", namespace=ns, pod=pod, uid=uid, owner_kind="ReplicaSet", owner_name=rs,
                                owner_is_controller="true"), "const", 1.0))
            ctr = dict(KSM, namespace=ns, pod=pod, uid=uid, container="app")
            for metric, resource, value in (("requests", "cpu", round(mean_cpu * 2, 3)), ("requests", "memory", float(2 * mean_mem)),
                                            ("limits", "memory", float(2 * mean_mem))):
                out.append(Big(dict(ctr, __name__="kube_pod_container_resource_" + metric, resource=resource, node=node,
                                    unit="core" if resource == "cpu" else "byte"), "const", value))
            out.append(Big(dict(ctr, __name__="kube_pod_container_status_restarts_total"), "const", 0.0))
            demand = [max(0.001, mean_cpu + 0.1 * mean_cpu * rng.gauss(0, 1)) for _ in range(nb)]
            cad = {"job": "kubelet", "metrics_path": "/metrics/cadvisor", "instance": node, "node": node, "cluster": "bench",
                   "namespace": ns, "pod": pod, "container": "app", "image": "registry.example/bench/app:1",
                   "id": "/kubepods/burstable/pod%s/%064x" % (uid, _h(pod, "cid")), "name": "%064x" % _h(pod, "cid")}
            out.append(Big(dict(cad, __name__="container_cpu_usage_seconds_total", cpu="total"), "counter",
                           array("d", [(min(v, cpu_limit) if cpu_limit else v) * INTERVAL for v in demand])))
            out.append(Big(dict(cad, __name__="container_memory_working_set_bytes"), "gauge",
                           array("d", [max(MI, mean_mem + 0.05 * mean_mem * rng.gauss(0, 1)) for _ in range(nb)])))
            if cpu_limit:
                out.append(Big(dict(cad, __name__="container_cpu_cfs_periods_total"), "rate", 300.0))
                out.append(Big(dict(cad, __name__="container_cpu_cfs_throttled_periods_total"), "counter",
                               array("d", [float(round(300 * (1 - cpu_limit / v))) if v > cpu_limit else 0.0 for v in demand])))
            net = dict(cad, __name__="container_network_receive_bytes_total", container="POD", interface="eth0",
                       id="/kubepods/burstable/pod%s" % uid, name="")
            out.append(Big(net, "rate", float(_h(pod, "net") % 50000) * INTERVAL))
    return out


def encode(series, lo, hi, ts_bytes):
    """One WriteRequest body: the samples [lo, hi) of every series, 18 bytes each, laid out with slice assignment."""
    m = hi - lo
    stamps = ts_bytes[lo * 6:hi * 6]
    body = []
    for s in series:
        buf = bytearray(18 * m)
        buf[0::18] = b"\x12" * m
        buf[1::18] = b"\x10" * m
        buf[2::18] = b"\x09" * m
        vb = s.make(lo, hi).tobytes()
        for j in range(8):
            buf[3 + j::18] = vb[j::8]
        buf[11::18] = b"\x10" * m
        for j in range(6):
            buf[12 + j::18] = stamps[j::6]
        body.append(remote_write.encode_series(s.raw_labels, bytes(buf)))
    return b"".join(body)


def push_all(url, start_ms, n, seed):
    """Push the window slice by slice, every namespace in each slice (the head takes samples in time order)."""
    ts_bytes = b"".join(remote_write.varint(start_ms + k * INTERVAL * 1000) for k in range(n))
    if len(ts_bytes) != 6 * n:
        raise ValueError("timestamps must share a 6-byte varint length")
    spaces = [namespace_series(i, n // BLOCK + 1, seed) for i in range(NAMESPACES)]
    for series in spaces:
        for s in series:
            s.raw_labels = remote_write.encode_labels(s.labels)
    for lo in range(0, n, SLICE):
        for series in spaces:
            remote_write.push(url, encode(series, lo, min(n, lo + SLICE), ts_bytes), timeout=600)
    count = sum(len(series) for series in spaces)
    return {"series": count, "samples": count * n}
