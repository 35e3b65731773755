"""The TLS client (_tls.py) against real local servers the lab does not have: a P-384-only TLS 1.3
server (HelloRetryRequest), and name resolution through /etc/hosts. Loopback only."""
from __future__ import annotations

import datetime
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.sre.toolkit.plugins.module_utils import _tls


@pytest.fixture()
def p384_only_server(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "hrr.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(7)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    pem = tmp_path / "server.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pem))
    context.set_ecdh_curve("secp384r1")  # X25519 is refused: the server must send a HelloRetryRequest
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve():
        while True:
            try:
                client, _addr = server.accept()
            except OSError:
                return
            try:
                context.wrap_socket(client, server_side=True).recv(1)
            except (ssl.SSLError, OSError):
                pass
            finally:
                client.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], cert
    server.close()


def test_hello_retry_request_is_followed(p384_only_server):
    port, cert = p384_only_server
    result = _tls.probe_address({"id": "hrr", "host": "127.0.0.1", "port": port, "sni": "hrr.test", "starttls": None,
                                 "address": "127.0.0.1"}, _tls.Probe(timeout=3, deadline=6))
    assert result["error_kind"] is None and result["tls_version"] == "TLSv1.3"
    assert result["chain"] == [cert.public_bytes(serialization.Encoding.DER)]


def test_names_resolve_and_each_address_is_probed(p384_only_server):
    port, _cert = p384_only_server
    results = _tls.scan([{"id": "local", "host": "localhost", "port": port, "sni": "hrr.test", "starttls": None}],
                        _tls.Probe(timeout=3, deadline=6), all_addresses=True)
    addresses = sorted({info[4][0] for info in socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)})
    assert [r["address"] for r in results] == addresses
    assert all(r["chain"] for r in results if r["address"] == "127.0.0.1")


def test_deadline_bounds_a_silent_server():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts (kernel backlog) and never answers
    try:
        result = _tls.probe_address({"id": "silent", "host": "127.0.0.1", "port": server.getsockname()[1], "sni": None,
                                     "starttls": None, "address": "127.0.0.1"}, _tls.Probe(timeout=5, deadline=0.6, retries=3))
    finally:
        server.close()
    # without the deadline: 5 s per read x 4 attempts; with it the probe ends near 0.6 s
    assert result["error_kind"] in ("deadline", "timeout") and result["elapsed"] < 5.0
