# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""alert_frequency's recommendations as findings of the one contract (``_findings``)."""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.catalogue import RULES
from ansible_collections.sre.toolkit.plugins.module_utils._findings import finding, subject

_EVIDENCE_KEYS = ("value", "confidence", "rules")


def _about(recommendation):
    rules = recommendation.get("rules") or [recommendation["rule"]]
    if len(rules) == 2 and rules[0] != rules[1]:
        joiner = " -> " if recommendation["id"] == "advice.inhibit_cascade" else " + "
        return subject("AlertRulePair", joiner.join(rules), locator="rules %s" % joiner.join(rules))
    return subject("AlertRule", rules[0], locator="rule/%s" % rules[0])


def from_recommendations(recommendations):
    """One finding per recommendation: the reason (figures) is the message, the action the fix."""
    found = []
    for rec in recommendations:
        rule_id = "alerts." + rec["id"].split(".", 1)[1]
        evidence = {key: rec[key] for key in _EVIDENCE_KEYS if rec.get(key) is not None}
        found.append(finding(rule_id, RULES[rule_id]["severities"][0], _about(rec), rec["reason"], rec["action"],
                             evidence, check=rec["id"]))
    return found
