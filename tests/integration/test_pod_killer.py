"""pod_killer against the lab's real Kubernetes (kwok plays the kubelet).

Each test module run creates its own namespaces (a target one, one opted out by annotation,
one protected by option) with Deployments, a StatefulSet and PDBs, and deletes them at the
end. Other namespaces are only read, to prove they were not touched.
"""
from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import pods as engine
from ansible_collections.sre.toolkit.plugins.module_utils._chaos.pod_run import PodKillerRun
from ansible_collections.sre.toolkit.plugins.module_utils._chaos.windows import parse_timestamp
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._k8s import K8sClient
from tests.integration.lab_waits import wait_for_live_watchdog
from tests.integration.ansible import run_module, run_playbook

TARGET_DIR = Path(__file__).parent / "targets" / "pod_killer"
# name -> (kind, replicas, PDB spec or None, pod annotations)
WORKLOADS = {
    "web": ("Deployment", 4, {"maxUnavailable": 1}, {}),
    "api": ("Deployment", 3, {"minAvailable": 1}, {}),
    "db": ("StatefulSet", 3, {"maxUnavailable": 0}, {}),
    "batch": ("Deployment", 3, None, {}),
    "solo": ("Deployment", 1, None, {}),
    "quiet": ("Deployment", 2, None, {engine.OPT_OUT_ANNOTATION: "true"}),
}
SIDE_WORKLOADS = {"side": ("Deployment", 2, None, {})}
WORKLOAD_PATHS = {"Deployment": "deployments", "StatefulSet": "statefulsets"}


