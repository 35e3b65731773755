"""sre.toolkit.k8s_health against the lab: every seeded problem found with the right severity and
evidence, nothing on the healthy workloads, least privilege, 403, API server down, slow server."""
from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.integration.ansible import run_module, run_playbook

REPO = Path(__file__).resolve().parents[2]
TARGET_DIR = Path(__file__).parent / "targets" / "k8s_health"
CLUSTERROLE = REPO / "docs" / "k8s-health-readonly-clusterrole.yml"
# Wide windows: the lab may have been up for hours, and recency is unit-tested separately.
WIDE = {"max_findings_per_check": 1000, "restart_window_minutes": 100000, "event_window_minutes": 100000}

SCENARIOS = {
    # scenario -> (finding id, severity)
    "CrashLoopBackOff": ("pod.crashloop", "critical"),
    "ImagePullBackOff": ("pod.image_pull", "critical"),
    "ErrImagePull": ("pod.image_pull", "critical"),
    "CreateContainerConfigError": ("pod.config_error", "critical"),
    "OOMKilled": ("pod.oomkilled", "warning"),
    "HighRestarts": ("pod.restarts", "critical"),
    "Evicted": ("pod.evicted", "warning"),
    "Unschedulable": ("pod.unschedulable", "warning"),
}
NODE_PROBLEMS = {"NotReady": ("node.not_ready", "critical"), "MemoryPressure": ("node.memory_pressure", "warning"),
                 "Cordoned": ("node.cordoned", "warning")}
RBAC_ISSUES = {"cluster-admin-binding": "rbac.cluster_admin", "wildcard": "rbac.wildcard", "secrets-read": "rbac.secret_read",
               "pods-exec": "rbac.exec", "broad-subject": "rbac.public_binding"}


@pytest.fixture(scope="module")
def lab(lab_k8s):
    truth = json.loads(Path(lab_k8s["ground_truth"]).read_text())
    return {"kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context"), "kubectl": lab_k8s["kubectl"],
            "server": lab_k8s["server"], "truth": truth}


def kubectl(lab, *args, stdin=None):
    cmd = [lab["kubectl"], "--kubeconfig", lab["kubeconfig"]] + list(args)
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, "%s: %s" % (" ".join(args), proc.stderr)
    return proc.stdout


def health(lab, **args):
    base = {"kubeconfig": lab["kubeconfig"], "context": lab["context"], "thresholds": dict(WIDE)}
    base.update(args)
    result = run_module("k8s_health", base)
    assert "Traceback" not in result["_stdout"] + result["_stderr"]
    return result


@pytest.fixture(scope="module")
def full(lab):
    result = health(lab)
    assert not result.get("failed"), result.get("msg")
    return result


def by_object(result):
    index = {}
    for item in result["findings"]:
        index.setdefault((item["kind"], item["namespace"], item["name"]), []).append(item)
    return index


def pod_findings(result, namespace, pod_name, owner):
    """Findings of a seeded pod; a Deployment's pod may have been replaced since up(), so fall back to its owner."""
    index = by_object(result)
    found = index.get(("Pod", namespace, pod_name))
    if found or not owner or not owner.startswith("Deployment/"):
        return found or []
    prefix = owner.split("/", 1)[1] + "-"
    return [f for (kind, ns, name), items in index.items() if kind == "Pod" and ns == namespace and name.startswith(prefix) for f in items]


def test_complete_and_fast_on_the_lab(full):
    assert full["summary"]["complete"] is True, full["summary"]["coverage_gaps"]
    statuses = {c["id"]: c["status"] for c in full["checks"]}
    assert statuses["apiserver.readyz"] == "ok" and statuses["apiserver.livez"] == "ok"
    assert statuses["controlplane.leader_leases"] == "ok"
    assert full["inventory"]["server_version"] == "v1.36.4"
    # paged reads: one request per page plus the probes/gets; pages never above what the data needs
    assert full["api_calls"]["pages"] >= 18 and full["api_calls"]["requests"] < 60


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_seeded_pod_problem_is_found_with_its_evidence(lab, full, scenario):
    seeded = [p for p in lab["truth"]["pods"] if p["scenario"] == scenario]
    assert seeded, "the lab seeds %s" % scenario
    fid, severity = SCENARIOS[scenario]
    for pod in seeded:
        found = [f for f in pod_findings(full, pod["namespace"], pod["name"], pod.get("owner")) if f["id"] == fid]
        assert found, "%s/%s (%s) not reported as %s" % (pod["namespace"], pod["name"], scenario, fid)
        item = found[0]
        assert item["severity"] == severity, item
        ev = item["evidence"]
        if pod.get("container") and "container" in ev:
            assert ev["container"] == pod["container"]
        if pod["last_terminated_reason"]:
            assert ev["last_reason"] == pod["last_terminated_reason"] and ev["last_exit_code"] == pod["last_exit_code"]
        if pod["waiting_reason"] and fid in ("pod.image_pull", "pod.config_error"):
            assert ev["state"] == pod["waiting_reason"]
        if pod["min_restart_count"]:
            assert ev["restarts"] >= pod["min_restart_count"]
        if pod["unschedulable_reason"]:
            assert ev["reason"] == pod["unschedulable_reason"] and "nodes are available" in ev["message"]
        if pod["status_reason"]:
            assert ev["reason"] == pod["status_reason"]


