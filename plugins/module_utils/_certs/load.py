# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn file or Secret bytes into certificates: PEM bundles, DER, PKCS#12, kubeconfigs.

Each item yields its certificates plus at most one error per unreadable part, so one bad
block never hides the good ones next to it.
"""

from __future__ import annotations

import base64
import binascii
import re

from ._crypto import pkcs12, x509

PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
KUBECONFIG_DATA = re.compile(
    rb"""(certificate-authority-data|client-certificate-data)["']?\s*:\s*["']?([A-Za-z0-9+/=\s]+?)["']?\s*(?:,|\n|\r|}|$)""")
# DER of the OID pkcs7-data, present near the start of every PKCS#12 file.
PKCS7_DATA_OID = bytes.fromhex("06092a864886f70d010701")
CERT_PEM_LABELS = (b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE")


class LoadError(Exception):
    """An item that yields no certificate; `reason` is a stable id (enix exporter's names)."""

    def __init__(self, reason, msg):
        super().__init__(msg)
        self.reason = reason
        self.msg = msg


def looks_like_pkcs12(data):
    return data[:1] == b"\x30" and PKCS7_DATA_OID in data[:64]


def load_certificates(data, passphrase=None):
    """Return (certs, errors): certs as [(certificate, origin)], errors as [LoadError].

    Raises LoadError only when nothing at all could be read.
    """
    if not data or not data.strip():
        raise LoadError("no_certificate_found", "empty content")
    if KUBECONFIG_DATA.search(data) and b"-----BEGIN" not in data:
        return _from_kubeconfig(data)
    if b"-----BEGIN" in data:
        return _from_pem(data)
    if looks_like_pkcs12(data):
        return _from_pkcs12(data, passphrase), []
    try:
        return [(x509.load_der_x509_certificate(data), "der")], []
    except ValueError:
        pass
    raise LoadError("decode_failed", "neither PEM, DER, PKCS#12 nor a kubeconfig with embedded certificates")


def _from_pem(data):
    certs, errors = [], []
    found_block = False
    for index, match in enumerate(PEM_BLOCK.finditer(data)):
        found_block = True
        if match.group(1) not in CERT_PEM_LABELS:
            continue  # keys, CSRs, CRLs live next to certificates; never read them
        try:
            der = base64.b64decode(b"".join(match.group(2).split()), validate=True)
            certs.append((x509.load_der_x509_certificate(der), "pem[%d]" % index))
        except (ValueError, binascii.Error) as exc:
            errors.append(LoadError("bad_pem", "PEM block %d is not a valid certificate: %s" % (index, exc)))
    if not certs:
        if errors:
            raise errors[0]
        raise LoadError("bad_pem" if not found_block else "no_certificate_found",
                        "no certificate block in PEM content" if found_block else "unterminated PEM block")
    return certs, errors


def _from_pkcs12(data, passphrase):
    password = passphrase.encode() if isinstance(passphrase, str) else passphrase
    try:
        bundle = pkcs12.load_pkcs12(data, password)
    except (ValueError, TypeError) as exc:
        if password is None:
            raise LoadError("bad_passphrase", "PKCS#12 content needs a passphrase (set passphrase): %s" % exc)
        raise LoadError("bad_passphrase", "PKCS#12 content could not be opened with the given passphrase: %s" % exc)
    certs = []
    if bundle.cert is not None:
        certs.append((bundle.cert.certificate, "pkcs12[cert]"))
    for index, extra in enumerate(bundle.additional_certs):
        certs.append((extra.certificate, "pkcs12[%d]" % index))
    if not certs:
        raise LoadError("no_certificate_found", "PKCS#12 content holds no certificate")
    return certs


def _from_kubeconfig(data):
    certs, errors = [], []
    for index, match in enumerate(KUBECONFIG_DATA.finditer(data)):
        field = match.group(1).decode()
        try:
            pem = base64.b64decode(b"".join(match.group(2).split()), validate=True)
            found, bad = _from_pem(pem)
        except (LoadError, ValueError, binascii.Error) as exc:
            errors.append(LoadError("bad_pem", "kubeconfig %s #%d: %s" % (field, index, exc)))
            continue
        certs.extend((cert, "kubeconfig[%d].%s" % (index, field)) for cert, _origin in found)
        errors.extend(bad)
    if not certs:
        raise errors[0] if errors else LoadError("no_certificate_found", "kubeconfig holds no embedded certificate")
    return certs, errors
