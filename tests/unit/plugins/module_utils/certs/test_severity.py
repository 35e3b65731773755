from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._certs.severity import (
    check_thresholds, fail_reasons, severity_for_days, worst)


@pytest.mark.parametrize("days,expected", [(400, "ok"), (30, "ok"), (29, "warn"), (14, "warn"), (13, "critical"),
                                           (0, "critical"), (-5, "critical"), (None, "ok")])
def test_thresholds(days, expected):
    assert severity_for_days(days, 30, 14) == expected


def test_threshold_validation_and_worst():
    assert check_thresholds(10, 20) is not None
    assert check_thresholds(30, 14) is None
    assert worst(["ok", "critical", "warn"]) == "critical" and worst([]) == "ok"


def test_fail_on_conditions():
    targets = [
        {"id": "a", "severity": "warn", "verify": "ok", "hostname_match": True},
        {"id": "b", "severity": "critical", "verify": "expired", "hostname_match": False},
        {"id": "c", "severity": "error", "error_kind": "refused"},
    ]
    assert fail_reasons(targets, []) == []
    assert fail_reasons(targets, ["critical"]) == ["b: critical"]
    assert fail_reasons(targets, ["warn"]) == ["a: warn", "b: critical"]
    assert fail_reasons(targets, ["error", "hostname_mismatch"]) == ["b: hostname mismatch", "c: error refused"]
    assert fail_reasons(targets, ["unverified"]) == ["b: unverified (expired)"]
