#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: incident_timeline
short_description: One ordered timeline of an incident from alerts, events, rollouts and chaos records, with a postmortem scaffold
version_added: 1.0.0
description:
  - For a time range, or the range around one alert episode (O(around_alert)), merges into one ordered, de-duplicated
    timeline what the systems still remember - alert episodes from Prometheus (C(ALERTS) / C(ALERTS_FOR_STATE) - pending,
    firing, resolved), Alertmanager silences, Kubernetes warning events (core/v1 and events.k8s.io/v1, one entry per event
    object, with its count), rollouts and rollbacks (ReplicaSet revisions, ControllerRevisions, the deployment controller's
    C(ScalingReplicaSet) events), ConfigMap changes (C(managedFields) times), node condition transitions, container terminations, the chaos records of
    M(sre.toolkit.pod_killer) and M(sre.toolkit.memory_hog) (Events, owner annotations, helper pods, audit records) and
    certificate expiries that fall in the range.
  - Each entry has its UTC time, source, subject, what happened, evidence and how sure the time is - V(exact) (the system
    recorded the moment), V(inferred) (derived, e.g. an alert's end is its last firing sample plus one evaluation
    interval) or V(older_expired) (the first surviving occurrence of a repeating event when the range reaches past the event
    horizon - earlier occurrences may have expired).
  - Reads the milestones (first symptom, detection, mitigation, resolution), ranks trigger candidates (rollouts, rollbacks,
    ConfigMap changes and chaos actions just before the first symptom, the symptom's own workload first) and writes a postmortem scaffold in Markdown.
  - Says what it cannot know (RV(limits)) - events older than the TTL, folded events, restarts without a time, gaps in the
    Prometheus heartbeat, and every source it could not read. A missing source (no Prometheus, 403 on events) gives a
    partial timeline that names what is missing; it never fails the module.
  - Read-only, except for the store that O(export_to) appends to.
author:
  - sre.toolkit maintainers (@sre-toolkit)
extends_documentation_fragment:
  - sre.toolkit._k8s_auth
  - sre.toolkit._prometheus
  - sre.toolkit._requirements.KUBERNETES
  - sre.toolkit._attributes
  - sre.toolkit._gate
attributes:
  check_mode:
    support: full
    details: Everything is read in check mode; O(export_to) counts the lines it would write and writes none.
  diff_mode:
    support: none
options:
  start:
    description:
      - Start of the range - unix seconds, RFC 3339 (V(2026-12-06T08:00:00Z)) or a duration back from now (V(-2h)).
      - Default is O(end) minus O(window). Not together with O(around_alert).
    type: str
  end:
    description: End of the range, in the forms of O(start). Default (and at most) now.
    type: str
  window:
    description: Length of the range when O(start) is not given, e.g. V(2h). At most 31 days.
    type: str
    default: 2h
  around_alert:
    description:
      - Find the range from one alert episode instead - the episode of O(around_alert.alertname) that covers O(around_alert.at)
        (else the last one that began before it), from its ActiveAt minus O(around_alert.before) to its end plus
        O(around_alert.after). Needs O(prometheus_url).
    type: dict
    suboptions:
      alertname: {description: The alert's name., type: str, required: true}
      matchers: {description: 'More label matchers in PromQL syntax, e.g. V(namespace="shop").', type: str}
      at: {description: A time inside or after the episode (forms of O(start)); default now., type: str}
      lookback: {description: How far before O(around_alert.at) to look for the episode., type: str, default: 1d}
      before: {description: Range before the episode's ActiveAt (where the triggers are)., type: str, default: 30m}
      after: {description: Range after the episode's end., type: str, default: 30m}
  sources:
    description: Sources to read; default all. A source left out is reported as V(skipped).
    type: list
    elements: str
    choices: [alerts, silences, events, rollouts, config, nodes, containers, chaos, certificates]
  namespaces:
    description: Namespaces to read events, rollouts and pods from; default all (nodes are cluster-wide).
    type: list
    elements: str
    default: []
  alert_selector:
    description: Label matchers (PromQL, without braces) that limit the alerts read, e.g. V(severity=~"critical|warning").
    type: str
    default: ''
  ignore_labels:
    description: Labels that do not tell alert instances apart (HA replica labels).
    type: list
    elements: str
    default: [prometheus, prometheus_replica, replica]
  evaluation_interval:
    description: The alerting rules' evaluation interval - splits episodes at gaps and bounds an alert's end.
    type: str
    default: 1m
  heartbeat:
    description:
      - A series that always has samples (PromQL selector); gaps in it longer than two evaluation intervals are reported as
        Prometheus gaps. Empty to skip. When it has no sample at all, RV(limits) says gaps cannot be told.
    type: str
    default: up
  event_ttl:
    description: The API server's C(--event-ttl) (OpenShift 3h); events older than now minus this are gone.
    type: str
    default: 1h
  event_store:
    description:
      - Directory of JSON lines files (C(*.jsonl)) kept by the R(incident_events role,ansible_collections.sre.toolkit.incident_events_role)
        - events, ReplicaSets and chaos records exported before they expired. Read back and merged, de-duplicated by uid.
    type: path
  export_to:
    description:
      - Keep what the events API will forget - append to C(<export_to>/events-<UTC day>.jsonl) the warning, chaos and
        C(ScalingReplicaSet) events, the ReplicaSets and the O(chaos_records) read in this run that no file there holds yet
        (same uid and resourceVersion). The directory is what O(event_store) reads back.
      - The only write this module does; C(changed) is true when it wrote lines. In check mode it counts, writes nothing.
      - The R(incident_events role,ansible_collections.sre.toolkit.incident_events_role) runs this on a schedule.
    type: path
  chaos_records:
    description: Audit records of chaos runs (the C(record) that pod_killer and memory_hog return), kept by a play.
    type: list
    elements: dict
    default: []
  certificates:
    description:
      - Certificates to place in time - dicts with C(name) and C(not_after), or the findings of M(sre.toolkit.cert_expiry)
        (their C(evidence.not_after)).
    type: list
    elements: dict
    default: []
  trigger_window:
    description: How long before the first symptom a change counts as a trigger candidate.
    type: str
    default: 30m
  clock_skew:
    description: How long after the first symptom a change still counts (reporters' clocks differ).
    type: str
    default: 1m
  title:
    description: The incident's title in the postmortem and the findings' subject.
    type: str
    default: incident
  postmortem_entries:
    description:
      - At most this many entries in the postmortem's timeline table - the milestones, every change and alert, then the first
        entry of each kind on each subject; the page says how many it left out. RV(timeline) always has them all.
    type: int
    default: 200
  alertmanager_url:
    description: Base URL of an Alertmanager; its silences (kept for its retention, 120h by default) join the timeline.
    type: str
  alertmanager_token:
    description: Bearer token for O(alertmanager_url).
    type: str
  alertmanager_validate_certs:
    description: Whether to verify the Alertmanager TLS certificate.
    type: bool
    default: true
  alertmanager_ca_cert:
    description: CA bundle to verify the Alertmanager certificate.
    type: path
seealso:
  - module: sre.toolkit.alert_frequency
  - module: sre.toolkit.pod_killer
"""

EXAMPLES = r"""
- name: Timeline of the last two hours
  sre.toolkit.incident_timeline:
    prometheus_url: http://prometheus.monitoring:9090
    alertmanager_url: http://alertmanager.monitoring:9093
    namespaces: [shop]
    evaluation_interval: 30s
    title: checkout errors
  register: incident

- name: Write the postmortem scaffold
  ansible.builtin.copy:
    content: "{{ incident.postmortem }}"
    dest: /srv/postmortems/checkout.md
    mode: "0644"

- name: Around the last KubePodCrashLooping episode, with events the store kept
  sre.toolkit.incident_timeline:
    prometheus_url: http://prometheus.monitoring:9090
    around_alert: {alertname: KubePodCrashLooping, matchers: 'namespace="shop"', lookback: 2d}
    event_store: /var/lib/sre-toolkit/events
"""

RETURN = r"""
range:
  description: The range read (C(start), C(end) unix seconds and C(start_utc), C(end_utc)), C(how) it was chosen, C(event_horizon_utc).
  returned: always
  type: dict
timeline:
  description:
    - Entries in time order (causes before effects at one second), one per identity - C(time) (unix seconds), C(time_utc),
      C(source) (alerts, silences, events, rollouts, config, nodes, containers, chaos, certificates), C(kind) (alert_pending,
      alert_firing, alert_resolved, silence_started, silence_ended, warning_event, warning_event_last, rollout, rollback,
      scaled, config_change, node_condition, node_condition_ok, container_terminated, chaos_action, chaos_run_started, chaos_run_finished,
      certificate_expiry), C(subject) (the findings subject), C(what), C(evidence), C(confidence) (exact, inferred,
      older_expired), C(key) and C(seen_by) (every source that reported it).
  returned: always
  type: list
  elements: dict
  sample:
    - time: 1796543100.0
      time_utc: "2026-12-06 08:25:00 UTC"
      source: rollouts
      kind: rollout
      subject: {kind: Deployment, namespace: shop, name: checkout, locator: Deployment shop/checkout}
      what: "rolled out revision 2 (ReplicaSet checkout-7f9c): app image shop/checkout:1.0 -> shop/checkout:1.1"
      evidence: {replicaset: checkout-7f9c, revision: 2}
      confidence: exact
milestones:
  description:
    - C(first_symptom), C(detection), C(mitigation), C(resolution) - each null or C(time), C(time_utc), C(what), C(locator),
      C(how), C(confidence) and C(after_first_symptom_seconds) - and C(open_alerts) (still firing at the end).
  returned: always
  type: dict
triggers:
  description: Trigger candidates, most likely first (C(rank), C(time_utc), C(kind), C(what), C(locator), C(lead_seconds), C(related_symptoms)).
  returned: always
  type: list
  elements: dict
limits:
  description: What the timeline cannot know, each with C(id) (events_expired, events_folded, restarts_untimed, rollbacks_untimed,
    prometheus_gap, prometheus_gaps_unknown, source_unavailable) and C(what) in words.
  returned: always
  type: list
  elements: dict
sources:
  description: Per source C(status) (ok, skipped, not_configured, forbidden, not_found, error), C(detail) and C(entries).
  returned: always
  type: dict
episodes:
  description: Alert episodes read (C(alert), C(active_at), C(fired_at), C(resolved_at), C(open), C(firing_seconds)).
  returned: always
  type: list
  elements: dict
impact:
  description: C(alerts) (per alert its episodes and firing seconds) and C(affected) workloads.
  returned: always
  type: dict
postmortem:
  description: The postmortem scaffold in Markdown - summary, impact, milestones, triggers, timeline, limits, and empty sections for
    root causes, action items and lessons learned.
  returned: always
  type: str
export:
  description: With O(export_to) - C(path) written, C(written) lines, C(by_type), C(already_stored); else null.
  returned: always
  type: dict
summary:
  description: C(entries), C(by_source), C(partial) (sources that could not be read), C(counts) of findings per severity, C(gate).
  returned: always
  type: dict
findings:
  description: The findings contract - V(incident.milestones), V(incident.trigger_candidate), V(incident.source_unavailable),
    V(incident.events_expired), V(incident.events_folded), V(incident.prometheus_gap), V(incident.no_alert),
    V(incident.unresolved), V(incident.certificate_expiry) (see docs/rule_catalogue.md).
  returned: always
  type: list
  elements: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.toolkit.plugins.module_utils._argspec import (
    K8S_AUTH_SPEC, PROMETHEUS_SPEC, check_numeric_options, protect_kubeconfig, spec)
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError, exit_gated, fail_from_error
from ansible_collections.sre.toolkit.plugins.module_utils._incidents.assemble import SOURCES
from ansible_collections.sre.toolkit.plugins.module_utils._incidents.service import run


def argument_spec():
    return spec(
        K8S_AUTH_SPEC, PROMETHEUS_SPEC,
        start={"type": "str"},
        end={"type": "str"},
        window={"type": "str", "default": "2h"},
        around_alert={"type": "dict", "options": {
            "alertname": {"type": "str", "required": True},
            "matchers": {"type": "str"},
            "at": {"type": "str"},
            "lookback": {"type": "str", "default": "1d"},
            "before": {"type": "str", "default": "30m"},
            "after": {"type": "str", "default": "30m"},
        }},
        sources={"type": "list", "elements": "str", "choices": list(SOURCES)},
        namespaces={"type": "list", "elements": "str", "default": []},
        alert_selector={"type": "str", "default": ""},
        ignore_labels={"type": "list", "elements": "str", "default": ["prometheus", "prometheus_replica", "replica"]},
        evaluation_interval={"type": "str", "default": "1m"},
        heartbeat={"type": "str", "default": "up"},
        event_ttl={"type": "str", "default": "1h"},
        event_store={"type": "path"},
        export_to={"type": "path"},
        chaos_records={"type": "list", "elements": "dict", "default": []},
        certificates={"type": "list", "elements": "dict", "default": []},
        trigger_window={"type": "str", "default": "30m"},
        clock_skew={"type": "str", "default": "1m"},
        title={"type": "str", "default": "incident"},
        postmortem_entries={"type": "int", "default": 200},
        fail_on={"type": "str", "choices": ["never", "none", "info", "warning", "critical"], "default": "never"},
        alertmanager_url={"type": "str"},
        alertmanager_token={"type": "str", "no_log": True},
        alertmanager_validate_certs={"type": "bool", "default": True},
        alertmanager_ca_cert={"type": "path"},
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    protect_kubeconfig(module)
    check_numeric_options(module, "incident_timeline")
    try:  # the service builds the clients after checking every option; a source it cannot read makes a partial result
        result, warnings = run(module.params, time.time(), check_mode=module.check_mode)
    except ToolkitError as exc:
        fail_from_error(module, exc, changed=False)
    exit_gated(module, result, warnings)


if __name__ == "__main__":
    main()
