# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules incident_timeline reports as findings: id -> severities, meaning, fix."""

from __future__ import annotations

MODULE = "incident_timeline"

RULES = {
    "incident.source_unavailable": {
        "severities": ("warning",),
        "meaning": "A source of the timeline could not be read (refused, forbidden, down, not configured): the timeline is partial.",
        "fix": "Give the module the URL or the read permission it names (e.g. list events), or accept the gap in the postmortem.",
    },
    "incident.events_expired": {
        "severities": ("warning", "info"),
        "meaning": "The range reaches further back than the event TTL: warning events, chaos Events and rollout Events older than the "
                   "horizon are gone unless an event store kept them.",
        "fix": "Run the incident_events role on a schedule (cron or AWX) and pass its store as event_store, or run the timeline "
               "within the TTL.",
    },
    "incident.events_folded": {
        "severities": ("info",),
        "meaning": "Repeated events were folded by the recorder (count or series.count): only the first and last occurrence have a time.",
        "fix": "Read the counts as occurrences between the two times; use Prometheus counters for the exact rate.",
    },
    "incident.prometheus_gap": {
        "severities": ("warning",),
        "meaning": "The heartbeat series has no sample for longer than two evaluation intervals: alerts in that gap cannot be known.",
        "fix": "Check Prometheus' health for that time (restarts, WAL replay, scrape failures) before trusting the alert history there.",
    },
    "incident.no_alert": {
        "severities": ("warning",),
        "meaning": "Symptoms (warning events, crash-looping containers, bad node conditions) appear in the range but no alert fired: "
                   "detection was by hand, or monitoring missed it.",
        "fix": "Add or tune an alert for this symptom; record in the postmortem how the incident was found.",
    },
    "incident.unresolved": {
        "severities": ("warning",),
        "meaning": "An alert was still firing at the end of the range: no resolution time.",
        "fix": "Extend the range (end) or keep the incident open.",
    },
    "incident.trigger_candidate": {
        "severities": ("info",),
        "meaning": "A change (rollout, rollback, chaos action) happened shortly before the first symptom: a candidate trigger.",
        "fix": "Confirm or rule it out in the postmortem's trigger section; roll it back if the incident is still open.",
    },
    "incident.milestones": {
        "severities": ("info",),
        "meaning": "The incident's first symptom, detection, mitigation and resolution times as read from the timeline.",
        "fix": "Copy them into the postmortem (the scaffold has them) and correct any the sources could not know.",
    },
    "incident.certificate_expiry": {
        "severities": ("warning",),
        "meaning": "A certificate's notAfter falls inside the range: it may have caused or contributed to the incident.",
        "fix": "Check the handshakes that failed around that time; renew the certificate.",
    },
}
