# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The timeline's milestones, triggers and limits turned into contract findings (ids in catalogue.py)."""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._findings import finding, subject
from ansible_collections.sre.toolkit.plugins.module_utils._incidents.catalogue import RULES

CHECK = "incident_timeline"


def _fix(rule_id):
    return RULES[rule_id]["fix"]


def build(timeline, marks, found_triggers, found_limits, title):
    """Findings for one timeline: milestones (info), triggers (info), limits, alerts still open, no alert."""
    out = []
    incident = subject("Incident", title, locator="incident %s" % title)
    if marks.get("first_symptom"):
        figures = {k: (marks[k] or {}).get("time_utc") for k in ("first_symptom", "detection", "mitigation", "resolution")}
        out.append(finding("incident.milestones", "info", incident, "first symptom %s, detection %s, mitigation %s, resolution %s" % tuple(
            figures[k] or "unknown" for k in ("first_symptom", "detection", "mitigation", "resolution")), _fix("incident.milestones"),
            figures, CHECK))
    if marks.get("first_symptom") and not any(e["kind"] == "alert_firing" for e in timeline):
        out.append(finding("incident.no_alert", "warning", incident, "symptoms from %s but no alert fired in the range" % (
            marks["first_symptom"]["time_utc"]), _fix("incident.no_alert"), {"first_symptom": marks["first_symptom"]["what"]}, CHECK))
    for locator in marks.get("open_alerts") or ():
        out.append(finding("incident.unresolved", "warning", subject("Alert", locator, locator=locator),
                           "still firing at the end of the range", _fix("incident.unresolved"), {}, CHECK))
    for cand in found_triggers:
        out.append(finding("incident.trigger_candidate", "info", cand["subject"],
                           "#%d: %s at %s, %ds before the first symptom%s" % (
                               cand["rank"], cand["what"], cand["time_utc"], cand["lead_seconds"],
                               " (%d symptom(s) on the same workload)" % len(cand["related_symptoms"]) if cand["related_symptoms"] else ""),
                           _fix("incident.trigger_candidate"), {k: cand[k] for k in ("rank", "kind", "time_utc", "lead_seconds")}, CHECK))
    for item in found_limits:
        rule, severity = {"events_expired": ("incident.events_expired", "warning"), "events_folded": ("incident.events_folded", "info"),
                          "prometheus_gap": ("incident.prometheus_gap", "warning"),
                          "source_unavailable": ("incident.source_unavailable", "warning")}.get(item["id"], (None, None))
        if rule is None:
            continue
        if rule == "incident.events_expired" and item.get("store_covers_range"):
            severity = "info"
        about = subject("Source", item.get("source") or item["id"], locator="source %s" % (item.get("source") or item["id"]))
        out.append(finding(rule, severity, about, item["what"], _fix(rule),
                           {k: v for k, v in item.items() if k not in ("id", "what")}, CHECK))
    for item in timeline:
        if item["kind"] == "certificate_expiry":
            out.append(finding("incident.certificate_expiry", "warning", item["subject"], "%s at %s" % (item["what"], item["time_utc"]),
                               _fix("incident.certificate_expiry"), item["evidence"], CHECK))
    return out
