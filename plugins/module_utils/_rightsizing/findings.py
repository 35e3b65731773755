# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sized containers -> contract findings, and per-workload resources patches."""

from __future__ import annotations

import json

from ansible_collections.sre.toolkit.plugins.module_utils._findings import finding, subject
from ansible_collections.sre.toolkit.plugins.module_utils._rightsizing.engine import DAY, MIB, change, cpu_text, memory_text, monthly_cost, resources_block

TEMPLATE_PATH = {"CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}
API = {"Deployment": ("apps/v1", "deployments"), "StatefulSet": ("apps/v1", "statefulsets"), "DaemonSet": ("apps/v1", "daemonsets"),
       "CronJob": ("batch/v1", "cronjobs"), "Job": ("batch/v1", "jobs")}


def _about(c):
    return subject(c["kind"], c["name"], c["namespace"], "%s %s/%s container %s" % (c["kind"], c["namespace"], c["name"], c["container"]))


def _mib(value):
    return "%.0f MiB" % (value / MIB)


def container_findings(c, opts):
    """Findings for one sized container (engine.size_container's result)."""
    out = []
    about = _about(c)
    ev = {"confidence": c["confidence"]["level"], "current": c["current"], "recommendation": c["recommendation"],
          "backtest": c["backtest"], "cost": c["cost"]}
    if c["confidence"]["level"] == "insufficient":
        return [finding("rightsizing.insufficient_history", "info", about, "No recommendation: %s." % c["confidence"]["reason"],
                        "Run again once it has more history.", {"history": c["history"]}, "history")]
    rec = c["recommendation"]
    if c["ooms"]:
        last = c["ooms"][-1]
        message = "OOM-killed %d time(s) in the window, last at a %s limit (pod %s); peak scraped %s." % (
            len(c["ooms"]), _mib(last["limit"] or 0), last["pod"], _mib(c["usage"]["memory"]["peak"]))
        fix = "Set memory to %s (%s)." % (memory_text(rec["requests"]["memory"]), rec["reasons"]["memory"]) if rec else "Raise the memory limit."
        out.append(finding("rightsizing.oom_killed", "critical", about, message, fix, ev, "memory"))
    thr = c["throttling"]
    if thr and thr["share_of_time_over_10pct"] >= 0.01:
        severity = "critical" if thr["share_of_time_over_10pct"] >= 0.25 else "warning"
        rec = c["recommendation"]
        out.append(finding("rightsizing.cpu_throttled", severity, about,
                           "Throttled (>= 10 %% of CFS periods) %.0f %% of the time; mean throttled share %.0f %%; demand p95 %s against a %s limit." % (
                               100 * thr["share_of_time_over_10pct"], 100 * thr["mean_share"], cpu_text(c["usage"]["cpu"]["p95"]),
                               cpu_text(c["current"]["limits"].get("cpu"))),
                           "Set CPU request %s, limit %s." % (cpu_text(rec["requests"]["cpu"]) if rec else "?", cpu_text(rec["limits"]["cpu"]) if rec else "?"),
                           ev, "cpu"))
    if c["idle"]["idle"]:
        out.append(finding("rightsizing.idle", "warning", about, "Idle for %.1f days (%s)." % (c["idle"]["idle_for_seconds"] / DAY, c["idle"]["reason"]),
                           "Confirm with the owner, then scale to zero or delete.", dict(ev, idle=c["idle"]), "idle"))
        return out
    rec = c["recommendation"]
    if not rec:
        return out
    cur = c["current"]["requests"]
    moves = {
        "cpu": change(cur.get("cpu"), rec["requests"]["cpu"], opts["min_change_cpu"], opts["min_change_share"]),
        "memory": change(cur.get("memory"), rec["requests"]["memory"], opts["min_change_memory"], opts["min_change_share"]),
    }
    ids = set(f["id"] for f in out)
    words = {"cpu": cpu_text, "memory": memory_text}
    covered = {"cpu": "rightsizing.cpu_throttled", "memory": "rightsizing.oom_killed"}
    ups = [r for r, m in moves.items() if m == "up" and covered[r] not in ids]
    downs = [r for r, m in moves.items() if m == "down"]
    if ups:
        out.append(finding("rightsizing.under_provisioned", "warning", about,
                           "Demand above the request: %s." % "; ".join("%s %s -> %s" % (r, words[r](cur.get(r)), words[r](rec["requests"][r])) for r in ups),
                           "Raise the request(s) to the recommendation.", ev, "requests"))
    if downs:
        freed = dict((r, cur[r] - rec["requests"][r]) for r in downs)
        saving = monthly_cost(freed.get("cpu"), freed.get("memory"), (c["cost"] or {}).get("pods") or 1.0, opts)
        severity = "warning" if saving >= opts.get("warn_monthly_saving", 10.0) else "info"
        out.append(finding("rightsizing.over_provisioned", severity, about,
                           "Over-requested: %s; about %.2f a month to save." % (
                               "; ".join("%s %s -> %s" % (r, words[r](cur.get(r)), words[r](rec["requests"][r])) for r in downs), saving),
                           "Lower the request(s) to the recommendation (backtest %s)." % ("holds" if c["backtest"]["holds"] else "does not hold"),
                           ev, "requests"))
    return out


def workload_patches(sized):
    """One resources patch per workload: strategic-merge body, the rollback body, a kubectl command."""
    by_workload = {}
    for c in sized:
        if not c.get("resources") or c["kind"] not in API:
            continue
        by_workload.setdefault((c["namespace"], c["kind"], c["name"]), []).append(c)
    out = []
    for (ns, kind, name), containers in sorted(by_workload.items()):
        new = [{"name": c["container"], "resources": c["resources"]} for c in sorted(containers, key=lambda c: c["container"])]
        old = [{"name": c["container"], "resources": resources_block(c["current"]["requests"], c["current"]["limits"])}
               for c in sorted(containers, key=lambda c: c["container"])]
        path = TEMPLATE_PATH.get(kind, ("spec", "template", "spec"))

        def nest(containers_list, path=path):
            body = {"containers": containers_list}
            for key in reversed(path):
                body = {key: body}
            return body["spec"]
        api_version, plural = API[kind]
        patch = {"spec": nest(new)}
        out.append({
            "namespace": ns, "kind": kind, "name": name, "api_version": api_version, "patch_type": "strategic",
            "patch": patch, "rollback": {"spec": nest(old)},
            "definition": {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": nest(new)},
            "kubectl": "kubectl -n %s patch %s %s --type strategic -p '%s'" % (ns, plural[:-1], name, json.dumps(patch, sort_keys=True, separators=(",", ":"))),
            "containers": [c["container"] for c in containers],
            "backtest_holds": all(c["backtest"]["holds"] for c in containers),
            "monthly_change": round(sum((c["cost"] or {}).get("monthly_change", 0.0) for c in containers), 2),
        })
    return out
