"""Co-firing pairs and onset cascades."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.cofiring import (
    burst_starts, cascades, cofiring_pairs, intersection, overlap_significance, union_intervals, upper_tail)

DAY = 86400.0


def test_pair_firing_together_is_reported_with_scores():
    a = [(k * 3600.0, k * 3600.0 + 600) for k in range(5)]
    b = [(s + 60, e + 60) for s, e in a]
    lonely = [(k * 3600.0 + 1800, k * 3600.0 + 1900) for k in range(5)]
    pairs = cofiring_pairs({"A": a, "B": b, "C": lonely}, DAY)
    assert [(p["a"], p["b"]) for p in pairs] == [("A", "B")]
    pair = pairs[0]
    assert pair["together"] == 5 and pair["together_bursts"] == 5 and pair["overlap_seconds"] == 5 * 540
    assert pair["tests"] == 3 and 0.99 < pair["confidence"] <= 1 and pair["p_adjusted"] == pytest.approx(3 * pair["p_value"], rel=0.01)
    assert pair["overlap_score"] == pytest.approx(0.9)
    assert 0 < pair["jaccard"] <= 1 and pair["pmi"] > 0


def test_pair_below_min_together_is_not_reported():
    a = [(0.0, 600.0), (3600.0, 4200.0)]
    assert cofiring_pairs({"A": a, "B": list(a)}, DAY) == []


def test_union_merges_overlaps():
    assert union_intervals([(5, 10), (0, 6), (20, 30)]) == [[0, 10], [20, 30]]


def test_cascade_found_and_random_onsets_not():
    lead = [k * 7200.0 for k in range(10)]
    follower = [t + 120 for t in lead]
    noise = [k * 7200.0 + 3000 for k in range(10)]
    found = cascades({"A": lead, "B": follower, "N": noise}, DAY * 2, delta=300.0)
    assert [(c["first"], c["then"]) for c in found] == [("A", "B")]
    assert found[0]["count"] == 10 and found[0]["lift"] > 2


def _brute_force(firing, window, min_score, min_together, bucket, min_jaccard, origin):
    """Every pair judged by the same rules, without any screening."""
    import math as m

    from ansible_collections.sre.toolkit.plugins.module_utils._alerts.cofiring import intersection, overlap_significance, total
    found = set()
    names = sorted(firing)
    tests = len(names) * (len(names) - 1) // 2
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            seconds, _segments = intersection(firing[a], firing[b])
            together, p_value = overlap_significance(union_intervals(firing[a], 1800.0), union_intervals(firing[b], 1800.0), window)
            if together < min_together or p_value * tests > 0.01:
                continue
            score = (seconds / total(firing[a]) + seconds / total(firing[b])) / 2
            sets = []
            for name in (a, b):
                touched = set()
                for s, e in firing[name]:
                    lo = int((s - origin) // bucket)
                    touched.update(range(lo, max(lo + 1, int(m.ceil((e - origin) / bucket)))))
                sets.append(touched)
            jaccard = len(sets[0] & sets[1]) / len(sets[0] | sets[1])
            if score >= min_score or jaccard >= min_jaccard:
                found.add((a, b))
    return found


def _fragments(start, buckets, on=30.0):
    """A flapper firing ``on`` seconds in each of ``buckets`` consecutive 5-minute buckets."""
    return [(start + k * 300.0 + 100, start + k * 300.0 + 100 + on) for k in range(buckets)]


@pytest.mark.parametrize("seed", range(6))
def test_bitmap_screening_loses_no_pair(seed):
    import random
    rng = random.Random(seed)
    firing = {}
    base = [rng.uniform(0, 10 * DAY) for _event in range(12)]
    for n in range(25):
        intervals = []
        for start in base:
            if rng.random() < 0.6:
                s = 300.0 * int((start + rng.uniform(-300, 300)) // 300)
                if n % 3 == 0:  # fragmented flappers touch many buckets with few seconds
                    intervals.extend(_fragments(s, rng.randint(2, 8)))
                else:
                    intervals.append((s, s + rng.uniform(60, 1800)))
        firing["n%02d" % n] = [tuple(i) for i in union_intervals(intervals)]
    firing = {k: v for k, v in firing.items() if v}
    for score, jac in ((0.7, 0.5), (0.5, 0.3), (0.9, 0.9), (0.7, 0.9)):
        got = {(p["a"], p["b"]) for p in cofiring_pairs(firing, 10 * DAY, score, 3, 300.0, jac)}
        assert got == _brute_force(firing, 10 * DAY, score, 3, 300.0, jac, 0.0)


def test_fragmented_flapper_meeting_the_jaccard_rule_is_not_screened_out():
    """Same buckets (Jaccard 1), but a tenth of the firing seconds: the seconds screen alone dropped it."""
    starts = [k * 21000.0 for k in range(1, 5)]  # on bucket boundaries
    steady = [(s + 0.0, s + 1800.0) for s in starts]
    flapper = [f for s in starts for f in _fragments(s, 6)]
    pairs = cofiring_pairs({"flapper": flapper, "steady": steady}, DAY)
    assert [(p["id"], p["a"], p["b"], p["jaccard"]) for p in pairs] == [("cofiring.jaccard", "flapper", "steady", 1.0)]
    assert pairs[0]["together_bursts"] == 4


def test_one_shared_flapping_burst_is_no_pattern():
    """Two flappers that met once, for 27 minutes: many overlapping flaps, one burst of evidence."""
    shared = 5 * DAY
    a = [(shared + k * 120.0, shared + k * 120.0 + 60) for k in range(14)]
    b = [(s + 30, e + 30) for s, e in a]
    a += [(k * DAY + 3600.0, k * DAY + 3700.0) for k in (1, 9, 17)]
    b += [(k * DAY + 40000.0, k * DAY + 40100.0) for k in (3, 12, 22)]
    firing = {"A": sorted(a), "B": sorted(b)}
    assert cofiring_pairs(firing, 30 * DAY) == []
    onsets = {name: [s for s, _e in ivs] for name, ivs in firing.items()}
    starts = {name: burst_starts(onsets[name], firing[name]) for name in firing}
    assert cascades(onsets, 30 * DAY, starts=starts) == []


def test_long_alerts_that_overlap_by_chance_are_not_claimed():
    """Four two-day episodes of each over 30 days overlap often by chance alone (p about 0.5)."""
    a = [(k * 7 * DAY, k * 7 * DAY + 2 * DAY) for k in range(4)] + [(29 * DAY, 29.5 * DAY)]
    b = [(s + 3600.0, e + 3600.0) for s, e in a[:4]] + [(25 * DAY, 26 * DAY)]
    assert intersection(a, b)[1] >= 4
    assert cofiring_pairs({"A": a, "B": b}, 30 * DAY) == []
    p_value = overlap_significance(union_intervals(a, 1800.0), union_intervals(b, 1800.0), 30 * DAY)[1]
    assert p_value > 0.1


def test_a_cascade_that_chance_explains_among_many_pairs_is_not_claimed():
    """A flapper's onsets cover 3 % of the window; 3 of a rare alert's 10 onsets after one of them
    is a 0.3 % event for one pair, but 28 alerts make 756 ordered pairs to test."""
    import random
    rng = random.Random(7)
    window = 30 * DAY
    flapper = sorted(b * 1.5 * DAY + 3600 + k * 180.0 for b in range(20) for k in range(20))
    rare = sorted([flapper[40] + 120, flapper[200] + 100, flapper[330] + 90] + [rng.uniform(0, window) for _noise in range(7)])
    onsets = {"flapper": flapper, "rare": rare}
    onsets.update(("other%02d" % n, sorted(rng.uniform(0, window) for _onset in range(10))) for n in range(26))
    starts = dict(onsets, flapper=[b * 1.5 * DAY + 3600 for b in range(20)])
    assert not [c for c in cascades(onsets, window, starts=starts) if c["then"] == "rare"]
    alone = cascades({"flapper": flapper, "rare": rare}, window, starts={"flapper": starts["flapper"], "rare": rare})
    assert [(c["first"], c["then"], c["count"]) for c in alone] == [("flapper", "rare", 3)]
    assert alone[0]["tests"] == 2 and alone[0]["p_adjusted"] <= 0.01


@pytest.mark.parametrize("n,p,k", [(10, 0.1, 3), (25, 0.03, 5), (8, 0.5, 8), (5, 0.2, 0), (5, 0.2, 6)])
def test_upper_tail_is_the_binomial_tail(n, p, k):
    import math as m
    exact = sum(m.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(k, n + 1))
    assert upper_tail([p] * n, k) == pytest.approx(exact, rel=1e-9, abs=1e-15)
    assert upper_tail([0.1, 0.5, 0.9], 2) == pytest.approx(0.1 * 0.5 + 0.1 * 0.9 + 0.5 * 0.9 - 2 * 0.1 * 0.5 * 0.9)
