from __future__ import annotations

from cryptography.hazmat.primitives import serialization

from ansible_collections.sre.toolkit.plugins.module_utils._certs.chain import TrustStore
from ansible_collections.sre.toolkit.plugins.module_utils._certs.report import (
    Settings, content_finding, endpoint_finding, hostname_forms, summarize)

from .pki import NOW, hierarchy, make

DER = serialization.Encoding.DER


def settings(anchors, **kw):
    return Settings(NOW, NOW, TrustStore(anchors), **kw)


def test_endpoint_dates_survive_failed_verification():
    root, inter, leaf = hierarchy()
    other = make("Other", ca=True)
    fetched = {"id": "x", "host": "127.0.0.1", "port": 443, "sni": "www.example.test",
               "chain": [leaf.cert.public_bytes(DER), inter.cert.public_bytes(DER)], "tls_version": "TLSv1.3"}
    finding = endpoint_finding(fetched, settings([other.cert]))
    assert finding["verify"] == "unknown_ca"
    assert [c["subject"] for c in finding["chain"]] == ["CN=www.example.test", "CN=Test Inter"]
    assert finding["hostname"] == "www.example.test" and finding["hostname_match"] is True
    assert finding["expiry"]["days_left"] == 90 and finding["severity"] == "ok"
    assert finding["earliest_not_after"] == finding["chain"][0]["not_after"]
    assert finding["earliest_not_after_path"] is None


def test_endpoint_severity_follows_path_not_unused_root():
    old_root = make("Old", ca=True, days_from=-4000, days_to=-10)
    root, inter, leaf = hierarchy()
    cross = make("Test Root", old_root, ca=True, key=root.key, subject=root.cert.subject, days_from=-900, days_to=-20)
    fetched = {"id": "cs", "host": "www.example.test", "port": 443,
               "chain": [c.cert.public_bytes(DER) for c in (leaf, inter, cross)]}
    finding = endpoint_finding(fetched, settings([root.cert], warn_days=100, critical_days=10))
    assert finding["verify"] == "ok" and len(finding["unused"]) == 1
    assert finding["earliest_not_after"] == finding["chain"][2]["not_after"]  # naive: the stale root
    assert finding["earliest_not_after_path"] == finding["chain"][0]["not_after"]
    assert finding["severity"] == "warn"  # 90 days on the path, not "expired" from the unused cert


def test_content_finding_reports_every_cert_and_parse_errors():
    root, inter, leaf = hierarchy()
    ok = content_finding("bundle.pem", "file", leaf.cert.public_bytes(serialization.Encoding.PEM)
                         + inter.cert.public_bytes(serialization.Encoding.PEM), settings([root.cert]))
    assert len(ok["certs"]) == 2 and ok["verify"] == "ok" and ok["error"] is None
    bad = content_finding("junk", "file", b"hello", settings([root.cert]))
    assert bad["severity"] == "error" and bad["error_reason"] == "no_certificate_found" and bad["certs"] == []


def test_summary_and_hostname_forms():
    assert hostname_forms("Bücher.example.test") == ("xn--bcher-kva.example.test", "bücher.example.test")
    assert hostname_forms("127.0.0.1") == ("127.0.0.1", "127.0.0.1")
    targets = [{"id": "a", "source": "endpoint", "severity": "ok", "expiry": {"not_after_epoch": 5}},
               {"id": "b", "source": "file", "severity": "error", "error_kind": "parse", "expiry": None}]
    summary = summarize(targets, ["error"])
    assert summary["by_severity"]["error"] == 1 and summary["earliest"]["id"] == "a"
    assert summary["fail_reasons"] == ["b: error parse"]
