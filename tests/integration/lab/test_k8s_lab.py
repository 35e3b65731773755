"""The Kubernetes lab is a real control plane that behaves as its ground truth says.

Everything is checked against the live API server through kubectl and the official Python
client, not through the lab's own code. Tests that change the cluster work in a namespace of
their own and delete it.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.lab.common import LabContext


# ---------------------------------------------------------------- helpers

def _kubectl(lab, *args, check=True, stdin=None) -> str:
    proc = subprocess.run([lab["kubectl"], "--kubeconfig", lab["kubeconfig"], *args],
                          capture_output=True, text=True, input=stdin, timeout=120, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _json(lab, *args) -> dict:
    return json.loads(_kubectl(lab, *args, "-o", "json"))


def _truth(lab) -> dict:
    return json.loads(Path(lab["ground_truth"]).read_text())


def _poll(what, probe, timeout=90.0, interval=1.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        ok, last = probe()
        if ok:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}; last seen: {last}")


def _ready(pod) -> bool:
    conds = {c.type: c.status for c in (pod.status.conditions or [])}
    return pod.status.phase == "Running" and conds.get("Ready") == "True" and pod.metadata.deletion_timestamp is None


@pytest.fixture(scope="module")
def api(lab_k8s):
    return config.new_client_from_config(config_file=lab_k8s["kubeconfig"], context=lab_k8s["context"])


@pytest.fixture()
def scratch_ns(api):
    """A namespace of the test's own, deleted afterwards."""
    core = client.CoreV1Api(api)
    name = f"lab-test-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


def _deployment(name, replicas, labels):
    container = client.V1Container(
        name="app", image="ghcr.io/example/app:1.0.0",
        resources=client.V1ResourceRequirements(requests={"cpu": "10m", "memory": "16Mi"}, limits={"cpu": "100m", "memory": "64Mi"}))
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels),
                                              spec=client.V1PodSpec(containers=[container], termination_grace_period_seconds=5))))


def _ready_pods(core, ns, selector):
    pods = core.list_namespaced_pod(ns, label_selector=selector).items
    return [p for p in pods if _ready(p)]


# ---------------------------------------------------------------- the control plane itself

def test_server_is_the_built_version(lab_k8s):
    versions = json.loads(_kubectl(lab_k8s, "version", "-o", "json"))
    assert versions["serverVersion"]["gitVersion"] == "v1.36.4"
    assert versions["serverVersion"]["minor"] == "36"
    client_minor = int(versions["clientVersion"]["minor"].rstrip("+"))
    assert abs(client_minor - 36) <= 1, "kubectl must be within one minor of the server"
    assert _kubectl(lab_k8s, "get", "--raw", "/readyz").strip() == "ok"


def test_every_cluster_process_listens_on_loopback_only(lab_k8s):
    listeners = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout.splitlines()
    pids = {str(pid) for pid in lab_k8s["pids"].values()}
    ours = [line for line in listeners if any(f"pid={pid}," in line for pid in pids)]
    assert len(ours) >= 5, f"expected etcd, apiserver, kcm, scheduler and kwok listeners, got {ours}"
    for line in ours:
        local = line.split()[3]
        assert local.startswith("127.0.0.1:"), f"listens beyond loopback: {line}"


def test_kubectl_shows_ready_nodes_and_running_deployment_pods(lab_k8s):
    table = _kubectl(lab_k8s, "get", "nodes,pods", "-A", "-o", "wide")
    node_rows = [line.split() for line in table.splitlines() if line.startswith("node/")]
    ready = [row[0] for row in node_rows if row[1] == "Ready"]
    assert len(ready) >= 3, table
    assert any(row[0] == "node/lab-worker-notready" and row[1] == "NotReady" for row in node_rows)
    web_rows = [line.split() for line in table.splitlines() if line.startswith("lab-healthy ") and " pod/web-" in line]
    assert len(web_rows) == 3 and all(row[2] == "1/1" and row[3] == "Running" for row in web_rows), table
    # the same through the API: Deployment pods are Running and Ready, on Ready nodes
    pods = _json(lab_k8s, "get", "pods", "-n", "lab-healthy", "-l", "app.kubernetes.io/name=web")["items"]
    nodes = {n["metadata"]["name"]: n for n in _json(lab_k8s, "get", "nodes")["items"]}
    for pod in pods:
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
        assert pod["status"]["phase"] == "Running"
        node_ready = {c["type"]: c["status"] for c in nodes[pod["spec"]["nodeName"]]["status"]["conditions"]}["Ready"]
        assert node_ready == "True"