def test_config_error_names_the_missing_secret(lab, full):
    pod = [p for p in lab["truth"]["pods"] if p["scenario"] == "CreateContainerConfigError"][0]
    item = [f for f in pod_findings(full, pod["namespace"], pod["name"], pod["owner"]) if f["id"] == "pod.config_error"][0]
    assert "not found" in item["evidence"]["message"]


def test_every_node_problem_and_nothing_on_healthy_nodes(lab, full):
    index = by_object(full)
    for node in lab["truth"]["nodes"]:
        found = index.get(("Node", "", node["name"]), [])
        if node["problem"] is None:
            assert found == [], found
            continue
        fid, severity = NODE_PROBLEMS[node["problem"]]
        match = [f for f in found if f["id"] == fid]
        assert match and match[0]["severity"] == severity, (node, found)
        if fid != "node.cordoned":
            assert match[0]["evidence"]["since"] and match[0]["evidence"]["status"] in ("True", "False", "Unknown")


def test_workload_availability_and_pdb_findings(lab, full):
    index = by_object(full)
    for wl in lab["truth"]["workloads"]:
        found = {f["id"] for f in index.get((wl["kind"], wl["namespace"], wl["name"]), [])}
        if wl["ready_replicas"] < wl["replicas"] and wl["namespace"] == "lab-broken":
            assert "workload.unavailable" in found, wl
        if wl["pdb"] is None and wl["replicas"] >= 2:
            assert "audit.no_pdb" in found, wl
        if wl["pdb"] is not None:
            assert "audit.no_pdb" not in found, wl
    for pdb in lab["truth"]["pdbs"]:
        found = {f["id"] for f in index.get(("PodDisruptionBudget", pdb["namespace"], pdb["name"]), [])}
        assert ("pdb.blocks_disruption" in found) == (pdb["disruptions_allowed"] == 0), pdb


def test_every_audited_container_matches_the_ground_truth(lab, full):
    index = by_object(full)
    rules = [("requests", "audit.missing_requests"), ("limits", "audit.missing_memory_limit"),
             ("liveness_probe", "audit.missing_liveness_probe"), ("readiness_probe", "audit.missing_readiness_probe")]
    for row in lab["truth"]["containers"]:
        kind, name = row["workload"].split("/", 1)
        findings = index.get((kind, row["namespace"], name), [])

        def names(fid):
            return {c.split(" ")[0] for f in findings if f["id"] == fid for c in f["evidence"].get("containers", [])}

        for field, fid in rules:
            assert (row["container"] in names(fid)) == (not row[field]), (row, fid)
        assert (row["container"] in names("audit.privileged")) == row["privileged"], row
        root = names("audit.may_run_as_root") | names("audit.runs_as_root")
        assert (row["container"] in root) == (not row["run_as_non_root"]), row
        host = [f["evidence"]["host_namespaces"] for f in findings if f["id"] == "audit.host_namespace"]
        assert ("hostNetwork" in sum(host, [])) == row["host_network"] and ("hostPID" in sum(host, [])) == row["host_pid"], row


def test_quotas_rbac_and_network_policies(lab, full):
    index = by_object(full)
    for quota in lab["truth"]["resource_quotas"]:
        found = {f["evidence"]["resource"] for f in index.get(("ResourceQuota", quota["namespace"], quota["name"]), [])}
        assert found == set(quota["near_full"]), quota
    for grant in lab["truth"]["rbac"]:
        found = {f["id"] for f in index.get((grant["kind"], grant.get("namespace", ""), grant["name"]), [])}
        assert RBAC_ISSUES[grant["issue"]] in found, (grant, found)
        item = [f for f in index[(grant["kind"], grant.get("namespace", ""), grant["name"])] if f["id"] == RBAC_ISSUES[grant["issue"]]][0]
        assert item["evidence"]["subjects"] == sorted(grant["subjects"]) and item["evidence"]["role"] == grant["role"]
    for ns in lab["truth"]["namespaces"]:
        flagged = ("Namespace", "", ns["name"]) in index and any(
            f["id"] == "audit.no_network_policy" for f in index[("Namespace", "", ns["name"])])
        has_workloads = any(w["namespace"] == ns["name"] for w in lab["truth"]["workloads"])
        assert flagged == (has_workloads and not ns["network_policies"]), ns


def test_warning_events_with_either_time_field(lab, full):
    live = json.loads(kubectl(lab, "get", "events", "-A", "--field-selector", "type=Warning", "-o", "json"))["items"]
    present = {(e["metadata"]["namespace"], e["metadata"]["name"]) for e in live}
    seeded = [e for e in lab["truth"]["events"] if (e["namespace"], e["name"]) in present]
    assert seeded, "no seeded event is still stored (event TTL): cannot judge"
    assert any(not e["has_last_timestamp"] for e in seeded) or len(seeded) < len(lab["truth"]["events"])
    index = by_object(full)
    for event in seeded:
        kind, name = event["regarding"].split("/", 1)
        found = [f for f in index.get((kind, event["namespace"], name), []) if f["id"].startswith("event.")
                 and f["evidence"]["reason"] == event["reason"]]
        assert found, event
        expected = event["series_count"] or event["count"] or 1
        assert found[0]["evidence"]["count"] >= expected and found[0]["evidence"]["last_seen"], (event, found[0])


