# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Severities from days left, and the fail_on decision for CI."""

from __future__ import annotations

# ordered, least to most severe; `error` = nothing could be read for the target
SEVERITIES = ("ok", "warn", "critical", "error")
# the list form of fail_on (before the one gate): severities and conditions
FAIL_ON_CHOICES = ("warn", "critical", "error", "unverified", "hostname_mismatch")
CONDITIONS = ("error", "unverified", "hostname_mismatch")


def severity_for_days(days_left, warn_days, critical_days):
    """`critical` when expired or within critical_days, `warn` within warn_days, else `ok`."""
    if days_left is None:
        return "ok"
    if days_left < critical_days or days_left < 0:
        return "critical"
    if days_left < warn_days:
        return "warn"
    return "ok"


def worst(severities):
    ranks = [SEVERITIES.index(s) for s in severities if s in SEVERITIES]
    return SEVERITIES[max(ranks)] if ranks else "ok"


def check_thresholds(warn_days, critical_days):
    """Error text when the thresholds are inconsistent, else None."""
    if critical_days < 0 or warn_days < 0:
        return "warn_days and critical_days must be >= 0"
    if critical_days > warn_days:
        return "critical_days (%d) must not exceed warn_days (%d)" % (critical_days, warn_days)
    return None


def fail_reasons(targets, fail_on):
    """Sorted list of "<target id>: <why>" for every target matching a fail_on condition."""
    conditions = set(fail_on or ())
    reasons = []
    for target in targets:
        severity = target.get("severity")
        hits = []
        if "error" in conditions and severity == "error":
            hits.append("error %s" % target.get("error_kind"))
        if "critical" in conditions and severity == "critical":
            hits.append("critical")
        if "warn" in conditions and severity in ("warn", "critical"):
            hits.append(severity)
        if "unverified" in conditions and target.get("verify") not in (None, "ok"):
            hits.append("unverified (%s)" % target.get("verify"))
        if "hostname_mismatch" in conditions and target.get("hostname_match") is False:
            hits.append("hostname mismatch")
        if hits:
            reasons.append("%s: %s" % (target.get("id"), ", ".join(sorted(set(hits)))))
    return sorted(reasons)


def gate_terms(fail_on):
    """(severity threshold, extra conditions) from fail_on: a threshold (never, info, warning,
    critical) as in every module, or the list form this module had (warn, critical, error,
    unverified, hostname_mismatch), whose conditions still count on their own."""
    if not isinstance(fail_on, (list, tuple)):
        return fail_on, ()
    unknown = sorted(set(str(c) for c in fail_on) - set(FAIL_ON_CHOICES))
    if unknown:
        raise ValueError("fail_on: %s not understood; use a threshold (never, info, warning, critical) or a list of %s"
                         % (", ".join(unknown), ", ".join(FAIL_ON_CHOICES)))
    threshold = "warning" if "warn" in fail_on else "critical" if "critical" in fail_on else "never"
    return threshold, tuple(c for c in CONDITIONS if c in fail_on)
