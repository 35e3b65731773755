"""Lab component: one real node beside the kwok nodes, named 127.0.0.1 (NODE), the address its kubelet serves on.

A kubelet built from the same Kubernetes module as the control plane (build-k8s.sh with
LAB_K8S_KUBELET=1), Debian's containerd 1.6 + runc as its runtime, run as lab daemons with their
own root, state and socket under <state>/realnode/ (never the system service), a bridge CNI
network on a private /24 confined to this machine, and images built by the lab itself
(tests/lab/realnode/images.py). The node registers with the lab's kube-apiserver, carries the
taint REAL_TAINT (only pods that tolerate it land there) and the label that keeps kwok off it;
then the component seeds the workloads of tests/lab/realnode/workloads.yaml (namespace lab-real).

Machine facts this is written for: cgroup v1 (kubelet 1.35+ refuses v1 unless `failCgroupV1:
false`: set here on purpose), no swap, root. If the machine refuses (a kernel feature, a cgroup
controller, a package), up() stops, tears down what it started, and returns
{"available": false, "error": ...}: the rest of the lab keeps working without the node, and the
real-node tests fail with that error. See tests/lab/realnode/README.md.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.lab.common import REPO_ROOT, LabContext, LabError, daemon_alive, free_port, run, start_daemon, stop_daemon
from tests.lab.components.k8s import CLUSTER, REAL_NODE_LABEL, Kubectl, _wait
from tests.lab.realnode import images

NAME = "realnode"
NAMESPACE = "lab-real"
REAL_TAINT = {"key": REAL_NODE_LABEL, "value": "true", "effect": "NoSchedule"}
PACKAGES = {"containerd": "/usr/bin/containerd", "containerd-shim-runc-v2": "/usr/bin/containerd-shim-runc-v2", "ctr": "/usr/bin/ctr",
            "runc": "/usr/sbin/runc", "bridge": "/usr/lib/cni/bridge", "host-local": "/usr/lib/cni/host-local",
            "loopback": "/usr/lib/cni/loopback", "busybox": "/bin/busybox", "ip": "/usr/sbin/ip"}
DEBIAN_PACKAGES = ("containerd", "runc", "containernetworking-plugins", "busybox-static", "iproute2")
CNI_BIN = Path("/usr/lib/cni")
BRIDGE = "labcni0"
SUBNET_PREFIX = "10.213.77"       # the pods' /24; the bridge holds .1, no route or NAT leads off it
NODE_IP = f"{SUBNET_PREFIX}.1"
# The kubelet refuses a loopback node IP ("nodeIP can't be loopback address"), so the node's
# InternalIP is the bridge's address; but it serves on loopback only (the lab's rule: nothing it
# starts listens beyond 127.0.0.0/8), and the apiserver finds it there: it dials a kubelet at its
# first address of the preferred types, Hostname before InternalIP, and a kubelet's Hostname
# address is its node name. So the node is named 127.0.0.1: no DNS query (a name like "lab-real-0"
# would leave the machine) and no listener on the bridge. (InternalIP first is no way out either:
# the kwok nodes' InternalIPs are in 192.0.2.0/24, which is this machine's own eth0 subnet.)
NODE = "127.0.0.1"
WORKLOADS = REPO_ROOT / "tests" / "lab" / "realnode" / "workloads.yaml"
NETNS_DIR = Path("/run/netns")
SYS_NET = Path("/sys/class/net")
CGROUP_FS = Path("/sys/fs/cgroup")
READY_TIMEOUT = 180.0


# ---------------------------------------------------------------- paths

def _dir(ctx: LabContext) -> Path:
    return ctx.component_dir(NAME)


def _paths(ctx: LabContext) -> dict:
    base = _dir(ctx)
    return {
        "base": base, "containerd_root": base / "containerd" / "root", "containerd_state": base / "containerd" / "state",
        "socket": base / "containerd.sock", "containerd_config": base / "containerd.toml", "cni_conf": base / "cni" / "net.d",
        "cni_state": base / "cni" / "ipam", "kubelet_root": base / "kubelet", "kubelet_config": base / "kubelet.yaml",
        "pod_logs": base / "pod-logs", "certs": base / "kubelet-pki", "record": base / "component.json",
    }


def cgroup_root(ctx: LabContext) -> str:
    """The kubelet's --cgroup-root: one per lab state dir, so down removes exactly its own."""
    return "/sre-lab-" + hashlib.sha256(str(ctx.state_dir.resolve()).encode()).hexdigest()[:8]


