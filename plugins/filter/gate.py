# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one gate for roles: the same fail_on verdict the modules give, over several module results."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.sre.toolkit.plugins.module_utils._findings import SEVERITIES, at_or_above, gate


def findings_gate(results, fail_on="never"):
    """``{fail_on, failed, reasons, severities}`` over module results (a list, or a dict of name -> result);
    ``severities`` are those at or above ``fail_on`` that have findings."""
    items = list(results.values()) if isinstance(results, dict) else results
    if not isinstance(items, list):
        raise AnsibleFilterError("findings_gate expects module results (a list or a dict of them), got %s" % type(results).__name__)
    totals = dict.fromkeys(SEVERITIES, 0)
    for item in items:
        counts = ((item or {}).get("summary") or {}).get("counts") or {}
        for severity in SEVERITIES:
            totals[severity] += int(counts.get(severity) or 0)
    try:
        return dict(gate(totals, fail_on), severities=at_or_above(totals, fail_on))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"findings_gate": findings_gate}
