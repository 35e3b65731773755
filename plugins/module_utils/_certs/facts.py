# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about one certificate, with dates in ISO-8601 and epoch seconds."""

from __future__ import annotations

import datetime
import functools
import math

from ._crypto import InvalidSignature, UnsupportedAlgorithm, dsa, ec, ed448, ed25519, hashes, padding, rsa, serialization, x509, ExtensionOID
from .raw import extension_faults

UTC = datetime.timezone.utc
SECONDS_PER_DAY = 86400
# signature algorithms cryptography refuses to verify (MD2/MD4/MD5, SHA-1) or that the web PKI no
# longer accepts (DSA with any hash): a certificate signed so is linked to its issuer, then judged
WEAK_SIGNATURE_OIDS = frozenset((
    "1.2.840.113549.1.1.2", "1.2.840.113549.1.1.3", "1.2.840.113549.1.1.4", "1.2.840.113549.1.1.5",  # md2/md4/md5/sha1 WithRSA
    "1.3.14.3.2.29", "1.3.14.3.2.27",  # OIW sha1WithRSASignature, dsaWithSHA1
    "1.2.840.10040.4.3", "2.16.840.1.101.3.4.3.1", "2.16.840.1.101.3.4.3.2", "2.16.840.1.101.3.4.3.3", "2.16.840.1.101.3.4.3.4",  # DSA
    "1.2.840.10045.4.1",  # ecdsa-with-SHA1
))
# how a certificate is tied to its issuer: its signature verified by cryptography's X.509 API, verified
# with the primitive and the legacy hash that API refuses, or (hash unusable) by names and key identifiers only
LINKS = ("signature", "legacy_signature", "key_identifier", "name")


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


@functools.lru_cache(maxsize=4096)
def _extension_errors(cert):
    try:
        cert.extensions  # pylint: disable=pointless-statement
        return ()
    except ValueError as exc:
        message = str(exc)
    faults = extension_faults(cert.public_bytes(serialization.Encoding.DER))
    if not faults:  # well-formed DER that cryptography still refuses: its message names the field
        location = message.rsplit("location: [", 1)[-1].split("]", 1)[0].strip('"') if "location: [" in message else "extensions"
        faults = [{"oid": None, "name": location, "critical": None, "error": message}]
    else:
        for fault in faults:
            fault["error"] = "%s (cryptography: %s)" % (fault["error"], message)
    return tuple(tuple(sorted(fault.items())) for fault in faults)


def extension_errors(cert):
    """[{"oid", "name", "critical", "error"}] of the extensions that do not parse (cryptography then refuses all of them)."""
    return [dict(fault) for fault in _extension_errors(cert)]


def weak_signature(cert):
    return cert.signature_algorithm_oid.dotted_string in WEAK_SIGNATURE_OIDS


def _extension(cert, oid):
    """An extension's value, or None when absent or malformed (a bad extension never aborts; extension_errors names it)."""
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


def _legacy_signature_valid(cert, key):
    """True/False: the signature checked with the certificate's own hash, even SHA-1 or MD5; None when it cannot be checked."""
    try:
        algorithm = cert.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        else:
            return None
    except InvalidSignature:
        return False
    except (UnsupportedAlgorithm, ValueError, TypeError):
        return None
    return True


def _key_identifiers_match(cert, issuer):
    """True/False when cert's AKI keyIdentifier and issuer's SKI can be compared, else None."""
    aki = _extension(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    if aki is None or aki.key_identifier is None:
        return None
    ski = _extension(issuer, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    digest = ski.digest if ski is not None else x509.SubjectKeyIdentifier.from_public_key(issuer.public_key()).digest
    return aki.key_identifier == digest


@functools.lru_cache(maxsize=8192)
def issuer_link(cert, issuer):
    """How `issuer` is tied to `cert` (one of LINKS), or None; cached, as 500 leaves share one intermediate.

    A signature cryptography's X.509 API refuses (SHA-1, MD5) is checked with the primitive and
    its own hash; when even that is impossible the names and key identifiers decide, and a
    signature that is checked and wrong never links.
    """
    if cert.issuer != issuer.subject:
        return None
    try:
        cert.verify_directly_issued_by(issuer)
        return "signature"
    except (InvalidSignature, TypeError):
        return None
    except (UnsupportedAlgorithm, ValueError):
        pass  # an algorithm that API refuses to verify
    try:
        valid = _legacy_signature_valid(cert, issuer.public_key())
    except (UnsupportedAlgorithm, ValueError):
        valid = None
    if valid is not None:
        return "legacy_signature" if valid else None
    ids = _key_identifiers_match(cert, issuer)
    return None if ids is False else "key_identifier" if ids else "name"


def signed_by(cert, issuer):
    """Whether `issuer` names and issued `cert` (see issuer_link)."""
    return issuer_link(cert, issuer) is not None


def is_self_signed(cert):
    return issuer_link(cert, cert) in ("signature", "legacy_signature")


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
        "extension_errors": extension_errors(cert),
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
    facts["extension_errors"] = [dict(fault) for fault in facts["extension_errors"]]
    facts.update(days_left=days_left(cert, now), expired=not_after(cert) <= now, not_yet_valid=not_before(cert) > now)
    return facts


def to_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()
