# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller rules: unavailable replicas, stuck rollouts, failed Jobs, PDBs that block drains."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .model import age_seconds, dig, finding, human_duration, meta


def _condition(obj, ctype):
    for cond in dig(obj, "status", "conditions", default=[]):
        if cond.get("type") == ctype:
            return cond
    return {}


def _unavailable(kind, obj, desired, ready):
    ns, name = meta(obj).get("namespace"), meta(obj).get("name")
    severity = "critical" if ready == 0 else "warning"
    return finding("workload.unavailable", severity, kind, name,
                   "%s has %d of %d replicas available" % (kind, ready, desired),
                   "Look at the findings on its pods (crash loops, image pulls, scheduling) for the cause.",
                   namespace=ns, evidence={"desired": desired, "available": ready})


def judge_deployment(obj, now):
    out = []
    desired = int(dig(obj, "spec", "replicas", default=1))
    available = int(dig(obj, "status", "availableReplicas", default=0))
    progressing = _condition(obj, "Progressing")
    ns, name = meta(obj).get("namespace"), meta(obj).get("name")
    if progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        out.append(finding("workload.rollout_stuck", "critical", "Deployment", name,
                           "Rollout exceeded its progress deadline: %s" % (progressing.get("message") or "")[:300],
                           "The new ReplicaSet's pods do not become ready: fix them or roll back (kubectl rollout undo).",
                           namespace=ns, evidence={"reason": progressing.get("reason"), "since": progressing.get("lastTransitionTime") or "",
                                                   "updated": int(dig(obj, "status", "updatedReplicas", default=0)),
                                                   "desired": desired}))
    if desired > 0 and available < desired and not dig(obj, "spec", "paused"):
        out.append(_unavailable("Deployment", obj, desired, available))
    return out


def judge_statefulset(obj, now):
    desired = int(dig(obj, "spec", "replicas", default=1))
    ready = int(dig(obj, "status", "availableReplicas", default=dig(obj, "status", "readyReplicas", default=0)))
    if desired > 0 and ready < desired:
        return [_unavailable("StatefulSet", obj, desired, ready)]
    return []


def judge_daemonset(obj, now):
    desired = int(dig(obj, "status", "desiredNumberScheduled", default=0))
    ready = int(dig(obj, "status", "numberAvailable", default=dig(obj, "status", "numberReady", default=0)))
    out = []
    if desired > 0 and ready < desired:
        out.append(_unavailable("DaemonSet", obj, desired, ready))
    misscheduled = int(dig(obj, "status", "numberMisscheduled", default=0))
    if misscheduled:
        out.append(finding("workload.misscheduled", "info", "DaemonSet", meta(obj).get("name"),
                           "%d daemon pods run on nodes they should not" % misscheduled,
                           "Check node labels/taints against the DaemonSet's selector and tolerations.",
                           namespace=meta(obj).get("namespace"), evidence={"misscheduled": misscheduled}))
    return out


def judge_job(obj, now):
    failed = _condition(obj, "Failed")
    if failed.get("status") != "True":
        return []
    ns, name = meta(obj).get("namespace"), meta(obj).get("name")
    since = age_seconds(failed.get("lastTransitionTime"), now)
    owner = ""
    for ref in meta(obj).get("ownerReferences") or []:
        owner = "%s/%s" % (ref.get("kind"), ref.get("name"))
    return [finding("job.failed", "warning", "Job", name,
                    "Job failed %s ago: %s (%s)" % (human_duration(since), failed.get("reason") or "no reason",
                                                    (failed.get("message") or "")[:200]),
                    "Read the failed pods' logs; fix and re-run (or let the CronJob's next run retry).",
                    namespace=ns, evidence={"reason": failed.get("reason") or "", "message": (failed.get("message") or "")[:300],
                                            "failed_pods": int(dig(obj, "status", "failed", default=0)),
                                            "since": failed.get("lastTransitionTime") or "", "owner": owner})]


JUDGES = {
    "Deployment": judge_deployment,
    "StatefulSet": judge_statefulset,
    "DaemonSet": judge_daemonset,
    "Job": judge_job,
}


def judge_pdb_status(pdb):
    """A PDB whose status allows no disruption blocks every drain of its pods' nodes."""
    status = pdb.get("status") or {}
    expected = int(status.get("expectedPods") or 0)
    if expected == 0 or "disruptionsAllowed" not in status:
        return None
    if int(status.get("disruptionsAllowed") or 0) > 0:
        return None
    ns, name = meta(pdb).get("namespace"), meta(pdb).get("name")
    return finding("pdb.blocks_disruption", "warning", "PodDisruptionBudget", name,
                   "PodDisruptionBudget allows no disruption (%s healthy, %s required)"
                   % (status.get("currentHealthy", 0), status.get("desiredHealthy", 0)),
                   "Node drains will hang: lower minAvailable / raise maxUnavailable, or add replicas.",
                   namespace=ns, evidence={"expected_pods": expected, "current_healthy": status.get("currentHealthy", 0),
                                           "desired_healthy": status.get("desiredHealthy", 0),
                                           "min_available": dig(pdb, "spec", "minAvailable"),
                                           "max_unavailable": dig(pdb, "spec", "maxUnavailable")})
