"""Inputs external testers met (issue #20): legacy signatures, malformed extensions, U-labels, broken PEM."""
from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, rsa

from ansible_collections.sre.toolkit.plugins.module_utils._certs import names
from ansible_collections.sre.toolkit.plugins.module_utils._certs.chain import TrustStore, verify_chain
from ansible_collections.sre.toolkit.plugins.module_utils._certs.facts import fingerprint, issuer_link
from ansible_collections.sre.toolkit.plugins.module_utils._certs.load import LoadError, load_certificates
from ansible_collections.sre.toolkit.plugins.module_utils._certs.report import Settings, content_finding, endpoint_finding, secret_finding
from ansible_collections.sre.toolkit.plugins.module_utils._certs.targets import SpecError, parse_endpoint
from tests.lab.tls.pki import resign, truncate_extension

from .pki import NOW, Issued, make

DER = serialization.Encoding.DER
SAN_OID = "2.5.29.17"


def _settings(root, **kw):
    return Settings(NOW, NOW, TrustStore([root.cert]), **kw)


def _pem(*certs):
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _legacy(algorithm, ca_key, days_to=90):
    """root -> legacy CA (key ca_key) -> leaf signed with `algorithm`."""
    root = make("Legacy Test Root", ca=True, days_from=-400, days_to=3000)
    ca = make("Legacy Test CA", root, ca=True, key=ca_key, days_from=-300, days_to=1000)
    leaf = make("old.example.test", ca, dns=["old.example.test"], days_to=days_to)
    return root, ca, Issued(resign(leaf.cert, ca.key, legacy=algorithm), leaf.key)


# ---------------------------------------------------------------- 1. signatures cryptography refuses

@pytest.mark.parametrize("algorithm, key, name", [
    ("sha1WithRSAEncryption", "rsa", "sha1WithRSAEncryption"),
    ("md5WithRSAEncryption", "rsa", "md5WithRSAEncryption"),
    ("dsa_with_SHA1", "dsa", "dsa-with-sha1"),
])
def test_legacy_signature_is_linked_and_named_not_unknown_ca(algorithm, key, name):
    ca_key = rsa.generate_private_key(65537, 2048) if key == "rsa" else dsa.generate_private_key(2048)
    root, ca, leaf = _legacy(algorithm, ca_key)
    assert issuer_link(leaf.cert, ca.cert) == "legacy_signature"
    for purpose in ("server", "any"):
        result = verify_chain([leaf.cert, ca.cert], TrustStore([root.cert]), NOW, purpose)
        assert (result["verify"], result["verify_error_depth"]) == ("weak_signature_algorithm", 0), result["detail"]
        assert name in result["detail"] and result["unused"] == []
        assert result["path_candidate"] == [fingerprint(leaf.cert), fingerprint(ca.cert), fingerprint(root.cert)]
        assert [(w["depth"], w["algorithm"], w["link"]) for w in result["weak_signatures"]] == [(0, name, "legacy_signature")]


def test_legacy_signature_on_an_expired_path_still_says_expired():
    root, ca, leaf = _legacy("sha1WithRSAEncryption", rsa.generate_private_key(65537, 2048), days_to=-3)
    finding = endpoint_finding({"id": "x", "host": "old.example.test", "port": 443,
                                "chain": [leaf.cert.public_bytes(DER), ca.cert.public_bytes(DER)]}, _settings(root))
    assert (finding["verify"], finding["verify_error_depth"]) == ("expired", 0)
    assert finding["weak_signatures"][0]["algorithm"] == "sha1WithRSAEncryption" and finding["severity"] == "critical"


def test_a_wrong_legacy_signature_never_links():
    root, ca, leaf = _legacy("sha1WithRSAEncryption", rsa.generate_private_key(65537, 2048))
    impostor = make("Legacy Test CA", root, ca=True, key=rsa.generate_private_key(65537, 2048), subject=ca.cert.subject)
    assert issuer_link(leaf.cert, impostor.cert) is None
    assert verify_chain([leaf.cert, impostor.cert], [root.cert], NOW, "any")["verify"] == "unknown_ca"