def _pod_template(name, annotations):
    return {
        "metadata": {"labels": {"app": name}, "annotations": annotations},
        "spec": {"containers": [{"name": "app", "image": "registry.invalid/pk/%s:1" % name,
                                 "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
                 "terminationGracePeriodSeconds": 1},
    }


def _create_workloads(k8s, ns, workloads):
    for name, (kind, replicas, pdb, annotations) in workloads.items():
        spec = {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": _pod_template(name, annotations)}
        if kind == "StatefulSet":
            spec.update({"serviceName": name, "podManagementPolicy": "Parallel"})
        k8s.create("/apis/apps/v1/namespaces/%s/%s" % (ns, WORKLOAD_PATHS[kind]),
                   {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec})
        if pdb is not None:
            k8s.create("/apis/policy/v1/namespaces/%s/poddisruptionbudgets" % ns,
                       {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
                        "spec": dict(pdb, selector={"matchLabels": {"app": name}})})


def steady(k8s, namespaces, timeout=180):
    """Wait until every workload is at full strength, no pod is terminating and PDBs are current."""
    deadline = time.monotonic() + timeout
    problem = "not checked"
    while time.monotonic() < deadline:
        problem = _unsteady(k8s, namespaces)
        if problem is None:
            return
        time.sleep(0.5)
    raise AssertionError("lab namespaces did not settle in %ss: %s" % (timeout, problem))


def _unsteady(k8s, namespaces):
    for ns in namespaces:
        for resource in ("deployments", "statefulsets"):
            for obj in k8s.list_all("/apis/apps/v1/namespaces/%s/%s" % (ns, resource)):
                status = obj.get("status", {})
                if status.get("readyReplicas", 0) != obj["spec"]["replicas"] or status.get("observedGeneration") != obj["metadata"]["generation"]:
                    return "%s/%s ready %s/%s" % (ns, obj["metadata"]["name"], status.get("readyReplicas", 0), obj["spec"]["replicas"])
        for pod in k8s.list_all("/api/v1/namespaces/%s/pods" % ns):
            if pod["metadata"].get("deletionTimestamp") or not engine.is_ready(pod):
                return "pod %s/%s not settled" % (ns, pod["metadata"]["name"])
        for pdb in k8s.list_all("/apis/policy/v1/namespaces/%s/poddisruptionbudgets" % ns):
            if not engine.pdb_observed(pdb) or pdb["status"].get("currentHealthy") != pdb["status"].get("expectedPods"):
                return "PDB %s/%s not current" % (ns, pdb["metadata"]["name"])
    return None


def snapshot(k8s, namespaces):
    """(kind, namespace, name) -> (uid, resourceVersion) for everything pod_killer could touch."""
    found = {}
    paths = {"Pod": "/api/v1/namespaces/%s/pods", "Deployment": "/apis/apps/v1/namespaces/%s/deployments",
             "StatefulSet": "/apis/apps/v1/namespaces/%s/statefulsets", "ReplicaSet": "/apis/apps/v1/namespaces/%s/replicasets",
             "PodDisruptionBudget": "/apis/policy/v1/namespaces/%s/poddisruptionbudgets"}
    for ns in namespaces:
        for kind, path in paths.items():
            for obj in k8s.list_all(path % ns):
                meta = obj["metadata"]
                found[(kind, ns, meta["name"])] = (meta["uid"], meta["resourceVersion"])
    return found


def chaos_events(k8s, ns, run_id=None):
    selector = "%s=%s" % (engine.RUN_LABEL, run_id) if run_id else engine.RUN_LABEL
    return k8s.list_all("/api/v1/namespaces/%s/events" % ns, params={"labelSelector": selector})


@pytest.fixture(scope="module")
def lab(lab_k8s):
    k8s = K8sClient.from_params({"kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context")})
    suffix = os.urandom(3).hex()
    names = {"target": "pk-it-%s" % suffix, "quiet": "pk-it-%s-quiet" % suffix, "prot": "pk-it-%s-prot" % suffix}
    annotations = {"quiet": {engine.OPT_OUT_ANNOTATION: "true"}}
    try:
        for role, ns in names.items():
            k8s.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": ns, "annotations": annotations.get(role, {})}})
        _create_workloads(k8s, names["target"], WORKLOADS)
        _create_workloads(k8s, names["quiet"], SIDE_WORKLOADS)
        _create_workloads(k8s, names["prot"], SIDE_WORKLOADS)
        steady(k8s, names.values())
        yield {"k8s": k8s, "ns": names, "kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context"),
               "server": lab_k8s.get("server")}
    finally:
        for ns in names.values():
            try:
                k8s.delete("/api/v1/namespaces/%s" % ns)
            except ToolkitError:
                pass


def base_args(lab, **extra):
    args = {
        "kubeconfig": lab["kubeconfig"],
        "context": lab["context"],
        "namespaces": [lab["ns"]["target"], lab["ns"]["quiet"], lab["ns"]["prot"], "kube-system", "kube-public"],
        "protected_namespaces": [lab["ns"]["prot"]],
        "min_age": "0s",
        "cooldown": "0",
        "recovery_timeout": 150,
        "recovery_poll": 0.5,
    }
    args.update(extra)
    return args


def all_namespaces(lab):
    return list(lab["ns"].values())


def _assert_clean_failure(result, *fragments):
    assert result.get("failed") is True, result
    for fragment in fragments:
        assert fragment in result["msg"], result["msg"]
    assert "Traceback" not in result["_stdout"] + result["_stderr"]


# -- randomized real runs ------------------------------------------------------------------

def test_randomized_runs_respect_every_safety_rule(lab):
    k8s, ns = lab["k8s"], lab["ns"]
    rng = random.Random(20261124)
    modes = ["one", "fixed", "percent", "all"] * 3
    recoveries = []
    for run_index, mode in enumerate(modes):
        steady(k8s, all_namespaces(lab))
        seed = rng.randrange(10 ** 6)
        pdbs_before = dict((p["metadata"]["name"], p["status"]["disruptionsAllowed"])
                           for p in k8s.list_all("/apis/policy/v1/namespaces/%s/poddisruptionbudgets" % ns["target"]))
        ready_before = {}
        for resource in ("deployments", "statefulsets"):
            for obj in k8s.list_all("/apis/apps/v1/namespaces/%s/%s" % (ns["target"], resource)):
                ready_before[obj["metadata"]["name"]] = obj["status"]["readyReplicas"]
        untouchable = dict((key, value) for key, value in snapshot(k8s, all_namespaces(lab) + ["kube-system", "kube-public"]).items()
                           if key[0] == "Pod" and (key[1] != ns["target"] or key[2].startswith("quiet-")))
        assert any(key[2].startswith("quiet-") for key in untouchable)
        args = base_args(lab, dry_run=False, seed=seed, mode=mode, max_per_owner=rng.choice([0, 1, 2]),
                         min_ready_replicas=rng.choice([0, 1, 2]), sequence=rng.choice(["serial", "parallel"]),
                         action=rng.choice(["evict", "evict", "delete"]))
        if mode == "fixed":
            args["count"] = rng.randint(2, 6)
        if mode == "percent":
            args["percent"] = rng.choice([10, 25, 50, 75, 100])
        result = run_module("pod_killer", args)
        assert not result.get("failed"), result.get("msg")
        victims = result["victims"]
        context = "run %d %s" % (run_index, json.dumps(args, sort_keys=True))

        # never the same pod twice, only the target namespace, never an opted-out pod
        uids = [v["uid"] for v in victims]
        assert len(uids) == len(set(uids)), context
        assert all(v["namespace"] == ns["target"] for v in victims), context
        assert not [v for v in victims if v["owner"]["name"] == "quiet"], context
        after = snapshot(k8s, all_namespaces(lab) + ["kube-system", "kube-public"])
        for key, value in untouchable.items():
            assert after.get(key) == value, "%s changed in %s" % (key, context)

        # never below a PDB, never below min_ready_replicas, never more than max_per_owner
        per_owner = {}
        for victim in victims:
            per_owner[victim["owner"]["name"]] = per_owner.get(victim["owner"]["name"], 0) + 1
            assert victim["outcome"] == ("evicted" if args["action"] == "evict" else "deleted"), context
        for owner, count in per_owner.items():
            if owner in pdbs_before:
                assert count <= pdbs_before[owner], "%s: %d victims, PDB allowed %d (%s)" % (owner, count, pdbs_before[owner], context)
            assert ready_before[owner] - count >= args["min_ready_replicas"], context
            if args["max_per_owner"]:
                assert count <= args["max_per_owner"], context
        assert "db" not in per_owner, context  # its PDB allows no disruption

        # every skipped pod has its reason
        reasons = dict((s["name"], s["reason"]) for s in result["skipped_pods"])
        for name, reason in reasons.items():
            assert reason in engine.SKIP_REASON_IDS, context
            if name.startswith("quiet-"):
                assert reason == "pod_opted_out"
            if name.startswith("side-"):
                assert reason in ("namespace_opted_out", "protected_namespace")
        if mode == "all" and args["min_ready_replicas"] == 0:
            assert [r for n, r in reasons.items() if n.startswith("db-")] == ["pdb_budget"] * 3

        # recovery is measured for every disrupted owner
        recovered = dict((r["name"], r) for r in result["recovery"])
        assert set(recovered) == set(per_owner), context
        for entry in recovered.values():
            assert entry["recovered"] is True and entry["seconds"] >= 0, (entry, context)
            recoveries.append(entry["seconds"])
        assert result["changed"] is bool(victims)
        if victims:
            events = chaos_events(k8s, ns["target"], result["run_id"])
            assert sorted(e["involvedObject"]["name"] for e in events) == sorted(v["owner"]["name"] for v in victims)
    assert recoveries, "no run disrupted anything"
    print("recovery seconds over %d owners: min %.2f median %.2f max %.2f" % (
        len(recoveries), min(recoveries), sorted(recoveries)[len(recoveries) // 2], max(recoveries)))


def test_plans_over_many_seeds_on_the_real_cluster_state(lab):
    """300 seeds of the planner over objects read from the lab: cheap, so many more seeds than real runs."""
    k8s, ns = lab["k8s"], lab["ns"]
    steady(k8s, all_namespaces(lab))
    scope = dict(namespaces=base_args(lab)["namespaces"], protected_namespaces=[ns["prot"]], min_age="0s", cooldown="0")
    runner = PodKillerRun(k8s, engine.PodKillerOptions.from_params(scope), {"action": "evict"})
    pods, workloads, pdbs, namespaces = runner.fetch()
    allowed = dict((p["metadata"]["name"], p["status"]["disruptionsAllowed"]) for p in pdbs if p["metadata"]["namespace"] == ns["target"])
    ready = dict((w["metadata"]["name"], w["status"].get("readyReplicas", 0)) for w in workloads
                 if w["kind"] in ("Deployment", "StatefulSet") and w["metadata"]["namespace"] == ns["target"])
    opted_out = set(p["metadata"]["uid"] for p in pods if engine.OPT_OUT_ANNOTATION in (p["metadata"].get("annotations") or {}))
    assert allowed == {"web": 1, "api": 2, "db": 0} and opted_out
    rng = random.Random(99)
    picked = set()
    for seed in range(300):
        params = dict(scope, seed=seed, mode=rng.choice(["one", "fixed", "percent", "all"]),
                      max_per_owner=rng.choice([0, 1, 2, 3]), min_ready_replicas=rng.choice([0, 1, 2]))
        if params["mode"] == "fixed":
            params["count"] = rng.randint(1, 20)
        if params["mode"] == "percent":
            params["percent"] = rng.uniform(0.5, 100)
        options = engine.PodKillerOptions.from_params(params)
        plan = engine.plan(pods, workloads, pdbs, namespaces, parse_timestamp("2099-01-01T00:00:00Z"), options)
        victims = plan["victims"]
        uids = [v["uid"] for v in victims]
        assert len(uids) == len(set(uids)) and not set(uids) & opted_out, seed
        assert all(v["namespace"] == ns["target"] for v in victims), seed
        per_owner = {}
        for victim in victims:
            per_owner[victim["owner"]["name"]] = per_owner.get(victim["owner"]["name"], 0) + 1
        for owner, count in per_owner.items():
            assert count <= allowed.get(owner, count), (seed, owner)
            assert ready[owner] - count >= params["min_ready_replicas"], (seed, owner)
            assert not params["max_per_owner"] or count <= params["max_per_owner"], (seed, owner)
        assert len(victims) + len(plan["skipped"]) == len(pods), seed
        picked.update(uids)
    # sampling reaches every pod that is ever allowed to go, not always the same few
    assert len(picked) >= 10


# -- nothing changes when it must not -------------------------------------------------------

@pytest.mark.parametrize("check,dry_run", [(False, True), (True, False), (True, True)],
                         ids=["dry_run", "check_mode_of_a_real_run", "check_mode_of_a_dry_run"])
def test_dry_run_and_check_mode_change_nothing(lab, check, dry_run):
    """Nothing changes; `changed` says what a real run would change (Ansible's check mode), `dry_run` is the user's value."""
    k8s = lab["k8s"]
    steady(k8s, all_namespaces(lab))
    before = snapshot(k8s, all_namespaces(lab))
    events_before = len(chaos_events(k8s, lab["ns"]["target"]))
    args = base_args(lab, mode="all", max_per_owner=0, min_ready_replicas=0, cooldown="1h", dry_run=dry_run)
    result = run_module("pod_killer", args, check=check)
    assert not result.get("failed"), result.get("msg")
    assert (result["dry_run"], result["simulated"], result["check_mode"]) == (dry_run, True, check)
    assert result["changed"] is (not dry_run)
    assert result["victims"] and all(v["outcome"] == "would_evict" for v in result["victims"])
    assert not any("acted_at" in v for v in result["victims"])
    assert result["recovery"] == []
    disrupted = [f for f in result["findings"] if f["id"] == "chaos.pod_disrupted"]
    assert sorted(f["subject"]["locator"] for f in disrupted) == sorted("Pod %s/%s" % (v["namespace"], v["name"]) for v in result["victims"])
    assert result["summary"]["counts"]["info"] == len(result["findings"]) and result["summary"]["gate"]["failed"] is False
    time.sleep(1)
    assert snapshot(k8s, all_namespaces(lab)) == before
    assert len(chaos_events(k8s, lab["ns"]["target"])) == events_before


@pytest.mark.parametrize("extra,fragments", [
    ({"mode": "half"}, ["mode", "one, fixed, percent, all"]),
    ({"mode": "percent", "percent": 150}, ["percent: must be more than 0 and at most 100, got 150"]),
    ({"label_selector": "app in (web"}, ["label_selector: syntax error", "expected ',' or ')'"]),
    ({"field_selector": "status.phase"}, ["field_selector: syntax error"]),
    ({"mode": "fixed"}, ["count: mode=fixed needs count >= 1"]),
    ({"window": {"timezone": "Mars/Olympus"}}, ["window.timezone: unknown timezone"]),
], ids=["unknown_mode", "percent_over_100", "label_selector", "field_selector", "fixed_without_count", "timezone"])
def test_bad_input_fails_clearly_and_changes_nothing(lab, extra, fragments):
    k8s = lab["k8s"]
    steady(k8s, all_namespaces(lab))
    before = snapshot(k8s, all_namespaces(lab))
    result = run_module("pod_killer", base_args(lab, dry_run=False, mode="all", **extra) if "mode" not in extra
                        else dict(base_args(lab, dry_run=False), **extra))
    _assert_clean_failure(result, *fragments)
    assert snapshot(k8s, all_namespaces(lab)) == before


def test_no_permission_to_evict_fails_before_changing_anything(lab):
    k8s, ns = lab["k8s"], lab["ns"]["target"]
    user = "pk-reader-%s" % os.urandom(2).hex()
    k8s.create("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings" % ns, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": user},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})
    steady(k8s, all_namespaces(lab))
    before = snapshot(k8s, all_namespaces(lab))
    args = base_args(lab, dry_run=False, mode="all", max_per_owner=0, min_ready_replicas=0, namespaces=[ns], impersonate_user=user)
    result = run_module("pod_killer", args)
    _assert_clean_failure(result, "no permission to ", "create pods/eviction in %s" % ns, "nothing was changed")
    assert result["error_kind"] == "forbidden"
    assert result["changed"] is False and result["victims"] == []
    assert snapshot(k8s, all_namespaces(lab)) == before
    # a dry run with the same identity plans, and warns that acting would fail
    planned = run_module("pod_killer", dict(args, dry_run=True))
    assert not planned.get("failed") and planned["victims"]
    assert any("a real run would fail" in w for w in planned.get("warnings", []))


# -- the API's word on budgets, cooldown, windows and gates ----------------------------------

def test_eviction_refused_by_a_pdb_is_a_skip(lab):
    """A real 429 from the eviction API (db's PDB allows 0) maps to a skip, never a failure."""
    k8s, ns = lab["k8s"], lab["ns"]["target"]
    steady(k8s, all_namespaces(lab))
    pod = k8s.get("/api/v1/namespaces/%s/pods/db-0" % ns)
    options = engine.PodKillerOptions.from_params({"seed": 1})
    runner = PodKillerRun(k8s, options, {"action": "evict"})
    victim = {"namespace": ns, "name": "db-0", "uid": pod["metadata"]["uid"]}
    outcome, reason, detail = runner.disrupt(victim)
    assert (outcome, reason) == ("skipped", "pdb_refused")
    assert "disruption budget" in detail.lower()
    assert k8s.get("/api/v1/namespaces/%s/pods/db-0" % ns)["metadata"]["uid"] == pod["metadata"]["uid"]


def _refuse_eviction_of(k8s, ns, pod_name):
    """A ValidatingAdmissionPolicy that refuses (HTTP 422) the eviction of one pod; returns its name once in force."""
    name = "pk-refuse-%s" % ns
    k8s.create("/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy", "metadata": {"name": name},
        "spec": {"failurePolicy": "Fail",
                 "matchConstraints": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                                      "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                                         "resources": ["pods/eviction"]}]},
                 "validations": [{"expression": "object.metadata.name != '%s'" % pod_name, "reason": "Invalid",
                                  "message": "lab policy: %s may not be evicted" % pod_name}]}})
    k8s.create("/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"]}})
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod_name, "namespace": ns}}
    deadline = time.monotonic() + 60
    while True:  # the apiserver loads policies asynchronously: a dry-run eviction shows when it is in force
        try:
            k8s.create("/api/v1/namespaces/%s/pods/%s/eviction" % (ns, pod_name), eviction, params={"dryRun": "All"})
        except ToolkitError as exc:
            if exc.status == 422:
                return name
        assert time.monotonic() < deadline, "the ValidatingAdmissionPolicy never came into force"
        time.sleep(0.5)


