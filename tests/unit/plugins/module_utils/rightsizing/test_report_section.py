"""The rightsizing report section: usage against request and limit for the top offenders, waste by namespace."""
from __future__ import annotations

import xml.dom.minidom

from ansible_collections.sre.toolkit.plugins.module_utils._report import sections, svg
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
    assert [line["note"] for line in cpu["lines"]] == ["peak 0.8 cores", "now 0.3 cores, was 0.25 cores", "0.5 cores", "0.92 cores"]
    assert charts[2]["series"] == [["shop", 20.0], ["pay", 3.0]]
    for chart in charts:
        xml.dom.minidom.parseString(svg.render(chart))
    assert svg.render(cpu).count("<path") == 4 and 'data-kind="lines"' in svg.render(cpu)


def offender(name, rank, ids=(), change=None, **extra):
    c = dict(sized(), name=name, container=name, finding_ids=list(ids), cost={"monthly_change": change} if change is not None else None, **extra)
    c["series"] = dict(c["series"], rank=rank)
    return c


def test_pictures_come_in_rank_order_and_say_why():
    containers = [offender("a-saver", 3, ["rightsizing.over_provisioned"], -12.3),  # alphabetical order, as the module returns them
                  offender("b-oom", 1, ["rightsizing.oom_killed"], 0.4, ooms=[{}] * 5),
                  offender("c-throttled", 2, ["rightsizing.cpu_throttled", "rightsizing.over_provisioned"], 30.0,
                           throttling={"share_of_time_over_10pct": 0.996}),
                  {"kind": "Deployment", "namespace": "shop", "name": "d-plain", "container": "d"}]
    _rows, charts = BUILDERS["rightsizing"]({"containers": containers}, None)
    assert [c["rank"] for c in charts] == [1, 1, 2, 2, 3, 3]
    assert [c["title"] for c in charts[::2]] == [
        "#1 Deployment shop/b-oom b-oom: cpu \u2014 OOM-killed 5 times, costs 0.40/month more",
        "#2 Deployment shop/c-throttled c-throttled: cpu \u2014 CPU throttled 100% of the time, costs 30.00/month more",
        "#3 Deployment shop/a-saver a-saver: cpu \u2014 saves 12.30/month"]
    assert charts[1]["title"].startswith("#1 Deployment shop/b-oom b-oom: memory \u2014 OOM-killed")


def test_why_pictured_in_words():
    why = sections.pictured_because
    assert why({"finding_ids": ["rightsizing.oom_killed"], "ooms": [{}]}) == "OOM-killed 1 time"
    assert why({"finding_ids": ["rightsizing.idle"], "idle": {"idle_for_seconds": 5 * 86400}, "cost": {"monthly_change": -0.001}}) == "idle for 5d"
    assert why({"finding_ids": ["rightsizing.under_provisioned"], "cost": {"monthly_change": 2.5}}) == "uses more than it requests, costs 2.50/month more"
    assert why({"finding_ids": [], "cost": None}) == "among the largest changes"


def test_lines_title_takes_two_lines_and_every_legend_says_its_value():
    chart = BUILDERS["rightsizing"]({"containers": [offender("api", 1, ["rightsizing.over_provisioned"], -12.3)]}, None)[1][0]
    drawn = svg.render(chart)
    assert '>#1 Deployment shop/api api: cpu</text>' in drawn and '>saves 12.30/month</text>' in drawn
    assert drawn.count('class="legend"') == 4 and ">limit: 0.5 cores</text>" in drawn
    assert svg._title_lines("short", 560) == ["short"]
    head, tail = svg._title_lines("word " * 40, 560)
    assert len(head) <= 68 and tail.endswith("\u2026")
