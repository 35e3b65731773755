# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A chaos experiment (pod_killer and/or memory_hog results of one cluster) as part of the report model:
hypothesis, actions, observations, verdict and a timeline (gate, victims, recovery, memory pressure).
"""

from __future__ import annotations

from .._time import human_duration, to_epoch, utc_text
from .sections import human_bytes

DEFAULT_HYPOTHESIS = ("The steady state holds before the experiment, and every disrupted workload is back at its ready "
                      "replicas within the recovery timeout.")
# Ends of a memory hog that are what the experiment is for (an OOM-killed target included).
HOG_EXPECTED = ("completed", "target_oom_killed", "stopped_at_deadline", "deadline_exceeded", "dry_run")


def _owner(item):
    return "%s %s/%s" % (item.get("kind"), item.get("namespace"), item.get("name"))


def _pod_actions(pk):
    summary = pk.get("summary") or {}
    lines = ["Pod disruption, run %s, seed %s: %d pod(s)%s" % (
        pk.get("run_id", "-"), pk.get("seed", "-"), len(pk.get("victims") or ()), ", planned only" if pk.get("dry_run") else "")]
    for victim in pk.get("victims") or ():
        owner = victim.get("owner") or {}
        lines.append("%s/%s (owner %s %s, node %s): %s%s" % (
            victim.get("namespace"), victim.get("name"), owner.get("kind", "-"), owner.get("name", "-"), victim.get("node", "-"),
            victim.get("outcome", "planned"), (" at " + utc_text(to_epoch(victim["acted_at"]), True)) if victim.get("acted_at") else ""))
    skipped = summary.get("skipped_by_reason") or {}
    lines.append("Pods read %s, eligible %s; skipped by reason: %s" % (
        summary.get("pods", 0), summary.get("eligible", 0), ", ".join("%s %s" % kv for kv in sorted(skipped.items())) or "none"))
    return lines


def _hog_action(mh):
    plan = mh.get("plan") or {}
    return "Memory pressure on %s: %s for %s (outcome %s)" % (
        mh.get("target", "host"), plan.get("total_human") or human_bytes(plan.get("total_bytes")),
        human_duration(plan.get("duration_seconds")), mh.get("outcome", "-"))


def _observations(pk, mh):
    lines = []
    gate = pk.get("gate") or {}
    if pk:
        lines.append("Steady-state gate: %s" % ("passed" if gate.get("passed", True) else "FAILED"))
        for check in gate.get("checks") or ():
            lines.append("gate check %s: %s, %s" % (check.get("check", "check"), "ok" if check.get("passed") else "failed", check.get("detail", "")))
        for owner in pk.get("recovery") or ():
            lines.append("%s: %s (ready %s of %s)" % (
                _owner(owner), "recovered in %s" % human_duration(owner.get("seconds")) if owner.get("recovered") else "NOT recovered",
                owner.get("ready"), owner.get("baseline_ready")))
    if mh and not mh.get("dry_run"):
        peak = mh.get("peak") or {}
        lines.append("Memory: hog peak RSS %s, MemAvailable dropped by %s, from %s to %s" % (
            human_bytes(peak.get("hog_rss_bytes")), human_bytes(peak.get("mem_available_drop_bytes")),
            utc_text(to_epoch(mh.get("started_at")), True), utc_text(to_epoch(mh.get("ended_at")), True)))
    return lines


def _verdict(pk, mh):
    dry = bool((pk or mh).get("dry_run"))
    if dry:
        return {"judged": False, "held": None, "text": "Not judged: this was a dry run. The actions above are what a real run would do."}
    reasons = []
    if pk and not (pk.get("gate") or {}).get("passed", True):
        reasons.append("the steady-state gate failed (nothing was disrupted)")
    unrecovered = [_owner(o) for o in pk.get("recovery") or () if not o.get("recovered")]
    if unrecovered:
        reasons.append("not recovered: %s" % ", ".join(unrecovered))
    if mh and mh.get("outcome") not in HOG_EXPECTED:
        reasons.append("memory pressure ended with %s" % mh.get("outcome"))
    if reasons:
        return {"judged": True, "held": False, "text": "The hypothesis did NOT hold: %s." % "; ".join(reasons)}
    return {"judged": True, "held": True, "text": "The hypothesis held."}


def timeline(pk, mh):
    """Gate, each victim's disruption and its owner's recovery, and the memory pressure, on one axis."""
    rows = []
    record = pk.get("record") or {}
    begin = to_epoch(record.get("started_at"))
    if begin is not None and pk.get("gate"):
        passed = pk["gate"].get("passed", True)
        mark = [begin, "ok" if passed else "critical", "gate %s" % ("passed" if passed else "FAILED")]
        rows.append({"label": "steady-state gate", "spans": [], "marks": [mark]})
    recovery = {(o.get("namespace"), o.get("name")): o for o in pk.get("recovery") or ()}
    for victim in pk.get("victims") or ():
        at = to_epoch(victim.get("acted_at"))
        if at is None:
            continue
        owner = victim.get("owner") or {}
        back = recovery.get((owner.get("namespace"), owner.get("name"))) or {}
        row = {"label": "%s %s" % (owner.get("kind", "Pod"), owner.get("name") or victim.get("name")), "spans": [],
               "marks": [[at, "warning", "%s %s/%s" % (victim.get("outcome"), victim.get("namespace"), victim.get("name"))]]}
        if back.get("recovered"):
            row["spans"].append([at, at + float(back.get("seconds") or 0), "ok", "back in %s" % human_duration(back.get("seconds"))])
        elif back:
            row["spans"].append([at, to_epoch(record.get("finished_at")) or at, "critical", "not recovered"])
        rows.append(row)
    started, ended = to_epoch(mh.get("started_at")), to_epoch(mh.get("ended_at"))
    if started is not None and ended is not None:
        state = "info" if mh.get("outcome") in HOG_EXPECTED else "critical"
        rows.append({"label": "memory pressure (%s)" % mh.get("target", "host"), "marks": [],
                     "spans": [[started, ended, state, "%s for %s, %s" % (
                         (mh.get("plan") or {}).get("total_human", "-"), human_duration(ended - started), mh.get("outcome"))]]})
    times = [t for row in rows for t in [m[0] for m in row["marks"]] + [x for s in row["spans"] for x in s[:2]]]
    if not rows or not times:
        return None
    start, end = min(times), max(times)
    pad = max(1.0, (end - start) * 0.05)
    return {"kind": "timeline", "title": "Experiment timeline", "relative": True, "origin": start, "start": start - pad, "end": end + pad,
            "rows": rows, "more": 0}


def build(results, hypothesis=""):
    """The experiment of one cluster, or None when neither chaos module ran."""
    pk = results.get("pod_killer") or {}
    mh = results.get("memory_hog") or {}
    pk = {} if pk.get("skipped") or pk.get("failed") and not pk.get("run_id") else pk
    mh = {} if mh.get("skipped") or mh.get("failed") and not mh.get("outcome") else mh
    if not pk and not mh:
        return None
    actions = (_pod_actions(pk) if pk else []) + ([_hog_action(mh)] if mh else [])
    chart = timeline(pk, mh)
    return {
        "hypothesis": (hypothesis or DEFAULT_HYPOTHESIS).strip(),
        "dry_run": bool((pk or mh).get("dry_run")),
        "actions": actions,
        "observations": _observations(pk, mh),
        "verdict": _verdict(pk, mh),
        "charts": [chart] if chart else [],
    }