def _drop_policy(k8s, name):
    for kind in ("validatingadmissionpolicybindings", "validatingadmissionpolicies"):
        try:
            k8s.delete("/apis/admissionregistration.k8s.io/v1/%s/%s" % (kind, name))
        except ToolkitError:
            pass


def test_an_eviction_the_api_refuses_is_reported_and_the_others_go_on(lab):
    """One pod's eviction refused by an admission policy (not a PDB): that pod is an `action_failed` skip with the API's
    message and a warning finding; the pods evicted before and after it are victims, and the run does not fail."""
    k8s, ns = lab["k8s"], lab["ns"]["target"]
    steady(k8s, all_namespaces(lab))
    batch = sorted(p["metadata"]["name"] for p in k8s.list_all("/api/v1/namespaces/%s/pods" % ns, params={"labelSelector": "app=batch"}))
    refused = batch[1]
    policy = _refuse_eviction_of(k8s, ns, refused)
    try:
        result = run_module("pod_killer", base_args(lab, namespaces=[ns], label_selector="app=batch", dry_run=False, mode="all",
                                                    max_per_owner=0, min_ready_replicas=0, recovery_timeout=60))
    finally:
        _drop_policy(k8s, policy)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert sorted(v["name"] for v in result["victims"]) == [name for name in batch if name != refused]
    [skip] = [s for s in result["skipped_pods"] if s["name"] == refused]
    assert skip["reason"] == "action_failed" and "lab policy: %s may not be evicted" % refused in skip["detail"], skip
    [warning] = [f for f in result["findings"] if f["id"] == "chaos.action_failed"]
    assert warning["severity"] == "warning" and warning["subject"]["name"] == refused and "may not be evicted" in warning["message"]
    assert result["summary"]["skipped_by_reason"]["action_failed"] == 1
    assert k8s.get("/api/v1/namespaces/%s/pods/%s" % (ns, refused))["metadata"].get("deletionTimestamp") is None
    steady(k8s, all_namespaces(lab))


