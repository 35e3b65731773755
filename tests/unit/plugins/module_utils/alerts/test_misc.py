"""Durations, silences, SLO burn view."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.common import AlertInputError, format_duration, parse_duration, percentile
from ansible_collections.sre.toolkit.plugins.module_utils._alerts.silences import load_silences, parse_time, silenced_seconds
from ansible_collections.sre.toolkit.plugins.module_utils._alerts.slo import burn_view, windows_needed


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("1h30m", 5400), ("7d", 604800), (300, 300), ("2.5", 2.5), ("500ms", 0.5)])
def test_parse_duration(text, seconds):
    assert parse_duration(text, "window") == seconds


@pytest.mark.parametrize("bad", ["7 days", "d7", "", "-5m", True])
def test_parse_duration_rejects_with_option_name(bad):
    with pytest.raises(AlertInputError, match="window"):
        parse_duration(bad, "window")


def test_format_and_percentile():
    assert format_duration(5400) == "1h30m" and format_duration(0) == "0s"
    assert percentile([1, 2, 3, 4], 0.5) == 2.5 and percentile([], 0.5) is None


def test_parse_time_handles_nanoseconds():
    assert parse_time("2023-11-14T22:13:20.123456789Z") == pytest.approx(1700000000.123456, abs=1e-5)
    assert parse_time("garbage") is None


def test_silence_matching_and_coverage():
    silences = load_silences([
        {"id": "1", "startsAt": "2023-11-14T22:13:20Z", "endsAt": "2023-11-14T22:23:20Z",
         "matchers": [{"name": "alertname", "value": "Disk.*", "isRegex": True, "isEqual": True},
                      {"name": "env", "value": "dev", "isRegex": False, "isEqual": False}]},
    ])
    start = 1700000000.0
    firing = [(start - 300, start + 300)]
    assert silenced_seconds({"alertname": "DiskFull", "env": "prod"}, firing, silences) == 300
    assert silenced_seconds({"alertname": "DiskFull", "env": "dev"}, firing, silences) == 0
    assert silenced_seconds({"alertname": "NodeDown"}, firing, silences) == 0


def test_burn_view_flags_the_fast_burn_page():
    ratios = {w: 0.0001 for w in windows_needed(7 * 86400)}
    ratios[3600] = ratios[300] = 0.02  # 20x burn on a 99.9% objective
    view = burn_view("api", 99.9, ratios, 7 * 86400)
    firing = [a for a in view["alerts"] if a["firing"]]
    assert [(a["long_window"], a["short_window"]) for a in firing] == [(3600, 300)]
    assert view["budget_consumed"] == pytest.approx(0.1 * 7 / 30, abs=1e-4)


def test_burn_view_rejects_bad_objective():
    with pytest.raises(AlertInputError, match="objective"):
        burn_view("api", 120, {}, 86400)
