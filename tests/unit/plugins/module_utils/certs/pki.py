"""A tiny in-test PKI built with cryptography: roots, intermediates, leaves with chosen dates."""
from __future__ import annotations

import datetime as dt
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.lab.tls.pki import der_split

NOW = dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


class Issued:
    def __init__(self, cert, key):
        self.cert, self.key = cert, key


def make(cn, issuer=None, *, days_from=-30, days_to=90, ca=False, dns=(), ips=(), key=None, san=True, rsa_bits=None,
         subject=None, serial=None, hash_alg=None, eku=ExtendedKeyUsageOID.SERVER_AUTH):
    if key is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits) if rsa_bits else ec.generate_private_key(ec.SECP256R1())
    name = subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer.cert.subject if issuer else name)
               .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
               .not_valid_before(NOW + days_from * DAY).not_valid_after(NOW + days_to * DAY)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        if san and names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    signer = issuer.key if issuer else key
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    return Issued(builder.sign(signer, hash_alg or hashes.SHA256()), key)


def hierarchy():
    """root -> inter -> leaf (valid), plus the pieces tests recombine."""
    root = make("Test Root", ca=True, days_from=-400, days_to=3000)
    inter = make("Test Inter", root, ca=True, days_from=-300, days_to=1000)
    leaf = make("www.example.test", inter, dns=["www.example.test", "*.apps.example.test"], ips=["10.0.0.1"])
    return root, inter, leaf


# ---------------------------------------------------------------- BER, which cryptography refuses

_split = der_split  # the lab's DER walker (long-form lengths included)


def _tlv(tag, value):
    return bytes([tag]) + (bytes([len(value)]) if len(value) < 0x80 else bytes([0x82]) + len(value).to_bytes(2, "big")) + value


def ber_serial(cert):
    """The certificate re-encoded with its serial's length in long form: valid BER, not DER."""
    (_t, body), = _split(cert.public_bytes(serialization.Encoding.DER))
    (_t, tbs), algorithm, signature = _split(body)
    fields = _split(tbs)  # version [0], serial, ...
    serial_tag, serial = fields[1]
    encoded = _tlv(*fields[0]) + bytes([serial_tag, 0x81, len(serial)]) + serial + b"".join(_tlv(*f) for f in fields[2:])
    return _tlv(0x30, _tlv(0x30, encoded) + _tlv(*algorithm) + _tlv(*signature))
