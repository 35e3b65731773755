# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which pods pod_killer may disrupt, and why every other pod is skipped.

Pure logic on the dicts the Kubernetes API returns: pods, workloads (each with its ``kind``
set, as list items come without one), PodDisruptionBudgets, namespaces, and a clock.
Every rule has a stable id (``SKIP_REASONS``); the first rule a pod fails is its reason.
"""
from __future__ import annotations

import math
import random
import re
from fractions import Fraction

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import ChaosInputError
from ansible_collections.sre.toolkit.plugins.module_utils._chaos.selectors import (
    parse_field_selector,
    parse_label_selector,
)
from ansible_collections.sre.toolkit.plugins.module_utils._k8s_labels import label_selector_matches
from ansible_collections.sre.toolkit.plugins.module_utils._chaos.windows import (
    format_timestamp,
    parse_duration,
    parse_timestamp,
    window_from_params,
)

PROTECTED_NAMESPACES = ("kube-node-lease", "kube-public", "kube-system")
OPT_OUT_ANNOTATION = "sre.toolkit/chaos-opt-out"
COOLDOWN_ANNOTATION = "sre.toolkit/chaos-last-disruption"
RUN_ANNOTATION = "sre.toolkit/chaos-last-run"
RUN_LABEL = "sre.toolkit/chaos-run"
MODES = ("one", "fixed", "percent", "all")
_TRUE = ("true", "yes", "1", "on")

# kind -> (API group path, resource, ready field, desired field). Only these owners can be
# measured (ready replicas) and so only their pods are ever disrupted.
WORKLOADS = {
    "Deployment": ("/apis/apps/v1", "deployments", "readyReplicas", "spec.replicas"),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", "readyReplicas", "spec.replicas"),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", "numberReady", "status.desiredNumberScheduled"),
    "ReplicaSet": ("/apis/apps/v1", "replicasets", "readyReplicas", "spec.replicas"),
    "ReplicationController": ("/api/v1", "replicationcontrollers", "readyReplicas", "spec.replicas"),
}

# Precedence order: a pod is reported with the first reason that applies.
SKIP_REASONS = (
    ("namespace_not_included", "the namespace is not in namespaces"),
    ("namespace_excluded", "the namespace is in exclude_namespaces"),
    ("protected_namespace", "the namespace is protected (kube-system, kube-public, kube-node-lease, protected_namespaces)"),
    ("namespace_opted_out", "the namespace carries the opt-out annotation"),
    ("pod_opted_out", "the pod carries the opt-out annotation"),
    ("label_selector_mismatch", "the pod's labels do not match label_selector"),
    ("field_selector_mismatch", "the pod's fields do not match field_selector"),
    ("name_mismatch", "the pod's name does not match name_regex"),
    ("phase_mismatch", "the pod's phase is not in phases"),
    ("no_owner", "a bare pod: nothing would replace it"),
    ("owner_kind_unsupported", "the owner is not a Deployment, StatefulSet, DaemonSet, ReplicaSet or ReplicationController"),
    ("owner_not_found", "the owner was not found, so its ready replicas cannot be checked"),
    ("owner_kind_not_included", "the owner kind is not in owner_kinds"),
    ("owner_kind_excluded", "the owner kind is in exclude_owner_kinds"),
    ("terminating", "the pod is already terminating"),
    ("not_running", "the pod is not Running"),
    ("not_ready", "the pod is not Ready"),
    ("too_young", "the pod is younger than min_age"),
    ("owner_not_ready", "the owner is not at full strength (ready < desired, or a rollout is in progress)"),
    ("owner_cooldown", "the owner was disrupted less than cooldown ago"),
    ("multiple_pdbs", "more than one PodDisruptionBudget selects the pod (the eviction API refuses it)"),
    ("pdb_not_observed", "a PodDisruptionBudget selecting the pod has no up-to-date status yet"),
    ("outside_window", "the run is outside the allowed time window"),
    ("max_per_owner", "the owner already has max_per_owner victims in this run"),
    ("min_ready_replicas", "disrupting the pod would leave its owner below min_ready_replicas"),
    ("pdb_budget", "a PodDisruptionBudget has no disruption left for it"),
    ("not_sampled", "eligible, but the mode's count was reached by other pods"),
    ("gone", "the pod disappeared or was replaced before it was disrupted"),
    ("pdb_refused", "the eviction API refused it (HTTP 429) to honour a PodDisruptionBudget"),
    ("action_failed", "the API did not evict or delete it (an error other than a PodDisruptionBudget's 429), or its answer was lost "
                      "and the pod is still there"),
    ("gate_failed", "the steady-state gate failed, so nothing was disrupted"),
)
SKIP_REASON_IDS = tuple(reason for reason, _text in SKIP_REASONS)


def _get(obj, dotted, default=None):
    node = obj
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return default
        node = node.get(part)
    return default if node is None else node


def _meta(obj):
    return obj.get("metadata") or {}


def _is_true(value):
    return str(value).strip().lower() in _TRUE


def controller_ref(obj):
    for ref in _meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def owner_key(kind, namespace, name):
    return "%s/%s/%s" % (kind, namespace, name)


class Owner(object):
    """The top-level workload of a pod (a Deployment for its ReplicaSets' pods)."""

    def __init__(self, kind, namespace, name, uid=None, obj=None):
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.obj = obj

    @property
    def key(self):
        return owner_key(self.kind, self.namespace, self.name)

    @property
    def ready(self):
        return int(_get(self.obj or {}, "status." + WORKLOADS[self.kind][2], 0)) if self.kind in WORKLOADS else 0

    @property
    def desired(self):
        if self.kind not in WORKLOADS:
            return 0
        field = WORKLOADS[self.kind][3]
        default = 1 if field == "spec.replicas" else 0
        return int(_get(self.obj or {}, field, default))

    @property
    def rolling(self):
        """A spec change the controller has not observed yet."""
        generation = _get(self.obj or {}, "metadata.generation")
        observed = _get(self.obj or {}, "status.observedGeneration")
        return generation is not None and observed is not None and int(observed) < int(generation)

    def cooldown_since(self):
        """(stamp, readable): the last disruption recorded on the owner."""
        raw = (_meta(self.obj or {}).get("annotations") or {}).get(COOLDOWN_ANNOTATION)
        if raw is None:
            return None, True
        stamp = parse_timestamp(raw)
        return stamp, stamp is not None

    def as_dict(self):
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "uid": self.uid}


