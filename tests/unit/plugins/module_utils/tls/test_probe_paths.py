"""Which probe path fetched a chain is part of the result (a real local TLS server; the raw reader forced to fail)."""
from __future__ import annotations

import socket
import ssl
import threading

from cryptography.hazmat.primitives import serialization

from ansible_collections.sre.toolkit.plugins.module_utils import _tls

from ..certs.pki import hierarchy


def _serve(tmp_path, chain, key):
    (tmp_path / "chain.pem").write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "chain.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))

    def accept():
        while True:
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass
    threading.Thread(target=accept, daemon=True).start()
    return listener


def test_fallback_probe_names_itself_and_why(tmp_path, monkeypatch):
    _root, inter, leaf = hierarchy()
    listener = _serve(tmp_path, [leaf.cert, inter.cert], leaf.key)
    try:
        def unreadable(*_args, **_kw):
            raise ValueError("a flight our reader cannot parse")
        monkeypatch.setattr(_tls, "read_server_flight", unreadable)
        target = {"id": "x", "host": "127.0.0.1", "address": "127.0.0.1", "port": listener.getsockname()[1], "sni": "www.example.test"}
        result = _tls.probe_address(target, _tls.Probe(timeout=3, deadline=6, retries=0))
    finally:
        listener.close()
    assert result["method"] == "ssl_leaf_only" and "cannot parse" in result["fallback_reason"]
    assert len(result["chain"]) == 1 and result["error_kind"] is None  # the intermediate the server sent is not there


def test_non_ascii_server_name_is_refused_not_sent_through_a_fallback():
    target = {"id": "x", "host": "127.0.0.1", "address": "127.0.0.1", "port": 9, "sni": "bücher.example"}
    result = _tls.probe_address(target, _tls.Probe(timeout=1, deadline=2, retries=0))
    assert (result["error_kind"], result["error_reason"], result["chain"]) == ("invalid", "sni_not_ascii", [])
    assert "A-label" in result["error"] and result["attempts"] == 0
