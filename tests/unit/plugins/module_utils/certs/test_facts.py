from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.sre.toolkit.plugins.module_utils._certs.facts import certificate_facts

from .pki import NOW, hierarchy, make


def test_leaf_facts_dates_keys_and_names():
    root, inter, leaf = hierarchy()
    facts = certificate_facts(leaf.cert, NOW)
    assert facts["subject"] == "CN=www.example.test"
    assert facts["issuer"] == "CN=Test Inter" and facts["issuer_cn"] == "Test Inter"
    assert facts["sha256"] == leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert facts["serial"] == leaf.cert.serial_number and int(facts["serial_hex"], 16) == leaf.cert.serial_number
    assert facts["sans"] == {"dns": ["www.example.test", "*.apps.example.test"], "ip": ["10.0.0.1"]}
    assert facts["not_after"] == (NOW + dt.timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert facts["not_after_epoch"] == int((NOW + dt.timedelta(days=90)).timestamp())
    assert facts["days_left"] == 90
    assert facts["version"] == 3
    assert (facts["key_type"], facts["key_size"], facts["key_curve"]) == ("EC", 256, "secp256r1")
    assert facts["signature_algorithm"] == "ecdsa-with-SHA256"
    assert facts["is_ca"] is False and facts["self_signed"] is False
    assert facts["expired"] is False and facts["not_yet_valid"] is False
    assert certificate_facts(root.cert, NOW)["self_signed"] is True


def test_rsa_key_and_expiry_flags():
    old = make("old", days_from=-100, days_to=-1, rsa_bits=2048)
    facts = certificate_facts(old.cert, NOW)
    assert (facts["key_type"], facts["key_size"], facts["key_curve"]) == ("RSA", 2048, None)
    assert facts["signature_algorithm"] == "sha256WithRSAEncryption"
    assert facts["expired"] is True and facts["days_left"] == -1
    future = certificate_facts(make("later", days_from=2, days_to=20).cert, NOW)
    assert future["not_yet_valid"] is True


def test_days_left_rounds_down_partial_days():
    leaf = make("x", days_from=-1, days_to=10)
    assert certificate_facts(leaf.cert, NOW + dt.timedelta(hours=1))["days_left"] == 9


def test_p384_signature_name():
    key = ec.generate_private_key(ec.SECP384R1())
    cert = make("p384", key=key, hash_alg=hashes.SHA384()).cert
    facts = certificate_facts(cert, NOW)
    assert facts["key_size"] == 384 and facts["signature_algorithm"] == "ecdsa-with-SHA384"
