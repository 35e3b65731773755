"""Nagios percent state change with hysteresis."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.flapping import flapping, psc_at


def episodes_from_steps(runs, interval=60.0, origin=0.0):
    """Firing runs given as (first_step, steps_firing)."""
    out = []
    for first, length in runs:
        fired = origin + first * interval
        out.append({"fired": True, "fired_at": fired, "first_sample": fired, "truncated": False,
                    "resolved_at": fired + length * interval})
    return out


def test_every_state_changing_gives_100():
    steps = list(range(0, 21))  # a change at every one of the 20 positions of the last 21 states (+1 older)
    assert psc_at(steps, 20, 21) == pytest.approx(100.0)


def test_single_newest_change_weighs_1_25():
    assert psc_at([50], 50, 21) == pytest.approx(100.0 * 1.25 / 20)
    assert psc_at([50], 69, 21) == pytest.approx(100.0 * 0.75 / 20)
    assert psc_at([50], 70, 21) == 0.0


def test_steady_alert_does_not_flap():
    result = flapping(episodes_from_steps([(100, 500)]), 60.0, 0.0, 60.0 * 2000)
    assert not result["flapping"] and result["max_psc"] == pytest.approx(6.25)


def test_fast_flapper_starts_and_stops_with_hysteresis():
    # On 2, off 2, ten times: 20 transitions within 40 steps.
    runs = [(100 + 4 * k, 2) for k in range(10)]
    result = flapping(episodes_from_steps(runs), 60.0, 0.0, 60.0 * 2000)
    assert result["flapping"] and result["periods"] == 1
    assert result["max_psc"] >= 30.0
    assert result["flapping_seconds"] > 0 and not result["flapping_at_end"]


def test_thresholds_are_settable():
    runs = [(100 + 6 * k, 3) for k in range(4)]  # 8 changes over ~24 steps
    loose = flapping(episodes_from_steps(runs), 60.0, 0.0, 60.0 * 2000, high=20.0, low=5.0)
    strict = flapping(episodes_from_steps(runs), 60.0, 0.0, 60.0 * 2000, high=60.0, low=50.0)
    assert loose["flapping"] and not strict["flapping"]
    assert loose["max_psc"] == strict["max_psc"]


def test_flapping_at_window_end():
    runs = [(1980 + 4 * k, 2) for k in range(5)]
    result = flapping(episodes_from_steps(runs), 60.0, 0.0, 60.0 * 2000)
    assert result["flapping"] and result["flapping_at_end"]