def index_workloads(workloads):
    return dict((_meta(w).get("uid"), w) for w in workloads if _meta(w).get("uid"))


def resolve_owner(pod, workloads_by_uid):
    """(Owner or None, skip reason or None), walking ReplicaSet -> Deployment."""
    namespace = _meta(pod).get("namespace")
    ref = controller_ref(pod)
    if ref is None:
        return None, "no_owner"
    stub = Owner(ref.get("kind"), namespace, ref.get("name"), ref.get("uid"))
    obj = workloads_by_uid.get(ref.get("uid"))
    if obj is None:
        return stub, ("owner_not_found" if stub.kind in WORKLOADS else "owner_kind_unsupported")
    if obj.get("kind") == "ReplicaSet":
        parent = controller_ref(obj)
        if parent is not None:
            if parent.get("kind") != "Deployment":
                return Owner(parent.get("kind"), namespace, parent.get("name"), parent.get("uid")), "owner_kind_unsupported"
            top = workloads_by_uid.get(parent.get("uid"))
            if top is None:
                return Owner("Deployment", namespace, parent.get("name"), parent.get("uid")), "owner_not_found"
            obj = top
    kind = obj.get("kind")
    owner = Owner(kind, namespace, _meta(obj).get("name"), _meta(obj).get("uid"), obj)
    return owner, (None if kind in WORKLOADS else "owner_kind_unsupported")


