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
    """Findings a module returned in the shared shape (id, severity, subject or kind/ns/name)."""
    out = []
    for item in result.get("findings") or ():
        subject = item.get("subject") or item.get("target") or _subject(item) or item.get("object") or ""
        if isinstance(subject, dict):
            subject = _subject(subject)
        out.append(make_finding(
            item.get("id") or item.get("rule") or "finding", item.get("severity"), subject,
            item.get("message") or item.get("title") or item.get("reason") or "",
            item.get("fix") or item.get("remediation"), item.get("evidence"),
        ))
    return out


def _counts(findings):
    counts = {name: 0 for name in SEVERITIES}
    for item in findings:
        counts[item["severity"]] = counts.get(item["severity"], 0) + 1
    return counts


def _bar(title, pairs, unit=""):
    return {"kind": "bar", "title": title, "unit": unit, "series": [[str(k), float(v)] for k, v in pairs]}


def _health_section(result):
    summary = result.get("summary") or {}
    rows = [["score", summary.get("score")], ["grade", summary.get("grade")]]
    inventory = result.get("inventory") or {}
    for key in sorted(inventory):
        value = inventory[key]
        if isinstance(value, (int, float, str)):
            rows.append([key, value])
    checks = result.get("checks") or []
    by_status = {}
    for check in checks:
        by_status[check.get("status", "unknown")] = by_status.get(check.get("status", "unknown"), 0) + 1
    charts = [_bar("Checks by status", sorted(by_status.items()))] if by_status else []
    return rows, charts, checks


def _alerts_section(result):
    rules = result.get("rules") or []
    rows = [[key, value] for key, value in sorted((result.get("summary") or {}).items())
            if isinstance(value, (int, float, str))]
    noisy = sorted(rules, key=lambda r: -(r.get("noise_score") or 0))[:10]
    charts = []
    if noisy:
        charts.append(_bar("Noisiest rules (noise score)", [(r.get("rule") or r.get("alertname") or r.get("name"), r.get("noise_score") or 0)
                                                             for r in noisy]))
        charts.append(_bar("Episodes per rule", [(r.get("rule") or r.get("alertname") or r.get("name"), r.get("episodes") or 0) for r in noisy]))
    hours = (result.get("patterns") or {}).get("hour_of_day") or result.get("hour_histogram")
    if isinstance(hours, list) and hours:
        charts.append(_bar("Firings by hour of day", [(h, v) for h, v in enumerate(hours)]))
    return rows, charts, []


def _certs_section(result):
    rows = [[key, value] for key, value in sorted((result.get("summary") or {}).items())
            if isinstance(value, (int, float, str))]
    soonest = []
    for target in result.get("targets") or result.get("results") or []:
        expiry = target.get("earliest_expiry") or {}
        if expiry.get("days_left") is not None:
            soonest.append((target.get("name") or target.get("target") or target.get("id"), expiry["days_left"]))
    soonest.sort(key=lambda pair: (pair[1], str(pair[0])))
    charts = [_bar("Days left, soonest first", soonest[:15], unit="days")] if soonest else []
    return rows, charts, []


SECTION_BUILDERS = {"k8s_health": _health_section, "alert_frequency": _alerts_section, "cert_expiry": _certs_section}


def build_section(module, result):
    section = {"module": module, "title": TITLES.get(module, module), "status": "ok", "error": "",
               "summary": [], "findings": [], "charts": [], "checks": [], "counts": _counts([]), "truncated": 0}
    if result is None or result.get("skipped"):
        section["status"] = "skipped"
        section["error"] = (result or {}).get("skip_reason", "not run")
        return section
    findings = sort_findings(_generic_findings(result))
    builder = SECTION_BUILDERS.get(module)
    if builder:
        section["summary"], section["charts"], section["checks"] = builder(result)
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