def test_events_of_both_apis_with_empty_last_timestamp(lab):
    """Events written here (both APIs, new-recorder shape without lastTimestamp/count) are grouped and timed."""
    ns = "kh-ev-%s" % os.urandom(3).hex()
    now = __import__("datetime").datetime.now(__import__("datetime").timezone.utc)
    micro = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    core = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "ghost.core", "namespace": ns},
            "involvedObject": {"kind": "Pod", "namespace": ns, "name": "ghost", "apiVersion": "v1"},
            "type": "Warning", "reason": "FailedMount", "message": "MountVolume.SetUp failed for volume \"data\"",
            "eventTime": micro, "reportingComponent": "kh-test", "reportingInstance": "kh-test", "action": "Mount",
            "source": {}}
    series = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "ghost.series", "namespace": ns},
              "regarding": {"kind": "Pod", "namespace": ns, "name": "ghost", "apiVersion": "v1"}, "type": "Warning",
              "reason": "Unhealthy", "note": "Readiness probe failed", "action": "Probe", "eventTime": micro,
              "reportingController": "kh-test", "reportingInstance": "kh-test",
              "series": {"count": 7, "lastObservedTime": micro}}
    kubectl(lab, "create", "namespace", ns)
    try:
        kubectl(lab, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [core, series]}))
        result = health(lab, namespaces=[ns], groups=["events"])
        found = {(f["id"], f["name"]): f for f in result["findings"]}
        assert set(found) == {("event.failed_mount", "ghost"), ("event.unhealthy", "ghost")}, found
        assert found[("event.unhealthy", "ghost")]["evidence"]["count"] == 7
        assert found[("event.failed_mount", "ghost")]["evidence"]["count"] == 1
        assert all(f["evidence"]["last_seen"] for f in found.values())
    finally:
        kubectl(lab, "delete", "namespace", ns, "--wait=false")


def test_nothing_on_the_healthy_workloads(lab, full):
    healthy_pdbs = {p["name"] for p in lab["truth"]["pdbs"] if p["namespace"] == "lab-healthy" and p["disruptions_allowed"] == 0}
    extra = [f for f in full["findings"] if f["namespace"] == "lab-healthy"
             and not (f["kind"] == "PodDisruptionBudget" and f["name"] in healthy_pdbs)]
    assert extra == []
    assert not [f for f in full["findings"] if f["kind"] == "Namespace" and f["name"] == "lab-healthy"]


def test_healthy_namespace_gate_passes_strictly(lab):
    # namespaced checks only: nodes and cluster-wide RBAC have their own seeded problems
    namespaced = ["pods.containers", "pods.scheduling", "pods.lifecycle", "workloads.rollouts", "workloads.jobs",
                  "workloads.disruption_budgets", "events.warnings", "audit.pod_specs", "audit.network_policies",
                  "audit.quotas", "audit.pdb_coverage"]
    result = health(lab, namespaces=["lab-healthy"], checks=namespaced, fail_on="info",
                    severity_overrides={"pdb.blocks_disruption": "off"})
    assert not result.get("failed"), result.get("msg")
    assert result["findings"] == [] and result["summary"]["gate"] == []
    assert [c["suppressed"] for c in result["checks"] if c["id"] == "workloads.disruption_budgets"] == [1]


def test_gate_fails_with_the_full_result(lab):
    result = health(lab, namespaces=["lab-broken"], groups=["pods"], fail_on="critical", min_score=99)
    assert result["failed"] and "gate failed" in result["msg"]
    assert len(result["summary"]["gate"]) == 2
    assert {f["namespace"] for f in result["findings"]} == {"lab-broken"}


@pytest.mark.parametrize("args,fragment", [
    ({"thresholds": {"restarts": 3}}, "thresholds: unknown key"),
    ({"groups": ["pods", "nope"]}, "groups"),
    ({"checks": ["pods.everything"]}, "checks: unknown check id"),
    ({"severity_overrides": {"pod.crashloop": "fatal"}}, "severity_overrides.pod.crashloop"),
    ({"min_score": 120}, "min_score"),
    ({"src": ["/nonexistent/manifests"]}, "src: /nonexistent/manifests does not exist"),
])
def test_bad_input_names_the_option(lab, args, fragment):
    result = health(lab, **args)
    assert result["failed"] and fragment in result["msg"], result["msg"]


def test_manifest_files_use_the_same_audit(tmp_path):
    seed = REPO / "tests" / "lab" / "k8s" / "seed"
    result = run_module("k8s_health", {"src": [str(seed / "40-audit.yaml"), str(seed / "60-rbac.yaml")], "fail_on": "critical"})
    assert result["failed"] and "gate failed" in result["msg"]
    found = {(f["id"], f["name"]) for f in result["findings"]}
    assert ("audit.privileged", "host-debugger") in found and ("rbac.cluster_admin", "lab-ci-deployer-admin") in found
    assert all(f["evidence"]["file"].endswith(".yaml") for f in result["findings"] if f["kind"] != "Namespace")
    assert result["api_calls"] == {}
    healthy = run_module("k8s_health", {"src": [str(seed / "20-healthy.yaml")], "fail_on": "warning",
                                        "severity_overrides": {"pdb.blocks_disruption": "info"}})
    assert not healthy.get("failed"), healthy.get("msg")


# ---- least privilege, 403, API server down, slow server ------------------------------------