def _read_record(ctx: LabContext) -> dict:
    path = _paths(ctx)["record"]
    return json.loads(path.read_text()) if path.exists() else {}


def _write_record(ctx: LabContext, record: dict) -> None:
    _paths(ctx)["record"].write_text(json.dumps(record, indent=2, sort_keys=True))


# ---------------------------------------------------------------- install and build

def ensure_installed(ctx: LabContext) -> float:
    """Install the Debian packages when a binary is missing (services not started); seconds spent."""
    missing = sorted(name for name, path in PACKAGES.items() if not Path(path).exists())
    if not missing:
        return 0.0
    if os.geteuid() != 0:
        raise LabError(f"missing {missing} and not root: apt-get install {' '.join(DEBIAN_PACKAGES)}")
    from tests.lab.components.prometheus import POLICY_RC
    ctx.log(f"realnode: installing {' '.join(DEBIAN_PACKAGES)} (apt-get; missing {missing})")
    t0 = time.monotonic()
    guard = not POLICY_RC.exists()
    if guard:  # 101 = do not start services: the lab runs its own containerd
        POLICY_RC.write_text("#!/bin/sh\nexit 101\n")
        POLICY_RC.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *DEBIAN_PACKAGES], check=True, env=env, stdout=subprocess.DEVNULL)
    except subprocess.CalledProcessError as exc:
        raise LabError(f"apt-get failed ({exc}); install {' '.join(DEBIAN_PACKAGES)} by hand") from exc
    finally:
        if guard:
            POLICY_RC.unlink(missing_ok=True)
    if Path("/run/systemd/system").is_dir():  # a booted systemd may have started the system containerd anyway
        subprocess.run(["systemctl", "disable", "--now", "containerd"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    still = sorted(name for name, path in PACKAGES.items() if not Path(path).exists())
    if still:
        raise LabError(f"after apt-get install, still missing: {still}")
    return round(time.monotonic() - t0, 1)


def build_kubelet(ctx: LabContext) -> Path:
    from tests.lab.components.k8s import BUILD_SCRIPT
    env = {**os.environ, "LAB_CACHE": str(ctx.cache_dir), "LAB_K8S_KUBELET": "1"}
    proc = run(["bash", BUILD_SCRIPT], env=env, capture_output=True, check=False)
    if proc.returncode != 0:
        raise LabError(f"build-k8s.sh (kubelet) failed ({proc.returncode}): {proc.stderr[-3000:]}")
    kubelet = Path(proc.stdout.strip().splitlines()[-1]) / "kubelet"
    if not kubelet.exists():
        raise LabError(f"build-k8s.sh left no kubelet in {kubelet.parent}")
    return kubelet


# ---------------------------------------------------------------- preflight

def preflight() -> None:
    """The machine facts the node needs, each with the exact reason when one is missing."""
    problems = []
    for controller in ("cpu", "cpuacct", "cpuset", "memory", "pids"):
        if not (CGROUP_FS / controller / "cgroup.procs").exists() and not (CGROUP_FS / "cgroup.controllers").exists():
            problems.append(f"cgroup controller {controller} is not mounted under {CGROUP_FS}")
    if "overlay" not in Path("/proc/filesystems").read_text():
        problems.append("the kernel has no overlay filesystem (containerd's overlayfs snapshotter)")
    if problems:
        raise LabError("this machine cannot run the real node: " + "; ".join(problems))


def _only_node_on_this_machine(ctx: LabContext) -> None:
    """The bridge, its subnet and the node name are per machine: one real node at a time."""
    mine = str(_dir(ctx).resolve())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"/kubelet") and NODE.encode() in argv and not any(mine.encode() in a for a in argv):
            raise LabError(f"another lab's real node already runs on this machine (kubelet pid {proc.name}); "
                           "bring that lab's realnode down first")


def _cgroup_dirs(ctx: LabContext) -> list:
    """The node's cgroup root in every v1 hierarchy (or the v2 one)."""
    root = cgroup_root(ctx).lstrip("/")
    if (CGROUP_FS / "cgroup.controllers").exists():
        return [CGROUP_FS / root]
    return sorted(d / root for d in CGROUP_FS.iterdir() if d.is_dir() and not d.is_symlink() and (d / "cgroup.procs").exists()
                  and d.name != "unified")


# ---------------------------------------------------------------- configuration

def containerd_config(paths: dict) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{paths['containerd_root']}"
state = "{paths['containerd_state']}"
# no snapshotters the lab does not use (their probes only log noise)
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{paths['socket']}"

[ttrpc]
  address = "{paths['socket']}.ttrpc"

[debug]
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{paths['base'] / 'containerd' / 'opt'}"

[{cri}]
  sandbox_image = "{images.PAUSE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  enable_selinux = false
  # Containers ask for oom_score_adj down to -998; lowering it needs CAP_SYS_RESOURCE, which this
  # machine's root lacks (runc: "failed to update /proc/self/oom_score_adj: Permission denied"):
  # clamp to containerd's own score instead.
  restrict_oom_score_adj = true
  max_container_log_line_size = 16384

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  BinaryName = "{PACKAGES['runc']}"
  Root = "{paths['base'] / 'runc'}"

[{cri}.cni]
  bin_dir = "{CNI_BIN}"
  conf_dir = "{paths['cni_conf']}"
  max_conf_num = 1
"""


def cni_config(paths: dict) -> dict:
    """A bridge the lab creates itself (with the gateway address, so the kubelet's probes reach the
    pods), no isGateway (the plugin would switch on ip_forward), no ipMasq, no routes: the pods
    reach only their /24."""
    return {
        "cniVersion": "0.4.0", "name": "sre-lab-real",
        "plugins": [
            {"type": "bridge", "bridge": BRIDGE, "isGateway": False, "isDefaultGateway": False, "ipMasq": False, "hairpinMode": False,
             "ipam": {"type": "host-local", "dataDir": str(paths["cni_state"]),
                      "ranges": [[{"subnet": f"{SUBNET_PREFIX}.0/24", "rangeStart": f"{SUBNET_PREFIX}.10", "rangeEnd": f"{SUBNET_PREFIX}.250"}]],
                      "routes": []}},
            {"type": "loopback"},
        ],
    }


def kubelet_config(ctx: LabContext, paths: dict, ports: dict, ca_file: Path) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        # loopback only; the apiserver reaches it at the node's name (NODE), logs and exec with a
        # certificate of the cluster CA
        "address": NODE, "port": ports["kubelet"], "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1", "healthzPort": ports["healthz"],
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": False}, "x509": {"clientCAFile": str(ca_file)}},
        "authorization": {"mode": "AlwaysAllow"},
        "containerRuntimeEndpoint": f"unix://{paths['socket']}",
        "imageServiceEndpoint": f"unix://{paths['socket']}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root(ctx),
        # Kubernetes 1.35+ refuses cgroup v1 by default; these machines have only v1 controllers.
        "failCgroupV1": False,
        "failSwapOn": False,
        "registerWithTaints": [REAL_TAINT],
        "podLogsDir": str(paths["pod_logs"]),
        "resolvConf": "",
        "maxPods": 30,
        "serializeImagePulls": False,
        # the lab's images are imported, never pulled: image GC would delete the idle ones
        "imageGCHighThresholdPercent": 100,
        "imageMinimumGCAge": "87600h",
        # disk and memory of a shared CI machine must not evict the lab's pods
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
        "nodeStatusUpdateFrequency": "5s",
        "syncFrequency": "10s",
        "shutdownGracePeriod": "0s",
        "shutdownGracePeriodCriticalPods": "0s",
        "localStorageCapacityIsolation": True,
        "protectKernelDefaults": False,
        "makeIPTablesUtilChains": False,
        "containerLogMaxSize": "1Mi",
        "containerLogMaxFiles": 2,
    }


def _ensure_bridge() -> None:
    ip = PACKAGES["ip"]
    if run([ip, "link", "show", BRIDGE], capture_output=True, check=False).returncode != 0:
        run([ip, "link", "add", BRIDGE, "type", "bridge"], capture_output=True)
    addrs = run([ip, "-4", "addr", "show", "dev", BRIDGE], capture_output=True).stdout
    if f"{SUBNET_PREFIX}.1/24" not in addrs:
        run([ip, "addr", "add", f"{SUBNET_PREFIX}.1/24", "dev", BRIDGE], capture_output=True)
    run([ip, "link", "set", BRIDGE, "up"], capture_output=True)


# ---------------------------------------------------------------- daemons

def _ctr(paths: dict, *args, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    return run([PACKAGES["ctr"], "--address", paths["socket"], "--namespace", "k8s.io", *args], **kw)


def _start_containerd(ctx: LabContext, paths: dict) -> None:
    for key in ("containerd_root", "containerd_state", "cni_conf", "cni_state", "pod_logs"):
        paths[key].mkdir(parents=True, exist_ok=True)
    paths["containerd_config"].write_text(containerd_config(paths))
    (paths["cni_conf"] / "10-sre-lab.conflist").write_text(json.dumps(cni_config(paths), indent=2))
    start_daemon("containerd", [PACKAGES["containerd"], "--config", paths["containerd_config"]], paths["base"],
                 env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})

    def probe():
        if not daemon_alive("containerd", paths["base"]):
            return True, "exited"
        ok = paths["socket"].exists() and _ctr(paths, "version", check=False).returncode == 0
        return ok, "no answer on the socket"
    _wait("containerd", probe, timeout=60)
    if not daemon_alive("containerd", paths["base"]):
        raise LabError(f"containerd exited: {_tail(paths['base'] / 'containerd.log')}")


def _import_images(ctx: LabContext, paths: dict) -> list:
    archives = images.build_all(ctx.cache_dir / "realnode-images")
    imported = []
    for name, archive in sorted(archives.items()):  # always: a rebuilt image replaces the old one under its name
        proc = _ctr(paths, "images", "import", archive, check=False)
        if proc.returncode != 0:
            raise LabError(f"ctr images import {archive} failed: {proc.stderr.strip()[-1000:]}")
        imported.append(name)
    have = set(_ctr(paths, "images", "ls", "-q").stdout.split())
    lost = sorted(set(archives) - have)
    if lost:
        raise LabError(f"images not in containerd after import: {lost}")
    return imported


def _start_kubelet(ctx: LabContext, paths: dict, kubelet: Path, kubeconfig: Path) -> dict:
    ports = {"kubelet": free_port(), "healthz": free_port()}
    for d in _cgroup_dirs(ctx):  # the kubelet wants its --cgroup-root to exist in every hierarchy
        d.mkdir(exist_ok=True)
    paths["kubelet_root"].mkdir(parents=True, exist_ok=True)
    ca_file = Path(kubeconfig).parent / "kwok" / "clusters" / CLUSTER / "pki" / "ca.crt"
    if not ca_file.exists():
        raise LabError(f"no cluster CA at {ca_file}: the kubelet could not authenticate the apiserver")
    paths["kubelet_config"].write_text(json.dumps(kubelet_config(ctx, paths, ports, ca_file), indent=2))
    argv = [kubelet, "--config", paths["kubelet_config"], "--kubeconfig", kubeconfig, "--root-dir", paths["kubelet_root"],
            "--cert-dir", paths["certs"], "--hostname-override", NODE, "--node-ip", NODE_IP,
            "--node-labels", f"{REAL_NODE_LABEL}=true", "--v", "2"]
    start_daemon("kubelet", argv, paths["base"], env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    return ports


def _tail(path: Path, n: int = 1500) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else "(no log)"


def _wait_node_ready(ctx: LabContext, kubectl: Kubectl, paths: dict) -> None:
    def probe():
        if not daemon_alive("kubelet", paths["base"]):
            raise LabError(f"kubelet exited: {_tail(paths['base'] / 'kubelet.log', 3000)}")
        node = json.loads(kubectl("get", "node", NODE, "-o", "json", "--ignore-not-found") or "null")
        if not node:
            return False, "not registered"
        conds = {c["type"]: c for c in node["status"].get("conditions", [])}
        ready = conds.get("Ready", {})
        return ready.get("status") == "True", f"Ready={ready.get('status')} {ready.get('reason')}: {ready.get('message')}"
    _wait(f"node {NODE} Ready", probe, timeout=READY_TIMEOUT)


# ---------------------------------------------------------------- workloads

def _seed(kubectl: Kubectl) -> dict:
    def gone_or_live():  # a down just before deletes the namespace: apply into a terminating one fails
        ns = json.loads(kubectl("get", "namespace", NAMESPACE, "-o", "json", "--ignore-not-found") or "null")
        return not (ns and ns["metadata"].get("deletionTimestamp")), "namespace still terminating"
    _wait(f"namespace {NAMESPACE} from an earlier node to be deleted", gone_or_live, timeout=120)
    kubectl.apply(WORKLOADS)
    from tests.lab.realnode import truth
    return truth.settle(kubectl)


# ---------------------------------------------------------------- the component interface

def up(ctx: LabContext, info: dict) -> dict:
    k8s = info.get("k8s") or {}
    if not k8s.get("kubeconfig"):
        return {"available": False, "error": "the k8s component is not up (realnode runs after it)"}
    record = _read_record(ctx)
    paths = _paths(ctx)
    kubectl = Kubectl(Path(k8s["kubectl"]), Path(k8s["kubeconfig"]))
    if record.get("info", {}).get("available") and record.get("server") == k8s.get("server") and _healthy(ctx, kubectl, paths):
        ctx.log(f"realnode: {NODE} already up")
        return record["info"]
    down(ctx)
    t0 = time.monotonic()
    timings = {}
    try:
        preflight()
        _only_node_on_this_machine(ctx)
        timings["install_seconds"] = ensure_installed(ctx)
        t = time.monotonic()
        kubelet = build_kubelet(ctx)
        timings["build_seconds"] = round(time.monotonic() - t, 1)
        paths = _paths(ctx)
        _write_record(ctx, {"netns_before": _netns(), "cgroup_root": cgroup_root(ctx), "server": k8s.get("server")})
        _ensure_bridge()
        t = time.monotonic()
        _start_containerd(ctx, paths)
        imported = _import_images(ctx, paths)
        timings["runtime_seconds"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        ports = _start_kubelet(ctx, paths, kubelet, Path(k8s["kubeconfig"]))
        _wait_node_ready(ctx, kubectl, paths)
        kubectl("label", "node", NODE, "node-role.kubernetes.io/real=", "--overwrite")  # a kubelet may not set roles itself
        timings["node_ready_seconds"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        seeded = _seed(kubectl)
        timings["seed_seconds"] = round(time.monotonic() - t, 1)
    except (LabError, subprocess.CalledProcessError, OSError) as exc:
        error = str(exc)
        ctx.log(f"realnode: not available: {error}")
        _keep_logs(ctx)
        if os.environ.get("LAB_REALNODE_KEEP_FAILED") == "1":  # debugging: leave it running as it failed
            return {"available": False, "error": error}
        try:
            down(ctx)
        except LabError as down_exc:
            error += f"; and down failed: {down_exc}"
        return {"available": False, "error": error}
    timings["total_seconds"] = round(time.monotonic() - t0, 1)
    truth_file = paths["base"] / "ground-truth.json"
    truth_file.write_text(json.dumps(seeded, indent=2, sort_keys=True))
    result = {
        "available": True, "node": NODE, "namespace": NAMESPACE, "taint": REAL_TAINT, "label": REAL_NODE_LABEL,
        "images": {"pause": images.PAUSE, "busybox": images.BUSYBOX, "python": images.PYTHON}, "imported": imported,
        "containerd_socket": str(paths["socket"]), "kubelet_port": ports["kubelet"], "cgroup_root": cgroup_root(ctx),
        "pod_subnet": f"{SUBNET_PREFIX}.0/24", "bridge": BRIDGE, "ground_truth": str(truth_file), "timings": timings,
    }
    record = _read_record(ctx)
    record.update(info=result, server=k8s.get("server"))
    _write_record(ctx, record)
    ctx.log(f"realnode: {NODE} Ready in {timings['total_seconds']}s ({timings})")
    return result


def _keep_logs(ctx: LabContext) -> None:
    """The daemons' logs of a failed up, kept beside the state dir (down removes realnode/)."""
    keep = ctx.state_dir / "realnode-failure"
    shutil.rmtree(keep, ignore_errors=True)
    keep.mkdir(parents=True)
    for log in _dir(ctx).glob("*.log"):
        shutil.copy(log, keep / log.name)


def _healthy(ctx: LabContext, kubectl: Kubectl, paths: dict) -> bool:
    if not (daemon_alive("containerd", paths["base"]) and daemon_alive("kubelet", paths["base"])):
        return False
    try:
        node = json.loads(kubectl("get", "node", NODE, "-o", "json", "--ignore-not-found", check=False, timeout=20) or "null")
    except (subprocess.TimeoutExpired, ValueError):
        return False
    conds = {c["type"]: c["status"] for c in (node or {}).get("status", {}).get("conditions", [])}
    return conds.get("Ready") == "True"


def _netns() -> list:
    return sorted(p.name for p in NETNS_DIR.iterdir()) if NETNS_DIR.is_dir() else []


def _mounts_under(prefixes: list) -> list:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount_point = line.split()[4].replace("\\040", " ")
        if any(mount_point == p or mount_point.startswith(p + "/") for p in prefixes):
            found.append(mount_point)
    return found


def _shims(paths: dict) -> dict:
    """containerd-shim-runc-v2 processes of this lab's containerd (its socket is in their argv)."""
    marker = str(paths["socket"]).encode()
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"containerd-shim" in cmd.split(b"\0", 1)[0] and marker in cmd:
            found[int(proc.name)] = cmd.replace(b"\0", b" ").decode(errors="replace")
    return found


def _cgroup_tasks(ctx: LabContext) -> dict:
    """{cgroup dir: pids} of processes still in the node's cgroups (containers that outlived their shim)."""
    found = {}
    for root in _cgroup_dirs(ctx):
        if not root.exists():
            continue
        for dirpath, _dirs, files in os.walk(root):
            if "cgroup.procs" in files:
                try:
                    pids = [int(p) for p in (Path(dirpath) / "cgroup.procs").read_text().split()]
                except OSError:
                    continue
                if pids:
                    found[dirpath] = pids
    return found


def _remove_cgroups(ctx: LabContext) -> list:
    left = []
    for root in _cgroup_dirs(ctx):
        if not root.exists():
            continue
        for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda w: -w[0].count("/")):
            try:
                os.rmdir(dirpath)
            except OSError as exc:
                left.append(f"{dirpath}: {exc.strerror}")
    return left


