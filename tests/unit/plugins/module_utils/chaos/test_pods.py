# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import copy
import datetime

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import ChaosInputError
from ansible_collections.sre.toolkit.plugins.module_utils._chaos import pods as engine

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
OLD = "2026-11-24T10:00:00Z"


def deployment(ns, name, replicas=3, ready=None, annotations=None, generation=1, observed=1):
    return {"kind": "Deployment",
            "metadata": {"namespace": ns, "name": name, "uid": "d-%s-%s" % (ns, name), "generation": generation,
                         "annotations": annotations or {}},
            "spec": {"replicas": replicas},
            "status": {"readyReplicas": replicas if ready is None else ready, "observedGeneration": observed}}


def replicaset(dep):
    meta = dep["metadata"]
    return {"kind": "ReplicaSet",
            "metadata": {"namespace": meta["namespace"], "name": meta["name"] + "-rs", "uid": "rs-" + meta["uid"],
                         "ownerReferences": [{"kind": "Deployment", "name": meta["name"], "uid": meta["uid"], "controller": True}]},
            "spec": {"replicas": dep["spec"]["replicas"]}, "status": {"readyReplicas": dep["status"]["readyReplicas"]}}


def pod(owner, index, phase="Running", ready=True, created=OLD, labels=None, annotations=None, deleting=False):
    meta = owner["metadata"]
    obj = {"metadata": {"namespace": meta["namespace"], "name": "%s-%d" % (meta["name"], index),
                        "uid": "p-%s-%s-%d" % (meta["namespace"], meta["name"], index),
                        "creationTimestamp": created, "labels": labels if labels is not None else {"app": meta["name"].replace("-rs", "")},
                        "annotations": annotations or {},
                        "ownerReferences": [{"kind": owner["kind"], "name": meta["name"], "uid": meta["uid"], "controller": True}]},
           "spec": {"nodeName": "node-%d" % (index % 2)},
           "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
    if deleting:
        obj["metadata"]["deletionTimestamp"] = "2026-11-24T11:59:00Z"
    return obj


def pdb(ns, name, app, allowed, generation=1, observed=1):
    return {"metadata": {"namespace": ns, "name": name, "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": app}}},
            "status": {"disruptionsAllowed": allowed, "observedGeneration": observed}}


def world(*specs):
    """specs: (ns, name, replicas) -> pods, workloads."""
    pods, workloads = [], []
    for ns, name, replicas in specs:
        dep = deployment(ns, name, replicas)
        rs = replicaset(dep)
        workloads += [dep, rs]
        pods += [pod(rs, i) for i in range(replicas)]
    return pods, workloads


def run(pods, workloads, pdbs=(), ns_objects=None, now=NOW, **params):
    params.setdefault("seed", 7)
    params.setdefault("min_age", "60s")
    return engine.plan(pods, workloads, list(pdbs), ns_objects or {}, now, engine.PodKillerOptions.from_params(params))


def reasons(result):
    return dict(("%s/%s" % (s["namespace"], s["name"]), s["reason"]) for s in result["skipped"])


def test_default_is_one_victim_with_every_other_pod_explained():
    pods, workloads = world(("a", "web", 3), ("a", "api", 2))
    result = run(pods, workloads)
    assert len(result["victims"]) == 1
    assert result["summary"]["eligible"] == 5
    assert len(result["skipped"]) == 4
    victim = result["victims"][0]
    assert victim["owner"]["kind"] == "Deployment"
    assert set(reasons(result).values()) <= {"not_sampled", "max_per_owner"}
    names = [v["name"] for v in result["victims"]] + [s["name"] for s in result["skipped"]]
    assert sorted(names) == sorted(p["metadata"]["name"] for p in pods)