# ---------------------------------------------------------------- PDBs, eviction, controllers

def test_eviction_refused_by_pdb_allowing_no_disruption(api, lab_k8s):
    core, policy = client.CoreV1Api(api), client.PolicyV1Api(api)
    pdb = policy.read_namespaced_pod_disruption_budget("db", "lab-healthy")
    assert pdb.spec.max_unavailable == 0 and pdb.status.disruptions_allowed == 0
    victim = core.read_namespaced_pod("db-0", "lab-healthy")
    assert _ready(victim)
    eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name="db-0", namespace="lab-healthy"))
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod_eviction("db-0", "lab-healthy", eviction)
    assert refused.value.status == 429
    assert "disruption budget" in json.loads(refused.value.body)["message"]
    after = core.read_namespaced_pod("db-0", "lab-healthy")
    assert after.metadata.uid == victim.metadata.uid and after.metadata.deletion_timestamp is None


def test_eviction_allowed_by_pdb_then_replaced(api, scratch_ns):
    core, apps, policy = client.CoreV1Api(api), client.AppsV1Api(api), client.PolicyV1Api(api)
    labels = {"app": "evictable"}
    apps.create_namespaced_deployment(scratch_ns, _deployment("evictable", 2, labels))
    policy.create_namespaced_pod_disruption_budget(scratch_ns, client.V1PodDisruptionBudget(
        metadata=client.V1ObjectMeta(name="evictable"),
        spec=client.V1PodDisruptionBudgetSpec(min_available=1, selector=client.V1LabelSelector(match_labels=labels))))
    _poll("2 ready pods", lambda: (len(_ready_pods(core, scratch_ns, "app=evictable")) == 2, None))
    _poll("PDB status", lambda: ((st := policy.read_namespaced_pod_disruption_budget("evictable", scratch_ns).status).disruptions_allowed == 1, st))
    victim = _ready_pods(core, scratch_ns, "app=evictable")[0].metadata
    core.create_namespaced_pod_eviction(victim.name, scratch_ns, client.V1Eviction(metadata=client.V1ObjectMeta(name=victim.name, namespace=scratch_ns)))

    def replaced():
        pods = _ready_pods(core, scratch_ns, "app=evictable")
        return len(pods) == 2 and victim.uid not in {p.metadata.uid for p in pods}, [p.metadata.name for p in pods]
    _poll("the evicted pod to be replaced", replaced)


def test_deleted_deployment_pod_is_replaced_by_the_controllers(api, scratch_ns):
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    labels = {"app": "replaced"}
    apps.create_namespaced_deployment(scratch_ns, _deployment("replaced", 3, labels))
    first = _poll("3 ready pods", lambda: ((pods := _ready_pods(core, scratch_ns, "app=replaced")) and len(pods) == 3, pods))
    victim = first[0].metadata
    core.delete_namespaced_pod(victim.name, scratch_ns)

    def replaced():
        pods = core.list_namespaced_pod(scratch_ns, label_selector="app=replaced").items
        uids = {p.metadata.uid for p in pods}
        ready = [p for p in pods if _ready(p)]
        return victim.uid not in uids and len(ready) == 3, sorted((p.metadata.name, p.status.phase) for p in pods)
    pods = _poll("a replacement pod Running and Ready", replaced)
    assert victim.name not in [name for name, _phase in pods]
    # the Deployment's status follows the pods a little later (seen at 2/3 on a loaded machine)
    _poll("the Deployment to count 3 ready replicas",
          lambda: ((ready := apps.read_namespaced_deployment("replaced", scratch_ns).status.ready_replicas) == 3, ready))


def test_pdb_status_matches_ground_truth(api, lab_k8s):
    policy = client.PolicyV1Api(api)
    for want in _truth(lab_k8s)["pdbs"]:
        live = policy.read_namespaced_pod_disruption_budget(want["name"], want["namespace"])
        assert live.status.disruptions_allowed == want["disruptions_allowed"], want
        assert live.status.expected_pods == want["expected_pods"], want


# ---------------------------------------------------------------- seeded states

