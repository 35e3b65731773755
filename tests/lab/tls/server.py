#!/usr/bin/env python3
"""The TLS lab daemon: every lab endpoint served from one process on 127.0.0.1 (asyncio plus threads).

    python server.py CONFIG.json

CONFIG lists listeners (written by tests/lab/tls/generate.py). The daemon binds each one (port 0
means "pick one"), writes {id: port} to the config's `ports_file` once everything listens, and
serves until SIGTERM. Standard library only: it must start fast and cheaply, 500+ listeners
included.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import warnings

HOST = "127.0.0.1"
IDLE_TIMEOUT = 10.0
warnings.filterwarnings("ignore", category=DeprecationWarning)  # ssl.TLSVersion.TLSv1: the legacy endpoint wants it
VERSIONS = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
_QUIET = (ssl.SSLError, ConnectionError, TimeoutError, asyncio.IncompleteReadError, OSError)


# ---------------------------------------------------------------- TLS contexts

def _context(spec: dict) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if spec.get("ciphers"):
        ctx.set_ciphers(spec["ciphers"])
    ctx.minimum_version = VERSIONS[spec.get("min_version", "TLSv1.2")]
    ctx.maximum_version = VERSIONS[spec.get("max_version", "TLSv1.3")]
    ctx.load_cert_chain(spec["cert"], spec["key"])
    if spec.get("client_ca"):
        ctx.load_verify_locations(spec["client_ca"])
        ctx.verify_mode = ssl.CERT_REQUIRED
    sni = {name: _context({**spec, **alt, "sni": None}) for name, alt in (spec.get("sni") or {}).items()}
    if sni:
        def pick(sslobj, server_name, _ctx):
            if server_name in sni:
                sslobj.context = sni[server_name]
        ctx.sni_callback = pick
    return ctx


class LazyContext:
    """Builds the SSLContext at the first connection: 500 scale listeners start in no time."""

    def __init__(self, spec: dict):
        self.spec, self._ctx = spec, None

    def get(self) -> ssl.SSLContext:
        if self._ctx is None:
            self._ctx = _context(self.spec)
        return self._ctx


# ---------------------------------------------------------------- asyncio helpers (plain TLS, failing ports)

async def _send(writer: asyncio.StreamWriter, text: str) -> None:
    writer.write(text.encode())
    await writer.drain()


async def _answer_http(reader, writer, spec: dict) -> None:
    try:
        await asyncio.wait_for(reader.read(4096), IDLE_TIMEOUT)
    except asyncio.TimeoutError:
        return
    body = f"sre-toolkit TLS lab endpoint {spec['id']}\n"
    await _send(writer, f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}")


async def _close(writer: asyncio.StreamWriter) -> None:
    try:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 2)
    except (*_QUIET, asyncio.TimeoutError):
        pass


# ---------------------------------------------------------------- STARTTLS dialogues (blocking, one thread per connection)

class Conn:
    """A blocking connection that never reads past what the dialogue asked for.

    A buffered reader would swallow a ClientHello sent right behind the upgrade request (MySQL
    clients do exactly that), and the TLS layer would never see it.
    """

    def __init__(self, sock: socket.socket, ctx: ssl.SSLContext):
        self.sock, self.ctx = sock, ctx

    def readline(self, limit: int = 4096) -> bytes:
        line = bytearray()
        while len(line) < limit:
            byte = self.sock.recv(1)
            if not byte:
                break
            line += byte
            if byte == b"\n":
                break
        return bytes(line)

    def readexactly(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("peer closed")
            data += chunk
        return bytes(data)

    def read_until(self, marker: bytes, limit: int = 65536) -> bytes:
        data = bytearray()
        while not data.endswith(marker) and len(data) < limit:
            byte = self.sock.recv(1)
            if not byte:
                raise ConnectionError("peer closed")
            data += byte
        return bytes(data)

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def upgrade(self) -> None:
        # keep the socket when the handshake fails: close() right away would turn the alert into a RST
        self.sock = self.ctx.wrap_socket(self.sock, server_side=True, do_handshake_on_connect=False)
        self.sock.do_handshake()

    def close(self) -> None:
        """Half-close, drain what the client still sends, then close: a close with unread data
        sends RST, and the client would lose the alert (TLS 1.3 clients write before they read it)."""
        try:
            self.sock.shutdown(socket.SHUT_WR)  # on an SSLSocket this drops the TLS layer first
            self.sock.settimeout(1.0)
            while self.sock.recv(65536):
                pass
        except (OSError, ValueError):
            pass
        finally:
            self.sock.close()

    def commands(self):
        """Yield (verb, whole line) until the client closes."""
        while True:
            line = self.readline().strip()
            if not line:
                return
            yield line.split(b" ", 1)[0].upper().decode(errors="replace"), line.decode(errors="replace")


def _smtp(conn: Conn) -> None:
    conn.send("220 smtp.lab.test ESMTP sre-toolkit lab\r\n")
    tls = False
    for verb, _ in conn.commands():
        if verb == "EHLO":
            conn.send("250-smtp.lab.test\r\n250-PIPELINING\r\n" + ("" if tls else "250-STARTTLS\r\n") + "250 8BITMIME\r\n")
        elif verb == "HELO":
            conn.send("250 smtp.lab.test\r\n")
        elif verb == "STARTTLS" and not tls:
            conn.send("220 2.0.0 Ready to start TLS\r\n")
            conn.upgrade()
            tls = True
        elif verb == "QUIT":
            return conn.send("221 2.0.0 Bye\r\n")
        else:
            conn.send("250 OK\r\n" if tls else "530 5.7.0 Must issue a STARTTLS command first\r\n")


def _imap(conn: Conn) -> None:
    conn.send("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] imap.lab.test ready\r\n")
    tls = False
    for _, line in conn.commands():
        tag, _, rest = line.partition(" ")
        command = rest.split(" ", 1)[0].upper()
        if command == "CAPABILITY":
            caps = "IMAP4rev1 AUTH=PLAIN" if tls else "IMAP4rev1 STARTTLS LOGINDISABLED"
            conn.send(f"* CAPABILITY {caps}\r\n{tag} OK CAPABILITY completed\r\n")
        elif command == "STARTTLS" and not tls:
            conn.send(f"{tag} OK Begin TLS negotiation now\r\n")
            conn.upgrade()
            tls = True
        elif command == "LOGOUT":
            return conn.send(f"* BYE logging out\r\n{tag} OK LOGOUT completed\r\n")
        else:
            conn.send(f"{tag} NO nothing here\r\n" if tls else f"{tag} BAD Must issue a STARTTLS command first\r\n")


def _pop3(conn: Conn) -> None:
    conn.send("+OK pop3.lab.test ready\r\n")
    tls = False
    for verb, _ in conn.commands():
        if verb == "CAPA":
            conn.send("+OK Capability list follows\r\nTOP\r\nUIDL\r\n" + ("" if tls else "STLS\r\n") + ".\r\n")
        elif verb == "STLS" and not tls:
            conn.send("+OK Begin TLS negotiation\r\n")
            conn.upgrade()
            tls = True
        elif verb == "QUIT":
            return conn.send("+OK bye\r\n")
        else:
            conn.send("-ERR nothing here\r\n" if tls else "-ERR Must issue STLS first\r\n")


def _ftp(conn: Conn) -> None:
    conn.send("220 ftp.lab.test FTP server ready\r\n")
    tls = False
    for verb, line in conn.commands():
        if verb == "FEAT":
            conn.send("211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n")
        elif verb == "AUTH" and line.upper() in ("AUTH TLS", "AUTH SSL") and not tls:
            conn.send("234 AUTH TLS successful\r\n")
            conn.upgrade()
            tls = True
        elif verb == "QUIT":
            return conn.send("221 Goodbye\r\n")
        elif tls:
            conn.send({"PBSZ": "200 PBSZ=0\r\n", "PROT": "200 PROT now Private\r\n", "USER": "331 Password required\r\n"}.get(verb, "530 Login incorrect\r\n"))
        else:
            conn.send("530 Please login with USER and PASS (after AUTH TLS)\r\n")


PG_SSL_REQUEST, PG_GSSENC_REQUEST = 80877103, 80877104


def _postgres(conn: Conn) -> None:
    while True:
        length, code = struct.unpack("!II", conn.readexactly(8))
        if length == 8 and code == PG_GSSENC_REQUEST:
            conn.send("N")  # no GSSAPI encryption: the client goes on with an SSLRequest
            continue
        if length == 8 and code == PG_SSL_REQUEST:
            conn.send("S")
            conn.upgrade()
            length = struct.unpack("!I", conn.readexactly(4))[0]  # StartupMessage, over TLS
            conn.readexactly(max(0, length - 4))
            return _postgres_error(conn, "28000", "sre-toolkit lab: no database here")
        conn.readexactly(max(0, length - 8))
        return _postgres_error(conn, "28000", "sre-toolkit lab: TLS required (send SSLRequest)")


def _postgres_error(conn: Conn, code: str, message: str) -> None:
    fields = b"SFATAL\0" + b"C" + code.encode() + b"\0" + b"M" + message.encode() + b"\0\0"
    conn.send(b"E" + struct.pack("!I", len(fields) + 4) + fields)


MYSQL_CLIENT_SSL = 0x00000800
# LONG_PASSWORD | CONNECT_WITH_DB | PROTOCOL_41 | SSL | SECURE_CONNECTION | PLUGIN_AUTH
MYSQL_CAPS = 0x00000001 | 0x00000008 | 0x00000200 | MYSQL_CLIENT_SSL | 0x00008000 | 0x00080000


def _mysql_packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def _mysql_greeting() -> bytes:
    scramble = b"labsaltA12345678bcdefghi"[:20]
    payload = (
        b"\x0a" + b"8.0.36-sre-toolkit-lab\0" + struct.pack("<I", 7)
        + scramble[:8] + b"\0"
        + struct.pack("<H", MYSQL_CAPS & 0xFFFF) + b"\x21" + struct.pack("<H", 0x0002)
        + struct.pack("<H", MYSQL_CAPS >> 16) + bytes([21]) + b"\0" * 10
        + scramble[8:] + b"\0" + b"mysql_native_password\0"
    )
    return _mysql_packet(0, payload)


def _mysql_read_packet(conn: Conn) -> tuple[int, bytes]:
    header = conn.readexactly(4)
    return header[3], conn.readexactly(int.from_bytes(header[:3], "little"))


def _mysql(conn: Conn) -> None:
    conn.send(_mysql_greeting())
    seq, payload = _mysql_read_packet(conn)
    caps = struct.unpack("<I", payload[:4])[0] if len(payload) >= 4 else 0
    if not caps & MYSQL_CLIENT_SSL or len(payload) != 32:
        message = b"\xff" + struct.pack("<H", 3159) + b"#HY000" + b"sre-toolkit lab: connections using insecure transport are prohibited"
        return conn.send(_mysql_packet(seq + 1, message))
    conn.upgrade()  # the ClientHello follows the SSLRequest without waiting for an answer
    seq, _ = _mysql_read_packet(conn)  # HandshakeResponse41, over TLS
    conn.send(_mysql_packet(seq + 1, b"\xff" + struct.pack("<H", 1045) + b"#28000" + b"sre-toolkit lab: access denied"))


LDAP_STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


def _ber(tag: int, body: bytes) -> bytes:
    return bytes([tag, len(body)]) + body  # every lab message is shorter than 128 bytes


def _ldap(conn: Conn) -> None:
    """One LDAPMessage in: the StartTLS extended request gets success and TLS, anything else protocolError."""
    if conn.readexactly(1) != b"\x30":
        return
    size = conn.readexactly(1)[0]
    body = conn.readexactly(size if size < 0x80 else int.from_bytes(conn.readexactly(size - 0x80), "big"))
    message_id = body[2:2 + body[1]] if body[:1] == b"\x02" else b"\x00"
    starttls = LDAP_STARTTLS_OID in body and b"\x77" in body
    result = b"\x0a\x01" + (b"\x00" if starttls else b"\x02") + b"\x04\x00" + _ber(0x04, b"" if starttls else b"only StartTLS here")
    conn.send(_ber(0x30, _ber(0x02, message_id) + _ber(0x78, result + (_ber(0x8A, LDAP_STARTTLS_OID) if starttls else b""))))
    if starttls:
        conn.upgrade()
        conn.sock.recv(4096)


def _xmpp(conn: Conn) -> None:
    """RFC 6120 STARTTLS on a client or server stream: features offer it as required, <proceed/>, TLS."""
    header = conn.read_until(b">")
    if header.startswith(b"<?xml"):
        header = conn.read_until(b">")
    namespace = "jabber:server" if b"jabber:server" in header else "jabber:client"
    conn.send(f"<?xml version='1.0'?><stream:stream xmlns='{namespace}' xmlns:stream='http://etherx.jabber.org/streams' "
              "id='sre-toolkit-lab' from='xmpp.lab.test' version='1.0'><stream:features>"
              "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>")
    if b"<starttls" not in conn.read_until(b"/>"):
        return conn.send("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>")
    conn.send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    conn.upgrade()
    conn.sock.recv(4096)


def _https(conn: Conn) -> None:
    """Blocking TLS server side (mTLS, legacy): a failed handshake sends its alert, unlike asyncio's."""
    conn.upgrade()
    conn.sock.recv(4096)
    body = "sre-toolkit TLS lab endpoint (blocking TLS server)\n"
    conn.send(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}")


