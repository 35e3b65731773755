# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one result contract every module returns beside its own detail, and the one gate.

A finding is ``{id, severity, subject, message, fix, evidence, check}``:

- ``id``: a stable, dotted rule id ``<area>.<rule>`` listed in the rule catalogue (``_catalogue``);
- ``severity``: ``critical`` | ``warning`` | ``info``;
- ``subject``: ``{kind, namespace, name, locator}``; ``locator`` is always a readable one-liner
  (``Pod team-a/web-1``, ``endpoint db.example:5432 (sni db)``, ``file /etc/ssl/a.pem #2``,
  ``rule/HighErrorRate``), so a report never has to know where a finding came from;
- ``message`` (what is wrong), ``fix`` (what to do), ``evidence`` (a dict of the figures behind
  it), ``check`` (what produced it).

``summary.counts`` counts findings per severity. The gate's ``fail_on`` is a severity threshold
(``never``, ``info``, ``warning``, ``critical``) the same in every module and role.
"""

from __future__ import annotations

SEVERITIES = ("critical", "warning", "info")
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
FAIL_ON = ("never", "info", "warning", "critical")
# words other collections (and earlier releases of this one) used for "do not fail"
FAIL_ON_ALIASES = {"none": "never", "off": "never", "false": "never"}


def subject(kind, name, namespace="", locator=None):
    """A finding's subject; the locator defaults to ``Kind namespace/name``."""
    kind, name, namespace = str(kind or ""), str(name or ""), str(namespace or "")
    if locator is None:
        path = "%s/%s" % (namespace, name) if namespace else name
        locator = ("%s %s" % (kind, path)).strip()
    return {"kind": kind, "namespace": namespace, "name": name, "locator": str(locator)}


def finding(rule_id, severity, about, message, fix, evidence=None, check=""):
    """One finding in the contract; ``about`` is a ``subject()`` dict."""
    if severity not in SEVERITY_RANK:
        raise ValueError("severity must be one of %s, got %r" % (", ".join(SEVERITIES), severity))
    return {
        "id": str(rule_id),
        "severity": severity,
        "subject": about,
        "message": str(message or ""),
        "fix": str(fix or ""),
        "evidence": dict(evidence or {}),
        "check": str(check or ""),
    }


def sort_key(item):
    about = item.get("subject") or {}
    return (SEVERITY_RANK.get(item.get("severity"), 9), item.get("id", ""), about.get("locator", ""), item.get("message", ""))


def sort_findings(findings):
    return sorted(findings, key=sort_key)


def counts(findings):
    """Findings per severity, every severity present."""
    out = dict.fromkeys(SEVERITIES, 0)
    for item in findings:
        out[item["severity"]] = out.get(item["severity"], 0) + 1
    return out


def worst(severity_counts):
    """The most severe severity with a finding, or ``ok``."""
    for severity in SEVERITIES:
        if severity_counts.get(severity):
            return severity
    return "ok"


def normalize_fail_on(value):
    """The gate's threshold from what a user wrote; ValueError naming the choices otherwise."""
    text = str("never" if value is None else value).strip().lower()
    text = FAIL_ON_ALIASES.get(text, text)
    if text not in FAIL_ON:
        raise ValueError("fail_on: expected one of %s (a severity threshold), got %r" % (", ".join(FAIL_ON), value))
    return text


def at_or_above(severity_counts, fail_on):
    """Severities at or above the threshold that have findings, most severe first."""
    threshold = normalize_fail_on(fail_on)
    if threshold == "never":
        return []
    limit = SEVERITY_RANK[threshold]
    return [s for s in SEVERITIES if SEVERITY_RANK[s] <= limit and severity_counts.get(s)]


def gate(severity_counts, fail_on, extra_reasons=()):
    """The one gate: ``{fail_on, failed, reasons}``.

    Fails when a finding is at or above ``fail_on``, or for a module's own extra conditions
    (``extra_reasons``, already judged by the module, e.g. ``min_score`` or an unrecovered victim).
    """
    threshold = normalize_fail_on(fail_on)
    reasons = ["%d %s finding(s) at or above fail_on=%s" % (severity_counts[s], s, threshold)
               for s in at_or_above(severity_counts, threshold)]
    reasons.extend(str(r) for r in extra_reasons if r)
    return {"fail_on": threshold, "failed": bool(reasons), "reasons": reasons}


def contract(findings):
    """The contract's fields for a result: sorted findings and their counts."""
    ordered = sort_findings(findings)
    return ordered, counts(ordered)
