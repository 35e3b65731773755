# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS endpoint client: fetch the certificate chain exactly as sent, never verifying.

Python 3.11's ssl module exposes only the leaf of an unverified peer (the chain getters
arrived in 3.13), so the chain is read by our own minimal TLS client: it sends one
ClientHello offering TLS 1.3 down to 1.0 and reads the server's first flight. With TLS 1.2
and older the Certificate message is plaintext; with TLS 1.3 it derives the handshake keys
(X25519 or ECDH, HKDF, AEAD from cryptography) and decrypts the flight. It stops after the
Certificate (and CertificateRequest) messages: nothing is verified, nothing is sent back,
so expired, untrusted or client-certificate servers always yield their dates. The ssl
module is used to confirm that a server which asked for a client certificate really
requires one, and as a leaf-only fallback if the raw reader meets something it cannot parse.

STARTTLS (smtp, imap, pop3, ftp, postgres, mysql, ldap, xmpp) and HTTP CONNECT proxies happen on the
socket before the hello. Every socket operation has a timeout bounded by a total deadline
per target; retries are bounded; scan() runs a global worker pool with a per-host limit.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import ssl
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.sre.toolkit.plugins.module_utils._deps import OptionalImport

serialization = ec = x25519 = AESGCM = ChaCha20Poly1305 = None
with OptionalImport("cryptography") as CRYPTOGRAPHY:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, x25519
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
HAS_CRYPTOGRAPHY = CRYPTOGRAPHY.available

VERSION_NAMES = {0x0304: "TLSv1.3", 0x0303: "TLSv1.2", 0x0302: "TLSv1.1", 0x0301: "TLSv1", 0x0300: "SSLv3"}
VERSION_CODES = {name: code for code, name in VERSION_NAMES.items()}
MYSQL_SWITCH_PAUSE = 0.05
# read for the report, but an error for every modern default client
LEGACY_VERSIONS = frozenset(("SSLv3", "TLSv1", "TLSv1.1"))
RETRYABLE = frozenset(("timeout", "reset", "refused"))

# TLS 1.3 suites, then a broad TLS 1.2/1.0 list so old servers still answer
CIPHER_SUITES = (0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC009, 0xC013, 0xC00A,
                 0xC014, 0x009C, 0x009D, 0x002F, 0x0035, 0x000A, 0x00FF)
SIGNATURE_ALGORITHMS = (0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601,
                        0x0203, 0x0201)
GROUP_X25519, GROUP_P256, GROUP_P384, GROUP_P521 = 0x001D, 0x0017, 0x0018, 0x0019
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
SUITES_13 = {0x1301: ("aes", 16, hashlib.sha256), 0x1302: ("aes", 32, hashlib.sha384), 0x1303: ("chacha", 32, hashlib.sha256)}

ALERTS = {40: "handshake_failure", 42: "bad_certificate", 47: "illegal_parameter", 70: "protocol_version",
          71: "insufficient_security", 80: "internal_error", 112: "unrecognized_name", 116: "certificate_required"}


class TLSProbeError(Exception):
    """A failed probe: `kind` is the coarse error_kind, `reason` refines it."""

    def __init__(self, kind, reason, msg):
        super().__init__(msg)
        self.kind = kind
        self.reason = reason
        self.msg = msg


# ---------------------------------------------------------------- socket with a deadline

