"""Issue #20 part 2d: no manifest raises; one error entry per unreadable file, unparsable document or
malformed object (naming the file, the document number and the fix); every other document is audited."""
from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
import yaml

from ansible_collections.sre.toolkit.plugins.module_utils._health import manifests
from helpers import NOW

FIXTURES = Path(__file__).resolve().parents[5] / "tests" / "fixtures" / "manifests"

GOOD = {
    "Deployment": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n", "labels": {"a": "b"}},
                   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                            "template": {"metadata": {"labels": {"app": "d"}},
                                         "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 1000},
                                                  "hostNetwork": False,
                                                  "containers": [{"name": "c", "image": "i:1",
                                                                  "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                                                                "limits": {"memory": "1Gi"}},
                                                                  "securityContext": {"privileged": False, "capabilities": {"add": ["NET_BIND_SERVICE"]}}}],
                                                  "initContainers": [{"name": "i", "image": "i:1"}]}}}},
    "CronJob": {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
                "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}}},
    "PodDisruptionBudget": {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"},
                            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "d"},
                                                                     "matchExpressions": [{"key": "k", "operator": "In", "values": ["v"]}]}}},
    "ClusterRole": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"},
                    "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    "ClusterRoleBinding": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
                           "roleRef": {"kind": "ClusterRole", "name": "r"}, "subjects": [{"kind": "User", "name": "u"}]},
}

TEMPLATE = "{{ .Values.x }}"
NOT_MAPPING = ["oops", 42, 1.5, True, [1], [], TEMPLATE]
NOT_LIST = ["oops", 42, {"a": 1}, True, TEMPLATE]
JUNK_ENTRIES = [["oops"], [42], [None], [[1]], [TEMPLATE]]
NOT_COUNT = [TEMPLATE, "3", -1, 1.5, True, [], {}]
NOT_BOOL = ["true", "yes", 1, 0, [], {}, TEMPLATE]
NOT_INT = ["root", "1000", 1.5, True, [], TEMPLATE]
NOT_STR = [42, 1.5, True, [], {}, ["a"]]
NOT_QUANTITY = ["lots", "1..5", "-5Gi", -1, True, [1], {}, "", "12 Mi", TEMPLATE, float("nan")]
NOT_INT_OR_PERCENT = [TEMPLATE, "half", -1, 1.5, True, [], {}, "%", "50 %"]
NOT_STRINGS = ["get", [1], [None], {"a": "b"}, TEMPLATE]