DIALOGUES = {"smtp": _smtp, "imap": _imap, "pop3": _pop3, "ftp": _ftp, "postgres": _postgres, "mysql": _mysql, "ldap": _ldap,
             "xmpp": _xmpp, "xmpp-server": _xmpp, "https": _https}


class ThreadedListener:
    """Blocking sockets, a thread per connection: for STARTTLS dialogues and client-certificate servers.

    asyncio is unsuitable for both: its stream reader buffers bytes that belong to the TLS
    handshake, and when a server-side handshake fails it drops the alert instead of sending it.
    """

    def __init__(self, spec: dict):
        self.spec, self.ctx = spec, _context(spec)
        self.dialogue = DIALOGUES[spec.get("protocol") or "https"]
        self.sock = socket.create_server((HOST, spec.get("port", 0)), backlog=128)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(IDLE_TIMEOUT)
        conn = Conn(sock, self.ctx)
        try:
            self.dialogue(conn)
        except (*_QUIET, socket.timeout, struct.error):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


# ---------------------------------------------------------------- listeners

def handler_for(spec: dict):
    kind = spec["kind"]
    lazy = LazyContext(spec) if spec.get("cert") else None

    async def tls(reader, writer):
        try:
            await _answer_http(reader, writer, spec)
        finally:
            await _close(writer)

    async def hang(reader, writer):
        try:  # accept, read and discard, never answer: the client's handshake times out
            while await reader.read(65536):
                pass
        finally:
            await _close(writer)

    async def reset(_reader, writer):
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # close with linger 0: the kernel sends RST

    async def http(reader, writer):
        try:
            head = await asyncio.wait_for(reader.read(4096), IDLE_TIMEOUT)
            status = "200 OK" if head[:4] in (b"GET ", b"HEAD", b"POST") else "400 Bad Request"
            body = "plain HTTP on a port checkers expect to speak TLS\n"
            await _send(writer, f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}")
        finally:
            await _close(writer)

    return {"tls": tls, "hang": hang, "reset": reset, "http": http}[kind], lazy


