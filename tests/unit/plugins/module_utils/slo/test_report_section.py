"""slo_report's report section: budget rows, a burn-down per SLO and the backtest timeline, drawn."""
from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._report import svg
from ansible_collections.sre.toolkit.plugins.module_utils._report.model import build_section
from ansible_collections.sre.toolkit.plugins.module_utils._slo import analyze

from .test_engine import _outage_data, _slo


def test_section_has_budget_rows_burn_down_and_backtest_timeline():
    rep = analyze.analyze_slo(_slo(), _outage_data())
    rep.pop("rules")
    result = {"slos": [rep, {"name": "broken", "error": "x"}], "window": {"start": 0, "end": 86400},
              "findings": [], "summary": {"counts": {"critical": 0, "warning": 0, "info": 0}, "failed": 1}}
    section, _findings = build_section("slo_report", result, now=86400)
    assert section["summary"][0] == ["SLOs", "1 reported, 1 failed"]
    assert section["summary"][1][0] == "api-availability" and "of the budget left" in section["summary"][1][1]
    kinds = [c["kind"] for c in section["charts"]]
    assert kinds == ["bar", "bar", "timeline"]
    timeline = section["charts"][-1]
    labels = [row["label"] for row in timeline["rows"]]
    assert labels[0] == "api-availability burns" and "ApiAvailabilityBudgetBurn page" in labels
    for chart in section["charts"]:
        assert svg.render(chart).startswith("<svg")