POD = ("spec", "template", "spec")
C0 = POD + ("containers", 0)
# (kind, path, bad values): each (kind, path, value) is one malformed object
FIELDS = [
    ("Deployment", ("metadata",), NOT_MAPPING),
    ("Deployment", ("metadata", "name"), NOT_STR),
    ("Deployment", ("metadata", "namespace"), NOT_STR),
    ("Deployment", ("metadata", "labels"), NOT_MAPPING),
    ("Deployment", ("metadata", "labels", "a"), NOT_STR),
    ("Deployment", ("metadata", "ownerReferences"), NOT_LIST + JUNK_ENTRIES),
    ("Deployment", ("apiVersion",), NOT_STR),
    ("Deployment", ("spec",), NOT_MAPPING),
    ("Deployment", ("spec", "replicas"), NOT_COUNT),
    ("Deployment", ("spec", "template"), NOT_MAPPING),
    ("Deployment", ("spec", "template", "metadata"), NOT_MAPPING),
    ("Deployment", ("spec", "template", "metadata", "labels"), NOT_MAPPING),
    ("Deployment", POD, NOT_MAPPING),
    ("Deployment", POD + ("containers",), NOT_LIST + JUNK_ENTRIES),
    ("Deployment", POD + ("initContainers",), NOT_LIST + JUNK_ENTRIES),
    ("Deployment", POD + ("securityContext",), NOT_MAPPING),
    ("Deployment", POD + ("securityContext", "runAsNonRoot"), NOT_BOOL),
    ("Deployment", POD + ("securityContext", "runAsUser"), NOT_INT),
    ("Deployment", POD + ("hostNetwork",), NOT_BOOL),
    ("Deployment", POD + ("resources",), NOT_MAPPING),
    ("Deployment", C0 + ("name",), NOT_STR),
    ("Deployment", C0 + ("image",), NOT_STR),
    ("Deployment", C0 + ("resources",), NOT_MAPPING),
    ("Deployment", C0 + ("resources", "requests"), NOT_MAPPING),
    ("Deployment", C0 + ("resources", "requests", "cpu"), NOT_QUANTITY),
    ("Deployment", C0 + ("resources", "limits", "memory"), NOT_QUANTITY),
    ("Deployment", C0 + ("securityContext",), NOT_MAPPING),
    ("Deployment", C0 + ("securityContext", "privileged"), NOT_BOOL),
    ("Deployment", C0 + ("securityContext", "capabilities"), NOT_MAPPING),
    ("Deployment", C0 + ("securityContext", "capabilities", "add"), NOT_STRINGS),
    ("CronJob", ("spec", "jobTemplate"), NOT_MAPPING),
    ("CronJob", ("spec", "jobTemplate", "spec"), NOT_MAPPING),
    ("CronJob", ("spec", "jobTemplate", "spec", "template", "spec", "containers"), NOT_LIST + JUNK_ENTRIES),
    ("PodDisruptionBudget", ("spec", "minAvailable"), NOT_INT_OR_PERCENT),
    ("PodDisruptionBudget", ("spec", "maxUnavailable"), NOT_INT_OR_PERCENT),
    ("PodDisruptionBudget", ("spec", "selector"), NOT_MAPPING),
    ("PodDisruptionBudget", ("spec", "selector", "matchLabels"), NOT_MAPPING),
    ("PodDisruptionBudget", ("spec", "selector", "matchExpressions"), NOT_LIST + JUNK_ENTRIES),
    ("PodDisruptionBudget", ("spec", "selector", "matchExpressions", 0, "values"), NOT_STRINGS),
    ("ClusterRole", ("rules",), NOT_LIST + JUNK_ENTRIES),
    ("ClusterRole", ("rules", 0, "verbs"), NOT_STRINGS),
    ("ClusterRole", ("rules", 0, "resources"), NOT_STRINGS),
    ("ClusterRoleBinding", ("roleRef",), NOT_MAPPING),
    ("ClusterRoleBinding", ("roleRef", "name"), NOT_STR),
    ("ClusterRoleBinding", ("subjects",), NOT_LIST + JUNK_ENTRIES),
    ("ClusterRoleBinding", ("subjects", 0, "name"), NOT_STR),
]
NOT_OBJECTS = ["just a string", 42, 1.5, True, [1, 2], [{"kind": "Pod"}], {"kind": None}, {"kind": 42}, {"kind": ""},
               {"kind": ["Pod"]}, {"metadata": {"name": "no-kind"}}, {"kind": {"a": 1}}]


def mutate(kind, path, value):
    obj = copy.deepcopy(GOOD[kind])
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return obj


def malformed():
    for kind, path, values in FIELDS:
        for value in values:
            yield "%s.%s=%r" % (kind, ".".join(map(str, path)), value), mutate(kind, path, value)


def sentinel(number):
    """A good object with a known finding, to prove the documents around the bad ones were audited."""
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "good-%d" % number},
            "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"kind": "User", "name": "u%d" % number}]}


def good_names(result):
    return {f["name"] for f in result["findings"] if f["id"] == "rbac.cluster_admin" and f["name"].startswith("good-")}


def test_good_objects_are_good():
    res = manifests.scan_manifests([("g.yaml", obj) for obj in GOOD.values()], now=NOW)
    assert res["errors"] == [] and res["inventory"]["objects"] == len(GOOD)


