# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recommendations, each with the figures that justify it (ids ``advice.*``)."""

from __future__ import annotations

import math

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.common import format_duration, percentile

MIN_SHORT_EPISODES = 3
SHORT_RATIO = 0.5
BURN_RATE_NOISE = 4.0


def _round_up(seconds, interval):
    if interval <= 0:
        return seconds
    return math.ceil(seconds / interval) * interval


def raise_for(stats, entry, short_seconds):
    """``advice.raise_for``: most episodes resolve on their own before anyone can act."""
    if stats["short_episodes"] < MIN_SHORT_EPISODES or stats["short_ratio"] < SHORT_RATIO:
        return None
    current = entry.get("for", 0.0) if entry else 0.0
    interval = entry.get("interval", 60.0) if entry else 60.0
    proposed = _round_up(current + (stats["short_p75"] or 0.0), interval)
    if proposed <= current:
        return None
    return {
        "id": "advice.raise_for",
        "rule": stats["rule"],
        "action": "raise `for` from %s to %s" % (format_duration(current), format_duration(proposed)),
        "value": proposed,
        "reason": "%d of %d resolved episodes lasted under %s (p75 %s): they resolved before anyone could act" % (
            stats["short_episodes"], stats["resolve_time"]["count"], format_duration(short_seconds),
            format_duration(stats["short_p75"] or 0.0)),
    }


def keep_firing_for(rule, entry, flapping_instances, gaps):
    """``advice.keep_firing_for``: flapping instances re-fire after short quiet gaps."""
    if not flapping_instances or not gaps:
        return None
    interval = entry.get("interval", 60.0) if entry else 60.0
    p90 = percentile(sorted(gaps), 0.9)
    proposed = _round_up(max(p90, interval), interval)
    return {
        "id": "advice.keep_firing_for",
        "rule": rule,
        "action": "set keep_firing_for: %s (or smooth the expression with avg_over_time)" % format_duration(proposed),
        "value": proposed,
        "reason": "%d instance(s) flap by the Nagios percent state change; p90 of the gaps between their firings is %s" % (
            flapping_instances, format_duration(p90)),
    }


def _evidence(items):
    """'over N instance pair(s)' / 'as whole rules', and the best confidence, for a reason text."""
    instance_pairs = sum(1 for item in items if item.get("level", "instance") == "instance")
    where = []
    if instance_pairs:
        where.append("over %d instance pair(s)" % instance_pairs)
    if len(items) > instance_pairs:
        where.append("as whole rules")
    best = max(items, key=lambda item: (item.get("confidence", 0.0), -item.get("p_value", 1.0)))
    return " and ".join(where), best


def _confidence_text(best):
    if "confidence" not in best:
        return ""
    return "; confidence %.2f%% (p = %.2g, corrected for %d pairs tested)" % (
        100.0 * best["confidence"], best["p_value"], best["tests"])


def group_or_inhibit(rule_a, rule_b, pairs):
    """``advice.group_or_inhibit``: alerts that fire together notify several times for one problem."""
    where, best = _evidence(pairs)
    top = max(pairs, key=lambda p: p["overlap_score"])
    if rule_a == rule_b:
        action = "group the instances of %s into one notification (Alertmanager group_by)" % rule_a
    else:
        action = "group %s and %s in one Alertmanager route, or inhibit one by the other" % (rule_a, rule_b)
    return {
        "id": "advice.group_or_inhibit",
        "rule": rule_a,
        "rules": [rule_a, rule_b],
        "action": action,
        "value": top["overlap_score"],
        "confidence": best.get("confidence"),
        "reason": "fired together %s, up to %d separate bursts; best overlap score %.2f, Jaccard %.2f%s" % (
            where, max(p.get("together_bursts", p["together"]) for p in pairs), top["overlap_score"], top["jaccard"],
            _confidence_text(best)),
    }


