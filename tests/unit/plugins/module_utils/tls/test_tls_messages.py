"""Pure parts of the TLS client: the hello, record parsing, the TLS 1.3 key schedule (RFC 8448 vectors)."""
from __future__ import annotations

import struct

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils import _tls

# RFC 8448 section 3 (simple 1-RTT handshake): shared secret, transcript hash input and the
# server handshake traffic key / iv derived from them.
RFC8448_SHARED = bytes.fromhex("8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d")
RFC8448_CLIENT_HELLO = bytes.fromhex(
    "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302010000910000000b"
    "0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400230000003300260024001d002099"
    "381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e04030503060302030804080"
    "5080604010501060102010402050206020202002d00020101001c00024001")
RFC8448_SERVER_HELLO = bytes.fromhex(
    "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024001d0020c9828876"
    "112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304")
RFC8448_SERVER_KEY = bytes.fromhex("3fce516009c21727d0f2e4e86ee403bc")
RFC8448_SERVER_IV = bytes.fromhex("5d313eb2671276ee13000b30")


def test_tls13_handshake_keys_match_rfc8448():
    decrypter = _tls.HandshakeDecrypter(0x1301, RFC8448_SHARED, RFC8448_CLIENT_HELLO + RFC8448_SERVER_HELLO)
    assert decrypter.iv == RFC8448_SERVER_IV
    # the AEAD key is private to AESGCM: check it by sealing the same bytes both ways
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    nonce = bytes(12)
    assert decrypter.aead.encrypt(nonce, b"x", b"") == AESGCM(RFC8448_SERVER_KEY).encrypt(nonce, b"x", b"")


def test_server_hello_parsing_reads_supported_versions():
    version, suite, extensions, is_hrr = _tls.parse_server_hello(RFC8448_SERVER_HELLO[4:])
    assert (version, suite, is_hrr) == (0x0304, 0x1301, False)
    assert extensions[51][:2] == b"\x00\x1d"


def test_hello_retry_request_is_recognised():
    body = struct.pack("!H", 0x0303) + _tls.HRR_RANDOM + b"\x00" + struct.pack("!H", 0x1301) + b"\x00"
    ext = struct.pack("!HH", 43, 2) + struct.pack("!H", 0x0304) + struct.pack("!HH", 51, 2) + struct.pack("!H", 0x0017)
    body += struct.pack("!H", len(ext)) + ext
    assert _tls.parse_server_hello(body)[3] is True


def _certificate_message(ders, tls13):
    entries = b"".join(len(d).to_bytes(3, "big") + d + (b"\x00\x00" if tls13 else b"") for d in ders)
    body = (b"\x00" if tls13 else b"") + len(entries).to_bytes(3, "big") + entries
    return body


@pytest.mark.parametrize("tls13", [False, True])
def test_certificate_message_keeps_order(tls13):
    ders = [b"\x30\x03leaf", b"\x30\x05inter", b"\x30\x04root"]
    assert _tls.parse_certificate_message(_certificate_message(ders, tls13), tls13) == ders


def test_client_hello_offers_sni_versions_and_one_key_share():
    share = _tls.KeyShare(_tls.GROUP_X25519)
    hello = _tls.client_hello("xn--bcher-kva.example", (0x0304, 0x0303, 0x0301), share)
    assert hello[0] == 1 and int.from_bytes(hello[1:4], "big") == len(hello) - 4
    assert b"xn--bcher-kva.example" in hello and share.public in hello
    legacy_only = _tls.client_hello(None, (0x0302, 0x0301), None)
    assert struct.unpack("!H", legacy_only[4:6])[0] == 0x0302 and b"\x13\x01" not in legacy_only[40:80]


class FakeSocket:
    def __init__(self, data):
        self.data = data
        self.sent = b""

    def sendall(self, data):
        self.sent += data

    def settimeout(self, _value):
        pass

    def recv(self, size):
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def _connection(data):
    import time
    return _tls.Connection(FakeSocket(data), 1.0, time.monotonic() + 5)


def test_plain_http_answer_is_not_tls():
    reader = _tls.FlightReader(_connection(b"HTTP/1.1 400 Bad Request\r\n\r\n"))
    with pytest.raises(_tls.TLSProbeError) as info:
        reader.message()
    assert (info.value.kind, info.value.reason) == ("handshake", "not_tls")


@pytest.mark.parametrize("alert,kind,reason", [(70, "tls_version", "protocol_version"), (116, "client_cert_required", "client_cert_required"),
                                               (40, "handshake", "handshake_failure")])
def test_alerts_map_to_error_kinds(alert, kind, reason):
    reader = _tls.FlightReader(_connection(b"\x15\x03\x03\x00\x02\x02" + bytes([alert])))
    with pytest.raises(_tls.TLSProbeError) as info:
        reader.message()
    assert (info.value.kind, info.value.reason) == (kind, reason)


def test_deadline_stops_reads():
    import time
    conn = _tls.Connection(FakeSocket(b""), 1.0, time.monotonic() - 1)
    with pytest.raises(_tls.TLSProbeError) as info:
        conn.read_exact(1)
    assert info.value.kind == "deadline"


def test_probe_versions_follow_min_and_max():
    assert _tls.Probe(min_version="TLSv1.2").versions == (0x0304, 0x0303)
    assert _tls.Probe(max_version="TLSv1.2").versions == (0x0303, 0x0302, 0x0301)


def _ldap_response(code):
    inner = b"\x0a\x01" + bytes([code]) + b"\x04\x00\x04\x00"
    message = b"\x02\x01\x01" + b"\x78" + bytes([len(inner)]) + inner
    return b"\x30" + bytes([len(message)]) + message


def test_ldap_starttls_sends_the_extended_request_and_reads_the_result():
    conn = _connection(_ldap_response(0))
    _tls.STARTTLS["ldap"](conn, "ldap.test")
    assert conn.sock.sent == _tls.LDAP_STARTTLS_REQUEST and b"1.3.6.1.4.1.1466.20037" in conn.sock.sent
    with pytest.raises(_tls.TLSProbeError) as info:
        _tls.STARTTLS["ldap"](_connection(_ldap_response(2)), "ldap.test")
    assert (info.value.kind, info.value.reason) == ("starttls", "refused_upgrade") and "protocolError" in info.value.msg


FEATURES = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
            b"id='x' version='1.0'><stream:features>%s</stream:features>")


def test_xmpp_starttls_names_the_domain_and_waits_for_proceed():
    offer = FEATURES % b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    conn = _connection(offer + b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    _tls.STARTTLS["xmpp"](conn, "chat.test")
    assert b"to='chat.test'" in conn.sock.sent and b"xmlns='jabber:client'" in conn.sock.sent
    assert conn.sock.sent.endswith(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>") and conn.buffer == b""
    server = _connection(offer + b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    _tls.STARTTLS["xmpp-server"](server, "chat.test")
    assert b"xmlns='jabber:server'" in server.sock.sent


@pytest.mark.parametrize("reply", [FEATURES % b"<mechanisms/>", FEATURES % b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
                                   + b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"])
def test_xmpp_without_starttls_or_refusing_it_is_refused_upgrade(reply):
    with pytest.raises(_tls.TLSProbeError) as info:
        _tls.STARTTLS["xmpp"](_connection(reply), "chat.test")
    assert (info.value.kind, info.value.reason) == ("starttls", "refused_upgrade")
