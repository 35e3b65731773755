# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One normaliser per source: plain dicts as the APIs return them -> timeline entries.

An entry is ``{time, source, kind, subject, what, evidence, confidence, key}``:

- ``time``: unix seconds (UTC); ``confidence``: ``exact`` (the system recorded that moment),
  ``inferred`` (derived: an alert's end is its last firing sample plus one interval, a rollback
  time read from a Deployment condition), or ``older_expired`` (the first surviving occurrence of a
  repeating event, in a range that reaches past the event horizon: earlier occurrences may have
  been in an event object that expired);
- ``subject``: the findings contract's ``subject()``; ``key``: the identity for de-duplication.

Every normaliser keeps entries inside ``[start, end]`` only and never raises on a missing field:
an object it cannot place in time is counted in ``stats["untimed"]``.
"""

from __future__ import annotations

import re

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.episodes import build_episodes, group_instances
from ansible_collections.sre.toolkit.plugins.module_utils._findings import subject
from ansible_collections.sre.toolkit.plugins.module_utils._time import to_epoch, utc_text

CHAOS_REASONS = ("ChaosPodEvicted", "ChaosPodDeleted")
CHAOS_COMPONENTS = ("sre.toolkit.pod_killer", "sre.toolkit.memory_hog")
ROLLOUT_REASONS = ("ScalingReplicaSet",)
COOLDOWN_ANNOTATION = "sre.toolkit/chaos-last-disruption"
RUN_ANNOTATION = "sre.toolkit/chaos-last-run"
RUN_LABEL = "sre.toolkit/run-id"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
BAD_NODE_CONDITIONS = {"Ready": "False", "MemoryPressure": "True", "DiskPressure": "True", "PIDPressure": "True",
                       "NetworkUnavailable": "True"}
_SCALED = re.compile(r"Scaled (up|down) replica set (\S+)(?: from \d+)? to (\d+)")


def entry(time, source, kind, about, what, evidence=None, confidence="exact", key=None):
    return {"time": float(time), "source": source, "kind": kind, "subject": about, "what": what,
            "evidence": dict(evidence or {}), "confidence": confidence,
            "key": key or "%s|%s|%s|%s" % (source, kind, about["locator"], int(time))}


def inside(time, start, end):
    return time is not None and start <= time <= end


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _labels_text(labels, skip=("alertname",)):
    return ", ".join('%s="%s"' % (k, labels[k]) for k in sorted(labels) if k not in skip)


# ------------------------------------------------------------------ Prometheus alerts

def alert_entries(alerts_series, for_state_series, interval, start, end, ignore_labels=()):
    """Pending, firing and resolved entries per alert episode; (entries, episodes).

    Episodes come from the alert_frequency engine (HA replicas merged, gaps and ActiveAt changes
    split them). ``resolved_at`` is an upper bound: the last firing sample plus one interval.
    """
    instances = group_instances(alerts_series, for_state_series, ignore_labels)
    build_episodes(instances, lambda _rule: interval, start, end)
    entries, episodes = [], []
    for instance in sorted(instances.values(), key=lambda i: i.key):
        labels = instance.labels
        about = subject("Alert", instance.rule, labels.get("namespace", ""),
                        locator="alert/%s{%s}" % (instance.rule, _labels_text(labels)))
        for episode in instance.episodes:
            base = {"alertname": instance.rule, "labels": labels, "severity": labels.get("severity", ""),
                    "interval_seconds": interval, "truncated": episode["truncated"], "open": episode["open"]}
            episodes.append(dict(episode, alertname=instance.rule, labels=labels, subject=about))
            ident = "alert|%s|%d" % (instance.key, int(episode["active_at"]))
            if episode["fired_at"] is None or episode["active_at"] < episode["fired_at"]:
                entries.append(entry(episode["active_at"], "alerts", "alert_pending", about,
                                     "%s pending" % instance.rule, base,
                                     "exact" if for_state_series else "inferred", ident + "|pending"))
            if episode["fired_at"] is not None:
                entries.append(entry(episode["fired_at"], "alerts", "alert_firing", about,
                                     "%s firing" % instance.rule, base, "exact", ident + "|firing"))
            if episode["resolved_at"] is not None:
                entries.append(entry(episode["resolved_at"], "alerts", "alert_resolved", about,
                                     "%s resolved (fired for %ds)" % (instance.rule, episode["firing_seconds"]),
                                     dict(base, firing_seconds=episode["firing_seconds"]), "inferred", ident + "|resolved"))
    return [e for e in entries if inside(e["time"], start, end)], episodes


def heartbeat_gaps(series, interval, start, end):
    """[(from, to)] where no heartbeat sample came for more than two evaluation intervals."""
    stamps = sorted(set(float(ts) for s in series or () for ts, _v in s.get("values") or ()))
    if not stamps:
        return None
    edges = [start] + stamps + [end]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b - a > 2 * interval]


# ------------------------------------------------------------------ Alertmanager silences

def silence_entries(silences, start, end):
    entries = []
    for item in silences or ():
        matchers = ", ".join("%s%s%s" % (m.get("name"), ("=~" if m.get("isRegex") else "=") if m.get("isEqual", True)
                                         else ("!~" if m.get("isRegex") else "!="), m.get("value"))
                             for m in item.get("matchers") or ())
        about = subject("Silence", item.get("id", ""), locator="silence %s {%s}" % ((item.get("id") or "")[:8], matchers))
        evidence = {"id": item.get("id"), "created_by": item.get("createdBy"), "comment": item.get("comment"),
                    "matchers": matchers, "state": (item.get("status") or {}).get("state")}
        begin, finish = to_epoch(item.get("startsAt")), to_epoch(item.get("endsAt"))
        if inside(begin, start, end):
            entries.append(entry(begin, "silences", "silence_started", about,
                                 "silence by %s: %s" % (item.get("createdBy") or "?", item.get("comment") or ""), evidence))
        if inside(finish, start, end) and (evidence["state"] == "expired" or finish < end):
            entries.append(entry(finish, "silences", "silence_ended", about, "silence ended", evidence))
    return entries


# ------------------------------------------------------------------ Kubernetes events

def event_record(item, api):
    """core/v1 or events.k8s.io/v1 Event -> one shape: uid, times, count, regarding, reason, note."""
    meta = _meta(item)
    if api == "events.k8s.io/v1":
        regarding = item.get("regarding") or {}
        series = item.get("series") or {}
        first = to_epoch(item.get("eventTime")) or to_epoch(item.get("deprecatedFirstTimestamp"))
        last = to_epoch(series.get("lastObservedTime")) or to_epoch(item.get("deprecatedLastTimestamp")) or first
        count = series.get("count") or item.get("deprecatedCount") or 1
        note, component = item.get("note"), item.get("reportingController") or (item.get("deprecatedSource") or {}).get("component")
    else:
        regarding = item.get("involvedObject") or {}
        first = to_epoch(item.get("firstTimestamp")) or to_epoch(item.get("eventTime"))
        last = to_epoch((item.get("series") or {}).get("lastObservedTime")) or to_epoch(item.get("lastTimestamp")) or first
        count = (item.get("series") or {}).get("count") or item.get("count") or 1
        note, component = item.get("message"), (item.get("source") or {}).get("component") or item.get("reportingComponent")
    if first is None:
        first = to_epoch(meta.get("creationTimestamp"))
    return {"uid": meta.get("uid") or "%s/%s" % (meta.get("namespace"), meta.get("name")), "name": meta.get("name"),
            "namespace": meta.get("namespace") or regarding.get("namespace") or "", "type": item.get("type") or "Normal",
            "reason": item.get("reason") or "", "note": note or "", "first": first, "last": last or first,
            "count": int(count or 1), "component": component or "", "labels": meta.get("labels") or {},
            "regarding": {"kind": regarding.get("kind") or "", "name": regarding.get("name") or "",
                          "namespace": regarding.get("namespace") or meta.get("namespace") or ""},
            "api": api}


def merge_event_records(records):
    """One record per event uid (core/v1 and events.k8s.io/v1 show the same objects; a store keeps
    older copies): the highest count and the widest first..last wins."""
    merged = {}
    for rec in records:
        have = merged.get(rec["uid"])
        if have is None:
            merged[rec["uid"]] = dict(rec)
            continue
        have["count"] = max(have["count"], rec["count"])
        firsts = [t for t in (have["first"], rec["first"]) if t is not None]
        lasts = [t for t in (have["last"], rec["last"]) if t is not None]
        have["first"], have["last"] = (min(firsts) if firsts else None), (max(lasts) if lasts else None)
    return sorted(merged.values(), key=lambda r: (r["first"] or 0, r["uid"]))


def event_kind(rec):
    if rec["reason"] in CHAOS_REASONS or rec["component"] in CHAOS_COMPONENTS:
        return "chaos"
    if rec["reason"] in ROLLOUT_REASONS:
        return "rollouts"
    return "events" if rec["type"] == "Warning" else None


def event_entries(records, start, end, horizon=None):
    """Entries for warning events, chaos Events and ScalingReplicaSet events: one at the first
    occurrence, one at the last when the recorder folded repeats into it. Returns (entries, folded)
    where folded counts occurrences without a time of their own."""
    entries, folded = [], 0
    for rec in records:
        source = event_kind(rec)
        if source is None or rec["first"] is None:
            continue
        reg = rec["regarding"]
        about = subject(reg["kind"], reg["name"], reg["namespace"])
        evidence = {"reason": rec["reason"], "message": rec["note"], "count": rec["count"], "first": rec["first"],
                    "last": rec["last"], "event": "%s/%s" % (rec["namespace"], rec["name"]), "api": rec["api"],
                    "component": rec["component"]}
        if source == "chaos":
            run = rec["labels"].get("sre.toolkit/chaos-run") or ""
            evidence["run_id"] = run
            kind, what = "chaos_action", "%s: %s" % (rec["reason"], rec["note"])
            key = "chaos|%s|%s" % (run, about["locator"])
        elif source == "rollouts":
            kind, what, key = "scaled", rec["note"], "event|" + rec["uid"]
        else:
            kind, what, key = "warning_event", "%s: %s" % (rec["reason"], rec["note"]), "event|" + rec["uid"]
        # a repeating event first seen after the horizon, in a range that reaches before it: the same symptom may
        # have begun earlier in an event object that has since expired (a surviving older event is exact)
        recurring_after_horizon = horizon is not None and start < horizon <= rec["first"] and rec["count"] > 1
        confidence = "older_expired" if recurring_after_horizon else "exact"
        if inside(rec["first"], start, end):
            entries.append(entry(rec["first"], source, kind, about, what + (" (x%d until %s)" % (rec["count"], utc_text(rec["last"], seconds=True))
                                                                            if rec["count"] > 1 else ""),
                                 evidence, confidence, key))
        if rec["count"] > 1 and rec["last"] != rec["first"] and inside(rec["last"], start, end):
            entries.append(entry(rec["last"], source, kind + "_last", about, "last of %d: %s" % (rec["count"], what),
                                 evidence, "exact", key + "|last"))
        folded += max(0, rec["count"] - (2 if rec["last"] != rec["first"] else 1))
    return entries, folded


# ------------------------------------------------------------------ rollouts and rollbacks

def _template_facts(template):
    spec = (template or {}).get("spec") or {}
    images = {c.get("name"): c.get("image") for c in (spec.get("containers") or [])}
    labels = {k: v for k, v in (_meta(template).get("labels") or {}).items() if k != "pod-template-hash"}
    return images, labels


def _changes(old, new):
    """What differs between two pod templates, in words (images first, then labels)."""
    if old is None:
        return "first revision"
    (old_images, old_labels), (new_images, new_labels) = _template_facts(old), _template_facts(new)
    words = ["%s image %s -> %s" % (n, old_images.get(n), new_images.get(n))
             for n in sorted(set(old_images) | set(new_images)) if old_images.get(n) != new_images.get(n)]
    words += ["label %s %s -> %s" % (k, old_labels.get(k), new_labels.get(k))
              for k in sorted(set(old_labels) | set(new_labels)) if old_labels.get(k) != new_labels.get(k)]
    return "; ".join(words) or "pod template changed (env, resources or annotations)"


def rollout_entries(replicasets, deployments, scaling_records, start, end):
    """Rollouts (a ReplicaSet's creation = its first revision) and rollbacks (a ReplicaSet whose
    revision-history annotation shows it came back) per Deployment.

    A rollback reuses an old ReplicaSet, so its creationTimestamp predates it: its time is the
    deployment controller's ScalingReplicaSet event scaling that ReplicaSet up after its previous
    revision (exact), else the Deployment's Progressing condition lastUpdateTime (inferred).
    Returns (entries, untimed rollbacks)."""
    by_owner = {}
    for rs in replicasets or ():
        owner = next((o for o in _meta(rs).get("ownerReferences") or () if o.get("controller")), None)
        if owner and owner.get("kind") == "Deployment":
            by_owner.setdefault((_meta(rs).get("namespace"), owner.get("name")), []).append(rs)
    deps = {(_meta(d).get("namespace"), _meta(d).get("name")): d for d in deployments or ()}
    scale_ups, emptied = {}, {}  # (namespace, ReplicaSet) -> times it was scaled up / scaled down to 0
    for rec in scaling_records or ():
        match = _SCALED.match(rec["note"] or "")
        if match and rec["first"] is not None:
            target = scale_ups if match.group(1) == "up" else emptied if match.group(3) == "0" else {}
            target.setdefault((rec["namespace"], match.group(2)), set()).update((rec["first"], rec["last"]))
    entries, untimed = [], 0
    for (namespace, name), sets in sorted(by_owner.items()):
        about = subject("Deployment", name, namespace)
        revs = []
        for rs in sets:
            ann = _meta(rs).get("annotations") or {}
            try:
                revision = int(ann.get(REVISION, 0))
            except ValueError:
                revision = 0
            history = [int(r) for r in str(ann.get(REVISION_HISTORY, "")).split(",") if r.strip().isdigit()]
            revs.append((revision, history, rs))
        # the template that was live at each revision number, for "what changed"
        at_revision = {}
        for revision, history, rs in revs:
            for r in history + [revision]:
                at_revision[r] = rs
        for revision, history, rs in sorted(revs, key=lambda r: r[0]):
            meta = _meta(rs)
            template = (rs.get("spec") or {}).get("template")
            images, _labels = _template_facts(template)
            created = to_epoch(meta.get("creationTimestamp"))
            first_revision = min(history + [revision])
            before = at_revision.get(first_revision - 1)
            evidence = {"replicaset": meta.get("name"), "revision": revision, "revision_history": history,
                        "images": images, "created": meta.get("creationTimestamp")}
            if inside(created, start, end):
                entries.append(entry(created, "rollouts", "rollout", about,
                                     "rolled out revision %d (ReplicaSet %s): %s" % (
                                         first_revision, meta.get("name"), _changes((before or {}).get("spec", {}).get("template"), template)),
                                     dict(evidence, revision=first_revision), "exact",
                                     "rollout|%s/%s|%s" % (namespace, name, meta.get("name"))))
            if not history:
                continue
            previous = at_revision.get(revision - 1)
            since = to_epoch(_meta(previous).get("creationTimestamp")) or created or 0
            # the controller scales this ReplicaSet up, or the one rolled back from down to 0, right after the rollback
            when = sorted(t for t in scale_ups.get((namespace, meta.get("name")), set()) | emptied.get((namespace, _meta(previous).get("name")), set())
                          if t > since and (created is None or t > created + 1))
            confidence = "exact"
            if when:
                when = when[0]
            else:
                confidence, when = "inferred", _progressing_time(deps.get((namespace, name)), meta.get("name"))
            if when is None:
                untimed += 1
                continue
            if inside(when, start, end):
                entries.append(entry(when, "rollouts", "rollback", about,
                                     "rolled back to revision %d (ReplicaSet %s, now revision %d): %s" % (
                                         max(history), meta.get("name"), revision,
                                         _changes((previous or {}).get("spec", {}).get("template"), template)),
                                     dict(evidence, rolled_back_from=revision - 1), confidence,
                                     "rollback|%s/%s|%d" % (namespace, name, revision)))
    return entries, untimed


def _progressing_time(deployment, rs_name):
    for cond in ((deployment or {}).get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Progressing" and rs_name in (cond.get("message") or ""):
            return to_epoch(cond.get("lastUpdateTime")) or to_epoch(cond.get("lastTransitionTime"))
    return None


def revision_entries(revisions, start, end):
    """StatefulSet / DaemonSet rollouts from ControllerRevisions (creation time of each revision)."""
    entries = []
    for rev in revisions or ():
        meta = _meta(rev)
        owner = next((o for o in meta.get("ownerReferences") or () if o.get("controller")), None)
        created = to_epoch(meta.get("creationTimestamp"))
        if not owner or not inside(created, start, end):
            continue
        about = subject(owner.get("kind"), owner.get("name"), meta.get("namespace"))
        entries.append(entry(created, "rollouts", "rollout", about,
                             "rolled out revision %s (ControllerRevision %s)" % (rev.get("revision"), meta.get("name")),
                             {"controller_revision": meta.get("name"), "revision": rev.get("revision")}, "exact",
                             "rollout|%s|%s" % (about["locator"], meta.get("name"))))
    return entries


def config_entries(configmaps, start, end):
    """ConfigMap changes from managedFields: the last write of each field manager after the object's
    creation (earlier writes by the same manager are gone; creation itself is not a change)."""
    entries = []
    for obj in configmaps or ():
        meta = _meta(obj)
        created = to_epoch(meta.get("creationTimestamp"))
        about = subject("ConfigMap", meta.get("name"), meta.get("namespace"))
        for field in meta.get("managedFields") or ():
            when = to_epoch(field.get("time"))
            if not inside(when, start, end) or (created is not None and when <= created + 1):
                continue
            entries.append(entry(when, "config", "config_change", about, "changed by %s (%s; the manager's last write)" % (
                field.get("manager") or "?", field.get("operation") or "Update"),
                {"manager": field.get("manager"), "operation": field.get("operation"), "resource_version": meta.get("resourceVersion")},
                "exact", "config|%s|%s|%d" % (about["locator"], field.get("manager"), int(when))))
    return entries


# ------------------------------------------------------------------ nodes, containers, chaos, certificates

def node_entries(nodes, start, end):
    """The last transition of each node condition (the API keeps no earlier ones)."""
    entries = []
    for node in nodes or ():
        name = _meta(node).get("name")
        about = subject("Node", name)
        for cond in (node.get("status") or {}).get("conditions") or ():
            when = to_epoch(cond.get("lastTransitionTime"))
            if not inside(when, start, end):
                continue
            bad = BAD_NODE_CONDITIONS.get(cond.get("type")) == cond.get("status")
            entries.append(entry(when, "nodes", "node_condition" if bad else "node_condition_ok", about,
                                 "%s=%s (%s)" % (cond.get("type"), cond.get("status"), cond.get("reason") or ""),
                                 {"type": cond.get("type"), "status": cond.get("status"), "reason": cond.get("reason"),
                                  "message": cond.get("message"), "bad": bad}))
    return entries


def pod_owner(pod):
    """(kind, name) of the workload behind a pod: ReplicaSet names lose their hash to name the Deployment."""
    owner = next((o for o in _meta(pod).get("ownerReferences") or () if o.get("controller")), None)
    if not owner:
        return None
    if owner.get("kind") == "ReplicaSet":
        template_hash = (_meta(pod).get("labels") or {}).get("pod-template-hash")
        if template_hash and owner.get("name", "").endswith("-" + template_hash):
            return "Deployment", owner["name"][:-len(template_hash) - 1]
    return owner.get("kind"), owner.get("name")


def container_entries(pods, start, end):
    """Terminations from state/lastState.terminated (the kubelet keeps only the last one), plus
    memory_hog helper pods (label sre.toolkit/run-id). Returns (entries, restarts without a time)."""
    entries, hidden = [], 0
    for pod in pods or ():
        meta = _meta(pod)
        about = subject("Pod", meta.get("name"), meta.get("namespace"))
        owner = pod_owner(pod)
        run = (meta.get("labels") or {}).get(RUN_LABEL)
        created = to_epoch(meta.get("creationTimestamp"))
        if run and inside(created, start, end):
            entries.append(entry(created, "chaos", "chaos_action", about, "memory_hog helper pod started (run %s)" % run,
                                 {"run_id": run}, "exact", "chaos|%s|%s" % (run, about["locator"])))
        for status in ((pod.get("status") or {}).get("containerStatuses") or ()):
            restarts = int(status.get("restartCount") or 0)
            for place in ("lastState", "state"):
                term = (status.get(place) or {}).get("terminated")
                when = to_epoch((term or {}).get("finishedAt"))
                if not term or not inside(when, start, end) or term.get("reason") == "Completed":
                    continue
                entries.append(entry(when, "containers", "container_terminated", about,
                                     "container %s terminated: %s (exit %s), %d restart(s)" % (
                                         status.get("name"), term.get("reason"), term.get("exitCode"), restarts),
                                     {"container": status.get("name"), "reason": term.get("reason"), "exit_code": term.get("exitCode"),
                                      "started_at": term.get("startedAt"), "finished_at": term.get("finishedAt"),
                                      "restart_count": restarts, "owner": "%s/%s" % owner if owner else None}))
                hidden += max(0, restarts - 1) if place == "lastState" else 0
    return entries, hidden


def chaos_record_entries(records, start, end):
    """pod_killer / memory_hog audit records (their returned ``record``, kept by a play or a store)."""
    entries = []
    for rec in records or ():
        if not isinstance(rec, dict) or rec.get("dry_run") or rec.get("simulated"):
            continue
        run = str(rec.get("run_id") or "")
        module = str(rec.get("module") or "chaos")
        about = subject("ChaosRun", run, locator="chaos run %s (%s)" % (run, module))
        keys = ("run_id", "module", "action", "mode", "outcome", "victims", "started_at", "finished_at")
        evidence = {k: rec.get(k) for k in keys if rec.get(k) is not None}
        begin = to_epoch(rec.get("started_at"))
        finish = to_epoch(rec.get("finished_at") or rec.get("ended_at"))
        if inside(begin, start, end):
            entries.append(entry(begin, "chaos", "chaos_run_started", about, "%s run started: %s" % (
                module, rec.get("action") or rec.get("mode") or ""), evidence, "exact", "chaosrun|%s|start" % run))
        if inside(finish, start, end):
            entries.append(entry(finish, "chaos", "chaos_run_finished", about, "%s run finished: %s" % (
                module, rec.get("outcome") or ""), evidence, "exact", "chaosrun|%s|end" % run))
    return entries


def chaos_annotation_entries(workloads, start, end):
    """The last disruption pod_killer stamped on each owner (sre.toolkit/chaos-last-disruption)."""
    entries = []
    for obj in workloads or ():
        meta = _meta(obj)
        ann = meta.get("annotations") or {}
        when = to_epoch(ann.get(COOLDOWN_ANNOTATION))
        if not inside(when, start, end):
            continue
        about = subject(obj.get("kind") or "Deployment", meta.get("name"), meta.get("namespace"))
        run = ann.get(RUN_ANNOTATION, "")
        entries.append(entry(when, "chaos", "chaos_action", about, "pod_killer disrupted a pod (run %s, last run only)" % run,
                             {"run_id": run, "annotation": COOLDOWN_ANNOTATION}, "exact", "chaos|%s|%s" % (run, about["locator"])))
    return entries


def certificate_entries(certificates, start, end):
    """Certificates whose notAfter falls in the range: dicts with ``name`` and ``not_after``, or
    cert_expiry findings (subject + evidence.not_after)."""
    entries = []
    for cert in certificates or ():
        if not isinstance(cert, dict):
            continue
        evidence = cert.get("evidence") or {}
        when = to_epoch(cert.get("not_after") or evidence.get("not_after"))
        if not inside(when, start, end):
            continue
        about = cert.get("subject") if isinstance(cert.get("subject"), dict) else subject(
            "Certificate", cert.get("name") or "", locator="certificate %s" % (cert.get("name") or "?"))
        entries.append(entry(when, "certificates", "certificate_expiry", about, "certificate expired (notAfter)",
                             {"not_after": cert.get("not_after") or evidence.get("not_after")}))
    return entries