def is_ready(pod):
    for cond in _get(pod, "status.conditions", []) or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def pod_age(pod, now):
    created = parse_timestamp(_meta(pod).get("creationTimestamp"))
    return None if created is None else (now - created).total_seconds()


def _value(params, name, default):
    value = params.get(name)
    return default if value is None else value


def _list_option(params, name):
    value = params.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in value]


class PodKillerOptions(object):
    """Validated selection options. Build with ``from_params``; every error names its option."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    @classmethod
    def from_params(cls, params):
        mode = params.get("mode") or "one"
        if mode not in MODES:
            raise ChaosInputError("mode", "unknown mode %r; use one of %s" % (mode, ", ".join(MODES)))
        count, percent = params.get("count"), params.get("percent")
        if mode == "fixed":
            if count is None or int(count) < 1:
                raise ChaosInputError("count", "mode=fixed needs count >= 1")
        elif count is not None:
            raise ChaosInputError("count", "is only used with mode=fixed (mode is %s)" % mode)
        if mode == "percent":
            if percent is None:
                raise ChaosInputError("percent", "mode=percent needs percent (0 < percent <= 100)")
            if not 0 < float(percent) <= 100:
                raise ChaosInputError("percent", "%s is outside 0 < percent <= 100" % percent)
        elif percent is not None:
            raise ChaosInputError("percent", "is only used with mode=percent (mode is %s)" % mode)
        name_regex = params.get("name_regex")
        try:
            name_re = re.compile(name_regex) if name_regex else None
        except re.error as exc:
            raise ChaosInputError("name_regex", "%r is not a valid regular expression: %s" % (name_regex, exc))
        kinds = {}
        for option in ("owner_kinds", "exclude_owner_kinds"):
            kinds[option] = _list_option(params, option)
            for kind in kinds[option]:
                if kind not in WORKLOADS:
                    raise ChaosInputError(option, "%r is not a supported owner kind; use %s" % (kind, ", ".join(sorted(WORKLOADS))))
        for option in ("max_per_owner", "min_ready_replicas"):
            if int(_value(params, option, 0)) < 0:
                raise ChaosInputError(option, "must be 0 or more")
        seed = params.get("seed")
        return cls(
            namespaces=sorted(set(_list_option(params, "namespaces"))),
            exclude_namespaces=set(_list_option(params, "exclude_namespaces")),
            protected_namespaces=set(PROTECTED_NAMESPACES) | set(_list_option(params, "protected_namespaces")),
            label_selector=parse_label_selector(params.get("label_selector") or "", "label_selector"),
            field_selector=parse_field_selector(params.get("field_selector") or "", "field_selector"),
            name_re=name_re,
            phases=set(_list_option(params, "phases") or ["Running"]),
            owner_kinds=set(kinds["owner_kinds"]),
            exclude_owner_kinds=set(kinds["exclude_owner_kinds"]),
            min_age=parse_duration(_value(params, "min_age", "60s"), "min_age"),
            cooldown=parse_duration(_value(params, "cooldown", "1h"), "cooldown"),
            mode=mode,
            count=int(count) if count is not None else None,
            percent=percent,
            seed=int(seed) if seed is not None else random.SystemRandom().randrange(2 ** 31),
            max_per_owner=int(_value(params, "max_per_owner", 1)),
            min_ready_replicas=int(_value(params, "min_ready_replicas", 1)),
            opt_out_annotation=params.get("opt_out_annotation") or OPT_OUT_ANNOTATION,
            window=window_from_params(params.get("window")),
        )


def target_count(mode, eligible, count=None, percent=None):
    """How many victims a mode asks for out of ``eligible`` pods.

    percent rounds up (ceil(eligible * percent / 100)), so any percent above 0 of a non-empty
    set asks for at least one pod; the result never exceeds ``eligible``.
    """
    if mode == "one":
        wanted = 1
    elif mode == "fixed":
        wanted = count
    elif mode == "percent":
        wanted = int(math.ceil(Fraction(str(percent)) * eligible / 100))
    else:
        wanted = eligible
    return min(wanted, eligible)


class _Pdbs(object):
    """PodDisruptionBudgets per namespace, with the disruptions this run has used."""

    def __init__(self, pdbs):
        self.by_namespace = {}
        for pdb in pdbs:
            self.by_namespace.setdefault(_meta(pdb).get("namespace"), []).append(pdb)
        self.used = {}

    def matching(self, pod):
        labels = _meta(pod).get("labels") or {}
        found = [p for p in self.by_namespace.get(_meta(pod).get("namespace"), [])
                 if label_selector_matches(_get(p, "spec.selector"), labels)]
        return sorted(found, key=lambda p: _meta(p).get("name"))

    @staticmethod
    def key(pdb):
        return "%s/%s" % (_meta(pdb).get("namespace"), _meta(pdb).get("name"))

    def remaining(self, pdb):
        return int(_get(pdb, "status.disruptionsAllowed", 0)) - self.used.get(self.key(pdb), 0)

    def use(self, pdbs):
        for pdb in pdbs:
            self.used[self.key(pdb)] = self.used.get(self.key(pdb), 0) + 1


def pdb_observed(pdb):
    generation = _get(pdb, "metadata.generation")
    observed = _get(pdb, "status.observedGeneration")
    if observed is None:
        return False
    return generation is None or int(observed) >= int(generation)


def _targeting_reason(pod, namespaces, options):
    meta = _meta(pod)
    ns = meta.get("namespace")
    if options.namespaces and ns not in options.namespaces:
        return "namespace_not_included", ns
    if ns in options.exclude_namespaces:
        return "namespace_excluded", ns
    if ns in options.protected_namespaces:
        return "protected_namespace", ns
    ns_annotations = _meta(namespaces.get(ns) or {}).get("annotations") or {}
    if _is_true(ns_annotations.get(options.opt_out_annotation, "")):
        return "namespace_opted_out", "%s=%s" % (options.opt_out_annotation, ns_annotations[options.opt_out_annotation])
    # an explicit opt-out is reported as such even when a target filter would also leave the pod out
    annotations = meta.get("annotations") or {}
    if _is_true(annotations.get(options.opt_out_annotation, "")):
        return "pod_opted_out", "%s=%s" % (options.opt_out_annotation, annotations[options.opt_out_annotation])
    if not options.label_selector.matches(meta.get("labels")):
        return "label_selector_mismatch", str(options.label_selector)
    if not options.field_selector.matches(pod):
        return "field_selector_mismatch", str(options.field_selector)
    if options.name_re is not None and not options.name_re.search(meta.get("name") or ""):
        return "name_mismatch", options.name_re.pattern
    phase = _get(pod, "status.phase", "")
    if phase not in options.phases:
        return "phase_mismatch", phase or "no phase"
    return None, None


def _owner_reason(owner, reason, options):
    if reason:
        return reason, owner.key if owner else "no controller ownerReference"
    if options.owner_kinds and owner.kind not in options.owner_kinds:
        return "owner_kind_not_included", owner.kind
    if owner.kind in options.exclude_owner_kinds:
        return "owner_kind_excluded", owner.kind
    return None, None


def settled_reason(pod, now, min_age):
    """Why a pod is not settled (terminating, not Running, not Ready, too young), or (None, None)."""
    if _meta(pod).get("deletionTimestamp"):
        return "terminating", "deletionTimestamp %s" % _meta(pod)["deletionTimestamp"]
    phase = _get(pod, "status.phase", "")
    if phase != "Running":
        return "not_running", phase or "no phase"
    if not is_ready(pod):
        return "not_ready", "Ready condition is not True"
    age = pod_age(pod, now)
    if age is None or age < min_age:
        return "too_young", "age %ss < min_age %ss" % ("unknown" if age is None else int(age), int(min_age))
    return None, None


def _owner_state_reason(owner, now, options):
    if owner.rolling or owner.ready < owner.desired:
        return "owner_not_ready", "%s ready %d/%d%s" % (owner.key, owner.ready, owner.desired, ", rollout in progress" if owner.rolling else "")
    if options.cooldown > 0:
        since, readable = owner.cooldown_since()
        if not readable:
            return "owner_cooldown", "%s has an unreadable %s annotation" % (owner.key, COOLDOWN_ANNOTATION)
        if since is not None and (now - since).total_seconds() < options.cooldown:
            return "owner_cooldown", "%s last disrupted %s, cooldown %ss" % (owner.key, format_timestamp(since), int(options.cooldown))
    return None, None


def _pdb_reason(pdbs):
    if len(pdbs) > 1:
        return "multiple_pdbs", ", ".join(_Pdbs.key(p) for p in pdbs)
    for pdb in pdbs:
        if not pdb_observed(pdb):
            return "pdb_not_observed", _Pdbs.key(pdb)
    return None, None


def _pod_ref(pod):
    meta = _meta(pod)
    return {"namespace": meta.get("namespace"), "name": meta.get("name"), "uid": meta.get("uid")}


def _skip(pod, owner, reason, detail):
    entry = _pod_ref(pod)
    entry.update({"owner": owner.key if owner else None, "reason": reason, "detail": detail})
    return entry


def plan(pods, workloads, pdbs, namespaces, now, options):
    """Pick victims. Returns {victims, skipped, owners, summary, seed, window}, all sorted.

    ``namespaces`` maps a name to its Namespace object (for the opt-out annotation); ``now``
    is an aware datetime. The mode's count is taken from the pods that pass every per-pod rule;
    victims are then sampled without replacement (random.Random(seed)), honouring max_per_owner,
    min_ready_replicas and each PDB's disruptionsAllowed as they are picked.
    """
    by_uid = index_workloads(workloads)
    budgets = _Pdbs(pdbs)
    skipped, candidates, owners = [], [], {}
    window_open, window_detail = options.window.check(now) if options.window else (True, "no window set")
    for pod in sorted(pods, key=lambda p: (_meta(p).get("namespace") or "", _meta(p).get("name") or "")):
        reason, detail = _targeting_reason(pod, namespaces, options)
        owner = None
        if reason is None:
            owner, owner_problem = resolve_owner(pod, by_uid)
            reason, detail = _owner_reason(owner, owner_problem, options)
            if reason is None:
                owners[owner.key] = owner
        if reason is None:
            reason, detail = settled_reason(pod, now, options.min_age)
        if reason is None:
            reason, detail = _owner_state_reason(owner, now, options)
        matching = budgets.matching(pod) if reason is None else []
        if reason is None:
            reason, detail = _pdb_reason(matching)
        if reason is None and not window_open:
            reason, detail = "outside_window", window_detail
        if reason is None:
            candidates.append((pod, owner, matching))
        else:
            skipped.append(_skip(pod, owner, reason, detail))
    wanted = target_count(options.mode, len(candidates), options.count, options.percent)
    victims = _sample(candidates, wanted, budgets, options, skipped)
    skipped.sort(key=lambda s: (s["namespace"] or "", s["name"] or ""))
    by_reason = {}
    for entry in skipped:
        by_reason[entry["reason"]] = by_reason.get(entry["reason"], 0) + 1
    return {
        "victims": victims,
        "skipped": skipped,
        "owners": [_owner_summary(owners[k]) for k in sorted(owners)],
        "seed": options.seed,
        "window": {"open": window_open, "detail": window_detail},
        "summary": {
            "pods": len(pods),
            "eligible": len(candidates),
            "wanted": wanted,
            "victims": len(victims),
            "skipped": len(skipped),
            "skipped_by_reason": dict(sorted(by_reason.items())),
        },
    }


def _owner_summary(owner):
    summary = owner.as_dict()
    summary.update({"ready": owner.ready, "desired": owner.desired, "steady": not owner.rolling and owner.ready >= owner.desired})
    return summary


def _sample(candidates, wanted, budgets, options, skipped):
    order = list(candidates)
    random.Random(options.seed).shuffle(order)
    victims, per_owner = [], {}
    for pod, owner, matching in order:
        picked_here = per_owner.get(owner.key, 0)
        if len(victims) >= wanted:
            reason, detail = "not_sampled", "%d of %d eligible wanted (mode %s)" % (wanted, len(candidates), options.mode)
        elif options.max_per_owner and picked_here >= options.max_per_owner:
            reason, detail = "max_per_owner", "%s already has %d victim(s)" % (owner.key, picked_here)
        elif owner.ready - picked_here - 1 < options.min_ready_replicas:
            reason, detail = "min_ready_replicas", "%s ready %d, would drop to %d < %d" % (
                owner.key, owner.ready, owner.ready - picked_here - 1, options.min_ready_replicas)
        elif any(budgets.remaining(p) < 1 for p in matching):
            reason, detail = "pdb_budget", ", ".join("%s allows %d" % (_Pdbs.key(p), budgets.remaining(p)) for p in matching)
        else:
            budgets.use(matching)
            per_owner[owner.key] = picked_here + 1
            victims.append(_victim(pod, owner, matching, len(candidates), wanted, options))
            continue
        skipped.append(_skip(pod, owner, reason, detail))
    victims.sort(key=lambda v: (v["namespace"], v["name"]))
    return victims


def _victim(pod, owner, matching, eligible, wanted, options):
    entry = _pod_ref(pod)
    entry.update({
        "node": _get(pod, "spec.nodeName"),
        "owner": _owner_summary(owner),
        "pdbs": [{"name": _meta(p).get("name"), "disruptions_allowed": int(_get(p, "status.disruptionsAllowed", 0))} for p in matching],
        "why": "sampled (seed %d) as one of %d wanted among %d eligible pods, mode %s" % (options.seed, wanted, eligible, options.mode),
    })
    return entry


def is_gone(victim, pod_now):
    """The victim's pod no longer exists, or another pod has its name now."""
    return pod_now is None or _meta(pod_now).get("uid") != victim["uid"]