def down(ctx: LabContext) -> None:
    base = ctx.state_dir / NAME
    if not base.exists():
        return
    paths = _paths(ctx)
    record = _read_record(ctx)
    problems = []
    # kubelet first (it would restart what we stop), then every pod sandbox through the CRI, then containerd
    stop_daemon("kubelet", base, timeout=15)
    shims = set(_shims(paths))
    if daemon_alive("containerd", base):
        _stop_all_containers(paths, problems)
    stop_daemon("containerd", base, timeout=15)
    shims |= set(_shims(paths))
    for pid in sorted(_shims(paths)):  # a shim outlives containerd by design: end it and its container
        _kill_shim(pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in shims):
        time.sleep(0.1)
    for pid_list in _cgroup_tasks(ctx).values():
        for pid in pid_list:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
    time.sleep(0.5)
    for netns in sorted(set(_netns()) - set(record.get("netns_before", []))):
        if netns.startswith("cni-"):
            run([PACKAGES["ip"], "netns", "delete", netns], capture_output=True, check=False)
    for mount_point in sorted(_mounts_under([str(base)]), key=len, reverse=True):
        run(["umount", "-l", mount_point], capture_output=True, check=False)
    problems += _remove_cgroups(ctx)
    if (SYS_NET / BRIDGE).exists():
        run([PACKAGES["ip"], "link", "delete", BRIDGE], capture_output=True, check=False)
    _forget_in_api(ctx)
    left = leftovers(ctx, record)
    if left:
        raise LabError(f"realnode: left after down: {left}; {problems}")
    shutil.rmtree(base, ignore_errors=True)


