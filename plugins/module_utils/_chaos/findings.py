# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pod_killer and memory_hog outcomes as findings of the one contract."""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._findings import finding, subject

HOG_FAILED = ("hog_failed", "hog_killed", "hog_oom_killed", "helper_failed", "helper_not_started", "helper_gone",
              "deadline_exceeded", "stopped_by_hard_timeout", "stopped_at_deadline", "interrupted", "target_gone")


def _experiment(run_id):
    return subject("ChaosExperiment", run_id or "run", locator="chaos run %s" % (run_id or "-"))


def pod_killer(result):
    """Victims (info), owners that did not recover (critical), a failed gate, missing permissions, no victim."""
    found, check = [], "pod_killer"
    dry = result.get("simulated", result.get("dry_run"))
    for victim in result.get("victims") or ():
        outcome = victim.get("outcome") or "planned"
        evidence = {"owner": victim.get("owner"), "outcome": outcome, "node": victim.get("node"), "acted_at": victim.get("acted_at")}
        found.append(finding("chaos.pod_disrupted", "info", subject("Pod", victim["name"], victim["namespace"]),
                             "%s (owner %s)%s" % (outcome.replace("_", " "), victim.get("owner"), " - dry run" if dry else ""),
                             "nothing to fix: the experiment's action", evidence, check))
    for owner in result.get("recovery") or ():
        if not owner.get("recovered"):
            found.append(finding("chaos.not_recovered", "critical", subject(owner["kind"], owner["name"], owner["namespace"]),
                                 "ready replicas %s of %s, not back within the recovery timeout" % (owner.get("ready"), owner.get("baseline_ready")),
                                 "find why replacement pods do not become ready before running again",
                                 {"ready": owner.get("ready"), "baseline_ready": owner.get("baseline_ready")}, check))
    for pod in result.get("skipped_pods") or ():
        if pod.get("reason") == "action_failed":
            found.append(finding("chaos.action_failed", "warning", subject("Pod", pod["name"], pod["namespace"]),
                                 "%s failed: %s" % ((result.get("record") or {}).get("action", "evict"), pod.get("detail")),
                                 "read the error; run again once the API acts on the pod", {"owner": pod.get("owner"), "detail": pod.get("detail")}, check))
    gate = result.get("gate") or {}
    if gate.get("checked") and not gate.get("passed"):
        failed = [c for c in gate.get("checks") or () if not c.get("passed")]
        found.append(finding("chaos.gate_failed", "critical", _experiment(result.get("run_id")),
                             "steady-state gate failed, nothing was disrupted: %s" % "; ".join("%s: %s" % (c.get("check"), c.get("detail")) for c in failed),
                             "restore the steady state the gate checks, then run again", {"checks": failed}, check))
    denied = [p for p in result.get("permissions") or () if not p.get("allowed")]
    if denied:
        found.append(finding("chaos.permission_missing", "warning", _experiment(result.get("run_id")),
                             "no permission to %s" % ", ".join("%s %s in %s" % (p["verb"], p["resource"], p["namespace"]) for p in denied),
                             "grant these verbs to the identity the kubeconfig uses", {"permissions": denied}, check))
    if not result.get("victims") and gate.get("passed", True):
        reasons = (result.get("summary") or {}).get("skipped_by_reason") or {}
        found.append(finding("chaos.no_victim", "info", _experiment(result.get("run_id")),
                             "no eligible pod: %s" % (", ".join("%d %s" % (n, r) for r, n in sorted(reasons.items())) or "no pod matched"),
                             "check the skip reasons; widen the selection or wait for full strength", {"skipped_by_reason": reasons}, check))
    return found


def _hog_subject(result):
    pod = result.get("pod") or {}
    if result.get("target") == "pod" and pod.get("name"):
        return subject("Pod", pod["name"], pod.get("namespace"))
    return subject("Host", result.get("host") or "this host", locator="host %s" % (result.get("host") or "(the managed host)"))


def memory_hog(result):
    """The pressure (info), an OOM-killed target, a run that failed, leftovers after cleanup."""
    if result.get("outcome") == "cleaned":
        return []
    found, check, about = [], "memory_hog", _hog_subject(result)
    plan, peak, outcome = result.get("plan") or {}, result.get("peak") or {}, result.get("outcome")
    found.append(finding("chaos.memory_pressure", "info", about,
                         "%s of memory for %ss: %s" % (plan.get("total_human"), plan.get("duration_seconds"), outcome),
                         "nothing to fix: the experiment's action", {"outcome": outcome, "total_bytes": plan.get("total_bytes"),
                                                                     "hog_rss_bytes": peak.get("hog_rss_bytes")}, check))
    if result.get("oom_killed"):
        expected = bool((result.get("preflight") or {}).get("oom_expected"))
        found.append(finding("chaos.target_oom_killed", "warning", about,
                             "the target container was OOM-killed under %s of pressure%s" % (
                                 plan.get("total_human"), " (expected: forced past its limit)" if expected else ""),
                             "raise the container's memory limit or lower its usage if this pressure is realistic",
                             {"oom_kills": result.get("oom_kills") or [], "expected": expected}, check))
    if outcome in HOG_FAILED:
        found.append(finding("chaos.hog_failed", "warning", about, "the pressure did not run as planned: %s" % outcome,
                             "read the outcome and the helper's phase", {"outcome": outcome, "helper": result.get("helper")}, check))
    remaining = (result.get("cleanup") or {}).get("remaining")
    if remaining:
        found.append(finding("chaos.cleanup_incomplete", "critical", about, "still there after cleanup: %s" % ", ".join(map(str, remaining)),
                             "run the module with state=absent for this name", {"remaining": remaining}, check))
    return found