def test_cooldown_is_recorded_on_the_owner_and_honoured(lab):
    k8s, ns = lab["k8s"], lab["ns"]["target"]
    steady(k8s, all_namespaces(lab))
    args = base_args(lab, dry_run=False, namespaces=[ns], label_selector="app=batch", cooldown="1h", seed=3)
    first = run_module("pod_killer", args)
    assert not first.get("failed"), first.get("msg")
    assert len(first["victims"]) == 1 and first["recovery"][0]["recovered"] is True
    batch = k8s.get("/apis/apps/v1/namespaces/%s/deployments/batch" % ns)
    annotations = batch["metadata"]["annotations"]
    assert annotations[engine.RUN_ANNOTATION] == first["run_id"]
    assert annotations[engine.COOLDOWN_ANNOTATION] == first["victims"][0]["acted_at"]
    events = chaos_events(k8s, ns, first["run_id"])
    assert [(e["reason"], e["involvedObject"]["kind"], e["involvedObject"]["name"]) for e in events] == [
        ("ChaosPodEvicted", "Deployment", "batch")]
    steady(k8s, all_namespaces(lab))
    second = run_module("pod_killer", args)
    assert second["victims"] == [] and second["changed"] is False
    assert set(s["reason"] for s in second["skipped_pods"]) == {"owner_cooldown"}


