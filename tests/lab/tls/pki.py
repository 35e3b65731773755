"""Certificate building blocks for the TLS lab: seeded keys, issuing, describing (test infrastructure only).

EC keys are derived from the seed and the key's name, so the same seed gives the same keys;
serials are derived the same way. Validity windows are relative to the generation time, so
fingerprints change with every generation (ECDSA signatures are randomised anyway).
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
import warnings
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

# the lab signs and describes DSA certificates on purpose (legacy signatures): no warning per use
warnings.filterwarnings("ignore", message=".*DSA.*", category=CryptographyDeprecationWarning)

ORG = "sre-toolkit lab"
DAY = dt.timedelta(days=1)


def _digest_int(seed: str, label: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}\0{label}".encode()).digest(), "big")


class KeyMaker:
    """Seeded EC keys (reproducible) and RSA keys (cryptography cannot seed RSA generation)."""

    _ORDERS = {
        "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        "secp384r1": int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16),
    }
    _CURVES = {"secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1}

    def __init__(self, seed: str):
        self.seed = seed

    def ec(self, name: str, curve: str = "secp256r1"):
        order = self._ORDERS[curve]
        value = 1 + _digest_int(self.seed, f"key:{name}") % (order - 1)
        return ec.derive_private_key(value, self._CURVES[curve]())

    @staticmethod
    def rsa(bits: int = 2048):
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)

    def serial(self, name: str) -> int:
        # 159 bits keeps the DER INTEGER positive and within RFC 5280's 20 octets
        return 1 + _digest_int(self.seed, f"serial:{name}") % (2 ** 159)


@dataclass
class Issued:
    """A certificate with its private key; `name` is the lab's id for it."""

    name: str
    cert: x509.Certificate
    key: object

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG)])


def issue(keys: KeyMaker, name: str, cn: str, *, key=None, issuer: Issued | None = None, not_before: dt.datetime,
          not_after: dt.datetime, dns=(), ips=(), ca: bool = False, path_length: int | None = None,
          client: bool = False, subject_name: x509.Name | None = None, san: bool = True, extensions=()) -> Issued:
    """Issue one certificate; `issuer=None` makes it self-signed."""
    key = key if key is not None else keys.ec(name)
    subject = subject_name or _name(cn)
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(keys.serial(name))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    authority_key = issuer.key.public_key() if issuer else key.public_key()
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_key), critical=False)
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                          key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        usage = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH if client else x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        if san and names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    algorithm = None if isinstance(signer_key, ed25519.Ed25519PrivateKey) else hashes.SHA384() if isinstance(signer_key, ec.EllipticCurvePrivateKey) and signer_key.curve.key_size > 256 else hashes.SHA256()
    return Issued(name, builder.sign(signer_key, algorithm), key)


# ---------------------------------------------------------------- raw DER: weak signatures, broken extensions

# signature AlgorithmIdentifiers cryptography's builder refuses to sign with: (DER, hash)
LEGACY_ALGORITHMS = {
    "sha1WithRSAEncryption": (bytes.fromhex("300d06092a864886f70d0101050500"), hashes.SHA1),
    "md5WithRSAEncryption": (bytes.fromhex("300d06092a864886f70d0101040500"), hashes.MD5),
    "dsa_with_SHA1": (bytes.fromhex("300906072a8648ce380403"), hashes.SHA1),
    # MD2 cannot be computed here: the signature bytes are SHA-1's, so no verifier can check them (names and key ids only)
    "md2WithRSAEncryption": (bytes.fromhex("300d06092a864886f70d0101020500"), hashes.SHA1),
}