@pytest.fixture()
def service_account(lab):
    """A ServiceAccount in a namespace of its own, bound to a (test-named copy of a) ClusterRole."""
    suffix = os.urandom(3).hex()
    ns, names = "kh-it-%s" % suffix, []

    def make(rules_filter=None):
        role = yaml.safe_load(CLUSTERROLE.read_text())
        role = copy.deepcopy(role)
        role["metadata"]["name"] = "kh-it-%s-%d" % (suffix, len(names))
        if rules_filter:
            role["rules"] = [r for r in (rules_filter(rule) for rule in role["rules"]) if r]
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": role["metadata"]["name"]},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]},
                   "subjects": [{"kind": "ServiceAccount", "name": "health", "namespace": ns}]}
        names.append(role["metadata"]["name"])
        kubectl(lab, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [role, binding]}))
        token = kubectl(lab, "create", "token", "health", "-n", ns, "--duration", "1h").strip()
        ca = yaml.safe_load(Path(lab["kubeconfig"]).read_text())["clusters"][0]["cluster"]["certificate-authority"]
        return {"host": lab["server"], "api_key": token, "ca_cert": ca}

    kubectl(lab, "create", "namespace", ns)
    kubectl(lab, "create", "serviceaccount", "health", "-n", ns)
    try:
        yield make
    finally:
        for name in names:
            kubectl(lab, "delete", "clusterrolebinding,clusterrole", name, "--ignore-not-found")
        kubectl(lab, "delete", "namespace", ns, "--wait=false")


def test_least_privilege_clusterrole_is_enough(lab, service_account):
    auth = service_account()
    result = run_module("k8s_health", dict(auth, thresholds=WIDE))
    assert not result.get("failed"), result.get("msg")
    assert result["summary"]["complete"] is True, result["summary"]["coverage_gaps"]
    assert auth["api_key"] not in result["_stdout"] + result["_stderr"]
    assert any(f["id"] == "pod.crashloop" for f in result["findings"])


def test_forbidden_lists_are_coverage_gaps_never_healthy(lab, service_account):
    def drop_rbac_and_nodes(rule):
        if "rbac.authorization.k8s.io" in rule.get("apiGroups", []):
            return None
        return dict(rule, resources=[r for r in rule["resources"] if r != "nodes"]) if "resources" in rule else rule
    auth = service_account(drop_rbac_and_nodes)
    result = run_module("k8s_health", dict(auth, thresholds=WIDE))
    assert not result.get("failed"), result.get("msg")
    statuses = {c["id"]: c for c in result["checks"]}
    for cid in ("audit.rbac", "nodes.conditions", "nodes.scheduling", "versions.kubelet"):
        assert statuses[cid]["status"] == "forbidden", statuses[cid]
        assert "403" in statuses[cid]["reason"] or "forbidden" in statuses[cid]["reason"].lower()
    assert result["summary"]["complete"] is False and "audit.rbac" in result["summary"]["coverage_gaps"]
    assert any("not covered" in w and "audit.rbac" in w for w in result.get("warnings", [])), result.get("warnings")
    assert not [f for f in result["findings"] if f["check"] in ("audit.rbac", "nodes.conditions")]
    assert statuses["pods.containers"]["status"] == "findings"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_api_server_down_is_a_clear_error():
    result = run_module("k8s_health", {"host": "https://127.0.0.1:%d" % free_port(), "api_key": "x", "validate_certs": False,
                                       "api_retries": 0, "api_timeout": 3})
    assert result["failed"] and result["error_kind"] == "connection", result
    assert result["msg"].startswith("cannot reach the Kubernetes API server")
    assert "Traceback" not in result["_stdout"] + result["_stderr"]


class StallingApi(BaseHTTPRequestHandler):
    """Answers /version, /livez, /readyz at once and stalls on everything else (a wedged server)."""
    release = threading.Event()

    def do_GET(self):  # noqa: N802 (http.server API)
        path = self.path.split("?")[0]
        if path in ("/version", "/livez", "/readyz"):
            body = json.dumps({"gitVersion": "v1.36.4"}) if path == "/version" else "[+]ping ok\nok"
            self.send_response(200)
            self.send_header("Content-Type", "application/json" if path == "/version" else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())
            return
        self.release.wait(30)

    def log_message(self, *args):
        pass


@pytest.fixture()
def stalling_server():
    # a fresh Event per server: a released one would make the next server answer at once
    handler = type("StallingApiOnce", (StallingApi,), {"release": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        handler.release.set()
        server.shutdown()
        server.server_close()


def test_slow_server_gives_a_partial_result_that_says_what_is_missing(stalling_server):
    result = run_module("k8s_health", {"host": stalling_server, "api_key": "x", "api_retries": 0, "api_timeout": 1,
                                       "api_deadline": 8})
    assert not result.get("failed"), result.get("msg")
    statuses = {c["id"]: c for c in result["checks"]}
    assert statuses["apiserver.version"]["status"] == "ok" and statuses["apiserver.readyz"]["status"] == "ok"
    for cid in ("nodes.conditions", "pods.containers", "audit.rbac"):
        assert statuses[cid]["status"] == "unavailable", statuses[cid]
        assert any(word in statuses[cid]["reason"] for word in ("timed out", "timeout", "deadline")), statuses[cid]["reason"]
    assert result["summary"]["complete"] is False and result["findings"] == []


def test_stalled_version_is_a_timeout_error(stalling_server):
    # a server that stalls on the first call cannot be judged at all: a clear timeout error
    result = run_module("k8s_health", {"host": stalling_server + "/stall", "api_key": "x", "api_retries": 0, "api_timeout": 1})
    assert result["failed"] and result["error_kind"] == "timeout", result
    assert "cannot reach the Kubernetes API server" in result["msg"]


def test_integration_target_playbook(lab, tmp_path):
    playbook = tmp_path / "target.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False,
                                     "tasks": [{"ansible.builtin.include_role": {"name": str(TARGET_DIR)}}]}]))
    result = run_playbook(playbook, extra_vars={"kh_kubeconfig": lab["kubeconfig"], "kh_context": lab["context"]})
    assert result["rc"] == 0, result["stdout"][-4000:] + result["stderr"][-2000:]
    assert "failed=0" in result["stdout"]


