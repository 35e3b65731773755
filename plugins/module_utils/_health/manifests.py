# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit engine on manifest files (no cluster): gate a deploy in CI with the same rules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from . import audit
from .model import STATUS_SKIPPED, meta
from .scan import ConfigError, HealthScan

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod")
# What can be judged from files alone: templates, RBAC, PDB specs, NetworkPolicy coverage, API versions.
STATIC_CHECKS = ("audit.pod_specs", "audit.network_policies", "audit.rbac", "audit.pdb_coverage",
                 "audit.deprecated_apis", "workloads.disruption_budgets")


def manifest_files(paths):
    """Expand files and folders (recursively) into a sorted list of manifest files."""
    found = set()
    for path in paths or []:
        path = os.path.expanduser(path)
        if os.path.isfile(path):
            found.add(path)
        elif os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found.update(os.path.join(root, name) for name in files if name.endswith(MANIFEST_SUFFIXES))
        else:
            raise ConfigError("src: %s does not exist; give YAML/JSON manifest files or folders" % path)
    return sorted(found)


def _flatten(obj):
    if isinstance(obj, dict) and obj.get("kind", "").endswith("List") and isinstance(obj.get("items"), list):
        for item in obj["items"]:
            yield from _flatten(item)
    elif isinstance(obj, dict) and obj.get("kind"):
        yield obj


def scan_manifests(documents, config=None, now=None):
    """documents: [(source_file, parsed_document)] -> the same result shape as a live scan."""
    config = dict(config or {})
    scan = HealthScan(config, now=now)
    for cid, record in scan.checks.items():
        if cid not in STATIC_CHECKS:
            record.mark(STATUS_SKIPPED, "not applicable to manifest files")
    scan.listed(list(STATIC_CHECKS))
    sources = {}
    for source, document in documents:
        for obj in _flatten(document):
            obj = dict(obj, metadata=dict(meta(obj), namespace=meta(obj).get("namespace") or
                                          ("" if obj.get("kind", "").startswith("Cluster") else "default")))
            _feed(scan, obj, source)
            sources[(obj.get("kind"), meta(obj).get("namespace") or "", meta(obj).get("name") or "")] = source
    result = scan.result(extra_inventory={"mode": "manifests", "files": sorted(set(doc[0] for doc in documents))})
    for item in result["findings"]:
        source = sources.get((item["kind"], item["namespace"], item["name"]))
        if source:
            item["evidence"]["file"] = source
    return result


def _feed(scan, obj, source):
    kind = obj.get("kind")
    if scan.wants("audit.deprecated_apis"):
        scan.ran("audit.deprecated_apis", 1)
        scan.emit("audit.deprecated_apis", [audit.judge_manifest_api(obj, source)])
    if kind in WORKLOAD_KINDS:
        scan.add_workload(kind, obj, live=False)
    elif kind == "PodDisruptionBudget":
        scan.add_pdb(obj, live=False)
    elif kind == "NetworkPolicy":
        scan.add_network_policy(obj)
    elif kind in ("Role", "ClusterRole"):
        scan.add_role(kind, obj)
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        scan.add_binding(kind, obj)
