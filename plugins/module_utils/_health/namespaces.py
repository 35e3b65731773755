# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Namespaces stuck Terminating, with the namespace controller's own explanation
(status.conditions) and the finalizers that hold them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .model import age_seconds, dig, finding, human_duration, meta

# most telling first: the namespace controller sets these True while it cannot finish
CAUSES = (
    ("NamespaceDeletionDiscoveryFailure",
     "An aggregated API is unavailable, so the controller cannot list what is left: fix or delete that APIService "
     "(see apiservice.unavailable), then the deletion resumes."),
    ("NamespaceDeletionGroupVersionParsingFailure",
     "An API group/version cannot be parsed: fix the APIService or CRD named in the message."),
    ("NamespaceDeletionContentFailure",
     "Objects in the namespace could not be deleted: read the message, fix the webhook or permission that blocks it."),
    ("NamespaceFinalizersRemaining",
     "Objects keep finalizers whose controller is gone: reinstall the controller, or remove the finalizers from the "
     "objects named in the message (kubectl patch ... -p '{\"metadata\":{\"finalizers\":null}}')."),
    ("NamespaceContentRemaining",
     "Objects are still being deleted: look at what the message lists and why they do not go away."),
)
KUBERNETES_FINALIZER = "kubernetes"


def _terminating(ns):
    return bool(meta(ns).get("deletionTimestamp")) or dig(ns, "status", "phase") == "Terminating"


def judge_namespace(ns, now, terminating_minutes):
    """A namespace whose deletion started over terminating_minutes ago and is not done."""
    if not _terminating(ns):
        return None
    since = meta(ns).get("deletionTimestamp") or ""
    age = age_seconds(since, now)
    if age is not None and age < terminating_minutes * 60:
        return None
    active = {}
    for cond in dig(ns, "status", "conditions", default=[]):
        if cond.get("status") == "True" and cond.get("type"):
            active[cond["type"]] = {"reason": cond.get("reason") or "", "message": (cond.get("message") or "")[:500],
                                    "since": cond.get("lastTransitionTime") or ""}
    spec_finalizers = sorted(f for f in dig(ns, "spec", "finalizers", default=[]) if f)
    held_by = [f for f in spec_finalizers if f != KUBERNETES_FINALIZER]
    name = meta(ns).get("name")
    cause, fix = None, None
    for ctype, text in CAUSES:
        if ctype in active:
            cause, fix = ctype, text
            break
    if cause:
        why = "%s: %s" % (cause, active[cause]["message"] or active[cause]["reason"])
    elif held_by:
        why = "spec.finalizers %s never removed" % ", ".join(held_by)
        fix = ("The controller that owns finalizer %s is gone: reinstall it, or remove the finalizer through the "
               "namespace's finalize subresource (kubectl get ns %s -o json, drop it from spec.finalizers, "
               "kubectl replace --raw /api/v1/namespaces/%s/finalize -f -)." % (held_by[0], name, name))
    else:
        why = "no condition explains it yet"
        fix = "Read kube-controller-manager logs (namespace controller) and kubectl api-resources for failing groups."
    evidence = {"since": since, "phase": dig(ns, "status", "phase") or "", "spec_finalizers": spec_finalizers,
                "metadata_finalizers": sorted(meta(ns).get("finalizers") or []), "conditions": dict(sorted(active.items())),
                "cause": cause or ("spec.finalizers" if held_by else "")}
    return finding("namespace.stuck_terminating", "warning", "Namespace", name,
                   "Namespace has been Terminating for %s: %s" % (human_duration(age), why[:400]),
                   fix + " Until then nothing can be created in it.", evidence=evidence)
