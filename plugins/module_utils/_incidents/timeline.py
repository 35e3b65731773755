# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merge, de-duplicate and order entries; read the milestones (first symptom, detection,
mitigation, resolution), the trigger candidates and what the timeline cannot know.

Rule ids: ``timeline.dedupe`` (one entry per key; the more certain and richer copy wins),
``timeline.order`` (time, then cause before effect at the same second), ``milestone.detection``
(first alert firing, else the first symptom), ``milestone.mitigation`` (first rollback after the
first symptom; with no symptom known, the first rollback in the range, inferred), ``milestone.resolution`` (the end of the last alert episode, none while one is
open), ``trigger.window`` (changes at most ``trigger_window`` before and ``clock_skew`` after the
first symptom, but no rollback after it; the symptom's own workload first, then the nearest).
"""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._time import utc_text

# at one second, causes before effects: changes, then symptoms, then alerts, then ends
KIND_ORDER = ("chaos_run_started", "config_change", "rollout", "rollback", "scaled", "chaos_action", "silence_started", "certificate_expiry",
              "node_condition", "container_terminated", "warning_event", "alert_pending", "alert_firing", "warning_event_last",
              "chaos_action_last", "scaled_last", "node_condition_ok", "alert_resolved", "silence_ended", "chaos_run_finished")
CONFIDENCE_RANK = {"exact": 0, "inferred": 1, "older_expired": 2}
SYMPTOM_KINDS = ("warning_event", "container_terminated", "node_condition", "alert_pending", "alert_firing")
CHANGE_KINDS = ("rollout", "rollback", "config_change", "chaos_action", "chaos_run_started")


def _order(item):
    rank = KIND_ORDER.index(item["kind"]) if item["kind"] in KIND_ORDER else len(KIND_ORDER)
    return (round(item["time"], 3), rank, item["subject"]["locator"], item["what"])


def merge(*groups):
    """One ordered list from many sources; entries sharing a key are one (the surest, then the one
    with more evidence), with every source that saw it in ``seen_by``."""
    best = {}
    for group in groups:
        for item in group:
            have = best.get(item["key"])
            if have is None:
                best[item["key"]] = dict(item, seen_by=[item["source"]])
                continue
            seen = sorted(set(have["seen_by"]) | {item["source"]})
            if (CONFIDENCE_RANK[item["confidence"]], -len(item["evidence"])) < (CONFIDENCE_RANK[have["confidence"]], -len(have["evidence"])):
                best[item["key"]] = dict(item)
            best[item["key"]]["seen_by"] = seen
    ordered = sorted(best.values(), key=_order)
    for item in ordered:
        item["time_utc"] = utc_text(item["time"], seconds=True)
    return ordered


def _workload_of(item):
    """(namespace, name-prefix) a symptom belongs to, for matching it with a change."""
    about = item["subject"]
    owner = (item.get("evidence") or {}).get("owner")
    if owner:
        return about["namespace"], owner.split("/", 1)[1]
    labels = (item.get("evidence") or {}).get("labels") or {}
    for key in ("deployment", "statefulset", "daemonset", "workload"):
        if labels.get(key):
            return labels.get("namespace", about["namespace"]), labels[key]
    if labels.get("pod"):
        return labels.get("namespace", about["namespace"]), labels["pod"]
    return about["namespace"], about["name"]


def _related(change, symptom):
    namespace, name = _workload_of(symptom)
    about = change["subject"]
    return bool(about["name"]) and about["namespace"] == namespace and (name == about["name"] or name.startswith(about["name"] + "-"))


def milestones(timeline, episodes, end):
    """First symptom, detection, mitigation and resolution, each ``{time, time_utc, entry, how, confidence}`` or None."""
    symptoms = [e for e in timeline if e["kind"] in SYMPTOM_KINDS]
    first = symptoms[0] if symptoms else None
    out = {"first_symptom": _mark(first, "the first warning event, container termination, bad node condition or alert")}
    firing = [e for e in timeline if e["kind"] == "alert_firing"]
    if firing:
        out["detection"] = _mark(firing[0], "the first alert that fired")
    else:
        out["detection"] = _mark(first, "no alert fired: the first symptom (detected by hand?)", "inferred")
    since = first["time"] if first else None
    rollbacks = [e for e in timeline if e["kind"] == "rollback" and (since is None or e["time"] >= since)]
    out["mitigation"] = _mark(rollbacks[0] if rollbacks else None, "the first rollback after the first symptom" if first else
                              "the first rollback in the range (no symptom known)", None if first else "inferred")
    fired = [ep for ep in episodes if ep.get("fired_at") is not None]
    open_ = [ep for ep in fired if ep.get("resolved_at") is None]
    if fired and not open_:
        last = max(fired, key=lambda ep: ep["resolved_at"])
        ends = [e for e in timeline if e["kind"] == "alert_resolved" and e["time"] == last["resolved_at"]]
        out["resolution"] = _mark(ends[0] if ends else None, "the end of the last alert episode (last firing sample + one interval)")
    else:
        out["resolution"] = None
    out["open_alerts"] = sorted(ep["subject"]["locator"] for ep in open_)
    for key in ("detection", "mitigation", "resolution"):
        if out[key] and out["first_symptom"]:
            out[key]["after_first_symptom_seconds"] = round(out[key]["time"] - out["first_symptom"]["time"], 3)
    return out


def _mark(item, how, confidence=None):
    if item is None:
        return None
    return {"time": item["time"], "time_utc": item["time_utc"], "how": how, "confidence": confidence or item["confidence"],
            "what": item["what"], "locator": item["subject"]["locator"], "key": item["key"]}


def triggers(timeline, first_symptom, window, skew):
    """Changes from ``window`` seconds before to ``skew`` seconds after the first symptom, most
    likely first: a change to the workload of an early symptom, then by closeness."""
    if not first_symptom:
        return []
    t0 = first_symptom["time"]
    early = [e for e in timeline if e["kind"] in SYMPTOM_KINDS and e["time"] <= t0 + window]
    found = []
    for item in timeline:
        if item["kind"] not in CHANGE_KINDS or not t0 - window <= item["time"] <= t0 + skew:
            continue
        if item["kind"] == "rollback" and item["time"] > t0:  # a rollback after the first symptom is the mitigation
            continue
        related = [s["subject"]["locator"] for s in early if _related(item, s)]
        found.append({"time": item["time"], "time_utc": item["time_utc"], "kind": item["kind"], "what": item["what"],
                      "locator": item["subject"]["locator"], "subject": item["subject"], "lead_seconds": round(t0 - item["time"], 3),
                      "related_symptoms": sorted(set(related))[:10], "confidence": item["confidence"], "key": item["key"]})
    found.sort(key=lambda c: (not c["related_symptoms"], abs(c["lead_seconds"]), c["locator"]))
    for rank, cand in enumerate(found, 1):
        cand["rank"] = rank
    return found


def limits(start, end, now, event_ttl, store_covers_from, folded, hidden_restarts, gaps, sources, untimed_rollbacks):
    """What this timeline cannot know, each ``{id, what, detail}``: the event horizon, folded events,
    restarts without a time, Prometheus gaps, sources that could not be read."""
    out = []
    horizon = now - event_ttl
    if start < horizon and sources.get("events", {}).get("status") == "ok":
        covered = store_covers_from is not None and store_covers_from <= start
        out.append({"id": "events_expired", "horizon": horizon, "horizon_utc": utc_text(horizon, seconds=True),
                    "store_from": store_covers_from, "store_covers_range": covered,
                    "what": "events older than %s (event TTL %ds) have expired in the API%s" % (
                        utc_text(horizon, seconds=True), event_ttl,
                        ": the event store covers the range from %s" % utc_text(store_covers_from, seconds=True) if covered else
                        ": warning, chaos and rollout Events before then are missing" + (
                            " (the event store starts at %s)" % utc_text(store_covers_from, seconds=True) if store_covers_from else ""))})
    if folded:
        out.append({"id": "events_folded", "count": folded,
                    "what": "%d event occurrence(s) were folded into repeated events: counted, without times of their own" % folded})
    if hidden_restarts:
        out.append({"id": "restarts_untimed", "count": hidden_restarts,
                    "what": "%d container restart(s) left no time: the kubelet keeps only the last termination" % hidden_restarts})
    if untimed_rollbacks:
        out.append({"id": "rollbacks_untimed", "count": untimed_rollbacks,
                    "what": "%d rollback(s) could not be placed in time (no ScalingReplicaSet event left)" % untimed_rollbacks})
    if gaps is None and sources.get("alerts", {}).get("status") == "ok":
        out.append({"id": "prometheus_gaps_unknown", "what": "the heartbeat series has no sample in the range: gaps cannot be told"})
    for a, b in gaps or ():
        out.append({"id": "prometheus_gap", "from": a, "to": b, "seconds": round(b - a, 3),
                    "what": "no Prometheus sample from %s to %s: alerts in between are unknown" % (
                        utc_text(a, seconds=True), utc_text(b, seconds=True))})
    for name, info in sorted(sources.items()):
        if info.get("status") not in ("ok", "skipped"):
            out.append({"id": "source_unavailable", "source": name, "status": info.get("status"),
                        "what": "%s: %s" % (name, info.get("detail") or info.get("status"))})
    return out
