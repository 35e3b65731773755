# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostname matching (RFC 6125 / CA/B rules).

IP addresses match only IP SANs; a wildcard is allowed only as the whole left-most label and
covers exactly one label; names are compared as IDNA A-labels; the subject CN is used only when
asked for and only when the certificate has no DNS SAN, and the result says so.
"""

from __future__ import annotations

import ipaddress
import unicodedata

from ansible_collections.sre.toolkit.plugins.module_utils._deps import OptionalImport

_idna2008 = None
with OptionalImport("idna"):  # IDNA2008 / UTS 46 when the idna package is there (it ships with requests); see _fallback_a_label without it
    import idna as _idna2008

LABEL_DOTS = ("\u3002", "\uff0e", "\uff61")  # ideographic and full-width full stops separate labels too (UTS 46)

from ._crypto import ExtensionOID, x509
from .facts import common_names, extension_errors


def parse_ip(name):
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None


def to_a_label(name):
    """Lower-case A-label form of a DNS name; raises ValueError when it is not a valid name."""
    name = name.rstrip(".")
    if name.isascii():
        return name.lower()
    if _idna2008 is not None:
        try:
            return _idna2008.encode(name, uts46=True).decode("ascii").lower()
        except (_idna2008.IDNAError, UnicodeError) as exc:
            raise ValueError("invalid internationalised name %r (IDNA2008): %s; give its A-label (xn--...)" % (name, exc))
    return _fallback_a_label(name)


def _fallback_a_label(name):
    """A-labels without the idna package: NFKC, lower case, Punycode per label; symbols and punctuation refused.

    Not the stdlib's `encodings.idna`, which is IDNA 2003 and maps ß to ss and ς to σ (another
    host name). This keeps them, as IDNA2008 does, but it skips IDNA2008's contextual (CONTEXTJ,
    CONTEXTO) and bidi rules and UTS 46's full mapping table: names those rules would refuse may
    be encoded instead of refused.
    """
    text = unicodedata.normalize("NFKC", name)
    for dot in LABEL_DOTS:
        text = text.replace(dot, ".")
    labels = []
    for label in text.lower().split("."):
        if not label.isascii():
            refused = [char for char in label if char != "-" and unicodedata.category(char)[0] not in "LMN"]
            if refused:
                raise ValueError("invalid internationalised name %r: %r is not allowed in IDNA2008; give its A-label (xn--...)" % (
                    name, refused[0]))
            label = "xn--" + label.encode("punycode").decode("ascii")
        if not label or len(label) > 63:
            raise ValueError("invalid name %r: labels must hold 1 to 63 characters" % name)
        labels.append(label)
    return ".".join(labels)


def to_unicode(a_label):
    """Unicode form of an A-label name (IDNA2008 when available); unchanged when it does not decode."""
    if _idna2008 is not None:
        try:
            return _idna2008.decode(a_label)
        except (_idna2008.IDNAError, UnicodeError):
            pass
    try:
        return ".".join(label[4:].encode("ascii").decode("punycode") if label.lower().startswith("xn--") else label
                        for label in a_label.split("."))
    except UnicodeError:
        return a_label


def pattern_matches(pattern, host):
    """True when a presented DNS identifier `pattern` covers `host` (both A-labels)."""
    pattern = pattern.rstrip(".").lower()
    if pattern == host:
        return True
    labels = pattern.split(".")
    if labels[0] != "*" or "*" in ".".join(labels[1:]):
        return False  # partial wildcards (f*.x) and wildcards past the left-most label never match
    if len(labels) < 3:
        return False  # *.com or a bare * would cover a whole TLD
    host_labels = host.split(".")
    if len(host_labels) != len(labels):
        return False  # one label only: *.example.com never covers a.b.example.com or example.com
    return host_labels[1:] == labels[1:] and host_labels[0] != ""


def _san(cert):
    try:
        return cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def match_hostname(cert, hostname, cn_fallback=False):
    """{"name", "matched", "matched_by": dns|ip|cn|None, "cn_fallback_used", "reason"}.

    matched is None (not judged) when the certificate's extensions do not parse: its SAN is unknown,
    and neither a match nor a mismatch (nor a CN fallback) may be claimed.
    """
    result = {"name": hostname, "matched": False, "matched_by": None, "cn_fallback_used": False, "reason": None}
    faults = extension_errors(cert)
    if faults:
        result.update(matched=None, reason="hostname not judged: the certificate's extensions do not parse (%s), so its "
                      "subjectAltName is unknown" % ", ".join("%s: %s" % (f["name"], f["error"]) for f in faults))
        return result
    san = _san(cert)
    address = parse_ip(hostname)
    if address is not None:
        ips = san.get_values_for_type(x509.IPAddress) if san is not None else []
        result["matched"] = address in ips
        result["matched_by"] = "ip" if result["matched"] else None
        result["reason"] = None if result["matched"] else "no IP SAN equals %s (IP addresses never match DNS names or the CN)" % address
        return result
    try:
        host = to_a_label(hostname)
    except ValueError as exc:
        result["reason"] = str(exc)
        return result
    dns_names = san.get_values_for_type(x509.DNSName) if san is not None else []
    if any(pattern_matches(to_a_label_lenient(name), host) for name in dns_names):
        result.update(matched=True, matched_by="dns")
        return result
    if not dns_names and cn_fallback:
        result["cn_fallback_used"] = True
        if any(pattern_matches(to_a_label_lenient(name), host) for name in common_names(cert.subject)):
            result.update(matched=True, matched_by="cn")
            return result
    if dns_names:
        result["reason"] = "%s matches none of the DNS SANs %s" % (host, ", ".join(sorted(dns_names)))
    else:
        result["reason"] = "certificate has no DNS SAN%s" % (
            " and its CN does not match" if cn_fallback else " (CN fallback is off)")
    return result


def to_a_label_lenient(name):
    try:
        return to_a_label(name)
    except ValueError:
        return name.lower()