def test_closed_window_and_failed_gate_change_nothing(lab):
    k8s = lab["k8s"]
    steady(k8s, all_namespaces(lab))
    before = snapshot(k8s, all_namespaces(lab))
    today = time.strftime("%a", time.gmtime()).lower()
    other_days = [d for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") if d != today]
    closed = run_module("pod_killer", base_args(lab, dry_run=False, window={"timezone": "UTC", "weekdays": other_days}))
    assert not closed.get("failed"), closed.get("msg")
    assert closed["victims"] == [] and closed["window"]["open"] is False
    assert "outside_window" in closed["summary"]["skipped_by_reason"]
    gated = run_module("pod_killer", base_args(lab, dry_run=False, mode="all", gate={"owners_ready": True, "http_url": "http://127.0.0.1:9/"}))
    assert not gated.get("failed"), gated.get("msg")
    assert gated["gate"]["passed"] is False and gated["victims"] == [] and gated["changed"] is False
    assert [c["check"] for c in gated["gate"]["checks"] if not c["passed"]] == ["http"]
    assert gated["summary"]["skipped_by_reason"]["gate_failed"] >= 1
    assert gated["record"]["outcome"].startswith("aborted")
    assert snapshot(k8s, all_namespaces(lab)) == before
    readyz = {"owners_ready": True, "http_url": lab["server"] + "/readyz", "http_validate_certs": False, "http_status": [200, 401, 403]}
    passing = run_module("pod_killer", base_args(lab, gate=readyz))
    assert passing["gate"]["passed"] is True and passing["victims"], passing["gate"]


def test_integration_target_playbook(lab, tmp_path):
    """The role-shaped target (tasks/main.yml with asserts) through a real ansible-playbook."""
    steady(lab["k8s"], all_namespaces(lab))
    playbook = tmp_path / "target.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [{"ansible.builtin.include_role": {"name": str(TARGET_DIR)}}],
    }]))
    result = run_playbook(playbook, extra_vars={
        "pk_kubeconfig": lab["kubeconfig"], "pk_context": lab["context"], "pk_namespace": lab["ns"]["target"],
        "pk_quiet_namespace": lab["ns"]["quiet"]})
    assert result["rc"] == 0, result["stdout"][-4000:] + result["stderr"][-2000:]
    assert "failed=0" in result["stdout"]


