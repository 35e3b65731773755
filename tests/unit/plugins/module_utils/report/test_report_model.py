"""The report model (pure): findings from the contract, counts, the one gate, fix-first, grades, matrix,
charts, the chaos experiment; and its formats (JUnit, textfile, SVG, HTML, Markdown)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._findings import finding, subject
from ansible_collections.sre.toolkit.plugins.module_utils._report import html, markdown
from ansible_collections.sre.toolkit.plugins.module_utils._report.formats import junit, textfile
from ansible_collections.sre.toolkit.plugins.module_utils._report.model import build_model, reach
from ansible_collections.sre.toolkit.plugins.module_utils._report.sections import human_number, human_value
from ansible_collections.sre.toolkit.plugins.module_utils._report.svg import render
from ansible_collections.sre.toolkit.plugins.module_utils._time import human_duration, human_time, to_epoch

NOW = "2026-12-06T12:00:00Z"
DAY = 86400.0

# k8s_health as earlier releases returned it: top-level kind/namespace/name, no subject.
HEALTH = {
    "summary": {"score": 92.7, "grade": "A", "grade_capped_by": None, "counts": {"critical": 1, "warning": 1, "info": 3},
                "groups": {"nodes": 90.0, "pods": 95.5}},
    "checks": [{"id": "nodes", "status": "findings"}, {"id": "pods", "status": "findings"},
               {"id": "rbac", "status": "forbidden", "reason": "403"}],
    "inventory": {"nodes": {"total": 3, "not_ready": 1, "lost": 0}, "pods": {"total": 9, "phases": {"Running": 9}}},
    "findings": [
        {"id": "pod.crashloop", "check": "pods", "severity": "critical", "kind": "Pod", "namespace": "shop", "name": "api-1",
         "message": "CrashLoopBackOff", "fix": "read the logs", "evidence": {"restarts": 12, "since": "2026-12-06T10:00:00Z"}},
        {"id": "node.pressure", "check": "nodes", "severity": "warning", "kind": "Node", "name": "n2", "message": "MemoryPressure",
         "evidence": {"pods": 14}},
        {"id": "pod.no_limits", "check": "pods", "severity": "info", "kind": "Pod", "namespace": "shop", "name": "api-1", "message": "no limits"},
    ],
}
CERT_FILE = finding("cert.expired", "critical", subject("File", "/etc/ssl/a.pem", locator="file /etc/ssl/a.pem #1"),
                    "expired 3 day(s) ago", "renew it", {"days_left": -3, "not_after": "2026-12-03T12:00:00Z"}, "cert_expiry.file")
CERTS = {
    "summary": {"total": 3, "by_severity": {"critical": 1, "ok": 2}, "counts": {"critical": 2, "warning": 0, "info": 0},
                "earliest": {"not_after": "2026-12-03T12:00:00Z", "subject": "CN=a"}},
    "findings": [CERT_FILE, finding("cert.expired", "critical", subject("Endpoint", "a:443", locator="endpoint a:443 (sni a)"),
                                    "expired 3 day(s) ago", "renew it", {"days_left": -3}, "cert_expiry.endpoint")],
    "endpoints": [{"host": "a", "port": 443, "sni": "a", "severity": "critical",
                   "expiry": {"not_after": "2026-12-03T12:00:00Z", "days_left": -3}},
                  {"host": "b", "port": 443, "severity": "ok", "expiry": {"not_after_epoch": to_epoch(NOW) + 200 * DAY, "days_left": 200}}],
    "files": [{"id": "/etc/ssl/a.pem", "severity": "critical", "expiry": {"not_after": "2026-12-03T12:00:00Z", "days_left": -3}}],
    "secrets": [],
}
START = to_epoch(NOW) - 7 * DAY
ALERTS = {
    "window": {"start": START, "end": to_epoch(NOW), "seconds": 7 * DAY, "timezone": "UTC"},
    "summary": {"rules": 2, "episodes": 3, "firing_seconds": 1388647.689, "counts": {"critical": 0, "warning": 1, "info": 0}},
    "rules": [{"rule": "Flappy", "noise_score": 9.456, "hours": [1] * 24}, {"rule": "Rare", "noise_score": 0.5}],
    "instances": [
        {"rule": "Flappy", "history": [{"fired_at": START + 3600, "resolved_at": START + 7200, "fired": True},
                                       {"fired_at": START + 5 * DAY, "resolved_at": None, "open": True, "fired": True}]},
        {"rule": "Rare", "history": [{"fired_at": START + DAY, "resolved_at": START + DAY + 600, "fired": True}]},
    ],
    "findings": [finding("alerts.raise_for", "warning", subject("AlertRule", "Flappy", locator="rule/Flappy"),
                         "14 of 20 episodes under 5m", "raise `for` to 5m", {"value": 300.0}, "advice.raise_for")],
}
POD_KILLER = {
    "dry_run": False, "run_id": "pk-1", "seed": 42, "gate": {"checked": True, "passed": True, "checks": [
        {"check": "owners_ready", "passed": True, "detail": "2 owner(s) at full strength"}]},
    "record": {"started_at": "2026-12-06T11:00:00Z", "finished_at": "2026-12-06T11:05:10Z"},
    "victims": [{"namespace": "shop", "name": "web-1", "node": "n1", "outcome": "evicted", "acted_at": "2026-12-06T11:00:00Z",
                 "owner": {"kind": "Deployment", "namespace": "shop", "name": "web"}},
                {"namespace": "shop", "name": "db-0", "node": "n2", "outcome": "evicted", "acted_at": "2026-12-06T11:00:05Z",
                 "owner": {"kind": "StatefulSet", "namespace": "shop", "name": "db"}}],
    "recovery": [{"kind": "Deployment", "namespace": "shop", "name": "web", "recovered": True, "seconds": 12.5, "ready": 3, "baseline_ready": 3},
                 {"kind": "StatefulSet", "namespace": "shop", "name": "db", "recovered": False, "seconds": None, "ready": 1, "baseline_ready": 2}],
    "summary": {"pods": 10, "eligible": 4, "victims": 2, "skipped": 8, "skipped_by_reason": {"not_sampled": 2, "pod_opted_out": 6}},
    "findings": [finding("chaos.not_recovered", "critical", subject("StatefulSet", "db", "shop"), "db not back in 300s", "look at db",
                         {"ready": 1, "baseline_ready": 2}, "pod_killer.recovery")],
}
MEMORY_HOG = {"dry_run": False, "target": "host", "outcome": "completed", "plan": {"total_human": "40.0 MiB", "duration_seconds": 3},
              "started_at": "2026-12-06T11:01:00Z", "ended_at": "2026-12-06T11:01:03Z", "peak": {"hog_rss_bytes": 50 * 1024 * 1024}}


def lab(fail_on="critical", **more):
    clusters = [{"name": "prod", "results": {"k8s_health": HEALTH, "cert_expiry": CERTS, "alert_frequency": ALERTS}}]
    clusters += [{"name": name, "results": results} for name, results in more.items()]
    return build_model(clusters, fail_on=fail_on, title="t", generated_at=NOW)


def sections(model, cluster="prod"):
    return {s["module"]: s for c in model["clusters"] if c["name"] == cluster for s in c["sections"]}


def test_time_helpers_speak_human():
    assert human_duration(3 * DAY + 4 * 3600 + 59) == "3d 4h"
    assert human_duration(302) == "5m 2s" and human_duration(0.25) == "0.2s" and human_duration(None) == "-"
    assert human_time("2026-12-09T14:00:00Z", to_epoch(NOW)) == "2026-12-09 14:00 UTC, in 3d 2h"
    assert human_time(to_epoch(NOW) - 90, to_epoch(NOW)).endswith("1m 30s ago")
    assert human_number(1388647.689) == "1,388,648" and human_number(0.01884) == "0.019" and human_number(91.3) == "91.3"
    assert human_value("firing_seconds", 1388647.689) == "16d 1h"
    assert human_value("hog_rss_bytes", 50 * 1024 * 1024) == "50.0 MiB"


def test_findings_come_from_the_contract_with_readable_subjects():
    health = sections(lab())["k8s_health"]
    first = health["findings"][0]
    assert first["subject"] == "Pod shop/api-1"
    assert first["object"] == {"kind": "Pod", "namespace": "shop", "name": "api-1", "locator": "Pod shop/api-1"}
    assert [f["severity"] for f in health["findings"]] == ["critical", "warning", "info"]
    assert health["findings"][1]["namespace"] == "(no namespace)"
    assert dict(health["findings"][0]["evidence_rows"])["since"] == "2026-12-06 10:00 UTC, 2h ago"
    certs = sections(lab())["cert_expiry"]
    assert {f["subject"] for f in certs["findings"]} == {"file /etc/ssl/a.pem #1", "endpoint a:443 (sni a)"}
    broken = build_model([{"name": "x", "results": {"cert_expiry": {"findings": [
        dict(CERT_FILE, subject={"kind": "File", "namespace": "", "name": "", "locator": "file/None"})]}}}])
    assert "None" not in broken["clusters"][0]["sections"][0]["findings"][0]["subject"]


def test_counts_keep_what_the_module_counted_beyond_its_returned_findings():
    health = sections(lab())["k8s_health"]
    assert health["counts"] == {"critical": 1, "warning": 1, "info": 3} and health["not_returned"] == 2
    model = lab()
    assert model["totals"] == {"critical": 3, "warning": 2, "info": 3}


def test_verdict_is_the_one_gate_and_none_means_never():
    assert lab("critical")["verdict"]["failed"] is True
    assert lab("critical")["verdict"]["reasons"] == ["3 critical finding(s) at or above fail_on=critical"]
    assert lab("none")["verdict"] == {"fail_on": "never", "failed": False, "errors": [], "reasons": [],
                                      "reason": "nothing at or above fail_on=never"}
    errored = lab("never", dev={"k8s_health": {"failed": True, "msg": "connection refused"}})
    assert errored["verdict"]["failed"] is True and errored["verdict"]["errors"] == ["dev/k8s_health"]
    with pytest.raises(ValueError):
        build_model([], fail_on="sometimes")


def test_grade_cannot_contradict_the_verdict():
    grade = lab()["clusters"][0]["grade"]
    assert grade == {"grade": "D", "score": 92.7, "capped_by": "3 critical finding(s)", "module_grade": "A", "module_capped_by": None}
    quiet = build_model([{"name": "q", "results": {"alert_frequency": dict(ALERTS)}}], fail_on="warning")
    assert quiet["clusters"][0]["grade"]["grade"] == "D" and quiet["clusters"][0]["grade"]["capped_by"] == "the cluster's verdict failed"
    clean = build_model([{"name": "c", "results": {"k8s_health": {"summary": {"score": 95}, "findings": []}}}])
    assert clean["grade"] == "A" and clean["verdict"]["failed"] is False


def test_fix_first_orders_by_severity_then_blast_radius_and_links_to_evidence():
    model = lab()
    items = model["fix_first"]
    assert [(i["severity"], i["id"], i["blast"]) for i in items] == [
        ("critical", "cert.expired", 2), ("critical", "pod.crashloop", 1),
        ("warning", "node.pressure", 14), ("warning", "alerts.raise_for", 1), ("info", "pod.no_limits", 1)]
    anchors = {g["anchor"] for c in model["clusters"] for s in c["sections"] for g in s["groups"]}
    assert all(i["anchor"] in anchors for i in items)
    assert items[0]["count"] == 2 and items[0]["subjects"] == ["endpoint a:443 (sni a)", "file /etc/ssl/a.pem #1"]
    assert reach({"evidence": {"subjects": ["a", "b", "c"], "pods": 2}}) == 3 and reach({"evidence": {}}) == 1


def test_matrix_has_a_row_per_cluster_with_worst_and_counts():
    model = lab(dev={"k8s_health": {"failed": True, "msg": "connection refused"}})
    rows = {r["cluster"]: r for r in model["matrix"]["rows"]}
    assert model["matrix"]["modules"] == ["k8s_health", "cert_expiry", "alert_frequency"]
    assert rows["dev"]["cells"] == {"k8s_health": "error"}
    assert rows["prod"]["cells"] == {"k8s_health": "critical", "cert_expiry": "critical", "alert_frequency": "warning"}
    assert rows["prod"]["counts"]["cert_expiry"] == {"critical": 2, "warning": 0, "info": 0}
    md = markdown.render(model)
    assert "## Clusters" in md and "| prod | D | critical (1/1/3) | critical (2/0/0) | warning (0/1/0) |" in md
    assert '<table class="matrix">' in html.render(model)
    assert "## Clusters" not in markdown.render(lab())


def test_charts_picture_alerts_certificates_and_namespaces():
    model = lab()
    alerts = sections(model)["alert_frequency"]
    timeline = alerts["charts"][0]
    assert timeline["kind"] == "timeline" and [r["label"] for r in timeline["rows"]] == ["Flappy", "Rare"]
    assert timeline["rows"][0]["spans"][1] == [START + 5 * DAY, to_epoch(NOW)], "an open episode runs to the window's end"
    assert dict(alerts["summary"])["firing time (all instances)"] == "16d 1h"
    calendar = sections(model)["cert_expiry"]["charts"][0]
    assert calendar["kind"] == "calendar" and calendar["rows"] == ["endpoint", "file"]
    assert [i["state"] for i in calendar["items"]] == ["critical", "critical", "ok"]
    namespaces = model["clusters"][0]["charts"][0]
    assert namespaces["kind"] == "stacked" and namespaces["series"][0][0] == "(no namespace)"
    for chart in timeline, calendar, namespaces, alerts["charts"][1]:
        root = ET.fromstring(render(chart))
        assert root.tag.endswith("svg") and int(root.get("width")) > 100 and int(root.get("height")) > 30
        assert root.findall(".//{http://www.w3.org/2000/svg}rect") or root.findall(".//{http://www.w3.org/2000/svg}circle")


def test_chaos_results_build_sections_and_an_experiment():
    model = build_model([{"name": "prod", "results": {"pod_killer": POD_KILLER, "memory_hog": MEMORY_HOG}}],
                        fail_on="never", generated_at=NOW, hypothesis="web survives")
    cluster = model["clusters"][0]
    by_module = sections(model)
    assert dict(by_module["pod_killer"]["summary"])["pods"] == "10 read, 4 eligible, 2 picked, 8 skipped"
    assert dict(by_module["memory_hog"]["summary"])["peak hog RSS"] == "50.0 MiB"
    assert by_module["pod_killer"]["findings"][0]["subject"] == "StatefulSet shop/db"
    experiment = cluster["experiment"]
    assert experiment["hypothesis"] == "web survives"
    assert experiment["verdict"] == {"judged": True, "held": False,
                                     "text": "The hypothesis did NOT hold: not recovered: StatefulSet shop/db."}
    assert "Deployment shop/web: recovered in 12s (ready 3 of 3)" in experiment["observations"]
    rows = experiment["charts"][0]["rows"]
    assert [r["label"] for r in rows] == ["steady-state gate", "Deployment web", "StatefulSet db", "memory pressure (host)"]
    assert rows[2]["spans"][0][2] == "critical"
    md = markdown.render(model)
    assert "#### Hypothesis" in md and "The hypothesis did NOT hold" in md.split("## Fix first", maxsplit=1)[0]
    dry = build_model([{"name": "p", "results": {"pod_killer": dict(POD_KILLER, dry_run=True, recovery=[], findings=[])}}])
    assert dry["clusters"][0]["experiment"]["verdict"]["judged"] is False


def test_html_is_self_contained_filterable_and_printable():
    page = html.render(lab(dev={"k8s_health": {"failed": True, "msg": "connection <refused>"}}))
    assert "default-src 'none'" in page and not re.search(r"(src|href)=\"https?:|<link|@import|url\(", page)
    assert page.index('id="fix-first"') < page.index('id="filters"') < page.index('section class="cluster"')
    first = re.search(r'<li class="s-critical" data-sev="critical" data-module="cert_expiry" data-cluster="prod"[^>]*>.*?href="#([^"]+)"', page)
    assert first and ('id="%s"' % first.group(1)) in page
    assert page.count('<tr class="finding"') == 6 and 'data-ns="shop"' in page
    assert "@media print" in page and "beforeprint" in page and "<details class=\"module\" open" in page
    assert "connection &lt;refused&gt;" in page
    for name in ("severity", "module", "cluster", "namespace"):
        assert 'name="%s"' % name in page


def test_markdown_reads_in_a_terminal():
    text = markdown.render(lab())
    assert text.startswith("# t\n\n**FAILED**: 3 critical finding(s) at or above fail_on=critical")
    head = text.split("## prod", 1)[0]
    assert re.search(r"^1\. \*\*CRITICAL\*\* `cert.expired`: expired 3 day\(s\) ago$", head, re.M)
    assert "   Fix: renew it" in head and "touches 14" in head
    assert "<" not in text.replace("->", ""), "no raw HTML"
    assert "1388647" not in text and "16d 1h" in text
    assert max(len(line) for line in text.splitlines() if not line.startswith(("- ", "  evidence", "   ", "1.", "2.", "3.", "4.", "5."))) < 160


def test_junit_and_textfile_use_the_readable_subject():
    model = lab("warning", dev={"k8s_health": {"failed": True, "msg": "connection refused"}})
    root = ET.fromstring(junit(model))
    suites = {s.get("name"): s for s in root}
    cases = {c.get("name"): c for c in suites["prod.k8s_health"].findall("testcase")}
    assert cases["pods"].find("failure").get("type") == "critical" and cases["rbac"].find("skipped") is not None
    assert suites["dev.k8s_health"].find("testcase/error") is not None
    text = textfile(model, timestamp=1700000000)
    assert 'sre_toolkit_findings{cluster="prod",module="k8s_health",severity="info"} 3' in text
    assert 'subject="Pod shop/api-1"' in text


def test_every_module_with_a_section_builder_has_a_title():
    from ansible_collections.sre.toolkit.plugins.module_utils._report.model import TITLES
    from ansible_collections.sre.toolkit.plugins.module_utils._report.sections import BUILDERS

    assert sorted(BUILDERS) == sorted(TITLES)
