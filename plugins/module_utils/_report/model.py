# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One report model built from the modules' results; every output format renders this model.

Input: ``[{"name": cluster, "results": {module: result}}]`` where a result is exactly what the module
returned (a failed module's result carries ``failed`` and ``msg``). Any module of the collection.

- Findings come only from ``result["findings"]`` in the one contract (``_findings``); an older
  k8s_health finding without ``subject`` gets one from its kind/namespace/name. Each finding of the
  model keeps the contract's fields, with ``subject`` as the readable locator (a string, what
  notifications key on) and ``object`` as the contract's subject dict, plus ``cluster``, ``module``,
  ``namespace``, ``anchor`` and ``evidence_rows`` (the evidence in human units).
- A section's counts are its findings' counts (no fewer than the module's own ``summary.counts``, when
  the module returned fewer findings than it counted). The verdict is ``_findings.gate`` over the
  totals, with module errors as extra reasons.
- ``fix_first``: findings grouped by cluster, module and rule id, ordered by severity, then blast
  radius, then how many findings. Blast radius = for each finding of the group, the largest count of
  things its evidence says it touches (``REACH_KEYS``: pods, endpoints, users, replicas...; a list
  counts its items), at least 1; summed over the group. So ``cert.expired`` on 10 endpoints weighs 10,
  a NotReady node whose evidence names 14 pods weighs 14.
- ``grade`` per cluster: the k8s_health score's grade (A >= 90, B >= 80, C >= 70, D >= 60, E >= 50, F),
  never better than D with a critical finding or a failed cluster gate, nor than B with a warning:
  the grade cannot read well beside a verdict that fails.
- Module-specific detail feeds only summary rows and charts (``sections.BUILDERS``) and the chaos
  experiment (``experiment.build``).
"""

from __future__ import annotations

import re

from .._findings import SEVERITIES, SEVERITY_RANK, gate, normalize_fail_on, subject as make_subject, worst
from .._time import human_time, to_epoch
from . import experiment as chaos
from .sections import BUILDERS, bar_chart, evidence_rows

TITLES = {
    "k8s_health": "Cluster health",
    "alert_frequency": "Alert history",
    "cert_expiry": "Certificates",
    "pod_killer": "Pod chaos",
    "memory_hog": "Memory pressure",
    "incident_timeline": "Incident timeline",
    "slo_report": "SLOs and error budgets",
    "rightsizing": "Right-sizing and idle workloads",
}
ORDER = ("k8s_health", "cert_expiry", "alert_frequency", "pod_killer", "memory_hog")
MAX_FINDINGS_PER_SECTION = 200
MAX_FIX_FIRST = 25
REACH_KEYS = ("pods", "affected_pods", "endpoints", "users", "subjects", "replicas", "desired", "instances", "victims", "workloads")
SEVERITY_WORDS = {"warn": "warning", "error": "warning", "crit": "critical", "ok": "info", "none": "info"}
GRADES = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (50, "E"))
CAPS = {"critical": "D", "failed": "D", "warning": "B"}
NO_NAMESPACE = "(no namespace)"


def rank(severity):
    """Higher is worse: critical 3, warning 2, info 1, anything else 0 (for the machine formats)."""
    return 3 - SEVERITY_RANK.get(str(severity or "").lower(), 3)


def anchor(*parts):
    return "-".join(re.sub(r"[^a-z0-9]+", "-", str(p).lower()).strip("-") for p in parts)


def _locator(about, item):
    """The contract's locator, or one made from kind/namespace/name; never empty, never ``None``."""
    text = str(about.get("locator") or "").strip()
    if not text or re.search(r"(^|[ /])None($|[ /\[])", text):
        rebuilt = make_subject(about.get("kind") or item.get("kind"), about.get("name") or item.get("name"),
                               about.get("namespace") or item.get("namespace"))["locator"]
        text = rebuilt if rebuilt and "None" not in rebuilt.split("/") else ""
    return text or str(item.get("id") or "(unnamed)")


def normalize(item, cluster, module, now=None):
    """A contract finding as the model keeps it (see the module docstring)."""
    about = item.get("subject") if isinstance(item.get("subject"), dict) else make_subject(
        item.get("kind"), item.get("name"), item.get("namespace"))
    about = dict(about, locator=_locator(about, item))
    severity = str(item.get("severity") or "info").lower()
    severity = severity if severity in SEVERITY_RANK else SEVERITY_WORDS.get(severity, "info")
    evidence = item.get("evidence") if isinstance(item.get("evidence"), dict) else {}
    return {
        "id": str(item.get("id") or "finding"), "severity": severity, "subject": about["locator"], "object": about,
        "message": str(item.get("message") or ""), "fix": str(item.get("fix") or ""), "evidence": evidence,
        "evidence_rows": evidence_rows(evidence, now), "check": str(item.get("check") or ""),
        "cluster": cluster, "module": module, "namespace": about.get("namespace") or NO_NAMESPACE,
    }


