# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The alert-history analysis: raw series + rule listing + options -> sorted findings."""

from __future__ import annotations

import re

from ansible_collections.sre.toolkit.plugins.module_utils._alerts import advice, cofiring, flapping, patterns, rules, silences, slo, stats
from ansible_collections.sre.toolkit.plugins.module_utils._alerts.findings import from_recommendations
from ansible_collections.sre.toolkit.plugins.module_utils._findings import contract
from ansible_collections.sre.toolkit.plugins.module_utils._alerts.common import AlertInputError, rounded
from ansible_collections.sre.toolkit.plugins.module_utils._alerts.episodes import DEFAULT_IGNORED_LABELS, Collector, build_episodes

MAX_WINDOW = 90 * 86400
DEFAULTS = {
    "ignore_labels": list(DEFAULT_IGNORED_LABELS),
    "evaluation_interval": 60.0,
    "gap_tolerance": 0.5,
    "timezone": "UTC",
    "flapping_high": flapping.NAGIOS_HIGH,
    "flapping_low": flapping.NAGIOS_LOW,
    "flapping_states": flapping.NAGIOS_STATES,
    "short_episode": 300.0,
    "long_episode": 4 * 3600.0,
    "always_firing": ["Watchdog"],
    "cofiring_min_score": 0.7,
    "cofiring_min_together": 3,
    "cofiring_min_jaccard": 0.5,
    "cofiring_bucket": 300.0,
    "cascade_within": 300.0,
    "cascade_min_lift": 3.0,
    "cascade_min_share": 0.3,
    "cofiring_burst_gap": cofiring.DEFAULT_BURST_GAP,
    "cofiring_alpha": cofiring.DEFAULT_ALPHA,
    "include_episodes": True,
    "rule_matchers": [],
}

_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def parse_matchers(text, name="selector"):
    """[(label, op, value)] from 'a="x", b=~"y.*"' (with or without braces); AlertInputError if malformed."""
    body = (text or "").strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    matchers, pos = [], 0
    while pos < len(body):
        match = _MATCHER.match(body, pos)
        if not match or match.end() == pos:
            raise AlertInputError(
                '%s: cannot parse %r at %r; expected label matchers such as severity="critical", alertname=~"Kube.*"'
                % (name, text, body[pos:pos + 30]))
        label, op, value = match.group(1), match.group(2), match.group(3)
        if label in ("__name__", "alertstate"):
            raise AlertInputError("%s: do not match on %s; the module selects ALERTS and ALERTS_FOR_STATE itself" % (name, label))
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise AlertInputError("%s: regex %r for label %s is invalid: %s" % (name, value, label, exc))
        matchers.append((label, op, value))
        pos = match.end()
    return matchers


def _rule_selected(name, entry, matchers):
    """Whether a listed rule falls under the selector (unknown labels: not decidable -> False)."""
    labels = dict(entry.get("labels") or {})
    labels["alertname"] = name
    for label, op, value in matchers:
        if label not in labels:
            return False
        actual = labels[label]
        if op == "=" and actual != value or op == "!=" and actual == value:
            return False
        if op in ("=~", "!~") and bool(re.fullmatch(value, actual)) != (op == "=~"):
            return False
    return True


