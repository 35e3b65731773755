"""A designed incident played live against the lab, with its ground truth.

Kubernetes stamps ReplicaSet, Pod and Event times itself, so the incident really happens on the
lab's kube-apiserver (kwok plays the pods) in a namespace of its own:

1. Deployments ``checkout`` (2 replicas, ``shop/checkout:1.0``, maxSurge 0 / maxUnavailable 1) and
   ``web`` (2 replicas) settle.
2. A chaos run (the caller's ``chaos()``: pod_killer for real on ``web``) -> its audit record.
3. The bad rollout: ``checkout`` gets ``shop/checkout:1.1`` and the lab's CrashLoopBackOff scenario
   label; the new ReplicaSet's pod crash-loops (kwok's stage writes the termination and BackOff).
4. The alert it fires: ``KubePodCrashLooping{namespace=<ns>, deployment="checkout"}`` evaluated every
   ``INTERVAL`` s, pending from the first evaluation after the crash, firing ``FOR`` s later, until
   the workload is whole again; ALERTS / ALERTS_FOR_STATE samples for those real times are pushed
   to the lab Prometheus by remote write after the play (Prometheus accepts them into its head).
   A heartbeat ``up{job="incident-lab", namespace=<ns>}`` every INTERVAL with one designed gap.
5. Optionally the responder silences the alert in an Alertmanager a second after it fired.
6. The rollback (the template back to 1.0: the deployment controller reuses the first ReplicaSet)
   ``ROLLBACK_AFTER_FIRING`` s after the alert fired, then recovery (all replicas updated and ready).

``play()`` returns the ground truth: every designed time (unix seconds) and the names.
"""
from __future__ import annotations

import math
import os
import time

from tests.lab.alerts import remote_write

INTERVAL = 5.0           # the designed rule's evaluation interval
FOR = 15.0               # its `for`
ROLLBACK_AFTER_FIRING = 8.0
GAP = (3.0, 18.0)        # heartbeat gap (no sample), seconds after the rollout
HEARTBEAT_BEFORE = 900.0
ALERT = "KubePodCrashLooping"


def _template(image, crash=False):
    labels = {"app": "checkout"}
    if crash:
        labels["lab.sre-toolkit.io/scenario"] = "CrashLoopBackOff"
    return {"metadata": {"labels": labels},
            "spec": {"containers": [{"name": "app", "image": image}], "terminationGracePeriodSeconds": 1}}


def _deployment(name, template, labels):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": template,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}}}


def _set_template(k8s, path, template):
    """Replace the pod template whole (a rollback must hash like revision 1 to reuse its ReplicaSet)."""
    k8s.patch(path, [{"op": "replace", "path": "/spec/template", "value": template}], patch_type="json")