def reach(finding):
    """How many things one finding touches, by its evidence (at least 1)."""
    best = 1
    for key in REACH_KEYS:
        value = finding["evidence"].get(key)
        if isinstance(value, (list, tuple)):
            value = len(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            best = max(best, int(value))
    return best


def sort_findings(findings):
    return sorted(findings, key=lambda f: (SEVERITY_RANK[f["severity"]], f["id"], f["subject"], f["message"]))


def _count(findings):
    out = dict.fromkeys(SEVERITIES, 0)
    for item in findings:
        out[item["severity"]] += 1
    return out


def group_findings(findings):
    """Findings of one section grouped by rule id: worst first, then widest blast radius."""
    groups = {}
    for index, item in enumerate(findings):
        group = groups.setdefault(item["id"], {"id": item["id"], "severity": item["severity"], "fix": item["fix"],
                                               "message": item["message"], "findings": [], "blast": 0,
                                               "anchor": anchor("g", item["cluster"], item["module"], item["id"])})
        group["findings"].append(index)
        group["blast"] += reach(item)
        if SEVERITY_RANK[item["severity"]] < SEVERITY_RANK[group["severity"]]:
            group["severity"] = item["severity"]
    return sorted(groups.values(), key=lambda g: (SEVERITY_RANK[g["severity"]], -g["blast"], -len(g["findings"]), g["id"]))


def build_section(module, result, cluster="", now=None):
    section = {"module": module, "title": TITLES.get(module, module), "anchor": anchor("s", cluster, module),
               "status": "ok", "error": "", "summary": [], "findings": [], "groups": [], "charts": [], "checks": [],
               "counts": dict.fromkeys(SEVERITIES, 0), "worst": "ok", "truncated": 0, "not_returned": 0}
    if result is None or result.get("skipped"):
        section["status"] = "skipped"
        section["error"] = (result or {}).get("skip_reason", "not run")
        return section, []
    builder = BUILDERS.get(module)
    if builder and not result.get("failed"):
        section["summary"], section["charts"] = builder(result, now)
    section["checks"] = [c for c in result.get("checks") or () if isinstance(c, dict)]
    findings = sort_findings(normalize(item, cluster, module, now) for item in result.get("findings") or () if isinstance(item, dict))
    for index, item in enumerate(findings):
        item["anchor"] = anchor("f", cluster, module, index)
    counts = _count(findings)
    declared = (result.get("summary") or {}).get("counts") if isinstance(result.get("summary"), dict) else None
    for severity in SEVERITIES:
        own = (declared or {}).get(severity)
        if isinstance(own, int) and own > counts[severity]:
            section["not_returned"] += own - counts[severity]
            counts[severity] = own
    section["counts"], section["worst"] = counts, worst(counts)
    section["truncated"] = max(0, len(findings) - MAX_FINDINGS_PER_SECTION)
    section["findings"] = findings[:MAX_FINDINGS_PER_SECTION]
    section["groups"] = group_findings(section["findings"])
    if result.get("failed"):
        section["status"], section["worst"] = "error", "error"
        section["error"] = str(result.get("msg") or "the module failed")
    elif findings or section["not_returned"]:
        section["status"] = "findings"
    return section, findings


def letter(score):
    for floor, grade in GRADES:
        if score >= floor:
            return grade
    return "F"


def cluster_grade(sections, counts, failed):
    """{grade, score, capped_by, module_grade, module_capped_by}; see the module docstring."""
    health = {}
    for section in sections:
        if section["module"] == "k8s_health":
            health = section.get("_summary") or {}
    score = health.get("score")
    measured = letter(float(score)) if isinstance(score, (int, float)) else "A"
    capped_by = None
    for reason, on in (("critical", counts["critical"]), ("failed", failed), ("warning", counts["warning"])):
        if on and CAPS[reason] > measured:
            measured, capped_by = CAPS[reason], reason
    if health.get("grade") and str(health["grade"]) > measured:
        measured, capped_by = str(health["grade"]), "module"
    words = {"critical": "%d critical finding(s)" % counts["critical"], "failed": "the cluster's verdict failed",
             "warning": "%d warning(s)" % counts["warning"], "module": "k8s_health's own grade"}
    return {"grade": measured, "score": score, "capped_by": words.get(capped_by), "module_grade": health.get("grade"),
            "module_capped_by": health.get("grade_capped_by")}


def _namespace_chart(findings, title="Findings by namespace"):
    per = {}
    for item in findings:
        row = per.setdefault(item["namespace"], dict.fromkeys(SEVERITIES, 0))
        row[item["severity"]] += 1
    ordered = sorted(per.items(), key=lambda kv: (-kv[1]["critical"], -sum(kv[1].values()), kv[0]))[:15]
    return {"kind": "stacked", "title": title, "keys": list(SEVERITIES),
            "series": [[name, [row[s] for s in SEVERITIES]] for name, row in ordered]}


def _fix_first(all_findings):
    items = []
    for section_findings in all_findings:
        for group in group_findings(section_findings):
            first = section_findings[group["findings"][0]]
            subjects = [section_findings[i]["subject"] for i in group["findings"]]
            items.append({
                "severity": group["severity"], "id": group["id"], "cluster": first["cluster"], "module": first["module"],
                "section": TITLES.get(first["module"], first["module"]), "message": first["message"], "fix": group["fix"],
                "count": len(subjects), "blast": group["blast"], "subjects": subjects[:3], "anchor": group["anchor"],
                "namespaces": sorted({section_findings[i]["namespace"] for i in group["findings"]}),
            })
    items.sort(key=lambda i: (SEVERITY_RANK[i["severity"]], -i["blast"], -i["count"], i["cluster"], i["id"]))
    for position, item in enumerate(items, 1):
        item["rank"] = position
    return items


def build_model(clusters, fail_on="critical", title="sre.toolkit diagnose", generated_at="", hypothesis=""):
    """The whole report: fix-first list, clusters with sections, a matrix across clusters, grades, the verdict."""
    fail_on = normalize_fail_on(fail_on)
    now = to_epoch(generated_at)
    out_clusters, modules, every = [], set(), []
    for cluster in sorted(clusters, key=lambda c: str(c.get("name"))):
        name = str(cluster.get("name"))
        results = cluster.get("results") or {}
        sections, found = [], []
        for module in sorted(results, key=lambda m: (ORDER.index(m) if m in ORDER else len(ORDER), m)):
            section, findings = build_section(module, results[module], name, now)
            section["_summary"] = (results[module] or {}).get("summary") if isinstance((results[module] or {}).get("summary"), dict) else {}
            sections.append(section)
            found.extend(findings)
            if findings:
                every.append(findings)
        modules.update(results)
        counts = {s: sum(sec["counts"][s] for sec in sections) for s in SEVERITIES}
        errors = [s["module"] for s in sections if s["status"] == "error"]
        own_gate = gate(counts, fail_on, ["module error: %s" % m for m in errors])
        entry = {"name": name, "anchor": anchor("c", name), "sections": sections, "counts": counts, "worst": worst(counts),
                 "errors": errors, "failed": own_gate["failed"], "grade": cluster_grade(sections, counts, own_gate["failed"]),
                 "charts": [_namespace_chart(found)] if found else [], "experiment": chaos.build(results, hypothesis)}
        for section in sections:
            del section["_summary"]
        out_clusters.append(entry)
    ordered_modules = sorted(modules, key=lambda m: (ORDER.index(m) if m in ORDER else len(ORDER), m))
    matrix = {
        "modules": ordered_modules,
        "rows": [{"cluster": c["name"], "anchor": c["anchor"], "grade": c["grade"]["grade"],
                  "cells": {s["module"]: s["worst"] for s in c["sections"]},
                  "counts": {s["module"]: s["counts"] for s in c["sections"]},
                  "anchors": {s["module"]: s["anchor"] for s in c["sections"]}} for c in out_clusters],
    }
    totals = {severity: sum(c["counts"][severity] for c in out_clusters) for severity in SEVERITIES}
    errors = ["%s/%s" % (c["name"], m) for c in out_clusters for m in c["errors"]]
    judged = gate(totals, fail_on, ["module errors: %s" % ", ".join(errors)] if errors else ())
    fix_first = _fix_first(every)
    everything = [f for group in every for f in group]
    return {
        "title": title, "generated_at": generated_at, "generated_text": human_time(now) if now else (generated_at or "-"),
        "clusters": out_clusters, "matrix": matrix, "totals": totals,
        "verdict": {"fail_on": fail_on, "failed": judged["failed"], "errors": errors, "reasons": judged["reasons"],
                    "reason": "; ".join(judged["reasons"]) or "nothing at or above fail_on=%s" % fail_on},
        "fix_first": fix_first[:MAX_FIX_FIRST], "fix_first_more": max(0, len(fix_first) - MAX_FIX_FIRST),
        "grade": max((c["grade"]["grade"] for c in out_clusters), default="A"),
        "filters": {"severity": list(SEVERITIES), "module": ordered_modules, "cluster": [c["name"] for c in out_clusters],
                    "namespace": sorted({f["namespace"] for f in everything})},
        "charts": [_severity_chart(totals)] + ([_namespace_chart(everything, "Findings by namespace, every cluster")]
                                               if len(out_clusters) > 1 and everything else []),
    }


def _severity_chart(totals):
    return bar_chart("Findings by severity", [(s, totals[s]) for s in SEVERITIES])