def test_role_runs_one_cluster_per_inventory_host(lab, tmp_path):
    """sre.toolkit.health with one inventory host per cluster: each host has its own gate and report."""
    namespaced = ["pods.containers", "pods.scheduling", "pods.lifecycle", "workloads.rollouts", "workloads.disruption_budgets"]
    inventory = tmp_path / "clusters.yml"
    common = {"ansible_connection": "local", "ansible_python_interpreter": __import__("sys").executable,
              "rh_kubeconfig": lab["kubeconfig"], "rh_context": lab["context"], "rh_checks": namespaced,
              "rh_report_dir": str(tmp_path / "reports")}
    inventory.write_text(yaml.safe_dump({"clusters": {"hosts": {
        "shop-healthy": dict(common, rh_namespaces=["lab-healthy"], rh_fail_on="info"),
        "shop-broken": dict(common, rh_namespaces=["lab-broken"], rh_fail_on="critical"),
    }}}))
    playbook = tmp_path / "role.yml"
    playbook.write_text(json.dumps([{"hosts": "clusters", "gather_facts": False,
                                     "tasks": [{"ansible.builtin.include_tasks": str(REPO / "tests/integration/targets/role_health/tasks/main.yml")}]}]))
    result = run_playbook(playbook, inventory=inventory)
    out = result["stdout"]
    assert result["rc"] != 0, out[-3000:]
    assert "Traceback" not in out + result["stderr"]
    recap = {line.split(":")[0].strip(): line for line in out.splitlines() if line.startswith(("shop-healthy", "shop-broken")) and "ok=" in line}
    assert "failed=0" in recap["shop-healthy"] and "failed=1" in recap["shop-broken"], recap
    assert "critical finding(s) at or above fail_on=critical" in out
    reports = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert reports == ["shop-broken.json", "shop-healthy.json"]
    broken = json.loads((tmp_path / "reports" / "shop-broken.json").read_text())
    assert broken["summary"]["counts"]["critical"] > 0 and broken["summary"]["gate"]


# ---- cluster objects: admission webhooks, Terminating namespaces, CSRs, PVCs, HPAs, Services ----------

OBJECT_CHECKS = ["controlplane.admission_webhooks", "controlplane.namespaces", "controlplane.certificate_requests",
                 "workloads.volume_claims", "workloads.autoscalers", "workloads.services"]
# pending/terminating thresholds 0: the seeded objects may be seconds old; whether a threshold holds is unit-tested
OBJECT_THRESHOLDS = dict(WIDE, pending_minutes=0, terminating_minutes=0)
# lab-chaos is disturbed by the pod_killer tests (its Services may briefly lose every ready endpoint)
STABLE_LAB = ("lab-healthy", "lab-broken", "lab-audit", "lab-objects")


@pytest.fixture(scope="module")
def objects_truth(lab):
    truth = lab["truth"].get("cluster_objects")
    assert truth, "the lab predates the cluster-object seed: python tests/lab/lab.py down --only k8s && up"
    return truth


@pytest.fixture(scope="module")
def objects_result(lab, objects_truth):
    result = health(lab, checks=OBJECT_CHECKS + ["events.warnings"], thresholds=OBJECT_THRESHOLDS)
    assert not result.get("failed"), result.get("msg")
    return result


def of_check(result, check_id):
    return [f for f in result["findings"] if f["check"] == check_id]


def test_cluster_object_checks_all_ran(objects_result):
    statuses = {c["id"]: c for c in objects_result["checks"]}
    for cid in OBJECT_CHECKS:
        assert statuses[cid]["status"] == "findings" and statuses[cid]["objects"] > 0, statuses[cid]
    assert objects_result["summary"]["complete"] is True


def test_admission_webhooks_exactly_the_designed_ones(objects_result, objects_truth):
    found = {(f["kind"], f["name"], f["evidence"]["webhook"]): f for f in of_check(objects_result, "controlplane.admission_webhooks")}
    designed = {(w["kind"], w["name"], w["webhook"]): w for w in objects_truth["webhooks"] if w["finding"]}
    assert set(found) == set(designed), sorted(found)
    for key, want in designed.items():
        item = found[key]
        assert (item["id"], item["severity"]) == (want["finding"], want["severity"]), item
        assert item["evidence"]["failure_policy"] == want["failure_policy"] and item["evidence"]["service"] == want["service"]
        assert item["evidence"]["rules"] and item["fix"]
    reason = [c for c in objects_result["checks"] if c["id"] == "controlplane.admission_webhooks"][0]["reason"]
    for url_hook in (w for w in objects_truth["webhooks"] if w.get("url")):
        assert "%s/%s" % (url_hook["name"], url_hook["webhook"]) in reason and "not judged by endpoints" in reason


