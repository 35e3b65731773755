"""The report model and its machine formats."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._report.formats import junit, svg_bars, textfile
from ansible_collections.sre.toolkit.plugins.module_utils._report.model import build_model

HEALTH = {
    "changed": False,
    "summary": {"score": 72, "grade": "C"},
    "checks": [{"id": "nodes", "status": "findings"}, {"id": "pods", "status": "findings"},
               {"id": "rbac", "status": "forbidden", "reason": "403"}],
    "findings": [
        {"id": "pod.crashloop", "check": "pods", "severity": "critical", "kind": "Pod", "namespace": "shop", "name": "api-1",
         "message": "CrashLoopBackOff", "fix": "read the logs"},
        {"id": "node.pressure", "check": "nodes", "severity": "warning", "kind": "Node", "name": "n2", "message": "MemoryPressure"},
        {"id": "pod.no_limits", "check": "pods", "severity": "info", "kind": "Pod", "namespace": "shop", "name": "api-1", "message": 'no "limits"'},
    ],
}


def model(fail_on="critical", results=None):
    return build_model([{"name": "prod", "results": results or {"k8s_health": HEALTH}},
                        {"name": "dev", "results": {"k8s_health": {"failed": True, "msg": "connection refused"}}}],
                       fail_on=fail_on, generated_at="2026-11-24T09:00:00Z")


def test_findings_sorted_by_severity_and_counted():
    m = model()
    prod = [c for c in m["clusters"] if c["name"] == "prod"][0]
    section = prod["sections"][0]
    assert [f["severity"] for f in section["findings"]] == ["critical", "warning", "info"]
    assert section["findings"][0]["subject"] == "Pod/shop/api-1"
    assert m["totals"] == {"critical": 1, "warning": 1, "info": 1}
    assert [c["name"] for c in m["clusters"]] == ["dev", "prod"]


def test_verdict_follows_fail_on_and_module_errors():
    assert model("critical")["verdict"]["failed"] is True
    only_ok = build_model([{"name": "a", "results": {"k8s_health": {"findings": [{"id": "x", "severity": "info"}]}}}], fail_on="warning")
    assert only_ok["verdict"]["failed"] is False
    assert "dev/k8s_health" in model("never")["verdict"]["errors"]
    with pytest.raises(ValueError):
        build_model([], fail_on="sometimes")


def test_matrix_cells():
    rows = {r["cluster"]: r["cells"] for r in model()["matrix"]["rows"]}
    assert rows == {"dev": {"k8s_health": "error"}, "prod": {"k8s_health": "critical"}}


def test_junit_is_well_formed_and_counts_failures():
    root = ET.fromstring(junit(model("warning")))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root}
    prod = suites["prod.k8s_health"]
    cases = {c.get("name"): c for c in prod.findall("testcase")}
    assert cases["pods"].find("failure").get("type") == "critical"
    assert cases["nodes"].find("failure") is not None
    assert cases["rbac"].find("skipped") is not None
    assert suites["dev.k8s_health"].find("testcase/error") is not None
    assert int(root.get("failures")) == 2 and int(root.get("errors")) == 1


def test_textfile_escapes_labels():
    text = textfile(model(), timestamp=1700000000)
    assert 'sre_toolkit_findings{cluster="prod",module="k8s_health",severity="critical"} 1' in text
    assert 'subject="Pod/shop/api-1"' in text
    assert "sre_toolkit_module_success{cluster=\"dev\",module=\"k8s_health\"} 0" in text
    assert text.endswith("sre_toolkit_last_run_timestamp_seconds 1700000000\n")


def test_svg_is_inline_and_escaped():
    svg = svg_bars({"title": "a<b", "unit": "", "series": [["x&y", 3.0], ["z", 0.0]]})
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and "a&lt;b" in svg and "<script" not in svg
    assert len(root.findall("{http://www.w3.org/2000/svg}rect")) == 2


ALERTS = {
    "summary": {"rules": 3, "episodes": 12},
    "rules": [{"rule": "Flappy", "noise_score": 9.5, "episodes": 10, "hours": [1] * 24}, {"rule": "Rare", "noise_score": 0.5, "episodes": 2}],
    "recommendations": [{"id": "advice.raise_for", "rule": "Flappy", "action": "raise `for` to 9m", "reason": "short episodes"}],
    "dead_rules": [{"id": "rules.dead", "rule": "Never", "reason": "no ALERTS sample"}],
    "always_firing": [{"id": "rules.always_firing", "rule": "Watchdog", "ok": False, "firing_share": 0.5}],
    "unhealthy_rules": [],
}
CERTS = {
    "summary": {"total": 3, "by_severity": {"critical": 1, "ok": 1, "error": 1}},
    "endpoints": [
        {"id": "a:443", "severity": "critical", "verify": "expired", "expiry": {"days_left": -3, "not_after": "2026-11-21T00:00:00Z"}},
        {"id": "b:443", "severity": "ok", "verify": "ok", "hostname_match": False, "hostname": "b", "expiry": {"days_left": 300}},
        {"id": "c:443", "severity": "error", "error": "connection refused", "error_kind": "refused"},
    ],
    "files": [], "secrets": [{"namespace": "n", "name": "s", "keys": {"tls.crt": {"severity": "warn", "expiry": {"days_left": 20}}}}],
}


def test_alert_and_cert_sections_become_findings_and_charts():
    m = build_model([{"name": "x", "results": {"alert_frequency": ALERTS, "cert_expiry": CERTS}}])
    sections = {s["module"]: s for s in m["clusters"][0]["sections"]}
    alerts = sections["alert_frequency"]
    assert [f["id"] for f in alerts["findings"]] == ["rules.always_firing", "advice.raise_for", "rules.dead"]
    assert [c["title"] for c in alerts["charts"]][:2] == ["Noisiest rules (noise score)", "Episodes per rule"]
    certs = sections["cert_expiry"]
    by_subject = {(f["subject"], f["id"]): f for f in certs["findings"]}
    assert by_subject[("endpoint/a:443", "cert.expiry")]["severity"] == "critical"
    assert "expired 3 days ago" in by_subject[("endpoint/a:443", "cert.expiry")]["message"]
    assert ("endpoint/a:443", "cert.verify") in by_subject
    assert by_subject[("endpoint/b:443", "cert.hostname")]["severity"] == "warning"
    assert by_subject[("endpoint/c:443", "cert.unreadable")]["severity"] == "warning"
    assert by_subject[("secret/n/s[tls.crt]", "cert.expiry")]["severity"] == "warning"
    assert certs["charts"][0]["series"][0] == ["endpoint/a:443", -3.0]
