from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ansible_collections.sre.toolkit.plugins.module_utils._certs.load import LoadError, load_certificates

from .pki import hierarchy, make

PEM = serialization.Encoding.PEM


def pem(issued):
    return issued.cert.public_bytes(PEM)


def test_pem_bundle_every_cert_in_order_and_keys_skipped():
    root, inter, leaf = hierarchy()
    key = leaf.key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    certs, errors = load_certificates(pem(leaf) + key + pem(inter) + pem(root))
    assert [c.subject for c, _origin in certs] == [leaf.cert.subject, inter.cert.subject, root.cert.subject]
    assert errors == []


def test_bad_block_reported_while_good_ones_read():
    root, inter, leaf = hierarchy()
    broken = b"-----BEGIN CERTIFICATE-----\nMIIBroken!!\n-----END CERTIFICATE-----\n"
    certs, errors = load_certificates(pem(leaf) + broken)
    assert len(certs) == 1 and [e.reason for e in errors] == ["bad_pem"]
    with pytest.raises(LoadError) as info:
        load_certificates(broken)
    assert info.value.reason == "bad_pem"


def test_der_and_unknown_content():
    _root, _inter, leaf = hierarchy()
    certs, _errors = load_certificates(leaf.cert.public_bytes(serialization.Encoding.DER))
    assert certs[0][0] == leaf.cert and certs[0][1] == "der"
    with pytest.raises(LoadError) as info:
        load_certificates(b"just some text\n")
    assert info.value.reason == "no_certificate_found"
    with pytest.raises(LoadError) as info:
        load_certificates(b"\x30\x82\x01\x00garbage")
    assert info.value.reason == "decode_failed"
    with pytest.raises(LoadError) as info:
        load_certificates(b"")
    assert info.value.reason == "no_certificate_found"


def test_pkcs12_with_passphrase_and_wrong_passphrase():
    root, inter, leaf = hierarchy()
    blob = pkcs12.serialize_key_and_certificates(b"lab", leaf.key, leaf.cert, [inter.cert],
                                                 serialization.BestAvailableEncryption(b"s3cret"))
    certs, _errors = load_certificates(blob, "s3cret")
    assert [c for c, _origin in certs] == [leaf.cert, inter.cert]
    for wrong in ("nope", None):
        with pytest.raises(LoadError) as info:
            load_certificates(blob, wrong)
        assert info.value.reason == "bad_passphrase"


def test_kubeconfig_embedded_data():
    root, _inter, leaf = hierarchy()
    client = make("admin")
    doc = (
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: %s\n    server: https://127.0.0.1:6443\n"
        "  name: lab\nusers:\n- name: admin\n  user:\n    client-certificate-data: %s\n    client-key-data: c2VjcmV0\n"
    ) % (base64.b64encode(pem(root)).decode(), base64.b64encode(pem(client)).decode())
    certs, errors = load_certificates(doc.encode())
    assert [c for c, _origin in certs] == [root.cert, client.cert] and errors == []
    assert certs[0][1].endswith("certificate-authority-data")


def test_pkcs7_bundles_der_and_pem_armoured():
    from cryptography.hazmat.primitives.serialization import pkcs7

    from ansible_collections.sre.toolkit.plugins.module_utils._certs.load import detect_format

    root, inter, leaf = hierarchy()
    der = pkcs7.serialize_certificates([leaf.cert, inter.cert, root.cert], serialization.Encoding.DER)
    certs, errors = load_certificates(der)
    assert {c.subject for c, _o in certs} == {leaf.cert.subject, inter.cert.subject, root.cert.subject}
    assert [o for _c, o in certs] == ["pkcs7[0]", "pkcs7[1]", "pkcs7[2]"] and errors == []
    assert detect_format(der) == "pkcs7" and detect_format(b"", "/etc/ssl/chain.P7B") == "pkcs7"
    armoured = pkcs7.serialize_certificates([leaf.cert, inter.cert], PEM)
    certs, errors = load_certificates(pem(root) + armoured)
    assert [o for _c, o in certs] == ["pem[0]", "pem[1].pkcs7[0]", "pem[1].pkcs7[1]"] and errors == []
    broken = b"-----BEGIN PKCS7-----\n" + base64.encodebytes(der[:40]) + b"-----END PKCS7-----\n"
    certs, errors = load_certificates(pem(leaf) + broken)
    assert len(certs) == 1 and [e.reason for e in errors] == ["decode_failed"]