def test_seeded_pod_scenarios_are_live(api, lab_k8s):
    core = client.CoreV1Api(api)
    truth = _truth(lab_k8s)["pods"]
    assert {p["scenario"] for p in truth} >= {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError",
                                              "OOMKilled", "HighRestarts", "Evicted", "Unschedulable"}
    for want in truth:
        pod = core.read_namespaced_pod(want["name"], want["namespace"])
        assert pod.status.phase == want["phase"], want["name"]
        assert pod.status.reason == want["status_reason"], want["name"]
        scheduled = next(c for c in pod.status.conditions if c.type == "PodScheduled")
        if not want["scheduled"]:
            assert scheduled.status == "False" and scheduled.reason == "Unschedulable"
            assert scheduled.message.startswith("0/"), scheduled.message  # written by the real scheduler
            continue
        status = pod.status.container_statuses[0]
        assert status.name == want["container"]
        waiting = status.state.waiting.reason if status.state.waiting else None
        assert waiting == want["waiting_reason"], want["name"]
        assert (status.state.running is not None) == want["running"], want["name"]
        last = status.last_state.terminated
        assert (last.reason if last else None) == want["last_terminated_reason"], want["name"]
        assert (last.exit_code if last else None) == want["last_exit_code"], want["name"]
        assert status.restart_count >= want["min_restart_count"], want["name"]


def test_crashloop_restart_count_keeps_rising(api, lab_k8s):
    core = client.CoreV1Api(api)
    want = next(p for p in _truth(lab_k8s)["pods"] if p["scenario"] == "CrashLoopBackOff")

    def status():
        return core.read_namespaced_pod(want["name"], want["namespace"]).status.container_statuses[0]
    before = status()
    assert before.state.waiting.reason == "CrashLoopBackOff"
    assert "back-off" in before.state.waiting.message
    after = _poll("another restart", lambda: ((s := status()).restart_count > before.restart_count, s.restart_count), timeout=90, interval=3)
    assert after > before.restart_count
    assert status().last_state.terminated.finished_at >= before.last_state.terminated.finished_at


def test_nodes_match_ground_truth(api, lab_k8s):
    core = client.CoreV1Api(api)
    truth = _truth(lab_k8s)["nodes"]
    assert sum(n["ready"] == "True" for n in truth) >= 3
    assert {n["problem"] for n in truth} >= {"NotReady", "MemoryPressure", "Cordoned"}
    assert any(n["control_plane"] for n in truth)
    for want in truth:
        node = core.read_node(want["name"])
        conds = {c.type: c.status for c in node.status.conditions}
        assert conds == want["conditions"], want["name"]
        assert bool(node.spec.unschedulable) == want["unschedulable"]
        taints = sorted(f"{t.key}:{t.effect}" for t in node.spec.taints or [])
        assert taints == want["taints"], want["name"]


def test_warning_events_in_both_apis(api, lab_k8s):
    core = client.CoreV1Api(api)
    seeded = _truth(lab_k8s)["events"]
    assert {e["api"] for e in seeded} == {"core/v1", "events.k8s.io/v1"}
    warnings = {e.metadata.name: e for e in core.list_namespaced_event("lab-broken", field_selector="type=Warning").items}
    for want in seeded:
        got = warnings[want["name"]]
        assert got.reason == want["reason"]
        assert (got.last_timestamp is not None) == want["has_last_timestamp"], want["name"]
        assert got.count == want["count"], want["name"]
        assert (got.series.count if got.series else None) == want["series_count"], want["name"]
        # through kubectl: the Python client 37 cannot parse events.k8s.io/v1 events without eventTime
        assert _json(lab_k8s, "get", "events.v1.events.k8s.io", want["name"], "-n", "lab-broken")["type"] == "Warning"
    # kwok and the scheduler add their own (BackOff for the crash loop, FailedScheduling)
    reasons = {e.reason for e in warnings.values()}
    assert {"BackOff", "FailedScheduling"} <= reasons


def test_namespaces_quotas_and_policies_match_ground_truth(api, lab_k8s):
    core, net = client.CoreV1Api(api), client.NetworkingV1Api(api)
    truth = _truth(lab_k8s)
    with_policy = {n["name"] for n in truth["namespaces"] if n["network_policies"]}
    assert with_policy and with_policy != {n["name"] for n in truth["namespaces"]}
    for ns in truth["namespaces"]:
        live = sorted(p.metadata.name for p in net.list_namespaced_network_policy(ns["name"]).items)
        assert live == ns["network_policies"]
    near_full = [q for q in truth["resource_quotas"] if q["near_full"]]
    assert near_full
    for want in truth["resource_quotas"]:
        live = core.read_namespaced_resource_quota(want["name"], want["namespace"]).status
        assert live.hard == want["hard"] and live.used == want["used"]


