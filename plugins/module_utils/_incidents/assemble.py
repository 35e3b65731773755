# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's one entry: what the service read (plain data per source, None where a source was
not read) -> timeline, milestones, triggers, limits, impact, findings and the postmortem page."""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._incidents import findings as incident_findings
from ansible_collections.sre.toolkit.plugins.module_utils._incidents import normalize as norm
from ansible_collections.sre.toolkit.plugins.module_utils._incidents import postmortem
from ansible_collections.sre.toolkit.plugins.module_utils._incidents import timeline as tl

SOURCES = ("alerts", "silences", "events", "rollouts", "config", "nodes", "containers", "chaos", "certificates")


def assemble(data, options, sources):
    """``data``: {alerts: (ALERTS series, ALERTS_FOR_STATE series), heartbeat, silences, events: [event
    records], replicasets, deployments, controllerrevisions, nodes, pods, chaos_records, certificates};
    ``options``: {start, end, now, interval, ignore_labels, event_ttl, trigger_window, clock_skew, title,
    store_from}; ``sources``: {name: {status, detail}} as the service found them."""
    start, end, now = options["start"], options["end"], options["now"]
    groups, episodes, folded, hidden, untimed, gaps = [], [], 0, 0, 0, None
    if data.get("alerts") is not None:
        entries, episodes = norm.alert_entries(data["alerts"][0], data["alerts"][1], options["interval"], start, end,
                                               options.get("ignore_labels") or ())
        groups.append(entries)
        gaps = norm.heartbeat_gaps(data.get("heartbeat"), options["interval"], start, end)
    groups.append(norm.silence_entries(data.get("silences"), start, end))
    records = norm.merge_event_records(data.get("events") or ())
    entries, folded = norm.event_entries(records, start, end, now - options["event_ttl"])
    groups.append(entries)
    scaling = [r for r in records if r["reason"] in norm.ROLLOUT_REASONS]
    entries, untimed = norm.rollout_entries(data.get("replicasets"), data.get("deployments"), scaling, start, end)
    groups += [entries, norm.revision_entries(data.get("controllerrevisions"), start, end), norm.node_entries(data.get("nodes"), start, end),
               norm.config_entries(data.get("configmaps"), start, end)]
    entries, hidden = norm.container_entries(data.get("pods"), start, end)
    groups += [entries, norm.chaos_record_entries(data.get("chaos_records"), start, end),
               norm.chaos_annotation_entries(data.get("deployments"), start, end),
               norm.certificate_entries(data.get("certificates"), start, end)]
    wanted = set(options.get("sources") or SOURCES)  # events are read for chaos and rollouts too: keep only the sources asked for
    timeline = [item for item in tl.merge(*groups) if item["source"] in wanted]
    per_source = {}
    for item in timeline:
        per_source[item["source"]] = per_source.get(item["source"], 0) + 1
    for name in SOURCES:
        sources.setdefault(name, {"status": "ok", "detail": ""})
        sources[name]["entries"] = per_source.get(name, 0)
    marks = tl.milestones(timeline, episodes, end)
    found_triggers = tl.triggers(timeline, marks["first_symptom"], options["trigger_window"], options["clock_skew"])
    found_limits = tl.limits(start, end, now, options["event_ttl"], options.get("store_from"), folded, hidden, gaps, sources, untimed)
    impact = postmortem.impact(timeline, episodes)
    page = postmortem.markdown(options["title"], start, end, timeline, marks, found_triggers, found_limits, impact, sources,
                               options.get("postmortem_entries") or 200)
    findings = incident_findings.build(timeline, marks, found_triggers, found_limits, options["title"])
    episode_rows = [{"alert": ep["subject"]["locator"], "alertname": ep["alertname"], "active_at": ep["active_at"],
                     "fired_at": ep["fired_at"], "resolved_at": ep["resolved_at"], "open": ep["open"],
                     "firing_seconds": ep["firing_seconds"]} for ep in episodes]
    return {"timeline": timeline, "milestones": marks, "triggers": found_triggers, "limits": found_limits, "impact": impact,
            "episodes": sorted(episode_rows, key=lambda r: (r["active_at"], r["alert"])), "postmortem": page,
            "sources": sources}, findings