class Connection:
    """A socket whose every operation times out at min(op timeout, what is left of the deadline)."""

    def __init__(self, sock, timeout, deadline):
        self.sock = sock
        self.timeout = timeout
        self.deadline = deadline
        self.buffer = b""

    def _arm(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TLSProbeError("deadline", "deadline", "total deadline for the target exceeded")
        self.sock.settimeout(min(self.timeout, left))

    def send(self, data):
        self._arm()
        self.sock.sendall(data)

    def _fill(self):
        self._arm()
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by the server")
        self.buffer += chunk

    def read_exact(self, size):
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_line(self, limit=65536):
        while b"\n" not in self.buffer:
            if len(self.buffer) > limit:
                raise TLSProbeError("starttls", "bad_reply", "reply line too long")
            self._fill()
        line, _newline, self.buffer = self.buffer.partition(b"\n")
        return line.rstrip(b"\r").decode("latin-1")

    def read_until(self, marker, limit=65536, kind="proxy"):
        while marker not in self.buffer:
            if len(self.buffer) > limit:
                raise TLSProbeError(kind, "bad_reply", "%s reply too long" % kind)
            self._fill()
        head, _marker, self.buffer = self.buffer.partition(marker)
        return head


def _connect(address, port, timeout, deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise TLSProbeError("deadline", "deadline", "total deadline for the target exceeded")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(min(timeout, left))
    try:
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


# ---------------------------------------------------------------- STARTTLS and proxies

def _smtp_reply(conn):
    while True:
        line = conn.read_line()
        if len(line) < 4 or line[3] != "-":
            return line


def _expect(line, prefix, protocol):
    if not line.startswith(prefix):
        raise TLSProbeError("starttls", "refused_upgrade", "%s server refused the upgrade: %r" % (protocol, line[:200]))


def _starttls_smtp(conn, _server_name):
    _expect(_smtp_reply(conn), "220", "smtp")
    conn.send(b"EHLO sre-toolkit.cert-expiry\r\n")
    _expect(_smtp_reply(conn), "250", "smtp")
    conn.send(b"STARTTLS\r\n")
    _expect(_smtp_reply(conn), "220", "smtp")


def _starttls_imap(conn, _server_name):
    _expect(conn.read_line(), "* OK", "imap")
    conn.send(b"a1 STARTTLS\r\n")
    while True:
        line = conn.read_line()
        if line.startswith("a1 "):
            return _expect(line, "a1 OK", "imap")


def _starttls_pop3(conn, _server_name):
    _expect(conn.read_line(), "+OK", "pop3")
    conn.send(b"STLS\r\n")
    _expect(conn.read_line(), "+OK", "pop3")


def _starttls_ftp(conn, _server_name):
    _expect(_smtp_reply(conn), "220", "ftp")
    conn.send(b"AUTH TLS\r\n")
    _expect(_smtp_reply(conn), "234", "ftp")


def _starttls_postgres(conn, _server_name):
    conn.send(struct.pack("!II", 8, 80877103))  # SSLRequest
    answer = conn.read_exact(1)
    if answer != b"S":
        raise TLSProbeError("starttls", "refused_upgrade", "postgres server does not offer TLS (answered %r)" % answer)


def _starttls_mysql(conn, _server_name):
    header = conn.read_exact(4)
    payload = conn.read_exact(int.from_bytes(header[:3], "little"))
    if payload[:1] == b"\xff":
        raise TLSProbeError("starttls", "refused_upgrade", "mysql server sent an error instead of a greeting")
    version_end = payload.index(b"\0", 1)
    caps_offset = version_end + 1 + 4 + 8 + 1
    caps = struct.unpack("<H", payload[caps_offset:caps_offset + 2])[0]
    if not caps & 0x0800:
        raise TLSProbeError("starttls", "refused_upgrade", "mysql server does not support TLS")
    flags = 0x00000001 | 0x00000200 | 0x00000800 | 0x00008000 | 0x00080000
    request = struct.pack("<IIB", flags, 16 * 1024 * 1024, 0x21) + b"\0" * 23
    conn.send(struct.pack("<I", len(request))[:3] + bytes([header[3] + 1]) + request)
    # MySQL has no reply to the SSL request; servers that buffer reads (asyncio ones) lose a
    # ClientHello that arrives in the same segment, so give them a moment to switch to TLS.
    time.sleep(MYSQL_SWITCH_PAUSE)


# LDAPMessage {messageID 1, ExtendedRequest {requestName "1.3.6.1.4.1.1466.20037" (StartTLS)}}, RFC 4511
LDAP_STARTTLS_REQUEST = bytes.fromhex("301d02010177188016") + b"1.3.6.1.4.1.1466.20037"
LDAP_RESULT_NAMES = {0: "success", 2: "protocolError", 52: "unavailable", 53: "unwillingToPerform"}


def _ber_length(conn):
    first = conn.read_exact(1)[0]
    if first < 0x80:
        return first
    if not 0 < first - 0x80 <= 4:
        raise TLSProbeError("starttls", "bad_reply", "ldap reply with an unsupported BER length")
    return int.from_bytes(conn.read_exact(first - 0x80), "big")


def _starttls_ldap(conn, _server_name):
    conn.send(LDAP_STARTTLS_REQUEST)
    if conn.read_exact(1) != b"\x30":
        raise TLSProbeError("starttls", "bad_reply", "ldap server did not answer with an LDAPMessage")
    body = conn.read_exact(_ber_length(conn))
    # messageID (02 01 01), then ExtendedResponse [APPLICATION 24] whose first element is the resultCode ENUMERATED
    at = body.find(b"\x78")
    code_at = body.find(b"\x0a\x01", at) if at >= 0 else -1
    if code_at < 0:
        raise TLSProbeError("starttls", "bad_reply", "ldap reply holds no ExtendedResponse result code")
    code = body[code_at + 2]
    if code != 0:
        raise TLSProbeError("starttls", "refused_upgrade", "ldap server refused StartTLS: %s (%d)" % (
            LDAP_RESULT_NAMES.get(code, "resultCode"), code))


def _xmpp(namespace):
    def starttls(conn, server_name):
        domain = server_name or "localhost"
        conn.send(("<?xml version='1.0'?><stream:stream to='%s' xmlns='%s' xmlns:stream='http://etherx.jabber.org/streams'"
                   " version='1.0'>" % (domain, namespace)).encode())
        features = conn.read_until(b"</stream:features>", kind="starttls").decode("utf-8", "replace")
        if "urn:ietf:params:xml:ns:xmpp-tls" not in features:
            raise TLSProbeError("starttls", "refused_upgrade", "xmpp server does not offer STARTTLS")
        conn.send(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        answer = conn.read_until(b"/>", kind="starttls").decode("utf-8", "replace")
        if "<proceed" not in answer:
            raise TLSProbeError("starttls", "refused_upgrade", "xmpp server refused STARTTLS: %r" % answer[-200:])
    return starttls


STARTTLS = {"smtp": _starttls_smtp, "imap": _starttls_imap, "pop3": _starttls_pop3, "ftp": _starttls_ftp,
            "postgres": _starttls_postgres, "mysql": _starttls_mysql, "ldap": _starttls_ldap,
            "xmpp": _xmpp("jabber:client"), "xmpp-server": _xmpp("jabber:server")}


def _http_connect(conn, host, port, proxy_auth=None):
    target = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    request = "CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (target, target)
    if proxy_auth:
        request += "Proxy-Authorization: Basic %s\r\n" % proxy_auth
    conn.send((request + "\r\n").encode())
    head = conn.read_until(b"\r\n\r\n").decode("latin-1")
    status = head.split("\r\n", 1)[0]
    parts = status.split(" ", 2)
    if len(parts) < 2 or parts[1] != "200":
        raise TLSProbeError("proxy", "connect_refused", "proxy refused CONNECT %s: %s" % (target, status))


# ---------------------------------------------------------------- the ClientHello

def _vec(data, width):
    return len(data).to_bytes(width, "big") + data


def _u16s(values):
    return b"".join(struct.pack("!H", v) for v in values)


class KeyShare:
    """One ephemeral key for the group the hello offers (X25519 unless the server asked otherwise)."""

    CURVES = {GROUP_P256: "SECP256R1", GROUP_P384: "SECP384R1", GROUP_P521: "SECP521R1"}

    def __init__(self, group):
        self.group = group
        if group == GROUP_X25519:
            self.private = x25519.X25519PrivateKey.generate()
            self.public = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        else:
            self.private = ec.generate_private_key(getattr(ec, self.CURVES[group])())
            self.public = self.private.public_key().public_bytes(serialization.Encoding.X962,
                                                                 serialization.PublicFormat.UncompressedPoint)

    def shared(self, peer):
        if self.group == GROUP_X25519:
            return self.private.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
        curve = getattr(ec, self.CURVES[self.group])()
        return self.private.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(curve, peer))


def client_hello(server_name, versions, share):
    """The handshake message (type 1) offering `versions` (codes, highest first)."""
    extensions = b""
    if server_name:
        name = server_name.encode("ascii")
        extensions += struct.pack("!H", 0) + _vec(_vec(b"\x00" + _vec(name, 2), 2), 2)
    groups = (GROUP_X25519, GROUP_P256, GROUP_P384, GROUP_P521)
    extensions += struct.pack("!H", 10) + _vec(_vec(_u16s(groups), 2), 2)
    extensions += struct.pack("!H", 11) + _vec(b"\x01\x00", 2)
    extensions += struct.pack("!H", 13) + _vec(_vec(_u16s(SIGNATURE_ALGORITHMS), 2), 2)
    extensions += struct.pack("!H", 23) + _vec(b"", 2)  # extended_master_secret
    if 0x0304 in versions and share is not None:
        extensions += struct.pack("!H", 43) + _vec(_vec(_u16s(versions), 1), 2)
        extensions += struct.pack("!H", 45) + _vec(b"\x01\x01", 2)
        entry = struct.pack("!H", share.group) + _vec(share.public, 2)
        extensions += struct.pack("!H", 51) + _vec(_vec(entry, 2), 2)
    legacy_version = min(max(v for v in versions if v <= 0x0303), 0x0303) if any(v <= 0x0303 for v in versions) else 0x0303
    suites = CIPHER_SUITES if 0x0304 in versions else tuple(s for s in CIPHER_SUITES if s >> 8 != 0x13)
    body = (struct.pack("!H", legacy_version) + os.urandom(32) + _vec(os.urandom(32), 1)
            + _vec(_u16s(suites), 2) + b"\x01\x00" + _vec(extensions, 2))
    return b"\x01" + _vec(body, 3)


def _record(content_type, payload, version=0x0301):
    return struct.pack("!BHH", content_type, version, len(payload)) + payload


# ---------------------------------------------------------------- TLS 1.3 handshake decryption

def _hkdf_extract(hash_fn, salt, ikm):
    return hmac.new(salt, ikm, hash_fn).digest()


def _hkdf_expand_label(hash_fn, secret, label, context, length):
    full = b"tls13 " + label
    info = struct.pack("!H", length) + _vec(full, 1) + _vec(context, 1)
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([counter]), hash_fn).digest()
        out += block
        counter += 1
    return out[:length]


class HandshakeDecrypter:
    """Server handshake traffic keys of TLS 1.3 (RFC 8446 section 7.1), from the transcript so far."""

    def __init__(self, suite, shared_secret, transcript):
        kind, key_len, hash_fn = SUITES_13[suite]
        size = hash_fn().digest_size
        early = _hkdf_extract(hash_fn, b"\0" * size, b"\0" * size)
        derived = _hkdf_expand_label(hash_fn, early, b"derived", hash_fn(b"").digest(), size)
        handshake = _hkdf_extract(hash_fn, derived, shared_secret)
        secret = _hkdf_expand_label(hash_fn, handshake, b"s hs traffic", hash_fn(transcript).digest(), size)
        key = _hkdf_expand_label(hash_fn, secret, b"key", b"", key_len)
        self.iv = _hkdf_expand_label(hash_fn, secret, b"iv", b"", 12)
        self.aead = AESGCM(key) if kind == "aes" else ChaCha20Poly1305(key)
        self.sequence = 0

    def decrypt(self, header, payload):
        nonce = bytes(a ^ b for a, b in zip(self.iv, self.sequence.to_bytes(12, "big")))
        self.sequence += 1
        plain = self.aead.decrypt(nonce, payload, header).rstrip(b"\0")
        return plain[-1], plain[:-1]


# ---------------------------------------------------------------- reading the server flight

def _parse_extensions(data):
    out, offset = {}, 0
    while offset + 4 <= len(data):
        kind, length = struct.unpack("!HH", data[offset:offset + 4])
        out[kind] = data[offset + 4:offset + 4 + length]
        offset += 4 + length
    return out


def parse_server_hello(body):
    """(version code, suite, extensions, is_hrr) of a ServerHello body."""
    legacy_version = struct.unpack("!H", body[:2])[0]
    random = body[2:34]
    session_len = body[34]
    offset = 35 + session_len
    suite = struct.unpack("!H", body[offset:offset + 2])[0]
    offset += 3  # suite + compression
    extensions = {}
    if offset + 2 <= len(body):
        ext_len = struct.unpack("!H", body[offset:offset + 2])[0]
        extensions = _parse_extensions(body[offset + 2:offset + 2 + ext_len])
    version = legacy_version
    if 43 in extensions and len(extensions[43]) == 2:
        version = struct.unpack("!H", extensions[43])[0]
    return version, suite, extensions, random == HRR_RANDOM


def parse_certificate_message(body, tls13):
    """DER certificates of a Certificate handshake message, in the order sent."""
    offset = 0
    if tls13:
        offset = 1 + body[0]  # certificate_request_context
    total = int.from_bytes(body[offset:offset + 3], "big")
    offset += 3
    end = offset + total
    certs = []
    while offset + 3 <= end:
        size = int.from_bytes(body[offset:offset + 3], "big")
        certs.append(body[offset + 3:offset + 3 + size])
        offset += 3 + size
        if tls13:
            offset += 2 + struct.unpack("!H", body[offset:offset + 2])[0]
    return certs


class FlightReader:
    """Reads records, decrypting once TLS 1.3 keys exist, and yields handshake messages."""

    def __init__(self, conn):
        self.conn = conn
        self.decrypter = None
        self.pending = b""
        self.first = True

    def _record(self):
        header = self.conn.read_exact(5)
        content_type, _version, length = struct.unpack("!BHH", header)
        if self.first:
            self.first = False
            if content_type not in (20, 21, 22, 23) or length > 18432:
                raise TLSProbeError("handshake", "not_tls", "the server did not answer with TLS (got %r)" % header[:16])
        if length > 18432:
            raise TLSProbeError("handshake", "bad_record", "record too long: %d bytes" % length)
        payload = self.conn.read_exact(length)
        if content_type == 23 and self.decrypter is not None:
            return self.decrypter.decrypt(header, payload)
        return content_type, payload

    def message(self):
        """(type, body, raw bytes) of the next handshake message."""
        while True:
            if len(self.pending) >= 4:
                size = int.from_bytes(self.pending[1:4], "big")
                if len(self.pending) >= 4 + size:
                    raw, self.pending = self.pending[:4 + size], self.pending[4 + size:]
                    return raw[0], raw[4:], raw
            content_type, payload = self._record()
            if content_type == 22:
                self.pending += payload
            elif content_type == 21:
                description = payload[1] if len(payload) > 1 else -1
                raise _alert_error(description)
            elif content_type == 20:
                continue  # middlebox-compatibility ChangeCipherSpec
            else:
                raise TLSProbeError("handshake", "unexpected_record", "unexpected record type %d during the handshake" % content_type)


def _alert_error(description):
    name = ALERTS.get(description, "alert_%d" % description)
    if description == 70:
        return TLSProbeError("tls_version", "protocol_version", "the server accepts none of the offered TLS versions")
    if description == 116:
        return TLSProbeError("client_cert_required", "client_cert_required", "the server requires a client certificate")
    return TLSProbeError("handshake", name, "the server aborted the handshake with alert %s" % name)


def read_server_flight(conn, server_name, versions, group=GROUP_X25519):
    """Send the hello and read up to the Certificate; returns a dict (raises TLSProbeError)."""
    share = KeyShare(group) if 0x0304 in versions else None
    hello = client_hello(server_name, versions, share)
    conn.send(_record(22, hello))
    reader = FlightReader(conn)
    kind, body, raw = reader.message()
    if kind != 2:
        raise TLSProbeError("handshake", "unexpected_message", "expected ServerHello, got handshake type %d" % kind)
    version, suite, extensions, is_hrr = parse_server_hello(body)
    if is_hrr:
        wanted = struct.unpack("!H", extensions.get(51, b"\0\0")[:2])[0]
        return {"retry_group": wanted}
    result = {"version": VERSION_NAMES.get(version, "0x%04x" % version), "chain": [], "client_cert_requested": False}
    tls13 = version == 0x0304
    if tls13:
        if suite not in SUITES_13 or 51 not in extensions:
            raise TLSProbeError("handshake", "unsupported_suite", "TLS 1.3 server chose suite 0x%04x" % suite)
        peer_group = struct.unpack("!H", extensions[51][:2])[0]
        peer_key = extensions[51][4:4 + struct.unpack("!H", extensions[51][2:4])[0]]
        if peer_group != share.group:
            raise TLSProbeError("handshake", "bad_key_share", "server key share for a group we did not offer")
        reader.decrypter = HandshakeDecrypter(suite, share.shared(peer_key), hello + raw)
    while True:
        kind, body, raw = reader.message()
        if kind == 11:
            result["chain"] = parse_certificate_message(body, tls13)
            if tls13:
                return result  # CertificateRequest, if any, comes before Certificate in 1.3
        elif kind == 13:
            result["client_cert_requested"] = True
        elif kind == 14 or kind == 15 or kind == 20:
            return result  # ServerHelloDone / CertificateVerify / Finished: the flight is over


# ---------------------------------------------------------------- one probe

def _classify(exc):
    """Map a low-level exception to (kind, reason, message)."""
    if isinstance(exc, TLSProbeError):
        return exc.kind, exc.reason, exc.msg
    if isinstance(exc, socket.gaierror):
        return "dns", "dns", "name resolution failed: %s" % exc
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "refused", "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout", "no_response", "timed out waiting for the server"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "reset", "reset", "connection reset by the server"
    if isinstance(exc, EOFError):
        return "handshake", "closed", "the server closed the connection during the handshake"
    if isinstance(exc, ssl.SSLError):
        return "handshake", getattr(exc, "reason", None) or "ssl_error", "TLS error: %s" % exc
    if isinstance(exc, OSError):
        return "connection", "os_error", "connection failed: %s" % exc
    return "handshake", "parse_error", "could not read the handshake: %s: %s" % (type(exc).__name__, exc)


class Probe:
    """Options for probing one endpoint address."""

    def __init__(self, timeout=10.0, deadline=30.0, retries=1, backoff=0.2, min_version=None, max_version=None,
                 proxy=None, proxy_auth=None, client_cert=None, client_key=None, confirm_client_cert=True):
        self.timeout = timeout
        self.deadline = deadline
        self.retries = retries
        self.backoff = backoff
        self.versions = tuple(code for code in (0x0304, 0x0303, 0x0302, 0x0301)
                              if VERSION_CODES.get(min_version or "TLSv1", 0x0301) <= code <= VERSION_CODES.get(max_version or "TLSv1.3", 0x0304))
        self.proxy = proxy  # (host, port) of an HTTP CONNECT proxy
        self.proxy_auth = proxy_auth
        self.client_cert = client_cert
        self.client_key = client_key
        self.confirm_client_cert = confirm_client_cert


def _open(target, probe, deadline):
    """TCP connect (through the proxy if any), then STARTTLS; returns a Connection."""
    if probe.proxy:
        sock = _connect(probe.proxy[0], probe.proxy[1], probe.timeout, deadline)
    else:
        sock = _connect(target["address"], target["port"], probe.timeout, deadline)
    conn = Connection(sock, probe.timeout, deadline)
    try:
        if probe.proxy:
            _http_connect(conn, target["host"], target["port"], probe.proxy_auth)
        if target.get("starttls"):
            STARTTLS[target["starttls"]](conn, target.get("sni") or target.get("host"))
    except BaseException:
        sock.close()
        raise
    return conn


def _read_chain(target, probe, deadline):
    group = GROUP_X25519
    for _attempt in range(2):  # a HelloRetryRequest asks for another group once
        conn = _open(target, probe, deadline)
        try:
            flight = read_server_flight(conn, target.get("sni"), probe.versions, group)
        finally:
            conn.sock.close()
        if "retry_group" not in flight:
            return flight
        if flight["retry_group"] not in KeyShare.CURVES:
            break
        group = flight["retry_group"]
    raise TLSProbeError("handshake", "hello_retry", "the server asked for an unsupported key exchange group")


def _ssl_handshake(target, probe, deadline, with_client_cert):
    """A real ssl handshake without verification; returns (version, leaf DER); raises on failure."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if with_client_cert and probe.client_cert:
        context.load_cert_chain(probe.client_cert, probe.client_key)
    conn = _open(target, probe, deadline)
    try:
        conn._arm()
        tls = context.wrap_socket(conn.sock, server_hostname=target.get("sni") or None, do_handshake_on_connect=False)
        tls.do_handshake()
        version, leaf = tls.version(), tls.getpeercert(binary_form=True)
        # TLS 1.3 servers judge the client certificate after the client's Finished: read once to hear it
        tls.settimeout(min(probe.timeout, 1.0, max(0.05, deadline - time.monotonic())))
        try:
            tls.recv(1)
        except (socket.timeout, TimeoutError, ssl.SSLWantReadError):
            pass
        except ssl.SSLZeroReturnError:
            pass
        return version, leaf
    finally:
        conn.sock.close()


def _rejected(target, probe, deadline, with_client_cert):
    """True when the server rejects a handshake (without, or with the configured, client certificate)."""
    try:
        _ssl_handshake(target, probe, deadline, with_client_cert=with_client_cert)
        return False
    except ssl.SSLError as exc:
        text = str(exc).lower()
        return "certificate" in text or "handshake failure" in text or "alert" in text
    except (ConnectionResetError, EOFError, BrokenPipeError):
        return True


def _check_client_cert(result, target, probe, deadline):
    """The server asked for a client certificate: is one required, and is ours accepted?"""
    try:
        if not _rejected(target, probe, deadline, with_client_cert=False):
            return
        result["requires_client_cert"] = True
        if probe.client_cert and not _rejected(target, probe, deadline, with_client_cert=True):
            result["client_cert_accepted"] = True
            return
        result.update(error_kind="client_cert_required", error_reason="client_cert_required",
                      error="the server requires a client certificate%s; its chain was read before the failure" % (
                          " and rejected the one given (tls_client_cert)" if probe.client_cert else ""))
    except Exception as exc:  # a probe that fails here still keeps the chain it read
        kind, reason, message = _classify(exc)
        result.update(error_kind=kind, error_reason=reason, error="client certificate check: %s" % message)


def probe_address(target, probe):
    """Probe one (host, port, address, sni, starttls); never raises, returns a plain dict."""
    started = time.monotonic()
    deadline = started + probe.deadline
    result = dict(target, chain=[], tls_version=None, client_cert_requested=False, requires_client_cert=False, client_cert_accepted=None,
                  error_kind=None, error_reason=None, error=None, attempts=0, method="raw", fallback_reason=None)
    server_name = target.get("sni")
    if server_name and not server_name.isascii():  # SNI is ASCII (RFC 6066): the caller converts U-labels (targets.py)
        result.update(error_kind="invalid", error_reason="sni_not_ascii", method=None, elapsed=0.0,
                      error="server name %r is not ASCII: give its A-label (xn--...), as SNI carries A-labels only" % server_name)
        return result
    for attempt in range(probe.retries + 1):
        result["attempts"] = attempt + 1
        try:
            flight = _read_chain(target, probe, deadline)
            result.update(chain=flight["chain"], tls_version=flight["version"],
                          client_cert_requested=flight["client_cert_requested"], error_kind=None, error_reason=None, error=None)
            break
        except Exception as exc:  # every failure becomes data about this target
            kind, reason, message = _classify(exc)
            result.update(error_kind=kind, error_reason=reason, error=message)
            if reason == "parse_error" and HAS_CRYPTOGRAPHY:
                _leaf_fallback(result, target, probe, deadline)
                break
            if kind not in RETRYABLE or attempt == probe.retries or time.monotonic() + probe.backoff >= deadline:
                break
            time.sleep(probe.backoff * (2 ** attempt))
    if result["tls_version"] in LEGACY_VERSIONS and result["error_kind"] is None:
        result.update(error_kind="tls_version", error_reason="legacy_only",
                      error="the server negotiated %s only; default clients (TLS 1.2 and later) refuse it" % result["tls_version"])
    if result["client_cert_requested"] and probe.confirm_client_cert and result["error_kind"] is None:
        _check_client_cert(result, target, probe, deadline)
    result["elapsed"] = round(time.monotonic() - started, 4)
    return result


def _leaf_fallback(result, target, probe, deadline):
    """Our reader met something it cannot parse: let ssl fetch at least the leaf (method and fallback_reason say so)."""
    result["fallback_reason"] = result["error"]
    try:
        version, leaf = _ssl_handshake(target, probe, deadline, with_client_cert=False)
        result.update(chain=[leaf] if leaf else [], tls_version=version, method="ssl_leaf_only",
                      error_kind=None, error_reason=None, error=None)
    except Exception as exc:
        kind, reason, message = _classify(exc)
        result.update(error_kind=kind, error_reason=reason, error=message)


# ---------------------------------------------------------------- many targets

def resolve(host, port, all_addresses):
    """Addresses to probe for host: all of them (sorted, de-duplicated) or the first."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = []
    for info in infos:
        address = info[4][0]
        if address not in addresses:
            addresses.append(address)
    return sorted(addresses) if all_addresses else addresses[:1]


class HostLimiter:
    """A semaphore per host so no server sees more than `limit` of our connections at once."""

    def __init__(self, limit):
        self.limit = limit
        self.lock = threading.Lock()
        self.semaphores = {}

    def get(self, host):
        with self.lock:
            if host not in self.semaphores:
                self.semaphores[host] = threading.BoundedSemaphore(self.limit)
            return self.semaphores[host]


def scan(targets, probe, workers=32, per_host=8, all_addresses=False, transform=None):
    """Probe every target dict (id, host, port, sni, starttls); returns one result per address, in input order.

    `transform`, if given, is applied to each result in the worker that fetched it, so the
    caller's CPU work (parsing, verifying) overlaps with other probes' network waits.
    """
    finish = transform or (lambda result: result)
    limiter = HostLimiter(per_host)

    def expand(target):
        if probe.proxy:  # the proxy resolves the name
            return [dict(target, address=None)]
        try:
            return [dict(target, address=address) for address in resolve(target["host"], target["port"], all_addresses)]
        except (socket.gaierror, UnicodeError, OSError) as exc:
            kind, reason, message = _classify(exc if isinstance(exc, socket.gaierror) else socket.gaierror(str(exc)))
            return [dict(target, address=None, chain=[], tls_version=None, error_kind=kind, error_reason=reason, error=message,
                         attempts=1, client_cert_requested=False, requires_client_cert=False, method=None, fallback_reason=None,
                         elapsed=0.0)]

    def run(target):
        if target.get("error_kind"):
            return finish(target)
        with limiter.get(target["address"] or target["host"]):
            result = probe_address(target, probe)
        return finish(result)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        expanded = [item for group in pool.map(expand, targets) for item in group]
        return list(pool.map(run, expanded))