def test_stuck_namespaces_with_their_cause(objects_result, objects_truth):
    found = {f["name"]: f for f in of_check(objects_result, "controlplane.namespaces") if f["name"].startswith("lab-")}
    assert set(found) == {n["name"] for n in objects_truth["namespaces"]}, sorted(found)
    for want in objects_truth["namespaces"]:
        item = found[want["name"]]
        assert item["id"] == "namespace.stuck_terminating" and item["evidence"]["cause"] == want["cause"], item
        assert want["finalizer"] in item["message"] and item["evidence"]["since"]
    # the healthy lab namespaces are Active
    assert not [f for f in of_check(objects_result, "controlplane.namespaces") if f["name"] in STABLE_LAB]


def test_certificate_signing_requests(objects_result, objects_truth):
    found = {f["name"]: f for f in of_check(objects_result, "controlplane.certificate_requests")}
    designed = {c["name"]: c for c in objects_truth["csrs"] if c["finding"]}
    assert set(found) == set(designed), sorted(found)
    for name, want in designed.items():
        item = found[name]
        assert (item["id"], item["severity"], item["evidence"]["signer"]) == (want["finding"], want["severity"], want["signer"]), item
    serving = found["lab-kubelet-serving-pending"]
    if serving["evidence"]["requestor"].startswith("system:node:"):
        assert serving["evidence"]["node"] == objects_truth["node"]


def test_pending_claims_with_their_reason_and_event(objects_result, objects_truth):
    found = {(f["namespace"], f["name"]): f for f in of_check(objects_result, "workloads.volume_claims") if f["namespace"] in STABLE_LAB}
    designed = {(p["namespace"], p["name"]): p for p in objects_truth["pvcs"] if p["finding"]}
    assert set(found) == set(designed), sorted(found)
    for key, want in designed.items():
        item = found[key]
        assert item["id"] == want["finding"] and want["reason"] in item["evidence"]["reason"], item
        if want["event_reason"]:
            assert item["evidence"]["last_event"]["reason"] == want["event_reason"], item


def test_autoscalers(objects_result, objects_truth):
    found = {}
    for f in of_check(objects_result, "workloads.autoscalers"):
        found.setdefault((f["namespace"], f["name"]), []).append(f["id"])
    for want in objects_truth["hpas"]:
        assert sorted(found.pop((want["namespace"], want["name"]), [])) == sorted(want["findings"]), want
    assert not [k for k in found if k[0] in STABLE_LAB], found


def test_services_without_ready_endpoints(objects_result, objects_truth):
    found = {(f["namespace"], f["name"]): f["id"] for f in of_check(objects_result, "workloads.services") if f["namespace"] in STABLE_LAB}
    designed = {(s["namespace"], s["name"]): s["finding"] for s in objects_truth["services"] if s["finding"]}
    assert found == designed


def test_cluster_object_reads_that_are_forbidden_are_coverage_gaps(lab, service_account):
    # cluster-scoped reads only: the lab binds ClusterRole view to system:authenticated (an audit finding),
    # which grants the namespaced ones (services, endpointslices, claims, HPAs) to every identity
    dropped = {"admissionregistration.k8s.io", "certificates.k8s.io", "storage.k8s.io"}

    def drop(rule):
        return None if set(rule.get("apiGroups", [])) & dropped else rule
    auth = service_account(drop)
    result = run_module("k8s_health", dict(auth, checks=OBJECT_CHECKS, thresholds=OBJECT_THRESHOLDS))
    assert not result.get("failed"), result.get("msg")
    statuses = {c["id"]: c for c in result["checks"]}
    gaps = ["controlplane.admission_webhooks", "controlplane.certificate_requests", "workloads.volume_claims"]
    for cid in gaps:
        reason = statuses[cid]["reason"]
        assert statuses[cid]["status"] == "forbidden" and ("403" in reason or "forbidden" in reason.lower()), statuses[cid]
    for cid in ("controlplane.namespaces", "workloads.autoscalers", "workloads.services"):
        assert statuses[cid]["status"] == "findings", statuses[cid]
    assert not [f for f in result["findings"] if f["check"] in ("controlplane.admission_webhooks", "controlplane.certificate_requests")]
    assert sorted(result["summary"]["coverage_gaps"]) == gaps
    assert any("not covered" in w and "controlplane.certificate_requests" in w for w in result.get("warnings", []))


# ---- issue #20 part 2: PDB budgets, scope from the kind, exec by get, malformed src, numbers ------

FIXTURES = REPO / "tests" / "fixtures" / "manifests"


def keyed(result, check):
    return {(f["id"], f["kind"], f["name"]) for f in result["findings"] if f["check"] == check}


def src_audit(*paths, **args):
    result = run_module("k8s_health", dict({"src": [str(p) for p in paths]}, **args))
    assert "Traceback" not in result["_stdout"] + result["_stderr"]
    return result


def wait_for_pdbs(lab, ns, settled, timeout=180):
    """Wait until the disruption controller has observed every PDB of `ns` and `settled(pdbs)` holds."""
    import time
    deadline, pdbs = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        items = json.loads(kubectl(lab, "get", "poddisruptionbudgets", "-n", ns, "-o", "json"))["items"]
        pdbs = {p["metadata"]["name"]: p.get("status", {}) for p in items}
        if all(s.get("observedGeneration") for s in pdbs.values()) and settled(pdbs):
            return pdbs
        time.sleep(1)
    raise AssertionError("PDBs in %s did not settle: %s" % (ns, pdbs))


