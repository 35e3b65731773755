import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._health import manifests, plan, scoring
from ansible_collections.sre.toolkit.plugins.module_utils._health.scan import ConfigError, HealthScan
from helpers import NOW, ago, node, pod, status

CRASH = status(waiting={"reason": "CrashLoopBackOff"}, last={"reason": "Error", "exitCode": 1, "finishedAt": ago(30)}, restarts=9, ready=False)


def fresh_scan(**config):
    scan = HealthScan(config, now=NOW)
    scan.set_version({"gitVersion": "v1.36.4"})
    return scan


def checks(result):
    return {c["id"]: c for c in result["checks"]}


def test_clean_cluster_scores_a_and_every_listed_check_is_ok():
    scan = fresh_scan()
    scan.add_probe("/livez?verbose", 200, "[+]ping ok\nlivez check passed")
    scan.add_probe("/readyz?verbose", 200, "[+]etcd ok\nreadyz check passed")
    scan.add_node(node("n1", roles=("worker",)))
    scan.listed(["nodes.conditions", "pods.containers", "pods.scheduling", "pods.lifecycle"])
    scan.add_pod(pod("a", statuses=[status()], owner=("ReplicaSet", "a-1")))
    res = scan.result()
    assert res["summary"]["score"] == 100.0 and res["summary"]["grade"] == "A"
    assert res["findings"] == []
    assert checks(res)["nodes.conditions"]["status"] == "ok"
    assert checks(res)["pods.containers"]["objects"] == 1
    assert res["inventory"]["nodes"]["roles"] == {"worker": 1}


def test_forbidden_list_is_never_healthy():
    scan = fresh_scan()
    scan.coverage_gap(["audit.rbac"], "forbidden", "list clusterroles: 403")
    scan.listed(["audit.rbac"])  # a later success elsewhere must not erase the gap
    res = scan.result()
    assert checks(res)["audit.rbac"]["status"] == "forbidden"
    assert res["summary"]["complete"] is False and "audit.rbac" in res["summary"]["coverage_gaps"]


def test_pods_on_lost_nodes_are_grouped_under_the_node():
    scan = fresh_scan()
    scan.add_node(node("gone", conditions=[{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "lastTransitionTime": ago(600)}]))
    scan.add_pod(pod("p1", node_name="gone", statuses=[CRASH]))
    scan.add_pod(pod("p2", node_name="gone", statuses=[status()]))
    res = scan.result()
    assert [f["id"] for f in res["findings"]] == ["node.unreachable"]
    assert res["findings"][0]["evidence"]["pods_on_node"] == 2
    assert res["findings"][0]["evidence"]["pods_sample"] == ["app/p1", "app/p2"]


def test_namespace_filters_severity_overrides_and_caps():
    scan = fresh_scan(exclude_namespaces=["skip"], severity_overrides={"pod.crashloop": "warning", "audit.missing_cpu_limit": "off"},
                      thresholds={"max_findings_per_check": 2})
    for i in range(5):
        scan.add_pod(pod("c%d" % i, statuses=[CRASH], owner=("ReplicaSet", "x")))
    scan.add_pod(pod("hidden", ns="skip", statuses=[CRASH]))
    res = scan.result()
    record = checks(res)["pods.containers"]
    assert (record["total"], record["shown"], record["counts"]["warning"]) == (5, 2, 5)
    assert res["summary"]["counts"]["warning"] == 5 and res["summary"]["shown_findings"] == 2
    assert {f["severity"] for f in res["findings"]} == {"warning"}
    assert all(f["namespace"] != "skip" for f in res["findings"])


def test_only_included_namespaces_and_per_namespace_paths():
    scan = fresh_scan(namespaces=["a", "b"])
    scan.add_pod(pod("x", ns="c", statuses=[CRASH]))
    assert scan.result()["findings"] == []
    sources = {s["name"]: s for s in plan.sources_for(scan)}
    assert sources["pods"]["paths"] == ["/api/v1/namespaces/a/pods", "/api/v1/namespaces/b/pods"]
    assert sources["nodes"]["paths"] == ["/api/v1/nodes"]


