# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Assemble per-target findings from fetched bytes: endpoints, files and Secret keys.

Dates are always reported: parsing and facts come first, verification afterwards, and a
failed verification only sets `verify` and its reason.
"""

from __future__ import annotations

import datetime
import functools
import re

from .. import _time
from ._crypto import x509
from .chain import verify_chain
from .facts import certificate_facts, days_left, days_until, epoch, fingerprint, iso, not_after
from .load import LoadError, detect_format, load_certificates
from .names import match_hostname, parse_ip, to_a_label, to_unicode
from .raw import try_read_raw
from .secrets import certificate_keys, secret_identity
from .severity import fail_reasons, severity_for_days, worst

EXPIRY_SCOPES = ("path", "chain", "leaf")
# the TLS client's fallback when its own reader fails: ssl hands over the leaf alone (_tls.py)
LEAF_ONLY_PROBE = "ssl_leaf_only"


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


def _facts_list(certs, settings, positions=None):
    out = []
    for position, cert in zip(positions or range(len(certs)), certs):
        facts = certificate_facts(cert, settings.now)
        facts.update(position=position, parsed_raw=False)
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
    """(parsed [(position, cert)], unreadable [(position, raw facts or None)], errors [str])."""
    parsed, unreadable, errors = [], [], []
    for position, der in enumerate(chain or []):
        try:
            parsed.append((position, x509.load_der_x509_certificate(der)))
            continue
        except ValueError as exc:
            errors.append("certificate %d sent by the server does not parse: %s" % (position, exc))
        facts, why = try_read_raw(der)  # the dates still count: read them from the raw structure
        if why:
            errors.append("certificate %d: not even its validity could be read: %s" % (position, why))
        unreadable.append((position, facts))
    return parsed, unreadable, errors


def _raw_facts(position, raw, settings):
    """Report facts of a certificate only read raw: the same fields, unknowns as None, `parsed_raw` true."""
    before, after = raw["not_before_at"], raw["not_after_at"]
    facts = {key: value for key, value in raw.items() if not key.endswith("_at")}
    facts.update(not_before=iso(before), not_before_epoch=epoch(before), not_after=iso(after), not_after_epoch=epoch(after),
                 days_left=days_until(after, settings.now), expired=after <= settings.now,
                 not_yet_valid=before > settings.now, position=position, parsed_raw=True)
    facts["severity"] = severity_for_days(facts["days_left"], settings.warn_days, settings.critical_days)
    return facts


def _fold_unreadable(finding, certs, raw_facts, leaf_unreadable, settings):
    """Certificates read only raw still count for the earliest expiry and the severity.

    When the leaf itself was unreadable the chain was not judged: verify is `unparsable` and the
    parsed certificates' dates are added here too. With expiry_scope leaf only position 0 counts.
    """
    if leaf_unreadable:
        finding["verify"] = "unparsable"
    dates = [f["not_after"] for f in raw_facts]
    if finding.get("earliest_not_after"):
        dates.append(finding["earliest_not_after"])
    candidates = [finding["expiry"]] if finding.get("expiry") else []
    if leaf_unreadable and certs:
        dates.append(iso(min(not_after(cert) for cert in certs)))
        if settings.expiry_scope != "leaf":
            candidates.append(_expiry(certs, settings))
    for facts in raw_facts:
        if settings.expiry_scope != "leaf" or facts["position"] == 0:
            candidates.append({key: facts[key] for key in ("not_after", "not_after_epoch", "days_left", "sha256", "subject")})
    if dates:  # fixed-width ISO-8601 UTC: text order is time order
        finding["earliest_not_after"] = min(dates)
    if candidates:
        finding["expiry"] = min(candidates, key=lambda expiry: expiry["not_after_epoch"])
        finding["severity"] = severity_for_days(finding["expiry"]["days_left"], settings.warn_days, settings.critical_days)


def endpoint_finding(fetched, settings):
    """One endpoint: `fetched` is what _tls.py returned (chain as DER list, version, errors)."""
    parsed, unreadable, parse_errors = _parse_der_chain(fetched.get("chain"))
    certs = [cert for _position, cert in parsed]
    raw_facts = [_raw_facts(position, raw, settings) for position, raw in unreadable if raw is not None]
    leaf_unreadable = bool(unreadable) and unreadable[0][0] == 0
    hostname, hostname_unicode = hostname_forms(fetched.get("sni") or fetched.get("host"))
    finding = {key: fetched.get(key) for key in ("id", "host", "port", "address", "sni", "starttls", "tls_version",
                                                 "requires_client_cert", "client_cert_requested", "client_cert_accepted", "error_kind",
                                                 "error_reason", "error", "attempts", "elapsed")}
    chain = _facts_list(certs, settings, [position for position, _cert in parsed]) + raw_facts
    method = fetched.get("method")
    finding.update(source="endpoint", hostname=hostname, hostname_unicode=hostname_unicode,
                   chain=sorted(chain, key=lambda facts: facts["position"]), chain_readable=bool(chain),
                   probe_method=method, probe_fallback_reason=fetched.get("fallback_reason"),
                   chain_complete=(method != LEAF_ONLY_PROBE) if chain else None)
    if parse_errors:
        finding["parse_errors"] = parse_errors
    # an intermediate must never be judged as the leaf: without a readable leaf there is no verdict
    finding.update(_judge_chain([] if leaf_unreadable else certs, settings, hostname, purpose="server"))
    if method == LEAF_ONLY_PROBE and finding["verify"] == "unknown_ca" and finding["verify_error_depth"] == 0:
        finding.update(verify="incomplete_chain", verify_detail=(
            "only the leaf was fetched (fallback probe %s, after: %s), so the intermediates the server sends are unknown: %s" % (
                method, fetched.get("fallback_reason"), finding["verify_detail"])))
    if unreadable:
        finding["verify_detail"] = "; ".join(parse_errors) + ("; " + finding["verify_detail"] if finding.get("verify_detail") else "")
        _fold_unreadable(finding, certs, raw_facts, leaf_unreadable, settings)
    if not chain and finding.get("error_kind"):
        finding["severity"] = "error"
    return finding


def _judge_chain(certs, settings, hostname=None, purpose="server"):
    """verify + hostname + expiry + severity for a chain (leaf first)."""
    out = {"verify": None, "verify_error_depth": None, "verify_detail": None, "verify_path": [], "unused": [],
           "validation_time": iso(settings.validation_time), "verify_method": None,
           "earliest_not_after": None, "earliest_not_after_path": None, "expiry": None,
           "hostname_match": None, "hostname_match_cn_fallback": None, "hostname_detail": None,
           "hostname_matched_by": None, "cn_fallback_used": None, "severity": "ok", "weak_signatures": []}
    if not certs:
        return out
    verdict = verify_chain(certs, settings.anchors, settings.validation_time, purpose)
    out.update(verify=verdict["verify"], verify_error_depth=verdict["verify_error_depth"], verify_detail=verdict["detail"],
               verify_path=verdict["verify_path"], unused=verdict["unused"], verify_method=verdict["method"],
               weak_signatures=verdict["weak_signatures"])
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
    moment = _time.to_datetime(_time.parse_rfc3339(value))
    if moment is None:
        raise ValueError("not an ISO-8601 time: %r" % (value,))
    return moment


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
               "error_reason": None, "error_kind": None, "errors": [], "severity": "ok", "expiry": None, "verify": None}
    finding.update(extra)
    try:
        loaded, errors = load_certificates(data, passphrase)
    except LoadError as exc:
        finding.update(error=exc.msg, error_reason=exc.reason, error_kind="parse", severity="error", errors=_error_entries(exc.errors))
        return finding
    finding["errors"] = _error_entries(errors)
    # parsed and raw-read certificates together, in file order
    items = sorted([(origin, cert) for cert, origin in loaded] + [error.raw for error in errors if error.raw],
                   key=lambda item: _origin_order(item[0]))
    for position, (origin, item) in enumerate(items):
        facts = _raw_facts(position, item, settings) if isinstance(item, dict) else _facts_list([item], settings, [position])[0]
        facts["origin"] = origin
        finding["certs"].append(facts)
    certs = [item for _origin, item in items if not isinstance(item, dict)]
    raw_facts = [facts for facts in finding["certs"] if facts["parsed_raw"]]
    first_unreadable = bool(raw_facts) and raw_facts[0]["position"] == 0
    if errors:  # still readable certs are reported; the item carries one error
        finding.update(error=errors[0].msg, error_reason=errors[0].reason, error_kind="parse")
    judged = _judge_chain([] if first_unreadable else certs, settings, None, purpose="any")
    for key in ("verify", "verify_error_depth", "verify_detail", "verify_path", "validation_time", "earliest_not_after", "weak_signatures"):
        finding[key] = judged[key]
    if certs and not first_unreadable:
        finding["expiry"] = _expiry(certs[:1] if settings.expiry_scope == "leaf" else certs, settings)
        finding["severity"] = severity_for_days(finding["expiry"]["days_left"], settings.warn_days, settings.critical_days)
    if raw_facts:
        _fold_unreadable(finding, certs, raw_facts, first_unreadable, settings)
    return finding


def _error_entries(errors):
    """One entry per unreadable part: {origin, reason, error}, in file order (`error`/`error_reason` repeat the first)."""
    return [{"origin": error.origin, "reason": error.reason, "error": error.msg} for error in errors]


def _origin_order(origin):
    """File order of an origin: pem[3] and pem[3].pkcs7[1] sort by their block, then their item."""
    return tuple(int(number) for number in re.findall(r"\[(\d+)\]", origin)) or (0,)


def summarize(targets, conditions=()):
    """Counts by source and severity, the earliest expiry overall, and the targets matching the
    gate's extra ``conditions`` (``fail_reasons``)."""
    counts = {}
    for target in targets:
        bucket = counts.setdefault(target.get("source", "unknown"), {})
        bucket[target["severity"]] = bucket.get(target["severity"], 0) + 1
    expiries = [t["expiry"] for t in targets if t.get("expiry")]
    earliest = min(expiries, key=lambda e: e["not_after_epoch"]) if expiries else None
    if earliest is not None:
        earliest = dict(earliest, id=next(t["id"] for t in targets if t.get("expiry") is earliest))
    reasons = fail_reasons(targets, conditions)
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
