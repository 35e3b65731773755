# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-rule figures (``stats.rule``), label churn (``stats.label_churn``) and the noise score (``stats.noise``)."""

from __future__ import annotations

import math
import re

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.common import percentile, ratio, rounded, summary

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
PAGE_SEVERITIES = ("critical", "page", "pager", "p1")


def fired_before(episode):
    """True when the episode was already firing at the window start (its onset is unknown).

    An episode that became active before the window but fired inside it is not: its fire,
    resolve and (from ALERTS_FOR_STATE) activation times are all known.
    """
    return episode["truncated"] and episode["fired_at"] == episode["first_sample"]


def rule_stats(rule, instances, window_seconds, short_seconds):
    """Figures of one rule from its instances' finalized episodes.

    episodes/instances count what fired; firing_share = firing seconds / (window x instances);
    resolve time over episodes seen from fire to resolve (not fired before the window, not open),
    pending delay over episodes seen firing.
    """
    fired, near_misses, open_pending = [], 0, 0
    firing_instances = 0
    seen_instances = 0
    between = []
    for instance in instances:
        if instance.episodes:
            seen_instances += 1
        previous_fire = None
        instance_fired = False
        for episode in instance.episodes:
            if episode["fired"]:
                fired.append(episode)
                instance_fired = True
                if previous_fire is not None and not fired_before(episode):
                    between.append(episode["fired_at"] - previous_fire)
                previous_fire = episode["fired_at"]
            elif episode["open"]:
                open_pending += 1
            else:
                near_misses += 1
        firing_instances += instance_fired
    seen_firing = [e for e in fired if not fired_before(e)]
    resolve = [e["resolved_at"] - e["fired_at"] for e in seen_firing if not e["open"]]
    pending_delay = [e["fired_at"] - e["active_at"] for e in seen_firing]
    short = sorted(d for d in resolve if d < short_seconds)
    firing_seconds = sum(e["firing_seconds"] for e in fired)
    episodes = len(fired)
    return {
        "rule": rule,
        "episodes": episodes,
        "instances": firing_instances,
        "instances_seen": seen_instances,
        "open_episodes": sum(1 for e in fired if e["open"]),
        "truncated_episodes": sum(1 for e in fired if e["truncated"]),
        "firing_seconds": rounded(firing_seconds),
        "firing_share": ratio(firing_seconds, window_seconds * firing_instances),
        "episodes_per_week": rounded(episodes * 604800.0 / window_seconds, 3) if window_seconds else 0.0,
        "resolve_time": summary(resolve),
        "episode_duration": summary([e["firing_seconds"] for e in fired]),
        "mean_time_between_firings": rounded(sum(between) / len(between)) if between else None,
        "pending_delay": summary(pending_delay),
        "near_misses": near_misses,
        "pending_at_end": open_pending,
        "near_miss_ratio": ratio(near_misses, near_misses + episodes),
        "short_episodes": len(short),
        "short_ratio": ratio(len(short), len(resolve)),
        "short_p75": rounded(percentile(short, 0.75)),
    }


def label_churn(instances, min_values=5, templated=()):
    """Labels whose value alone tells instances of a rule apart and looks numeric.

    A label templated from $value makes a new series, hence a new instance, whenever the value
    changes: many numeric values, sharing every other label, each living for about one episode.
    Few distinct values (status codes) or long-lived instances are ordinary dimensions. Labels
    the rule itself templates from $value (``templated``) are churn however few values appeared.
    """
    churn = [{"label": name, "values": len(set(i.labels.get(name) for i in instances if name in i.labels)), "templated": True}
             for name in templated]
    if len(instances) < min_values:
        return churn
    names = set.intersection(*(set(i.labels) for i in instances)) - {"alertname"}
    churn = []
    for name in sorted(names):
        groups = {}
        for instance in instances:
            rest = tuple(sorted((k, v) for k, v in instance.labels.items() if k != name))
            groups.setdefault(rest, []).append(instance)
        biggest = max(groups.values(), key=len)
        values = set(i.labels[name] for i in biggest)
        if len(values) < min_values:
            continue
        numeric = sum(1 for value in values if _NUMBER.match(value.strip()))
        episodes = sum(len(i.episodes) for i in biggest)
        if numeric * 2 >= len(values) and episodes <= 2 * len(biggest) and name not in templated:
            churn.append({"label": name, "values": len(values), "templated": False})
    return sorted(churn, key=lambda c: c["label"])


def noise_score(stats, max_psc, silenced_share, severity):
    """A comparable 0.. score: more episodes, short ones, flapping, silencing, near misses = noisier.

    log2(1 + episodes per week) + 2 x short ratio + 2 x PSC/100 + silenced share + near-miss
    ratio, times 1.5 for page-level severities (a noisy page costs more than a noisy ticket).
    """
    score = math.log2(1.0 + stats["episodes_per_week"])
    score += 2.0 * stats["short_ratio"]
    score += 2.0 * min(1.0, max_psc / 100.0)
    score += silenced_share or 0.0
    score += stats["near_miss_ratio"]
    if severity and str(severity).lower() in PAGE_SEVERITIES:
        score *= 1.5
    return round(score, 3)
