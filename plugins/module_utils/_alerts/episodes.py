# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alert instances and their episodes, rebuilt from ALERTS and ALERTS_FOR_STATE samples.

Rule ids: ``episode.split`` (new episode on an ALERTS_FOR_STATE value change or a gap longer
than one evaluation interval plus a tolerance), ``episode.restore`` (a gap with an unchanged
ALERTS_FOR_STATE value is one activation that Prometheus restored or skipped an evaluation of),
``episode.ha_merge`` (episodes of HA replicas of one instance that overlap become one).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import compress
from operator import itemgetter, ne, sub

DROPPED_LABELS = ("__name__", "alertstate")
DEFAULT_IGNORED_LABELS = ("prometheus", "prometheus_replica", "replica")

_first = itemgetter(0)
_second = itemgetter(1)


class Instance:
    """One alert instance: its labels (ignored labels removed) and per-replica samples."""

    __slots__ = ("key", "labels", "rule", "sources", "episodes")

    def __init__(self, key, labels):
        self.key = key
        self.labels = labels
        self.rule = labels.get("alertname", "")
        self.sources = {}
        self.episodes = []

    def source(self, replica):
        found = self.sources.get(replica)
        if found is None:
            found = self.sources[replica] = {"pending": [], "firing": [], "for_state_ts": [], "for_state_runs": []}
        return found


def instance_key(labels):
    """Stable text key of a label set: {a="x", b="y"} in sorted order."""
    return "{" + ", ".join('%s="%s"' % (name, labels[name]) for name in sorted(labels)) + "}"


class Collector:
    """Groups raw series into instances, chunk by chunk, keeping only what episodes need.

    The ignored labels (HA replica labels) are dropped from the identity but kept as the
    replica name, so each replica's samples are reconstructed on their own first: replicas
    evaluate at different phases and carry their own ActiveAt values. Of ALERTS only the
    timestamps are kept; of ALERTS_FOR_STATE the timestamps and the points where the value
    changes, so a long history costs little more than its timestamps.
    """

    def __init__(self, ignored_labels=DEFAULT_IGNORED_LABELS):
        self.ignored = frozenset(ignored_labels)
        self.instances = {}

    def _bucket(self, metric):
        labels = {}
        replica = []
        for name, value in metric.items():
            if name in DROPPED_LABELS:
                continue
            if name in self.ignored:
                replica.append((name, value))
            else:
                labels[name] = value
        key = instance_key(labels)
        instance = self.instances.get(key)
        if instance is None:
            instance = self.instances[key] = Instance(key, labels)
        return instance.source(tuple(sorted(replica)))

    def add_alerts(self, series_list):
        for series in series_list or ():
            metric = series.get("metric") or {}
            state = metric.get("alertstate")
            if state not in ("pending", "firing"):
                continue
            self._bucket(metric)[state].extend(map(_first, series.get("values") or ()))

    def add_for_state(self, series_list):
        for series in series_list or ():
            values = series.get("values") or ()
            if not values:
                continue
            bucket = self._bucket(series.get("metric") or {})
            bucket["for_state_ts"].extend(map(_first, values))
            texts = list(map(_second, values))
            changes = [0]
            changes.extend(compress(range(1, len(texts)), map(ne, texts[1:], texts[:-1])))
            bucket["for_state_runs"].extend((float(values[k][0]), texts[k]) for k in changes)


def group_instances(alerts_series, for_state_series, ignored_labels=DEFAULT_IGNORED_LABELS):
    """Map instance key -> Instance, from raw series as the Prometheus API returns them."""
    collector = Collector(ignored_labels)
    collector.add_alerts(alerts_series)
    collector.add_for_state(for_state_series)
    return collector.instances


def _sorted_unique(values):
    values.sort()
    return values


def _activations(runs):
    """(first_ts, active_at) of each ActiveAt value run, in time order."""
    if not runs:
        return [], []
    runs.sort(key=_first)
    starts, active = [], []
    previous = None
    for ts, text in runs:
        if text == previous:
            continue  # a chunk boundary, not a change
        previous = text
        starts.append(float(ts))
        try:
            active.append(float(text))
        except (TypeError, ValueError):
            active.append(None)
    return starts, active