def test_unverifiable_hash_links_by_name_and_key_identifier():
    root, ca, leaf = _legacy("md2WithRSAEncryption", rsa.generate_private_key(65537, 2048))
    assert issuer_link(leaf.cert, ca.cert) == "key_identifier"
    other_key = make("Legacy Test CA", root, ca=True, key=rsa.generate_private_key(65537, 2048), subject=ca.cert.subject)
    assert issuer_link(leaf.cert, other_key.cert) is None  # same name, another key: the AKI says no
    result = verify_chain([leaf.cert, ca.cert], [root.cert], NOW, "any")
    assert result["verify"] == "weak_signature_algorithm" and "key identifier only" in result["detail"]


def test_dsa_signature_that_verifies_is_still_weak():
    root = make("R", ca=True, days_from=-400, days_to=3000)
    ca = make("DSA CA", root, ca=True, key=dsa.generate_private_key(2048))
    leaf = make("dsa.example.test", ca, dns=["dsa.example.test"])
    assert issuer_link(leaf.cert, ca.cert) == "signature"
    result = verify_chain([leaf.cert, ca.cert], [root.cert], NOW)
    assert result["verify"] == "weak_signature_algorithm" and "dsa-with-sha256" in result["detail"]


# ---------------------------------------------------------------- 2. malformed extensions

def _broken_san():
    root = make("R", ca=True, days_from=-400, days_to=3000)
    inter = make("I", root, ca=True, days_from=-300, days_to=1000)
    leaf = make("san.example.test", inter, dns=["san.example.test"], days_to=40)
    broken = resign(leaf.cert, inter.key, patch=truncate_extension(SAN_OID, leaf.cert))
    with pytest.raises(ValueError):
        broken.extensions  # pylint: disable=pointless-statement
    return root, inter, broken


def _assert_named(facts):
    (fault,) = facts["extension_errors"]
    assert (fault["oid"], fault["name"]) == (SAN_OID, "subjectAltName") and "malformed DER" in fault["error"]


def test_malformed_san_on_an_endpoint_is_never_ok_and_hostname_not_judged():
    root, inter, broken = _broken_san()
    finding = endpoint_finding({"id": "x", "host": "san.example.test", "port": 443,
                                "chain": [broken.public_bytes(DER), inter.cert.public_bytes(DER)]}, _settings(root))
    assert (finding["verify"], finding["verify_error_depth"]) == ("malformed_extension", 0)
    assert "subjectAltName" in finding["verify_detail"]
    assert finding["hostname_match"] is None and finding["hostname_match_cn_fallback"] is None
    assert "not judged" in finding["hostname_detail"]
    _assert_named(finding["chain"][0])
    assert finding["chain"][0]["days_left"] == 40 and finding["expiry"]["days_left"] == 40


def test_malformed_san_in_files_and_secrets():
    root, inter, broken = _broken_san()
    data = _pem(broken, inter.cert)
    item = content_finding("bundle.pem", "file", data, _settings(root))
    assert item["verify"] == "malformed_extension" and item["certs"][0]["not_after"] and item["error"] is None
    _assert_named(item["certs"][0])
    secret = {"metadata": {"namespace": "ns", "name": "web"}, "type": "kubernetes.io/tls",
              "data": {"tls.crt": base64.b64encode(data).decode()}}
    key = secret_finding(secret, _settings(root))["keys"]["tls.crt"]
    assert key["verify"] == "malformed_extension"
    _assert_named(key["certs"][0])


# ---------------------------------------------------------------- 3. internationalised names

@pytest.mark.parametrize("given, wire", [("bücher.example", "xn--bcher-kva.example"), ("straße.example", "xn--strae-oqa.example"),
                                         ("BÜCHER.example", "xn--bcher-kva.example")])
def test_u_labels_go_out_as_a_labels(given, wire):
    target = parse_endpoint({"host": "127.0.0.1", "port": 8443, "sni": given})
    assert (target["host"], target["sni"]) == ("127.0.0.1", wire)
    by_host = parse_endpoint("%s:443" % given)
    assert (by_host["host"], by_host["sni"], by_host["id"]) == (wire, wire, "%s:443" % given)


