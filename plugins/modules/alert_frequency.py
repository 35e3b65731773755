#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: alert_frequency
short_description: Analyse the alert history of a Prometheus (episodes, noise, flapping, co-firing, dead rules)
version_added: 1.0.0
description:
  - Reads the raw C(ALERTS) and C(ALERTS_FOR_STATE) samples of a window (default 7 days, at most 90) from a
    Prometheus or a compatible API (Thanos Query, Mimir, VictoriaMetrics), and the alerting rules from
    C(/api/v1/rules).
  - Rebuilds each alert instance's episodes the way Prometheus counts them. An instance is the label set without
    C(__name__), C(alertstate) and O(ignore_labels), so the two replicas of an HA pair count once. A new
    C(ALERTS_FOR_STATE) value (a new ActiveAt), or a gap longer than one evaluation interval plus
    O(gap_tolerance), starts a new episode. A gap with an unchanged ActiveAt (a skipped evaluation, a restored
    alert) does not.
  - Returns per-rule figures (episodes, instances, firing time and share, resolve times, time between firings,
    pending delay, near misses, flapping, a noise score, hour and weekday histograms), co-firing pairs and onset
    cascades, dead, never-fired and unhealthy rules, the always-firing allow-list, and recommendations, each with
    its reason.
  - Samples are fetched with raw range-vector queries (every stored sample, no step aliasing), chunked by
    O(query_chunk), with retries. The result says how many queries and samples were used.
  - Optionally reads Alertmanager silences for the silenced share, and evaluates SLIs for a multi-window
    multi-burn-rate view.
author:
  - sre.toolkit maintainers (@sre-toolkit)
extends_documentation_fragment:
  - sre.toolkit._prometheus
  - sre.toolkit._requirements.REQUESTS
  - sre.toolkit._attributes
  - sre.toolkit._attributes.INFO_MODULE
  - sre.toolkit._gate
