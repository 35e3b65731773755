"""k8s_health on the one contract: every id its engines can emit is catalogued (found by reading
the sources, so a new finding id without a catalogue entry fails here), and its findings validate
against docs/findings.schema.json."""
from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from ansible_collections.sre.toolkit.plugins.module_utils import _catalogue, _findings
from ansible_collections.sre.toolkit.plugins.module_utils._health import catalogue, events, manifests, model
from ansible_collections.sre.toolkit.plugins.module_utils._health.scan import HealthScan
from helpers import NOW, ago, node, pod, status

REPO = Path(__file__).resolve().parents[5]
ENGINES = REPO / "plugins" / "module_utils" / "_health"
SCHEMA = json.loads((REPO / "docs" / "findings.schema.json").read_text())
ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$")
SEVERITY_WORDS = set(_findings.SEVERITIES)

# finding() calls whose id is computed: (file, function) -> where the ids come from. Each source is
# read below (a table, a `fid = ...` assignment, events.event_id); a new computed call site fails
# the test until it is listed here and its ids are visible to the reader.
COMPUTED_SITES = {
    ("apiserver.py", "judge_health_endpoint"): "fid = ... literals",
    ("audit.py", "_audit_findings"): "audit.RULES",
    ("audit.py", "judge_binding"): "audit.RBAC_RULES",
    ("nodes.py", "judge_condition"): "nodes.PROBLEM_WHEN_TRUE / PROBLEM_WHEN_FALSE",
    ("events.py", "findings"): "events.event_id over WARNING_REASONS / INFO_REASONS",
}


def _strings(node_):
    """String constants of a literal or a conditional expression of literals."""
    if isinstance(node_, ast.Constant) and isinstance(node_.value, str):
        return {node_.value}
    if isinstance(node_, ast.IfExp):
        return _strings(node_.body) | _strings(node_.orelse)
    return set()


def _severities(arg, function):
    """Severities a finding() argument can take: literals, or what the function assigns to that name."""
    found = _strings(arg)
    if isinstance(arg, ast.Name) and function is not None:
        for item in ast.walk(function):
            if isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id == arg.id for t in item.targets):
                found |= _strings(item.value)
    return found & SEVERITY_WORDS


