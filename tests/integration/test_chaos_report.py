"""The chaos playbook writes its experiment report from the one report model (the report role):
hypothesis, actions, observations, verdict, the experiment timeline, and the modules' sections."""
from __future__ import annotations

import json

from tests.integration.ansible import run_playbook
from tests.integration.test_reports import OUTPUT, Browser

PICK_ANY = {"namespaces": ["lab-chaos"], "cooldown": "0", "min_age": "0s"}


def _run(lab_k8s, tmp_path, rc=0, **extra):
    extra_vars = {
        "chaos_kubeconfig": lab_k8s["kubeconfig"],
        # No cooldown and no minimum age: neither an earlier real run (this file's, or another test's) nor a
        # lab that came up a minute ago may leave nothing to pick.
        "chaos_pod_killer": PICK_ANY,
        "chaos_report_dir": str(tmp_path),
        **extra,
    }
    result = run_playbook("playbooks/chaos.yml", extra_vars)
    assert (result["rc"] == 0) is (rc == 0), result["stdout"][-3000:]
    if rc:
        assert "Fail on the experiment's findings at or above chaos_fail_on" in result["stdout"]
        assert "1 critical finding(s) at or above fail_on=critical" in result["stdout"], result["stdout"][-3000:]
    (report,) = tmp_path.glob("chaos-*.md")
    (page,) = tmp_path.glob("chaos-*.html")
    (record,) = tmp_path.glob("chaos-*.json")
    return report.read_text(), page, json.loads(record.read_text())


def test_dry_run_report_plans_and_does_not_judge(lab_k8s, tmp_path):
    report, page, record = _run(lab_k8s, tmp_path, chaos_memory_hog={"size": "20Mi", "duration": 2})
    assert record["dry_run"] is True and record["verdict"]["judged"] is False
    for heading in ("#### Hypothesis", "#### Actions", "#### Observations", "#### Verdict", "### Pod chaos", "### Memory pressure"):
        assert heading in report, heading
    assert "DRY RUN" in report and "Not judged" in report and "would_evict" in report
    assert "- mode: dry run: nothing was disrupted" in report
    assert record["results"]["memory_hog"]["outcome"] == "dry_run"
    assert "Chaos experiment (dry run)" in page.read_text()


def test_real_run_is_judged_with_a_timeline(lab_k8s, tmp_path, tmp_path_factory):
    report, page, record = _run(lab_k8s, tmp_path, chaos_dry_run=False,
                                chaos_pod_killer=dict(PICK_ANY, mode="fixed", count=2),
                                chaos_memory_hog={"size": "40Mi", "duration": 3})
    hog = record["results"]["memory_hog"]
    assert hog["outcome"] == "completed" and hog["peak"]["hog_rss_bytes"] >= 40 * 1024 * 1024
    assert record["verdict"] == {"judged": True, "held": True, "text": "The hypothesis held."}
    assert "The hypothesis held." in report and "recovered in" in report
    assert "**Experiment timeline**" in report and "evicted" in report
    # Every section populated: the experiment's actions and observations, both modules' rows.
    assert report.count("- mode: real run") == 2 and "- peak hog RSS:" in report and "- steady-state gate: passed" in report
    profile = tmp_path_factory.mktemp("chromium-chaos")
    profile.chmod(0o700)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    browser = Browser(profile)
    try:
        browser.open(page.as_uri())
        assert all(u.startswith(("file:", "data:", "about:")) for u in browser.requests())
        rows = browser.js("(function(){var s=document.querySelector('svg[data-kind=timeline]'); var r=s.getBoundingClientRect();"
                          " return [r.width, r.height, s.querySelectorAll('path').length, s.querySelectorAll('rect[opacity]').length];})()")
        width, height, marks, spans = rows
        assert width > 100 and height > 30
        assert marks == 1 + 2, "the gate and two victims"
        assert spans == 2 + 1, "two recoveries and the memory pressure"
        browser.screenshot(OUTPUT / "chaos-experiment.png", selector=".experiment")
    finally:
        browser.close()


def test_a_failed_gate_fails_the_play_after_the_report(lab_k8s, tmp_path):
    """The one gate (chaos_fail_on, default critical): the report is written first, then the play fails."""
    closed = "http://127.0.0.1:9/healthz"  # the discard port: nothing listens there
    report, _page, record = _run(lab_k8s, tmp_path, rc=2, chaos_dry_run=False, chaos_gate_http_url=closed)
    findings = [f for f in record["findings"] if f["id"] == "chaos.gate_failed"]
    assert len(findings) == 1 and findings[0]["severity"] == "critical"
    assert record["gate_passed"] is False and record["results"]["pod_killer"]["victims"] == []
    assert "chaos.gate_failed" in report
    quiet = tmp_path / "never"
    quiet.mkdir()
    _run(lab_k8s, quiet, chaos_dry_run=False, chaos_gate_http_url=closed, chaos_fail_on="never")