options:
  window:
    description:
      - How far back from O(end) to look, as a duration such as V(7d), V(36h) or V(90m). At most V(90d).
      - Ignored when O(start) is given.
    type: str
    default: 7d
  end:
    description:
      - End of the window, as unix seconds or RFC 3339 (V(2026-11-01T00:00:00Z)). Default is now.
      - Pin it (and O(start)) to analyse a fixed period repeatably.
    type: str
  start:
    description:
      - Start of the window, as unix seconds or RFC 3339. When given, the window is O(end) minus O(start).
    type: str
  selector:
    description:
      - Label matchers that limit the analysis, in PromQL syntax without the metric name, for example
        V(severity="critical", namespace=~"prod-.*"). Applied to both series.
      - Dead rules are only reported for rules whose static labels (and name) satisfy every matcher.
    type: str
    default: ''
  ignore_labels:
    description:
      - Labels that do not tell alert instances apart, such as the replica label that Prometheus HA pairs add.
        Series that differ only in these labels are merged.
    type: list
    elements: str
    default: [prometheus, prometheus_replica, replica]
  evaluation_interval:
    description:
      - Evaluation interval for alerts whose rule C(/api/v1/rules) does not list (deleted or renamed rules).
        Listed rules use their group's interval.
    type: str
    default: 1m
  gap_tolerance:
    description:
      - Share of an evaluation interval a gap between samples may exceed one interval before the alert counts as
        ended. One false evaluation leaves a gap of two intervals, so keep it below V(1).
    type: float
    default: 0.5
  query_chunk:
    description:
      - Time span of one raw query. Smaller chunks keep each response (and C(--query.max-samples)) small.
    type: str
    default: 1d
  timezone:
    description:
      - IANA timezone for the hour-of-day and weekday histograms and the business-hours ratio.
    type: str
    default: UTC
  short_episode:
    description:
      - Episodes resolved within this time count as short (they resolve before anyone can act).
    type: str
    default: 5m
  long_episode:
    description:
      - Rules whose median episode lasts this long or longer get C(advice.long_running) (a ticket, not a page; or fix
        the condition) instead of only figures.
    type: str
    default: 4h
  always_firing:
    description:
      - Rules that must fire all the time (dead man's switches such as V(Watchdog)). They are left out of noise
        and co-firing; a gap in them is reported instead.
    type: list
    elements: str
    default: [Watchdog]
  flapping:
    description:
      - Flap detection by the Nagios percent state change over the firing state at each evaluation.
    type: dict
    default: {}
    suboptions:
      high_threshold:
        description: Flapping starts when the percent state change reaches this.
        type: float
        default: 30
      low_threshold:
        description: Flapping stops when the percent state change falls to this.
        type: float
        default: 20
      states:
        description: Number of most recent states the percent state change looks at.
        type: int
        default: 21
  cofiring:
    description:
      - Thresholds for co-firing pairs and onset cascades, judged per instance and per rule (all instances of a rule as one).
      - A claim must beat chance. Firing less than O(cofiring.burst_gap) apart is one burst, so a flapping alert counts
        once per bad hour, not once per flap. Under independence in time, a burst of A meets B's bursts with probability
        at most (B's firing time + B's bursts x the burst's length) / window; the number of bursts that met gives a
        p-value (both directions), corrected for the number of pairs tested (Bonferroni); a pair or cascade is
        reported only when the corrected p-value is at most O(cofiring.significance).
    type: dict
    default: {}
    suboptions:
      min_score:
        description: Overlap score (mean of both coverages) from which a pair is reported.
        type: float
        default: 0.7
      min_jaccard:
        description: Jaccard index over time buckets from which a pair is reported.
        type: float
        default: 0.5
      min_together:
        description: Separate bursts in which two alerts must have fired together (or one after the other) to count.
        type: int
        default: 3
      burst_gap:
        description: Firing of one alert less than this apart is one burst (one piece of evidence).
        type: str
        default: 30m
      significance:
        description:
          - Highest corrected p-value (family-wise error rate over every pair tested) at which a pair or cascade is
            claimed. The C(confidence) of each pair in RV(cofiring) is one minus the corrected p-value.
        type: float
        default: 0.01
      bucket:
        description: Bucket size for the Jaccard index.
        type: str
        default: 5m
      cascade_within:
        description: An onset that follows another within this time counts towards a cascade.
        type: str
        default: 5m
      cascade_min_lift:
        description: How many times more often than chance a cascade must happen.
        type: float
        default: 3.0
      cascade_min_share:
        description: Share of the follower's bursts a cascade must explain.
        type: float
        default: 0.3
  include_episodes:
    description:
      - Return every instance's episodes in the C(history) of each RV(instances) entry. Turn off for big histories.
    type: bool
    default: true
  alertmanager_url:
    description:
      - Base URL of an Alertmanager. When given, its silences (C(/api/v2/silences), which keeps expired silences
        for its retention) give each rule's silenced share of firing time.
    type: str
  alertmanager_token:
    description:
      - Bearer token for O(alertmanager_url).
    type: str
  alertmanager_validate_certs:
    description:
      - Whether to verify the Alertmanager TLS certificate.
    type: bool
    default: true
  alertmanager_ca_cert:
    description:
      - CA bundle to verify the Alertmanager certificate.
    type: path
  slos:
    description:
      - SLIs to show as a multi-window multi-burn-rate view (1h/5m at 14.4, 6h/30m at 6, 1d/2h at 3, 3d/6h at 1)
        and the error budget consumed over the window.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the SLO.
        type: str
        required: true
      objective:
        description: Target, as a ratio (V(0.999)) or a percentage (V(99.9)).
        type: float
        required: true
      error_ratio_query:
        description:
          - PromQL for the error ratio over a window; write C($window) where the range goes, for example
            C(sum(rate(http_requests_total{code=~"5.."}[$window])) / sum(rate(http_requests_total[$window]))).
        type: str
        required: true
seealso:
  - name: Prometheus alerting rules
    description: How C(for), C(keep_firing_for) and the ALERTS series work.
    link: https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/
  - name: Alerting on SLOs (SRE Workbook)
    description: The multi-window multi-burn-rate alerts used by O(slos).
    link: https://sre.google/workbook/alerting-on-slos/
"""

EXAMPLES = r"""
- name: Last week's alerts, noisiest first
  sre.toolkit.alert_frequency:
    prometheus_url: http://127.0.0.1:9090
  register: alerts

- name: Show the top recommendations
  ansible.builtin.debug:
    msg: "{{ item.rule }}: {{ item.action }} ({{ item.reason }})"
  loop: "{{ alerts.recommendations[:10] }}"

- name: A pinned 30-day window of paging alerts, Berlin time, stricter flap detection
  sre.toolkit.alert_frequency:
    prometheus_url: https://thanos.example.com
    prometheus_token: "{{ thanos_token }}"
    start: "2026-10-01T00:00:00Z"
    end: "2026-10-31T00:00:00Z"
    selector: 'severity="critical"'
    timezone: Europe/Berlin
    flapping:
      high_threshold: 20
      low_threshold: 5
    include_episodes: false

- name: With silences and an SLO view
  sre.toolkit.alert_frequency:
    prometheus_url: http://127.0.0.1:9090
    alertmanager_url: http://127.0.0.1:9093
    slos:
      - name: checkout-availability
        objective: 99.9
        error_ratio_query: >-
          sum(rate(http_requests_total{job="checkout",code=~"5.."}[$window]))
          / sum(rate(http_requests_total{job="checkout"}[$window]))
"""

RETURN = r"""
window:
  description: The analysed window.
  returned: success
  type: dict
  contains:
    start:
      description: Window start, unix seconds.
      type: float
    end:
      description: Window end, unix seconds.
      type: float
    seconds:
      description: Window length.
      type: float
    timezone:
      description: Timezone of the histograms.
      type: str
  sample: {start: 1793000000.0, end: 1795592000.0, seconds: 2592000.0, timezone: UTC}
summary:
  description: Totals over all rules.
  returned: success
  type: dict
  sample: {rules: 12, instances: 29, episodes: 400, near_misses: 60, firing_seconds: 912345.0, flapping_instances: 2,
           dead_rules: 1, never_fired_rules: 0, unhealthy_rules: 1, recommendations: 9,
           counts: {critical: 1, warning: 5, info: 3}, gate: {fail_on: never, failed: false, reasons: []}}
findings:
  description:
    - The recommendations in the one findings contract of the collection (C(id), C(severity), C(subject) with a readable
      C(locator), C(message), C(fix), C(evidence), C(check); docs/findings.schema.json), most severe first. The id of
      recommendation V(advice.<rule>) is V(alerts.<rule>) (docs/rule_catalogue.md); the message gives the figures, the fix
      the action. C(summary.counts) counts them per severity and C(summary.gate) is the O(fail_on) verdict.
  returned: success
  type: list
  elements: dict
  sample:
    - id: alerts.raise_for
      severity: warning
      subject: {kind: AlertRule, namespace: "", name: NodeHighCpu, locator: rule/NodeHighCpu}
      message: "14 of 20 resolved episodes lasted under 5m (p75 4m): they resolved before anyone could act"
      fix: "raise `for` from 5m to 9m"
      evidence: {value: 540.0}
      check: advice.raise_for
rules:
  description:
    - One entry per alert rule seen in the window, noisiest (highest C(noise_score)) first.
    - C(episodes) and C(instances) count what fired; C(firing_share) is firing seconds divided by window times
      firing instances; C(resolve_time) covers episodes seen from fire to resolve (including those that became active
      before the window but fired inside it); C(episode_duration) covers every episode's firing time inside the window;
      C(hours) and C(weekdays) (Monday first) count episode onsets in O(timezone).
    - C(label_churn) lists labels that split one alert into many (C(templated) when the rule templates them from
      C($value)); such a rule never gets C(advice.raise_for).
  returned: success
  type: list
  elements: dict
  sample:
    - rule: HighErrorRate
      severity: critical
      episodes: 41
      instances: 3
      firing_seconds: 123456.7
      firing_share: 0.0159
      resolve_time: {count: 41, mean: 900.0, median: 840.0, p90: 1500.0}
      episode_duration: {count: 41, mean: 900.0, median: 840.0, p90: 1500.0}
      mean_time_between_firings: 61000.0
      pending_delay: {count: 41, mean: 300.0, median: 300.0, p90: 300.0}
      near_misses: 2
      near_miss_ratio: 0.0465
      flapping_instances: 0
      max_psc: 12.5
      noise_score: 4.21
      hours: [0, 1, 2, 1, 0, 0, 3, 2, 1, 0, 2, 4, 3, 2, 1, 2, 3, 4, 2, 1, 2, 3, 1, 1]
      weekdays: [6, 5, 7, 6, 8, 5, 4]
instances:
  description:
    - One entry per alert instance (label set without O(ignore_labels)), sorted by rule and key.
    - C(history) lists its episodes (when O(include_episodes)); C(resolved_at) is an upper bound (last firing
      sample plus one interval) and null while C(open); C(truncated) episodes began before the window.
  returned: success
  type: list
  elements: dict
  sample:
    - rule: NodeDown
      key: '{alertname="NodeDown", instance="node-1:9100", severity="critical"}'
      labels: {alertname: NodeDown, instance: "node-1:9100", severity: critical}
      episodes: 1
      near_misses: 0
      replicas: 2
      firing_seconds: 600.0
      flapping: {max_psc: 6.25, flapping: false, periods: 0, flapping_seconds: 0.0, flapping_at_end: false}
      history:
        - {active_at: 1793012340, fired_at: 1793012460.0, resolved_at: 1793013060.0, last_sample: 1793013000.0,
           fired: true, open: false, truncated: false, firing_seconds: 600.0, replicas: 2}
cofiring:
  description:
    - Pairs that fired together beyond chance, by overlap score ((coverage a + coverage b) / 2) or Jaccard index.
    - C(level) is C(instance) (C(a), C(b) are instance keys) or C(rule) (C(a), C(b) are alert names, each rule's
      instances taken as one). C(together) counts overlapping stretches, C(together_bursts) the separate bursts that met.
    - C(p_value) is the chance of at least that many meetings under independence, C(p_adjusted) that times C(tests)
      (the pairs tested at that level), C(confidence) one minus C(p_adjusted).
  returned: success
  type: list
  elements: dict
  sample:
    - {id: cofiring.overlap, level: instance, a: '{alertname="A"}', b: '{alertname="B"}', rules: [A, B], together: 14,
       together_bursts: 12, overlap_seconds: 81234.0, coverage: [0.97, 0.89], overlap_score: 0.93, jaccard: 0.88, pmi: 3.1,
       p_value: 1.2e-19, p_adjusted: 3.3e-17, confidence: 1.0, tests: 276}
cascades:
  description:
    - Pairs where bursts of the second regularly start within O(cofiring.cascade_within) after an onset of the first,
      beyond chance; C(level), C(p_value), C(p_adjusted), C(confidence) and C(tests) as in RV(cofiring).
    - C(count) is the number of the second's bursts that started so, C(share_of_then) their share of its bursts.
  returned: success
  type: list
  elements: dict
  sample:
    - {id: cofiring.cascade, level: rule, first: A, then: B, rules: [A, B], count: 12,
       share_of_then: 0.92, lift: 35.2, within_seconds: 300.0, p_value: 2.0e-30, p_adjusted: 2.2e-28, confidence: 1.0,
       tests: 110}
dead_rules:
  description: Rules listed by C(/api/v1/rules) (and selected by O(selector)) without one ALERTS sample in the window.
  returned: success
  type: list
  elements: dict
  sample: [{id: rules.dead, rule: KubeletDown, near_misses: 0, groups: ["/etc/prometheus/rules.yml/kubernetes"],
            health: ok, reason: "no ALERTS sample in the window: the rule never became pending or firing"}]
never_fired_rules:
  description: Rules that were pending in the window but never fired (their C(for) suppressed every run).
  returned: success
  type: list
  elements: dict
unhealthy_rules:
  description: Rules whose health is not C(ok) or that report a C(lastError).
  returned: success
  type: list
  elements: dict
  sample: [{id: rules.unhealthy, rule: KubeQuotaOvercommit, health: err, last_error: "many-to-many matching not allowed",
            groups: ["/etc/prometheus/rules.yml/kubernetes"]}]
always_firing:
  description: Each O(always_firing) rule with its firing share; C(ok) is false when it did not fire all the window.
  returned: success
  type: list
  elements: dict
  sample: [{id: rules.always_firing, rule: Watchdog, listed: true, firing_share: 1.0, episodes: 1, ok: true}]
recommendations:
  description: What to change, each with the figures that justify it, sorted by rule.
  returned: success
  type: list
  elements: dict
  sample:
    - {id: advice.raise_for, rule: NodeHighCpu, action: "raise `for` from 5m to 9m", value: 540.0,
       reason: "14 of 20 resolved episodes lasted under 5m (p75 4m): they resolved before anyone could act"}
slo:
  description: One entry per O(slos) item with burn rates per window, which burn-rate alerts hold, and budget consumed.
  returned: when O(slos) is given
  type: list
  elements: dict
queries:
  description: What the analysis cost the servers.
  returned: success
  type: dict
  sample: {queries: 62, samples: 1234567, requests: 62, retries: 0, bytes: 98765432, alertmanager_requests: 0}
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.service import run
from ansible_collections.sre.toolkit.plugins.module_utils._argspec import PROMETHEUS_SPEC, check_numeric_options, spec
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError, exit_gated, fail_from_error


def argument_spec():
    return spec(
        PROMETHEUS_SPEC,
        window={"type": "str", "default": "7d"},
        end={"type": "str"},
        start={"type": "str"},
        selector={"type": "str", "default": ""},
        ignore_labels={"type": "list", "elements": "str", "default": ["prometheus", "prometheus_replica", "replica"]},
        evaluation_interval={"type": "str", "default": "1m"},
        gap_tolerance={"type": "float", "default": 0.5},
        query_chunk={"type": "str", "default": "1d"},
        timezone={"type": "str", "default": "UTC"},
        short_episode={"type": "str", "default": "5m"},
        long_episode={"type": "str", "default": "4h"},
        always_firing={"type": "list", "elements": "str", "default": ["Watchdog"]},
        flapping={"type": "dict", "default": {}, "options": {
            "high_threshold": {"type": "float", "default": 30.0},
            "low_threshold": {"type": "float", "default": 20.0},
            "states": {"type": "int", "default": 21},
        }},
        cofiring={"type": "dict", "default": {}, "options": {
            "min_score": {"type": "float", "default": 0.7},
            "min_jaccard": {"type": "float", "default": 0.5},
            "min_together": {"type": "int", "default": 3},
            "bucket": {"type": "str", "default": "5m"},
            "cascade_within": {"type": "str", "default": "5m"},
            "cascade_min_lift": {"type": "float", "default": 3.0},
            "cascade_min_share": {"type": "float", "default": 0.3},
            "burst_gap": {"type": "str", "default": "30m"},
            "significance": {"type": "float", "default": 0.01},
        }},
        include_episodes={"type": "bool", "default": True},
        fail_on={"type": "str", "choices": ["never", "none", "info", "warning", "critical"], "default": "never"},
        alertmanager_url={"type": "str"},
        alertmanager_token={"type": "str", "no_log": True},
        alertmanager_validate_certs={"type": "bool", "default": True},
        alertmanager_ca_cert={"type": "path"},
        slos={"type": "list", "elements": "dict", "default": [], "options": {
            "name": {"type": "str", "required": True},
            "objective": {"type": "float", "required": True},
            "error_ratio_query": {"type": "str", "required": True},
        }},
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    check_numeric_options(module, "alert_frequency")
    try:  # the service builds the Prometheus and Alertmanager clients after checking every option
        result, warnings = run(module.params, time.time())
    except ToolkitError as exc:
        fail_from_error(module, exc, changed=False)
    exit_gated(module, result, warnings, changed=False)


if __name__ == "__main__":
    main()