def test_protected_and_excluded_namespaces_and_opt_outs():
    pods, workloads = world(("kube-system", "dns", 2), ("team", "web", 3), ("other", "x", 2), ("quiet", "q", 2), ("mine", "m", 2))
    pods[2]["metadata"]["annotations"][engine.OPT_OUT_ANNOTATION] = "true"
    namespaces = {"quiet": {"metadata": {"name": "quiet", "annotations": {engine.OPT_OUT_ANNOTATION: "yes"}}}}
    result = run(pods, workloads, ns_objects=namespaces, mode="all", max_per_owner=0, min_ready_replicas=0,
                 exclude_namespaces=["other"], protected_namespaces=["mine"])
    why = reasons(result)
    assert why["kube-system/dns-rs-0"] == "protected_namespace"
    assert why["mine/m-rs-1"] == "protected_namespace"
    assert why["other/x-rs-0"] == "namespace_excluded"
    assert why["quiet/q-rs-0"] == "namespace_opted_out"
    assert why["team/web-rs-0"] == "pod_opted_out"
    assert sorted(v["name"] for v in result["victims"]) == ["web-rs-1", "web-rs-2"]


def test_explicitly_included_protected_namespace_stays_protected():
    pods, workloads = world(("kube-system", "dns", 3))
    result = run(pods, workloads, mode="all", namespaces=["kube-system"])
    assert result["victims"] == []
    assert set(reasons(result).values()) == {"protected_namespace"}


def test_targeting_filters():
    pods, workloads = world(("a", "web", 6), ("a", "api", 3), ("b", "web", 3))
    pods[1]["status"]["phase"] = "Pending"
    result = run(pods, workloads, mode="all", max_per_owner=0, min_ready_replicas=0,
                 label_selector="app in (web)", field_selector="spec.nodeName=node-1", name_regex="-rs-[13]$",
                 namespaces=["a"])
    why = reasons(result)
    assert why["b/web-rs-0"] == "namespace_not_included"
    assert why["a/api-rs-0"] == "label_selector_mismatch"
    assert why["a/web-rs-0"] == "field_selector_mismatch"
    assert why["a/web-rs-1"] == "phase_mismatch"
    assert why["a/web-rs-5"] == "name_mismatch"
    assert [v["name"] for v in result["victims"]] == ["web-rs-3"]


def test_settled_only():
    dep = deployment("a", "web", 6)
    rs = replicaset(dep)
    pods = [pod(rs, 0, deleting=True), pod(rs, 1, phase="Pending"), pod(rs, 2, ready=False),
            pod(rs, 3, created="2026-11-24T11:59:30Z"), pod(rs, 4), pod(rs, 5)]
    result = run(pods, [dep, rs], mode="all", max_per_owner=0, min_ready_replicas=0, phases=["Running", "Pending"])
    why = reasons(result)
    assert why["a/web-rs-0"] == "terminating"
    assert why["a/web-rs-1"] == "not_running"
    assert why["a/web-rs-2"] == "not_ready"
    assert why["a/web-rs-3"] == "too_young"
    assert sorted(v["name"] for v in result["victims"]) == ["web-rs-4", "web-rs-5"]


def test_owner_problems():
    pods, workloads = world(("a", "web", 2))
    bare = pod(workloads[1], 9)
    bare["metadata"]["ownerReferences"] = []
    bare["metadata"]["name"] = "bare"
    job_pod = pod({"kind": "Job", "metadata": {"namespace": "a", "name": "job", "uid": "j1"}}, 0)
    orphan = pod({"kind": "ReplicaSet", "metadata": {"namespace": "a", "name": "gone", "uid": "nope"}}, 0)
    result = run(pods + [bare, job_pod, orphan], workloads, mode="all", exclude_owner_kinds=["Deployment"])
    why = reasons(result)
    assert why["a/bare"] == "no_owner"
    assert why["a/job-0"] == "owner_kind_unsupported"
    assert why["a/gone-0"] == "owner_not_found"
    assert why["a/web-rs-0"] == "owner_kind_excluded"
    result = run(pods, workloads, mode="all", owner_kinds=["StatefulSet"])
    assert set(reasons(result).values()) == {"owner_kind_not_included"}


