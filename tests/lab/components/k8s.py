"""Lab component: a real Kubernetes 1.36 control plane started by kwokctl (binary runtime) on
127.0.0.1, with kwok as the kubelet, seeded with the objects the modules must find.

See tests/lab/k8s/README.md for what `up` returns and the ground-truth schema.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.lab.common import REPO_ROOT, LabContext, LabError, _start_ticks, run

NAME = "k8s"
CLUSTER = "sre-lab"
K8S_VERSION = "1.36.4"
LAB_DIR = REPO_ROOT / "tests" / "lab" / "k8s"
BUILD_SCRIPT = REPO_ROOT / "tests" / "lab" / "build-k8s.sh"
SCENARIO_LABEL = "lab.sre-toolkit.io/scenario"
NODE_STATE_LABEL = "lab.sre-toolkit.io/node-state"
# kwok plays the nodes without this label; a real kubelet's node carries it (components/realnode.py).
REAL_NODE_LABEL = "lab.sre-toolkit.io/real-node"
KWOK_NODE_SELECTOR = f"!{REAL_NODE_LABEL}"
# bumped when the cluster's configuration changes, so a running lab is re-created (up.json "config")
CONFIG_VERSION = 4
SETTLE_TIMEOUT = 600.0  # generous: CI machines with 2 cores get very busy
# No HPA controller (the lab has no metrics API: it would mark every HPA ScalingActive=False, so the
# cluster-object seed writes HPA status itself) and no CSR cleaner (it deletes approved-but-unissued CSRs
# after an hour and pending ones after a day; the lab may live longer).
KCM_CONTROLLERS = "*,-horizontal-pod-autoscaler-controller,-certificatesigningrequest-cleaner-controller"
LEADER_ELECTION = [{"key": "leader-elect-lease-duration", "value": "60s"}, {"key": "leader-elect-renew-deadline", "value": "45s"},
                   {"key": "leader-elect-retry-period", "value": "5s"}]

# What each scenario must look like once kwok (or the scheduler) has played it; up() waits for
# the live pods to match and writes these expectations into the ground truth.
SCENARIOS = {
    "CrashLoopBackOff": {"phase": "Running", "status_reason": None, "waiting_reason": "CrashLoopBackOff", "running": False,
                         "last_terminated_reason": "Error", "last_exit_code": 1, "min_restart_count": 1, "scheduled": True},
    "ImagePullBackOff": {"phase": "Pending", "status_reason": None, "waiting_reason": "ImagePullBackOff", "running": False,
                         "last_terminated_reason": None, "last_exit_code": None, "min_restart_count": 0, "scheduled": True},
    "ErrImagePull": {"phase": "Pending", "status_reason": None, "waiting_reason": "ErrImagePull", "running": False,
                     "last_terminated_reason": None, "last_exit_code": None, "min_restart_count": 0, "scheduled": True},
    "CreateContainerConfigError": {"phase": "Pending", "status_reason": None, "waiting_reason": "CreateContainerConfigError", "running": False,
                                   "last_terminated_reason": None, "last_exit_code": None, "min_restart_count": 0, "scheduled": True},
    "OOMKilled": {"phase": "Running", "status_reason": None, "waiting_reason": None, "running": True,
                  "last_terminated_reason": "OOMKilled", "last_exit_code": 137, "min_restart_count": 3, "scheduled": True},
    "HighRestarts": {"phase": "Running", "status_reason": None, "waiting_reason": None, "running": True,
                     "last_terminated_reason": "Error", "last_exit_code": 1, "min_restart_count": 212, "scheduled": True},
    "Evicted": {"phase": "Failed", "status_reason": "Evicted", "waiting_reason": None, "running": False,
                "last_terminated_reason": None, "last_exit_code": None, "min_restart_count": 0, "scheduled": True},
    "Unschedulable": {"phase": "Pending", "status_reason": None, "waiting_reason": None, "running": False,
                      "last_terminated_reason": None, "last_exit_code": None, "min_restart_count": 0, "scheduled": False},
}

# node name -> (expected Ready status, extra condition expected True, problem)
NODES = {
    "lab-control-plane-0": ("True", None, None),
    "lab-worker-0": ("True", None, None),
    "lab-worker-1": ("True", None, None),
    "lab-worker-2": ("True", None, None),
    "lab-worker-cordoned": ("True", None, "Cordoned"),
    "lab-worker-notready": ("False", None, "NotReady"),
    "lab-worker-mempressure": ("True", "MemoryPressure", "MemoryPressure"),
}
# taints the node lifecycle controller must have added before workloads are created
NODE_TAINTS = {
    "lab-worker-cordoned": {"node.kubernetes.io/unschedulable:NoSchedule"},
    # NoSchedule comes at once; NoExecute with the next node-health pass (every 25 s)
    "lab-worker-notready": {"node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute"},
    "lab-worker-mempressure": {"node.kubernetes.io/memory-pressure:NoSchedule"},
}

# (namespace, name) -> (expected disruptionsAllowed, expected pods, workload)
PDBS = {
    ("lab-healthy", "web"): (1, 3, "Deployment/web"),
    ("lab-healthy", "db"): (0, 3, "StatefulSet/db"),
    ("lab-chaos", "checkout"): (1, 4, "Deployment/checkout"),
    ("lab-chaos", "cart"): (0, 3, "Deployment/cart"),
    ("lab-chaos", "recommendations"): (3, 6, "Deployment/recommendations"),
    ("lab-chaos", "queue"): (1, 3, "StatefulSet/queue"),
}

RBAC = [
    {"kind": "ClusterRoleBinding", "name": "lab-authenticated-view", "issue": "broad-subject", "role": "ClusterRole/view",
     "subjects": ["Group:system:authenticated"]},
    {"kind": "ClusterRoleBinding", "name": "lab-ci-deployer-admin", "issue": "cluster-admin-binding", "role": "ClusterRole/cluster-admin",
     "subjects": ["ServiceAccount:lab-audit/ci-deployer", "User:jane@example.com"]},
    {"kind": "ClusterRoleBinding", "name": "lab-legacy-api-secrets", "issue": "secrets-read", "role": "ClusterRole/lab-secret-reader",
     "subjects": ["ServiceAccount:lab-audit/legacy-api"]},
    {"kind": "ClusterRoleBinding", "name": "lab-platform-operator", "issue": "wildcard", "role": "ClusterRole/lab-platform-operator",
     "subjects": ["Group:platform-operators"]},
    {"kind": "RoleBinding", "namespace": "lab-audit", "name": "lab-developers-debug", "issue": "pods-exec", "role": "ClusterRole/lab-pod-debugger",
     "subjects": ["Group:developers"]},
]

PURPOSE = {
    "lab-healthy": "healthy workloads, PDBs, NetworkPolicies, a ResourceQuota with room",
    "lab-broken": "failing pods and warning events",
    "lab-audit": "configuration-audit findings and a ResourceQuota near full",
    "lab-chaos": "pod_killer targets with and without PDBs",
    "lab-objects": "cluster objects: dead webhook backends, Pending claims, HPAs, Services without endpoints (cluster_objects.py)",
}


# ---------------------------------------------------------------- paths and small helpers

def _dir(ctx: LabContext) -> Path:
    return ctx.component_dir(NAME)


def _record_file(ctx: LabContext) -> Path:
    return _dir(ctx) / "up.json"


def _read_record(ctx: LabContext) -> dict | None:
    path = _record_file(ctx)
    return json.loads(path.read_text()) if path.exists() else None


def _kwok_env(ctx: LabContext) -> dict:
    # kwokctl keeps clusters under KWOK_WORKDIR (default ~/.kwok): one per state dir.
    return {**os.environ, "KWOK_WORKDIR": str(_dir(ctx) / "kwok")}


def _kwokctl(ctx: LabContext, bin_dir: Path, *args, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    argv = [bin_dir / "kwokctl", "--name", CLUSTER, *args]
    try:
        return run(argv, env=_kwok_env(ctx), **kw)
    except subprocess.CalledProcessError as exc:
        raise LabError(f"kwokctl {' '.join(map(str, args))} failed ({exc.returncode}): {(exc.stderr or '')[-2000:]}") from exc


class Kubectl:
    """kubectl bound to the lab kubeconfig; JSON in and out."""

    def __init__(self, binary: Path, kubeconfig: Path):
        self.binary, self.kubeconfig = binary, kubeconfig

    def __call__(self, *args, stdin: str | None = None, check: bool = True, timeout: float = 120) -> str:
        # discovery cache beside the kubeconfig, not in ~/.kube/cache
        argv = [self.binary, "--kubeconfig", self.kubeconfig, "--cache-dir", Path(self.kubeconfig).parent / "kubectl-cache", *args]
        proc = run(argv, input=stdin, capture_output=True, check=False, timeout=timeout)
        if check and proc.returncode != 0:
            raise LabError(f"kubectl {' '.join(map(str, args))}: {proc.stderr.strip()[-2000:]}")
        return proc.stdout

    def items(self, kind: str, namespace: str | None = None, selector: str | None = None) -> list:
        args = ["get", kind, "-o", "json"]
        args += ["-n", namespace] if namespace else ["-A"]
        if selector:
            args += ["-l", selector]
        return json.loads(self(*args))["items"]

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict:
        args = ["get", kind, name, "-o", "json"] + (["-n", namespace] if namespace else [])
        return json.loads(self(*args))

    def apply(self, path: Path) -> None:
        self("apply", "-f", path)


def _wait(what: str, probe, timeout: float = SETTLE_TIMEOUT, interval: float = 1.0):
    """Poll probe() until it returns (ok, detail) with ok true; LabError with the last detail."""
    deadline = time.monotonic() + timeout
    detail = None
    while True:
        ok, detail = probe()
        if ok:
            return detail
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout:.0f}s waiting for {what}: {detail}")
        time.sleep(interval)


# ---------------------------------------------------------------- build and cluster

def build(ctx: LabContext) -> Path:
    """Run build-k8s.sh (a no-op when the version-keyed cache is complete); returns the bin dir."""
    env = {**os.environ, "LAB_CACHE": str(ctx.cache_dir)}
    proc = run(["bash", BUILD_SCRIPT], env=env, capture_output=True, check=False)
    if proc.returncode != 0:
        raise LabError(f"build-k8s.sh failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def kwokctl_config(bin_dir: Path, scale: bool = False, pki_dir: Path | None = None) -> str:
    """The KwokctlConfiguration (every binary a local path, loopback only) plus the lab Stages."""
    from tests.lab.k8s import scale as scale_mod
    config = {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {
            "runtime": "binary",
            "bindAddress": "127.0.0.1",
            "kubeVersion": f"v{K8S_VERSION}",
            "kubeApiserverBinary": str(bin_dir / "kube-apiserver"),
            "kubeControllerManagerBinary": str(bin_dir / "kube-controller-manager"),
            "kubeSchedulerBinary": str(bin_dir / "kube-scheduler"),
            "kwokControllerBinary": str(bin_dir / "kwok"),
            "etcdBinary": str(bin_dir / "etcd"),
            "kubectlBinary": str(bin_dir / "kubectl"),
            "quietPull": True,
        },
        "componentsPatches": [
            # Events outlive a long test session (default TTL 1 h).
            {"name": "kube-apiserver", "extraArgs": [{"key": "event-ttl", "value": "168h"}] + _kubelet_client_args(pki_dir)},
            # A busy 2-core CI machine can stall a lease renewal past the default 10 s deadline;
            # the loser of a leader election exits, and nothing restarts it.
            {"name": "kube-controller-manager", "extraArgs": LEADER_ELECTION + [{"key": "controllers", "value": KCM_CONTROLLERS}]},
            {"name": "kube-scheduler", "extraArgs": LEADER_ELECTION},
            # kwok logs every status patch at INFO: megabytes per minute at scale. It plays every node
            # except a real one (its kubelet writes its own status; see components/realnode.py).
            {"name": "kwok-controller", "extraArgs": [{"key": "v", "value": "WARN"}, {"key": "manage-all-nodes", "value": "false"},
                                                      {"key": "manage-nodes-with-label-selector", "value": KWOK_NODE_SELECTOR}]},
        ],
    }
    if scale:
        for patch in scale_mod.COMPONENT_ARGS:
            same = next((p for p in config["componentsPatches"] if p["name"] == patch["name"]), None)
            if same:
                same["extraArgs"] = same["extraArgs"] + patch["extraArgs"]
            else:
                config["componentsPatches"].append(patch)
    docs = [json.dumps(config)]
    if scale:
        docs.append(json.dumps(scale_mod.KWOK_CONFIGURATION))
    for stage_file in sorted((LAB_DIR / "stages").glob("*.yaml")):
        docs.append(stage_file.read_text())
    return "\n---\n".join(docs) + "\n"


def _config_key() -> str:
    """CONFIG_VERSION and the stages' digest: a running lab is re-created when either changes."""
    import hashlib
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in sorted((LAB_DIR / "stages").glob("*.yaml")))).hexdigest()[:12]
    return f"{CONFIG_VERSION}-{digest}"