class DelayedListener:
    """A TLS listener that lets each ClientHello wait `delay` seconds in the kernel before answering.

    It accepts the TCP connection at once, sleeps, and only then hands the socket to the TLS
    layer: the hello is still unread in the socket buffer, so the client sees a server that is
    `delay` further away, while the daemon spends no CPU on the wait.
    """

    def __init__(self, spec: dict, handler, lazy: LazyContext):
        self.spec, self.handler, self.lazy = spec, handler, lazy
        self.sock = socket.create_server((HOST, spec.get("port", 0)), backlog=128)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.task = asyncio.get_running_loop().create_task(self._accept())

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(self.sock)
            loop.create_task(self._serve(conn))

    async def _serve(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(self.spec["delay"])
            reader = asyncio.StreamReader()
            protocol = asyncio.StreamReaderProtocol(reader)
            transport, _ = await loop.connect_accepted_socket(lambda: protocol, sock=conn, ssl=self.lazy.get(),
                                                              ssl_handshake_timeout=IDLE_TIMEOUT)
        except (*_QUIET, asyncio.TimeoutError):
            conn.close()
            return
        await _guard(self.handler, reader, asyncio.StreamWriter(transport, protocol, reader, loop))

    def close(self) -> None:
        self.task.cancel()
        self.sock.close()


async def _guard(handler, reader, writer):
    try:
        await handler(reader, writer)
    except (*_QUIET, asyncio.TimeoutError):
        pass


async def serve(config: dict) -> None:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_handler)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    servers, ports = [], {}
    for spec in config["listeners"]:
        if spec.get("client_ca") or spec.get("threaded") or spec["kind"] == "starttls":
            listener = ThreadedListener(spec)
            servers.append(listener)
            ports[spec["id"]] = listener.port
            continue
        handler, lazy = handler_for(spec)
        if spec.get("delay"):
            listener = DelayedListener(spec, handler, lazy)
            servers.append(listener)
            ports[spec["id"]] = listener.port
            continue
        ssl_ctx = None
        if spec["kind"] == "tls":
            ssl_ctx = lazy.get() if not spec.get("lazy") else _lazy_server_context(lazy)
        tls_options = {"ssl": ssl_ctx, "ssl_handshake_timeout": IDLE_TIMEOUT} if ssl_ctx else {}
        server = await asyncio.start_server(lambda r, w, h=handler: _guard(h, r, w), HOST, spec.get("port", 0), backlog=128, **tls_options)
        servers.append(server)
        ports[spec["id"]] = server.sockets[0].getsockname()[1]
    tmp = config["ports_file"] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({"pid": os.getpid(), "ports": ports}, handle, sort_keys=True)
    os.replace(tmp, config["ports_file"])
    print(f"serving {len(ports)} listeners on {HOST}", flush=True)
    await stop.wait()
    for server in servers:
        server.close()


def _lazy_server_context(lazy: LazyContext) -> ssl.SSLContext:
    """A certificate-less context whose SNI callback swaps in the real one at the first ClientHello."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # the version is negotiated before the SNI callback runs: it must be set here already
    ctx.minimum_version = VERSIONS[lazy.spec.get("min_version", "TLSv1.2")]
    ctx.maximum_version = VERSIONS[lazy.spec.get("max_version", "TLSv1.3")]

    def swap(sslobj, _server_name, _ctx):
        sslobj.context = lazy.get()
    ctx.sni_callback = swap
    return ctx


def _quiet_handler(loop, context):
    # Handshake failures are the lab's purpose (not_tls, client_cert_required): do not log them
    if isinstance(context.get("exception"), _QUIET):
        return
    loop.default_exception_handler(context)


def main(argv: list) -> int:
    # asyncio warns about every client that leaves mid-handshake: that is what the lab is for
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    with open(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
