# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules rightsizing reports as findings: id -> severities, meaning, fix."""

from __future__ import annotations

MODULE = "rightsizing"

RULES = {
    "rightsizing.oom_killed": {
        "severities": ("critical",),
        "meaning": "The container was OOM-killed in the window: its memory limit is below what it needs (the peak fell between scrapes).",
        "fix": "Raise the memory request and limit to the recommendation (at least the OOM limit x oom_bump); apply the workload's patch.",
    },
    "rightsizing.cpu_throttled": {
        "severities": ("critical", "warning"),
        "meaning": "The CPU limit refused part of the wanted CPU time (throttled CFS periods): latency suffers and the usage shown understates demand.",
        "fix": "Raise the CPU request and limit to the recommendation, which counts the throttled demand (or drop the CPU limit).",
    },
    "rightsizing.under_provisioned": {
        "severities": ("warning",),
        "meaning": "Demand sits above the request: the scheduler packs the pod on a node without the CPU or memory it uses.",
        "fix": "Raise the request to the recommendation; apply the workload's patch.",
    },
    "rightsizing.over_provisioned": {
        "severities": ("warning", "info"),
        "meaning": "The request is far above what the container used over the window: paid-for capacity nobody uses.",
        "fix": "Lower the request (and limit) to the recommendation; its backtest shows it would have held over the window.",
    },
    "rightsizing.idle": {
        "severities": ("warning",),
        "meaning": "Every signal (CPU against requests, network, request rate where known) has been near zero for longer than idle_after.",
        "fix": "Confirm with the owner, then scale the workload to zero or delete it; its requests are the monthly saving.",
    },
    "rightsizing.insufficient_history": {
        "severities": ("info",),
        "meaning": "Too little usage history (span, points or Job runs) to recommend anything; the module says so instead of guessing.",
        "fix": "Run again once the workload has min_history of history (or lower min_history knowingly).",
    },
    "rightsizing.no_usage": {
        "severities": ("warning",),
        "meaning": "A container of a running workload has no usage series in Prometheus: cAdvisor is not scraped for it, or the label names differ.",
        "fix": "Check the kubelet/cAdvisor scrape job and the module's label_names and cluster options.",
    },
    "rightsizing.missing_metrics": {
        "severities": ("warning",),
        "meaning": "A metric family the sizing uses is absent (e.g. CFS throttling, kube-state-metrics OOM reasons): results are partial.",
        "fix": "Scrape the named metric (cAdvisor via the kubelet, kube-state-metrics) or accept the named blind spot.",
    },
    "rightsizing.spec_unavailable": {
        "severities": ("warning",),
        "meaning": "The Kubernetes API could not be read: current requests/limits come from kube-state-metrics and no patch targets are verified.",
        "fix": "Give the module a kubeconfig/context that may list workloads in the namespaces (get/list on apps, batch, autoscaling).",
    },
}
