"""Certificates cryptography refuses to load still give their dates (read from the raw structure)."""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ansible_collections.sre.toolkit.plugins.module_utils._certs.chain import TrustStore
from ansible_collections.sre.toolkit.plugins.module_utils._certs.raw import _time, read_raw
from ansible_collections.sre.toolkit.plugins.module_utils._certs.report import Settings, endpoint_finding

from .pki import NOW, ber_serial, hierarchy, make

DER = serialization.Encoding.DER


def test_ber_certificate_is_refused_by_cryptography_but_read_raw():
    _root, inter, leaf = hierarchy()
    bad = ber_serial(leaf.cert)
    with pytest.raises(ValueError):
        x509.load_der_x509_certificate(bad)
    raw = read_raw(bad)
    assert raw["serial"] == leaf.cert.serial_number and raw["subject"] == leaf.cert.subject.rfc4514_string()
    assert raw["issuer_cn"] == "Test Inter" and raw["version"] == 3
    assert raw["not_after_at"] == leaf.cert.not_valid_after_utc and raw["not_before_at"] == leaf.cert.not_valid_before_utc
    assert raw["signature_algorithm"] == "ecdsa-with-SHA256"  # the name parsed certificates report (facts.py)
    assert read_raw(inter.cert.public_bytes(DER))["subject"] == inter.cert.subject.rfc4514_string()


@pytest.mark.parametrize("tag,text,expected", [
    (0x17, b"2601021530Z", dt.datetime(2026, 1, 2, 15, 30, tzinfo=dt.timezone.utc)),  # no seconds
    (0x17, b"990102153000Z", dt.datetime(1999, 1, 2, 15, 30, tzinfo=dt.timezone.utc)),
    (0x17, b"260102153000+0200", dt.datetime(2026, 1, 2, 13, 30, tzinfo=dt.timezone.utc)),
    (0x18, b"20260102153000.25Z", dt.datetime(2026, 1, 2, 15, 30, tzinfo=dt.timezone.utc)),
])
def test_time_encodings_openssl_accepts(tag, text, expected):
    assert _time(tag, text) == expected


def _settings(root, **kw):
    return Settings(NOW, NOW, TrustStore([root.cert]), **kw)


def test_unparsable_leaf_keeps_its_dates_and_is_never_replaced_by_the_intermediate():
    root, inter, _leaf = hierarchy()
    leaf = make("soon.example.test", inter, dns=["soon.example.test"], days_to=5)
    fetched = {"id": "ber", "host": "soon.example.test", "port": 443, "chain": [ber_serial(leaf.cert), inter.cert.public_bytes(DER)]}
    finding = endpoint_finding(fetched, _settings(root))
    first = finding["chain"][0]
    assert first["parsed_raw"] is True and first["position"] == 0 and first["days_left"] == 5 and first["key_type"] is None
    assert finding["chain"][1]["parsed_raw"] is False and finding["chain"][1]["subject"] == "CN=Test Inter"
    assert finding["verify"] == "unparsable" and "does not parse" in finding["verify_detail"]
    assert finding["hostname_match"] is None  # never judged against the intermediate
    assert finding["expiry"]["days_left"] == 5 and finding["severity"] == "critical"
    assert finding["earliest_not_after"] == first["not_after"] and finding["chain_readable"] is True


def test_unparsable_intermediate_still_counts_for_the_earliest_expiry():
    root = make("Test Root", ca=True, days_from=-400, days_to=3000)
    inter = make("Test Inter", root, ca=True, days_from=-300, days_to=20)
    leaf = make("www.example.test", inter, dns=["www.example.test"], days_to=60)
    fetched = {"id": "x", "host": "www.example.test", "port": 443, "chain": [leaf.cert.public_bytes(DER), ber_serial(inter.cert)]}
    finding = endpoint_finding(fetched, _settings(root, warn_days=30, critical_days=7))
    assert finding["hostname_match"] is True and finding["verify"] != "ok"
    assert finding["earliest_not_after"] == finding["chain"][1]["not_after"]
    assert finding["expiry"]["days_left"] == 20 and finding["severity"] == "warn"
    leaf_only = endpoint_finding(fetched, _settings(root, warn_days=30, critical_days=7, expiry_scope="leaf"))
    assert leaf_only["expiry"]["days_left"] == 60 and leaf_only["severity"] == "ok"


def test_garbage_where_a_certificate_should_be_is_an_error_not_a_crash():
    root, inter, leaf = hierarchy()
    fetched = {"id": "junk", "host": "www.example.test", "port": 443, "chain": [leaf.cert.public_bytes(DER), b"\x30\x03\x02\x01"]}
    finding = endpoint_finding(fetched, _settings(root))
    assert len(finding["chain"]) == 1 and any("not even its validity" in e for e in finding["parse_errors"])


def test_files_keep_raw_read_certificates_in_file_order():
    import base64

    from ansible_collections.sre.toolkit.plugins.module_utils._certs.report import content_finding

    root, inter, _leaf = hierarchy()
    leaf = make("file.example.test", inter, dns=["file.example.test"], days_to=10)

    def armour(der):
        return b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der) + b"-----END CERTIFICATE-----\n"
    bundle = armour(ber_serial(leaf.cert)) + armour(inter.cert.public_bytes(DER))
    finding = content_finding("bundle.pem", "file", bundle, _settings(root, warn_days=30, critical_days=7))
    assert [(c["origin"], c["parsed_raw"], c["position"]) for c in finding["certs"]] == [("pem[0]", True, 0), ("pem[1]", False, 1)]
    assert finding["error_reason"] == "decode_failed" and finding["verify"] == "unparsable"  # base64 fine, DER (BER) refused
    assert finding["expiry"]["days_left"] == 10 and finding["severity"] == "warn"
    der_only = content_finding("leaf.der", "file", ber_serial(leaf.cert), _settings(root))
    assert der_only["format"] == "der" and der_only["error_reason"] == "decode_failed"
    assert [c["parsed_raw"] for c in der_only["certs"]] == [True] and der_only["expiry"]["days_left"] == 10


def test_unreadable_leaf_with_parsed_intermediate_counts_both():
    root = make("Test Root", ca=True, days_from=-400, days_to=3000)
    inter = make("Test Inter", root, ca=True, days_from=-300, days_to=3)
    leaf = make("www.example.test", inter, dns=["www.example.test"], days_to=60)
    fetched = {"id": "x", "host": "www.example.test", "port": 443, "chain": [ber_serial(leaf.cert), inter.cert.public_bytes(DER)]}
    finding = endpoint_finding(fetched, _settings(root, warn_days=30, critical_days=7))
    assert finding["expiry"]["days_left"] == 3 and finding["severity"] == "critical"
    assert finding["earliest_not_after"] == finding["chain"][1]["not_after"]
    leaf_scope = endpoint_finding(fetched, _settings(root, warn_days=30, critical_days=7, expiry_scope="leaf"))
    assert leaf_scope["expiry"]["days_left"] == 60 and leaf_scope["severity"] == "ok"