def test_owner_not_at_full_strength_or_rolling_is_left_alone():
    dep = deployment("a", "web", 3, ready=2)
    rs = replicaset(dep)
    rolling = deployment("a", "api", 3, generation=2, observed=1)
    rs2 = replicaset(rolling)
    result = run([pod(rs, 0), pod(rs, 1), pod(rs2, 0)], [dep, rs, rolling, rs2], mode="all")
    assert set(reasons(result).values()) == {"owner_not_ready"}
    assert "rollout" in [s for s in result["skipped"] if s["name"] == "api-rs-0"][0]["detail"]
    assert engine.owners_not_steady(result["owners"])


def test_cooldown_recorded_on_the_owner():
    pods, workloads = world(("a", "web", 3))
    workloads[0]["metadata"]["annotations"][engine.COOLDOWN_ANNOTATION] = "2026-11-24T11:30:00Z"
    assert set(reasons(run(pods, workloads, cooldown="1h")).values()) == {"owner_cooldown"}
    assert len(run(pods, workloads, cooldown="20m")["victims"]) == 1
    assert len(run(pods, workloads, cooldown=0)["victims"]) == 1
    workloads[0]["metadata"]["annotations"][engine.COOLDOWN_ANNOTATION] = "garbage"
    assert set(reasons(run(pods, workloads)).values()) == {"owner_cooldown"}
    patch = engine.cooldown_patch("run-1", NOW)
    workloads[0]["metadata"]["annotations"].update(patch["metadata"]["annotations"])
    assert set(reasons(run(pods, workloads, cooldown="1h")).values()) == {"owner_cooldown"}
    assert len(run(pods, workloads, now=NOW + datetime.timedelta(hours=2))["victims"]) == 1


def test_min_ready_and_max_per_owner():
    pods, workloads = world(("a", "web", 4))
    result = run(pods, workloads, mode="all", max_per_owner=0, min_ready_replicas=2)
    assert len(result["victims"]) == 2
    assert list(reasons(result).values()) == ["min_ready_replicas"] * 2
    result = run(pods, workloads, mode="all", max_per_owner=1, min_ready_replicas=0)
    assert len(result["victims"]) == 1
    assert list(reasons(result).values()) == ["max_per_owner"] * 3
    single = world(("a", "solo", 1))
    assert set(reasons(run(*single)).values()) == {"min_ready_replicas"}


def test_pdb_budget_is_never_exceeded_and_pdb_trouble_is_a_skip():
    pods, workloads = world(("a", "web", 5), ("a", "db", 3), ("a", "api", 3), ("a", "two", 2))
    pdbs = [pdb("a", "web", "web", 2), pdb("a", "db", "db", 0), pdb("a", "api", "api", 3, generation=2, observed=1),
            pdb("a", "two-a", "two", 1), pdb("a", "two-b", "two", 1)]
    result = run(pods, workloads, pdbs, mode="all", max_per_owner=0, min_ready_replicas=0)
    victims = [v["name"] for v in result["victims"]]
    assert len([v for v in victims if v.startswith("web")]) == 2
    why = reasons(result)
    assert [why["a/db-rs-%d" % i] for i in range(3)] == ["pdb_budget"] * 3
    assert set(why["a/api-rs-%d" % i] for i in range(3)) == {"pdb_not_observed"}
    assert set(why["a/two-rs-%d" % i] for i in range(2)) == {"multiple_pdbs"}
    assert sorted(why[k] for k in why if k.startswith("a/web")) == ["pdb_budget"] * 3
    assert all(v["pdbs"][0]["name"] == "web" for v in result["victims"])