def _kubelet_client_args(pki_dir: Path | None) -> list:
    """The apiserver presents kwokctl's admin certificate to kubelets (logs, exec): the real node's
    kubelet accepts only clients signed by the cluster CA (components/realnode.py)."""
    if pki_dir is None:
        return []
    return [{"key": "kubelet-client-certificate", "value": str(pki_dir / "admin.crt")},
            {"key": "kubelet-client-key", "value": str(pki_dir / "admin.key")}]


def assert_offline(dry_run_output: str) -> None:
    """kwokctl --dry-run prints '# Download <src> to <dst>' for every binary: all must be local."""
    for line in dry_run_output.splitlines():
        if "http://" in line or "https://" in line:
            if line.startswith("# Download") or "curl" in line or "wget" in line:
                raise LabError(f"kwokctl would download something: {line}")


def _cluster_pids(ctx: LabContext) -> dict:
    pid_dir = _dir(ctx) / "kwok" / "clusters" / CLUSTER / "pids"
    pids = {}
    for pid_file in sorted(pid_dir.glob("*.pid")) if pid_dir.exists() else []:
        try:
            pid = int(pid_file.read_text().strip())
        except ValueError:
            continue
        pids[pid_file.stem] = {"pid": pid, "start": _start_ticks(pid)}
    return pids


