"""TLS lab component: generated PKI, one daemon serving every TLS case on 127.0.0.1, ground truth.

Schema of what `up` returns and of the ground-truth files: tests/lab/tls/README.md.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

from tests.lab.common import LabContext, LabError, daemon_alive, start_daemon, start_recorded, stop_daemon, wait_for_port

NAME = "tls"
DAEMON = "tls-servers"
SERVER_SCRIPT = Path(__file__).resolve().parents[1] / "tls" / "server.py"
# k8s/ is not in the list: the Secrets manifest outlives regenerations (see generate._reusable_secrets)
GENERATED = ("certs", "files", "server-config.json", "ports.json", "targets.json", "files-ground-truth.json", "component.json")
DEFAULT_SEED = "sre-toolkit-lab-tls"


def _dir(ctx: LabContext) -> Path:
    return ctx.component_dir(NAME)


def _record(ctx: LabContext) -> Path:
    return _dir(ctx) / "component.json"


@contextlib.contextmanager
def _locked(workdir: Path):
    """Serialise up/down across processes (pytest-xdist workers, a CLI next to a test run)."""
    with open(workdir / ".lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def up(ctx: LabContext, info: dict) -> dict:
    with _locked(_dir(ctx)):
        return _up(ctx)


def _up(ctx: LabContext) -> dict:
    workdir = _dir(ctx)
    recorded = _read_record(ctx)
    # a scale lab is a superset of the small one: keep it when the small one is asked for
    if recorded and _running(recorded["pid"], workdir) and (recorded.get("scale") or not ctx.scale):
        ctx.log(f"tls: already up (pid {recorded['pid']}, {recorded['endpoint_count']} endpoints)")
        return recorded
    _down(ctx)
    result = start_recorded(lambda: _bring_up(ctx, workdir), DAEMON, workdir, _record(ctx))
    ctx.log(f"tls: {result['endpoint_count']} endpoints up in {result['up_seconds']}s; targets: {result['targets_file']}")
    return result


def _bring_up(ctx: LabContext, workdir: Path) -> dict:
    from tests.lab.tls.generate import generate  # imports cryptography: only when generating

    for name in GENERATED:
        target = workdir / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    seed = os.environ.get("LAB_TLS_SEED", DEFAULT_SEED)
    plan = generate(workdir, seed, bool(ctx.scale))
    ports_file = workdir / "ports.json"
    config_file = workdir / "server-config.json"
    config_file.write_text(json.dumps(plan.server_config(ports_file), indent=1, sort_keys=True))
    pid = start_daemon(DAEMON, [sys.executable, SERVER_SCRIPT, config_file], workdir)
    _reap_when_done(pid)
    listener_ports = _wait_for_ports(ports_file, pid, workdir)
    wait_for_port(next(iter(listener_ports.values())), timeout=10)  # ports.json is written once all are bound
    listener_ports["refused"] = refused_port()
    targets = plan.targets(listener_ports)
    targets_file = workdir / "targets.json"
    targets_file.write_text(json.dumps(targets, indent=2, sort_keys=True))
    return {
        "targets_file": str(targets_file),
        "ca_bundle": str(plan.ca_bundle),
        "client_ca": str(plan.client_ca_file),
        "client_cert": str(plan.client_cert_file),
        "client_key": str(plan.client_key_file),
        "files_dir": str(plan.files_dir),
        "files_ground_truth": str(plan.files_ground_truth),
        "k8s_secrets_manifest": str(plan.k8s_manifest),
        "k8s_secrets_ground_truth": str(plan.k8s_ground_truth),
        "ports": {e["id"]: e["port"] for e in targets["endpoints"]},
        "refused_port": listener_ports["refused"],
        "generated_at": targets["generated_at"],
        "generated_at_epoch": targets["generated_at_epoch"],
        "seed": seed,
        "scale": bool(ctx.scale),
        "pid": pid,
        "endpoint_count": len(targets["endpoints"]),
        "log": str(workdir / f"{DAEMON}.log"),
    }


def refused_port(top: int = 32000, bottom: int = 20000) -> int:
    """A port nothing listens on, below the kernel's ephemeral range.

    Ports taken with bind(0) (ours, the other lab components', any client's) come from the
    ephemeral range (32768-60999 by default), so a port under it stays refused after up().
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in range(min(top, low - 1), bottom, -1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise LabError(f"tls: no free port between {bottom} and {top} for the refused endpoint")


def _reap_when_done(pid: int) -> None:
    """Wait for the daemon in a background thread of the process that started it.

    Otherwise, when that process lives on (a pytest session) and another one stops the daemon
    (`lab.py down`), the daemon stays a zombie that still looks alive, and stop_daemon waits
    out its full timeouts (15 s measured) before giving up.
    """
    def reap():
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass  # reaped elsewhere (subprocess' own cleanup, _running)
    threading.Thread(target=reap, name=f"reap-{DAEMON}-{pid}", daemon=True).start()


def _running(pid: int, workdir: Path) -> bool:
    """daemon_alive, plus reaping: a child that exited stays a zombie (and looks alive) until waited for."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    return daemon_alive(DAEMON, workdir)


def _wait_for_ports(ports_file: Path, pid: int, workdir: Path, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ports_file.exists():
            return json.loads(ports_file.read_text())["ports"]
        if not _running(pid, workdir):
            log = (workdir / f"{DAEMON}.log").read_text(errors="replace")[-2000:]
            raise LabError(f"tls: the server daemon exited during start-up; end of its log:\n{log}")
        time.sleep(0.05)
    raise LabError(f"tls: the server daemon did not bind its listeners within {timeout:.0f}s (see {workdir / (DAEMON + '.log')})")


def _read_record(ctx: LabContext) -> dict | None:
    path = _record(ctx)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def down(ctx: LabContext) -> None:
    """Stop the daemon; generated files stay for inspection and are replaced at the next up."""
    with _locked(_dir(ctx)):
        _down(ctx)


def _down(ctx: LabContext) -> None:
    workdir = _dir(ctx)
    stop_daemon(DAEMON, workdir)
    _record(ctx).unlink(missing_ok=True)
    (workdir / "ports.json").unlink(missing_ok=True)


def status(ctx: LabContext) -> dict:
    recorded = _read_record(ctx) or {}
    running = bool(recorded) and _running(recorded["pid"], _dir(ctx))
    return {"running": running, "pid": recorded.get("pid") if running else None, "endpoint_count": recorded.get("endpoint_count"),
            "targets_file": recorded.get("targets_file"), "scale": recorded.get("scale")}
