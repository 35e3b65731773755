from ansible_collections.sre.toolkit.plugins.module_utils._k8s_labels import label_selector_matches
from ansible_collections.sre.toolkit.plugins.module_utils._health import apiserver, workloads
from helpers import NOW, ago

READYZ_FAIL = "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[+]informer-sync ok\nreadyz check failed\n"


def test_readyz_per_check_findings():
    out = apiserver.judge_health_endpoint("/readyz?verbose", 500, READYZ_FAIL)
    assert [(f["id"], f["evidence"]["check"]) for f in out] == [("apiserver.readyz_failed", "etcd")]
    assert apiserver.judge_health_endpoint("/readyz?verbose", 200, "[+]ping ok\nreadyz check passed") == []
    out = apiserver.judge_health_endpoint("/livez?verbose", 503, "")
    assert [f["id"] for f in out] == ["apiserver.livez_failed"]


def test_leader_lease_freshness():
    lease = {"spec": {"holderIdentity": "cp-1_abc", "leaseDurationSeconds": 15, "renewTime": ago(5)}}
    assert apiserver.judge_leader_lease("kube-scheduler", lease, NOW, 30) is None
    lease["spec"]["renewTime"] = ago(600)
    out = apiserver.judge_leader_lease("kube-scheduler", lease, NOW, 30)
    assert out["id"] == "controlplane.leader_stale" and out["evidence"]["holder"] == "cp-1_abc"


def test_apiservice_and_componentstatus():
    svc = {"metadata": {"name": "v1beta1.metrics.k8s.io"}, "spec": {"service": {"namespace": "kube-system", "name": "metrics-server"}},
           "status": {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]}}
    assert apiserver.judge_apiservice(svc)["evidence"]["reason"] == "MissingEndpoints"
    svc["status"]["conditions"][0]["status"] = "True"
    assert apiserver.judge_apiservice(svc) is None
    cs = {"metadata": {"name": "scheduler"}, "conditions": [{"type": "Healthy", "status": "False", "error": "connection refused"}]}
    out = apiserver.judge_componentstatus(cs)
    assert out["severity"] == "info" and out["evidence"]["legacy"] is True


def test_deployment_rollout_and_availability():
    dep = {"metadata": {"name": "d", "namespace": "ns"}, "spec": {"replicas": 3},
           "status": {"availableReplicas": 0, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}}
    assert sorted((f["id"], f["severity"]) for f in workloads.judge_deployment(dep, NOW)) == [
        ("workload.rollout_stuck", "critical"), ("workload.unavailable", "critical")]
    dep = {"metadata": {"name": "d"}, "spec": {"replicas": 3}, "status": {"availableReplicas": 2}}
    assert [(f["id"], f["severity"]) for f in workloads.judge_deployment(dep, NOW)] == [("workload.unavailable", "warning")]
    assert workloads.judge_deployment({"metadata": {"name": "d"}, "spec": {"replicas": 0}, "status": {}}, NOW) == []


def test_failed_job_and_pdb_status():
    job = {"metadata": {"name": "j"}, "status": {"failed": 6, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                                                             "lastTransitionTime": ago(60)}]}}
    assert workloads.judge_job(job, NOW)[0]["evidence"]["reason"] == "BackoffLimitExceeded"
    pdb = {"metadata": {"name": "db"}, "spec": {"maxUnavailable": 0}, "status": {"expectedPods": 3, "currentHealthy": 3, "desiredHealthy": 3,
                                                                                 "disruptionsAllowed": 0}}
    assert workloads.judge_pdb_status(pdb)["id"] == "pdb.blocks_disruption"
    pdb["status"]["disruptionsAllowed"] = 1
    assert workloads.judge_pdb_status(pdb) is None


def test_selector_matching():
    labels = {"app": "web", "tier": "fe"}
    assert label_selector_matches({"matchLabels": {"app": "web"}}, labels)
    assert not label_selector_matches({"matchLabels": {"app": "db"}}, labels)
    assert label_selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]}, labels)
    assert not label_selector_matches({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, labels)
    assert label_selector_matches({}, labels)
    assert not label_selector_matches(None, labels)
