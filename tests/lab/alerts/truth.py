"""Ground truth of a generated history: episodes, durations, near misses, flapping (Nagios PSC),
co-firing pairs, dead and unhealthy rules. Computed from the model, never from Prometheus."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from statistics import median

from tests.lab.alerts import model


def series_key(labels: dict) -> str:
    return "{" + ", ".join(f'{k}="{labels[k]}"' for k in sorted(labels)) + "}"


def _t(tl, k):
    return tl.t_ms(k) / 1000.0


def episode_truth(tl, ep):
    n = tl.evaluations
    first = max(ep.start, 0)
    if ep.fire is None:
        return {"active_at": tl.t_ms(ep.start) // 1000, "first_sample": _t(tl, first), "last_sample": _t(tl, ep.last),
                "ended_at": _t(tl, ep.last + 1), "pending_samples": ep.last - first + 1}
    fired = max(ep.fire, 0)
    last = min(ep.last, n - 1)
    is_open = ep.last >= n - 1
    return {
        "active_at": tl.t_ms(ep.start) // 1000,
        "fired_at": _t(tl, fired),
        "resolved_at": None if is_open else _t(tl, ep.last + 1),
        "last_firing_sample": _t(tl, last),
        "firing_samples": last - fired + 1,
        "pending_samples": max(0, ep.fire - first),
        "open": is_open,
        "truncated": ep.start < 0,
        # the window shows it fire (not just firing at its first evaluation): a complete episode
        "fired_inside": ep.start >= 0 or ep.fire > 0,
    }


def firing_changes(episodes, n):
    """Evaluations k (1 <= k < n) where the firing state differs from the one at k-1."""
    out = []
    for ep in episodes:
        if ep.fire is None:
            continue
        for k in (ep.fire, ep.last + 1):
            if 1 <= k < n:
                out.append(k)
    return sorted(out)


def nagios_flapping(changes, n, high=model.FLAP_HIGH, low=model.FLAP_LOW):
    """Percent state change over the last 21 states at every evaluation, weights 0.75 -> 1.25
    from the oldest to the newest change (Nagios' curved PSC); flapping starts at >= high and
    stops at <= low. Returns (max PSC, number of flapping starts).

    With n changes at positions c in (e-20, e]: weight(c) = 0.75 + (c - e + 19) / 38, so
    PSC(e) = 5 * (n * (0.75 + (19 - e) / 38) + sum(c) / 38), kept with two pointers.
    """
    span = model.FLAP_STATES - 1
    ends = sorted({e for c in changes for e in range(max(c, span), min(c + span, n))})
    best, starts, flapping = 0.0, 0, False
    lo = hi = 0
    total = 0
    previous = None
    for e in ends:
        if previous is not None and e != previous + 1:
            flapping = False  # PSC was 0 in between
        previous = e
        while hi < len(changes) and changes[hi] <= e:
            total += changes[hi]
            hi += 1
        while lo < hi and changes[lo] <= e - span:
            total -= changes[lo]
            lo += 1
        count = hi - lo
        psc = 5.0 * (count * (0.75 + (19 - e) / 38.0) + total / 38.0)
        best = max(best, psc)
        if not flapping and psc >= high:
            flapping, starts = True, starts + 1
        elif flapping and psc <= low:
            flapping = False
    return round(best, 3), starts


def _firing_intervals(tl, episodes):
    end = tl.start_ms / 1000.0 + tl.evaluations * tl.interval_ms / 1000.0
    return [(_t(tl, max(ep.fire, 0)), end if ep.last >= tl.evaluations - 1 else _t(tl, ep.last + 1))
            for ep in episodes if ep.fire is not None]


def cofiring_pairs(tl, instances, designed):
    """The designed instance pairs with their overlap figures: score ((cov_a + cov_b) / 2), where
    cov_x = overlap / firing time of x; 'together' counts overlapping stretches. Other pairs that
    overlap are chance: the lab designs none, and the analysis must claim none."""
    events = []
    spans = {}
    keys = []
    for inst in instances:
        if inst.rule in model.ALWAYS_FIRING:
            continue
        ivs = _firing_intervals(tl, inst.episodes)
        spans[len(keys)] = sum(b - a for a, b in ivs)
        events.extend((a, b, len(keys)) for a, b in ivs)
        keys.append(series_key(inst.labels))
    events.sort()
    overlap = defaultdict(float)
    together = defaultdict(int)
    # score >= 0.7 needs both coverages >= 0.4, so firing times within a factor 2.5 of each other
    ratio = 1.0 / (2 * model.COFIRE_MIN_SCORE - 1)
    active = []  # (end, id, firing time) of intervals that may still overlap
    for a, b, me in events:
        active = [x for x in active if x[0] > a]
        span = spans[me]
        lo, hi = span / ratio, span * ratio
        for end, other, other_span in active:
            if lo <= other_span <= hi:
                pair = (me, other) if me < other else (other, me)
                overlap[pair] += (end if end < b else b) - a
                together[pair] += 1
        active.append((b, me, span))
    out = []
    for pair, ov in overlap.items():
        count = together[pair]
        ia, ib = sorted(pair, key=keys.__getitem__)
        ka, kb = keys[ia], keys[ib]
        cov_a, cov_b = ov / spans[ia], ov / spans[ib]
        score = (cov_a + cov_b) / 2
        if (ka, kb) in designed or (kb, ka) in designed:
            out.append({"a": ka, "b": kb, "score": round(score, 4), "cov_a": round(cov_a, 4), "cov_b": round(cov_b, 4),
                        "together": count, "overlap_seconds": round(ov, 3), "designed": True})
    return sorted(out, key=lambda p: (p["a"], p["b"]))


def build(tl, rules, instances, *, seed, scale, version, generated_at):
    n = tl.evaluations
    interval = tl.interval_ms / 1000.0
    window_s = n * interval
    start = tl.start_ms / 1000.0
    inst_out = []
    per_rule = defaultdict(list)
    for inst in sorted(instances, key=lambda i: series_key(i.labels)):
        eps = [episode_truth(tl, e) for e in inst.episodes if e.fire is not None]
        near = [episode_truth(tl, e) for e in inst.episodes if e.fire is None]
        max_psc, flap_starts = nagios_flapping(firing_changes(inst.episodes, n), n)
        firing_seconds = sum((e["resolved_at"] or start + window_s) - e["fired_at"] for e in eps)
        rec = {
            "key": series_key(inst.labels), "labels": inst.labels, "rule": inst.rule, "behaviour": inst.behaviour,
            "replicas": list(inst.replicas), "episodes": eps, "near_misses": near,
            "firing_samples": sum(e["firing_samples"] for e in eps),
            "pending_samples": sum(e["pending_samples"] for e in eps) + sum(e["pending_samples"] for e in near),
            "firing_seconds": round(firing_seconds, 3), "activations": len(eps) + len(near),
            "max_psc": max_psc, "flapping": flap_starts > 0, "flap_starts": flap_starts,
        }
        if eps or near:
            inst_out.append(rec)
        per_rule[inst.rule].append(rec)

    rules_out = {}
    for name, spec in sorted(rules.items()):
        recs = [r for r in per_rule.get(name, []) if r["episodes"] or r["near_misses"]]
        eps = [e for r in recs for e in r["episodes"]]
        firing = [r for r in recs if r["episodes"]]
        hours, weekdays = [0] * 24, [0] * 7
        for e in eps:
            if e["fired_inside"]:
                when = datetime.fromtimestamp(e["fired_at"], timezone.utc)
                hours[when.hour] += 1
                weekdays[when.weekday()] += 1
        fs = sum(r["firing_seconds"] for r in recs)
        rules_out[name] = {
            "group": spec["group"], "severity": spec["labels"].get("severity"), "team": spec["labels"].get("team"),
            "for_seconds": spec["for_seconds"], "keep_firing_for_seconds": spec["keep_firing_for_seconds"],
            "health": "err" if name in model.ERROR_RULES else "ok",
            "dead": not recs, "always_firing": name in model.ALWAYS_FIRING,
            "behaviour": model.BASE_INSTANCES.get(name, ("none",))[0],
            "instances": len(recs), "firing_instances": len(firing),
            "episodes": len(eps), "near_misses": sum(len(r["near_misses"]) for r in recs),
            "activations": sum(r["activations"] for r in recs),
            "open_episodes": sum(e["open"] for e in eps), "truncated_episodes": sum(e["truncated"] for e in eps),
            "firing_seconds": round(fs, 3), "share": round(fs / (window_s * len(firing)), 6) if firing else 0.0,
            "flapping_instances": [{"instance": r["key"], "max_psc": r["max_psc"], "flap_starts": r["flap_starts"]}
                                   for r in recs if r["flapping"]],
            "fired_hour_utc": hours, "fired_weekday_utc": weekdays,
            "resolve_seconds": sorted(round(e["resolved_at"] - e["fired_at"], 3) for e in eps if e["fired_inside"] and not e["open"]),
            "pending_delays": sorted(round(e["fired_at"] - e["active_at"], 3) for e in eps if e["fired_inside"]),
            "median_episode_seconds": median([(e["resolved_at"] or start + window_s) - e["fired_at"] for e in eps]) if eps else None,
            "value_labels": sorted(k for k, v in spec["labels"].items() if "$value" in str(v)),
        }

    by_rule_index = {}
    for inst in instances:
        by_rule_index.setdefault(inst.rule, []).append(inst)
    designed = set()
    for follower, lead in model.COFIRE_PAIRS.items():
        for f, l in zip(by_rule_index.get(follower, []), by_rule_index.get(lead, [])):
            if f.episodes and l.episodes:
                designed.add((series_key(l.labels), series_key(f.labels)))
    series = samples = stale = 0
    for inst in instances:
        s, m, st = inst_sample_counts(inst, n)
        copies = max(1, len(inst.replicas))
        series, samples, stale = series + s * copies, samples + m * copies, stale + st * copies
    return {
        "schema": 1, "generator_version": version, "seed": seed, "scale": scale,
        "interval_seconds": interval, "eval_phase_seconds": model.PHASE_MS / 1000.0, "evaluations": n,
        "window": {"start": start, "end": start + window_s, "seconds": window_s},
        "generated_at": generated_at,
        "ignored_labels": [model.HA_LABEL],
        "ha": {"label": model.HA_LABEL, "replicas": {r: ms / 1000.0 for r, ms in model.HA_OFFSETS_MS.items()},
               "groups": list(model.HA_GROUPS)},
        "flapping": {"method": "nagios_psc", "states": model.FLAP_STATES, "high": model.FLAP_HIGH, "low": model.FLAP_LOW,
                     "state": "firing (1) or not (0) at each evaluation of the window"},
        "cofiring": {"method": "overlap", "min_score": model.COFIRE_MIN_SCORE, "min_together": model.COFIRE_MIN_TOGETHER,
                     "interval": "[fired_at, resolved_at or window.end) per episode", "excludes": list(model.ALWAYS_FIRING)},
        "rules": rules_out,
        "instances": inst_out,
        "cofiring_pairs": cofiring_pairs(tl, instances, designed),
        "designed_pairs": sorted([list(p) for p in designed]),
        "designed_rule_pairs": sorted([lead, follower] for follower, lead in {**model.COFIRE_PAIRS, **model.SPREAD_PAIRS}.items()),
        "dead_rules": sorted(n_ for n_, r in rules_out.items() if r["dead"]),
        "unhealthy_rules": [{"rule": r, "health": "err", "error_contains": msg} for r, msg in sorted(model.ERROR_RULES.items())],
        "always_firing": list(model.ALWAYS_FIRING),
        "totals": {"instances": len(inst_out), "series": series, "samples": samples, "stale_markers": stale,
                   "episodes": sum(r["episodes"] for r in rules_out.values()),
                   "near_misses": sum(r["near_misses"] for r in rules_out.values())},
    }


def inst_sample_counts(inst, n):
    """(series, samples, stale markers) one replica of an instance writes in the window."""
    from tests.lab.alerts.history import instance_series  # local: history imports this module's helpers
    series = instance_series(inst, n)
    return (len(series), sum(b - a + 1 for segs in series.values() for a, b, _, _ in segs),
            sum(1 for segs in series.values() for _, _, _, st in segs if st is not None))

