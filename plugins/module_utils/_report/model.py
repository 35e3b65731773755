# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One report model built from the modules' results; every output format renders this model.

Input: [{"name": cluster, "results": {"k8s_health": result, "alert_frequency": result,
"cert_expiry": result}}]. A result is exactly what the module returned (a failed module's
result carries `failed` and `msg`).
"""

from __future__ import annotations

SEVERITIES = ("critical", "warning", "info")
RANK = {"critical": 3, "warning": 2, "info": 1, "ok": 0, "none": 0}
TITLES = {
    "k8s_health": "Cluster health",
    "alert_frequency": "Alert history",
    "cert_expiry": "Certificates",
    "pod_killer": "Pod chaos",
    "memory_hog": "Memory pressure",
}
MAX_FINDINGS_PER_SECTION = 200


def rank(severity):
    return RANK.get(str(severity or "info").lower(), 1)


def make_finding(rule_id, severity, subject, message, fix=None, evidence=None):
    return {
        "id": str(rule_id), "severity": str(severity or "info").lower(), "subject": str(subject or ""),
        "message": str(message or ""), "fix": str(fix or ""), "evidence": evidence if evidence is not None else "",
    }


def sort_findings(findings):
    return sorted(findings, key=lambda f: (-rank(f["severity"]), f["id"], f["subject"], f["message"]))


def _subject(item):
    parts = [item.get("kind"), item.get("namespace"), item.get("name")]
    return "/".join(str(p) for p in parts if p)


def _generic_findings(result):
    """Findings a module returned in the shared shape (id, severity, kind/namespace/name)."""
    out = []
    for item in result.get("findings") or ():
        finding = make_finding(item.get("id") or "finding", item.get("severity"), _subject(item),
                               item.get("message"), item.get("fix"), item.get("evidence"))
        finding["check"] = item.get("check") or ""
        out.append(finding)
    return out


def _counts(findings):
    counts = {name: 0 for name in SEVERITIES}
    for item in findings:
        counts[item["severity"]] = counts.get(item["severity"], 0) + 1
    return counts


def _bar(title, pairs, unit=""):
    return {"kind": "bar", "title": title, "unit": unit, "series": [[str(k), float(v)] for k, v in pairs]}


def _scalar_rows(mapping):
    return [[key, mapping[key]] for key in sorted(mapping or {}) if isinstance(mapping[key], (int, float, str, bool))]


def _health_section(result):
    summary = result.get("summary") or {}
    rows = _scalar_rows(summary)
    if summary.get("coverage_gaps"):
        rows.append(["coverage gaps", ", ".join(summary["coverage_gaps"])])
    checks = result.get("checks") or []
    by_status = {}
    for check in checks:
        by_status[check.get("status", "unknown")] = by_status.get(check.get("status", "unknown"), 0) + 1
    groups = summary.get("groups") or {}
    charts = []
    if groups:
        charts.append(_bar("Score per check group", sorted((k, v.get("score", 0) if isinstance(v, dict) else v) for k, v in groups.items())))
    if by_status:
        charts.append(_bar("Checks by status", sorted(by_status.items())))
    return rows, charts, checks, _generic_findings(result)


def _alert_findings(result):
    findings = []
    for rec in result.get("recommendations") or ():
        findings.append(make_finding(rec.get("id", "advice"), "warning", "rule/%s" % rec.get("rule"),
                                     rec.get("action"), rec.get("reason"), rec))
    for rule in result.get("unhealthy_rules") or ():
        findings.append(make_finding(rule.get("id", "rules.unhealthy"), "warning", "rule/%s" % rule.get("rule"),
                                     "rule health %s: %s" % (rule.get("health"), rule.get("last_error") or ""),
                                     "fix the rule expression so it evaluates", rule))
    for rule in result.get("always_firing") or ():
        if not rule.get("ok", True):
            findings.append(make_finding(rule.get("id", "rules.always_firing"), "critical", "rule/%s" % rule.get("rule"),
                                         "always-firing rule fired only %.1f%% of the window" % (100 * (rule.get("firing_share") or 0)),
                                         "check the alerting pipeline (dead man's switch)", rule))
    for rule in result.get("dead_rules") or ():
        findings.append(make_finding(rule.get("id", "rules.dead"), "info", "rule/%s" % rule.get("rule"),
                                     rule.get("reason"), "delete the rule or check that its series still exist", rule))
    return findings


def _alerts_section(result):
    rules = result.get("rules") or []
    noisy = rules[:10]
    charts = []
    if noisy:
        charts.append(_bar("Noisiest rules (noise score)", [(r.get("rule"), r.get("noise_score") or 0) for r in noisy]))
        charts.append(_bar("Episodes per rule", [(r.get("rule"), r.get("episodes") or 0) for r in noisy]))
    hours = [0] * 24
    for rule in rules:
        for hour, count in enumerate((rule.get("hours") or [])[:24]):
            hours[hour] += count
    if any(hours):
        charts.append(_bar("Firings by hour of day (%s)" % ((result.get("window") or {}).get("timezone") or "UTC"),
                           [("%02d" % hour, count) for hour, count in enumerate(hours)]))
    return _scalar_rows(result.get("summary")), charts, [], _alert_findings(result)


CERT_SEVERITY = {"critical": "critical", "warn": "warning", "warning": "warning", "error": "warning"}


def _cert_targets(result):
    """(subject, entry) for every endpoint, file and Secret key of a cert_expiry result."""
    for endpoint in result.get("endpoints") or ():
        yield "endpoint/%s" % endpoint.get("id"), endpoint
    for entry in result.get("files") or ():
        yield "file/%s" % entry.get("path"), entry
    for secret in result.get("secrets") or ():
        for key in sorted(secret.get("keys") or {}):
            yield "secret/%s/%s[%s]" % (secret.get("namespace"), secret.get("name"), key), secret["keys"][key]


def _cert_finding(subject, entry):
    severity = CERT_SEVERITY.get(entry.get("severity"))
    expiry = entry.get("expiry") or {}
    if entry.get("severity") == "error" or (entry.get("error") and not expiry):
        return make_finding("cert.unreadable", "warning", subject, entry.get("error") or entry.get("error_kind"),
                            "check that the target is reachable and holds a certificate", {
                                "error_kind": entry.get("error_kind"), "error_reason": entry.get("error_reason")})
    if severity:
        days = expiry.get("days_left")
        message = ("expired %d days ago" % -days if days is not None and days < 0 else "expires in %s days" % days)
        return make_finding("cert.expiry", severity, subject, "%s (%s)" % (message, expiry.get("not_after")),
                            "renew the certificate", {"days_left": days, "not_after": expiry.get("not_after")})
    return None


def _certs_section(result):
    findings, soonest = [], []
    for subject, entry in _cert_targets(result):
        finding = _cert_finding(subject, entry)
        if finding:
            findings.append(finding)
        if entry.get("verify") not in (None, "ok") and not entry.get("error"):
            findings.append(make_finding("cert.verify", "warning", subject, "does not verify: %s" % entry.get("verify"),
                                         entry.get("verify_detail") or "send the full chain signed by a trusted CA", None))
        if entry.get("hostname_match") is False:
            findings.append(make_finding("cert.hostname", "warning", subject, "does not match %s" % entry.get("hostname"),
                                         "issue a certificate whose SANs cover the name clients use", None))
        days = (entry.get("expiry") or {}).get("days_left")
        if days is not None:
            soonest.append((subject, days))
    soonest.sort(key=lambda pair: (pair[1], pair[0]))
    charts = [_bar("Days left, soonest first", soonest[:15], unit="days")] if soonest else []
    summary = result.get("summary") or {}
    rows = _scalar_rows(summary)
    for key in ("by_severity", "by_source"):
        if isinstance(summary.get(key), dict):
            rows.append([key, ", ".join("%s %s" % (k, v) for k, v in sorted(summary[key].items()))])
    return rows, charts, [], findings


SECTION_BUILDERS = {"k8s_health": _health_section, "alert_frequency": _alerts_section, "cert_expiry": _certs_section}


def build_section(module, result):
    section = {"module": module, "title": TITLES.get(module, module), "status": "ok", "error": "",
               "summary": [], "findings": [], "charts": [], "checks": [], "counts": _counts([]), "truncated": 0}
    if result is None or result.get("skipped"):
        section["status"] = "skipped"
        section["error"] = (result or {}).get("skip_reason", "not run")
        return section
    builder = SECTION_BUILDERS.get(module)
    if builder:
        section["summary"], section["charts"], section["checks"], findings = builder(result)
    else:
        findings = _generic_findings(result)
    findings = sort_findings(findings)
    section["counts"] = _counts(findings)
    section["truncated"] = max(0, len(findings) - MAX_FINDINGS_PER_SECTION)
    section["findings"] = findings[:MAX_FINDINGS_PER_SECTION]
    if result.get("failed"):
        section["status"] = "error"
        section["error"] = str(result.get("msg") or "the module failed")
    elif findings:
        section["status"] = "findings"
    return section


def worst(counts):
    for severity in SEVERITIES:
        if counts.get(severity):
            return severity
    return "ok"


def build_model(clusters, fail_on="critical", title="sre.toolkit diagnose", generated_at=""):
    """The whole report: clusters with sections, a matrix across clusters, and the verdict."""
    if fail_on not in SEVERITIES + ("never",):
        raise ValueError("fail_on must be one of critical, warning, info, never; got %r" % (fail_on,))
    out_clusters = []
    modules = set()
    for cluster in sorted(clusters, key=lambda c: str(c.get("name"))):
        results = cluster.get("results") or {}
        sections = [build_section(module, results[module]) for module in sorted(results)]
        modules.update(results)
        counts = _counts([])
        for section in sections:
            for severity in SEVERITIES:
                counts[severity] += section["counts"][severity]
        out_clusters.append({"name": str(cluster.get("name")), "sections": sections, "counts": counts, "worst": worst(counts),
                             "errors": [s["module"] for s in sections if s["status"] == "error"]})
    matrix = {
        "modules": sorted(modules),
        "rows": [{"cluster": c["name"], "cells": {s["module"]: ("error" if s["status"] == "error" else worst(s["counts"]))
                                                  for s in c["sections"]}} for c in out_clusters],
    }
    totals = {severity: sum(c["counts"][severity] for c in out_clusters) for severity in SEVERITIES}
    threshold = rank(fail_on) if fail_on != "never" else 99
    over = [s for s in SEVERITIES if rank(s) >= threshold and totals[s]]
    errors = ["%s/%s" % (c["name"], m) for c in out_clusters for m in c["errors"]]
    verdict = {"fail_on": fail_on, "failed": bool(over or errors), "errors": errors,
               "reason": _verdict_reason(over, totals, errors, fail_on)}
    return {"title": title, "generated_at": generated_at, "clusters": out_clusters, "matrix": matrix,
            "totals": totals, "verdict": verdict}


def _verdict_reason(over, totals, errors, fail_on):
    parts = []
    if over:
        parts.append(", ".join("%d %s" % (totals[s], s) for s in over) + " finding(s) at or above fail_on=%s" % fail_on)
    if errors:
        parts.append("module errors: %s" % ", ".join(errors))
    return "; ".join(parts) if parts else "nothing at or above fail_on=%s" % fail_on
