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
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

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
          client: bool = False, subject_name: x509.Name | None = None, san: bool = True) -> Issued:
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
    algorithm = None if isinstance(signer_key, ed25519.Ed25519PrivateKey) else hashes.SHA384() if isinstance(signer_key, ec.EllipticCurvePrivateKey) and signer_key.curve.key_size > 256 else hashes.SHA256()
    return Issued(name, builder.sign(signer_key, algorithm), key)


# ---------------------------------------------------------------- description (ground truth)

def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cn(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return attrs[0].value if attrs else None


def sans_of(cert: x509.Certificate) -> dict:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
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
    return {"key_type": type(key).__name__, "key_size": None, "key_curve": None}


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
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
    except x509.ExtensionNotFound:
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