def test_every_malformed_shape_gives_one_error_entry_and_the_rest_is_audited():
    """The whole src audit on every bad shape at once, shuffled among good documents."""
    cases = list(malformed())
    documents, expected, sentinels = [], {}, set()
    rng = random.Random(20)
    rng.shuffle(cases)
    for index, (label, obj) in enumerate(cases):
        source = "file-%d.yaml" % (index % 7)
        number = len([d for d in documents if d[0] == source]) + 1
        documents.append((source, number, obj))
        expected[(source, number)] = label
        documents.append((source, number + 1, sentinel(index)))
        sentinels.add("good-%d" % index)
    res = manifests.scan_manifests(documents, {"thresholds": {"max_findings_per_check": 100000}}, now=NOW)
    got = {}
    for error in res["errors"]:
        key = (error["file"], error["document"])
        assert key not in got, "two error entries for %s: %s / %s" % (key, got.get(key), error["message"])
        got[key] = error["message"]
        assert error["message"].startswith("%s document %d" % key) and error["fix"]
        assert error["fix"] != manifests.FIX_BUG, error  # every bad shape is named, none reaches a rule
    assert set(got) == set(expected), sorted(set(expected) - set(got))[:5]
    assert good_names(res) == sentinels
    assert res["summary"]["complete"] is False and res["summary"]["errors"] == len(cases)


@pytest.mark.parametrize("document", NOT_OBJECTS, ids=[repr(d)[:30] for d in NOT_OBJECTS])
def test_documents_that_are_not_objects(document):
    res = manifests.scan_manifests([("x.yaml", document), ("x.yaml", sentinel(1))], now=NOW)
    assert [(e["file"], e["document"], e["item"]) for e in res["errors"]] == [("x.yaml", 1, None)]
    assert res["errors"][0]["fix"] == manifests.FIX_NOT_OBJECT
    assert good_names(res) == {"good-1"}


def test_list_with_junk_items_gives_one_entry_per_junk_item():
    items = [42, sentinel(1), "x", {"kind": None}, mutate("Deployment", ("spec", "replicas"), TEMPLATE), sentinel(2),
             {"kind": "List", "items": []}]
    res = manifests.scan_manifests([("l.yaml", {"apiVersion": "v1", "kind": "List", "items": items})], now=NOW)
    assert [(e["document"], e["item"]) for e in res["errors"]] == [(1, 0), (1, 2), (1, 3), (1, 4), (1, 6)]
    assert "item 4" in res["errors"][3]["message"] and res["errors"][3]["fix"] == manifests.FIX_TEMPLATE
    assert good_names(res) == {"good-1", "good-2"}
    bad = manifests.scan_manifests([("l.yaml", {"kind": "List", "items": "oops"})], now=NOW)
    assert [(e["document"], e["item"]) for e in bad["errors"]] == [(1, None)]


def test_templated_values_name_the_field_and_the_fix():
    res = manifests.scan_manifests([("chart.yaml", mutate("Deployment", ("spec", "replicas"), "{{ .Values.replicas }}"))], now=NOW)
    (error,) = res["errors"]
    assert "spec.replicas" in error["message"] and "unrendered template" in error["message"]
    assert error["fix"] == manifests.FIX_TEMPLATE and error["kind"] == "Deployment" and error["name"] == "d"


