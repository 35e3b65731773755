# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit engine on manifest files (no cluster): gate a deploy in CI with the same rules.

Every file is split into its YAML documents and each document (and each item of a List) is
checked for the shape the rules read before it is judged. A file that cannot be read, a
document that cannot be parsed and an object of the wrong shape each give one entry in
``errors`` (file, document number, item, the problem and the fix); everything else is audited.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import os
import re

from . import audit
from .model import STATUS_SKIPPED, is_cluster_scoped, meta
from .scan import ConfigError, HealthScan

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod")
# What can be judged from files alone: templates, RBAC, PDB specs, NetworkPolicy coverage, API versions.
STATIC_CHECKS = ("audit.pod_specs", "audit.network_policies", "audit.rbac", "audit.pdb_coverage",
                 "audit.deprecated_apis", "workloads.disruption_budgets", "audit.references")

FIX_TEMPLATE = "Render the templates first (helm template, kustomize build) and audit the rendered output."
FIX_PARSE = "Fix the YAML/JSON syntax of this document (kubectl apply --dry-run=client -f <file> shows the same error)."
FIX_SHAPE = "Give these fields the types the Kubernetes API expects (kubectl apply --dry-run=server -f <file> rejects them too)."
FIX_NOT_OBJECT = "Each document must be a Kubernetes object with apiVersion and kind; remove it or leave this file out of src."
FIX_READ = "Make the file readable (permissions, UTF-8 text) or leave it out of src."
FIX_BUG = "This is a bug in k8s_health: please report it with this document; the other documents were audited."

_DOCUMENT_MARKER = re.compile(r"^---(?=[ \t]|$)", re.MULTILINE)
_TEMPLATED = re.compile(r"\{\{|\}\}|\$\{|<%")
_QUANTITY = re.compile(r"^\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[mkMGTPE])?$")
_INT_OR_PERCENT = re.compile(r"^\d+%?$")
_MAX_PROBLEMS = 5
# kinds only the Polaris/kube-score counterparts read (audit_peers.PeerChecks)
PEER_KINDS = {"Service": "peer_service", "Ingress": "peer_ingress", "HorizontalPodAutoscaler": "peer_hpa",
              "ServiceAccount": "peer_service_account"}


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


def manifest_error(source, document, message, fix, item=None, kind="", name=""):
    """One entry of result.errors: what could not be audited, where, and how to fix it."""
    where = "%s document %s" % (source, document) if document is not None else str(source)
    if item is not None:
        where += " item %d" % item
    return {"file": source, "document": document, "item": item, "kind": kind or "", "name": name or "",
            "message": "%s: %s" % (where, message), "fix": fix}


def split_documents(text):
    """YAML text -> [(number from 1, text of that document)]; a preamble of comments is no document."""
    chunks, start = [], 0
    for match in _DOCUMENT_MARKER.finditer(text):
        chunks.append(text[start:match.start()])
        start = match.start()
    chunks.append(text[start:])
    if chunks and not _has_content(chunks[0]):
        chunks = chunks[1:]
    return list(enumerate(chunks, 1))


def _has_content(chunk):
    return any(line.strip() and not line.lstrip().startswith(("#", "%")) for line in chunk.splitlines())


def read_manifests(paths, load):
    """Read and parse every file of `paths` with `load` (text -> object, e.g. yaml.safe_load).

    Returns ([(file, document number, parsed document)], [error entries]). A file that cannot
    be read or a document that cannot be parsed is one error entry; the rest is still returned.
    """
    documents, errors = [], []
    for path in manifest_files(paths):
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(manifest_error(path, None, "cannot be read: %s" % exc, FIX_READ))
            continue
        for number, chunk in split_documents(text):
            try:
                document = load(chunk)
            except Exception as exc:  # the loader is injected (PyYAML): any failure is this document's error
                text_of = " ".join(str(exc).split())[:300]
                fix = FIX_TEMPLATE if _TEMPLATED.search(chunk) else FIX_PARSE
                errors.append(manifest_error(path, number, "cannot be parsed: %s" % text_of, fix))
                continue
            if document is not None:
                documents.append((path, number, document))
    return documents, errors


# ---- shape of what the rules read -----------------------------------------------------------

