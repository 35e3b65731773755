# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one rule catalogue: every finding id any module emits, with its module, severities,
meaning and fix. Each engine keeps its own table (``<engine>/catalogue.py``: ``MODULE`` and
``RULES``; an entry may name another ``module`` when one engine serves two); this module joins
them. ``docs/rule_catalogue.md`` is generated from it (``python scripts/rule_catalogue.py``) and a
test keeps the two equal.
"""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._alerts import catalogue as alerts
from ansible_collections.sre.toolkit.plugins.module_utils._certs import catalogue as certs
from ansible_collections.sre.toolkit.plugins.module_utils._chaos import catalogue as chaos
from ansible_collections.sre.toolkit.plugins.module_utils._health import catalogue as health
from ansible_collections.sre.toolkit.plugins.module_utils._incidents import catalogue as incidents
from ansible_collections.sre.toolkit.plugins.module_utils._rightsizing import catalogue as rightsizing
from ansible_collections.sre.toolkit.plugins.module_utils._slo import catalogue as slo

TABLES = (alerts, certs, chaos, health, incidents, rightsizing, slo)


def catalogue():
    """id -> {module, severities, meaning, fix}; ValueError if two tables claim one id."""
    joined = {}
    for table in TABLES:
        for rule_id, entry in table.RULES.items():
            if rule_id in joined:
                raise ValueError("rule id %s is claimed by %s and %s" % (rule_id, joined[rule_id]["module"], table.MODULE))
            joined[rule_id] = dict({"module": table.MODULE}, **dict(entry, severities=list(entry["severities"])))
    return joined


def unknown_ids(findings, known=None):
    """Ids of findings that the catalogue does not list (sorted, unique)."""
    known = catalogue() if known is None else known
    return sorted(set(item["id"] for item in findings) - set(known))


def markdown(known=None):
    """The catalogue as a Markdown page, by module then id."""
    known = catalogue() if known is None else known
    lines = ["# Rule catalogue", "",
             "Every finding id a module of sre.toolkit reports, generated from the engines' own tables",
             "(`plugins/module_utils/*/catalogue.py`) by `python scripts/rule_catalogue.py`; do not edit by hand.",
             "Findings follow one contract (`docs/findings.schema.json`).", ""]
    for module in sorted(set(entry["module"] for entry in known.values())):
        lines += ["## %s" % module, "", "| id | severity | meaning | fix |", "|---|---|---|---|"]
        for rule_id in sorted(r for r, e in known.items() if e["module"] == module):
            entry = known[rule_id]
            cells = [rule_id, " / ".join(entry["severities"]), entry["meaning"], entry["fix"]]
            lines.append("| `%s` | %s | %s | %s |" % tuple(c.replace("|", "\\|") for c in cells))
        lines.append("")
    return "\n".join(lines)
