# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PersistentVolumeClaims that never bind (or lost their volume), explained by their StorageClass
and the PV controller's last Warning event."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .model import age_seconds, dig, finding, human_duration, meta

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")


def storage_class_summary(storage_class):
    """StorageClass -> (name, {provisioner, binding_mode, default})."""
    annotations = meta(storage_class).get("annotations") or {}
    return meta(storage_class).get("name"), {
        "provisioner": storage_class.get("provisioner") or "",
        "binding_mode": storage_class.get("volumeBindingMode") or "Immediate",
        "default": any(annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS),
    }


def _why(pvc, classes):
    """(reason text, fix, skip): skip is True when Pending is the normal state (WaitForFirstConsumer)."""
    class_name = dig(pvc, "spec", "storageClassName")
    volume = dig(pvc, "spec", "volumeName")
    if volume:
        return ("pre-bound to PersistentVolume %s, which is missing or not Available" % volume,
                "Create the PersistentVolume %s (or fix spec.volumeName): a pre-bound claim waits for exactly that volume." % volume, False)
    if class_name is None:
        defaults = sorted(n for n, c in (classes or {}).items() if c["default"])
        if classes is not None and not defaults:
            return ("no storageClassName and no default StorageClass",
                    "Set spec.storageClassName, or mark a StorageClass default (storageclass.kubernetes.io/is-default-class).", False)
        return ("no storageClassName: waits for a matching PersistentVolume or the default class",
                "Set spec.storageClassName to a class whose provisioner runs.", False)
    if class_name == "":
        return ("storageClassName \"\": waits for a statically created PersistentVolume that matches",
                "Create a matching PersistentVolume (size, access modes, no class), or set a storageClassName.", False)
    if classes is not None and class_name not in classes:
        return ("StorageClass %s does not exist" % class_name,
                "Create StorageClass %s or change the claim's storageClassName (kubectl get storageclass)." % class_name, False)
    info = (classes or {}).get(class_name) or {}
    if info.get("binding_mode") == "WaitForFirstConsumer":
        return ("", "", True)
    provisioner = info.get("provisioner") or "its provisioner"
    return ("StorageClass %s: %s has not provisioned a volume" % (class_name, provisioner),
            "Check that the %s provisioner (CSI controller) runs and read its logs and the claim's events." % provisioner, False)


def judge_pvc(pvc, classes, event, now, pending_minutes):
    """classes: {name: storage_class_summary} or None when unknown; event: the claim's latest Warning
    event as {reason, message, last_seen} or None."""
    phase = dig(pvc, "status", "phase") or "Pending"
    ns, name = meta(pvc).get("namespace"), meta(pvc).get("name")
    evidence = {"phase": phase, "storage_class": dig(pvc, "spec", "storageClassName"),
                "requested": dig(pvc, "spec", "resources", "requests", "storage") or "",
                "access_modes": sorted(dig(pvc, "spec", "accessModes", default=[])),
                "volume_name": dig(pvc, "spec", "volumeName") or "", "created": meta(pvc).get("creationTimestamp") or ""}
    if event:
        evidence["last_event"] = dict(event)
    if phase == "Lost":
        return finding("pvc.lost", "critical", "PersistentVolumeClaim", name,
                       "PersistentVolumeClaim lost its PersistentVolume %s: pods using it cannot start" % (evidence["volume_name"] or "?"),
                       "Restore the PersistentVolume (from its backing disk or a backup) or recreate the claim and restore the data.",
                       namespace=ns, evidence=evidence)
    if phase != "Pending":
        return None
    age = age_seconds(meta(pvc).get("creationTimestamp"), now)
    if age is None or age < pending_minutes * 60:
        return None
    why, fix, skip = _why(pvc, classes)
    if skip:
        return None
    evidence["age_seconds"] = age
    evidence["reason"] = why
    message = "PersistentVolumeClaim Pending for %s: %s" % (human_duration(age), why)
    if event:
        message += "; last event %s: %s" % (event.get("reason") or "", (event.get("message") or "")[:200])
    return finding("pvc.pending", "warning", "PersistentVolumeClaim", name, message,
                   fix + " Pods that mount it stay Pending.", namespace=ns, evidence=evidence)