def test_group_selection_skips_checks_and_sources():
    scan = fresh_scan(groups=["nodes"])
    res = scan.result()
    assert checks(res)["pods.containers"]["status"] == "skipped"
    assert {s["name"] for s in plan.sources_for(scan)} == {"nodes", "node leases"}


def test_bad_config_names_the_option():
    with pytest.raises(ConfigError, match="groups"):
        HealthScan({"groups": ["nope"]})
    with pytest.raises(ConfigError, match="thresholds: unknown key"):
        HealthScan({"thresholds": {"restart": 1}})
    with pytest.raises(ConfigError, match="severity_overrides.pod.crashloop"):
        HealthScan({"severity_overrides": {"pod.crashloop": "fatal"}})


def test_version_skew_uses_oldest_apiserver_and_ignores_unparseable_kubelets():
    scan = fresh_scan()
    scan.add_node(node("old", kubelet="v1.31.1-eks-abc"))
    scan.add_node(node("fake", kubelet="fake"))
    scan.add_pod(pod("kube-apiserver-cp1", ns="kube-system", labels={"component": "kube-apiserver"},
                     spec={"containers": [{"name": "kube-apiserver", "image": "registry.k8s.io/kube-apiserver:v1.35.2"}]}, statuses=[status()]))
    res = scan.result()
    kubelet = [f for f in res["findings"] if f["id"].startswith("version.")]
    assert [(f["id"], f["name"]) for f in kubelet] == [("version.kubelet_skew", "old")]
    assert kubelet[0]["evidence"]["apiserver"] == "v1.35.2"  # judged against the oldest apiserver
    assert "not a Kubernetes version" in checks(res)["versions.kubelet"]["reason"]


def test_pdb_coverage_and_network_policies():
    scan = fresh_scan()
    tpl = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}}
    scan.add_workload("Deployment", {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"replicas": 3, "template": tpl},
                                     "status": {"availableReplicas": 3}})
    scan.add_workload("Deployment", {"metadata": {"name": "api", "namespace": "shop"},
                                     "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "api"}}, "spec": tpl["spec"]}},
                                     "status": {"availableReplicas": 2}})
    scan.add_pdb({"metadata": {"name": "web", "namespace": "shop"}, "spec": {"selector": {"matchLabels": {"app": "web"}}},
                  "status": {"expectedPods": 3, "disruptionsAllowed": 1}})
    scan.listed(["audit.pdb_coverage", "audit.network_policies", "workloads.disruption_budgets"])
    res = scan.result()
    pdb = [(f["id"], f["name"]) for f in res["findings"] if f["id"] in ("audit.no_pdb", "audit.no_network_policy")]
    assert pdb == [("audit.no_network_policy", "shop"), ("audit.no_pdb", "api")]


def test_events_are_unscored_but_reported():
    scan = fresh_scan()
    scan.listed(["events.warnings"])
    scan.add_event({"type": "Warning", "reason": "FailedMount", "message": "m", "involvedObject": {"kind": "Pod", "namespace": "a", "name": "p"},
                    "metadata": {"namespace": "a"}, "lastTimestamp": None, "eventTime": ago(5)[:-1] + ".000000Z"})
    res = scan.result()
    assert [f["id"] for f in res["findings"]] == ["event.failed_mount"]
    assert "events" not in res["summary"]["groups"]


def test_scoring_and_gate():
    assert scoring.check_score(10, {"a": "critical", "b": "warning"}) == 85.0
    assert scoring.grade(85) == "B" and scoring.grade(10) == "F"
    summary = {"score": 70.0, "counts": {"critical": 1, "warning": 2, "info": 3}}
    assert scoring.gate(summary, "none", 0) == {"fail_on": "never", "failed": False, "reasons": []}
    assert scoring.gate(summary, "never", 0)["reasons"] == []
    assert scoring.gate(summary, "critical", 0)["reasons"] == ["1 critical finding(s) at or above fail_on=critical"]
    assert scoring.gate(summary, "warning", 80)["reasons"] == [
        "1 critical finding(s) at or above fail_on=warning", "2 warning finding(s) at or above fail_on=warning",
        "score 70.0 is below min_score 80"]
    assert scoring.gate({"score": 100.0, "counts": {"critical": 0, "warning": 0, "info": 4}}, "warning", 90)["failed"] is False
    # min_score is its own condition, even with fail_on never; src errors count only with a threshold
    assert scoring.gate(summary, "never", 80)["reasons"] == ["score 70.0 is below min_score 80"]
    clean = {"score": 100.0, "counts": {"critical": 0, "warning": 0, "info": 0}}
    assert scoring.gate(clean, "never", 0, errors=2)["failed"] is False
    assert scoring.gate(clean, "critical", 0, errors=2)["reasons"] == ["2 manifest document(s) or item(s) could not be audited (see errors)"]


