# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about one certificate, with dates in ISO-8601 and epoch seconds."""

from __future__ import annotations

import datetime
import functools
import math

from ._crypto import InvalidSignature, dsa, ec, ed448, ed25519, hashes, rsa, serialization, x509, ExtensionOID

UTC = datetime.timezone.utc
SECONDS_PER_DAY = 86400


def not_before(cert):
    value = getattr(cert, "not_valid_before_utc", None)
    return value if value is not None else cert.not_valid_before.replace(tzinfo=UTC)


def not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=UTC)


def iso(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(moment):
    return int(moment.timestamp())


@functools.lru_cache(maxsize=8192)
def fingerprint(cert):
    """SHA-256 of the DER, lowercase hex; cached because chains and reports ask for it often."""
    return cert.fingerprint(hashes.SHA256()).hex()


def days_until(moment, now):
    """Whole days from now until moment, rounded down (negative once past)."""
    return int(math.floor((moment - now).total_seconds() / SECONDS_PER_DAY))


def days_left(cert, now):
    """Whole days until not_after, rounded down (negative once expired)."""
    return days_until(not_after(cert), now)


def key_facts(cert):
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return _key("RSA", key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _key("EC", key.curve.key_size, key.curve.name)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return _key("Ed25519", 256)
    if isinstance(key, ed448.Ed448PublicKey):
        return _key("Ed448", 456)
    if isinstance(key, dsa.DSAPublicKey):
        return _key("DSA", key.key_size)
    return _key(type(key).__name__, None)


def _key(kind, size, curve=None):
    return {"key_type": kind, "key_size": size, "key_curve": curve}


def signature_algorithm(cert):
    oid = cert.signature_algorithm_oid
    return getattr(oid, "_name", None) or oid.dotted_string


def _extension(cert, oid):
    """An extension's value, or None when absent or malformed (a bad extension never aborts)."""
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        return None


def subject_alt_names(cert):
    """{"dns": [...], "ip": [...]} plus "other" when the SAN holds emails, URIs or directory names."""
    value = _extension(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    names = {"dns": [], "ip": []}
    for name in value if value is not None else []:
        if isinstance(name, x509.DNSName):
            names["dns"].append(name.value)
        elif isinstance(name, x509.IPAddress):
            names["ip"].append(str(name.value))
        else:
            names.setdefault("other", []).append("%s:%s" % (type(name).__name__, getattr(name, "value", name)))
    return names


def is_ca(cert):
    value = _extension(cert, ExtensionOID.BASIC_CONSTRAINTS)
    return bool(value is not None and value.ca)


@functools.lru_cache(maxsize=8192)
def signed_by(cert, issuer):
    """Whether `issuer` names and signed `cert`; cached, as 500 leaves share one intermediate."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def is_self_signed(cert):
    return signed_by(cert, cert)


def common_names(name):
    return [attr.value for attr in name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]


def _first_cn(name):
    return (common_names(name) or [None])[0]


@functools.lru_cache(maxsize=4096)
def _static_facts(cert):
    """The facts that do not depend on the time; cached, since 500 leaves often share an intermediate."""
    after, before = not_after(cert), not_before(cert)
    facts = {
        "subject": cert.subject.rfc4514_string(),
        "subject_cn": _first_cn(cert.subject),
        "issuer": cert.issuer.rfc4514_string(),
        "issuer_cn": _first_cn(cert.issuer),
        "serial": cert.serial_number,
        "serial_hex": format(cert.serial_number, "x"),
        "sha256": fingerprint(cert),
        "sans": subject_alt_names(cert),
        "not_before": iso(before),
        "not_before_epoch": epoch(before),
        "not_after": iso(after),
        "not_after_epoch": epoch(after),
        "signature_algorithm": signature_algorithm(cert),
        "version": cert.version.value + 1,
        "is_ca": is_ca(cert),
        "self_signed": is_self_signed(cert),
    }
    facts.update(key_facts(cert))
    return facts


def certificate_facts(cert, now):
    """Everything reported per certificate (a fresh dict); `now` is an aware datetime.

    Field names follow the lab's ground truth and community.crypto where they overlap;
    dates are ISO-8601 UTC plus epoch seconds, version is 3 for a v3 certificate.
    """
    facts = dict(_static_facts(cert))
    facts["sans"] = {kind: list(names) for kind, names in facts["sans"].items()}  # callers may edit their copy
    facts.update(days_left=days_left(cert, now), expired=not_after(cert) <= now, not_yet_valid=not_before(cert) > now)
    return facts


def to_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()
