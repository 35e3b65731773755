# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pod_killer service: check the options, build the run, fetch, gate, re-check, disrupt, audit,
wait for recovery, then findings and the gate.

Every decision is taken by ``pods`` (pure); ``PodKillerRun`` only moves data between it and the
objects it is handed: a K8sClient-like ``k8s`` (get, list_all, create, patch, delete), an
optional PrometheusClient-like ``prometheus`` (query) and an ``http_probe`` callable, so tests
hand it recorded ones. ``build_run`` builds the real clients from the module's parameters.
"""
from __future__ import annotations

import concurrent.futures
import datetime
import os
import threading
import time

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import ChaosInputError, findings
from ansible_collections.sre.toolkit.plugins.module_utils._chaos import pods as engine
from ansible_collections.sre.toolkit.plugins.module_utils._chaos.pods import PodKillerOptions
from ansible_collections.sre.toolkit.plugins.module_utils._chaos.windows import format_timestamp
from ansible_collections.sre.toolkit.plugins.module_utils._errors import UNANSWERED_KINDS, ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._findings import contract, gate as gate_result
from ansible_collections.sre.toolkit.plugins.module_utils._http import HttpClient
from ansible_collections.sre.toolkit.plugins.module_utils._k8s import K8sClient
from ansible_collections.sre.toolkit.plugins.module_utils._prom import PrometheusClient

PDB_PATH = "/apis/policy/v1"
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def new_run_id(now):
    return "pk-%s-%s" % (now.strftime("%Y%m%dt%H%M%Sz"), os.urandom(3).hex())


def _ns_path(prefix, namespace, resource):
    return "%s/namespaces/%s/%s" % (prefix, namespace, resource) if namespace else "%s/%s" % (prefix, resource)


def _pod_path(namespace, name):
    return "/api/v1/namespaces/%s/pods/%s" % (namespace, name)


def _with_kind(items, kind):
    for item in items:
        item["kind"] = kind
    return items


class PodKillerRun(object):
    """One pod_killer run. ``settings`` holds the non-selection options of the module."""

    def __init__(self, k8s, options, settings, prometheus=None, http_probe=None, clock=time.monotonic, sleep=time.sleep, now=utcnow):
        self.k8s = k8s
        self.options = options
        self.settings = settings
        self.prometheus = prometheus
        self.http_probe = http_probe
        self.clock = clock
        self.sleep = sleep
        self.now = now
        self.warnings = []
        self.lock = threading.Lock()
        self.disrupted_in_owner = {}
        self.used_in_pdb = {}

    # -- fetch ------------------------------------------------------------------------------

    def _scopes(self):
        return self.options.namespaces or [None]

    def fetch(self):
        """Pods, workloads (kind set), PDBs and namespaces, as the API returns them."""
        selector = str(self.options.label_selector)
        params = {"labelSelector": selector} if selector else None
        pods, workloads, pdbs = [], [], []
        for ns in self._scopes():
            pods += self.k8s.list_all(_ns_path("/api/v1", ns, "pods"), params=params)
            pdbs += self.k8s.list_all(_ns_path(PDB_PATH, ns, "poddisruptionbudgets"))
            workloads += self._workloads(ns)
        namespaces = dict((n["metadata"]["name"], n) for n in self._namespaces())
        return pods, workloads, pdbs, namespaces

    def _workloads(self, ns):
        found = []
        for kind in sorted(engine.WORKLOADS):
            group, resource = engine.WORKLOADS[kind][0], engine.WORKLOADS[kind][1]
            found += _with_kind(self.k8s.list_all(_ns_path(group, ns, resource)), kind)
        return found

    def _namespaces(self):
        if not self.options.namespaces:
            return self.k8s.list_all("/api/v1/namespaces")
        found = []
        for ns in self.options.namespaces:
            obj = self.k8s.get_or_none("/api/v1/namespaces/%s" % ns)
            if obj is None:
                self.warnings.append("namespace %s does not exist" % ns)
            else:
                found.append(obj)
        return found

    # -- gate -------------------------------------------------------------------------------

    def gate(self, plan):
        """Steady-state checks before anything is disrupted: {checked, passed, checks}."""
        spec = self.settings.get("gate") or {}
        checks = []
        if spec.get("owners_ready"):
            unsteady = engine.owners_not_steady(plan["owners"])
            checks.append({
                "check": "owners_ready",
                "passed": not unsteady,
                "detail": "%d owner(s) targeted, all at full strength" % len(plan["owners"]) if not unsteady else
                "not at full strength: " + ", ".join("%s/%s/%s %d/%d" % (o["kind"], o["namespace"], o["name"], o["ready"], o["desired"])
                                                     for o in unsteady),
            })
        if spec.get("promql"):
            checks.append(self._promql_check(spec["promql"], spec.get("promql_expect") or "truthy"))
        if spec.get("http_url"):
            checks.append(self._http_check(spec["http_url"], spec.get("http_status") or [200]))
        return {"checked": bool(checks), "passed": all(c["passed"] for c in checks), "checks": checks}

    def _promql_check(self, expr, expect):
        if self.prometheus is None:
            raise ChaosInputError("prometheus_url", "gate.promql needs prometheus_url (the Prometheus to query)")
        samples = self.prometheus.query(expr)
        values = []
        for sample in samples if isinstance(samples, list) else []:
            try:
                values.append(float(sample.get("value", [0, "0"])[1]))
            except (TypeError, ValueError, IndexError):
                values.append(0.0)
        if expect == "empty":
            passed = not values
            detail = "%d sample(s), expected none" % len(values)
        else:
            passed = bool(values) and all(v != 0 for v in values)
            detail = "%d sample(s) %s, expected at least one and none zero" % (len(values), sorted(values)[:5])
        return {"check": "promql", "passed": passed, "detail": "%s: %s" % (expr, detail)}

    def _http_check(self, url, statuses):
        status, error = self.http_probe(url)
        passed = status in statuses
        detail = "%s answered %s, expected %s" % (url, status if status is not None else error, statuses)
        return {"check": "http", "passed": passed, "detail": detail}

    # -- permissions ------------------------------------------------------------------------

    def permissions(self, victims):
        """SelfSubjectAccessReviews for what acting needs, per namespace: [{namespace, verb, resource, allowed}]."""
        needed = set()
        evict = self.settings["action"] == "evict"
        for victim in victims:
            ns = victim["namespace"]
            needed.add((ns, "create", "pods", "eviction") if evict else (ns, "delete", "pods", ""))
            needed.add((ns, "get", "pods", ""))
            if self.options.cooldown > 0:
                needed.add((ns, "patch", engine.WORKLOADS[victim["owner"]["kind"]][1], ""))
            if self.settings.get("events"):
                needed.add((ns, "create", "events", ""))
        found = []
        for ns, verb, resource, sub in sorted(needed):
            group = "apps" if resource in ("deployments", "statefulsets", "daemonsets", "replicasets") else ""
            attrs = {"namespace": ns, "verb": verb, "resource": resource, "group": group}
            if sub:
                attrs["subresource"] = sub
            try:
                review = self.k8s.create(SSAR_PATH, {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                                                     "spec": {"resourceAttributes": attrs}})
                allowed = bool((review.get("status") or {}).get("allowed"))
            except ToolkitError as exc:
                self.warnings.append("could not check permissions (%s); the API will decide" % exc.msg)
                return []
            found.append({"namespace": ns, "verb": verb, "resource": resource + ("/" + sub if sub else ""), "allowed": allowed})
        return found

    # -- act --------------------------------------------------------------------------------

    def _fresh(self, victim):
        owner = victim["owner"]
        pod = self.k8s.get_or_none(_pod_path(victim["namespace"], victim["name"]))
        owner_obj = self.k8s.get_or_none(engine.workload_path(owner["kind"], owner["namespace"], owner["name"]))
        if owner_obj is not None:
            owner_obj["kind"] = owner["kind"]
        pdbs = self.k8s.list_all(_ns_path(PDB_PATH, victim["namespace"], "poddisruptionbudgets"))
        return pod, owner_obj, pdbs

    def recheck(self, victim):
        pod, owner_obj, pdbs = self._fresh(victim)
        owner_key = engine.owner_key(victim["owner"]["kind"], victim["owner"]["namespace"], victim["owner"]["name"])
        with self.lock:
            reason, detail = engine.recheck(victim, pod, owner_obj, pdbs, self.now(), self.options,
                                            disrupted_in_owner=self.disrupted_in_owner.get(owner_key, 0),
                                            used_in_pdb=self.used_in_pdb.get(victim["namespace"], {}))
            if reason is None:  # reserve before acting, so parallel victims see each other
                self.disrupted_in_owner[owner_key] = self.disrupted_in_owner.get(owner_key, 0) + 1
                used = self.used_in_pdb.setdefault(victim["namespace"], {})
                for pdb in victim.get("pdbs", []):
                    used[pdb["name"]] = used.get(pdb["name"], 0) + 1
        return reason, detail

    def _release(self, victim):
        owner_key = engine.owner_key(victim["owner"]["kind"], victim["owner"]["namespace"], victim["owner"]["name"])
        with self.lock:
            self.disrupted_in_owner[owner_key] -= 1
            for pdb in victim.get("pdbs", []):
                self.used_in_pdb[victim["namespace"]][pdb["name"]] -= 1

    def disrupt(self, victim):
        """Evict or delete one re-checked victim: (outcome, reason, detail)."""
        grace = 0 if self.settings.get("force") else self.settings.get("grace_period")
        options = {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": victim["uid"]}}
        if grace is not None:
            options["gracePeriodSeconds"] = int(grace)
        path = _pod_path(victim["namespace"], victim["name"])
        try:
            if self.settings["action"] == "evict":
                body = {"apiVersion": "policy/v1", "kind": "Eviction",
                        "metadata": {"name": victim["name"], "namespace": victim["namespace"]}, "deleteOptions": options}
                self.k8s.create(path + "/eviction", body, retry=False)
                return "evicted", None, None
            self.k8s.delete(path, body=options)
            return "deleted", None, None
        except ToolkitError as exc:
            if exc.kind == "too_many_requests":
                return "skipped", "pdb_refused", exc.msg
            if exc.kind in ("not_found", "conflict"):
                return "skipped", "gone", exc.msg
            if exc.kind == "forbidden":
                raise ToolkitError("no permission to %s pod %s/%s: %s. Grant %s, or run with dry_run=true" % (
                    self.settings["action"], victim["namespace"], victim["name"], exc.msg,
                    "create on pods/eviction" if self.settings["action"] == "evict" else "delete on pods"),
                    kind="forbidden", status=exc.status)
            if exc.kind == "auth":
                raise  # credentials that stopped working would fail every pod alike
            if exc.kind in UNANSWERED_KINDS:
                return self._settle_unanswered(victim, exc)
            # one pod the API would not act on must not hide the victims already disrupted, nor stop the others
            return "skipped", "action_failed", exc.msg

    def _acted(self):
        return "evicted" if self.settings["action"] == "evict" else "deleted"

    def _settle_unanswered(self, victim, exc):
        """The answer was lost (timeout, 5xx): the pod itself tells whether the action took."""
        try:
            pod = self.k8s.get_or_none(_pod_path(victim["namespace"], victim["name"]))
        except ToolkitError as again:
            return "skipped", "action_failed", "%s; reading the pod afterwards failed too: %s" % (exc.msg, again.msg)
        if engine.action_took(victim, pod):
            return self._acted(), None, None
        return "skipped", "action_failed", "%s; the pod is still there, not terminating" % exc.msg

    def audit(self, victim, outcome, run_id):
        """Event on the owner and the cooldown annotation; failures are warnings, the pod is already gone."""
        owner = victim["owner"]
        if self.settings.get("events"):
            try:
                event = self.k8s.create("/api/v1/namespaces/%s/events" % owner["namespace"],
                                        engine.owner_event(owner, victim, self.settings["action"], outcome, run_id, self.now()))
                victim["event"] = event.get("metadata", {}).get("name")
            except ToolkitError as exc:
                self.warnings.append("could not record an Event on %s/%s: %s" % (owner["kind"], owner["name"], exc.msg))
        if self.options.cooldown > 0:
            try:
                self.k8s.patch(engine.workload_path(owner["kind"], owner["namespace"], owner["name"]),
                               engine.cooldown_patch(run_id, self.now()))
            except ToolkitError as exc:
                self.warnings.append("could not record the cooldown on %s/%s: %s" % (owner["kind"], owner["name"], exc.msg))

    def act(self, victims, run_id):
        """Disrupt victims serially (with interval) or in parallel. Returns (done, skipped)."""
        done, skipped = [], []

        def one(victim):
            started = self.clock()
            outcome, reason, detail = self.disrupt(victim)
            victim.update({"acted_at": format_timestamp(self.now()), "acted_monotonic": started})
            if outcome == "skipped":
                self._release(victim)
                return victim, reason, detail
            victim["outcome"] = outcome
            self.audit(victim, outcome, run_id)
            return victim, None, None

        ready = []
        for index, victim in enumerate(victims):
            if self.settings.get("sequence") == "serial" and index and self.settings.get("interval"):
                self.sleep(float(self.settings["interval"]))
            reason, detail = self.recheck(victim)
            if reason is not None:
                skipped.append(self._late_skip(victim, reason, detail))
                continue
            if self.settings.get("sequence") == "serial":
                victim, reason, detail = one(victim)
                (skipped.append(self._late_skip(victim, reason, detail)) if reason else done.append(victim))
            else:
                ready.append(victim)
        if ready:
            workers = min(len(ready), 16)
            with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
                for victim, reason, detail in pool.map(one, ready):
                    (skipped.append(self._late_skip(victim, reason, detail)) if reason else done.append(victim))
        return done, skipped

    @staticmethod
    def _late_skip(victim, reason, detail):
        owner = victim["owner"]
        return {"namespace": victim["namespace"], "name": victim["name"], "uid": victim["uid"],
                "owner": engine.owner_key(owner["kind"], owner["namespace"], owner["name"]),
                "reason": reason, "detail": detail, "stage": "action"}

    # -- recovery ---------------------------------------------------------------------------

    def recover(self, done):
        """Poll each disrupted owner until its ready pods are back; seconds from its first disruption."""
        owners = {}
        for victim in done:
            key = engine.owner_key(victim["owner"]["kind"], victim["owner"]["namespace"], victim["owner"]["name"])
            entry = owners.setdefault(key, {"owner": victim["owner"], "since": victim["acted_monotonic"], "victims": set()})
            entry["since"] = min(entry["since"], victim["acted_monotonic"])
            entry["victims"].add(victim["uid"])
        timeout = float(self.settings.get("recovery_timeout") or 0)
        poll = max(0.2, float(self.settings.get("recovery_poll") or 1))
        deadline = self.clock() + timeout
        results = {}
        while True:
            for key in sorted(set(owners) - set(results)):
                entry = owners[key]
                recovered, ready = self._owner_state(entry)
                if recovered:
                    results[key] = self._recovery(entry, True, round(self.clock() - entry["since"], 3), ready)
            if len(results) == len(owners) or self.clock() >= deadline:
                break
            self.sleep(min(poll, max(0.0, deadline - self.clock())))
        for key in sorted(set(owners) - set(results)):
            _recovered, ready = self._owner_state(owners[key])
            results[key] = self._recovery(owners[key], False, None, ready)
        return [results[k] for k in sorted(results)]

    def _owner_state(self, entry):
        owner = entry["owner"]
        obj = self.k8s.get_or_none(engine.workload_path(owner["kind"], owner["namespace"], owner["name"]))
        if obj is None:
            return False, 0
        obj["kind"] = owner["kind"]
        pods = self.k8s.list_all(_ns_path("/api/v1", owner["namespace"], "pods"))
        workloads = []
        if owner["kind"] == "Deployment":
            workloads = _with_kind(self.k8s.list_all(_ns_path("/apis/apps/v1", owner["namespace"], "replicasets")), "ReplicaSet")
        return engine.owner_recovery(obj, pods, workloads, entry["victims"], owner["ready"])

    @staticmethod
    def _recovery(entry, recovered, seconds, ready):
        owner = entry["owner"]
        return {"kind": owner["kind"], "namespace": owner["namespace"], "name": owner["name"],
                "baseline_ready": owner["ready"], "ready": ready, "recovered": recovered, "seconds": seconds,
                "victims": len(entry["victims"])}

    # -- the whole run ----------------------------------------------------------------------

    def execute(self, dry_run, run_id=None):
        """Plan, gate, check permissions, act (unless dry_run), wait for recovery. Returns the result."""
        started = self.now()
        run_id = run_id or new_run_id(started)
        self.partial = {"run_id": run_id, "victims": []}
        pods, workloads, pdbs, namespaces = self.fetch()
        plan = engine.plan(pods, workloads, pdbs, namespaces, started, self.options)
        victims = plan["victims"]
        skipped = [dict(s, stage="plan") for s in plan["skipped"]]
        gate = self.gate(plan) if victims else {"checked": False, "passed": True, "checks": []}
        if not gate["passed"]:
            failed = "; ".join(c["detail"] for c in gate["checks"] if not c["passed"])
            skipped += [self._late_skip(v, "gate_failed", failed) for v in victims]
            victims = []
        permissions = self.permissions(victims) if victims else []
        denied = ["%s %s in %s" % (p["verb"], p["resource"], p["namespace"]) for p in permissions if not p["allowed"]]
        if denied and not dry_run:
            raise ToolkitError("no permission to %s; nothing was changed. Grant these to the identity the kubeconfig uses, "
                               "or run with dry_run=true" % ", ".join(denied), kind="forbidden",
                               details={"permissions": permissions})
        if denied:
            self.warnings.append("a real run would fail: no permission to %s" % ", ".join(denied))
        recovery = []
        if dry_run:
            for victim in victims:
                victim["outcome"] = "would_" + ("evict" if self.settings["action"] == "evict" else "delete")
        else:
            self.partial["victims"] = victims
            victims, late = self.act(victims, run_id)
            skipped += late
            if victims and self.settings.get("wait_recovery"):
                recovery = self.recover(victims)
        for victim in victims:
            victim.pop("acted_monotonic", None)
        skipped.sort(key=lambda s: (s["namespace"] or "", s["name"] or ""))
        by_reason = {}
        for entry in skipped:
            by_reason[entry["reason"]] = by_reason.get(entry["reason"], 0) + 1
        summary = dict(plan["summary"], victims=len(victims), skipped=len(skipped), skipped_by_reason=dict(sorted(by_reason.items())))
        finished = self.now()
        return {
            "changed": not dry_run and bool(victims),
            "dry_run": dry_run,
            "run_id": run_id,
            "seed": plan["seed"],
            "victims": victims,
            "skipped_pods": skipped,
            "owners": plan["owners"],
            "gate": gate,
            "window": plan["window"],
            "permissions": permissions,
            "recovery": recovery,
            "summary": summary,
            "record": {
                "run_id": run_id,
                "module": "sre.toolkit.pod_killer",
                "started_at": format_timestamp(started),
                "finished_at": format_timestamp(finished),
                "dry_run": dry_run,
                "action": self.settings["action"],
                "mode": self.options.mode,
                "seed": plan["seed"],
                "outcome": self._outcome(dry_run, gate, victims, recovery),
                "victims": ["%s/%s" % (v["namespace"], v["name"]) for v in victims],
                "skipped_by_reason": summary["skipped_by_reason"],
            },
        }

    def _outcome(self, dry_run, gate, victims, recovery):
        if not gate["passed"]:
            return "aborted: the steady-state gate failed"
        verb = "would %s" % self.settings["action"] if dry_run else self._acted()
        text = "%s %d pod(s)" % (verb, len(victims))
        if recovery:
            late = [r for r in recovery if not r["recovered"]]
            text += "; %d owner(s) recovered, %d did not within %ss" % (len(recovery) - len(late), len(late), self.settings.get("recovery_timeout"))
        return text


# -- the module's entry ---------------------------------------------------------------------

def http_probe(gate):
    """A GET that reports the status instead of raising on it: (status, error)."""
    def probe(url):
        try:
            client = HttpClient(url, timeout=gate.get("http_timeout") or 10, retries=0,
                                validate_certs=gate.get("http_validate_certs", True))
            return client.request("GET", url, expect=range(100, 600), retry=False).status_code, None
        except ToolkitError as exc:
            return None, exc.msg
    return probe


SETTINGS = ("action", "grace_period", "force", "sequence", "interval", "gate", "wait_recovery",
            "recovery_timeout", "recovery_poll", "events")


def build_run(params):
    """Validate every option, then build the clients and the run; bad input fails before any request."""
    if params["grace_period"] is not None and params["grace_period"] < 0:
        raise ToolkitError("grace_period: must be 0 or more seconds (omit it to use each pod's own)")
    for name in ("interval", "recovery_timeout"):
        if params[name] < 0:
            raise ToolkitError("%s: must be 0 or more seconds" % name)
    if params["recovery_poll"] <= 0:
        raise ToolkitError("recovery_poll: must be more than 0 seconds")
    gate = params.get("gate") or {}
    if gate.get("promql") and not params.get("prometheus_url"):
        raise ToolkitError("gate.promql needs prometheus_url (the Prometheus to run the query against)")
    options = PodKillerOptions.from_params(params)
    prometheus = PrometheusClient.from_params(params) if params.get("prometheus_url") else None
    return PodKillerRun(K8sClient.from_params(params), options, dict((key, params[key]) for key in SETTINGS),
                        prometheus=prometheus, http_probe=http_probe(gate))


def as_ansible_means_it(result, dry_run, check_mode):
    """``changed`` is what a real run changes (in check mode: would change); ``dry_run`` is the user's value and
    ``simulated`` says whether this run only planned."""
    return dict(result, changed=not dry_run and bool(result["victims"]), dry_run=dry_run, simulated=dry_run or check_mode,
                check_mode=check_mode, record=dict(result["record"], dry_run=dry_run, simulated=dry_run or check_mode))


def kill_pods(params, check_mode, build=build_run):
    """The whole pod_killer run (``build(params)`` gives the PodKillerRun with its clients): (result, warnings).

    A ToolkitError leaves with ``partial``: what the run had done, its victims only those really disrupted.
    """
    runner = None
    try:
        runner = build(params)
        result = as_ansible_means_it(runner.execute(dry_run=params["dry_run"] or check_mode, run_id=params["run_id"]),
                                     params["dry_run"], check_mode)
    except ToolkitError as exc:
        partial = dict(getattr(runner, "partial", None) or {})
        # only what was really disrupted before the error: the rest was never touched
        partial["victims"] = [v for v in partial.get("victims", []) if v.get("outcome")]
        exc.partial = partial
        raise
    result["findings"], result["summary"]["counts"] = contract(findings.pod_killer(result))
    result["summary"]["gate"] = gate_result(result["summary"]["counts"], params["fail_on"])
    return result, runner.warnings