def normalize_options(options, start, end):
    opts = dict(DEFAULTS)
    opts.update({k: v for k, v in (options or {}).items() if v is not None})
    if end <= start:
        raise AlertInputError("start/end: the window is empty (start %s is not before end %s)" % (start, end))
    if end - start > MAX_WINDOW:
        raise AlertInputError("window: %.1f days is longer than the 90 days allowed; shorten window or move start" % ((end - start) / 86400.0))
    if not 0.0 <= float(opts["flapping_low"]) <= float(opts["flapping_high"]) <= 100.0:
        raise AlertInputError("flapping: need 0 <= low_threshold <= high_threshold <= 100, got low %s high %s" % (
            opts["flapping_low"], opts["flapping_high"]))
    if int(opts["flapping_states"]) < 3:
        raise AlertInputError("flapping.states: need at least 3 states, got %s" % opts["flapping_states"])
    if float(opts["evaluation_interval"]) <= 0:
        raise AlertInputError("evaluation_interval: must be positive")
    if not 0.0 < float(opts["gap_tolerance"]) < 1.0:
        raise AlertInputError("gap_tolerance: must lie between 0 and 1 (share of an interval), got %s" % opts["gap_tolerance"])
    if not 0.0 < float(opts["cofiring_alpha"]) <= 1.0:
        raise AlertInputError("cofiring.significance: a family-wise error rate between 0 (exclusive) and 1, got %s; 0.01 is usual"
                              % opts["cofiring_alpha"])
    opts["tz"] = patterns.load_timezone(opts["timezone"])
    return opts


