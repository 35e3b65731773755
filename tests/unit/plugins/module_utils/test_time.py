"""The one helper for times and durations (_time) that every engine wraps."""
from __future__ import annotations

import datetime

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils import _time


@pytest.mark.parametrize("text,seconds", [
    ("90", 90.0), (90, 90.0), ("90s", 90.0), ("1.5h", 5400.0), ("1h30m", 5400.0), ("1h 30m", 5400.0), (" 10m ", 600.0),
    ("500ms", 0.5), ("2w", 1209600.0), ("1y", 31536000.0), ("-5", -5.0)])
def test_durations_read(text, seconds):
    assert _time.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5parsecs", "1h30", "nan", "inf", float("nan"), True, None, "h1"])
def test_unreadable_durations_are_none(text):
    assert _time.parse_duration(text) is None


def test_a_caller_may_narrow_the_units():
    assert _time.parse_duration("1d", units=("s", "m", "h", "d")) == 86400.0
    assert _time.parse_duration("1y", units=("s", "m", "h", "d")) is None


@pytest.mark.parametrize("seconds,kwargs,text", [
    (90061, {}, "1d1h1m1s"), (86460, {"parts": 2, "adjacent": True}, "1d"), (90061, {"parts": 2, "adjacent": True}, "1d1h"),
    (0, {}, "0s"), (3 * 86400 + 4 * 3600, {"parts": 2, "sep": " "}, "3d 4h")])
def test_duration_text(seconds, kwargs, text):
    assert _time.duration_text(seconds, **kwargs) == text


def test_rfc3339_with_nanoseconds_offsets_and_garbage():
    assert _time.parse_rfc3339("2026-12-06T05:28:57.123456789Z") == pytest.approx(1796534937.123456)
    assert _time.parse_rfc3339("2026-12-06T07:28:57+02:00") == _time.parse_rfc3339("2026-12-06T05:28:57Z")
    assert _time.parse_rfc3339("yesterday") is None
    assert _time.to_datetime(0) == datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) and _time.to_datetime(None) is None
