"""The slo_report service with a recorded Prometheus: one bad SLO never hides the good ones."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._slo import service
from ansible_collections.sre.toolkit.plugins.modules import slo_report as mod

END = 1796601600


class Recorded:
    """Counters 1000 requests a minute, 1 error a minute, samples on the minute; some selectors fail."""

    def __init__(self, fail=None, buckets=("0.1", "0.25", "+Inf")):
        self.fail, self.buckets = fail or {}, buckets

    def _maybe_fail(self, expr):
        for needle, exc in self.fail.items():
            if needle in expr:
                raise exc

    def iter_raw(self, selector, start, end, chunk_seconds=None):
        self._maybe_fail(selector)
        if "absent" in selector:
            return
        series = self._series(selector, start, end)[0]
        half = len(series["values"]) // 2          # two chunks: the last value carries over
        yield [{"metric": {}, "values": series["values"][:half]}]
        yield [{"metric": {}, "values": series["values"][half:]}]

    def _series(self, selector, start, end):
        per = 1.0 if ("5.." in selector or 'le="0.25"' in selector) else 1000.0
        if 'le="0.25"' in selector:
            per = 999.0
        first = int(start) // 60 * 60 + 60
        return [{"metric": {}, "values": [[t, str(per * (t - first) / 60)] for t in range(first, int(end) + 1, 60)]}]

    def query(self, expr, at=None):
        self._maybe_fail(expr)
        return [{"metric": {"le": le}, "value": [at, "1"]} for le in self.buckets]

    def all_stats(self):
        return {"queries": 0}


def params(**over):
    base = {name: spec.get("default") for name, spec in mod.argument_spec().items()}
    base.update(prometheus_url="http://127.0.0.1:9", end=str(END), period="7d", slos=[
        {"name": "good", "service": "api", "objective": 99.0, "ratio": {"errors": 'r_total{code=~"5.."}', "total": "r_total"}},
        {"name": "slow", "service": "api", "objective": 99.0, "latency": {"histogram": "h", "threshold": 0.25}},
        {"name": "bad-bucket", "service": "api", "objective": 99.0, "latency": {"histogram": "h", "threshold": 0.3}},
        {"name": "empty", "service": "api", "objective": 99.0, "ratio": {"errors": 'absent_total{code="5"}', "total": "absent_total"}},
        {"name": "rejected", "service": "api", "objective": 99.0, "ratio": {"errors": 'broken{code="5"}', "total": "r_total"}},
        {"name": "no-selector", "service": "api", "objective": 99.0, "ratio": {"errors": "sum(rate(x[5m]))", "total": "r_total"}},
    ])
    for slo in base["slos"]:
        for key in ("ratio", "latency", "service", "description", "alert_name"):
            slo.setdefault(key, None)
        slo.setdefault("alert_pairs", [])
    base.update(over)
    return base


def test_each_failed_slo_is_one_finding_and_the_others_are_reported():
    prom = Recorded(fail={"broken": ToolkitError("parse error at char 7", kind="invalid", status=400)})
    result, warnings = service.run(params(), END, prometheus=lambda p: prom)
    by_name = {r["name"]: r for r in result["slos"]}
    assert by_name["good"]["budget"]["achieved"] == 0.999 and by_name["good"]["budget"]["budget_consumed"] == 0.1
    assert by_name["slow"]["budget"]["achieved"] == 0.999
    assert "0.3 s is not a bucket of h; buckets: 0.1, 0.25, inf" in by_name["bad-bucket"]["error"]
    assert "matched no samples" in by_name["empty"]["error"] and by_name["empty"]["error_kind"] == "not_found"
    assert by_name["rejected"]["error"].startswith("slos[rejected].ratio.errors: Prometheus rejected broken")
    failed = [f for f in result["findings"] if f["id"] == "slo.sli_failed"]
    assert "is not a metric selector" in by_name["no-selector"]["error"] and by_name["no-selector"]["error_kind"] == "invalid"
    assert sorted(f["subject"]["name"] for f in failed) == ["bad-bucket", "empty", "no-selector", "rejected"]
    assert all(f["fix"] for f in failed) and result["summary"]["failed"] == 4 and not warnings
    assert [r["name"] for r in result["slos"]] == sorted(by_name)
    assert len(result["rules"]["groups"]) == 6 and [s["service"] for s in result["sloth"]] == ["api"]


def test_prometheus_unreachable_fails_the_run_naming_the_slo():
    prom = Recorded(fail={"r_total": ToolkitError("connection refused", kind="connection")})
    with pytest.raises(ToolkitError, match=r"slos\[good\]: reading ratio.errors from Prometheus failed: connection refused; check prometheus_url"):
        service.run(params(), END, prometheus=lambda p: prom)


def test_missing_url_is_named_before_any_request():
    with pytest.raises(ToolkitError, match="prometheus_url"):
        service.run(params(prometheus_url=None), END, prometheus=lambda p: pytest.fail("no client expected"))
