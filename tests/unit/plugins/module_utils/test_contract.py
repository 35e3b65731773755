"""The one findings contract, the one gate and the one rule catalogue."""
from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from ansible_collections.sre.toolkit.plugins.module_utils import _catalogue, _findings

REPO = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((REPO / "docs" / "findings.schema.json").read_text())


def assert_contract(result):
    """A module result satisfies the shipped schema and every id is catalogued."""
    jsonschema.validate(result, SCHEMA)
    assert _catalogue.unknown_ids(result["findings"]) == []
    assert result["summary"]["counts"] == _findings.counts(result["findings"])
    assert result["findings"] == _findings.sort_findings(result["findings"])


def test_the_catalogue_page_is_generated_from_the_code():
    assert (REPO / "docs" / "rule_catalogue.md").read_text() == _catalogue.markdown() + "\n", \
        "docs/rule_catalogue.md is stale: run python scripts/rule_catalogue.py"


def test_every_catalogue_entry_is_complete():
    rules = _catalogue.catalogue()
    assert len(rules) >= 20
    for rule_id, entry in rules.items():
        assert re.fullmatch(SCHEMA["$defs"]["finding"]["properties"]["id"]["pattern"], rule_id), rule_id
        assert entry["severities"] and set(entry["severities"]) <= set(_findings.SEVERITIES), rule_id
        assert entry["meaning"].strip() and entry["fix"].strip() and entry["module"], rule_id


def test_an_id_claimed_twice_is_refused(monkeypatch):
    class Twin:
        MODULE = "other"
        RULES = {"alerts.raise_for": {"severities": ("info",), "meaning": "m", "fix": "f"}}
    monkeypatch.setattr(_catalogue, "TABLES", _catalogue.TABLES + (Twin,))
    with pytest.raises(ValueError, match="alerts.raise_for"):
        _catalogue.catalogue()


def test_unknown_ids_are_named():
    about = _findings.subject("Pod", "web", "a")
    found = [_findings.finding("alerts.raise_for", "warning", about, "m", "f"), _findings.finding("made.up", "info", about, "m", "f")]
    assert _catalogue.unknown_ids(found) == ["made.up"]


def test_subject_locator_defaults_and_never_none():
    assert _findings.subject("Pod", "web-1", "team-a")["locator"] == "Pod team-a/web-1"
    assert _findings.subject("Node", "worker-1")["locator"] == "Node worker-1"
    assert _findings.subject("File", None, locator="file /x.pem #2") == {"kind": "File", "namespace": "", "name": "", "locator": "file /x.pem #2"}
    with pytest.raises(ValueError, match="severity"):
        _findings.finding("a.b", "warn", _findings.subject("x", "y"), "m", "f")


@pytest.mark.parametrize("fail_on,failed", [
    ("never", False), ("none", False), (None, False), ("critical", False), ("warning", True), ("WARNING", True), ("info", True)])
def test_one_gate(fail_on, failed):
    verdict = _findings.gate({"critical": 0, "warning": 2, "info": 1}, fail_on)
    assert verdict["failed"] is failed
    assert verdict["fail_on"] in _findings.FAIL_ON
    if failed:
        assert verdict["reasons"][0] == "2 warning finding(s) at or above fail_on=%s" % verdict["fail_on"]


def test_gate_keeps_a_module_s_own_reasons_and_names_a_bad_threshold():
    verdict = _findings.gate({"critical": 0, "warning": 0, "info": 0}, "never", ["score 42 below min_score 80"])
    assert verdict == {"fail_on": "never", "failed": True, "reasons": ["score 42 below min_score 80"]}
    with pytest.raises(ValueError, match="never, info, warning, critical"):
        _findings.gate({}, "sometimes")


def test_alert_analysis_follows_the_contract():
    from ansible_collections.sre.toolkit.plugins.module_utils._alerts.analyze import analyze
    from .alerts.test_analyze import END, START, history
    alerts, states, groups, _truth = history()
    result = analyze(alerts, states, groups, START, END)
    assert_contract(result)
    ids = {f["id"] for f in result["findings"]}
    assert {"alerts.keep_firing_for", "alerts.unhealthy_rule", "alerts.inhibit_cascade"} <= ids
    unhealthy = next(f for f in result["findings"] if f["id"] == "alerts.unhealthy_rule")
    assert unhealthy["severity"] == "critical" and unhealthy["subject"]["locator"] == "rule/Broken"
    assert "many-to-many" in unhealthy["message"] and unhealthy["fix"].startswith("fix the expression")


def test_cert_targets_follow_the_contract():
    from ansible_collections.sre.toolkit.plugins.module_utils._certs.findings import from_result
    expiry = {"not_after": "2026-12-10T00:00:00Z", "days_left": 4, "sha256": "bb", "subject": "CN=b"}
    result = {
        "endpoints": [{"id": "web", "host": "web.example", "port": 443, "sni": "web.example", "severity": "critical", "expiry": expiry,
                       "verify": "unknown_ca", "verify_detail": "issuer not trusted", "hostname": "web.example", "hostname_match": False}],
        "files": [{"id": "/etc/ssl/b.pem", "severity": "critical", "expiry": expiry, "verify": "ok",
                   "certs": [{"position": 0, "sha256": "aa"}, {"position": 1, "sha256": "bb"}],
                   "errors": [{"origin": "pem[2]", "reason": "pem_unterminated", "error": "BEGIN without END"}]},
                  {"id": "/etc/ssl/gone.pem", "severity": "error", "error": "no such file", "error_kind": "file", "certs": [], "expiry": None}],
        "secrets": [{"namespace": "a", "name": "tls", "keys": {"tls.crt": {"severity": "ok", "expiry": dict(expiry, days_left=90), "verify": "ok",
                                                                           "certs": [{"position": 0, "sha256": "bb"}]}}}],
    }
    findings, counts = _findings.contract(from_result(result))
    assert_contract({"findings": findings, "summary": {"counts": counts}})
    located = {(f["id"], f["subject"]["locator"]) for f in findings}
    assert located == {
        ("cert.expires_soon", "endpoint web.example:443"), ("cert.untrusted", "endpoint web.example:443"),
        ("cert.hostname_mismatch", "endpoint web.example:443"), ("cert.expires_soon", "file /etc/ssl/b.pem #2"),
        ("cert.bad_input", "file /etc/ssl/b.pem pem[2]"), ("cert.unreadable", "file /etc/ssl/gone.pem"),
    }
    assert counts == {"critical": 2, "warning": 4, "info": 0}
