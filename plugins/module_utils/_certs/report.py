# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Assemble per-target findings from fetched bytes: endpoints, files and Secret keys.

Dates are always reported: parsing and facts come first, verification afterwards, and a
failed verification only sets `verify` and its reason.
"""

from __future__ import annotations

import datetime
import functools

from ._crypto import x509
from .chain import verify_chain
from .facts import certificate_facts, days_left, epoch, fingerprint, iso, not_after
from .load import LoadError, detect_format, load_certificates
from .names import match_hostname, parse_ip, to_a_label, to_unicode
from .secrets import certificate_keys, secret_identity
from .severity import fail_reasons, severity_for_days, worst

EXPIRY_SCOPES = ("path", "chain", "leaf")


class Settings:
    """What every target is judged with: times, thresholds, trust anchors."""

    def __init__(self, now, validation_time, anchors, warn_days=30, critical_days=14, expiry_scope="path",
                 cn_fallback=False, include_pem=False):
        self.now = now
        self.validation_time = validation_time
        self.anchors = anchors
        self.warn_days = warn_days
        self.critical_days = critical_days
        self.expiry_scope = expiry_scope
        self.cn_fallback = cn_fallback
        self.include_pem = include_pem


def _facts_list(certs, settings):
    out = []
    for position, cert in enumerate(certs):
        facts = certificate_facts(cert, settings.now)
        facts["position"] = position
        facts["severity"] = severity_for_days(facts["days_left"], settings.warn_days, settings.critical_days)
        if settings.include_pem:
            from .facts import to_pem
            facts["pem"] = to_pem(cert)
        out.append(facts)
    return out


def _expiry(certs, settings):
    """Earliest not_after over `certs` as {not_after, not_after_epoch, days_left, sha256, subject}."""
    if not certs:
        return None
    cert = min(certs, key=not_after)
    after = not_after(cert)
    return {"not_after": iso(after), "not_after_epoch": epoch(after), "days_left": days_left(cert, settings.now),
            "sha256": fingerprint(cert), "subject": cert.subject.rfc4514_string()}


@functools.lru_cache(maxsize=4096)
def hostname_forms(name):
    """(A-label form, Unicode form) of a DNS name; IPs and unparsable names come back unchanged."""
    if name is None or parse_ip(name) is not None:
        return name, name
    try:
        a_label = to_a_label(name)
    except ValueError:
        return name, name
    return a_label, to_unicode(a_label)


def _parse_der_chain(chain):
    certs, errors = [], []
    for index, der in enumerate(chain or []):
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError as exc:
            errors.append("certificate %d sent by the server does not parse: %s" % (index, exc))
    return certs, errors


def endpoint_finding(fetched, settings):
    """One endpoint: `fetched` is what _tls.py returned (chain as DER list, version, errors)."""
    certs, parse_errors = _parse_der_chain(fetched.get("chain"))
    hostname, hostname_unicode = hostname_forms(fetched.get("sni") or fetched.get("host"))
    finding = {key: fetched.get(key) for key in ("id", "host", "port", "address", "sni", "starttls", "tls_version",
                                                 "requires_client_cert", "client_cert_requested", "client_cert_accepted", "error_kind",
                                                 "error_reason", "error", "attempts", "elapsed")}
    finding.update(source="endpoint", hostname=hostname, hostname_unicode=hostname_unicode,
                   chain=_facts_list(certs, settings), chain_readable=bool(certs))
    if parse_errors:
        finding["parse_errors"] = parse_errors
    finding.update(_judge_chain(certs, settings, hostname, purpose="server"))
    if not certs and finding.get("error_kind"):
        finding["severity"] = "error"
    return finding


def _judge_chain(certs, settings, hostname=None, purpose="server"):
    """verify + hostname + expiry + severity for a chain (leaf first)."""
    out = {"verify": None, "verify_error_depth": None, "verify_detail": None, "verify_path": [], "unused": [],
           "validation_time": iso(settings.validation_time), "verify_method": None,
           "earliest_not_after": None, "earliest_not_after_path": None, "expiry": None,
           "hostname_match": None, "hostname_match_cn_fallback": None, "hostname_detail": None,
           "hostname_matched_by": None, "cn_fallback_used": None, "severity": "ok"}
    if not certs:
        return out
    verdict = verify_chain(certs, settings.anchors, settings.validation_time, purpose)
    out.update(verify=verdict["verify"], verify_error_depth=verdict["verify_error_depth"], verify_detail=verdict["detail"],
               verify_path=verdict["verify_path"], unused=verdict["unused"], verify_method=verdict["method"])
    by_id = {fingerprint(c): c for c in list(certs) + list(settings.anchors.certs)}
    on_path = [by_id[fp] for fp in verdict["verify_path"] if fp in by_id]
    candidate = [by_id[fp] for fp in verdict["path_candidate"] if fp in by_id]
    out["earliest_not_after"] = iso(min(not_after(c) for c in certs))
    out["earliest_not_after_path"] = iso(min(not_after(c) for c in on_path)) if on_path else None
    scoped = {"leaf": certs[:1], "chain": certs, "path": candidate or certs}[settings.expiry_scope]
    out["expiry"] = _expiry(scoped, settings)
    out["severity"] = severity_for_days(out["expiry"]["days_left"], settings.warn_days, settings.critical_days)
    if hostname:
        strict = match_hostname(certs[0], hostname, cn_fallback=False)
        loose = match_hostname(certs[0], hostname, cn_fallback=True)
        chosen = loose if settings.cn_fallback else strict
        out.update(hostname_match=chosen["matched"], hostname_match_cn_fallback=loose["matched"],
                   hostname_detail=chosen["reason"], hostname_matched_by=chosen["matched_by"],
                   cn_fallback_used=chosen["cn_fallback_used"])
    return out


def parse_time(value, default):
    """An aware datetime from ISO-8601 text, epoch seconds or None (= default); raises ValueError."""
    if value in (None, "", "now"):
        return default
    if isinstance(value, (int, float)) or str(value).lstrip("-").replace(".", "", 1).isdigit():
        return datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc)
    text = str(value).strip().replace("Z", "+00:00")
    moment = datetime.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def secret_finding(secret, settings):
    """A Secret: identity (no data), and per certificate key the certs and one error each."""
    identity = secret_identity(secret)
    finding = dict(identity, id="%s/%s" % (identity["namespace"], identity["name"]), source="secret", keys={},
                   error=None, error_kind=None, error_reason=None)
    for key, raw in certificate_keys(secret):
        item = content_finding(key, "secret_key", raw, settings)
        item.pop("id")
        item.pop("source")
        finding["keys"][key] = item
    items = list(finding["keys"].values())
    expiries = [i["expiry"] for i in items if i.get("expiry")]
    finding["expiry"] = min(expiries, key=lambda e: e["not_after_epoch"]) if expiries else None
    severities = [i["severity"] for i in items]
    finding["severity"] = worst(severities) if severities else "ok"
    broken = [(k, i) for k, i in sorted(finding["keys"].items()) if i.get("error")]
    if broken:
        key, item = broken[0]
        finding.update(error="%s: %s" % (key, item["error"]), error_kind=item["error_kind"], error_reason=item["error_reason"])
    return finding


def error_finding(target_id, source, kind, reason, message, **extra):
    finding = {"id": target_id, "source": source, "error_kind": kind, "error_reason": reason, "error": message,
               "severity": "error"}
    finding.update(extra)
    return finding


def file_error_finding(path, reason, message):
    """A file that could not be read at all (missing, broken symlink, permission)."""
    return error_finding(path, "file", "file", reason, message, certs=[], format=detect_format(b"", path), expiry=None, verify=None)


def content_finding(target_id, source, data, settings, passphrase=None, path="", **extra):
    """A file or a Secret key: every certificate in it, each judged on its own.

    The item's `verify` is the chain check of its first certificate with the rest as
    intermediates, against the trust anchors (no hostname, any purpose).
    """
    finding = {"id": target_id, "source": source, "format": detect_format(data, path), "certs": [], "error": None,
               "error_reason": None, "error_kind": None, "severity": "ok", "expiry": None, "verify": None}
    finding.update(extra)
    try:
        loaded, errors = load_certificates(data, passphrase)
    except LoadError as exc:
        finding.update(error=exc.msg, error_reason=exc.reason, error_kind="parse", severity="error")
        return finding
    certs = [cert for cert, _origin in loaded]
    finding["certs"] = _facts_list(certs, settings)
    for facts, (_cert, origin) in zip(finding["certs"], loaded):
        facts["origin"] = origin
    if errors:  # still readable certs are reported; the item carries one error
        finding.update(error=errors[0].msg, error_reason=errors[0].reason, error_kind="parse")
    judged = _judge_chain(certs, settings, None, purpose="any")
    for key in ("verify", "verify_error_depth", "verify_detail", "verify_path", "validation_time", "earliest_not_after"):
        finding[key] = judged[key]
    expiry = _expiry(certs[:1] if settings.expiry_scope == "leaf" else certs, settings)
    finding["expiry"] = expiry
    finding["severity"] = severity_for_days(expiry["days_left"], settings.warn_days, settings.critical_days)
    return finding


def summarize(targets, fail_on=()):
    """Counts by source and severity, the earliest expiry overall, and the fail_on verdict."""
    counts = {}
    for target in targets:
        bucket = counts.setdefault(target.get("source", "unknown"), {})
        bucket[target["severity"]] = bucket.get(target["severity"], 0) + 1
    expiries = [t["expiry"] for t in targets if t.get("expiry")]
    earliest = min(expiries, key=lambda e: e["not_after_epoch"]) if expiries else None
    if earliest is not None:
        earliest = dict(earliest, id=next(t["id"] for t in targets if t.get("expiry") is earliest))
    reasons = fail_reasons(targets, fail_on)
    return {
        "total": len(targets),
        "by_source": counts,
        "by_severity": {s: sum(1 for t in targets if t["severity"] == s) for s in ("ok", "warn", "critical", "error")},
        "errors": sum(1 for t in targets if t.get("error_kind")),
        "earliest": earliest,
        "fail_reasons": reasons,
    }


def sort_targets(targets):
    order = {"endpoint": 0, "file": 1, "secret": 2}
    return sorted(targets, key=lambda t: (order.get(t.get("source"), 9), str(t.get("id")), str(t.get("address") or "")))