def der_tlv(tag: int, value: bytes) -> bytes:
    size = len(value)
    length = bytes([size]) if size < 0x80 else bytes([0x80 | ((size.bit_length() + 7) // 8)]) + size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + value


def der_split(data: bytes) -> list:
    """[(tag, value)] of the DER elements in `data` (long-form lengths allowed, for BER test inputs too)."""
    items, at = [], 0
    while at < len(data):
        tag, first = data[at], data[at + 1]
        at += 2
        if first & 0x80:
            count = first & 0x7F
            size = int.from_bytes(data[at:at + count], "big")
            at += count
        else:
            size = first
        items.append((tag, data[at:at + size]))
        at += size
    return items


def _sign_raw(key, tbs: bytes, algorithm) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(tbs, padding.PKCS1v15(), algorithm)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(tbs, ec.ECDSA(algorithm))
    return key.sign(tbs, algorithm)  # DSA


def resign(cert: x509.Certificate, signer_key, *, legacy: str | None = None, patch=None) -> x509.Certificate:
    """`cert` signed again by `signer_key` over a raw TBSCertificate: with a legacy algorithm
    (LEGACY_ALGORITHMS) and/or after `patch(tbs_fields)` edits the TBS fields [(tag, value)]."""
    ((_tag, body),) = der_split(cert.public_bytes(serialization.Encoding.DER))
    (_t, tbs), (_a, algorithm), _signature = der_split(body)
    fields = der_split(tbs)
    algorithm_der, hash_type = LEGACY_ALGORITHMS[legacy] if legacy else (der_tlv(0x30, algorithm), type(cert.signature_hash_algorithm))
    fields[2] = der_split(algorithm_der)[0]  # the TBS repeats the signature algorithm
    if patch:
        fields = patch(fields)
    new_tbs = der_tlv(0x30, b"".join(der_tlv(tag, value) for tag, value in fields))
    signature = _sign_raw(signer_key, new_tbs, hash_type())
    return x509.load_der_x509_certificate(der_tlv(0x30, new_tbs + algorithm_der + der_tlv(0x03, b"\x00" + signature)))


def truncate_extension(oid: str, cert: x509.Certificate):
    """A `patch` for resign(): the value of extension `oid` claims 3 bytes more than it holds (truncated DER)."""
    value = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid)).value.public_bytes()
    assert value[1] < 0x7D, "short-form length expected"
    broken = bytes([value[0], value[1] + 3]) + value[2:]

    def patch(fields):
        return [(tag, data.replace(value, broken, 1) if tag == 0xA3 else data) for tag, data in fields]
    return patch


def extensions_parse(cert: x509.Certificate) -> bool:
    try:
        cert.extensions  # pylint: disable=pointless-statement
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------- description (ground truth)

def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cn(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return attrs[0].value if attrs else None


def sans_of(cert: x509.Certificate) -> dict:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):  # ValueError: a malformed extension; the name cannot be read
        return {"dns": [], "ip": []}
    return {"dns": list(ext.get_values_for_type(x509.DNSName)), "ip": [str(i) for i in ext.get_values_for_type(x509.IPAddress)]}


def _key_info(cert: x509.Certificate) -> dict:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return {"key_type": "RSA", "key_size": key.key_size, "key_curve": None}
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"key_type": "EC", "key_size": key.curve.key_size, "key_curve": key.curve.name}
    if isinstance(key, ed25519.Ed25519PublicKey):
        return {"key_type": "Ed25519", "key_size": 256, "key_curve": None}
    if isinstance(key, dsa.DSAPublicKey):
        return {"key_type": "DSA", "key_size": key.key_size, "key_curve": None}
    return {"key_type": type(key).__name__, "key_size": None, "key_curve": None}


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, cert.signature_hash_algorithm)
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except InvalidSignature:
        return False
    return True


@functools.lru_cache(maxsize=None)
def describe(cert: x509.Certificate) -> dict:
    """The ground-truth view of one certificate (schema in README.md).

    Cached: the intermediate and the root appear in hundreds of chains at scale. Callers must
    not mutate the result."""
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):  # ValueError: an extension does not parse, none can be read
        is_ca = False
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    return {
        "subject": cert.subject.rfc4514_string(),
        "subject_cn": _cn(cert.subject),
        "issuer": cert.issuer.rfc4514_string(),
        "issuer_cn": _cn(cert.issuer),
        "serial": cert.serial_number,
        "serial_hex": format(cert.serial_number, "x"),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "not_before": iso(not_before),
        "not_before_epoch": int(not_before.timestamp()),
        "not_after": iso(not_after),
        "not_after_epoch": int(not_after.timestamp()),
        "sans": sans_of(cert),
        **_key_info(cert),
        "signature_algorithm": cert.signature_algorithm_oid._name,  # pylint: disable=protected-access
        "version": cert.version.value + 1,
        "is_ca": is_ca,
        "self_signed": cert.subject == cert.issuer and signed_by(cert, cert),
    }


# ---------------------------------------------------------------- hostname rules (RFC 6125)

def _wildcard_match(pattern: str, host: str) -> bool:
    p_labels, h_labels = pattern.lower().split("."), host.lower().split(".")
    if len(p_labels) != len(h_labels):
        return False
    if p_labels[0] == "*":
        return h_labels[0] != "" and p_labels[1:] == h_labels[1:]
    return p_labels == h_labels


def hostname_match(cert: x509.Certificate, hostname: str, cn_fallback: bool = False) -> bool:
    """RFC 6125: IPs match iPAddress SANs only; a wildcard covers one left-most label."""
    sans = sans_of(cert)
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        address = None
    if address is not None:
        return str(address) in sans["ip"]
    if sans["dns"] or sans["ip"]:
        return any(_wildcard_match(d, hostname) for d in sans["dns"])
    cn = _cn(cert.subject)
    return bool(cn_fallback and cn and _wildcard_match(cn, hostname))
