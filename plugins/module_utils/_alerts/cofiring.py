# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alerts that fire together (``cofiring.overlap``, ``cofiring.jaccard``) or one after the other
(``cofiring.cascade``), claimed only when chance cannot explain them.

Both work on firing intervals per name: an instance key, or a rule (the union of its
instances), so a pair spread over many instances is judged as a whole too.

The unit of evidence is a burst, not an episode: firing intervals less than ``burst_gap`` apart
are one burst. A flapping alert opens dozens of episodes in one bad hour; counted one by one,
a single shared hour of two unrelated flappers looks like a pattern.

The null model is independence in time: a burst of A of length L meets B's bursts (n_B of them,
T_B seconds in all) by chance with probability at most (T_B + n_B * L) / W. The number of A's
bursts that meet B is then at most Poisson-binomial; its upper tail is the p-value, taken in both
directions. For cascades, B's burst starts land by chance within ``delta`` after one of A's
onsets with probability |union of [onset, onset + delta)| / W, which respects A's clustering.
Every pair of a level is a test, so p-values are corrected for their number (Bonferroni) and a
claim is made only when the corrected p-value is at most ``alpha``; ``confidence`` is one minus it.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

DEFAULT_BURST_GAP = 1800.0
DEFAULT_ALPHA = 0.01


def union_intervals(intervals, gap=0.0):
    """Sorted, merged [start, end) intervals; intervals at most ``gap`` apart merge too."""
    merged = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1] + gap:
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


def upper_tail(probabilities, k):
    """P(K >= k) for K the number of successes of independent trials with these probabilities."""
    if k <= 0:
        return 1.0
    if k > len(probabilities):
        return 0.0
    # dist[j] = P(j successes so far), the last cell holding "k or more"
    dist = [1.0] + [0.0] * k
    for p in probabilities:
        dist[k] += dist[k - 1] * p
        for j in range(k - 1, 0, -1):
            dist[j] = dist[j] * (1.0 - p) + dist[j - 1] * p
        dist[0] *= 1.0 - p
    return min(1.0, dist[k])


def _meeting(bursts, others):
    """How many of ``bursts`` overlap at least one of ``others`` (both sorted, merged)."""
    count, j = 0, 0
    for start, end in bursts:
        while j < len(others) and others[j][1] <= start:
            j += 1
        if j < len(others) and others[j][0] < end:
            count += 1
    return count


def _chance_of_meeting(bursts, others, window):
    """Per burst, the probability that a burst of its length placed at random meets ``others``."""
    covered, count = total(others), len(others)
    return [min(1.0, (covered + count * (end - start)) / window) for start, end in bursts]


def overlap_significance(bursts_a, bursts_b, window):
    """(bursts that met in the weaker direction, p-value): both directions must beat chance."""
    together, p_value = None, 0.0
    for mine, theirs in ((bursts_a, bursts_b), (bursts_b, bursts_a)):
        met = _meeting(mine, theirs)
        together = met if together is None else min(together, met)
        p_value = max(p_value, upper_tail(_chance_of_meeting(mine, theirs, window), met))
    return together, p_value


def _corrected(p_value, tests):
    return min(1.0, p_value * max(1, tests))


def _significance_fields(p_value, tests):
    adjusted = _corrected(p_value, tests)
    return {"p_value": float("%.3g" % p_value), "p_adjusted": float("%.3g" % adjusted),
            "confidence": round(1.0 - adjusted, 4), "tests": tests}


def _in_range(ordered, values, low, high):
    """Names (from ``ordered``, sorted by ``values``) whose value lies in [low, high]."""
    return ordered[bisect_left(values, low):bisect_right(values, high)]


def _candidates(names, totals, counts, score_ratio, jaccard_ratio):
    """Pairs (a, b), a < b, in order, that can still reach the overlap score or the Jaccard index.

    score <= (1 + t_small / t_large) / 2 and Jaccard <= c_small / c_large (bucket counts), so a
    pair whose firing seconds and whose bucket counts are both too far apart can pass neither.
    The two bounds are separate: a fragmented flapper touches more buckets than its seconds say.
    """
    screens = []
    for measure, ratio in ((totals, score_ratio), (counts, jaccard_ratio)):
        ordered = sorted(names, key=lambda n, m=measure: (m[n], n))
        screens.append((measure, ratio, ordered, [measure[n] for n in ordered]))
    for a in names:
        partners = set()
        for measure, ratio, ordered, values in screens:
            if ratio <= 0:
                partners.update(names)
            else:
                partners.update(_in_range(ordered, values, measure[a] * ratio, measure[a] / ratio))
        for b in sorted(partners):
            if b > a:
                yield a, b


