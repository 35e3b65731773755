# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dates of a certificate that cryptography refuses to load, read from the raw TBSCertificate.

cryptography parses strict DER; servers and old appliances still send certificates with BER
lengths, time values without seconds or other small encoding faults that OpenSSL accepts. Such
a certificate still has a validity period, and losing it would hide exactly the neglected
certificate an expiry check exists for. This walker is tolerant on purpose and reads only what
a report needs: serial, names, validity, signature algorithm OID and the fingerprint.
"""

from __future__ import annotations

import datetime
import hashlib

from ._crypto import x509

UTC = datetime.timezone.utc
SEQUENCE, UTC_TIME, GENERALIZED_TIME, VERSION_TAG, EXTENSIONS_TAG, BOOLEAN = 0x30, 0x17, 0x18, 0xA0, 0xA3, 0x01
CONSTRUCTED = 0x20
# attribute types named in rfc4514 strings; others are shown as dotted OIDs
ATTRIBUTE_NAMES = {"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
                   "2.5.4.5": "serialNumber", "0.9.2342.19200300.100.1.25": "DC", "1.2.840.113549.1.9.1": "emailAddress"}


def _tlv(data, at):
    """(tag, value bytes, offset after) of the element at `at`; BER long-form lengths allowed."""
    if at + 2 > len(data):
        raise ValueError("truncated element at offset %d" % at)
    tag, first = data[at], data[at + 1]
    at += 2
    if first & 0x80:
        count = first & 0x7F
        if not 0 < count <= 4 or at + count > len(data):
            raise ValueError("unsupported length encoding at offset %d" % (at - 1))
        length = int.from_bytes(data[at:at + count], "big")
        at += count
    else:
        length = first
    if at + length > len(data):
        raise ValueError("element at offset %d runs past the end" % at)
    return tag, data[at:at + length], at + length


def _children(body):
    items, at = [], 0
    while at < len(body):
        tag, value, at = _tlv(body, at)
        items.append((tag, value))
    return items


def _oid(value):
    arcs, number = [], 0
    for byte in value:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(number)
            number = 0
    if not arcs:
        return ""
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first] + arcs[1:])


def oid_name(dotted):
    """OpenSSL's name for an OID (signature algorithm, extension), as cryptography reports it; else the dotted OID."""
    if not dotted or x509 is None:
        return dotted or None
    try:
        name = x509.ObjectIdentifier(dotted)._name  # pylint: disable=protected-access
    except ValueError:
        return dotted
    return dotted if not name or name == "Unknown OID" else name


def _text(value):
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _name(value):
    """(rfc4514-style string, first CN) of an X.501 Name; RDNs listed last first, as RFC 4514 does."""
    parts, common_name = [], None
    for _set_tag, rdn in _children(value):
        for _seq_tag, attribute in _children(rdn):
            (_t1, oid), (_t2, text) = _children(attribute)[:2]
            dotted, string = _oid(oid), _text(text)
            if dotted == "2.5.4.3" and common_name is None:
                common_name = string
            parts.append("%s=%s" % (ATTRIBUTE_NAMES.get(dotted, dotted), string))
    return ",".join(reversed(parts)), common_name


def _time(tag, value):
    text = value.decode("ascii").strip()
    if tag == UTC_TIME:  # YYMMDDhhmm[ss](Z|+hhmm|-hhmm); RFC 5280: 50-99 are 19xx
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    elif tag != GENERALIZED_TIME:
        raise ValueError("validity holds tag 0x%02x, not a time" % tag)
    digits, zone = text, "Z"
    for sign in ("Z", "+", "-"):
        if sign in text[8:]:
            cut = text.index(sign, 8)
            digits, zone = text[:cut], text[cut:]
            break
    digits = digits.split(".", 1)[0].ljust(14, "0")
    moment = datetime.datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    if zone not in ("Z", ""):
        offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5] or 0))
        moment = moment - offset if zone[0] == "+" else moment + offset
    return moment