def test_chaos_playbook_runs_the_role_behind_its_gate(lab, tmp_path):
    """ansible-playbook sre.toolkit.chaos: a real eviction with a record, then a failing gate stops the play."""
    k8s, ns = lab["k8s"], lab["ns"]["target"]
    steady(k8s, all_namespaces(lab))
    records = tmp_path / "records"
    records.mkdir()
    common = {"chaos_kubeconfig": lab["kubeconfig"], "chaos_context": lab["context"], "chaos_record_dir": str(records),
              "chaos_recovery_timeout": 150}
    experiment = {"namespaces": [ns], "label_selector": "app=web", "min_age": "0s", "cooldown": "0", "recovery_poll": 0.5}
    real = run_playbook("sre.toolkit.chaos", extra_vars=dict(common, chaos_dry_run=False, chaos_pod_killer=experiment))
    assert real["rc"] == 0, real["stdout"][-3000:] + real["stderr"][-2000:]
    [record_file] = list(records.glob("pk-*.json"))
    record = json.loads(record_file.read_text())
    assert record["dry_run"] is False and record["gate"]["passed"] is True
    assert [v["owner"]["name"] for v in record["victims"]] == ["web"]
    assert record["recovery"][0]["recovered"] is True and record["recovery"][0]["seconds"] >= 0

    steady(k8s, all_namespaces(lab))
    before = snapshot(k8s, all_namespaces(lab))
    closed_port = dict(common, chaos_dry_run=False, chaos_pod_killer=experiment, chaos_gate_http_url="http://127.0.0.1:9/")
    gated = run_playbook("sre.toolkit.chaos", extra_vars=closed_port)
    assert gated["rc"] != 0
    assert "steady-state gate failed, nothing was disrupted" in gated["stdout"]
    assert snapshot(k8s, all_namespaces(lab)) == before