def _describe(value):
    text = repr(value)
    text = text if len(text) <= 80 else text[:77] + "..."
    if isinstance(value, str) and _TEMPLATED.search(value):
        return "%s (an unrendered template)" % text
    return text


class _Shape:
    """Collects the fields of one object that do not have the type the rules (and the API) expect."""

    def __init__(self):
        self.problems = []
        self.templated = False

    def bad(self, path, expected, value):
        if isinstance(value, str) and _TEMPLATED.search(value):
            self.templated = True
        self.problems.append("%s: expected %s, got %s" % (path, expected, _describe(value)))

    def mapping(self, obj, key, path):
        """obj[key] when it is a mapping ({} when absent), else None after recording the problem."""
        value = obj.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad(path, "a mapping", value)
            return None
        return value

    def items(self, obj, key, path):
        """obj[key] when it is a list of mappings ([] when absent); bad entries are recorded and left out."""
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad(path, "a list", value)
            return []
        good = []
        for index, entry in enumerate(value):
            if isinstance(entry, dict):
                good.append((index, entry))
            else:
                self.bad("%s[%d]" % (path, index), "a mapping", entry)
        return good

    def scalar(self, obj, key, path, kind):
        value = obj.get(key)
        if value is None:
            return
        checks = {
            "str": (lambda v: isinstance(v, str), "a string"),
            "bool": (lambda v: isinstance(v, bool), "true or false"),
            "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
            "count": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an integer >= 0"),
            "int_or_percent": (lambda v: (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
                               or (isinstance(v, str) and bool(_INT_OR_PERCENT.match(v.strip()))), "a count or a percentage (2, \"25%\")"),
            "quantity": (_is_quantity, "a quantity (250m, 1.5, 512Mi)"),
        }
        test, expected = checks[kind]
        if not test(value):
            self.bad(path, expected, value)

    def strings(self, obj, key, path):
        value = obj.get(key)
        if value is None:
            return
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.bad(path, "a list of strings", value)

    def string_map(self, obj, key, path):
        value = self.mapping(obj, key, path)
        for name, item in sorted((value or {}).items(), key=lambda kv: str(kv[0])):
            if not isinstance(name, str) or not isinstance(item, str):
                self.bad("%s.%s" % (path, name), "a string", item)


def _is_quantity(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value >= 0 and math.isfinite(value)
    return isinstance(value, str) and bool(_QUANTITY.match(value.strip()))


def _check_metadata(shape, obj, path="metadata"):
    md = shape.mapping(obj, "metadata", path)
    if md is None:
        return
    for key in ("name", "namespace", "generateName"):
        shape.scalar(md, key, "%s.%s" % (path, key), "str")
    shape.string_map(md, "labels", path + ".labels")
    shape.mapping(md, "annotations", path + ".annotations")
    for index, ref in shape.items(md, "ownerReferences", path + ".ownerReferences"):
        for key in ("kind", "name"):
            shape.scalar(ref, key, "%s.ownerReferences[%d].%s" % (path, index, key), "str")


def _check_security_context(shape, sc, path):
    for key in ("privileged", "allowPrivilegeEscalation", "readOnlyRootFilesystem", "runAsNonRoot"):
        shape.scalar(sc, key, "%s.%s" % (path, key), "bool")
    shape.scalar(sc, "runAsUser", path + ".runAsUser", "int")
    caps = shape.mapping(sc, "capabilities", path + ".capabilities")
    if caps:
        shape.strings(caps, "add", path + ".capabilities.add")


def _check_resources(shape, owner, path):
    resources = shape.mapping(owner, "resources", path)
    for part in ("requests", "limits"):
        values = shape.mapping(resources or {}, part, "%s.%s" % (path, part))
        for name in sorted(values or {}, key=str):
            shape.scalar(values, name, "%s.%s.%s" % (path, part, name), "quantity")


def _check_pod_spec(shape, spec, path):
    for key in ("containers", "initContainers"):
        for index, container in shape.items(spec, key, "%s.%s" % (path, key)):
            where = "%s.%s[%d]" % (path, key, index)
            shape.scalar(container, "name", where + ".name", "str")
            shape.scalar(container, "image", where + ".image", "str")
            shape.scalar(container, "restartPolicy", where + ".restartPolicy", "str")
            sc = shape.mapping(container, "securityContext", where + ".securityContext")
            if sc:
                _check_security_context(shape, sc, where + ".securityContext")
            _check_resources(shape, container, where + ".resources")
    sc = shape.mapping(spec, "securityContext", path + ".securityContext")
    if sc:
        _check_security_context(shape, sc, path + ".securityContext")
    _check_resources(shape, spec, path + ".resources")
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        shape.scalar(spec, key, "%s.%s" % (path, key), "bool")


def _check_template(shape, owner, path):
    template = shape.mapping(owner, "template", path)
    if not template:
        return
    _check_metadata(shape, template, path + ".metadata")
    pod_spec = shape.mapping(template, "spec", path + ".spec")
    if pod_spec:
        _check_pod_spec(shape, pod_spec, path + ".spec")


def _check_selector(shape, owner, key, path):
    selector = shape.mapping(owner, key, path)
    if not selector:
        return
    shape.string_map(selector, "matchLabels", path + ".matchLabels")
    for index, expr in shape.items(selector, "matchExpressions", path + ".matchExpressions"):
        where = "%s.matchExpressions[%d]" % (path, index)
        shape.scalar(expr, "key", where + ".key", "str")
        shape.scalar(expr, "operator", where + ".operator", "str")
        shape.strings(expr, "values", where + ".values")


def _check_kind_fields(shape, kind, obj):
    spec = shape.mapping(obj, "spec", "spec")
    if kind == "Pod":
        if spec:
            _check_pod_spec(shape, spec, "spec")
    elif kind == "CronJob":
        job = shape.mapping(spec or {}, "jobTemplate", "spec.jobTemplate")
        job_spec = shape.mapping(job or {}, "spec", "spec.jobTemplate.spec")
        if job_spec:
            _check_template(shape, job_spec, "spec.jobTemplate.spec.template")
    elif kind in WORKLOAD_KINDS or kind == "ReplicationController":
        if spec:
            shape.scalar(spec, "replicas", "spec.replicas", "count")
            _check_template(shape, spec, "spec.template")
    elif kind == "PodDisruptionBudget":
        if spec:
            shape.scalar(spec, "minAvailable", "spec.minAvailable", "int_or_percent")
            shape.scalar(spec, "maxUnavailable", "spec.maxUnavailable", "int_or_percent")
            _check_selector(shape, spec, "selector", "spec.selector")
    elif kind in ("Role", "ClusterRole"):
        for index, rule in shape.items(obj, "rules", "rules"):
            for key in ("verbs", "resources", "apiGroups", "nonResourceURLs", "resourceNames"):
                shape.strings(rule, key, "rules[%d].%s" % (index, key))
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        ref = shape.mapping(obj, "roleRef", "roleRef")
        for key in ("kind", "name"):
            shape.scalar(ref or {}, key, "roleRef.%s" % key, "str")
        for index, subject in shape.items(obj, "subjects", "subjects"):
            for key in ("kind", "name", "namespace"):
                shape.scalar(subject, key, "subjects[%d].%s" % (index, key), "str")


def shape_problems(obj):
    """(problems, templated): the fields of one object whose type the rules cannot judge."""
    shape = _Shape()
    shape.scalar(obj, "apiVersion", "apiVersion", "str")
    _check_metadata(shape, obj)
    _check_kind_fields(shape, obj.get("kind"), obj)
    return shape.problems, shape.templated


def _objects(source, number, document, errors):
    """The Kubernetes objects of one document (List items flattened), with (item index or None)."""
    if not isinstance(document, dict):
        errors.append(manifest_error(source, number, "is %s, not a Kubernetes object" % _type_text(document), FIX_NOT_OBJECT))
        return []
    kind = document.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in document:
        items = document.get("items")
        if not isinstance(items, list):
            errors.append(manifest_error(source, number, "%s.items: expected a list, got %s" % (kind, _describe(items)),
                                         FIX_SHAPE, kind=kind))
            return []
        out = []
        for index, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("kind"), str) and item.get("kind").endswith("List") and "items" in item:
                errors.append(manifest_error(source, number, "a List nested in a List is not a Kubernetes object", FIX_NOT_OBJECT,
                                             item=index, kind=item.get("kind")))
            elif _object_problem(item):
                errors.append(manifest_error(source, number, _object_problem(item), FIX_NOT_OBJECT, item=index))
            else:
                out.append((index, item))
        return out
    problem = _object_problem(document)
    if problem:
        errors.append(manifest_error(source, number, problem, FIX_NOT_OBJECT))
        return []
    return [(None, document)]


def _object_problem(obj):
    if not isinstance(obj, dict):
        return "is %s, not a Kubernetes object" % _type_text(obj)
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind.strip():
        return "kind: expected a non-empty string, got %s" % _describe(kind)
    return None


def _type_text(value):
    if value is None:
        return "empty"
    names = {str: "a string", int: "a number", float: "a number", bool: "a boolean", list: "a list"}
    text = names.get(type(value), "a %s" % type(value).__name__)
    return "%s (%s)" % (text, _describe(value))


def _normalised(obj):
    """Scope from the kind: a cluster-scoped kind has no namespace even when the file writes one."""
    md = meta(obj)
    kind = obj.get("kind")
    namespace = "" if is_cluster_scoped(kind) else (md.get("namespace") or "default")
    return dict(obj, metadata=dict(md, namespace=namespace))


def _entries(documents):
    """Accept (file, document) pairs (numbered per file from 1) or (file, number, document)."""
    counters = {}
    for entry in documents:
        if len(entry) == 3:
            yield entry
        else:
            source, document = entry
            counters[source] = counters.get(source, 0) + 1
            yield source, counters[source], document


def scan_manifests(documents, config=None, now=None, errors=None):
    """documents: [(file, document)] or [(file, number, document)] -> the same result shape as a live
    scan, plus ``errors`` (one entry per file, document or List item that could not be audited)."""
    config = dict(config or {})
    errors = list(errors or [])
    scan = HealthScan(config, now=now)
    scan.peers.live = False
    for cid, record in scan.checks.items():
        if cid not in STATIC_CHECKS:
            record.mark(STATUS_SKIPPED, "not applicable to manifest files")
    scan.listed(list(STATIC_CHECKS))
    sources, files, audited = {}, set(), 0
    for source, number, document in _entries(documents):
        files.add(source)
        for item, obj in _objects(source, number, document, errors):
            kind, name = obj.get("kind"), meta(obj).get("name") if isinstance(obj.get("metadata"), dict) else ""
            name = name if isinstance(name, str) else ""
            problems, templated = shape_problems(obj)
            if problems:
                more = " (and %d more)" % (len(problems) - _MAX_PROBLEMS) if len(problems) > _MAX_PROBLEMS else ""
                errors.append(manifest_error(source, number, "%s %s not audited: %s%s" % (kind, name or "(no name)",
                                             "; ".join(problems[:_MAX_PROBLEMS]), more),
                                             FIX_TEMPLATE if templated else FIX_SHAPE, item=item, kind=kind, name=name))
                continue
            obj = _normalised(obj)
            try:
                _feed(scan, obj, source)
            except Exception as exc:  # a shape the checks above missed: one error entry, never a traceback
                errors.append(manifest_error(source, number, "%s %s could not be audited: %s: %s" % (
                    kind, name or "(no name)", type(exc).__name__, exc), FIX_BUG, item=item, kind=kind, name=name))
                continue
            audited += 1
            sources[(kind, meta(obj).get("namespace") or "", meta(obj).get("name") or "")] = (source, number)
    for error in errors:
        files.add(error["file"])
    result = scan.result(extra_inventory={"mode": "manifests", "files": sorted(files), "objects": audited})
    for item in result["findings"]:
        found = sources.get((item["kind"], item["namespace"], item["name"]))
        if found:
            item["evidence"]["file"], item["evidence"]["document"] = found
            item["subject"]["locator"] += " (%s #%s)" % found
    errors.sort(key=lambda e: (e["file"], e["document"] or 0, -1 if e["item"] is None else e["item"]))
    result["errors"] = errors
    result["summary"]["errors"] = len(errors)
    if errors:
        result["summary"]["complete"] = False
    return result


def audit_src(paths, load, config=None, now=None):
    """The whole src audit: expand `paths`, parse each document with `load`, judge what is readable."""
    documents, errors = read_manifests(paths, load)
    return scan_manifests(documents, config, now=now, errors=errors)


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
    elif kind in PEER_KINDS:
        getattr(scan, PEER_KINDS[kind])(obj)
