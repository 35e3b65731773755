"""Co-firing pairs and onset cascades."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.cofiring import cascades, cofiring_pairs, union_intervals

DAY = 86400.0


def test_pair_firing_together_is_reported_with_scores():
    a = [(k * 3600.0, k * 3600.0 + 600) for k in range(5)]
    b = [(s + 60, e + 60) for s, e in a]
    lonely = [(k * 3600.0 + 1800, k * 3600.0 + 1900) for k in range(5)]
    pairs = cofiring_pairs({"A": a, "B": b, "C": lonely}, DAY)
    assert [(p["a"], p["b"]) for p in pairs] == [("A", "B")]
    pair = pairs[0]
    assert pair["together"] == 5 and pair["overlap_seconds"] == 5 * 540
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
    import math as m

    from ansible_collections.sre.toolkit.plugins.module_utils._alerts.cofiring import intersection, total
    found = set()
    names = sorted(firing)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            seconds, together = intersection(firing[a], firing[b])
            if together < min_together:
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


@pytest.mark.parametrize("seed", range(5))
def test_bitmap_screening_loses_no_pair(seed):
    import random
    rng = random.Random(seed)
    firing = {}
    base = [rng.uniform(0, DAY) for _event in range(12)]
    for n in range(25):
        intervals = []
        for start in base:
            if rng.random() < 0.6:
                s = start + rng.uniform(-300, 300)
                intervals.append((s, s + rng.uniform(60, 1800)))
        firing["n%02d" % n] = [tuple(i) for i in union_intervals(intervals)]
    firing = {k: v for k, v in firing.items() if v}
    for score, jac in ((0.7, 0.5), (0.5, 0.3), (0.9, 0.9)):
        got = {(p["a"], p["b"]) for p in cofiring_pairs(firing, DAY, score, 3, 300.0, jac)}
        assert got == _brute_force(firing, DAY, score, 3, 300.0, jac, 0.0)