def test_promql_gate_against_the_lab_prometheus(lab, lab_prometheus):
    """The steady-state gate asks the lab's real Prometheus: a query that holds lets the run plan,
    one that does not (a recorded alert history) stops it before anything is chosen."""
    prom = {"prometheus_url": lab_prometheus["url"]}
    wait_for_live_watchdog(lab_prometheus["url"], lab_prometheus["window_end"], timeout=6 * lab_prometheus["interval_seconds"])
    holds = run_module("pod_killer", base_args(lab, gate={"owners_ready": True, "promql": 'count(ALERTS{alertname="Watchdog"}) >= 1'}, **prom))
    assert not holds.get("failed"), holds.get("msg")
    assert holds["gate"]["passed"] is True and holds["victims"], holds["gate"]
    # The lab's Watchdog is always firing, so "no firing alert" is false there.
    no_firing = {"promql": 'ALERTS{alertname="Watchdog",alertstate="firing"}', "promql_expect": "empty"}
    fails = run_module("pod_killer", base_args(lab, gate=no_firing, **prom))
    assert not fails.get("failed"), fails.get("msg")
    assert fails["gate"]["passed"] is False and fails["victims"] == []
    assert [c["check"] for c in fails["gate"]["checks"] if not c["passed"]] == ["promql"]
    down = run_module("pod_killer", base_args(lab, gate={"promql": "vector(1)"}, prometheus_url="http://127.0.0.1:9"))
    # A gate that cannot be asked is not a passed gate: the task fails, naming the server, and acts on nothing.
    assert down["failed"] is True and "127.0.0.1:9" in down["msg"] and not down.get("victims")
    assert "Traceback" not in down["_stdout"] + down["_stderr"]


