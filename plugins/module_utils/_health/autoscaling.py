# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HorizontalPodAutoscalers (autoscaling/v2) with no room left or unable to scale, with the HPA
controller's own condition reasons and messages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .model import dig, finding, meta


def _conditions(hpa):
    return {c.get("type"): c for c in dig(hpa, "status", "conditions", default=[]) if c.get("type")}


def _cond_text(cond):
    return "%s: %s" % (cond.get("reason") or "no reason", (cond.get("message") or "")[:300])


def judge_hpa(hpa):
    ns, name = meta(hpa).get("namespace"), meta(hpa).get("name")
    ref = dig(hpa, "spec", "scaleTargetRef", default={})
    target = "%s/%s" % (ref.get("kind") or "?", ref.get("name") or "?")
    current = int(dig(hpa, "status", "currentReplicas", default=0) or 0)
    desired = int(dig(hpa, "status", "desiredReplicas", default=0) or 0)
    minimum = int(dig(hpa, "spec", "minReplicas", default=1) or 1)
    maximum = int(dig(hpa, "spec", "maxReplicas", default=0) or 0)
    conds = _conditions(hpa)
    base = {"target": target, "current_replicas": current, "desired_replicas": desired, "min_replicas": minimum,
            "max_replicas": maximum,
            "conditions": {t: {"status": c.get("status") or "", "reason": c.get("reason") or "", "message": (c.get("message") or "")[:300]}
                           for t, c in sorted(conds.items())}}
    out = []
    limited = conds.get("ScalingLimited") or {}
    too_many = limited.get("status") == "True" and limited.get("reason") == "TooManyReplicas"
    if maximum and (current >= maximum or too_many):
        out.append(finding("hpa.at_max_replicas", "warning", "HorizontalPodAutoscaler", name,
                           "HPA for %s runs at its maximum (%d of maxReplicas %d, desired %d): it cannot add capacity%s"
                           % (target, current, maximum, desired, " (%s)" % _cond_text(limited) if limited.get("status") == "True" else ""),
                           "Raise maxReplicas if the load is real (check node capacity and quotas), or find why usage rose.",
                           namespace=ns, evidence=dict(base)))
    elif limited.get("status") == "True" and limited.get("reason") not in ("TooFewReplicas", "DesiredWithinRange"):
        out.append(finding("hpa.scaling_limited", "info", "HorizontalPodAutoscaler", name,
                           "HPA for %s is limited: %s" % (target, _cond_text(limited)),
                           "Scaling is rate-limited by spec.behavior; widen the policies if it cannot keep up.",
                           namespace=ns, evidence=dict(base)))
    able = conds.get("AbleToScale") or {}
    if able.get("status") == "False":
        out.append(finding("hpa.unable_to_scale", "warning", "HorizontalPodAutoscaler", name,
                           "HPA cannot scale %s: %s" % (target, _cond_text(able)),
                           "Check that %s exists and exposes the scale subresource, and that the HPA controller may update it." % target,
                           namespace=ns, evidence=dict(base)))
    active = conds.get("ScalingActive") or {}
    if active.get("status") == "False":
        disabled = active.get("reason") == "ScalingDisabled"
        out.append(finding("hpa.scaling_inactive", "info" if disabled else "warning", "HorizontalPodAutoscaler", name,
                           "HPA for %s is not scaling: %s" % (target, _cond_text(active)),
                           "Scaled to zero on purpose: autoscaling resumes when it has replicas again." if disabled else
                           "The HPA cannot compute a replica count: check that the metrics API it needs (metrics-server for "
                           "resource metrics, an adapter for custom/external ones) is Available, and the metric names.",
                           namespace=ns, evidence=dict(base)))
    return out