def _forget_in_api(ctx: LabContext) -> None:
    """Remove the node and its namespace from a still-running control plane (the next up starts clean)."""
    lab_json = ctx.state_dir / "lab.json"
    k8s = (json.loads(lab_json.read_text()) if lab_json.exists() else {}).get("k8s") or {}
    if not k8s.get("kubeconfig") or not Path(k8s["kubeconfig"]).exists():
        return
    kubectl = Kubectl(Path(k8s["kubectl"]), Path(k8s["kubeconfig"]))
    try:
        kubectl("delete", "pods", "--all", "-n", NAMESPACE, "--force", "--grace-period=0", "--ignore-not-found", check=False, timeout=30)
        kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false", check=False, timeout=30)
        kubectl("delete", "node", NODE, "--ignore-not-found", "--wait=false", check=False, timeout=30)
    except subprocess.TimeoutExpired:
        ctx.log("realnode: the apiserver did not answer; node and namespace left in the API")


def _stop_all_containers(paths: dict, problems: list) -> None:
    """Stop and remove every pod sandbox via crictl-free ctr calls: tasks killed, containers deleted."""
    proc = _ctr(paths, "tasks", "ls", "-q", check=False)
    for task in proc.stdout.split():
        _ctr(paths, "tasks", "kill", "-s", "SIGKILL", task, check=False)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        listing = _ctr(paths, "tasks", "ls", check=False).stdout.splitlines()[1:]
        if all("STOPPED" in line for line in listing):
            break
        time.sleep(0.3)
    for task in _ctr(paths, "tasks", "ls", "-q", check=False).stdout.split():
        _ctr(paths, "tasks", "delete", "-f", task, check=False)
    for container in _ctr(paths, "containers", "ls", "-q", check=False).stdout.split():
        result = _ctr(paths, "containers", "delete", container, check=False)
        if result.returncode != 0:
            problems.append(f"container {container}: {result.stderr.strip()[-200:]}")


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an exited shim waits for init to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _kill_shim(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass


def leftovers(ctx: LabContext, record: dict | None = None) -> dict:
    """What the real node may leave behind: shims, container processes (in its cgroups), mounts under
    its state dir, network namespaces created since up, its cgroup dirs, its bridge. {} = clean."""
    record = record if record is not None else _read_record(ctx)
    base = ctx.state_dir / NAME
    paths = _paths(ctx) if base.exists() else {"socket": base / "containerd.sock", "base": base}
    left = {}
    shims = _shims(paths)
    if shims:
        left["shims"] = shims
    tasks = _cgroup_tasks(ctx)
    if tasks:
        left["container_processes"] = tasks
    mounts = _mounts_under([str(ctx.state_dir / NAME)])
    if mounts:
        left["mounts"] = mounts
    before = set(record.get("netns_before", []))
    netns = sorted(n for n in _netns() if n.startswith("cni-") and n not in before)
    if netns:
        left["network_namespaces"] = netns
    cgroups = [str(d) for d in _cgroup_dirs(ctx) if d.exists()]
    if cgroups:
        left["cgroups"] = cgroups
    if (SYS_NET / BRIDGE).exists():
        left["bridge"] = BRIDGE
    return left


def status(ctx: LabContext) -> dict:
    record = _read_record(ctx)
    base = ctx.state_dir / NAME
    return {"running": daemon_alive("kubelet", base) and daemon_alive("containerd", base), "node": NODE,
            "available": (record.get("info") or {}).get("available", False)}
