"""The module's own glue: option handling and validation before any request is sent."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._alerts import service
from ansible_collections.sre.toolkit.plugins.module_utils._alerts.analyze import parse_matchers
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.modules import alert_frequency as mod


def params(**over):
    base = {name: spec.get("default") for name, spec in mod.argument_spec().items()}
    base.update(prometheus_url="http://127.0.0.1:9", flapping={}, cofiring={})
    base.update(over)
    return base


def test_selector_is_rebuilt_from_parsed_matchers():
    matchers = parse_matchers('severity="critical", alertname=~"Kube.*"')
    assert service.series_selector("ALERTS", matchers) == 'ALERTS{severity="critical", alertname=~"Kube.*"}'
    assert service.series_selector("ALERTS_FOR_STATE", []) == "ALERTS_FOR_STATE{}"


def test_engine_options_parse_durations():
    opts = service.engine_options(params(evaluation_interval="30s", short_episode="10m",
                                         cofiring={"bucket": "1m", "cascade_within": "2m"}), [])
    assert opts["evaluation_interval"] == 30 and opts["short_episode"] == 600
    assert opts["cofiring_bucket"] == 60 and opts["cascade_within"] == 120


@pytest.mark.parametrize("over,needle", [
    ({"prometheus_url": None}, "prometheus_url"),
    ({"window": "91d"}, "90 days"),
    ({"window": "a week"}, "window"),
    ({"start": "2026-11-02T00:00:00Z", "end": "2026-11-01T00:00:00Z"}, "start"),
    ({"end": "yesterday"}, "end"),
    ({"selector": "severity=critical"}, "selector"),
    ({"query_chunk": "10s"}, "query_chunk"),
    ({"evaluation_interval": "soon"}, "evaluation_interval"),
])
def test_bad_options_fail_before_any_request(over, needle):
    # Port 9 on 127.0.0.1 is closed: reaching the network would give a connection error instead.
    with pytest.raises(ToolkitError) as caught:
        service.run(params(**over), now=1_795_592_000.0)
    assert needle in caught.value.msg and caught.value.kind == "invalid"


class FakeProm:
    """Answers instant queries with one value per window so the SLO wiring can be checked."""

    def __init__(self):
        self.exprs = []

    def query(self, expr, at=None):
        self.exprs.append((expr, at))
        return [{"metric": {}, "value": [at, "0.002"]}]


def test_slo_inputs_substitute_every_window():
    prom = FakeProm()
    inputs = service.slo_inputs(prom, [{"name": "api", "objective": 99.9, "error_ratio_query": "x[$window]"}], 0.0, 86400.0)
    assert inputs[0]["error_ratios"][3600] == 0.002
    assert {e for e, _at in prom.exprs} >= {"x[300s]", "x[3600s]", "x[86400s]", "x[259200s]"}
    assert all(at == 86400.0 for _e, at in prom.exprs)


def test_slo_query_without_placeholder_is_rejected():
    with pytest.raises(ToolkitError, match=r"\$window"):
        service.slo_inputs(FakeProm(), [{"name": "api", "objective": 0.99, "error_ratio_query": "x[5m]"}], 0.0, 86400.0)
