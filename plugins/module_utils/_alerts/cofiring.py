# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules that fire together (``cofiring.overlap``, ``cofiring.jaccard``) or in cascades (``cofiring.cascade``).

Works on each rule's union of firing intervals across its instances.
"""

from __future__ import annotations

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


def _popcount(value):
    return bin(value).count("1")


POPCOUNT = getattr(int, "bit_count", _popcount)


def bucket_mask(intervals, origin, size):
    """An int whose bit k is set when the intervals touch bucket k (of ``size`` seconds from ``origin``)."""
    mask = 0
    for start, end in intervals:
        lo = int((start - origin) // size)
        hi = max(lo + 1, int(math.ceil((end - origin) / size)))
        mask |= ((1 << (hi - lo)) - 1) << lo
    return mask


def cofiring_pairs(firing, window_seconds, min_score=0.7, min_together=3, bucket_seconds=300.0, min_jaccard=0.5, origin=0.0):
    """Pairs whose firing overlaps: overlap score, Jaccard and PMI over time buckets.

    ``firing`` maps a name (instance key or rule) -> sorted, non-overlapping [start, end)
    intervals. A pair is reported when it overlapped at least ``min_together`` times and its
    overlap score ((covA + covB) / 2, cov = overlap / own firing time) reaches ``min_score`` or
    its Jaccard index over ``bucket_seconds`` buckets reaches ``min_jaccard``.

    Every pair is screened with bucket bitmaps first: the buckets both touch bound the overlap
    from above and give the Jaccard index exactly, so the exact interval intersection only runs
    for pairs that can still pass. Pairs whose firing times differ more than the thresholds
    allow are never looked at.
    """
    totals = {name: total(intervals) for name, intervals in firing.items() if intervals}
    names = sorted(totals, key=lambda n: (totals[n], n))
    masks = {name: bucket_mask(firing[name], origin, bucket_seconds) for name in names}
    counts = {name: POPCOUNT(masks[name]) for name in names}
    ratio = min(max(0.0, 2.0 * min_score - 1.0), max(0.0, min_jaccard))
    total_buckets = max(1, int(math.ceil(window_seconds / bucket_seconds)))
    pairs = []
    for i, a in enumerate(names):
        total_a, mask_a, count_a = totals[a], masks[a], counts[a]
        limit = total_a / ratio if ratio > 0 else float("inf")
        for b in names[i + 1:]:
            total_b = totals[b]
            if total_b > limit:
                break
            both = POPCOUNT(mask_a & masks[b])
            if not both:
                continue
            jaccard = both / float(count_a + counts[b] - both)
            needed = 2.0 * min_score / (1.0 / total_a + 1.0 / total_b)
            if both * bucket_seconds < needed and jaccard < min_jaccard:
                continue
            seconds, together = intersection(firing[a], firing[b])
            if together < min_together:
                continue
            cov_a, cov_b = seconds / total_a, seconds / total_b
            score = (cov_a + cov_b) / 2.0
            if score < min_score and jaccard < min_jaccard:
                continue
            first, second = (a, b) if a < b else (b, a)
            covs = (cov_a, cov_b) if a < b else (cov_b, cov_a)
            pairs.append({
                "id": "cofiring.overlap" if score >= min_score else "cofiring.jaccard",
                "a": first,
                "b": second,
                "overlap_seconds": round(seconds, 3),
                "together": together,
                "coverage": [round(covs[0], 4), round(covs[1], 4)],
                "overlap_score": round(score, 4),
                "jaccard": round(jaccard, 4),
                "pmi": round(math.log2(both * total_buckets / float(count_a * counts[b])), 4),
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
