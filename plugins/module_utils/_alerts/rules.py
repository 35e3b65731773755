# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alerting rules from /api/v1/rules: evaluation intervals, dead, unhealthy, always-firing.

Rule ids: ``rules.dead`` (listed, never fired in the window), ``rules.unhealthy`` (health not
ok, or a lastError), ``rules.always_firing`` (allow-listed rules such as Watchdog that must fire
all the time; a gap in them is the finding).
"""

from __future__ import annotations

import re


def rule_catalog(groups, default_interval):
    """alertname -> {interval, for, keep_firing_for, severity, groups, health, last_error}.

    One alertname may be defined in several groups; the longest interval wins so that gaps are
    never read shorter than the slowest evaluator.
    """
    catalog = {}
    for group in groups or ():
        interval = _number(group.get("interval")) or default_interval
        for rule in group.get("rules") or ():
            if rule.get("type", "alerting") != "alerting":
                continue
            name = rule.get("name") or ""
            entry = catalog.setdefault(name, {
                "rule": name, "interval": interval, "for": 0.0, "keep_firing_for": 0.0,
                "severity": None, "groups": [], "health": [], "last_error": None, "query": rule.get("query"),
                "labels": dict(rule.get("labels") or {}),
            })
            entry["interval"] = max(entry["interval"], interval)
            entry["for"] = max(entry["for"], _number(rule.get("duration")) or 0.0)
            entry["keep_firing_for"] = max(entry["keep_firing_for"], _number(rule.get("keepFiringFor")) or 0.0)
            entry["severity"] = entry["severity"] or (rule.get("labels") or {}).get("severity")
            entry["groups"].append("%s/%s" % (group.get("file", ""), group.get("name", "")))
            entry["health"].append(rule.get("health") or "unknown")
            if rule.get("lastError"):
                entry["last_error"] = rule["lastError"]
    for entry in catalog.values():
        entry["groups"] = sorted(set(entry["groups"]))
    return catalog


_VALUE_TEMPLATE = re.compile(r"\{\{[^}]*(\$value|\.Value)\b[^}]*\}\}")


def value_labels(entry):
    """Labels the rule templates from the alert's value (``{{ $value }}``, ``{{ .Value | humanize }}``).

    Each new value makes a new series, so a new alert: label churn, however few values appeared.
    """
    return sorted(name for name, text in ((entry or {}).get("labels") or {}).items() if _VALUE_TEMPLATE.search(str(text)))


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def dead_rules(catalog, rule_stats, always_firing):
    """Listed rules without one ALERTS sample in the window (``rules.dead``) and rules that
    were pending but never fired (``rules.never_fired``: their `for` suppressed every run)."""
    dead, never_fired = [], []
    for name in sorted(catalog):
        if name in always_firing:
            continue
        stats = rule_stats.get(name)
        if stats and stats["episodes"]:
            continue
        row = {
            "rule": name,
            "near_misses": stats["near_misses"] if stats else 0,
            "groups": catalog[name]["groups"],
            "health": _worst_health(catalog[name]["health"]),
        }
        if stats and (stats["near_misses"] or stats["pending_at_end"]):
            row.update(id="rules.never_fired", reason="pending %d time(s) but never fired in the window: its `for` "
                       "always suppressed it" % (stats["near_misses"] + stats["pending_at_end"]))
            never_fired.append(row)
        else:
            row.update(id="rules.dead", reason="no ALERTS sample in the window: the rule never became pending or firing")
            dead.append(row)
    return dead, never_fired


def not_evaluated(catalog):
    """Names of rules the server has not evaluated yet (health unknown)."""
    return sorted(name for name, entry in catalog.items() if _worst_health(entry["health"]) == "unknown")


def _worst_health(health_list):
    for value in ("err", "unknown"):
        if value in health_list:
            return value
    return "ok" if health_list else "unknown"


def unhealthy_rules(catalog):
    """Rules in error or that report a lastError (``rules.unhealthy``).

    Health ``unknown`` only means "not evaluated yet" (right after a start): not a finding.
    """
    found = []
    for name in sorted(catalog):
        entry = catalog[name]
        health = _worst_health(entry["health"])
        if health != "err" and not entry["last_error"]:
            continue
        found.append({
            "id": "rules.unhealthy",
            "rule": name,
            "health": health,
            "last_error": entry["last_error"],
            "groups": entry["groups"],
        })
    return found


def always_firing_report(names, catalog, rule_stats, window_seconds):
    """For each allow-listed rule: its firing share; ``ok`` when it fired all the window.

    A dead man's switch that stops firing means the alerting pipeline was broken then.
    """
    report = []
    for name in sorted(names):
        stats = rule_stats.get(name)
        firing = stats["firing_seconds_union"] if stats else 0.0
        share = round(firing / window_seconds, 4) if window_seconds else 0.0
        interval = catalog.get(name, {}).get("interval", 0.0)
        report.append({
            "id": "rules.always_firing",
            "rule": name,
            "listed": name in catalog,
            "firing_share": share,
            "episodes": stats["episodes"] if stats else 0,
            "ok": bool(stats) and firing >= window_seconds - 2 * interval,
        })
    return report