def test_invalid_idn_is_an_error_for_that_endpoint():
    with pytest.raises(SpecError, match="A-label"):
        parse_endpoint({"host": "127.0.0.1", "port": 443, "sni": "\u2603.example"})


def test_stdlib_fallback_keeps_sharp_s_unlike_idna2003(monkeypatch):
    monkeypatch.setattr(names, "_idna2008", None)
    assert names.to_a_label("straße.example") == "xn--strae-oqa.example" != "straße.example".encode("idna").decode()
    assert names.to_a_label("Bücher\u3002example") == "xn--bcher-kva.example"
    assert names.to_unicode("xn--strae-oqa.example") == "straße.example"
    with pytest.raises(ValueError, match="IDNA2008"):
        names.to_a_label("\u2603.example")


def test_leaf_only_probe_says_so_and_a_missing_intermediate_shows():
    root = make("R", ca=True, days_from=-400, days_to=3000)
    inter = make("I", root, ca=True, days_from=-300, days_to=1000)
    leaf = make("xn--bcher-kva.example", inter, dns=["xn--bcher-kva.example"])
    fetched = {"id": "x", "host": "127.0.0.1", "port": 443, "sni": "xn--bcher-kva.example", "chain": [leaf.cert.public_bytes(DER)],
               "method": "ssl_leaf_only", "fallback_reason": "could not read the handshake: ValueError: odd"}
    finding = endpoint_finding(fetched, _settings(root))
    assert (finding["probe_method"], finding["chain_complete"]) == ("ssl_leaf_only", False)
    assert finding["verify"] == "incomplete_chain" and "ssl_leaf_only" in finding["verify_detail"] and "odd" in finding["verify_detail"]
    whole = endpoint_finding(dict(fetched, method="raw", fallback_reason=None), _settings(root))
    assert (whole["probe_method"], whole["chain_complete"], whole["verify"]) == ("raw", True, "unknown_ca")


# ---------------------------------------------------------------- 4. PEM faults

def _armour(der):
    return b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der) + b"-----END CERTIFICATE-----\n"


def test_begin_without_end_is_its_own_error_and_good_certs_around_it_are_read():
    first = make("one.example.test", dns=["one.example.test"])
    second = make("two.example.test", dns=["two.example.test"])
    truncated = b"".join(_pem(second.cert).splitlines(keepends=True)[:4])
    certs, errors = load_certificates(_pem(first.cert) + truncated + _pem(second.cert))
    assert [c.subject for c, _o in certs] == [first.cert.subject, second.cert.subject]
    assert [(e.reason, e.origin) for e in errors] == [("pem_unterminated", "pem[1]")] and "END" in errors[0].msg
    with pytest.raises(LoadError) as info:
        load_certificates(truncated)
    assert info.value.reason == "pem_unterminated"
    tail = load_certificates(_pem(first.cert) + truncated)[1]  # at the end of the file, after a good one
    assert [e.reason for e in tail] == ["pem_unterminated"]


def test_der_fault_and_armour_fault_have_distinct_reasons():
    good = make("good.example.test", dns=["good.example.test"])
    not_a_cert = _armour(bytes.fromhex("3003020105"))
    broken_armour = b"-----BEGIN CERTIFICATE-----\nMIIB@@not base64!!\n-----END CERTIFICATE-----\n"
    root = make("R", ca=True)
    finding = content_finding("f.pem", "file", _pem(good.cert) + not_a_cert + broken_armour, _settings(root))
    assert [(e["origin"], e["reason"]) for e in finding["errors"]] == [("pem[1]", "decode_failed"), ("pem[2]", "bad_pem")]
    assert finding["error_reason"] == "decode_failed" and len(finding["certs"]) == 1
    only_bad = content_finding("g.pem", "file", not_a_cert + broken_armour, _settings(root))
    assert only_bad["severity"] == "error" and [e["reason"] for e in only_bad["errors"]] == ["decode_failed", "bad_pem"]