def test_pdbs_that_allow_no_disruption_live_and_from_the_same_file(lab):
    """budgets.yaml applied to a namespace: the same PDBs are found live (spec or status) and from the file."""
    ns = "kh-pdb-%s" % os.urandom(3).hex()
    path = FIXTURES / "pdb" / "budgets.yaml"
    expected = {"max-zero-selects-nothing", "max-zero-percent", "min-hundred-percent", "min-one-of-one", "min-half-of-one"}
    kubectl(lab, "create", "namespace", ns)
    try:
        kubectl(lab, "apply", "-n", ns, "-f", str(path))
        statuses = wait_for_pdbs(lab, ns, lambda p: p.get("min-half-of-two", {}).get("disruptionsAllowed") == 1
                                 and p.get("min-one-of-one", {}).get("expectedPods") == 1
                                 and p.get("min-half-of-one", {}).get("expectedPods") == 1)
        assert statuses["max-zero-selects-nothing"]["expectedPods"] == 0  # nothing selected: status alone says nothing
        live = health(lab, namespaces=[ns], checks=["workloads.disruption_budgets"])
        assert not live.get("failed"), live.get("msg")
        found = {f["name"]: f for f in live["findings"] if f["id"] == "pdb.blocks_disruption"}
        assert set(found) == expected, sorted(found)
        assert found["max-zero-selects-nothing"]["evidence"]["basis"] == "spec"
        assert found["min-one-of-one"]["evidence"]["basis"] == "status"
        files = src_audit(path)
        assert files["errors"] == [] and {f["name"] for f in files["findings"] if f["id"] == "pdb.blocks_disruption"} == expected
    finally:
        kubectl(lab, "delete", "namespace", ns, "--wait=false")


def test_cluster_role_with_a_stray_namespace_is_judged_live_and_from_the_file(lab):
    path = FIXTURES / "rbac" / "stray-namespace.yaml"
    kubectl(lab, "apply", "-f", str(path))
    try:
        stored = json.loads(kubectl(lab, "get", "clusterrole", "kh-fixture-stray-namespace-reader", "-o", "json"))
        assert "namespace" not in stored["metadata"]  # the API server dropped it
        expected = {("rbac.secret_read", "ClusterRoleBinding", "kh-fixture-stray-namespace-reader"),
                    ("rbac.wildcard", "ClusterRoleBinding", "kh-fixture-stray-namespace-reader")}
        live = health(lab, groups=["audit"], checks=["audit.rbac"])
        assert {k for k in keyed(live, "audit.rbac") if k[2] == "kh-fixture-stray-namespace-reader"} == expected
        files = src_audit(path)
        assert keyed(files, "audit.rbac") == expected
        assert {f["namespace"] for f in files["findings"]} == {""}
    finally:
        kubectl(lab, "delete", "-f", str(path), "--ignore-not-found")


def test_get_on_pods_exec_is_judged_by_the_version(lab):
    """The lab runs 1.36 (exec needs create): nothing live; from the file, by target_version."""
    path = FIXTURES / "rbac" / "exec-get.yaml"
    name = "kh-fixture-exec-by-get"
    kubectl(lab, "apply", "-f", str(path))
    try:
        live = health(lab, groups=["audit"], checks=["audit.rbac"])
        assert live["inventory"]["server_version"].startswith("v1.36")
        assert not [k for k in keyed(live, "audit.rbac") if k[2] == name]
        old = src_audit(path, target_version="1.34")
        assert keyed(old, "audit.rbac") == {("rbac.exec", "ClusterRoleBinding", name)}
        item = [f for f in old["findings"] if f["id"] == "rbac.exec"][0]
        assert item["evidence"]["exec_by_get"] is True and item["evidence"]["judged_for_version"] == "1.34"
        assert keyed(src_audit(path, target_version="v1.35.0"), "audit.rbac") == set()
        assert keyed(src_audit(path), "audit.rbac") == {("rbac.exec", "ClusterRoleBinding", name)}
    finally:
        kubectl(lab, "delete", "-f", str(path), "--ignore-not-found")


def test_malformed_manifests_give_error_entries_and_the_rest_is_audited():
    result = src_audit(FIXTURES / "malformed")
    assert not result.get("failed"), result.get("msg")
    assert len(result["errors"]) == result["summary"]["errors"] == 14 and result["summary"]["complete"] is False
    assert all(e["file"].endswith(".yaml") and e["message"] and e["fix"] for e in result["errors"])
    assert {(e["file"].rsplit("/", 1)[1], e["document"]) for e in result["errors"] if "syntax" in e["file"]} == {("syntax-error.yaml", 2)}
    found = {(f["id"], f["name"]) for f in result["findings"]}
    assert {("audit.privileged", "good-after-template"), ("rbac.cluster_admin", "after-the-error"),
            ("rbac.cluster_admin", "good-at-the-end")} <= found
    assert any("could not be audited" in w for w in result.get("warnings", []))
    gated = src_audit(FIXTURES / "malformed", fail_on="critical")
    assert gated["failed"] and "14 manifest document(s) or item(s) could not be audited" in gated["msg"]