def test_audit_findings_are_in_the_specs(api, lab_k8s):
    truth = _truth(lab_k8s)["containers"]
    assert any(c["privileged"] for c in truth)
    assert any(c["host_network"] and c["host_pid"] for c in truth)
    assert any(not c["requests"] and not c["limits"] for c in truth)
    assert any(not c["liveness_probe"] and not c["readiness_probe"] for c in truth)
    assert any(not c["run_as_non_root"] for c in truth) and any(c["run_as_non_root"] for c in truth)
    apps = client.AppsV1Api(api)
    legacy = apps.read_namespaced_deployment("legacy-api", "lab-audit").spec.template.spec.containers[0]
    assert legacy.resources.requests is None and legacy.liveness_probe is None
    assert not any(w["pdb"] for w in _truth(lab_k8s)["workloads"] if w["name"] == "legacy-api")


def test_overbroad_rbac_is_seeded(api, lab_k8s):
    rbac = client.RbacAuthorizationV1Api(api)
    for want in _truth(lab_k8s)["rbac"]:
        if want["kind"] == "ClusterRoleBinding":
            binding = rbac.read_cluster_role_binding(want["name"])
        else:
            binding = rbac.read_namespaced_role_binding(want["name"], want["namespace"])
        assert f"{binding.role_ref.kind}/{binding.role_ref.name}" == want["role"]
        subjects = sorted(f"{s.kind}:{s.namespace + '/' if s.namespace else ''}{s.name}" for s in binding.subjects)
        assert subjects == sorted(want["subjects"])
    wildcard = rbac.read_cluster_role("lab-platform-operator")
    assert any("*" in rule.verbs for rule in wildcard.rules)


def test_tls_secrets_applied_when_the_tls_lab_provides_them(api, lab_k8s, lab_tls):
    if not lab_tls.get("k8s_secrets_ground_truth"):
        pytest.fail("the tls component did not provide k8s_secrets_ground_truth")
    core = client.CoreV1Api(api)
    wanted = json.loads(Path(lab_tls["k8s_secrets_ground_truth"]).read_text())["secrets"]
    assert wanted
    for secret in wanted:
        live = core.read_namespaced_secret(secret["name"], secret["namespace"])
        assert live.type == secret["type"]


# ---------------------------------------------------------------- lifecycle

def test_up_is_idempotent_and_down_leaves_nothing_running(tmp_path, lab_k8s):
    """A second lab in its own state dir: up twice (the second is a no-op), then down."""
    from tests.lab.components import k8s

    ctx = LabContext(state_dir=tmp_path / "state")
    info = k8s.up(ctx, {})
    try:
        assert info["server"] != lab_k8s["server"]
        assert k8s.status(ctx)["running"]
        again = k8s.up(ctx, {})
        assert again["server"] == info["server"] and again["pids"] == info["pids"]
        assert (tmp_path / "state" / "k8s" / "kwok" / "clusters").is_dir()
        assert not (Path(os.environ.get("HOME", "/root")) / ".kwok" / "clusters" / k8s.CLUSTER).exists()
    finally:
        k8s.down(ctx)
    assert not k8s.status(ctx)["running"]
    for name, pid in info["pids"].items():
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", f"{name} ({pid}) still runs"
    # by owner, not by port: other labs on this machine may take the freed ports at once
    listeners = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    assert not [pid for pid in info["pids"].values() if f"pid={pid}," in listeners]


def test_kwokctl_fetches_nothing(tmp_path, lab_k8s):
    """kwokctl --dry-run lists every binary it would fetch: all are local files from the build cache."""
    from tests.lab.components import k8s

    bin_dir = Path(lab_k8s["bin_dir"])
    config_file = tmp_path / "kwokctl.yaml"
    config_file.write_text(k8s.kwokctl_config(bin_dir))
    proc = subprocess.run([bin_dir / "kwokctl", "--name", "dry", "-c", config_file, "create", "cluster", "--dry-run",
                           "--kubeconfig", tmp_path / "kubeconfig"],
                          env={**os.environ, "KWOK_WORKDIR": str(tmp_path / "kwok")}, capture_output=True, text=True, timeout=60, check=True)
    sources = [line.split()[2] for line in proc.stdout.splitlines() if line.startswith("# Download ")]
    assert len(sources) >= 5, proc.stdout
    for source in sources:
        assert Path(source).is_file() and Path(source).parent == bin_dir, source
    assert "http://" not in proc.stdout.replace("http://127.0.0.1", "")
    assert "https://" not in proc.stdout.replace("https://127.0.0.1", "").replace("https://kubernetes.default.svc", "")
    assert "--bind-address=127.0.0.1" in proc.stdout and "0.0.0.0" not in proc.stdout
