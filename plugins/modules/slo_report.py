#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: slo_report
short_description: Error budgets from Prometheus history, backtested burn-rate alerts, target suggestions and rules out
version_added: 1.0.0
description:
  - For each SLO in O(slos) (a ratio SLI from error and total counter selectors, or a latency SLI from a histogram
    and a threshold bucket), reads the counters' raw samples over the O(period) ending at O(end) plus the longest
    alert window before it, and reports the achieved SLI, the error budget and what is left, the budget per day and
    week (and cumulative), the burn rate at every standard window, and the worst hours and days.
  - Backtests the SRE Workbook's multiwindow multi-burn-rate pairs (page 1h/5m x14.4 and 6h/30m x6, ticket 1d/2h x3
    and 3d/6h x1) and any O(alert_pairs) at every O(evaluation_interval), honouring C(for), as Prometheus would
    have evaluated the generated rules; lists when each would have fired and resolved, the real budget burns, which
    alerts caught them, detection and reset times, precision and recall.
  - Suggests a target from history (the SLI met per day and week, and what each of O(candidates) would have meant
    in budget, days and weeks below, pages and tickets).
  - Returns Prometheus recording and alerting rules named and labelled as sloth generates them
    (C(slo:sli_error:ratio_rate5m) ...), a sloth C(prometheus/v1) spec per service and an OpenSLO v1 SLO per SLO;
    the role C(sre.toolkit.slo) writes the rules where Prometheus reads them.
  - One SLO that cannot be computed (a rejected selector, no data, a threshold that is no bucket) becomes a
    V(slo.sli_failed) finding naming it and the fix; the others are still reported.
author:
  - sre.toolkit maintainers (@sre-toolkit)
extends_documentation_fragment:
  - sre.toolkit._prometheus
  - sre.toolkit._requirements.REQUESTS
  - sre.toolkit._attributes
  - sre.toolkit._attributes.INFO_MODULE
  - sre.toolkit._gate
options:
  slos:
    description: The SLOs to report.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the SLO (C(sloth_slo) in the rules).
        type: str
        required: true
      service:
        description: Service it belongs to (C(sloth_service)); defaults to O(slos[].name).
        type: str
      objective:
        description: Target as a percentage (V(99.9)) or a ratio (V(0.999)).
        type: float
        required: true
      description:
        description: Free text for the sloth spec.
        type: str
      alert_name:
        description: Name of the generated alert; default the SLO name in CamelCase plus C(BudgetBurn).
        type: str
      ratio:
        description: A ratio SLI from counters, for example C(http_requests_total{service="api",code=~"5.."}) and C(http_requests_total{service="api"}).
        type: dict
        suboptions:
          errors:
            description: Selector of the bad events' counters (a plain selector, no functions).
            type: str
            required: true
          total:
            description: Selector of all events' counters.
            type: str
            required: true
      latency:
        description: A latency SLI; requests slower than O(slos[].latency.threshold) are the errors.
        type: dict
        suboptions:
          histogram:
            description: The histogram as C(name{labels}) (without C(_bucket)); the module reads C(_bucket) and C(_count).
            type: str
            required: true
          threshold:
            description: Seconds; must be the C(le) of one of the histogram's buckets.
            type: float
            required: true
      alert_pairs:
        description: Extra burn-rate pairs for this SLO, as O(alert_pairs).
        type: list
        elements: dict
        default: []
        suboptions:
          severity:
            description: V(page) or V(ticket).
            type: str
            choices: [page, ticket]
            default: page
          long_window:
            description: Long window, e.g. V(1h).
            type: str
            required: true
          short_window:
            description: Short window, e.g. V(5m).
            type: str
            required: true
          factor:
            description: Burn-rate factor; the pair holds when both windows' error ratios exceed factor x (1 - objective).
            type: float
            required: true
          for:
            description: How long the pair must hold before it fires (Prometheus C(for)).
            type: str
            default: 0s
  alert_pairs:
    description: Extra burn-rate pairs backtested (and generated) for every SLO, beside the standard four.
    type: list
    elements: dict
    default: []
    suboptions:
      severity:
        description: V(page) or V(ticket).
        type: str
        choices: [page, ticket]
        default: page
      long_window:
        description: Long window, e.g. V(1h).
        type: str
        required: true
      short_window:
        description: Short window, e.g. V(5m).
        type: str
        required: true
      factor:
        description: Burn-rate factor; the pair holds when both windows' error ratios exceed factor x (1 - objective).
        type: float
        required: true
      for:
        description: How long the pair must hold before it fires (Prometheus C(for)).
        type: str
        default: 0s
  period:
    description: The SLO period (window of the budget) ending at O(end), V(1d) to V(90d).
    type: str
    default: 30d
  end:
    description: End of the period (RFC 3339 or unix seconds); default now. Rounded down to O(evaluation_interval).
    type: str
  evaluation_interval:
    description: Step of the backtest; use your rule groups' evaluation interval.
    type: str
    default: 1m
  candidates:
    description: Objectives (percent) the target suggestion judges.
    type: list
    elements: float
    default: [99.0, 99.5, 99.9, 99.95, 99.99]
  budget_warning:
    description: Percent of the budget left below which V(slo.budget_low) warns.
    type: float
    default: 25
  incident_min_budget:
    description: Percent of the budget a run of hours burning faster than 1 must spend to count as a real budget burn.
    type: float
    default: 2
  query_chunk:
    description: Span of one raw-sample query.
    type: str
    default: 1d
