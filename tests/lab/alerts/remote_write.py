"""Prometheus remote-write 1.0 encoding (protobuf + snappy) by hand, standard library only.

Only what a WriteRequest of float samples needs: TimeSeries{labels, samples}. Snappy is written
as literal-only blocks, which every snappy decoder accepts; the bodies go over loopback, so the
missing compression costs nothing worth a dependency.
"""
from __future__ import annotations

import struct
import urllib.error
import urllib.request

STALE_NAN_BITS = 0x7FF0000000000002  # Prometheus' staleness marker (value.StaleNaN)
STALE_NAN = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_bytes(field: int, payload: bytes) -> bytes:
    return varint((field << 3) | 2) + varint(len(payload)) + payload


def encode_labels(labels: dict) -> bytes:
    """The repeated Label part of a TimeSeries, sorted by name as the TSDB stores them."""
    out = bytearray()
    for name in sorted(labels):
        label = _field_bytes(1, name.encode()) + _field_bytes(2, str(labels[name]).encode())
        out += _field_bytes(1, label)
    return bytes(out)


def value_bytes(value: float, stale: bool = False) -> bytes:
    return struct.pack("<Q", STALE_NAN_BITS) if stale else struct.pack("<d", value)


def encode_sample(value_raw: bytes, timestamp_ms: int) -> bytes:
    """One Sample as field 2 of a TimeSeries: {1: double value, 2: int64 timestamp}."""
    body = b"\x09" + value_raw + b"\x10" + varint(timestamp_ms)
    return b"\x12" + varint(len(body)) + body


def encode_series(labels_raw: bytes, samples_raw: bytes) -> bytes:
    """One TimeSeries as field 1 of the WriteRequest."""
    return _field_bytes(1, labels_raw + samples_raw)


def snappy_literal(data: bytes) -> bytes:
    out = bytearray(varint(len(data)))
    chunk = 1 << 16
    for pos in range(0, len(data), chunk):
        piece = data[pos:pos + chunk]
        n = len(piece) - 1
        if n < 60:
            out.append(n << 2)
        else:  # 61 << 2: the length-1 follows in two little-endian bytes
            out.append(61 << 2)
            out += struct.pack("<H", n)
        out += piece
    return bytes(out)


def push(url: str, write_request: bytes, timeout: float = 120.0) -> None:
    """POST one WriteRequest to <url>/api/v1/write; raise with the server's message on error."""
    req = urllib.request.Request(
        url.rstrip("/") + "/api/v1/write", data=snappy_literal(write_request), method="POST",
        headers={"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                 "X-Prometheus-Remote-Write-Version": "0.1.0"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"remote write refused ({exc.code}): {exc.read()[:500].decode(errors='replace')}") from exc
