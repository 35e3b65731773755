#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rightsizing
short_description: Requests and limits from real usage, idle workloads and what they cost
version_added: 1.0.0
description:
  - Reads the usage history of every container of every workload in O(namespaces) from Prometheus (cAdvisor and
    kube-state-metrics series) and the current spec and HPAs from the Kubernetes API, and returns per container the
    current requests/limits, the observed usage (percentiles, peaks, throttled share, OOM kills with the limit at the
    time), a recommendation with its reasons, a confidence that reflects history length, points and gaps, a backtest of
    the recommendation over the history, idle detection, and the monthly cost change.
  - Pods are grouped by owner (Deployment through its ReplicaSet, CronJob through its Jobs, StatefulSet, DaemonSet) with
    C(kube_pod_owner), C(kube_replicaset_owner) and C(kube_job_owner) looked back over the window, so restarted,
    rescheduled and rolled-out pods all count. A pod those series do not list (kube-state-metrics started later, relabelled
    away) is still sized; every pod with cAdvisor series in the window is found through the series index and given the
    owner its name shows (a known ReplicaSet or Job, else the longest workload whose pod names it has). Bare pods are
    reported as kind V(Pod).
  - Idle means every signal with data has been quiet for O(idle_after) - CPU against the requests, the working set not
    moving, pod network, the request rate of O(request_rate_metric) - with how long and which signal was last busy.
  - CPU demand counts throttling (used / (1 - throttled share of CFS periods)); memory accounts for OOM kills between
    scrapes (at least O(oom_bump) x the limit it was killed at); a workload with a CPU-utilization HPA is sized per pod for
    the HPA's target instead of skipped. A recommendation its own backtest refutes (would-be OOM kills, throttling above
    O(max_throttled_share)) is raised and says so.
  - Read-only. Per workload it returns a strategic-merge patch of the containers' C(resources), a rollback patch and a
    C(kubectl patch) command; the M(sre.toolkit.rightsizing) role applies them only when asked.
  - Percentiles, backtests and idle detection are computed locally on step series (O(step)); bench/rightsizing/README.md
    has the measurement behind that choice.
author:
  - sre.toolkit maintainers (@sre-toolkit)
extends_documentation_fragment:
  - sre.toolkit._prometheus
  - sre.toolkit._k8s_auth
  - sre.toolkit._requirements.KUBERNETES
  - sre.toolkit._attributes
  - sre.toolkit._attributes.INFO_MODULE
  - sre.toolkit._gate
