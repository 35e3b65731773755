# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Notification filters: plan what to send for a report model, and the stable dedup key of a finding."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.sre.toolkit.plugins.module_utils._notify.plan import PlanError, dedup_key, plan


def notify_plan(model, targets, routes=None, already_sent=None, previous_keys=None, max_events=50,
                slack_max_findings=20, pagerduty_severity_map=None):
    if not isinstance(model, dict) or "clusters" not in model:
        raise AnsibleFilterError("notify_plan expects the report model (the output of sre.toolkit.report_model), got %s"
                                 % type(model).__name__)
    try:
        return plan(model, list(targets or ()), routes=routes, already_sent=already_sent or (),
                    previous_keys=previous_keys or (), max_events=int(max_events),
                    slack_max_findings=int(slack_max_findings), pagerduty_severity_map=pagerduty_severity_map)
    except (PlanError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(str(exc))


def notify_dedup_key(finding, cluster):
    if not isinstance(finding, dict) or "id" not in finding:
        raise AnsibleFilterError("notify_dedup_key expects a finding of the report model (with id and subject)")
    return dedup_key(cluster, finding["id"], finding.get("subject", ""))


class FilterModule:
    def filters(self):
        return {"notify_plan": notify_plan, "notify_dedup_key": notify_dedup_key}
