# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The outcomes pod_killer and memory_hog report as findings: id -> severities, meaning, fix."""

from __future__ import annotations

MODULE = "pod_killer"

RULES = {
    "chaos.pod_disrupted": {
        "severities": ("info",),
        "meaning": "A pod was evicted or deleted by the experiment (or would be, in a dry run or check mode).",
        "fix": "Nothing to fix: this is the experiment's action, listed so the report shows what was done.",
    },
    "chaos.not_recovered": {
        "severities": ("critical",),
        "meaning": "An owner did not get its ready replicas back within recovery_timeout after its pod was disrupted.",
        "fix": "Find why replacement pods do not become ready (scheduling, image, probes, dependencies) before running again.",
    },
    "chaos.gate_failed": {
        "severities": ("critical",),
        "meaning": "The steady-state gate failed (the system is not in its steady state now), so the experiment was aborted "
                   "before touching anything.",
        "fix": "Restore the steady state the gate checks (owners ready, PromQL, HTTP) and run again.",
    },
    "chaos.permission_missing": {
        "severities": ("warning",),
        "meaning": "A real run would fail: the identity may not evict or delete the chosen pods.",
        "fix": "Grant the missing verbs (SelfSubjectAccessReviews in evidence) to the identity the kubeconfig uses.",
    },
    "chaos.action_failed": {
        "severities": ("warning",),
        "meaning": "The API did not evict or delete a chosen pod (an error other than a PodDisruptionBudget's refusal, or a lost "
                   "answer while the pod is still there); the other victims went on.",
        "fix": "Read the error in evidence (admission webhook, API server trouble) and run again once it is fixed.",
    },
    "chaos.no_victim": {
        "severities": ("info",),
        "meaning": "No pod was eligible: every pod read was skipped for a reason (protected, opted out, budget, window...).",
        "fix": "Check the skip reasons; widen the selection or wait for the owners to be at full strength.",
    },
    "chaos.memory_pressure": {
        "module": "memory_hog",
        "severities": ("info",),
        "meaning": "Memory pressure was applied to the target and ended by itself (or would be, in a dry run or check mode).",
        "fix": "Nothing to fix: this is the experiment's action, with the peak it reached.",
    },
    "chaos.target_oom_killed": {
        "module": "memory_hog",
        "severities": ("warning",),
        "meaning": "The target container was OOM-killed under the pressure: the experiment found its limit (the outcome "
                   "it is, recorded; expected when the preflight was forced past the limit).",
        "fix": "Raise the container's memory limit or lower its usage if this pressure is realistic.",
    },
    "chaos.hog_failed": {
        "module": "memory_hog",
        "severities": ("warning",),
        "meaning": "The pressure did not run as planned (the hog or its helper failed, was killed or hit a deadline).",
        "fix": "Read the outcome and the helper's phase; the run cleaned up after itself.",
    },
    "chaos.cleanup_incomplete": {
        "module": "memory_hog",
        "severities": ("critical",),
        "meaning": "Something the experiment started is still there after its cleanup.",
        "fix": "Run the module with state=absent for this name, then find why cleanup did not finish.",
    },
}
