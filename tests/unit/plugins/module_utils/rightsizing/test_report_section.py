"""The rightsizing report section: usage against request and limit for the top offenders, waste by namespace."""
from __future__ import annotations

import xml.dom.minidom

from ansible_collections.sre.toolkit.plugins.module_utils._report import svg
from ansible_collections.sre.toolkit.plugins.module_utils._report.sections import BUILDERS
from ansible_collections.sre.toolkit.plugins.module_utils._rightsizing import engine

T0 = 1_795_996_800.0  # an hour boundary


def sized():
    demand = [(T0 + i * 300, "p", 0.8) for i in range(48)]
    memory = {"p": [(T0 + i * 300, 400 * engine.MIB) for i in range(48)]}
    spec = {"requests": {"cpu": 0.25, "memory": 512 * engine.MIB}, "limits": {"cpu": 0.5, "memory": 512 * engine.MIB}}
    series = engine.usage_series(demand, memory, [(T0, 0.25, 512 * engine.MIB), (T0 + 7200, 0.3, 512 * engine.MIB)], spec)
    return {"kind": "Deployment", "namespace": "shop", "name": "api", "container": "api", "series": series,
            "recommendation": {"requests": {"cpu": 0.92, "memory": 460 * engine.MIB}}}


def test_usage_series_are_hourly_peaks_with_the_request_in_force():
    series = sized()["series"]
    assert [v for _t, v in series["cpu"]] == [0.8] * 4
    assert [v for _t, v in series["cpu_request"]] == [0.25, 0.3, 0.3] and series["cpu_limit"] == 0.5


def test_section_draws_usage_request_limit_and_waste():
    result = {"summary": {"containers": 3, "recommended": 2, "idle": 0, "insufficient_history": 1, "monthly_change": -12.5,
                          "monthly_saving_by_namespace": {"shop": 20.0, "pay": 3.0}},
              "containers": [sized(), {"kind": "Deployment", "namespace": "pay", "name": "q", "container": "q"}]}
    rows, charts = BUILDERS["rightsizing"](result, None)
    assert ["monthly change if applied", "-12.50"] in rows
    kinds = [c["kind"] for c in charts]
    assert kinds == ["lines", "lines", "bar"]
    cpu = charts[0]
    assert [line["label"] for line in cpu["lines"]] == ["cpu used (hourly peak, throttled demand counted)", "request", "limit", "recommended request"]
    assert charts[2]["series"] == [["shop", 20.0], ["pay", 3.0]]
    for chart in charts:
        xml.dom.minidom.parseString(svg.render(chart))
    assert svg.render(cpu).count("<path") == 4 and 'data-kind="lines"' in svg.render(cpu)
