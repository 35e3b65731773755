# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue #20 part 3: a pod excluded by several rules is reported with the first one in the order
docs/pod_killer.md gives (and SKIP_REASONS lists): an opted-out pod is reported as opted out even
when a name, label, field or phase filter would also leave it out."""
from __future__ import annotations

import datetime
import itertools
import re
from pathlib import Path

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import pods as engine

NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.timezone.utc)
DOC = Path(__file__).resolve().parents[5] / "docs" / "pod_killer.md"
OPT_OUT = {engine.OPT_OUT_ANNOTATION: "true"}


def owned_pod(ns="team", name="web-1", labels=None, annotations=None, phase="Running", deleting=False):
    meta = {"namespace": ns, "name": name, "uid": "p-%s-%s" % (ns, name), "creationTimestamp": "2026-11-24T10:00:00Z",
            "labels": {"app": "web"} if labels is None else labels, "annotations": annotations or {},
            "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "d-web", "controller": True}]}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-24T11:59:00Z"
    return {"metadata": meta, "spec": {"nodeName": "n1"},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True"}]}}


def reason(pod, ns_annotations=None, **params):
    params.setdefault("seed", 1)
    params.setdefault("min_age", "60s")
    namespaces = {pod["metadata"]["namespace"]: {"metadata": {"name": pod["metadata"]["namespace"],
                                                              "annotations": ns_annotations or {}}}}
    workloads = [{"kind": "Deployment", "metadata": {"namespace": pod["metadata"]["namespace"], "name": "web", "uid": "d-web"},
                  "spec": {"replicas": 3}, "status": {"readyReplicas": 3}}]
    result = engine.plan([pod], workloads, [], namespaces, NOW, engine.PodKillerOptions.from_params(params))
    assert not result["victims"], result["victims"]
    return result["skipped"][0]["reason"]


# Each rule, with what makes a pod fail it: (reason, pod overrides, namespace annotations, options).
RULES = [
    ("namespace_not_included", {}, None, {"namespaces": ["elsewhere"]}),
    ("namespace_excluded", {}, None, {"exclude_namespaces": ["team"]}),
    ("protected_namespace", {}, None, {"protected_namespaces": ["team"]}),
    ("namespace_opted_out", {}, OPT_OUT, {}),
    ("pod_opted_out", {"annotations": OPT_OUT}, None, {}),
    ("label_selector_mismatch", {"labels": {"app": "db"}}, None, {"label_selector": "app=web"}),
    ("field_selector_mismatch", {}, None, {"field_selector": "spec.nodeName=n2"}),
    ("name_mismatch", {}, None, {"name_regex": "^api-"}),
    ("phase_mismatch", {"phase": "Pending"}, None, {}),
]


@pytest.mark.parametrize("size", [2, 3, 4])
def test_a_pod_failing_several_rules_gets_the_first_in_documented_order(size):
    for combo in itertools.combinations(RULES, size):
        pod_args, ns_annotations, params = {}, {}, {}
        for _reason, pod_part, ns_part, option_part in combo:
            pod_args.update(pod_part)
            ns_annotations.update(ns_part or {})
            params.update(option_part)
        assert reason(owned_pod(**pod_args), ns_annotations, **params) == combo[0][0], [r[0] for r in combo]


@pytest.mark.parametrize("other", ["name_regex", "label_selector", "field_selector", "phases"])
def test_opted_out_pod_is_reported_opted_out_whatever_filter_also_excludes_it(other):
    params = {"name_regex": {"name_regex": "^api-"}, "label_selector": {"label_selector": "app=db"},
              "field_selector": {"field_selector": "spec.nodeName=n9"}, "phases": {"phases": ["Pending"]}}[other]
    assert reason(owned_pod(annotations=OPT_OUT), **params) == "pod_opted_out"


def test_opted_out_pod_that_is_also_unsettled_and_ownerless_is_opted_out():
    pod = owned_pod(annotations={engine.OPT_OUT_ANNOTATION: "yes"}, phase="Pending", deleting=True)
    pod["metadata"]["ownerReferences"] = []
    assert reason(pod, name_regex="^api-") == "pod_opted_out"


def test_documented_order_is_the_code_order():
    """docs/pod_killer.md's table lists the per-pod reasons in SKIP_REASONS order."""
    text = DOC.read_text()
    table = text[text.index("## How a pod is judged"):text.index("The mode then sets")]
    documented = [r for row in table.splitlines() if row.startswith("| `") for r in re.findall(r"`([a-z_]+)`", row.split("|")[1])]
    per_pod = [r for r in engine.SKIP_REASON_IDS if r in documented]
    first = ["namespace_not_included", "namespace_excluded", "protected_namespace", "namespace_opted_out", "pod_opted_out"]
    assert documented == per_pod and documented[:5] == first