def test_random_junk_never_raises_and_never_reaches_a_rule():
    """Random values at random places of good objects: at most one entry per document, never a crash."""
    rng = random.Random(7)
    pool = NOT_MAPPING + NOT_LIST + NOT_COUNT + NOT_QUANTITY + NOT_STRINGS + [None, {}, [], "", 0, {"x": [None]}]
    documents = []
    for number in range(1, 1501):
        obj = copy.deepcopy(GOOD[rng.choice(sorted(GOOD))])
        for _mutation in range(rng.randint(1, 3)):
            node, parent, key = obj, None, None
            while isinstance(node, (dict, list)) and node and rng.random() < 0.8:
                parent = node
                key = rng.choice(sorted(node)) if isinstance(node, dict) else rng.randrange(len(node))
                node = node[key]
            if parent is not None:
                parent[key] = copy.deepcopy(rng.choice(pool))
        documents.append(("fuzz.yaml", number, obj))
    res = manifests.scan_manifests(documents, now=NOW)
    numbers = [e["document"] for e in res["errors"]]
    assert len(numbers) == len(set(numbers))
    assert not [e for e in res["errors"] if e["fix"] == manifests.FIX_BUG]
    assert res["inventory"]["objects"] + len(numbers) == len(documents)
    json.dumps(res)  # the result is plain data


# ---- reading files: one bad file or document never aborts the src ----------------------------

def test_unreadable_file_and_unparsable_documents(tmp_path):
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage\x80")
    (tmp_path / "mixed.yaml").write_text("# preamble only\n---\n" + yaml.safe_dump(sentinel(1)) + "---\nkey: [unclosed\n---\n"
                                         + yaml.safe_dump(sentinel(2)) + "---\n{{- if .Values.x }}\nkind: Pod\n{{- end }}\n---\n")
    (tmp_path / "ok.json").write_text(json.dumps(sentinel(3)))
    res = manifests.audit_src([str(tmp_path)], yaml.safe_load, now=NOW)
    entries = [(Path(e["file"]).name, e["document"], e["fix"]) for e in res["errors"]]
    assert entries == [("binary.yaml", None, manifests.FIX_READ), ("mixed.yaml", 2, manifests.FIX_PARSE),
                       ("mixed.yaml", 4, manifests.FIX_TEMPLATE)]
    assert "mixed.yaml document 2: cannot be parsed" in res["errors"][1]["message"]
    assert good_names(res) == {"good-1", "good-2", "good-3"}
    assert {Path(f).name for f in res["inventory"]["files"]} == {"binary.yaml", "mixed.yaml", "ok.json"}
    finding = [f for f in res["findings"] if f["name"] == "good-2"][0]
    assert finding["evidence"]["document"] == 3 and finding["evidence"]["file"].endswith("mixed.yaml")


@pytest.mark.parametrize("text,numbers", [
    ("a: 1\n", [1]),
    ("---\na: 1\n", [1]),
    ("# c\n---\na: 1\n---\nb: 2\n", [1, 2]),
    ("a: 1\n---\n---\nb: 2\n", [1, 2, 3]),
    ("a: |\n  ---x\n  --- y\nb: '---'\n---   # marker with a comment\nc: 3\n", [1, 2]),
    ("", []),
])
def test_split_documents(text, numbers):
    assert [n for n, _chunk in manifests.split_documents(text)] == numbers


def test_malformed_fixtures_keep_their_good_documents():
    res = manifests.audit_src([str(FIXTURES / "malformed")], yaml.safe_load, now=NOW)
    where = [(Path(e["file"]).name, e["document"], e["item"]) for e in res["errors"]]
    assert where == [("helm-template.yaml", 1, None), ("helm-template.yaml", 2, None)] + \
        [("shapes.yaml", n, None) for n in (1, 2, 3, 4)] + [("shapes.yaml", 5, i) for i in (0, 1, 3)] + \
        [("shapes.yaml", n, None) for n in (6, 7, 8, 9)] + [("syntax-error.yaml", 2, None)]
    found = {(f["id"], f["name"]) for f in res["findings"]}
    assert {("audit.privileged", "good-after-template"), ("audit.privileged", "good-list-item"),
            ("rbac.cluster_admin", "before-the-error"), ("rbac.cluster_admin", "after-the-error"),
            ("rbac.cluster_admin", "good-at-the-end")} <= found
    assert [e["fix"] for e in res["errors"][:2]] == [manifests.FIX_TEMPLATE] * 2
