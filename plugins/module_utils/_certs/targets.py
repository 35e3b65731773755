# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Endpoint specs as users write them ("host:port", "[v6]:port", URLs, dicts) into checked targets.

A bad spec becomes one error for that item; the rest of the scan goes on.
"""

from __future__ import annotations

from .names import parse_ip, to_a_label

STARTTLS_PROTOCOLS = ("smtp", "imap", "pop3", "ftp", "postgres", "mysql", "ldap", "xmpp", "xmpp-server")
# The port a protocol listens on when the spec gives none
DEFAULT_PORTS = {None: 443, "smtp": 25, "imap": 143, "pop3": 110, "ftp": 21, "postgres": 5432, "mysql": 3306, "ldap": 389,
                 "xmpp": 5222, "xmpp-server": 5269}
ENDPOINT_KEYS = ("host", "port", "sni", "starttls", "name", "all_addresses")


class SpecError(Exception):
    """An endpoint spec that cannot be probed; `msg` names the problem and the fix."""


# URL schemes users paste from browsers and configs: (STARTTLS protocol or None, default port);
# a scheme named like a STARTTLS protocol upgrades on that protocol's port
URL_SCHEMES = dict({name: (name, DEFAULT_PORTS[name]) for name in STARTTLS_PROTOCOLS if name != "xmpp-server"},
                   https=(None, 443), wss=(None, 443), ldaps=(None, 636), smtps=(None, 465), imaps=(None, 993),
                   pop3s=(None, 995), ftps=(None, 990), submission=("smtp", 587), postgresql=("postgres", DEFAULT_PORTS["postgres"]))


def _split_url(text):
    """scheme://[user@]host[:port][/path] into (host, port or None, starttls); the scheme decides the defaults."""
    scheme, _sep, rest = text.partition("://")
    scheme = scheme.lower()
    if scheme not in URL_SCHEMES:
        raise SpecError("%r: unknown scheme %r; give host:port or a URL with one of %s" % (
            text, scheme, ", ".join(sorted(URL_SCHEMES))))
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    host, port = _split_host_port(authority)
    starttls, default_port = URL_SCHEMES[scheme]
    return host, port or default_port, starttls


def _split_host_port(text):
    text = text.strip()
    if "://" in text:
        raise SpecError("%r: a URL is allowed only as the whole endpoint string" % text)
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise SpecError("%r: unterminated [IPv6] address" % text)
        if rest and not rest.startswith(":"):
            raise SpecError("%r: expected [address]:port" % text)
        return host, rest[1:] or None
    if text.count(":") > 1:
        if parse_ip(text) is None:
            raise SpecError("%r: write IPv6 addresses as [address]:port" % text)
        return text, None
    host, _colon, port = text.partition(":")
    return host, port or None


def _port(value, label):
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise SpecError("%s: port %r is not a number" % (label, value))
    if not 1 <= port <= 65535:
        raise SpecError("%s: port %d is out of range (1-65535)" % (label, port))
    return port


def parse_endpoint(spec, default_starttls=None):
    """One endpoint spec (str or dict) into {id, host, port, sni, starttls, all_addresses}."""
    if isinstance(spec, str) and "://" in spec:
        host, port, scheme_starttls = _split_url(spec.strip())
        spec_dict = {"host": host, "port": port, "starttls": scheme_starttls or default_starttls}
        label = spec
    elif isinstance(spec, str):
        host, port = _split_host_port(spec)
        spec_dict = {"host": host, "port": port}
        label = spec
    elif isinstance(spec, dict):
        unknown = sorted(set(spec) - set(ENDPOINT_KEYS))
        if unknown:
            raise SpecError("endpoint %r: unknown keys %s (allowed: %s)" % (
                spec.get("name") or spec.get("host"), ", ".join(unknown), ", ".join(ENDPOINT_KEYS)))
        spec_dict = dict(spec)
        host = str(spec_dict.get("host") or "")
        if host and spec_dict.get("port") in (None, "") and (":" in host and not parse_ip(host)):
            host, spec_dict["port"] = _split_host_port(host)
        spec_dict["host"] = host.strip("[]")
        label = spec_dict.get("name") or host
    else:
        raise SpecError("endpoint %r: expected a string host:port or a dict with host and port" % (spec,))
    if not spec_dict.get("host"):
        raise SpecError("endpoint %r: host is empty" % (label,))
    starttls = spec_dict.get("starttls", default_starttls) or None
    if starttls is not None and starttls not in STARTTLS_PROTOCOLS:
        raise SpecError("endpoint %s: starttls %r is not one of %s" % (label, starttls, ", ".join(STARTTLS_PROTOCOLS)))
    port = spec_dict.get("port")
    port = DEFAULT_PORTS[starttls] if port in (None, "") else _port(port, "endpoint %s" % label)
    host = spec_dict["host"]
    sni = spec_dict.get("sni")
    if sni is None and parse_ip(host) is None:
        sni = host  # a name is sent as SNI unless the spec overrides it; an IP never is
    target_id = spec_dict.get("name") or ("[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port))
    return {"id": str(target_id), "host": _wire_name(host, "host", label), "port": port,
            "sni": _wire_name(sni, "sni", label) if sni else None, "starttls": starttls, "all_addresses": spec_dict.get("all_addresses")}


def _wire_name(name, field, label):
    """A name as it goes on the wire and to the resolver: internationalised names (U-labels) become A-labels.

    The SNI extension carries ASCII only (RFC 6066), and the stdlib resolver would encode a U-label
    with IDNA 2003 (straße -> strasse, another host). IP addresses and ASCII names pass unchanged.
    """
    name = str(name)
    if name.isascii() or parse_ip(name) is not None:
        return name
    try:
        return to_a_label(name)
    except ValueError as exc:
        raise SpecError("endpoint %s: %s %s" % (label, field, exc))