def source_episodes(pending, firing, for_state_ts, for_state_runs, interval, tolerance):
    """Episodes of one replica's series as lists [active_at, first, last, fired_at, last_firing, replicas].

    ``pending`` and ``firing`` are lists of sample timestamps; ``for_state_ts`` the timestamps
    of ALERTS_FOR_STATE and ``for_state_runs`` its (ts, value) change points (both may be empty:
    then gaps alone split episodes).
    """
    firing = _sorted_unique(firing)
    samples = sorted(pending + firing) if pending else firing
    if not samples:
        return []
    for_state_ts.sort()
    act_starts, act_values = _activations(for_state_runs)
    max_gap = interval * (1.0 + tolerance)
    count = len(samples)
    gaps = compress(range(1, count), map(max_gap.__lt__, map(sub, samples[1:], samples[:-1])))
    cuts = set()
    for k in gaps:
        if not _same_activation(act_starts, samples[k - 1], samples[k], for_state_ts):
            cuts.add(k)
    # A new ActiveAt value without a gap (rare: a restart restoring a pending alert) also cuts.
    for start in act_starts[1:]:
        k = bisect_left(samples, start)
        if 0 < k < count:
            cuts.add(k)
    bounds = [0] + sorted(cuts) + [count]
    episodes = []
    for a, b in zip(bounds, bounds[1:]):
        first, last = samples[a], samples[b - 1]
        active_at = None
        index = bisect_right(act_starts, first) - 1
        if index >= 0:
            active_at = act_values[index]
        elif act_starts and act_starts[0] <= last:
            active_at = act_values[0]
        lo = bisect_left(firing, first)
        hi = bisect_right(firing, last)
        fired_at = firing[lo] if hi > lo else None
        last_firing = firing[hi - 1] if hi > lo else None
        episodes.append([active_at, first, last, fired_at, last_firing, 1])
    return episodes


def _same_activation(act_starts, before, after, for_state_ts):
    """True when one ALERTS_FOR_STATE value run has samples on both sides of a gap."""
    if not act_starts:
        return False
    index = bisect_right(act_starts, before) - 1
    if index < 0 or bisect_right(act_starts, after) - 1 != index:
        return False
    # The run must really go on after the gap (not just end before it and leave no value after).
    pos = bisect_left(for_state_ts, after)
    return pos < len(for_state_ts) and for_state_ts[pos] - after < 1e-3


def merge_replicas(episode_lists, interval):
    """One list of episodes from the per-replica lists (rule ``episode.ha_merge``).

    Each episode covers [first, last + interval); replica episodes that overlap there are the
    same activation seen by two evaluators at different phases. The earliest replica's times
    are kept (its onset is the first evidence); another replica extends the episode only where
    it saw more than one interval beyond it (the first one missed evaluations, e.g. was down).
    """
    if len(episode_lists) == 1:
        return episode_lists[0]
    merged = []
    for episode in sorted((e for eps in episode_lists for e in eps), key=itemgetter(1)):
        if merged and episode[1] < merged[-1][2] + interval:
            current = merged[-1]
            current[0] = _min_known(current[0], episode[0])
            current[3] = _min_known(current[3], episode[3])
            if episode[2] > current[2] + interval:
                current[2] = episode[2]
            if episode[4] is not None and (current[4] is None or episode[4] > current[4] + interval):
                current[4] = episode[4]
            current[5] += 1
        else:
            merged.append(list(episode))
    return merged


def _min_known(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _max_known(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def finalize(raw, interval, start, end):
    """Episode dicts with window-edge flags and clipped durations.

    ``truncated``: the activation began before the window (ActiveAt earlier than the first
    sample, or without ActiveAt the evaluation before the first sample lies outside);
    ``open``: the next evaluation after the last sample lies beyond the window end, so the
    alert may still be active. ``resolved_at`` is an upper bound: last firing sample + interval.
    """
    active_at, first, last, fired_at, last_firing, replicas = raw
    if active_at is not None:
        truncated = active_at < first - 1.0 and first - interval <= start
    else:
        truncated = first - interval <= start
    is_open = last + interval > end
    episode = {
        "active_at": active_at if active_at is not None else first,
        "first_sample": first,
        "last_sample": last,
        "fired_at": fired_at,
        "resolved_at": None,
        "open": is_open,
        "truncated": truncated,
        "fired": fired_at is not None,
        "firing_seconds": 0.0,
        "replicas": replicas,
    }
    if fired_at is None:
        return episode
    if not is_open or last_firing < last:
        episode["resolved_at"] = last_firing + interval
    firing_from = start if (truncated and fired_at == first) else fired_at
    firing_to = min(episode["resolved_at"] if episode["resolved_at"] is not None else end, end)
    episode["firing_seconds"] = max(0.0, firing_to - max(firing_from, start))
    return episode


def build_episodes(instances, interval_for, start, end, tolerance=0.5):
    """Fill ``instance.episodes`` (finalized dicts, time order) for every instance."""
    for instance in instances.values():
        interval = interval_for(instance.rule)
        lists = []
        for bucket in instance.sources.values():
            lists.append(source_episodes(bucket["pending"], bucket["firing"], bucket["for_state_ts"],
                                         bucket["for_state_runs"], interval, tolerance))
        lists = [eps for eps in lists if eps]
        if not lists:
            instance.episodes = []
            continue
        instance.episodes = [finalize(raw, interval, start, end) for raw in merge_replicas(lists, interval)]
    return instances
