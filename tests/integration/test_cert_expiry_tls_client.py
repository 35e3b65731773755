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


def self_signed_pem(path, common_name):
    """(path of a PEM holding a one-day self-signed EC certificate and its key, the certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return path, cert


@pytest.fixture()
def p384_only_server(tmp_path):
    pem, cert = self_signed_pem(tmp_path / "server.pem", "hrr.test")
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


class CountingServer:
    """A TLS server that holds every connection `hold` seconds and records how many it held at once."""

    def __init__(self, pem, hold=0.0, reset=False):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(pem))
        self.hold, self.reset = hold, reset
        self.lock = threading.Lock()
        self.active = self.peak = self.accepted = 0
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _addr = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        # counted from accept to the end of the hold: the client is still waiting for our flight
        # then, so it cannot have released its slot (counting until close would overlap its next one)
        with self.lock:
            self.accepted += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            if self.reset:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                client.close()  # linger 0: the kernel answers with RST
                return
            threading.Event().wait(self.hold)
        finally:
            with self.lock:
                self.active -= 1
        try:
            client.settimeout(3)
            self.context.wrap_socket(client, server_side=True).recv(1)
        except (ssl.SSLError, OSError):
            pass
        finally:
            client.close()

    def close(self):
        self.sock.close()


@pytest.fixture()
def server_pem(tmp_path):
    return self_signed_pem(tmp_path / "count.pem", "count.test")[0]


def test_per_host_limit_caps_connections_to_one_server(server_pem):
    server = CountingServer(server_pem, hold=0.2)
    try:
        targets = [{"id": "t%02d" % i, "host": "127.0.0.1", "port": server.port, "sni": "count.test", "starttls": None}
                   for i in range(12)]
        results = _tls.scan(targets, _tls.Probe(timeout=3, deadline=6, retries=0), workers=12, per_host=3)
    finally:
        server.close()
    assert [r["id"] for r in results] == [t["id"] for t in targets]
    assert all(r["error_kind"] is None and r["chain"] for r in results)
    assert server.accepted == 12 and 2 <= server.peak <= 3


def test_retries_are_bounded(server_pem):
    for retries in (0, 2):
        server = CountingServer(server_pem, reset=True)
        try:
            result = _tls.probe_address({"id": "rst", "host": "127.0.0.1", "port": server.port, "sni": None, "starttls": None,
                                         "address": "127.0.0.1"}, _tls.Probe(timeout=3, deadline=6, retries=retries, backoff=0.01))
        finally:
            server.close()
        assert result["error_kind"] == "reset" and result["attempts"] == retries + 1
        assert server.accepted == retries + 1


def test_a_certificate_cryptography_refuses_still_reports_its_dates(tmp_path):
    """A real OpenSSL server sends a leaf whose serial length is BER, not DER (OpenSSL loads and sends it,
    cryptography refuses it): the probe reads it, the report keeps its dates, and openssl agrees on them."""
    import base64
    import subprocess

    from ansible_collections.sre.toolkit.plugins.module_utils._certs.chain import TrustStore
    from ansible_collections.sre.toolkit.plugins.module_utils._certs.report import Settings, endpoint_finding
    from tests.unit.plugins.module_utils.certs.pki import ber_serial, hierarchy

    root, inter, leaf = hierarchy()
    ber = ber_serial(leaf.cert)
    with pytest.raises(ValueError):
        x509.load_der_x509_certificate(ber)
    pem = tmp_path / "ber.pem"
    pem.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(ber) + b"-----END CERTIFICATE-----\n"
                    + inter.cert.public_bytes(serialization.Encoding.PEM)
                    + leaf.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server = CountingServer(pem)
    try:
        fetched = _tls.probe_address({"id": "ber", "host": "127.0.0.1", "port": server.port, "sni": "www.example.test",
                                      "starttls": None, "address": "127.0.0.1"}, _tls.Probe(timeout=3, deadline=6, retries=0))
    finally:
        server.close()
    assert fetched["error_kind"] is None and fetched["chain"][0] == ber
    now = datetime.datetime.now(datetime.timezone.utc)
    finding = endpoint_finding(fetched, Settings(now, now, TrustStore([root.cert])))
    first = finding["chain"][0]
    openssl = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-enddate", "-serial"], input=ber,
                             capture_output=True, check=True).stdout.decode()
    not_after = datetime.datetime.strptime(openssl.split("notAfter=")[1].splitlines()[0], "%b %d %H:%M:%S %Y %Z")
    assert first["parsed_raw"] is True and first["not_after"] == not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert int(openssl.split("serial=")[1].split()[0], 16) == first["serial"] == leaf.cert.serial_number
    assert finding["verify"] == "unparsable" and finding["expiry"]["not_after"] == first["not_after"]