@pytest.mark.parametrize("mode,extra,eligible,expected", [
    ("one", {}, 10, 1),
    ("fixed", {"count": 3}, 10, 3),
    ("fixed", {"count": 30}, 10, 10),
    ("percent", {"percent": 25}, 10, 3),   # 2.5 rounds up
    ("percent", {"percent": 20}, 10, 2),   # exact, no float drift
    ("percent", {"percent": 0.1}, 10, 1),
    ("percent", {"percent": 100}, 10, 10),
    ("percent", {"percent": 33.3}, 3, 1),
    ("all", {}, 10, 10),
    ("all", {}, 0, 0),
])
def test_target_count(mode, extra, eligible, expected):
    assert engine.target_count(mode, eligible, extra.get("count"), extra.get("percent")) == expected


def test_sampling_is_without_replacement_and_reproducible_by_seed():
    pods, workloads = world(*[("a", "d%d" % i, 3) for i in range(12)])
    seen = set()
    for seed in range(40):
        result = run(pods, workloads, mode="percent", percent=50, seed=seed)
        names = [v["name"] for v in result["victims"]]
        assert result["summary"]["wanted"] == 18
        # one per owner by default: 12 owners, so 12 of the 18 wanted, all distinct
        assert len(names) == len(set(names)) == 12
        assert len(set(v["owner"]["name"] for v in result["victims"])) == 12
        seen.add(tuple(names))
        assert run(pods, workloads, mode="percent", percent=50, seed=seed)["victims"] == result["victims"]
    assert len(seen) > 1


def test_all_mode_takes_every_eligible_pod_exactly_once():
    pods, workloads = world(*[("a", "d%d" % i, 3) for i in range(5)])
    result = run(pods, workloads, mode="all", max_per_owner=0, min_ready_replicas=0)
    assert sorted(v["uid"] for v in result["victims"]) == sorted(p["metadata"]["uid"] for p in pods)
    assert result["skipped"] == []


def test_window_closed_skips_every_candidate():
    pods, workloads = world(("a", "web", 3))
    result = run(pods, workloads, window={"timezone": "UTC", "weekdays": ["sat", "sun"]})
    assert result["victims"] == [] and result["window"]["open"] is False
    assert set(reasons(result).values()) == {"outside_window"}
    assert len(run(pods, workloads, window={"hours": ["11:00-13:00"]})["victims"]) == 1


def test_random_seed_is_reported_when_not_given():
    pods, workloads = world(("a", "web", 3))
    options = engine.PodKillerOptions.from_params({})
    result = engine.plan(pods, workloads, [], {}, NOW, options)
    assert isinstance(result["seed"], int)
    again = engine.plan(pods, workloads, [], {}, NOW, engine.PodKillerOptions.from_params({"seed": result["seed"]}))
    assert again["victims"] == result["victims"]


@pytest.mark.parametrize("params,param", [
    ({"mode": "half"}, "mode"),
    ({"mode": "percent", "percent": 150}, "percent"),
    ({"mode": "percent", "percent": 0}, "percent"),
    ({"mode": "percent"}, "percent"),
    ({"mode": "fixed"}, "count"),
    ({"mode": "fixed", "count": 0}, "count"),
    ({"count": 2}, "count"),
    ({"percent": 20}, "percent"),
    ({"label_selector": "app in (web"}, "label_selector"),
    ({"field_selector": "status.phase"}, "field_selector"),
    ({"name_regex": "web-("}, "name_regex"),
    ({"owner_kinds": ["Job"]}, "owner_kinds"),
    ({"max_per_owner": -1}, "max_per_owner"),
    ({"min_age": "soon"}, "min_age"),
    ({"cooldown": "-1"}, "cooldown"),
])
def test_bad_input_names_the_option(params, param):
    with pytest.raises(ChaosInputError) as err:
        engine.PodKillerOptions.from_params(params)
    assert err.value.param == param
    assert err.value.kind == "invalid"
    assert err.value.msg.startswith(param)