def analyze(alerts_series, for_state_series, rule_groups, start, end, options=None, silence_list=None, slo_inputs=None,
            collector=None):
    """Full analysis. ``slo_inputs``: [{name, objective, error_ratios: {window_seconds: ratio}}].

    Samples come either as whole series lists or already grouped by a ``Collector`` fed chunk by
    chunk (the module does that, so raw responses are dropped as soon as they are read).
    """
    opts = normalize_options(options, start, end)
    window = float(end - start)
    catalog = rules.rule_catalog(rule_groups, float(opts["evaluation_interval"]))
    default_interval = float(opts["evaluation_interval"])

    def interval_for(rule):
        entry = catalog.get(rule)
        return entry["interval"] if entry else default_interval

    if collector is None:
        collector = Collector(opts["ignore_labels"])
        collector.add_alerts(alerts_series)
        collector.add_for_state(for_state_series)
    instances = collector.instances
    build_episodes(instances, interval_for, start, end, float(opts["gap_tolerance"]))
    loaded_silences = silences.load_silences(silence_list) if silence_list else []
    always = set(opts["always_firing"])

    by_rule = {}
    for key in sorted(instances):
        by_rule.setdefault(instances[key].rule, []).append(instances[key])

    instance_rows, rule_rows, rule_stats_map = [], [], {}
    firing_by_key, onsets, recommendations = {}, {}, []
    for rule in sorted(by_rule):
        members = by_rule[rule]
        entry = catalog.get(rule)
        interval = interval_for(rule)
        figures = stats.rule_stats(rule, members, window, float(opts["short_episode"]))
        flapping_count, max_psc, flap_gaps = 0, 0.0, []
        firing_seconds = silenced = 0.0
        intervals_all = []
        for instance in members:
            intervals = _firing_intervals(instance.episodes, start, end)
            intervals_all.extend(intervals)
            if rule not in always and intervals:
                firing_by_key[instance.key] = intervals
                onsets[instance.key] = [e["fired_at"] for e in instance.episodes if e["fired"] and not stats.fired_before(e)]
            flap = flapping.flapping(instance.episodes, interval, start, end, float(opts["flapping_high"]),
                                     float(opts["flapping_low"]), int(opts["flapping_states"]))
            inst_firing = sum(b - a for a, b in intervals)
            inst_silenced = silences.silenced_seconds(instance.labels, intervals, loaded_silences) if loaded_silences else 0.0
            firing_seconds += inst_firing
            silenced += inst_silenced
            if flap["flapping"]:
                flapping_count += 1
                flap_gaps.extend(flapping.gaps_between_firings(instance.episodes))
            max_psc = max(max_psc, flap["max_psc"])
            instance_rows.append(_instance_row(instance, flap, inst_firing, inst_silenced, loaded_silences, opts["include_episodes"]))
        union = cofiring.union_intervals(intervals_all)
        figures["firing_seconds_union"] = rounded(cofiring.total(union))
        figures["flapping_instances"] = flapping_count
        figures["max_psc"] = round(max_psc, 2)
        figures["silenced_share"] = round(silenced / firing_seconds, 4) if loaded_silences and firing_seconds else (0.0 if loaded_silences else None)
        figures["interval"] = interval
        figures["for"] = entry["for"] if entry else None
        figures["severity"] = entry["severity"] if entry else _severity_of(members)
        figures["listed"] = entry is not None
        figures["always_firing"] = rule in always
        figures["label_churn"] = stats.label_churn(members, templated=rules.value_labels(entry))
        figures.update(patterns.time_patterns(
            [e["fired_at"] for i in members for e in i.episodes if e["fired"] and not stats.fired_before(e)],
            opts["tz"]))
        figures["noise_score"] = 0.0 if rule in always else stats.noise_score(figures, max_psc, figures["silenced_share"], figures["severity"])
        rule_stats_map[rule] = figures
        rule_rows.append(figures)
        if rule in always:
            continue
        # with churn each value change is a new alert: a longer `for` would only silence it
        for item in (None if figures["label_churn"] else advice.raise_for(figures, entry, float(opts["short_episode"])),
                     advice.long_running(figures, float(opts["long_episode"])),
                     advice.keep_firing_for(rule, entry, flapping_count, flap_gaps),
                     advice.burn_rate(figures, figures["severity"], figures["noise_score"])):
            if item:
                recommendations.append(item)
        if figures["label_churn"]:
            recommendations.append(advice.move_value_out_of_labels(rule, figures["label_churn"]))

    pairs, chains = _related(firing_by_key, onsets, {key: instances[key].rule for key in firing_by_key}, window, start, opts)
    matchers = opts["rule_matchers"]
    selected = {name: entry for name, entry in catalog.items() if _rule_selected(name, entry, matchers)}
    dead, never_fired = rules.dead_rules(selected, rule_stats_map, always)
    unhealthy = rules.unhealthy_rules(selected)
    watchdogs = rules.always_firing_report(always, catalog, rule_stats_map, window)
    for (rule_a, rule_b), members in sorted(_by_rules(pairs, sort=True).items()):
        recommendations.append(advice.group_or_inhibit(rule_a, rule_b, members))
    for (rule_a, rule_b), members in sorted(_by_rules(chains, sort=False).items()):
        if rule_a != rule_b:
            recommendations.append(advice.inhibit_cascade(rule_a, rule_b, members))
    recommendations.extend(advice.dead_rule(d) for d in dead + never_fired)
    recommendations.extend(advice.unhealthy_rule(u) for u in unhealthy)
    recommendations.extend(advice.watchdog_gap(w) for w in watchdogs if not w["ok"] and (w["listed"] or w["episodes"]))
    recommendations.sort(key=lambda r: (r["rule"], r["id"], r.get("rules") or []))
    rule_rows.sort(key=lambda r: (-r["noise_score"], r["rule"]))

    slo_rows = [slo.burn_view(s["name"], s["objective"], s["error_ratios"], window) for s in (slo_inputs or ())]
    slo_rows.sort(key=lambda r: r["name"])
    findings, counts = contract(from_recommendations(recommendations))
    return {
        "window": {"start": start, "end": end, "seconds": window, "timezone": str(opts["timezone"])},
        "summary": {
            "rules": len(rule_rows),
            "instances": len(instance_rows),
            "episodes": sum(r["episodes"] for r in rule_rows),
            "near_misses": sum(r["near_misses"] for r in rule_rows),
            "firing_seconds": rounded(sum(r["firing_seconds"] for r in rule_rows)),
            "flapping_instances": sum(r["flapping_instances"] for r in rule_rows),
            "dead_rules": len(dead),
            "never_fired_rules": len(never_fired),
            "unhealthy_rules": len(unhealthy),
            "rules_not_evaluated": len(rules.not_evaluated(selected)),
            "recommendations": len(recommendations),
            "counts": counts,
        },
        "findings": findings,
        "rules": rule_rows,
        "instances": instance_rows,
        "cofiring": pairs,
        "cascades": chains,
        "dead_rules": dead,
        "never_fired_rules": never_fired,
        "unhealthy_rules": unhealthy,
        "always_firing": watchdogs,
        "recommendations": recommendations,
        "slo": slo_rows,
    }