def inhibit_cascade(rule_first, rule_then, chains):
    """``advice.inhibit_cascade``: B regularly starts right after A, so A is the cause to page on."""
    where, best = _evidence(chains)
    lifts = [c["lift"] for c in chains if c["lift"] is not None]
    return {
        "id": "advice.inhibit_cascade",
        "rule": rule_then,
        "rules": [rule_first, rule_then],
        "action": "inhibit %s while %s fires" % (rule_then, rule_first),
        "value": max(lifts) if lifts else None,
        "confidence": best.get("confidence"),
        "reason": "%s started within %s after %s %s, up to %d times%s%s" % (
            rule_then, format_duration(chains[0]["within_seconds"]), rule_first, where, max(c["count"] for c in chains),
            (", lift up to %.1f" % max(lifts)) if lifts else "", _confidence_text(best)),
    }


def dead_rule(dead):
    """``advice.dead_rule``: a rule that never fires is either obsolete or broken (also never-fired ones)."""
    return {
        "id": "advice.dead_rule",
        "rule": dead["rule"],
        "action": "delete %s, or fix its expression or thresholds" % dead["rule"],
        "value": None,
        "reason": dead["reason"],
    }


def unhealthy_rule(bad):
    """``advice.unhealthy_rule``: a rule in error cannot alert at all."""
    return {
        "id": "advice.unhealthy_rule",
        "rule": bad["rule"],
        "action": "fix the expression of %s" % bad["rule"],
        "value": None,
        "reason": "health %s%s" % (bad["health"], (": " + bad["last_error"]) if bad["last_error"] else ""),
    }


def move_value_out_of_labels(rule, churn):
    """``advice.label_churn``: $value in a label splits one alert into many instances."""
    labels = ", ".join(c["label"] for c in churn)
    why = []
    templated = [c for c in churn if c.get("templated")]
    seen = [c for c in churn if not c.get("templated")]
    if templated:
        why.append("the rule templates %s from $value (%s value(s) seen so far)" % (
            ", ".join(c["label"] for c in templated), ", ".join(str(c["values"]) for c in templated)))
    if seen:
        why.append("label(s) %s take %s numeric values that alone tell instances apart" % (
            ", ".join(c["label"] for c in seen), ", ".join(str(c["values"]) for c in seen)))
    return {
        "id": "advice.label_churn",
        "rule": rule,
        "action": "move %s from labels to annotations (never raise `for` instead: each new value is a new alert)" % labels,
        "value": None,
        "reason": "%s: each change of $value starts a new alert" % "; ".join(why),
    }


def long_running(stats, long_seconds):
    """``advice.long_running``: an alert that lasts hours is a ticket or a condition to fix, not a page."""
    median = stats["episode_duration"]["median"]
    if median is None or median < long_seconds:
        return None
    paging = stats.get("severity") and str(stats["severity"]).lower() in ("critical", "page", "pager", "p1")
    if paging:
        action = "route %s as a ticket, not a page; page only on what needs a person within the hour" % stats["rule"]
    else:
        action = "fix the condition behind %s or alert on its trend (e.g. predict_linear) with a ticket" % stats["rule"]
    return {
        "id": "advice.long_running",
        "rule": stats["rule"],
        "action": action,
        "value": median,
        "reason": "half of its %d episode(s) lasted %s or longer (%d still firing at the window end): nobody fixes "
                  "it within a night, so it keeps notifying for one unchanged condition" % (
                      stats["episodes"], format_duration(median), stats["open_episodes"]),
    }


def watchdog_gap(report):
    """``advice.always_firing``: a dead man's switch that did not fire all the time."""
    return {
        "id": "advice.always_firing",
        "rule": report["rule"],
        "action": "check the alerting pipeline and the rule %s" % report["rule"],
        "value": report["firing_share"],
        "reason": "allow-listed as always firing, but fired only %.1f%% of the window%s" % (
            100.0 * report["firing_share"], "" if report["listed"] else " and is not listed by /api/v1/rules"),
    }


def burn_rate(stats, severity, noise):
    """``advice.burn_rate``: a noisy paging rule is usually a cause-based alert."""
    if noise < BURN_RATE_NOISE or not severity or str(severity).lower() not in ("critical", "page", "pager", "p1"):
        return None
    return {
        "id": "advice.burn_rate",
        "rule": stats["rule"],
        "action": "replace %s with a multi-window burn-rate alert on the SLO it protects" % stats["rule"],
        "value": noise,
        "reason": "severity %s with noise score %.2f (%.1f episodes/week)" % (severity, noise, stats["episodes_per_week"]),
    }
