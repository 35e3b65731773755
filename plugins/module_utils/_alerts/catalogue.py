# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules alert_frequency reports as findings: id -> severity, meaning, fix.

Each finding comes from one recommendation (``recommendations[].id`` ``advice.<rule>`` is the
finding ``alerts.<rule>``); its message is the recommendation's reason (the figures), its fix the
recommended action.
"""

from __future__ import annotations

MODULE = "alert_frequency"

RULES = {
    "alerts.always_firing": {
        "severities": ("critical",),
        "meaning": "A dead man's switch (Watchdog) did not fire the whole window: the alerting pipeline was broken then.",
        "fix": "Check Prometheus, its rule evaluation and the route to Alertmanager for the gaps.",
    },
    "alerts.unhealthy_rule": {
        "severities": ("critical",),
        "meaning": "An alerting rule fails to evaluate: it cannot fire, so what it guards is unwatched.",
        "fix": "Fix the rule's expression (the lastError is quoted).",
    },
    "alerts.raise_for": {
        "severities": ("warning",),
        "meaning": "Most episodes resolve on their own within minutes, before anyone can act: pages nobody can use.",
        "fix": "Raise the rule's `for` to about the p75 of its short episodes.",
    },
    "alerts.keep_firing_for": {
        "severities": ("warning",),
        "meaning": "Instances flap (Nagios percent state change): one problem notifies again and again.",
        "fix": "Set keep_firing_for to about the p90 of the quiet gaps, or smooth the expression with avg_over_time.",
    },
    "alerts.label_churn": {
        "severities": ("warning",),
        "meaning": "A label carries $value: every change of the value starts a new alert.",
        "fix": "Move the value from labels to annotations; never raise `for` instead.",
    },
    "alerts.long_running": {
        "severities": ("warning",),
        "meaning": "Episodes last hours to days: nobody fixes the condition within a night, yet it keeps notifying.",
        "fix": "Route it as a ticket, not a page, or fix the condition and alert on its trend.",
    },
    "alerts.group_or_inhibit": {
        "severities": ("info",),
        "meaning": "Two alerts fire together beyond chance: one problem sends several notifications.",
        "fix": "Group them in one Alertmanager route, or inhibit one by the other.",
    },
    "alerts.inhibit_cascade": {
        "severities": ("info",),
        "meaning": "One alert regularly starts right after another, beyond chance: the first is the cause.",
        "fix": "Inhibit the follower while the leader fires.",
    },
    "alerts.burn_rate": {
        "severities": ("info",),
        "meaning": "A noisy paging rule: usually a cause-based alert where a symptom (SLO burn) would page better.",
        "fix": "Replace it with a multi-window burn-rate alert on the SLO it protects.",
    },
    "alerts.dead_rule": {
        "severities": ("info",),
        "meaning": "A listed rule never fired in the window (or was always held back by its `for`).",
        "fix": "Delete it, or fix its expression or thresholds so it can fire.",
    },
}