def _related(firing_by_key, onsets, rule_of, window, start, opts):
    """Co-firing pairs and cascades per instance and per rule (each rule's instances as one)."""
    firing_by_rule, onsets_by_rule = {}, {}
    for key, intervals in firing_by_key.items():
        firing_by_rule.setdefault(rule_of[key], []).extend(intervals)
        onsets_by_rule.setdefault(rule_of[key], []).extend(onsets[key])
    firing_by_rule = {rule: [tuple(i) for i in cofiring.union_intervals(ivs)] for rule, ivs in firing_by_rule.items()}
    pairs, chains = [], []
    for level, firing, starts_at in (("instance", firing_by_key, onsets), ("rule", firing_by_rule, onsets_by_rule)):
        starts_at = {name: sorted(times) for name, times in starts_at.items()}
        gap = float(opts["cofiring_burst_gap"])
        alpha = float(opts["cofiring_alpha"])
        found = cofiring.cofiring_pairs(firing, window, float(opts["cofiring_min_score"]), int(opts["cofiring_min_together"]),
                                        float(opts["cofiring_bucket"]), float(opts["cofiring_min_jaccard"]), origin=start,
                                        burst_gap=gap, alpha=alpha, level=level)
        followed = cofiring.cascades(starts_at, window, float(opts["cascade_within"]), int(opts["cofiring_min_together"]),
                                     float(opts["cascade_min_lift"]), float(opts["cascade_min_share"]),
                                     starts={n: cofiring.burst_starts(t, firing[n], gap) for n, t in starts_at.items()},
                                     alpha=alpha, level=level)
        rule = rule_of.get if level == "instance" else (lambda name: name)
        for pair in found:
            pair["rules"] = [rule(pair["a"]), rule(pair["b"])]
        for chain in followed:
            chain["rules"] = [rule(chain["first"]), rule(chain["then"])]
        pairs.extend(found)
        chains.extend(followed)
    return pairs, chains


def _by_rules(items, sort):
    grouped = {}
    for item in items:
        key = tuple(sorted(item["rules"])) if sort else tuple(item["rules"])
        grouped.setdefault(key, []).append(item)
    return grouped


def _severity_of(members):
    for instance in members:
        if instance.labels.get("severity"):
            return instance.labels["severity"]
    return None


def _firing_intervals(episodes, start, end):
    found = []
    for episode in episodes:
        if not episode["fired"]:
            continue
        begin = start if stats.fired_before(episode) else episode["fired_at"]
        finish = episode["resolved_at"] if episode["resolved_at"] is not None else end
        begin, finish = max(begin, start), min(finish, end)
        if finish > begin:
            found.append((begin, finish))
    return found


def _instance_row(instance, flap, firing_seconds, silenced_seconds, loaded_silences, include_episodes):
    fired = [e for e in instance.episodes if e["fired"]]
    row = {
        "rule": instance.rule,
        "key": instance.key,
        "labels": instance.labels,
        "episodes": len(fired),
        "near_misses": sum(1 for e in instance.episodes if not e["fired"] and not e["open"]),
        "firing_seconds": rounded(firing_seconds),
        "replicas": len(instance.sources),
        "flapping": flap,
        "silenced_seconds": rounded(silenced_seconds) if loaded_silences else None,
    }
    if include_episodes:
        row["history"] = [_episode_row(e) for e in instance.episodes]
    return row


def _episode_row(episode):
    return {
        "active_at": episode["active_at"],
        "fired_at": episode["fired_at"],
        "resolved_at": episode["resolved_at"],
        "last_sample": episode["last_sample"],
        "fired": episode["fired"],
        "open": episode["open"],
        "truncated": episode["truncated"],
        "firing_seconds": rounded(episode["firing_seconds"]),
        "replicas": episode["replicas"],
    }


__all__ = ["analyze", "parse_matchers", "normalize_options", "AlertInputError", "Collector", "MAX_WINDOW"]