def cofiring_pairs(firing, window_seconds, min_score=0.7, min_together=3, bucket_seconds=300.0, min_jaccard=0.5, origin=0.0,
                   burst_gap=DEFAULT_BURST_GAP, alpha=DEFAULT_ALPHA, level="instance"):
    """Pairs whose firing overlaps more than chance allows.

    ``firing`` maps a name -> sorted, non-overlapping [start, end) intervals. A pair is reported
    when at least ``min_together`` bursts of each met, its overlap score ((covA + covB) / 2,
    cov = overlap / own firing time) reaches ``min_score`` or its Jaccard index over
    ``bucket_seconds`` buckets reaches ``min_jaccard``, and its corrected p-value is at most
    ``alpha``. Bucket bitmaps screen pairs first: shared buckets bound the overlap from above and
    give the Jaccard index exactly, so the exact work runs only for pairs that can still pass.
    """
    totals = {name: total(intervals) for name, intervals in firing.items() if intervals}
    names = sorted(totals)
    masks = {name: bucket_mask(firing[name], origin, bucket_seconds) for name in names}
    counts = {name: POPCOUNT(masks[name]) for name in names}
    bursts = {name: union_intervals(firing[name], burst_gap) for name in names}
    tests = len(names) * (len(names) - 1) // 2
    total_buckets = max(1, int(math.ceil(window_seconds / bucket_seconds)))
    pairs = []
    for a, b in _candidates(names, totals, counts, 2.0 * min_score - 1.0, min_jaccard):
        both = POPCOUNT(masks[a] & masks[b])
        if not both:
            continue
        jaccard = both / float(counts[a] + counts[b] - both)
        needed = 2.0 * min_score / (1.0 / totals[a] + 1.0 / totals[b])
        if both * bucket_seconds < needed and jaccard < min_jaccard:
            continue
        seconds, segments = intersection(firing[a], firing[b])
        cov_a, cov_b = seconds / totals[a], seconds / totals[b]
        score = (cov_a + cov_b) / 2.0
        if score < min_score and jaccard < min_jaccard:
            continue
        together, p_value = overlap_significance(bursts[a], bursts[b], window_seconds)
        if together < min_together or _corrected(p_value, tests) > alpha:
            continue
        pair = {
            "id": "cofiring.overlap" if score >= min_score else "cofiring.jaccard",
            "level": level,
            "a": a,
            "b": b,
            "overlap_seconds": round(seconds, 3),
            "together": segments,
            "together_bursts": together,
            "coverage": [round(cov_a, 4), round(cov_b, 4)],
            "overlap_score": round(score, 4),
            "jaccard": round(jaccard, 4),
            "pmi": round(math.log2(both * total_buckets / float(counts[a] * counts[b])), 4),
        }
        pair.update(_significance_fields(p_value, tests))
        pairs.append(pair)
    pairs.sort(key=lambda p: (-p["overlap_score"], -p["jaccard"], p["a"], p["b"]))
    return pairs


def burst_starts(onsets, intervals, gap=DEFAULT_BURST_GAP):
    """The onsets that open a burst (no firing of the same name within ``gap`` before them)."""
    firsts = set(start for start, _end in union_intervals(intervals, gap))
    return [ts for ts in onsets if ts in firsts]


def _dilated_share(onsets, delta, window):
    """Share of the window that lies within ``delta`` after one of the onsets."""
    return min(1.0, total(union_intervals([(ts, ts + delta) for ts in onsets])) / window) if window else 1.0


def cascades(onsets, window_seconds, delta=300.0, min_together=3, min_lift=3.0, min_share=0.3, starts=None,
             alpha=DEFAULT_ALPHA, level="instance"):
    """A's onset followed by the start of B's burst within ``delta`` seconds, beyond chance.

    ``onsets`` maps name -> sorted onset timestamps; ``starts`` maps name -> the onsets that open
    a burst (default: every onset). A cascade needs ``min_together`` of B's bursts to start within
    ``delta`` after an onset of A, explaining at least ``min_share`` of them, a lift (observed /
    expected) of ``min_lift``, and a corrected p-value of at most ``alpha``.
    """
    starts = onsets if starts is None else starts
    timeline = sorted((ts, name) for name, times in onsets.items() for ts in times)
    times = [ts for ts, _name in timeline]
    follows = {}
    for later, begins in starts.items():
        for ts in begins:
            seen = set()
            for k in range(bisect_left(times, ts - delta), bisect_left(times, ts)):
                earlier = timeline[k][1]
                if earlier != later and earlier not in seen:
                    seen.add(earlier)
                    follows[(earlier, later)] = follows.get((earlier, later), 0) + 1
    active = [name for name, times_ in onsets.items() if times_]
    tests = len(active) * (len(active) - 1)
    found = []
    for (earlier, later), count in follows.items():
        bursts = len(starts[later])
        if count < min_together or count < min_share * bursts:
            continue
        chance = _dilated_share(onsets[earlier], delta, window_seconds)
        expected = bursts * chance
        lift = count / expected if expected else None
        if lift is not None and lift < min_lift:
            continue
        p_value = upper_tail([chance] * bursts, count)
        if _corrected(p_value, tests) > alpha:
            continue
        chain = {
            "id": "cofiring.cascade",
            "level": level,
            "first": earlier,
            "then": later,
            "count": count,
            "share_of_then": round(count / float(bursts), 4),
            "lift": round(lift, 3) if lift is not None else None,
            "within_seconds": delta,
        }
        chain.update(_significance_fields(p_value, tests))
        found.append(chain)
    found.sort(key=lambda c: (-c["count"], c["first"], c["then"]))
    return found