# -- issue #20 part 3: skip-reason precedence, and numbers checked up front ------------------

@pytest.mark.parametrize("extra", [{"name_regex": "^web-"}, {"field_selector": "spec.nodeName=no-such-node"},
                                   {"phases": ["Pending"]}], ids=["name_regex", "field_selector", "phases"])
def test_opted_out_pods_are_reported_opted_out_before_any_filter(lab, extra):
    """The quiet Deployment's pods carry the opt-out annotation and fail the filter too: pod_opted_out wins."""
    k8s, ns = lab["k8s"], lab["ns"]["target"]
    steady(k8s, [ns])
    result = run_module("pod_killer", dict(base_args(lab, namespaces=[ns], mode="all"), **extra))
    assert not result.get("failed"), result.get("msg")
    why = {s["name"]: s["reason"] for s in result["skipped_pods"]}
    quiet = [name for name in why if name.startswith("quiet-")]
    assert len(quiet) == 2 and {why[name] for name in quiet} == {"pod_opted_out"}, why
    filtered = {"name_regex": "name_mismatch", "field_selector": "field_selector_mismatch", "phases": "phase_mismatch"}[sorted(extra)[0]]
    others = {reason for name, reason in why.items() if not name.startswith("quiet-") and not name.startswith("web-")}
    assert others == {filtered}, why


@pytest.mark.parametrize("extra,fragments", [
    ({"api_timeout": -5}, ["api_timeout: must be more than 0 seconds, got -5"]),
    ({"recovery_poll": 0, "max_per_owner": -1}, ["max_per_owner: must be at least 0, got -1", "recovery_poll: must be more than 0"]),
    ({"gate": {"http_url": "http://127.0.0.1:1/", "http_status": [200, 700]}}, ["gate.http_status[1]: must be at least 100 and at most 599"]),
], ids=["api_timeout", "two_options", "http_status"])
def test_numbers_are_checked_before_anything_is_read(lab, extra, fragments):
    k8s = lab["k8s"]
    before = snapshot(k8s, all_namespaces(lab))
    result = run_module("pod_killer", dict(base_args(lab, dry_run=False), **extra))
    _assert_clean_failure(result, *fragments)
    assert result["error_kind"] == "invalid"
    assert snapshot(k8s, all_namespaces(lab)) == before
