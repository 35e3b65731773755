# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules slo_report reports as findings: id -> severities, meaning, fix."""

from __future__ import annotations

MODULE = "slo_report"

RULES = {
    "slo.budget_exhausted": {
        "severities": ("critical",),
        "meaning": "The SLO spent its whole error budget over the period: the objective was missed.",
        "fix": "Freeze risky changes for the service and fix the worst periods listed; or lower the objective to what the service meets.",
    },
    "slo.budget_low": {
        "severities": ("warning",),
        "meaning": "Less of the period's error budget is left than budget_warning.",
        "fix": "Slow down risky changes until the budget recovers; look at the worst periods listed.",
    },
    "slo.burning": {
        "severities": ("critical", "warning"),
        "meaning": "A standard burn-rate alert holds at the end of the window: page (critical) or ticket (warning).",
        "fix": "Handle it as the alert would: find what burns the budget now (the short window's error ratio says how fast).",
    },
    "slo.burn_missed": {
        "severities": ("warning",),
        "meaning": "A real budget burn (hours burning faster than the budget allows) that no generated alert caught in the backtest.",
        "fix": "Add a slower pair (e.g. ticket 3d/6h x1) or lower its factor; check the SLI catches this kind of failure.",
    },
    "slo.noisy_alert": {
        "severities": ("info",),
        "meaning": "In the backtest a generated alert fired several times for one burn or outside any real burn (flapping, low precision).",
        "fix": "Add for: to the pair, a keep_firing_for, or a longer short window; or accept the pages knowingly.",
    },
    "slo.pair_cannot_fire": {
        "severities": ("warning",),
        "meaning": "A standard pair's threshold factor x (1 - objective) is 1 or more: its error ratio can never exceed it.",
        "fix": "Raise the objective (14.4 needs >= 93.06 %, 6 needs >= 83.3 %) or drop that pair.",
    },
    "slo.objective_unmet_history": {
        "severities": ("info",),
        "meaning": "History says the objective is above what the service met: in some full weeks the SLI was below it.",
        "fix": "Adopt the suggested objective from targets, or improve the service first.",
    },
    "slo.sli_failed": {
        "severities": ("critical",),
        "meaning": "The SLO could not be computed: Prometheus rejected its query, it matched no data, or its latency threshold is no bucket.",
        "fix": "Fix the SLO's selectors (run them in the Prometheus UI), the time window, or the threshold (use an existing le bucket).",
    },
}