def _reasons(tree, name):
    for item in tree.body:
        if isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in item.targets):
            return {c.value for c in ast.walk(item.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return set()


def emitted_ids(folder):
    """{id: {severities}} the engines in `folder` can emit, and the computed call sites seen, read from the sources."""
    found, sites = {}, set()

    def add(rule_id, severities):
        found.setdefault(rule_id, set()).update(severities)

    for path in sorted(Path(folder).glob("*.py")):
        if path.name == "catalogue.py":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        functions = [f for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for function in functions + [None]:
            body = ast.walk(function) if function is not None else tree.body
            for item in body:
                if function is None and isinstance(item, ast.Assign) and isinstance(item.value, ast.Dict):
                    # rule tables: {key: (id, severity, ...)}
                    for value in item.value.values:
                        if isinstance(value, ast.Tuple) and value.elts and _strings(value.elts[0]) and ID.match(value.elts[0].value):
                            add(value.elts[0].value, _strings(value.elts[1]) & SEVERITY_WORDS if len(value.elts) > 1 else set())
                if function is None:
                    continue
                if isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "fid" for t in item.targets):
                    for rule_id in _strings(item.value):
                        add(rule_id, set())
                if not (isinstance(item, ast.Call) and getattr(item.func, "id", getattr(item.func, "attr", None)) == "finding"):
                    continue
                if not item.args:
                    continue
                literal = _strings(item.args[0])
                severities = _severities(item.args[1], function) if len(item.args) > 1 else set()
                if literal:
                    for rule_id in literal:
                        add(rule_id, severities)
                else:
                    sites.add((path.name, function.name))
                    if severities and isinstance(item.args[0], ast.Name) and item.args[0].id == "fid":
                        # severities of a `fid = ...` site belong to the ids assigned there
                        for sub in ast.walk(function):
                            if isinstance(sub, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "fid" for t in sub.targets):
                                for rule_id in _strings(sub.value):
                                    add(rule_id, severities)
        if path.name == "events.py":
            for table, severity in (("WARNING_REASONS", "warning"), ("INFO_REASONS", "info")):
                for reason in _reasons(tree, table):
                    add("event.%s" % events.snake(reason), {severity})
            for rule_id in _reasons(tree, "OTHER_EVENT"):
                add(rule_id, {"info"})
    return found, sites


def missing_from_catalogue(found, rules):
    """Ids (or id/severity pairs) the engines can emit that the catalogue does not list."""
    problems = []
    for rule_id, severities in sorted(found.items()):
        if rule_id not in rules:
            problems.append(rule_id)
            continue
        problems += ["%s (%s)" % (rule_id, sev) for sev in sorted(severities - set(rules[rule_id]["severities"]))]
    return problems


def test_every_id_the_engines_can_emit_is_catalogued():
    found, sites = emitted_ids(ENGINES)
    assert sites == set(COMPUTED_SITES), (
        "finding() with a computed id at %s: make its ids visible (a literal, a rule table, fid = ...) and list the site in "
        "COMPUTED_SITES" % sorted(sites ^ set(COMPUTED_SITES)))
    assert len(found) > 100
    assert missing_from_catalogue(found, catalogue.RULES) == []


def test_the_catalogue_lists_no_id_the_engines_cannot_emit():
    found, _sites = emitted_ids(ENGINES)
    assert sorted(set(catalogue.RULES) - set(found)) == []
    for rule_id, entry in catalogue.RULES.items():
        assert set(entry["severities"]) <= found[rule_id], rule_id


def test_a_new_finding_id_without_a_catalogue_entry_fails(tmp_path):
    """The check above really reads the sources: an id added to an engine and not to the catalogue is named."""
    for path in ENGINES.glob("*.py"):
        shutil.copy(path, tmp_path / path.name)
    with open(tmp_path / "pods.py", "a") as handle:
        handle.write("\n\ndef judge_new(name):\n    return finding(\"pod.brand_new\", \"warning\", \"Pod\", name, \"m\", \"f\")\n")
    with open(tmp_path / "nodes.py", "a") as handle:
        handle.write("\n\nEXTRA = {\"X\": (\"node.from_a_table\", \"info\", \"fix\")}\n")
    with open(tmp_path / "workloads.py", "a") as handle:
        handle.write("\n\ndef judge_other(name):\n    return finding(\"job.failed\", \"critical\", \"Job\", name, \"m\", \"f\")\n")
    found, _sites = emitted_ids(tmp_path)
    # only what this test added counts here (the test above names any other gap)
    before = set(missing_from_catalogue(emitted_ids(ENGINES)[0], catalogue.RULES))
    added = sorted(set(missing_from_catalogue(found, catalogue.RULES)) - before)
    assert added == ["job.failed (critical)", "node.from_a_table", "pod.brand_new"]


def test_event_tables_and_their_catalogue_entries_agree():
    assert set(catalogue._BROKEN_EVENTS) == events.WARNING_REASONS
    assert set(catalogue._INFO_EVENTS) == events.INFO_REASONS
    assert events.event_id("FailedMount") == "event.failed_mount"
    assert events.event_id("SomethingNobodyKnows") == "event.other"


def test_the_table_is_registered_and_the_page_lists_it():
    assert catalogue in _catalogue.TABLES
    joined = _catalogue.catalogue()
    assert all(joined[rule_id]["module"] == "k8s_health" for rule_id in catalogue.RULES)
    page = (REPO / "docs" / "rule_catalogue.md").read_text()
    assert "## k8s_health" in page and "`pod.crashloop`" in page and "`event.other`" in page


# ---- findings validate against the shipped schema -------------------------------------------

def assert_contract(result):
    jsonschema.validate({"findings": result["findings"], "summary": {"counts": result["summary"]["counts"]}}, SCHEMA)
    assert _catalogue.unknown_ids(result["findings"]) == []
    for item in result["findings"]:
        about = item["subject"]
        assert (about["kind"], about["namespace"], about["name"]) == (item["kind"], item["namespace"], item["name"])
        assert isinstance(item["evidence"], dict) and item["check"]
        assert "None" not in about["locator"].split()


def live_result():
    scan = HealthScan({"audit_system_namespaces": False}, now=NOW)
    scan.set_version({"gitVersion": "v1.36.4"})
    scan.add_probe("/livez?verbose", 500, "[+]ping ok\n[-]etcd failed: reason withheld\nlivez check failed")
    scan.add_node(node("worker-1", conditions=[{"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                                                "lastTransitionTime": ago(900)}]))
    scan.add_node(node("worker-2", unschedulable=True, taints=[{"key": "team", "value": "x", "effect": "NoSchedule"}]))
    scan.add_node(node("worker-3", conditions=[{"type": "Ready", "status": "True"}, {"type": "Wobbly", "status": "True"}]))
    scan.listed(["nodes.conditions", "nodes.scheduling", "pods.containers", "pods.scheduling", "pods.lifecycle",
                 "events.warnings", "audit.pod_specs"])
    crash = status(waiting={"reason": "CrashLoopBackOff"}, last={"reason": "Error", "exitCode": 1, "finishedAt": ago(30)},
                   restarts=9, ready=False)
    scan.add_pod(pod("web-1", ns="team-a", statuses=[crash], owner=("ReplicaSet", "web-1a")))
    scan.add_pod(pod("evicted", ns="team-a", phase="Failed", reason="Evicted", message="low memory"))
    for reason in ("FailedMount", "DNSConfigForming", "SomethingNobodyKnows"):
        scan.add_event({"type": "Warning", "reason": reason, "message": "%s happened" % reason, "lastTimestamp": ago(60),
                        "involvedObject": {"kind": "Pod", "namespace": "team-a", "name": "web-1"},
                        "metadata": {"namespace": "team-a"}})
    return scan.result()


def test_live_findings_follow_the_contract():
    result = live_result()
    assert_contract(result)
    located = {(f["id"], f["subject"]["locator"]) for f in result["findings"]}
    assert {("pod.crashloop", "Pod team-a/web-1"), ("node.not_ready", "Node worker-1"), ("node.cordoned", "Node worker-2"),
            ("node.unknown_condition", "Node worker-3"), ("event.other", "Pod team-a/web-1"),
            ("event.dnsconfig_forming", "Pod team-a/web-1"), ("apiserver.livez_failed", "APIServer /livez")} <= located
    assert result["findings"] == sorted(result["findings"], key=_findings.sort_key)
    summary = result["summary"]
    assert summary["counts"] == _findings.counts(result["findings"])
    assert summary["grade"] == "D" and summary["grade_capped_by"] in (None, "critical")


def test_src_findings_follow_the_contract_and_name_the_file():
    seed = REPO / "tests" / "lab" / "k8s" / "seed"
    paths = [str(seed / "40-audit.yaml"), str(seed / "60-rbac.yaml"), str(REPO / "tests" / "fixtures" / "manifests")]
    result = manifests.audit_src(paths, yaml.safe_load, {}, now=NOW)
    assert result["findings"] and result["errors"]
    assert_contract(result)
    for item in result["findings"]:
        if "file" in item["evidence"]:
            assert item["subject"]["locator"].endswith(" (%s #%d)" % (item["evidence"]["file"], item["evidence"]["document"]))
    privileged = next(f for f in result["findings"] if f["id"] == "audit.privileged" and f["name"] == "host-debugger")
    assert re.fullmatch(r"\w+ [\w-]+/host-debugger \(.*40-audit\.yaml #\d+\)", privileged["subject"]["locator"])


@pytest.mark.parametrize("kind,name,namespace,locator", [
    ("Pod", "web-1", "team-a", "Pod team-a/web-1"),
    ("Node", "worker-1", None, "Node worker-1"),
    ("ClusterRole", "admin-all", "", "ClusterRole admin-all"),
    ("", None, None, "(unnamed object)"),
])
def test_the_subject_of_a_finding(kind, name, namespace, locator):
    item = model.finding("pod.crashloop", "critical", kind, name, "m", "f", namespace=namespace)
    assert item["subject"] == {"kind": kind, "namespace": namespace or "", "name": name or "", "locator": locator}
    assert item["evidence"] == {} and item["kind"] == kind and item["name"] == (name or "")