options:
  namespaces:
    description: Namespaces to size. Empty means every namespace with cAdvisor series in the window.
    type: list
    elements: str
    default: []
  cluster:
    description: Value of O(cluster_label) that selects one cluster on a shared Prometheus. Unset means no cluster matcher.
    type: str
  cluster_label:
    description: Name of the cluster label.
    type: str
    default: cluster
  label_names:
    description: Label names of the series, for relabelled setups.
    type: dict
    default: {}
    suboptions:
      namespace: {description: Namespace label., type: str, default: namespace}
      pod: {description: Pod label., type: str, default: pod}
      container: {description: Container label., type: str, default: container}
  history:
    description: How far back from O(end) to read, a duration such as V(14d).
    type: str
    default: 14d
  end:
    description: End of the window, unix seconds or RFC 3339. Default is now.
    type: str
  step:
    description: Resolution of the series the sizing works on (range-query step); peaks within a step are kept (max_over_time).
    type: str
    default: 5m
  rate_window:
    description: Window of C(rate()) for CPU, throttling and network. At least two scrape intervals.
    type: str
    default: 5m
  cpu_percentile: {description: Percentile of CPU demand for the request., type: float, default: 95}
  cpu_margin: {description: Margin added to CPU request and limit (0.15 = 15 %)., type: float, default: 0.15}
  cpu_limit_percentile: {description: Percentile of CPU demand for the limit (only where a CPU limit is set today)., type: float, default: 99.5}
  memory_percentile: {description: Percentile of working-set peaks for memory (100 = the peak)., type: float, default: 100}
  memory_margin: {description: Margin added to memory (0.15 = 15 %)., type: float, default: 0.15}
  oom_bump: {description: Memory is at least this times the limit of every OOM kill seen., type: float, default: 1.2}
  max_throttled_share: {description: Share of the history a recommended CPU limit may throttle before the backtest vetoes it., type: float, default: 0.01}
  min_history:
    description: Less history than this (first to last sample) gives no recommendation but an V(insufficient) confidence.
    type: str
    default: 24h
  min_points: {description: Fewer step points than this gives no recommendation., type: int, default: 100}
  idle_after:
    description: A workload whose every signal has been low this long is reported idle.
    type: str
    default: 24h
  idle_cpu_share: {description: CPU below this share of the requests counts as idle., type: float, default: 0.05}
  idle_network_bps: {description: Pod receive traffic below this (bytes/s) counts as idle., type: float, default: 1024}
  idle_memory_change:
    description:
      - A working set that moves by more than this share within one step (0.1 = 10 %), and by at least 32 MiB, counts as busy.
      - An idle process keeps the memory it holds (a JVM heap does not shrink), so memory counts by movement, not by level.
    type: float
    default: 0.1
  idle_request_rate: {description: A request rate (per second) at or above this counts as busy; health checks stay below it., type: float, default: 0.01}
  request_rate_metric:
    description:
      - Counter of served requests with the namespace and pod labels of O(label_names), one of the idle signals
        (C(sum by (namespace, pod) (rate(<metric>[rate_window])))).
      - Where no such series exist the signal is listed as unavailable in C(idle.unavailable). An empty string turns it off.
    type: str
    default: http_requests_total
  price_cpu_hour: {description: Price of one vCPU-hour (OpenCost's default list price)., type: float, default: 0.031611}
  price_memory_gib_hour: {description: Price of one GiB-hour of memory., type: float, default: 0.004237}
  warn_monthly_saving: {description: 'An over-provisioned container saving at least this a month is a warning, else info.', type: float, default: 10}
  series_top:
    description: How many top offenders (OOM-killed and throttled first, then by monthly change) carry hourly usage
      series (C(series) in RV(containers)) for the report's pictures. V(0) for none.
    type: int
    default: 5
  use_api:
    description:
      - Read the current spec and HPAs from the Kubernetes API. Without it (or when the API refuses a namespace) current values
        come from kube-state-metrics and HPAs from its C(kube_horizontalpodautoscaler_*) series.
      - HPAs made by KEDA (ScaledObject) are ordinary HPAs and count the same; an HPA on a CPU utilization target sizes the
        container per pod for that target, any other HPA (memory, external, average value) leaves the sizing per pod as usual.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Right-size two namespaces over the last 14 days
  sre.toolkit.rightsizing:
    prometheus_url: http://prometheus.monitoring:9090
    namespaces: [shop, payments]
  register: sizing

- name: Shared Prometheus, one cluster, relabelled pod label; fail on OOM kills or heavy throttling
  sre.toolkit.rightsizing:
    prometheus_url: https://thanos.example
    prometheus_token: "{{ thanos_token }}"
    cluster: prod-eu-1
    label_names: {pod: pod_name}
    fail_on: critical

- name: Apply the patches of one namespace (the role does this namespace by namespace, check mode honoured)
  kubernetes.core.k8s:
    state: patched
    definition: "{{ item.definition }}"
  loop: "{{ sizing.patches | selectattr('namespace', 'equalto', 'shop') | list }}"
"""

RETURN = r"""
containers:
  description:
    - One entry per workload container, sorted by namespace, kind, name, container.
    - The top O(series_top) offenders also carry C(series) (hourly peaks of CPU demand and working set, the request in force
      over time, the current limits) and every entry its C(finding_ids).
    - C(series.rank) is the offender's place, 1 the worst (critical findings first, then the largest monthly change, as for
      O(series_top)); the report draws the pictures in that order, each titled with why it is there.
  returned: success
  type: list
  elements: dict
  sample:
    - {namespace: shop, kind: Deployment, name: api, container: api,
       current: {requests: {cpu: 2.0, memory: 4294967296.0}, limits: {}},
       usage: {cpu: {p50: 0.2, p95: 0.23, p99: 0.25, peak: 0.28}, memory: {p50: 314572800, p95: 320000000, peak: 343000000}},
       recommendation: {requests: {cpu: 0.262, memory: 395313152}, limits: {cpu: null, memory: null},
                        reasons: {cpu: p95 of demand 0.228 cores + 15 % margin, memory: p100 of working-set peaks 327 MiB + 15 % margin}},
       resources: {requests: {cpu: 262m, memory: 377Mi}},
       confidence: {level: high, score: 1.0, reason: 14.0 days of history, 100 % of the expected points, longest gap 5 min},
       backtest: {vetoed: [], minutes_above_cpu_request: 10.0, would_be_ooms: 0, holds: true},
       idle: {idle: false, idle_for_seconds: 0, signals: [cpu, memory, network], unavailable: [requests],
              last_busy: {cpu: 1796515200.0, memory: null, network: 1796515200.0}, since: 1796515200.0, reason: "..."},
       hpa: null, cost: {monthly_before: 150.0, monthly_after: 20.0, monthly_change: -130.0, pods: 3}}
patches:
  description: Per workload with a recommendation, the strategic-merge patch of its containers' resources, the rollback
    patch with today's values, a C(definition) for C(kubernetes.core.k8s state=patched) and a C(kubectl) command.
  returned: success
  type: list
  elements: dict
findings:
  description: The findings contract (docs/findings.schema.json); ids in docs/rule_catalogue.md (C(rightsizing.*)).
  returned: always
  type: list
  elements: dict
summary:
  description: Counts per severity, the gate, containers sized, idle, insufficient history, the monthly change and the
    saving by namespace, the window, queries, samples and partial-failure errors.
  returned: always
  type: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.toolkit.plugins.module_utils._argspec import K8S_AUTH_SPEC, PROMETHEUS_SPEC, check_numeric_options, protect_kubeconfig, spec
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError, exit_gated, fail_from_error
from ansible_collections.sre.toolkit.plugins.module_utils._rightsizing.service import run


def argument_spec():
    return spec(
        PROMETHEUS_SPEC, K8S_AUTH_SPEC,
        namespaces=dict(type="list", elements="str", default=[]),
        cluster=dict(type="str"), cluster_label=dict(type="str", default="cluster"),
        label_names=dict(type="dict", default={}, options=dict(
            namespace=dict(type="str", default="namespace"), pod=dict(type="str", default="pod"), container=dict(type="str", default="container"))),
        history=dict(type="str", default="14d"), end=dict(type="str"), step=dict(type="str", default="5m"),
        rate_window=dict(type="str", default="5m"),
        cpu_percentile=dict(type="float", default=95.0), cpu_margin=dict(type="float", default=0.15),
        cpu_limit_percentile=dict(type="float", default=99.5), memory_percentile=dict(type="float", default=100.0),
        memory_margin=dict(type="float", default=0.15), oom_bump=dict(type="float", default=1.2),
        max_throttled_share=dict(type="float", default=0.01), min_history=dict(type="str", default="24h"),
        min_points=dict(type="int", default=100), idle_after=dict(type="str", default="24h"),
        idle_cpu_share=dict(type="float", default=0.05), idle_network_bps=dict(type="float", default=1024.0),
        idle_memory_change=dict(type="float", default=0.1), idle_request_rate=dict(type="float", default=0.01),
        request_rate_metric=dict(type="str", default="http_requests_total"),
        price_cpu_hour=dict(type="float", default=0.031611), price_memory_gib_hour=dict(type="float", default=0.004237),
        warn_monthly_saving=dict(type="float", default=10.0), use_api=dict(type="bool", default=True),
        series_top=dict(type="int", default=5),
        fail_on={"type": "str", "choices": ["never", "none", "info", "warning", "critical"], "default": "never"},
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    protect_kubeconfig(module)
    check_numeric_options(module, "rightsizing")
    try:  # the service builds the Prometheus client and, unless use_api=false, the Kubernetes one
        result = run(module.params, time.time())
    except ToolkitError as exc:
        fail_from_error(module, exc, changed=False)
    exit_gated(module, result, shown=10)


if __name__ == "__main__":
    main()
