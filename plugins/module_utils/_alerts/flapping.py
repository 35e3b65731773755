# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flapping by the Nagios percent state change (PSC) with hysteresis (rule ``flapping.psc``).

States are firing / not firing at each evaluation. Over the last ``states`` (21) states, a
change between state j and j+1 weighs 0.75 + j * 0.5 / (states - 2), so recent changes count
more; PSC = 100 * sum(weights) / (states - 1). Flapping starts when PSC >= high and stops when
PSC <= low. PSC is zero away from transitions, so it is only evaluated around clusters of
transitions dense enough to reach ``high``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

NAGIOS_HIGH = 30.0
NAGIOS_LOW = 20.0
NAGIOS_STATES = 21


def transitions(episodes, interval, origin):
    """Evaluation-step indexes where the firing state changes, from finalized episodes."""
    steps = []
    for episode in episodes:
        if not episode["fired"]:
            continue
        if not (episode["truncated"] and episode["fired_at"] == episode["first_sample"]):
            steps.append(int(round((episode["fired_at"] - origin) / interval)))
        if episode["resolved_at"] is not None:
            steps.append(int(round((episode["resolved_at"] - origin) / interval)))
    steps.sort()
    return steps


def psc_at(steps, k, states):
    """PSC of the window of ``states`` states ending at step k."""
    span = states - 1
    increment = 0.5 / (states - 2)
    lo = bisect_left(steps, k - span + 1)
    hi = bisect_right(steps, k)
    total = 0.0
    for t in steps[lo:hi]:
        total += 0.75 + (t - k + span - 1) * increment
    return 100.0 * total / span


def _clusters(steps, span, min_changes):
    """Runs of transitions whose neighbours are within one PSC window, if big enough."""
    clusters, current = [], []
    for t in steps:
        if current and t - current[-1] >= span:
            if len(current) >= min_changes:
                clusters.append(current)
            current = []
        current.append(t)
    if len(current) >= min_changes:
        clusters.append(current)
    return clusters


def flapping(episodes, interval, origin, end, high=NAGIOS_HIGH, low=NAGIOS_LOW, states=NAGIOS_STATES):
    """{max_psc, flapping, periods, flapping_seconds, flapping_at_end} of one instance.

    ``origin`` is the window start (step 0), ``end`` the window end (the last step).
    """
    steps = transitions(episodes, interval, origin)
    span = states - 1
    # The heaviest weight is 1.25: fewer changes than this cannot reach `high`.
    min_changes = max(1, int(high * span / (100.0 * 1.25)))
    result = {"max_psc": 0.0, "flapping": False, "periods": 0, "flapping_seconds": 0.0, "flapping_at_end": False}
    if not steps:
        return result
    last_step = int((end - origin) // interval)
    max_psc = 0.0
    for cluster in _clusters(steps, span, min_changes):
        in_flap = False
        flap_start = None
        stop = min(cluster[-1] + span + 1, last_step + 1)
        # Like Nagios, judge only once a full history of `states` states lies inside the window.
        for k in range(max(cluster[0], span), stop):
            value = psc_at(steps, k, states)
            max_psc = max(max_psc, value)
            if not in_flap and value >= high:
                in_flap, flap_start = True, k
                result["periods"] += 1
            elif in_flap and value <= low:
                in_flap = False
                result["flapping_seconds"] += (k - flap_start) * interval
        if in_flap:
            result["flapping_seconds"] += (stop - flap_start) * interval
            result["flapping_at_end"] = stop == last_step + 1
    if not result["periods"]:
        # Small clusters were skipped; their PSC is still worth reporting.
        max_psc = max([max_psc] + [psc_at(steps, max(k, span), states) for k in steps if k <= last_step])
    result["max_psc"] = round(max_psc, 2)
    result["flapping"] = result["periods"] > 0
    result["flapping_seconds"] = round(result["flapping_seconds"], 3)
    return result


def gaps_between_firings(episodes):
    """Seconds from each resolve to the next firing of the same instance."""
    gaps = []
    previous = None
    for episode in episodes:
        if not episode["fired"]:
            continue
        if previous is not None and previous["resolved_at"] is not None:
            gaps.append(max(0.0, episode["fired_at"] - previous["resolved_at"]))
        previous = episode
    return gaps
