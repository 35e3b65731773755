# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import datetime

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import ChaosInputError
from ansible_collections.sre.toolkit.plugins.module_utils._chaos.windows import (
    TimeWindow,
    format_timestamp,
    parse_duration,
    parse_timestamp,
    window_from_params,
)

UTC = datetime.timezone.utc


def at(text):
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@pytest.mark.parametrize("raw,seconds", [(0, 0), (90, 90), ("90", 90), ("90s", 90), ("10m", 600), ("1.5h", 5400),
                                         ("1d", 86400), ("250ms", 0.25), ("2w", 1209600)])
def test_parse_duration(raw, seconds):
    assert parse_duration(raw, "cooldown") == seconds


@pytest.mark.parametrize("raw", ["ten minutes", "-5", "5y", True, ""])
def test_parse_duration_rejects(raw):
    with pytest.raises(ChaosInputError) as err:
        parse_duration(raw, "min_age")
    assert err.value.param == "min_age"


def test_timestamps_round_trip_and_tolerate_odd_fractions():
    stamp = parse_timestamp("2026-11-24T08:00:00.1234567Z")
    assert stamp == datetime.datetime(2026, 11, 24, 8, 0, 0, 123456, tzinfo=UTC)
    assert format_timestamp(parse_timestamp("2026-11-24T09:00:00+01:00")) == "2026-11-24T08:00:00Z"
    assert parse_timestamp("yesterday") is None
    assert parse_timestamp(None) is None


def test_no_window_means_none():
    assert window_from_params(None) is None
    assert window_from_params({}) is None


def test_weekdays_and_hours_in_the_windows_timezone():
    window = TimeWindow("Europe/Berlin", ["mon", "tuesday"], ["09:00-17:00"])
    # Monday 2026-11-23 07:30 UTC is 08:30 in Berlin (CET, +1): before hours
    assert window.check(at("2026-11-23 07:30"))[0] is False
    assert window.check(at("2026-11-23 08:00"))[0] is True
    # 16:00 UTC = 17:00 Berlin: end is exclusive
    assert window.check(at("2026-11-23 16:00"))[0] is False
    # Wednesday
    opened, detail = window.check(at("2026-11-25 10:00"))
    assert opened is False and "weekday" in detail and "Wed" in detail


def test_dst_shift_is_followed():
    window = TimeWindow("Europe/Berlin", hours=["09:00-10:00"])
    # summer (CEST, +2): 07:30 UTC is 09:30 local
    assert window.check(at("2026-07-01 07:30"))[0] is True
    # winter (CET, +1): 07:30 UTC is 08:30 local
    assert window.check(at("2026-12-01 07:30"))[0] is False


def test_overnight_hours():
    window = TimeWindow("UTC", hours=["22:00-02:00"])
    assert window.check(at("2026-11-23 23:59"))[0] is True
    assert window.check(at("2026-11-23 01:00"))[0] is True
    assert window.check(at("2026-11-23 02:00"))[0] is False
    assert window.check(at("2026-11-23 12:00"))[0] is False


def test_excluded_dates_once_and_yearly():
    window = TimeWindow("UTC", excluded_dates=["2026-11-27", "12-24"])
    assert window.check(at("2026-11-27 10:00"))[0] is False
    assert window.check(at("2027-11-27 10:00"))[0] is True
    opened, detail = window.check(at("2031-12-24 10:00"))
    assert opened is False and "excluded date" in detail


@pytest.mark.parametrize("spec,param", [
    ({"timezone": "Mars/Olympus"}, "window.timezone"),
    ({"weekdays": ["funday"]}, "window.weekdays"),
    ({"hours": ["9-17"]}, "window.hours"),
    ({"hours": ["25:00-26:00"]}, "window.hours"),
    ({"hours": ["10:00-10:00"]}, "window.hours"),
    ({"excluded_dates": ["2026-13-01"]}, "window.excluded_dates"),
    ({"days": ["mon"]}, "window"),
])
def test_bad_windows_name_the_key(spec, param):
    with pytest.raises(ChaosInputError) as err:
        window_from_params(spec)
    assert err.value.param == param