@pytest.mark.parametrize("score,counts,grade,capped_by", [
    (92.7, {"critical": 25, "warning": 3, "info": 0}, "D", "critical"),
    (92.7, {"critical": 0, "warning": 3, "info": 9}, "B", "warning"),
    (85.0, {"critical": 0, "warning": 3, "info": 0}, "B", None),
    (55.0, {"critical": 2, "warning": 0, "info": 0}, "E", None),
    (99.0, {"critical": 0, "warning": 0, "info": 7}, "A", None),
    (61.0, {"critical": 1, "warning": 4, "info": 0}, "D", None),
])
def test_grade_cannot_contradict_the_verdict(score, counts, grade, capped_by):
    assert scoring.capped_grade(score, counts) == {"grade": grade, "grade_capped_by": capped_by}


def test_manifest_mode(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yaml").write_text("x")
    (tmp_path / "b.yml").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    assert manifests.manifest_files([str(tmp_path)]) == [str(tmp_path / "b.yml"), str(tmp_path / "sub" / "a.yaml")]
    with pytest.raises(ConfigError, match="src"):
        manifests.manifest_files([str(tmp_path / "missing")])
    docs = [("app.yaml", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                          "spec": {"replicas": 2, "template": {
                              "metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "securityContext": {"privileged": True}}]}}}}),
            ("app.yaml", {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
                          "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "web"}}}}),
            ("old.yaml", {"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "c"}}]})]
    res = manifests.scan_manifests(docs, now=NOW)
    found = {(f["id"], f["name"]) for f in res["findings"]}
    assert ("audit.privileged", "web") in found and ("pdb.blocks_disruption", "web") in found
    assert ("api.removed_version", "c") in found
    assert ("workload.unavailable", "web") not in found  # no status in a file: never judged
    assert all(f["evidence"].get("file") for f in res["findings"] if f["kind"] != "Namespace")
    assert checks(res)["pods.containers"]["status"] == "skipped"


def test_apiserver_identity_leases_are_counted_by_label():
    scan = fresh_scan()
    scan.listed(["controlplane.apiserver_leases"])
    scan.add_apiserver_lease({"metadata": {"name": "kube-scheduler"}, "spec": {"renewTime": ago(5)}})
    scan.add_apiserver_lease({"metadata": {"name": "apiserver-abc", "labels": {"apiserver.kubernetes.io/identity": "kube-apiserver"}},
                              "spec": {"holderIdentity": "apiserver-abc_1", "renewTime": ago(5)}})
    scan.add_apiserver_lease({"metadata": {"name": "apiserver-old", "labels": {"apiserver.kubernetes.io/identity": "kube-apiserver"}},
                              "spec": {"holderIdentity": "apiserver-old_1", "renewTime": ago(1800)}})
    res = scan.result()
    assert res["inventory"]["apiserver_instances"] == 2
    assert [(f["id"], f["name"]) for f in res["findings"]] == [("controlplane.apiserver_lease_stale", "apiserver-old")]


def test_node_leases_fresh_stale_and_missing():
    scan = fresh_scan()
    for name in ("fresh", "stale", "nolease"):
        scan.add_node(node(name))
    scan.add_node_lease({"metadata": {"name": "fresh"}, "spec": {"renewTime": ago(10)}})
    scan.add_node_lease({"metadata": {"name": "stale"}, "spec": {"renewTime": ago(3600)}})
    scan.add_node_lease({"metadata": {"name": "not-a-node"}, "spec": {"renewTime": ago(3600)}})
    scan.listed(["nodes.leases"])
    res = scan.result()
    assert [(f["id"], f["name"]) for f in res["findings"]] == [("node.lease_stale", "stale"), ("node.lease_missing", "nolease")]
    assert checks(res)["nodes.leases"]["objects"] == 2