def action_took(victim, pod_now):
    """After an eviction or delete whose answer was lost: gone, replaced or terminating means it took."""
    return is_gone(victim, pod_now) or bool(_meta(pod_now).get("deletionTimestamp"))


def recheck(victim, pod_now, owner_obj_now, pdbs_now, now, options, disrupted_in_owner=0, used_in_pdb=None):
    """Re-check a victim just before acting on fresh objects: (reason, detail), or (None, None) to go.

    ``disrupted_in_owner`` and ``used_in_pdb`` count what this run already disrupted, because
    the controllers' status can lag behind our own actions: we trust the smaller of the
    fresh budget and the planned budget minus what we used.
    """
    if is_gone(victim, pod_now):
        return "gone", "%s/%s no longer exists with uid %s" % (victim["namespace"], victim["name"], victim["uid"])
    annotations = _meta(pod_now).get("annotations") or {}
    if _is_true(annotations.get(options.opt_out_annotation, "")):
        return "pod_opted_out", "%s=%s" % (options.opt_out_annotation, annotations[options.opt_out_annotation])
    reason, detail = settled_reason(pod_now, now, options.min_age)
    if reason:
        return reason, detail
    if options.window is not None:
        window_open, window_detail = options.window.check(now)
        if not window_open:
            return "outside_window", window_detail
    info = victim["owner"]
    owner = Owner(info["kind"], info["namespace"], info["name"], info.get("uid"), owner_obj_now)
    if owner_obj_now is None:
        return "owner_not_found", owner.key
    if owner.rolling or owner.ready + disrupted_in_owner < owner.desired:
        return "owner_not_ready", "%s ready %d/%d with %d disrupted by this run%s" % (
            owner.key, owner.ready, owner.desired, disrupted_in_owner, ", rollout in progress" if owner.rolling else "")
    if owner.ready - disrupted_in_owner - 1 < options.min_ready_replicas:
        return "min_ready_replicas", "%s ready %d (%d already disrupted), would drop below %d" % (
            owner.key, owner.ready, disrupted_in_owner, options.min_ready_replicas)
    matching = _Pdbs(pdbs_now).matching(pod_now)
    reason, detail = _pdb_reason(matching)
    if reason:
        return reason, detail
    planned = dict((p["name"], p["disruptions_allowed"]) for p in victim.get("pdbs", []))
    used = used_in_pdb or {}
    for pdb in matching:
        name = _meta(pdb).get("name")
        fresh = int(_get(pdb, "status.disruptionsAllowed", 0))
        left = min(fresh, planned.get(name, fresh) - used.get(name, 0))
        if left < 1:
            return "pdb_budget", "%s allows %d now (%d fresh, %d used by this run)" % (_Pdbs.key(pdb), left, fresh, used.get(name, 0))
    return None, None