@pytest.mark.parametrize("args,fragment", [
    ({"api_timeout": -5}, "api_timeout: must be more than 0 seconds, got -5"),
    ({"api_retries": -1, "api_deadline": 0}, "api_retries: must be at least 0, got -1; api_deadline: must be more than 0 seconds"),
    ({"min_score": -3}, "min_score: must be at least 0 and at most 100, got -3"),
    ({"src": [str(FIXTURES / "rbac")], "target_version": "latest"}, "target_version: 'latest' is not a Kubernetes version"),
])
def test_numbers_and_versions_are_checked_before_anything_is_read(lab, args, fragment):
    result = health(lab, **args)
    assert result["failed"] and result["error_kind"] == "invalid" and fragment in result["msg"], result["msg"]


# ---- issue #14: the one findings contract, the one gate, a grade that cannot contradict the verdict --

def assert_findings_contract(result):
    """Every finding validates against docs/findings.schema.json and has a catalogued id; counts and top-level fields agree."""
    import jsonschema
    from ansible_collections.sre.toolkit.plugins.module_utils._catalogue import catalogue

    schema = json.loads((REPO / "docs" / "findings.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = ["%s: %s" % (list(e.absolute_path), e.message) for e in validator.iter_errors(result)]
    assert errors == [], errors[:10]
    known = catalogue()
    assert sorted({f["id"] for f in result["findings"]} - set(known)) == []
    for item in result["findings"]:
        about = item["subject"]
        assert (about["kind"], about["namespace"], about["name"]) == (item["kind"], item["namespace"], item["name"]), item
        assert item["severity"] in known[item["id"]]["severities"], item
    assert set(result["summary"]["counts"]) == {"critical", "warning", "info"}


def test_live_scan_findings_follow_the_contract(lab, full):
    assert full["findings"]
    assert_findings_contract(full)
    locators = {(f["kind"], f["namespace"], f["name"]): f["subject"]["locator"] for f in full["findings"]}
    for (kind, namespace, name), locator in locators.items():
        assert locator == ("%s %s/%s" % (kind, namespace, name) if namespace else "%s %s" % (kind, name) if name else kind), locator
    assert any(loc.startswith("Pod lab-broken/") for loc in locators.values())
    assert any(loc.startswith("Node ") for loc in locators.values())


def test_src_audit_findings_follow_the_contract_and_name_the_file():
    seed = REPO / "tests" / "lab" / "k8s" / "seed"
    result = src_audit(seed / "40-audit.yaml", seed / "60-rbac.yaml", FIXTURES)
    assert result["findings"] and result["errors"]
    assert_findings_contract(result)
    with_file = [f for f in result["findings"] if "file" in f["evidence"]]
    assert with_file
    for item in with_file:
        assert item["subject"]["locator"].endswith(" (%s #%d)" % (item["evidence"]["file"], item["evidence"]["document"])), item
    debugger = [f for f in with_file if f["id"] == "audit.privileged" and f["name"] == "host-debugger"]
    assert debugger and "40-audit.yaml #" in debugger[0]["subject"]["locator"]


@pytest.mark.parametrize("fail_on,fails", [("never", False), ("none", False), ("critical", True), ("warning", True)])
def test_one_gate_vocabulary(lab, fail_on, fails):
    result = health(lab, namespaces=["lab-broken"], groups=["pods"], fail_on=fail_on)
    counts = result["summary"]["counts"]
    assert counts["critical"] > 0 and counts["warning"] > 0
    assert bool(result.get("failed")) is fails, result.get("msg")
    gate = result["summary"]["gate"]
    if not fails:
        assert gate == []
        return
    expected = ["%d critical finding(s) at or above fail_on=%s" % (counts["critical"], fail_on)]
    if fail_on == "warning":
        expected.append("%d warning finding(s) at or above fail_on=warning" % counts["warning"])
    assert gate == expected and "gate failed" in result["msg"]


def test_min_score_is_k8s_health_s_own_gate_condition_even_with_never(lab):
    result = health(lab, namespaces=["lab-broken"], groups=["pods"], fail_on="never", min_score=99.9)
    assert result["failed"] and result["summary"]["gate"] == ["score %s is below min_score 99.9" % result["summary"]["score"]]


def test_the_grade_cannot_contradict_the_verdict(lab, full):
    summary = full["summary"]
    assert summary["counts"]["critical"] > 0
    assert summary["grade"] in ("D", "E", "F")
    measured = next(letter for floor, letter in ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (50, "E"), (0, "F"))
                    if summary["score"] >= floor)
    assert summary["grade_capped_by"] == ("critical" if measured in "ABC" else None)


# ---- Polaris and kube-score counterparts (issue #20 part 2, coverage) ----------------------

def test_peer_counterparts_from_src_are_exactly_the_designed_findings():
    """A real ansible-playbook run over tests/fixtures/manifests/peers gives exactly expected.txt."""
    peers = REPO / "tests" / "fixtures" / "manifests" / "peers"
    designed = {tuple(line.split()) for line in (peers / "expected.txt").read_text().splitlines() if line.strip() and not line.startswith("#")}
    result = src_audit(peers, fail_on="critical")
    assert result["failed"] and result["errors"] == []
    found = {(f["severity"], f["id"], f["kind"], "%s/%s" % (f["namespace"], f["name"])) for f in result["findings"]}
    assert found == designed
    assert all(f["evidence"]["file"].startswith(str(peers)) for f in result["findings"])
    checks = {c["id"]: c["status"] for c in result["checks"]}
    assert checks["audit.references"] == "findings" and checks["audit.pod_specs"] == "findings"
