# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn file or Secret bytes into certificates: PEM bundles, DER, PKCS#12, PKCS#7, kubeconfigs.

Each item yields its certificates plus at most one error per unreadable part, so one bad
block never hides the good ones next to it.
"""

from __future__ import annotations

import base64
import binascii
import re

from ansible_collections.sre.toolkit.plugins.module_utils._deps import OptionalImport

from ._crypto import pkcs7, pkcs12, x509
from .raw import try_read_raw

yaml = None
with OptionalImport("yaml"):  # names kubeconfig entries ("clusters[lab].certificate-authority-data"); regex fallback without it
    import yaml

PEM_MARKER = re.compile(rb"-----(BEGIN|END) ([A-Z0-9 ]+)-----")
KUBECONFIG_DATA = re.compile(
    rb"""(certificate-authority-data|client-certificate-data)["']?\s*:\s*["']?([A-Za-z0-9+/=\s]+?)["']?\s*(?:,|\n|\r|}|$)""")
# DER of the OID pkcs7-data, present near the start of every PKCS#12 file.
PKCS7_DATA_OID = bytes.fromhex("06092a864886f70d010701")
# DER of the OID pkcs7-signedData, which opens a PKCS#7 certificate bundle (.p7b, .p7c)
PKCS7_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")
PKCS7_PEM_LABELS = (b"PKCS7", b"CERTIFICATE CHAIN")
CERT_PEM_LABELS = (b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE")


class LoadError(Exception):
    """An item that yields no certificate; `reason` is a stable id (enix exporter's names, plus pem_unterminated).

    `raw` holds (origin, facts from raw.read_raw) when cryptography refused a certificate whose
    structure and dates could still be read. `origin` names the part (pem[2], der, ...) when known;
    `errors` lists every unreadable part when this one is raised for the whole content.
    """

    def __init__(self, reason, msg, raw=None, origin=None, errors=None):
        super().__init__(msg)
        self.reason = reason
        self.msg = msg
        self.raw = raw
        self.origin = origin
        self.errors = errors if errors is not None else [self]


def _raw_or_none(der, origin):
    facts, _why = try_read_raw(der)
    return (origin, facts) if facts else None


def looks_like_pkcs12(data):
    return data[:1] == b"\x30" and PKCS7_DATA_OID in data[:64]


def looks_like_pkcs7(data):
    return data[:1] == b"\x30" and PKCS7_SIGNED_DATA_OID in data[:24]


def load_certificates(data, passphrase=None):
    """Return (certs, errors): certs as [(certificate, origin)], errors as [LoadError].

    An error whose certificate cryptography refused but whose dates were read carries them in
    `raw`. Raises LoadError only when nothing at all could be read, not even such dates.
    """
    if not data or not data.strip():
        raise LoadError("no_certificate_found", "empty content")
    if KUBECONFIG_DATA.search(data) and b"-----BEGIN" not in data:
        return _from_kubeconfig(data)
    if b"-----BEGIN" in data:
        return _from_pem(data)
    if looks_like_pkcs7(data):  # first: a PKCS#7 bundle also holds the pkcs7-data OID PKCS#12 is told by
        return _from_pkcs7(data, "pkcs7"), []
    if looks_like_pkcs12(data):
        return _from_pkcs12(data, passphrase), []
    if data[:1] != b"\x30":  # not even an ASN.1 SEQUENCE: text or something else
        raise LoadError("no_certificate_found", "no certificate: neither PEM, DER, PKCS#12 nor a kubeconfig with embedded certificates")
    try:
        return [(x509.load_der_x509_certificate(data), "der")], []
    except ValueError as exc:
        error = LoadError("decode_failed", "DER content does not decode as a certificate: %s" % exc, raw=_raw_or_none(data, "der"), origin="der")
    if error.raw is None:
        raise error
    return [], [error]


def pem_blocks(data):
    """[(index, label, body bytes or None)] of the PEM blocks in `data`, in order; body None for a BEGIN without its END.

    Markers are paired one by one, so a truncated block never swallows the complete one after it.
    """
    blocks, opened = [], None
    for marker in PEM_MARKER.finditer(data):
        kind, label = marker.group(1), marker.group(2)
        if kind == b"BEGIN":
            if opened is not None:
                blocks.append((len(blocks), opened[0], None))
            opened = (label, marker.end())
        elif opened is not None and label == opened[0]:
            blocks.append((len(blocks), label, data[opened[1]:marker.start()]))
            opened = None
    if opened is not None:
        blocks.append((len(blocks), opened[0], None))
    return blocks


def _pem_block(index, label, body):
    """[(cert, origin)] of one certificate or PKCS#7 block; LoadError with the reason that tells armour from content."""
    origin = "pem[%d]" % index
    name = label.decode("ascii")
    if body is None:
        raise LoadError("pem_unterminated", "PEM block %d (%s) has a BEGIN line but no END line: the content is truncated or another "
                        "block was pasted into it; restore the -----END %s----- line" % (index, name, name), origin=origin)
    try:
        der = base64.b64decode(b"".join(body.split()), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise LoadError("bad_pem", "PEM block %d (%s): the armour is broken, its body is not valid base64 (%s); re-export the "
                        "certificate" % (index, name, exc), origin=origin)
    if label in PKCS7_PEM_LABELS:
        try:
            return _from_pkcs7(der, origin + ".pkcs7")
        except LoadError as exc:
            raise LoadError(exc.reason, "PEM block %d: %s" % (index, exc.msg), origin=origin)
    try:
        return [(x509.load_der_x509_certificate(der), origin)]
    except ValueError as exc:
        raise LoadError("decode_failed", "PEM block %d (%s): the base64 is fine but the DER inside is not a valid certificate: %s" % (
            index, name, exc), raw=_raw_or_none(der, origin), origin=origin)


def _from_pem(data):
    certs, errors = [], []
    blocks = pem_blocks(data)
    for index, label, body in blocks:
        if label not in CERT_PEM_LABELS and label not in PKCS7_PEM_LABELS:
            continue  # keys, CSRs, CRLs live next to certificates; never read them
        try:
            certs.extend(_pem_block(index, label, body))
        except LoadError as exc:
            errors.append(exc)
    if not certs:
        if any(error.raw for error in errors):
            return certs, errors  # dates were still read: the caller reports them with the errors
        if errors:
            raise LoadError(errors[0].reason, errors[0].msg, origin=errors[0].origin, errors=errors)
        raise LoadError("no_certificate_found" if blocks else "bad_pem",
                        "no certificate block in PEM content" if blocks else "a PEM marker without any block")
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


def _from_pkcs7(der, origin):
    """Certificates of a PKCS#7 bundle (signedData, DER), each with origin `<origin>[i]`."""
    try:
        found = pkcs7.load_der_pkcs7_certificates(der)
    except ValueError as exc:
        raise LoadError("decode_failed", "PKCS#7 content does not decode: %s" % exc)
    if not found:
        raise LoadError("no_certificate_found", "PKCS#7 content holds no certificate")
    return [(cert, "%s[%d]" % (origin, index)) for index, cert in enumerate(found)]


def kubeconfig_entries(data):
    """[(where, base64 text)] of embedded certificates, in the order of clusters then users."""
    if yaml is not None:
        try:
            doc = yaml.safe_load(data)
        except yaml.YAMLError:
            doc = None
        if isinstance(doc, dict):
            entries = []
            for section, inner, field in (("clusters", "cluster", "certificate-authority-data"),
                                          ("users", "user", "client-certificate-data")):
                for item in doc.get(section) or []:
                    value = (item or {}).get(inner) or {}
                    if isinstance(value, dict) and value.get(field):
                        entries.append(("%s[%s].%s" % (section, item.get("name"), field), str(value[field])))
            return entries
    return [("%s#%d" % (m.group(1).decode(), i), m.group(2).decode()) for i, m in enumerate(KUBECONFIG_DATA.finditer(data))]


def _from_kubeconfig(data):
    certs, errors = [], []
    for where, text in kubeconfig_entries(data):
        try:
            pem = base64.b64decode("".join(text.split()), validate=True)
            found, bad = _from_pem(pem) if b"-----BEGIN" in pem else ([(x509.load_der_x509_certificate(pem), "der")], [])
        except (LoadError, ValueError, binascii.Error) as exc:
            errors.append(LoadError("bad_pem", "kubeconfig %s: %s" % (where, exc)))
            continue
        certs.extend((cert, where) for cert, _origin in found)
        errors.extend(bad)
    if not certs:
        raise errors[0] if errors else LoadError("no_certificate_found", "kubeconfig holds no embedded certificate")
    return certs, errors


def detect_format(data, path=""):
    """pem, der, pkcs12, kubeconfig or unknown: by content, else by the file name."""
    if data:
        if KUBECONFIG_DATA.search(data) and b"-----BEGIN" not in data:
            return "kubeconfig"
        if b"-----BEGIN" in data:
            return "pem"
        if looks_like_pkcs7(data):
            return "pkcs7"
        if looks_like_pkcs12(data):
            return "pkcs12"
        if data[:1] == b"\x30":
            return "der"
    lower = path.lower()
    for suffixes, kind in (((".pem", ".crt", ".cert"), "pem"), ((".der", ".cer"), "der"), ((".p12", ".pfx"), "pkcs12"), ((".p7b", ".p7c"), "pkcs7"),
                           ((".kubeconfig",), "kubeconfig")):
        if lower.endswith(suffixes):
            return kind
    return "unknown"