def owners_not_steady(owner_summaries):
    """The owners a steady-state gate rejects: not at full strength or mid-rollout."""
    return [o for o in owner_summaries if not o["steady"]]


def owner_recovery(owner_obj, pods, workloads, victim_uids, baseline):
    """(recovered, ready_pods): ready, non-terminating pods of the owner other than the victims.

    Counting pods rather than trusting ``status.readyReplicas`` alone avoids a false
    "recovered" while the controller has not yet noticed a victim is gone.
    """
    by_uid = index_workloads(list(workloads) + [owner_obj])
    uid = _meta(owner_obj).get("uid")
    ready = 0
    for pod in pods:
        if _meta(pod).get("uid") in victim_uids or _meta(pod).get("deletionTimestamp") or not is_ready(pod):
            continue
        owner, _problem = resolve_owner(pod, by_uid)
        if owner is not None and owner.uid == uid:
            ready += 1
    summary = Owner(owner_obj.get("kind"), _meta(owner_obj).get("namespace"), _meta(owner_obj).get("name"), uid, owner_obj)
    target = min(baseline, summary.desired)
    return ready >= target and summary.ready >= target and not summary.rolling, ready


def owner_event(owner, victim, action, outcome, run_id, now):
    """A core/v1 Event on the victim's owner: the audit trail next to the workload."""
    api = WORKLOADS.get(owner["kind"], ("/apis/apps/v1",))[0]
    stamp = format_timestamp(now)
    verb = {"evicted": "evicted", "deleted": "deleted"}.get(outcome, outcome)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "generateName": "%s.chaos-" % owner["name"][:200],
            "namespace": owner["namespace"],
            "labels": {RUN_LABEL: run_id},
        },
        "involvedObject": {
            "apiVersion": api.split("/apis/")[-1] if "/apis/" in api else "v1",
            "kind": owner["kind"],
            "name": owner["name"],
            "namespace": owner["namespace"],
            "uid": owner.get("uid"),
        },
        "reason": "ChaosPod" + verb.capitalize(),
        "message": "sre.toolkit.pod_killer %s pod %s (action %s, run %s)" % (verb, victim["name"], action, run_id),
        "type": "Normal",
        "source": {"component": "sre.toolkit.pod_killer"},
        "reportingComponent": "sre.toolkit.pod_killer",
        "reportingInstance": run_id[:128],
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def cooldown_patch(run_id, now):
    """The merge patch that records a disruption on the owner (read back by owner_cooldown)."""
    return {"metadata": {"annotations": {COOLDOWN_ANNOTATION: format_timestamp(now), RUN_ANNOTATION: run_id}}}


def workload_path(kind, namespace, name=None):
    group, resource = WORKLOADS[kind][0], WORKLOADS[kind][1]
    path = "%s/namespaces/%s/%s" % (group, namespace, resource)
    return path if name is None else "%s/%s" % (path, name)