def _strict(value, depth=0):
    """Raise ValueError unless `value` is a sequence of well-formed DER elements that uses every byte."""
    at = 0
    while at < len(value):
        tag, body, at = _tlv(value, at)
        if body and tag & CONSTRUCTED and depth < 16:
            _strict(body, depth + 1)


def _tbs_fields(der):
    """The TBSCertificate's fields after the version, and the outer certificate's parts."""
    tag, body, _end = _tlv(der, 0)
    parts = _children(body) if tag == SEQUENCE else []
    if len(parts) < 2 or parts[0][0] != SEQUENCE:
        raise ValueError("not an X.509 certificate structure")
    tbs = _children(parts[0][1])
    version = 1
    if tbs and tbs[0][0] == VERSION_TAG:
        version = _children(tbs[0][1])[0][1][-1] + 1
        tbs = tbs[1:]
    return parts, tbs, version


def read_extensions(der):
    """[(dotted OID, critical, extnValue bytes)] of a certificate, read from the raw structure."""
    _parts, tbs, _version = _tbs_fields(der)
    found = [value for tag, value in tbs[6:] if tag == EXTENSIONS_TAG]
    if not found:
        return []
    (seq_tag, body), = _children(found[0])[:1]
    if seq_tag != SEQUENCE:
        raise ValueError("extensions field does not hold a SEQUENCE")
    extensions = []
    for _tag, extension in _children(body):
        fields = _children(extension)
        critical = len(fields) == 3 and fields[1][0] == BOOLEAN and fields[1][1] != b"\x00"
        extensions.append((_oid(fields[0][1]), critical, fields[-1][1]))
    return extensions


def extension_faults(der):
    """[{"oid", "name", "critical", "error"}] for each extension whose value is not well-formed DER.

    cryptography refuses every extension of a certificate once one of them does not parse; this
    names the culprit. An extensions block that cannot even be walked is one fault with oid None.
    """
    try:
        extensions = read_extensions(der)
    except (ValueError, IndexError) as exc:
        return [{"oid": None, "name": "extensions", "critical": None, "error": "the extensions block does not parse: %s" % exc}]
    faults = []
    for dotted, critical, value in extensions:
        try:
            _strict(value)
        except (ValueError, IndexError) as exc:
            faults.append({"oid": dotted, "name": oid_name(dotted), "critical": critical, "error": "malformed DER: %s" % exc})
    return faults


def try_read_raw(der):
    """(facts, None) from read_raw, or (None, why) when not even the raw structure can be read."""
    try:
        return read_raw(der), None
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        return None, str(exc) or type(exc).__name__


def read_raw(der):
    """Report facts of a certificate from its bytes alone; raises ValueError when even that fails."""
    parts, tbs, version = _tbs_fields(der)
    if len(tbs) < 5:
        raise ValueError("TBSCertificate has too few fields")
    serial = int.from_bytes(tbs[0][1], "big", signed=True)
    issuer, issuer_cn = _name(tbs[2][1])
    (before_tag, before), (after_tag, after) = _children(tbs[3][1])[:2]
    subject, subject_cn = _name(tbs[4][1])
    algorithm = _children(parts[1][1])[0][1] if parts[1][0] == SEQUENCE else b""
    not_before, not_after = _time(before_tag, before), _time(after_tag, after)
    return {
        "subject": subject, "subject_cn": subject_cn, "issuer": issuer, "issuer_cn": issuer_cn,
        "serial": serial, "serial_hex": format(serial, "x"), "sha256": hashlib.sha256(der).hexdigest(),
        "sans": {"dns": [], "ip": []}, "not_before_at": not_before, "not_after_at": not_after,
        "signature_algorithm": oid_name(_oid(algorithm)), "version": version,
        "key_type": None, "key_size": None, "key_curve": None, "is_ca": None, "self_signed": None,
        "extension_errors": extension_faults(der),
    }
