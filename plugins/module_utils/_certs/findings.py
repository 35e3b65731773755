# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cert_expiry's targets (endpoints, files, Secret keys) as findings of the one contract."""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._findings import finding, subject
from ansible_collections.sre.toolkit.plugins.module_utils._time import to_epoch, utc_text

SEVERITY = {"critical": "critical", "warn": "warning"}
VERIFY_RULES = {"weak_signature_algorithm": "cert.weak_signature", "malformed_extension": "cert.malformed_extension",
                "incomplete_chain": "cert.incomplete_chain"}
NOT_A_VERDICT = (None, "ok", "unparsable", "no_certificate")


def _endpoint_about(target):
    where = "%s:%s" % (target.get("host"), target.get("port"))
    if target.get("sni") and target.get("sni") != target.get("host"):
        where += " (sni %s)" % target["sni"]
    if target.get("starttls"):
        where += " starttls %s" % target["starttls"]
    return subject("Endpoint", where, locator="endpoint %s" % where)


def _position(item):
    """1-based place in the file of the certificate that expires first."""
    sha = (item.get("expiry") or {}).get("sha256")
    for cert in item.get("certs") or ():
        if sha and cert.get("sha256") == sha:
            return cert.get("position", 0) + 1
    return None


def _content_about(kind, name, namespace, item, where):
    position = _position(item)
    locator = where if position is None else "%s #%d" % (where, position)
    return subject(kind, name, namespace, locator=locator)


def targets(result):
    """(subject, item) for every endpoint, file and Secret key of a cert_expiry result."""
    for target in result.get("endpoints") or ():
        yield _endpoint_about(target), target
    for item in result.get("files") or ():
        yield _content_about("File", item["id"], "", item, "file %s" % item["id"]), item
    for secret in result.get("secrets") or ():
        keys = secret.get("keys") or {}
        if not keys:  # a listing that failed
            yield subject("Secret", secret.get("name") or "*", secret.get("namespace") or "",
                          locator="secrets in %s" % (secret.get("namespace") or "*")), secret
        for key in sorted(keys):
            where = "Secret %s/%s[%s]" % (secret["namespace"], secret["name"], key)
            yield _content_about("Secret", "%s[%s]" % (secret["name"], key), secret["namespace"], keys[key], where), keys[key]


def _expiry(about, item, check):
    expiry = item.get("expiry") or {}
    days = expiry.get("days_left")
    severity = SEVERITY.get(item.get("severity"))
    if days is None or not severity:
        return []
    evidence = {"days_left": days, "not_after": expiry.get("not_after"), "subject": expiry.get("subject"), "sha256": expiry.get("sha256")}
    when = utc_text(to_epoch(expiry.get("not_after"))) if expiry.get("not_after") else "unknown date"
    if days < 0:
        return [finding("cert.expired", "critical", about, "expired %d day(s) ago (%s): %s" % (-days, when, expiry.get("subject")),
                        "renew the certificate and deploy the new chain", evidence, check)]
    return [finding("cert.expires_soon", severity, about, "expires in %d day(s) (%s): %s" % (days, when, expiry.get("subject")),
                    "renew it before %s" % when, evidence, check)]


def _verify(about, item, check):
    verify = item.get("verify")
    if verify in NOT_A_VERDICT or verify in ("expired", "not_yet_valid") and item.get("severity") in SEVERITY:
        return []  # an expired path is already the expiry finding
    rule = VERIFY_RULES.get(verify, "cert.untrusted")
    detail = item.get("verify_detail") or verify
    evidence = {"verify": verify, "detail": item.get("verify_detail"), "depth": item.get("verify_error_depth")}
    if item.get("probe_method"):
        evidence["probe_method"] = item["probe_method"]
    return [finding(rule, "warning", about, "does not verify: %s" % detail, "serve a chain the clients can verify: %s" % detail, evidence, check)]


def _hostname(about, item, check):
    if item.get("hostname_match") is not False:
        return []
    return [finding("cert.hostname_mismatch", "warning", about, "the certificate does not cover %s" % item.get("hostname"),
                    "issue a certificate whose subjectAltName covers %s" % item.get("hostname"),
                    {"hostname": item.get("hostname"), "detail": item.get("hostname_detail")}, check)]


def _errors(about, item, check):
    if item.get("certs") and item.get("errors"):  # partly readable: one finding per broken part
        return [finding("cert.bad_input", "warning", subject(about["kind"], about["name"], about["namespace"],
                                                             locator="%s %s" % (about["locator"].split(" #")[0], entry["origin"])),
                        entry["error"], "repair or remove this block; the other certificates were read",
                        {"reason": entry["reason"], "origin": entry["origin"]}, check) for entry in item["errors"]]
    if item.get("error_kind") == "tls_version" and item.get("expiry"):
        return [finding("cert.legacy_tls", "warning", about, item.get("error") or "only TLS 1.0/1.1 offered",
                        "enable TLS 1.2 and 1.3 on the server", {"error_reason": item.get("error_reason")}, check)]
    if item.get("severity") == "error" or item.get("error_kind") and not item.get("expiry"):
        return [finding("cert.unreadable", "warning", about, item.get("error") or item.get("error_kind"),
                        "check that the target is reachable and holds a certificate",
                        {"error_kind": item.get("error_kind"), "error_reason": item.get("error_reason")}, check)]
    return []


def from_result(result):
    """Every finding of a cert_expiry result."""
    found = []
    for about, item in targets(result):
        check = "cert_expiry.%s" % about["kind"].lower()
        for rule in (_errors, _expiry, _verify, _hostname):
            found.extend(rule(about, item, check))
    return found