seealso:
  - name: Alerting on SLOs (SRE Workbook)
    description: The multiwindow multi-burn-rate pairs.
    link: https://sre.google/workbook/alerting-on-slos/
  - name: sloth
    description: The rule names and labels the generated rules follow.
    link: https://sloth.dev/
"""

EXAMPLES = r"""
- name: Budgets, backtest and rules for two SLOs
  sre.toolkit.slo_report:
    prometheus_url: http://127.0.0.1:9090
    slos:
      - name: checkout-availability
        service: checkout
        objective: 99.9
        ratio:
          errors: http_requests_total{service="checkout", code=~"5.."}
          total: http_requests_total{service="checkout"}
      - name: checkout-latency
        service: checkout
        objective: 99.5
        latency:
          histogram: http_request_duration_seconds{service="checkout"}
          threshold: 0.25
    alert_pairs:
      - {severity: page, long_window: 1h, short_window: 5m, factor: 14.4, for: 10m}
  register: slo

- name: Budget left per SLO
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.budget.budget_remaining }}"
  loop: "{{ slo.slos | selectattr('budget', 'defined') }}"
"""

RETURN = r"""
slos:
  description:
    - One entry per SLO, sorted by name. C(budget) (C(achieved), C(errors), C(total), C(budget_consumed),
      C(budget_remaining)), C(daily) and C(weekly) rows (C(sli), C(burn_rate), C(budget_consumed),
      C(budget_consumed_cumulative), C(budget_remaining)), C(burn_rates) at the end per window, C(worst) hours and days,
      C(backtest) (C(pairs) and generated C(alerts) with C(firing) intervals C(pending_since), C(fired), C(last),
      C(resolved); C(incidents) with C(caught_by) detection and reset seconds; C(missed)), C(targets).
    - A failed SLO has only C(name), C(service), C(error), C(error_kind) and C(fix).
  returned: success
  type: list
  elements: dict
rules:
  description: Prometheus rule file content (C(groups)) for every computed SLO, sloth names and labels.
  returned: success
  type: dict
sloth:
  description: One sloth C(prometheus/v1) spec per service.
  returned: success
  type: list
  elements: dict
openslo:
  description: One OpenSLO v1 C(SLO) per computed SLO.
  returned: success
  type: list
  elements: dict
window:
  description: C(start), C(end) (unix seconds), C(evaluation_interval) and C(lookback_seconds) read before the start.
  returned: success
  type: dict
summary:
  description: C(counts) of RV(findings) per severity, C(gate), C(slos), C(failed), C(budget_exhausted) (names).
  returned: always
  type: dict
findings:
  description:
    - The findings contract (C(id), C(severity), C(subject) with locator C(slo/<name> (service <service>)), C(message),
      C(fix), C(evidence), C(check)); ids in docs/rule_catalogue.md, e.g. V(slo.budget_exhausted), V(slo.burn_missed).
  returned: always
  type: list
  elements: dict
queries:
  description: Queries and samples read from Prometheus.
  returned: success
  type: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.toolkit.plugins.module_utils._argspec import PROMETHEUS_SPEC, check_numeric_options, spec
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError, exit_gated, fail_from_error
from ansible_collections.sre.toolkit.plugins.module_utils._slo.service import run

PAIR = {
    "severity": {"type": "str", "default": "page", "choices": ["page", "ticket"]},
    "long_window": {"type": "str", "required": True},
    "short_window": {"type": "str", "required": True},
    "factor": {"type": "float", "required": True},
    "for": {"type": "str", "default": "0s"},
}


def argument_spec():
    return spec(
        PROMETHEUS_SPEC,
        slos={"type": "list", "elements": "dict", "required": True, "options": {
            "name": {"type": "str", "required": True},
            "service": {"type": "str"},
            "objective": {"type": "float", "required": True},
            "description": {"type": "str"},
            "alert_name": {"type": "str"},
            "ratio": {"type": "dict", "options": {"errors": {"type": "str", "required": True}, "total": {"type": "str", "required": True}}},
            "latency": {"type": "dict", "options": {"histogram": {"type": "str", "required": True},
                                                    "threshold": {"type": "float", "required": True}}},
            "alert_pairs": {"type": "list", "elements": "dict", "default": [], "options": PAIR},
        }},
        alert_pairs={"type": "list", "elements": "dict", "default": [], "options": PAIR},
        period={"type": "str", "default": "30d"},
        end={"type": "str"},
        evaluation_interval={"type": "str", "default": "1m"},
        candidates={"type": "list", "elements": "float", "default": [99.0, 99.5, 99.9, 99.95, 99.99]},
        budget_warning={"type": "float", "default": 25.0},
        incident_min_budget={"type": "float", "default": 2.0},
        query_chunk={"type": "str", "default": "1d"},
        fail_on={"type": "str", "choices": ["never", "none", "info", "warning", "critical"], "default": "never"},
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    check_numeric_options(module, "slo_report")
    try:
        result, warnings = run(module.params, time.time())
    except ToolkitError as exc:
        fail_from_error(module, exc, changed=False)
    exit_gated(module, result, warnings, changed=False)


if __name__ == "__main__":
    main()
