"""The chaos playbook writes an experiment report: hypothesis, actions, observations, verdict."""
from __future__ import annotations

import json

from tests.integration.ansible import run_playbook


def _run(lab_k8s, tmp_path, **extra):
    extra_vars = {
        "chaos_kubeconfig": lab_k8s["kubeconfig"],
        "chaos_pod_killer": {"namespaces": ["lab-chaos"]},
        "chaos_report_dir": str(tmp_path),
        **extra,
    }
    result = run_playbook("playbooks/chaos.yml", extra_vars)
    assert result["rc"] == 0, result["stdout"][-3000:]
    (report,) = tmp_path.glob("chaos-*.md")
    (record,) = tmp_path.glob("chaos-*.json")
    return report.read_text(), json.loads(record.read_text())


def test_dry_run_report_plans_and_does_not_judge(lab_k8s, tmp_path):
    report, record = _run(lab_k8s, tmp_path, chaos_memory_hog={"size": "20Mi", "duration": 2})
    assert record["dry_run"] is True
    for heading in ("## Hypothesis", "## Actions", "## Observations", "## Verdict"):
        assert heading in report
    assert "DRY RUN" in report and "Not judged" in report and "would_evict" in report
    assert record["results"]["memory_hog"]["outcome"] == "dry_run"


def test_real_host_hog_is_judged(lab_k8s, tmp_path):
    report, record = _run(lab_k8s, tmp_path, chaos_dry_run=False, chaos_pod_killer_enabled=False,
                          chaos_memory_hog={"size": "40Mi", "duration": 3})
    hog = record["results"]["memory_hog"]
    assert hog["outcome"] == "completed" and hog["peak"]["hog_rss_bytes"] >= 40 * 1024 * 1024
    assert "The hypothesis held." in report
    assert "pod_killer" not in record["results"]
