#!/usr/bin/env python3
"""The TLS lab daemon: every lab endpoint served from one asyncio process on 127.0.0.1.

    python server.py CONFIG.json

CONFIG lists listeners (written by tests/lab/tls/generate.py). The daemon binds each one (port 0
means "pick one"), writes {id: port} to the config's `ports_file` once everything listens, and
serves until SIGTERM. Standard library only: it must start fast and cheaply, 500+ listeners
included.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import ssl
import struct
import sys

HOST = "127.0.0.1"
IDLE_TIMEOUT = 10.0
VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
_QUIET = (ssl.SSLError, ConnectionError, TimeoutError, asyncio.IncompleteReadError, OSError)


# ---------------------------------------------------------------- TLS contexts

def _context(spec: dict) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
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


# ---------------------------------------------------------------- helpers

async def _readline(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT)


async def _send(writer: asyncio.StreamWriter, text: str) -> None:
    writer.write(text.encode())
    await writer.drain()


async def _answer_http(reader, writer, spec: dict, status: str = "200 OK") -> None:
    try:
        await asyncio.wait_for(reader.read(4096), IDLE_TIMEOUT)
    except asyncio.TimeoutError:
        return
    body = f"sre-toolkit TLS lab endpoint {spec['id']}\n"
    await _send(writer, f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}")


async def _close(writer: asyncio.StreamWriter) -> None:
    try:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 2)
    except (*_QUIET, asyncio.TimeoutError):
        pass


# ---------------------------------------------------------------- STARTTLS dialogues (server side)

async def _smtp(reader, writer, upgrade):
    await _send(writer, "220 smtp.lab.test ESMTP sre-toolkit lab\r\n")
    while True:
        line = (await _readline(reader)).strip()
        if not line:
            return
        verb = line.split(b" ", 1)[0].upper()
        if verb in (b"EHLO", b"HELO"):
            await _send(writer, "250-smtp.lab.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n" if verb == b"EHLO" else "250 smtp.lab.test\r\n")
        elif verb == b"STARTTLS":
            await _send(writer, "220 2.0.0 Ready to start TLS\r\n")
            await upgrade()
            return await _smtp_after_tls(reader, writer)
        elif verb == b"QUIT":
            return await _send(writer, "221 2.0.0 Bye\r\n")
        else:
            await _send(writer, "530 5.7.0 Must issue a STARTTLS command first\r\n")


async def _smtp_after_tls(reader, writer):
    while True:
        line = (await _readline(reader)).strip()
        if not line:
            return
        verb = line.split(b" ", 1)[0].upper()
        if verb == b"EHLO":
            await _send(writer, "250-smtp.lab.test\r\n250 8BITMIME\r\n")
        elif verb == b"QUIT":
            return await _send(writer, "221 2.0.0 Bye\r\n")
        else:
            await _send(writer, "250 OK\r\n")


async def _imap(reader, writer, upgrade):
    await _send(writer, "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] imap.lab.test ready\r\n")
    while True:
        line = (await _readline(reader)).strip()
        if not line:
            return
        tag, _, rest = line.decode(errors="replace").partition(" ")
        command = rest.split(" ", 1)[0].upper()
        if command == "CAPABILITY":
            await _send(writer, f"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n{tag} OK CAPABILITY completed\r\n")
        elif command == "STARTTLS":
            await _send(writer, f"{tag} OK Begin TLS negotiation now\r\n")
            await upgrade()
            return await _line_echo(reader, writer, "* BYE", lambda t: f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{t} OK done\r\n")
        elif command == "LOGOUT":
            return await _send(writer, f"* BYE logging out\r\n{tag} OK LOGOUT completed\r\n")
        else:
            await _send(writer, f"{tag} BAD Must issue a STARTTLS command first\r\n")


async def _line_echo(reader, writer, bye: str, reply) -> None:
    """After the upgrade: answer each line politely until the client leaves."""
    while True:
        line = (await _readline(reader)).strip()
        if not line:
            return
        tag = line.decode(errors="replace").split(" ", 1)[0]
        if b"LOGOUT" in line.upper() or b"QUIT" in line.upper():
            return await _send(writer, f"{bye}\r\n")
        await _send(writer, reply(tag))


async def _pop3(reader, writer, upgrade):
    await _send(writer, "+OK pop3.lab.test ready\r\n")
    while True:
        line = (await _readline(reader)).strip()
        if not line:
            return
        command = line.split(b" ", 1)[0].upper()
        if command == b"CAPA":
            await _send(writer, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nSTLS\r\n.\r\n")
        elif command == b"STLS":
            await _send(writer, "+OK Begin TLS negotiation\r\n")
            await upgrade()
            return await _line_echo(reader, writer, "+OK bye", lambda _t: "+OK\r\n")
        elif command == b"QUIT":
            return await _send(writer, "+OK bye\r\n")
        else:
            await _send(writer, "-ERR Must issue STLS first\r\n")


async def _ftp(reader, writer, upgrade):
    await _send(writer, "220 ftp.lab.test FTP server ready\r\n")
    while True:
        line = (await _readline(reader)).strip()
        if not line:
            return
        command = line.upper()
        if command == b"FEAT":
            await _send(writer, "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n")
        elif command in (b"AUTH TLS", b"AUTH SSL"):
            await _send(writer, "234 AUTH TLS successful\r\n")
            await upgrade()
            return await _ftp_after_tls(reader, writer)
        elif command == b"QUIT":
            return await _send(writer, "221 Goodbye\r\n")
        else:
            await _send(writer, "530 Please login with USER and PASS (after AUTH TLS)\r\n")


async def _ftp_after_tls(reader, writer):
    while True:
        line = (await _readline(reader)).strip()
        if not line:
            return
        command = line.split(b" ", 1)[0].upper()
        if command == b"QUIT":
            return await _send(writer, "221 Goodbye\r\n")
        await _send(writer, {b"PBSZ": "200 PBSZ=0\r\n", b"PROT": "200 PROT now Private\r\n", b"USER": "331 Password required\r\n"}.get(command, "530 Login incorrect\r\n"))


PG_SSL_REQUEST, PG_GSSENC_REQUEST = 80877103, 80877104


async def _postgres(reader, writer, upgrade):
    while True:
        length, code = struct.unpack("!II", await asyncio.wait_for(reader.readexactly(8), IDLE_TIMEOUT))
        if length == 8 and code == PG_GSSENC_REQUEST:
            await _send(writer, "N")  # no GSSAPI encryption: the client goes on to SSLRequest
            continue
        if length == 8 and code == PG_SSL_REQUEST:
            await _send(writer, "S")
            await upgrade()
            return await _postgres_refuse(reader, writer)
        # a startup message without TLS: say no, the lab only speaks TLS
        await asyncio.wait_for(reader.readexactly(max(0, length - 8)), IDLE_TIMEOUT)
        return await _postgres_error(writer, "28000", "sre-toolkit lab: TLS required (send SSLRequest)")


async def _postgres_refuse(reader, writer):
    length = struct.unpack("!I", await asyncio.wait_for(reader.readexactly(4), IDLE_TIMEOUT))[0]
    await asyncio.wait_for(reader.readexactly(max(0, length - 4)), IDLE_TIMEOUT)
    await _postgres_error(writer, "28000", "sre-toolkit lab: no database here")


async def _postgres_error(writer, code: str, message: str):
    fields = b"SFATAL\0" + b"C" + code.encode() + b"\0" + b"M" + message.encode() + b"\0\0"
    writer.write(b"E" + struct.pack("!I", len(fields) + 4) + fields)
    await writer.drain()


MYSQL_CLIENT_SSL = 0x00000800
MYSQL_CAPS = 0x00000001 | 0x00000008 | 0x00000200 | MYSQL_CLIENT_SSL | 0x00008000 | 0x00080000  # LONG_PASSWORD CONNECT_WITH_DB PROTOCOL_41 SSL SECURE_CONNECTION PLUGIN_AUTH


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


async def _mysql_read_packet(reader) -> tuple[int, bytes]:
    header = await asyncio.wait_for(reader.readexactly(4), IDLE_TIMEOUT)
    length = int.from_bytes(header[:3], "little")
    return header[3], await asyncio.wait_for(reader.readexactly(length), IDLE_TIMEOUT)


async def _mysql(reader, writer, upgrade):
    writer.write(_mysql_greeting())
    await writer.drain()
    seq, payload = await _mysql_read_packet(reader)
    caps = struct.unpack("<I", payload[:4])[0] if len(payload) >= 4 else 0
    if not caps & MYSQL_CLIENT_SSL or len(payload) != 32:
        message = b"\xff" + struct.pack("<H", 3159) + b"#HY000" + b"sre-toolkit lab: connections using insecure transport are prohibited"
        writer.write(_mysql_packet(seq + 1, message))
        return await writer.drain()
    await upgrade()
    seq, _ = await _mysql_read_packet(reader)  # HandshakeResponse41 over TLS
    message = b"\xff" + struct.pack("<H", 1045) + b"#28000" + b"sre-toolkit lab: access denied"
    writer.write(_mysql_packet(seq + 1, message))
    await writer.drain()


STARTTLS = {"smtp": _smtp, "imap": _imap, "pop3": _pop3, "ftp": _ftp, "postgres": _postgres, "mysql": _mysql}


# ---------------------------------------------------------------- listeners

def handler_for(spec: dict):
    kind = spec["kind"]
    lazy = LazyContext(spec) if spec.get("cert") else None

    async def tls(reader, writer):
        try:
            await _answer_http(reader, writer, spec)
        finally:
            await _close(writer)

    async def starttls(reader, writer):
        async def upgrade():
            await writer.start_tls(lazy.get())
        try:
            await STARTTLS[spec["protocol"]](reader, writer, upgrade)
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
            await _send(writer, f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}")
        finally:
            await _close(writer)

    return {"tls": tls, "starttls": starttls, "hang": hang, "reset": reset, "http": http}[kind], lazy


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
        handler, lazy = handler_for(spec)
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
    with open(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