def _wait(what, check, timeout=120.0, poll=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(poll)
    raise AssertionError("designed incident: %s did not happen within %ss" % (what, timeout))


def _whole(k8s, ns, name):
    dep = k8s.get("/apis/apps/v1/namespaces/%s/deployments/%s" % (ns, name))
    status, want = dep.get("status") or {}, dep["spec"]["replicas"]
    return (status.get("observedGeneration") == dep["metadata"]["generation"] and status.get("updatedReplicas") == want
            and status.get("readyReplicas") == want and status.get("replicas") == want and status.get("availableReplicas") == want)


def _crash_time(k8s, ns):
    """finishedAt of the first termination kwok wrote for a crash-looping checkout pod."""
    from ansible_collections.sre.toolkit.plugins.module_utils._time import to_epoch

    found = []
    for pod in k8s.list_all("/api/v1/namespaces/%s/pods" % ns, params={"labelSelector": "lab.sre-toolkit.io/scenario=CrashLoopBackOff"}):
        for status in (pod.get("status") or {}).get("containerStatuses") or ():
            term = (status.get("lastState") or {}).get("terminated")
            if term and term.get("finishedAt"):
                found.append(to_epoch(term["finishedAt"]))
    return min(found) if found else None


def ticks(start, end):
    """Evaluation times (multiples of INTERVAL) in [start, end)."""
    first = math.ceil(start / INTERVAL) * INTERVAL
    return [first + k * INTERVAL for k in range(int(max(0.0, end - first) // INTERVAL) + 1) if first + k * INTERVAL < end]


def _series(labels, stamps, value=1.0):
    samples = b"".join(remote_write.encode_sample(remote_write.value_bytes(value), int(round(t * 1000))) for t in stamps)
    return remote_write.encode_series(remote_write.encode_labels(labels), samples)


def push_alerts(prometheus_url, ns, truth):
    """ALERTS, ALERTS_FOR_STATE and the heartbeat of the designed rule for the real times in ``truth``."""
    labels = {"alertname": ALERT, "namespace": ns, "deployment": "checkout", "severity": "critical", "lab": "incident"}
    pending = ticks(truth["pending"], truth["firing"])
    firing = ticks(truth["firing"], truth["recovered"])
    beats = [t for t in ticks(truth["heartbeat_from"], truth["pushed"] + 0.001) if not truth["gap"][0] < t < truth["gap"][1]]
    body = b"".join([
        _series(dict(labels, __name__="ALERTS", alertstate="pending"), pending),
        _series(dict(labels, __name__="ALERTS", alertstate="firing"), firing),
        _series(dict(labels, __name__="ALERTS_FOR_STATE"), pending + firing, truth["pending"]),
        _series({"__name__": "up", "job": "incident-lab", "namespace": ns}, beats),
    ])
    remote_write.push(prometheus_url, body)
    return {"pending_samples": len(pending), "firing_samples": len(firing), "heartbeat_samples": len(beats)}


def play(k8s, prometheus_url, chaos, silence=None, namespace=None):
    """Play the incident in a fresh namespace; returns the ground truth (the caller deletes the namespace).

    ``chaos(ns)`` runs the chaos step and returns its audit record; ``silence(ns)``, when given, is the
    responder silencing the alert between its firing and the rollback (returns the silence id)."""
    ns = namespace or "incident-%s" % os.urandom(3).hex()
    truth = {"namespace": ns, "deployment": "checkout", "alert": ALERT, "interval": INTERVAL, "for": FOR, "begin": time.time()}
    k8s.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    base = "/apis/apps/v1/namespaces/%s/deployments" % ns
    k8s.create(base, _deployment("checkout", _template("shop/checkout:1.0"), {"app": "checkout"}))
    web = {"metadata": {"labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": "shop/web:2.3"}], "terminationGracePeriodSeconds": 1}}
    k8s.create(base, _deployment("web", web, {"app": "web"}))
    _wait("checkout and web ready", lambda: _whole(k8s, ns, "checkout") and _whole(k8s, ns, "web"))
    truth["chaos_record"] = chaos(ns)
    _wait("web recovered from chaos", lambda: _whole(k8s, ns, "web"))
    time.sleep(2.0)
    truth["rollout"] = time.time()
    _set_template(k8s, base + "/checkout", _template("shop/checkout:1.1", crash=True))
    truth["crash"] = _wait("a crash-looping checkout pod", lambda: _crash_time(k8s, ns))
    truth["pending"] = ticks(truth["crash"], truth["crash"] + INTERVAL + 1)[0]
    truth["firing"] = truth["pending"] + FOR
    if silence is not None:
        time.sleep(max(0.0, truth["firing"] + 1.0 - time.time()))
        truth["silenced"] = time.time()
        truth["silence_id"] = silence(ns)
    time.sleep(max(0.0, truth["firing"] + ROLLBACK_AFTER_FIRING - time.time()))
    truth["rollback"] = time.time()
    _set_template(k8s, base + "/checkout", _template("shop/checkout:1.0"))
    _wait("checkout recovered after the rollback", lambda: _whole(k8s, ns, "checkout") and not k8s.list_all(
        "/api/v1/namespaces/%s/pods" % ns, params={"labelSelector": "lab.sre-toolkit.io/scenario=CrashLoopBackOff"}))
    truth["recovered"] = time.time()
    truth["pushed"] = max(truth["recovered"] + INTERVAL, time.time())
    time.sleep(max(0.0, truth["pushed"] - time.time()))
    truth["heartbeat_from"] = truth["begin"] - HEARTBEAT_BEFORE
    truth["gap"] = [truth["rollout"] + GAP[0], truth["rollout"] + GAP[1]]
    truth["samples"] = push_alerts(prometheus_url, ns, truth)
    return truth