def _alive(rec: dict) -> bool:
    """The recorded process still runs (same start time, so not a reused PID; not a zombie)."""
    if rec.get("start") is None or _start_ticks(rec["pid"]) != rec["start"]:
        return False
    try:
        return Path(f"/proc/{rec['pid']}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _healthy(ctx: LabContext, record: dict) -> bool:
    if not all(_alive(p) for p in record.get("pids", {}).values()) or len(record.get("pids", {})) < 5:
        return False
    kubectl = Kubectl(Path(record["kubectl"]), Path(record["kubeconfig"]))
    # A loaded machine answers slowly; a false "unhealthy" would tear down a working cluster.
    for _attempt in range(3):
        try:
            if kubectl("get", "--raw", "/readyz", check=False, timeout=20).strip() == "ok":
                return True
        except subprocess.TimeoutExpired:
            pass
        time.sleep(2)
    return False


def _create_cluster(ctx: LabContext, bin_dir: Path, kubeconfig: Path) -> dict:
    config_file = _dir(ctx) / "kwokctl.yaml"
    config_file.write_text(kwokctl_config(bin_dir, bool(ctx.scale), _dir(ctx) / "kwok" / "clusters" / CLUSTER / "pki"))
    common = ["-c", str(config_file), "create", "cluster", "--kubeconfig", str(kubeconfig)]
    dry = _kwokctl(ctx, bin_dir, *common, "--dry-run")
    assert_offline(dry.stdout + dry.stderr)
    t0 = time.monotonic()
    _kwokctl(ctx, bin_dir, *common, "--wait", "3m")
    time.sleep(1)  # a component that cannot start exits within a second or two
    pids = _cluster_pids(ctx)
    dead = sorted(name for name, rec in pids.items() if not _alive(rec))
    if len(pids) < 5 or dead:
        logs = _dir(ctx) / "kwok" / "clusters" / CLUSTER / "logs"
        tails = {name: (logs / f"{name}.log").read_text(errors="replace")[-600:] for name in dead if (logs / f"{name}.log").exists()}
        raise LabError(f"kwokctl started {sorted(pids)}; not running: {dead}; log tails: {tails}")
    return {"pids": pids, "create_seconds": round(time.monotonic() - t0, 1)}


# ---------------------------------------------------------------- seeding

def _settle_nodes(kubectl: Kubectl) -> None:
    def probe():
        nodes = {n["metadata"]["name"]: n for n in kubectl.items("nodes")}
        wrong = []
        for name, (ready, pressure, _problem) in NODES.items():
            node = nodes.get(name)
            conds = {c["type"]: c["status"] for c in (node or {}).get("status", {}).get("conditions", [])}
            taints = {f"{t['key']}:{t['effect']}" for t in (node or {}).get("spec", {}).get("taints", [])}
            if conds.get("Ready") != ready or (pressure and conds.get(pressure) != "True"):
                wrong.append(f"{name} conditions {conds}")
            elif not NODE_TAINTS.get(name, set()) <= taints:
                wrong.append(f"{name} lacks taints {sorted(NODE_TAINTS[name] - taints)}")
        return not wrong, wrong
    _wait("nodes to reach their seeded state", probe)


def _container_view(pod: dict) -> dict:
    statuses = pod.get("status", {}).get("containerStatuses") or [{}]
    cs = statuses[0]
    state, last = cs.get("state", {}), cs.get("lastState", {}).get("terminated") or {}
    scheduled = next((c for c in pod.get("status", {}).get("conditions", []) if c["type"] == "PodScheduled"), {})
    return {
        "phase": pod.get("status", {}).get("phase"),
        "status_reason": pod.get("status", {}).get("reason"),
        "container": cs.get("name") or pod["spec"]["containers"][0]["name"],
        "waiting_reason": (state.get("waiting") or {}).get("reason"),
        "running": "running" in state,
        "last_terminated_reason": last.get("reason"),
        "last_exit_code": last.get("exitCode"),
        "restart_count": cs.get("restartCount", 0),
        "scheduled": scheduled.get("status") == "True",
        "unschedulable_reason": scheduled.get("reason") if scheduled.get("status") == "False" else None,
    }


def _scenario_mismatch(pod: dict) -> str | None:
    scenario = pod["metadata"]["labels"][SCENARIO_LABEL]
    want, got = SCENARIOS[scenario], _container_view(pod)
    for key, value in want.items():
        if key == "min_restart_count":
            if got["restart_count"] < value:
                return f"restartCount {got['restart_count']} < {value}"
        elif got[key] != value:
            return f"{key}={got[key]!r}, want {value!r}"
    if scenario == "Unschedulable" and got["unschedulable_reason"] != "Unschedulable":
        return f"PodScheduled reason {got['unschedulable_reason']!r}"
    return None


def _settle_workloads(kubectl: Kubectl) -> None:
    def probe():
        wrong = []
        for kind in ("deployments", "statefulsets"):
            for obj in kubectl.items(kind, selector=None):
                ns = obj["metadata"]["namespace"]
                if not ns.startswith("lab-") or _has_scenario(obj):
                    continue
                want = obj["spec"].get("replicas", 1)
                if obj.get("status", {}).get("readyReplicas", 0) != want or obj["status"].get("observedGeneration") != obj["metadata"]["generation"]:
                    wrong.append(f"{kind} {ns}/{obj['metadata']['name']} ready {obj.get('status', {}).get('readyReplicas', 0)}/{want}")
        for pod in kubectl.items("pods", selector=SCENARIO_LABEL):
            problem = _scenario_mismatch(pod)
            if problem:
                wrong.append(f"pod {pod['metadata']['namespace']}/{pod['metadata']['name']}: {problem}")
        for (ns, name), (allowed, expected, _w) in PDBS.items():
            pdb = kubectl.get("pdb", name, ns)
            st = pdb.get("status", {})
            if st.get("observedGeneration") != pdb["metadata"]["generation"] or st.get("expectedPods") != expected or st.get("disruptionsAllowed") != allowed:
                wrong.append(f"pdb {ns}/{name} status {st.get('disruptionsAllowed')}/{st.get('expectedPods')}")
        for quota in kubectl.items("resourcequotas"):
            if not quota["metadata"]["namespace"].startswith("lab-"):
                continue
            if set(quota.get("status", {}).get("used", {})) != set(quota["spec"]["hard"]):
                wrong.append(f"quota {quota['metadata']['namespace']}/{quota['metadata']['name']} not computed")
        return not wrong, wrong
    _wait("seeded workloads to settle", probe, interval=2.0)


def _has_scenario(obj: dict) -> bool:
    template = obj.get("spec", {}).get("template", {}).get("metadata", {})
    return SCENARIO_LABEL in (template.get("labels") or {})


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _micro(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _pod_of(kubectl: Kubectl, namespace: str, app: str) -> dict:
    pods = kubectl.items("pods", namespace, f"app.kubernetes.io/name={app}")
    if not pods:
        raise LabError(f"no pod app.kubernetes.io/name={app} in {namespace}")
    return pods[0]


def _seed_events(kubectl: Kubectl) -> list:
    """Warning events in both APIs: core/v1 with and without lastTimestamp, events.k8s.io/v1 with series."""
    now = datetime.now(timezone.utc)
    api_pod = _pod_of(kubectl, "lab-broken", "payments-api")
    cache_pod = _pod_of(kubectl, "lab-broken", "session-cache")
    indexer_pod = _pod_of(kubectl, "lab-broken", "search-indexer")

    def ref(pod):
        return {"kind": "Pod", "apiVersion": "v1", "namespace": pod["metadata"]["namespace"], "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}

    events = [
        ({"apiVersion": "v1", "kind": "Event",
          "metadata": {"name": f"{api_pod['metadata']['name']}.lab-failedmount", "namespace": "lab-broken"},
          "involvedObject": ref(api_pod), "type": "Warning", "reason": "FailedMount",
          "message": 'MountVolume.SetUp failed for volume "config" : configmap "payments-config" not found',
          "count": 7, "firstTimestamp": _ts(now - timedelta(minutes=30)), "lastTimestamp": _ts(now - timedelta(minutes=1)),
          "source": {"component": "kubelet", "host": api_pod["spec"].get("nodeName", "")}},
         {"api": "core/v1", "has_last_timestamp": True, "count": 7, "series_count": None, "reason": "FailedMount", "pod": api_pod}),
        ({"apiVersion": "v1", "kind": "Event",
          "metadata": {"name": f"{cache_pod['metadata']['name']}.lab-unhealthy", "namespace": "lab-broken"},
          "involvedObject": ref(cache_pod), "type": "Warning", "reason": "Unhealthy",
          "message": "Readiness probe failed: Could not connect to Redis at 127.0.0.1:6379: Connection refused",
          "eventTime": _micro(now - timedelta(seconds=20)), "action": "Probe",
          "reportingComponent": "kubelet", "reportingInstance": cache_pod["spec"].get("nodeName", "")},
         {"api": "core/v1", "has_last_timestamp": False, "count": None, "series_count": None, "reason": "Unhealthy", "pod": cache_pod}),
        ({"apiVersion": "events.k8s.io/v1", "kind": "Event",
          "metadata": {"name": f"{indexer_pod['metadata']['name']}.lab-probe-series", "namespace": "lab-broken"},
          "regarding": ref(indexer_pod), "type": "Warning", "reason": "Unhealthy",
          "note": 'Liveness probe failed: Get "http://pod:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
          "eventTime": _micro(now - timedelta(minutes=12)), "action": "Probe",
          "reportingController": "kubelet", "reportingInstance": indexer_pod["spec"].get("nodeName", ""),
          "series": {"count": 23, "lastObservedTime": _micro(now - timedelta(seconds=5))}},
         {"api": "events.k8s.io/v1", "has_last_timestamp": False, "count": None, "series_count": 23, "reason": "Unhealthy", "pod": indexer_pod}),
    ]
    truth = []
    for body, meta in events:
        kubectl("apply", "-f", "-", stdin=json.dumps(body))
        truth.append({"namespace": "lab-broken", "name": body["metadata"]["name"], "api": meta["api"], "reason": meta["reason"],
                      "type": "Warning", "regarding": f"Pod/{meta['pod']['metadata']['name']}",
                      "has_last_timestamp": meta["has_last_timestamp"], "count": meta["count"], "series_count": meta["series_count"]})
    return sorted(truth, key=lambda e: (e["namespace"], e["name"]))


def seed(ctx: LabContext, kubectl: Kubectl, info: dict) -> dict:
    seed_dir = LAB_DIR / "seed"
    kubectl.apply(seed_dir / "00-nodes.yaml")
    _settle_nodes(kubectl)  # taints first, or the scheduler may use a NotReady node
    for manifest in sorted(seed_dir.glob("*.yaml")):
        if manifest.name != "00-nodes.yaml":
            kubectl.apply(manifest)
    tls = info.get("tls") or {}
    if tls.get("k8s_secrets_manifest"):
        kubectl.apply(Path(tls["k8s_secrets_manifest"]))
    _settle_workloads(kubectl)
    from tests.lab.k8s import cluster_objects
    return {"events": _seed_events(kubectl), "tls": tls, "cluster_objects": cluster_objects.seed(kubectl)}


# ---------------------------------------------------------------- ground truth

def _owner(pod: dict, kubectl_cache: dict) -> str | None:
    refs = pod["metadata"].get("ownerReferences") or []
    if not refs:
        return None
    ref = refs[0]
    if ref["kind"] == "ReplicaSet":
        rs = kubectl_cache.get((pod["metadata"]["namespace"], ref["name"]))
        if rs and rs["metadata"].get("ownerReferences"):
            return f"Deployment/{rs['metadata']['ownerReferences'][0]['name']}"
    return f"{ref['kind']}/{ref['name']}"


def _container_truth(namespace: str, workload: str, pod_spec: dict) -> list:
    pod_sc = pod_spec.get("securityContext") or {}
    rows = []
    for c in pod_spec.get("containers", []):
        sc = c.get("securityContext") or {}
        res = c.get("resources") or {}
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        rows.append({
            "namespace": namespace, "workload": workload, "container": c["name"],
            "requests": bool(res.get("requests")), "limits": bool(res.get("limits")),
            "liveness_probe": "livenessProbe" in c, "readiness_probe": "readinessProbe" in c,
            "privileged": bool(sc.get("privileged")), "host_network": bool(pod_spec.get("hostNetwork")),
            "host_pid": bool(pod_spec.get("hostPID")), "run_as_non_root": non_root is True,
        })
    return rows


def ground_truth(kubectl: Kubectl, version: str, server: str, seeded: dict) -> dict:
    lab_ns = sorted(PURPOSE)
    pods = [p for p in kubectl.items("pods") if p["metadata"]["namespace"] in lab_ns]
    replicasets = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in kubectl.items("replicasets")}
    nodes = []
    for node in sorted(kubectl.items("nodes"), key=lambda n: n["metadata"]["name"]):
        name = node["metadata"]["name"]
        conds = {c["type"]: c["status"] for c in node["status"].get("conditions", [])}
        nodes.append({
            "name": name, "ready": conds.get("Ready", "Unknown"), "conditions": dict(sorted(conds.items())),
            "unschedulable": bool(node["spec"].get("unschedulable")),
            "control_plane": "node-role.kubernetes.io/control-plane" in node["metadata"].get("labels", {}),
            "taints": sorted(f"{t['key']}:{t['effect']}" for t in node["spec"].get("taints", [])),
            "problem": NODES.get(name, (None, None, None))[2],
        })
    pdb_of = {}
    for (ns, name), (_a, _e, workload) in PDBS.items():
        pdb_of[(ns, workload)] = name
    workloads, containers = [], []
    for kind, plural in (("Deployment", "deployments"), ("StatefulSet", "statefulsets")):
        for obj in kubectl.items(plural):
            ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
            if ns not in lab_ns:
                continue
            ref = f"{kind}/{name}"
            workloads.append({
                "namespace": ns, "kind": kind, "name": name, "replicas": obj["spec"].get("replicas", 1),
                "ready_replicas": obj.get("status", {}).get("readyReplicas", 0), "pdb": pdb_of.get((ns, ref)),
                "pods": sorted(p["metadata"]["name"] for p in pods if p["metadata"]["namespace"] == ns and _owner(p, replicasets) == ref),
            })
            containers += _container_truth(ns, ref, obj["spec"]["template"]["spec"])
    for pod in pods:
        if not pod["metadata"].get("ownerReferences"):
            containers += _container_truth(pod["metadata"]["namespace"], f"Pod/{pod['metadata']['name']}", pod["spec"])
    pdbs = []
    for (ns, name), (allowed, expected, workload) in sorted(PDBS.items()):
        spec = kubectl.get("pdb", name, ns)["spec"]
        pdbs.append({"namespace": ns, "name": name, "min_available": spec.get("minAvailable"), "max_unavailable": spec.get("maxUnavailable"),
                     "expected_pods": expected, "disruptions_allowed": allowed, "workload": workload})
    problem_pods = []
    for pod in pods:
        scenario = (pod["metadata"].get("labels") or {}).get(SCENARIO_LABEL)
        if not scenario:
            continue
        view = _container_view(pod)
        row = {"namespace": pod["metadata"]["namespace"], "name": pod["metadata"]["name"], "owner": _owner(pod, replicasets),
               "scenario": scenario, "container": view["container"], **SCENARIOS[scenario],
               "unschedulable_reason": "Unschedulable" if scenario == "Unschedulable" else None}
        problem_pods.append(row)
    quotas = []
    for quota in kubectl.items("resourcequotas"):
        if quota["metadata"]["namespace"] not in lab_ns:
            continue
        hard, used = quota["status"]["hard"], quota["status"]["used"]
        quotas.append({"namespace": quota["metadata"]["namespace"], "name": quota["metadata"]["name"],
                       "hard": dict(sorted(hard.items())), "used": dict(sorted(used.items())),
                       "near_full": sorted(k for k in hard if _ratio(used.get(k, "0"), hard[k]) >= 0.8)})
    namespaces = []
    policies, quota_names = kubectl.items("networkpolicies"), {(q["namespace"], q["name"]) for q in quotas}
    for ns in lab_ns:
        namespaces.append({"name": ns, "purpose": PURPOSE[ns],
                           "network_policies": sorted(p["metadata"]["name"] for p in policies if p["metadata"]["namespace"] == ns),
                           "resource_quotas": sorted(n for q_ns, n in quota_names if q_ns == ns)})
    tls = seeded.get("tls") or {}
    return {
        "schema": 1,
        "server": {"version": version, "url": server},
        "namespaces": namespaces,
        "nodes": nodes,
        "workloads": sorted(workloads, key=lambda w: (w["namespace"], w["kind"], w["name"])),
        "pdbs": pdbs,
        "pods": sorted(problem_pods, key=lambda p: (p["namespace"], p["name"])),
        "events": seeded["events"],
        "containers": sorted(containers, key=lambda c: (c["namespace"], c["workload"], c["container"])),
        "resource_quotas": sorted(quotas, key=lambda q: (q["namespace"], q["name"])),
        "rbac": RBAC,
        "tls_secrets": tls.get("k8s_secrets_ground_truth"),
        "cluster_objects": seeded.get("cluster_objects"),
    }


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}


def _quantity(text: str) -> float:
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * _UNITS[suffix]
    return float(text)


def _ratio(used: str, hard: str) -> float:
    limit = _quantity(hard)
    return _quantity(used) / limit if limit else 1.0


# ---------------------------------------------------------------- the component interface

def _refresh_tls_secrets(record: dict, info: dict) -> None:
    """Keep the lab-certs Secrets in step with the TLS component, which may have regenerated
    its PKI since the cluster started (apply is idempotent)."""
    manifest = (info.get("tls") or {}).get("k8s_secrets_manifest")
    if manifest and Path(manifest).exists():
        Kubectl(Path(record["kubectl"]), Path(record["kubeconfig"])).apply(Path(manifest))


def up(ctx: LabContext, info: dict) -> dict:
    record = _read_record(ctx)
    if (record and record.get("scale_requested", False) == bool(ctx.scale) and record.get("config") == _config_key()
            and _healthy(ctx, record)):
        ctx.log(f"k8s: already up at {record['server']}")
        _refresh_tls_secrets(record, info)
        return record["info"]
    if record or (_dir(ctx) / "kwok").exists():
        down(ctx)  # stale or half-started: start clean
    t0 = time.monotonic()
    bin_dir = build(ctx)
    build_seconds = round(time.monotonic() - t0, 1)
    kdir = _dir(ctx)
    kubeconfig = kdir / "kubeconfig"
    for attempt in range(3):
        try:
            started = _create_cluster(ctx, bin_dir, kubeconfig)
            break
        except LabError as exc:
            # kwokctl picks free ports, then starts the components: two labs created at the same
            # moment can pick the same port. Start again on fresh ports.
            if "address already in use" not in str(exc) or attempt == 2:
                raise
            ctx.log(f"k8s: port taken while starting ({exc}); retrying")
            down(ctx)
    kubectl_bin = bin_dir / "kubectl"
    # Record what to tear down before anything else can fail.
    record = {"cluster": CLUSTER, "bin_dir": str(bin_dir), "kubeconfig": str(kubeconfig), "kubectl": str(kubectl_bin),
              "pids": started["pids"], "scale_requested": bool(ctx.scale), "config": _config_key()}
    _record_file(ctx).write_text(json.dumps(record, indent=2, sort_keys=True))
    kubectl = Kubectl(kubectl_bin, kubeconfig)
    version = json.loads(kubectl("version", "-o", "json"))["serverVersion"]["gitVersion"]
    if version != f"v{K8S_VERSION}":
        raise LabError(f"/version reports {version}, expected v{K8S_VERSION}: rebuild with tests/lab/build-k8s.sh")
    config = json.loads(kubectl("config", "view", "--raw", "-o", "json"))
    context, server = config["current-context"], config["clusters"][0]["cluster"]["server"]
    t1 = time.monotonic()
    seeded = seed(ctx, kubectl, info)
    seed_seconds = round(time.monotonic() - t1, 1)
    truth_file = kdir / "ground-truth.json"
    truth_file.write_text(json.dumps(ground_truth(kubectl, version, server, seeded), indent=2, sort_keys=True))
    scale = None
    if ctx.scale:
        from tests.lab.k8s import scale as scale_mod
        scale = scale_mod.scale_up(kubectl, ctx, started["pids"])
    result = {
        "kubeconfig": str(kubeconfig), "context": context, "server": server, "version": version,
        "ground_truth": str(truth_file), "kubectl": str(kubectl_bin), "cluster": CLUSTER,
        "workdir": str(kdir / "kwok"), "bin_dir": str(bin_dir), "scale": scale,
        "pids": {name: rec["pid"] for name, rec in sorted(started["pids"].items())},
        "timings": {"build_seconds": build_seconds, "create_seconds": started["create_seconds"], "seed_seconds": seed_seconds,
                    "total_seconds": round(time.monotonic() - t0, 1)},
    }
    record["server"], record["info"] = server, result
    _record_file(ctx).write_text(json.dumps(record, indent=2, sort_keys=True))
    ctx.log(f"k8s: {version} at {server}; kubeconfig {kubeconfig}; ready in {result['timings']['total_seconds']}s")
    return result


def down(ctx: LabContext) -> None:
    kdir = ctx.state_dir / NAME
    if not kdir.exists() and not _processes_under(kdir):
        return
    record = _read_record(ctx) or {}
    pids = {**_processes_under(kdir), **_cluster_pids(ctx), **record.get("pids", {})}
    bin_dir = Path(record.get("bin_dir") or "")
    if (bin_dir / "kwokctl").exists() and (kdir / "kwok").exists():
        try:
            _kwokctl(ctx, bin_dir, "delete", "cluster", "--kubeconfig", str(kdir / "kubeconfig"), timeout=120)
        except (LabError, subprocess.TimeoutExpired) as exc:
            ctx.log(f"k8s: kwokctl delete failed, killing recorded processes: {exc}")
    _wait_gone(pids, 30.0)  # kwokctl signals the components and returns; the apiserver drains for a while
    _kill_leftovers(pids)
    _wait_gone(pids, 10.0)
    still = sorted(name for name, rec in pids.items() if _alive(rec))
    if still:
        raise LabError(f"k8s: processes still running after down: {still}")
    shutil.rmtree(kdir, ignore_errors=True)


def _processes_under(kdir: Path) -> dict:
    """Processes run from this state dir's kwokctl bin dir, found in /proc: catches components
    whose pid files are gone (a crashed up, a deleted workdir)."""
    prefix = f"{kdir / 'kwok' / 'clusters' / CLUSTER / 'bin'}/".encode()
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv0 = (proc / "cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        if argv0.startswith(prefix):
            pid = int(proc.name)
            found[f"{argv0.rsplit(b'/', 1)[1].decode()}@{pid}"] = {"pid": pid, "start": _start_ticks(pid)}
    return found


def _wait_gone(pids: dict, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(rec) for rec in pids.values()):
        time.sleep(0.2)


def _started_by_kwokctl(pid: int) -> bool:
    """kwokctl runs each component from <workdir>/clusters/<name>/bin/: never signal anything else."""
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode()
    except OSError:
        return False
    return f"/kwok/clusters/{CLUSTER}/bin/" in argv0


def _kill_leftovers(pids: dict) -> None:
    """SIGTERM, then SIGKILL, only the recorded processes that still have their recorded start time."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        alive = [rec for rec in pids.values() if _alive(rec) and _started_by_kwokctl(rec["pid"])]
        if not alive:
            return
        for rec in alive:
            try:
                os.kill(rec["pid"], sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_alive(rec) for rec in alive):
            time.sleep(0.2)


def status(ctx: LabContext) -> dict:
    record = _read_record(ctx)
    if not record:
        return {"running": False}
    pids = {name: _alive(rec) for name, rec in record.get("pids", {}).items()}
    return {"running": bool(record.get("info")) and _healthy(ctx, record), "server": record.get("server"), "processes": pids}