def test_recheck_just_before_acting():
    pods, workloads = world(("a", "web", 4))
    pdbs = [pdb("a", "web", "web", 2)]
    options = engine.PodKillerOptions.from_params({"seed": 1, "mode": "fixed", "count": 2, "max_per_owner": 2})
    result = engine.plan(pods, workloads, pdbs, {}, NOW, options)
    victim = result["victims"][0]
    fresh = next(p for p in pods if p["metadata"]["uid"] == victim["uid"])
    dep = workloads[0]
    assert engine.recheck(victim, fresh, dep, pdbs, NOW, options) == (None, None)
    assert engine.recheck(victim, None, dep, pdbs, NOW, options)[0] == "gone"
    replaced = copy.deepcopy(fresh)
    replaced["metadata"]["uid"] = "new"
    assert engine.recheck(victim, replaced, dep, pdbs, NOW, options)[0] == "gone"
    dying = copy.deepcopy(fresh)
    dying["metadata"]["deletionTimestamp"] = "2026-11-24T12:00:00Z"
    assert engine.recheck(victim, dying, dep, pdbs, NOW, options)[0] == "terminating"
    opted = copy.deepcopy(fresh)
    opted["metadata"]["annotations"][engine.OPT_OUT_ANNOTATION] = "true"
    assert engine.recheck(victim, opted, dep, pdbs, NOW, options)[0] == "pod_opted_out"
    degraded = deployment("a", "web", 4, ready=3)
    assert engine.recheck(victim, fresh, degraded, pdbs, NOW, options)[0] == "owner_not_ready"
    # a deficit this run caused itself is allowed, down to min_ready_replicas
    assert engine.recheck(victim, fresh, degraded, pdbs, NOW, options, disrupted_in_owner=1) == (None, None)
    assert engine.recheck(victim, fresh, deployment("a", "web", 4, ready=2), pdbs, NOW, options,
                          disrupted_in_owner=2)[0] == "min_ready_replicas"
    # the fresh PDB status lags: we trust what we used ourselves
    assert engine.recheck(victim, fresh, dep, pdbs, NOW, options, used_in_pdb={"web": 2})[0] == "pdb_budget"
    assert engine.recheck(victim, fresh, dep, [pdb("a", "web", "web", 0)], NOW, options)[0] == "pdb_budget"
    assert engine.recheck(victim, fresh, None, pdbs, NOW, options)[0] == "owner_not_found"


def test_recovery_counts_ready_pods_other_than_victims():
    dep = deployment("a", "web", 3)
    rs = replicaset(dep)
    pods = [pod(rs, 0), pod(rs, 1), pod(rs, 2)]
    victims = {pods[0]["metadata"]["uid"]}
    # the controller has not noticed yet: status still says 3, but only 2 pods count
    assert engine.owner_recovery(dep, pods, [rs], victims, 3) == (False, 2)
    replacement = pod(rs, 3, ready=False)
    assert engine.owner_recovery(dep, pods + [replacement], [rs], victims, 3) == (False, 2)
    replacement = pod(rs, 3)
    assert engine.owner_recovery(dep, pods[1:] + [replacement], [rs], victims, 3) == (True, 3)
    lagging = deployment("a", "web", 3, ready=2)
    assert engine.owner_recovery(lagging, pods[1:] + [replacement], [rs], victims, 3) == (False, 3)


def test_event_and_paths():
    owner = {"kind": "Deployment", "namespace": "a", "name": "web", "uid": "u1"}
    event = engine.owner_event(owner, {"name": "web-1"}, "evict", "evicted", "run-9", NOW)
    assert event["involvedObject"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "a", "uid": "u1"}
    assert event["reason"] == "ChaosPodEvicted" and "web-1" in event["message"]
    assert event["metadata"]["labels"] == {engine.RUN_LABEL: "run-9"}
    assert engine.workload_path("Deployment", "a", "web") == "/apis/apps/v1/namespaces/a/deployments/web"
    assert engine.workload_path("ReplicationController", "a") == "/api/v1/namespaces/a/replicationcontrollers"
