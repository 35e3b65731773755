# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules that fire together (``cofiring.overlap``, ``cofiring.jaccard``) or in cascades (``cofiring.cascade``).

Works on each rule's union of firing intervals across its instances.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left


def union_intervals(intervals):
    """Sorted, merged [start, end) intervals."""
    merged = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return merged


def total(intervals):
    return sum(end - start for start, end in intervals)


def intersection(a, b):
    """(overlap seconds, number of overlap segments) of two merged interval lists."""
    i = j = 0
    seconds, segments = 0.0, 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if hi > lo:
            seconds += hi - lo
            segments += 1
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return seconds, segments


def buckets(intervals, size):
    """Set of time-bucket indexes touched by the intervals."""
    found = set()
    for start, end in intervals:
        found.update(range(int(start // size), int(math.ceil(end / size))))
    return found


def _comparable_bins(totals, ratio):
    """Log-scale bin of each name's firing time; comparable names share a bin or adjacent ones."""
    if ratio <= 0.0 or ratio >= 1.0:
        return {name: 0 for name in totals}
    width = math.log(1.0 / ratio)
    return {name: int(math.floor(math.log(max(t, 1e-9)) / width)) for name, t in totals.items()}


def overlaps(firing, ratio=0.0):
    """{(a, b): [overlap seconds, times together]} for every pair whose intervals overlap.

    One sweep per pair of adjacent duration bins: a pair whose firing times differ by more than
    1/ratio cannot reach the thresholds (coverage and Jaccard are bounded by that ratio), so
    a week-long alert is never swept against thousands of two-minute flaps.
    """
    totals = {name: total(intervals) for name, intervals in firing.items() if intervals}
    bins = _comparable_bins(totals, ratio)
    by_bin = {}
    for name, intervals in firing.items():
        if name in totals:
            by_bin.setdefault(bins[name], []).extend((start, end, name) for start, end in intervals)
    found = {}
    for low in sorted(by_bin):
        events = sorted(by_bin[low] + by_bin.get(low + 1, []))
        active = []  # heap of (end, start, name)
        for start, end, name in events:
            while active and active[0][0] <= start:
                heapq.heappop(active)
            name_bin = bins[name]
            for other_end, _other_start, other in active:
                if other == name or min(name_bin, bins[other]) != low:
                    continue
                if totals[name] < ratio * totals[other] or totals[other] < ratio * totals[name]:
                    continue
                key = (name, other) if name < other else (other, name)
                slot = found.get(key)
                if slot is None:
                    slot = found[key] = [0.0, 0]
                slot[0] += min(end, other_end) - start
                slot[1] += 1
            heapq.heappush(active, (end, start, name))
    return found, totals


def cofiring_pairs(firing, window_seconds, min_score=0.7, min_together=3, bucket_seconds=300.0, min_jaccard=0.5):
    """Pairs whose firing overlaps: overlap score, Jaccard and PMI over time buckets.

    ``firing`` maps a name (instance key or rule) -> sorted, non-overlapping [start, end)
    intervals. A pair is reported when it overlapped at least ``min_together`` times and its
    overlap score ((covA + covB) / 2, cov = overlap / own firing time) reaches ``min_score`` or
    its Jaccard index over ``bucket_seconds`` buckets reaches ``min_jaccard``.
    """
    ratio = min(max(0.0, 2.0 * min_score - 1.0), max(0.0, min_jaccard))
    found, totals = overlaps(firing, ratio)
    bucket_sets = {}
    total_buckets = max(1, int(math.ceil(window_seconds / bucket_seconds)))
    pairs = []
    for (a, b), (seconds, together) in found.items():
        if together < min_together:
            continue
        cov_a, cov_b = seconds / totals[a], seconds / totals[b]
        score = (cov_a + cov_b) / 2.0
        for name in (a, b):
            if name not in bucket_sets:
                bucket_sets[name] = buckets(firing[name], bucket_seconds)
        both = len(bucket_sets[a] & bucket_sets[b])
        either = len(bucket_sets[a]) + len(bucket_sets[b]) - both
        jaccard = both / either if either else 0.0
        if score < min_score and jaccard < min_jaccard:
            continue
        pmi = math.log2(both * total_buckets / (len(bucket_sets[a]) * len(bucket_sets[b]))) if both else None
        pairs.append({
            "id": "cofiring.overlap" if score >= min_score else "cofiring.jaccard",
            "a": a,
            "b": b,
            "overlap_seconds": round(seconds, 3),
            "together": together,
            "coverage": [round(cov_a, 4), round(cov_b, 4)],
            "overlap_score": round(score, 4),
            "jaccard": round(jaccard, 4),
            "pmi": round(pmi, 4) if pmi is not None else None,
        })
    pairs.sort(key=lambda p: (-p["overlap_score"], -p["jaccard"], p["a"], p["b"]))
    return pairs


def cascades(onsets, window_seconds, delta=300.0, min_together=3, min_lift=3.0, min_share=0.3):
    """A's onset followed by B's within ``delta`` seconds, more often than chance.

    ``onsets`` maps name -> sorted onset timestamps. lift = observed / expected, with expected
    = onsets(B) * min(1, onsets(A) * delta / window) under independence. A cascade must also
    explain at least ``min_share`` of B's onsets: a busy A otherwise "leads" everything a little.
    """
    timeline = sorted((ts, name) for name, times in onsets.items() for ts in times)
    times = [ts for ts, _name in timeline]
    follows = {}
    for ts, later in timeline:
        lo = bisect_left(times, ts - delta)
        seen = set()
        for k in range(lo, len(times)):
            if times[k] >= ts:
                break
            earlier = timeline[k][1]
            if earlier != later and earlier not in seen:
                seen.add(earlier)
                follows[(earlier, later)] = follows.get((earlier, later), 0) + 1
    found = []
    for (earlier, later), count in follows.items():
        if count < min_together:
            continue
        expected = len(onsets[later]) * min(1.0, len(onsets[earlier]) * delta / window_seconds) if window_seconds else 0.0
        lift = count / expected if expected else None
        if lift is not None and lift < min_lift or count < min_share * len(onsets[later]):
            continue
        found.append({
            "id": "cofiring.cascade",
            "first": earlier,
            "then": later,
            "count": count,
            "share_of_then": round(count / len(onsets[later]), 4),
            "lift": round(lift, 3) if lift is not None else None,
            "within_seconds": delta,
        })
    found.sort(key=lambda c: (-c["count"], c["first"], c["then"]))
    return found
