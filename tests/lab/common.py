"""Process and file helpers shared by the lab components (test infrastructure only)."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_ROOT = Path(os.environ.get("LAB_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sre-toolkit-lab")
STATE_DIR = Path(os.environ.get("LAB_STATE_DIR") or Path.home() / ".local" / "state" / "sre-toolkit-lab")


class LabError(RuntimeError):
    """A lab component could not be brought up or down."""


@dataclass
class LabContext:
    state_dir: Path = STATE_DIR
    cache_dir: Path = CACHE_ROOT
    scale: bool = False
    logs: list = field(default_factory=list)

    def component_dir(self, name: str) -> Path:
        path = self.state_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log(self, message: str) -> None:
        print(f"[lab] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise LabError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def _start_ticks(pid: int) -> str | None:
    """Start time of a live process (None for a missing or zombie one): PID reuse can't fool it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == "Z":  # exited but not yet reaped by its parent
        return None
    return fields[19]


def start_daemon(name: str, argv: list, workdir: Path, env: dict | None = None) -> int:
    """Start a process in its own session, log to <workdir>/<name>.log, record pid + start time.

    The start time makes stop_daemon safe against PID reuse.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    log = open(workdir / f"{name}.log", "ab")
    proc = subprocess.Popen(
        [str(a) for a in argv], cwd=str(workdir), stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True, env={**os.environ, **(env or {})},
    )
    (workdir / f"{name}.pid").write_text(json.dumps({"pid": proc.pid, "start": _start_ticks(proc.pid), "argv": [str(a) for a in argv]}))
    return proc.pid


def daemon_alive(name: str, workdir: Path) -> bool:
    pidfile = workdir / f"{name}.pid"
    if not pidfile.exists():
        return False
    rec = json.loads(pidfile.read_text())
    return _start_ticks(rec["pid"]) == rec["start"]


def stop_daemon(name: str, workdir: Path, timeout: float = 10.0) -> None:
    """SIGTERM the daemon's process group, SIGKILL after timeout, remove the pid file."""
    pidfile = workdir / f"{name}.pid"
    if not pidfile.exists():
        return
    rec = json.loads(pidfile.read_text())
    pid = rec["pid"]
    if _start_ticks(pid) == rec["start"]:
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _start_ticks(pid) == rec["start"]:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                time.sleep(0.1)
            if _start_ticks(pid) != rec["start"]:
                break
    pidfile.unlink(missing_ok=True)


def run(argv: list, **kwargs) -> subprocess.CompletedProcess:
    check = kwargs.pop("check", True)
    kwargs.setdefault("text", True)
    return subprocess.run([str(a) for a in argv], check=check, **kwargs)


def lab_processes(state_dir: Path) -> dict:
    """{pid: cmdline} of every process whose working dir or command line is inside the state dir."""
    marker = str(Path(state_dir).resolve())
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if marker in cmdline or cwd == marker or cwd.startswith(marker + "/"):
            found[int(entry.name)] = cmdline
    return found


def listening_sockets() -> list:
    """[(address, port, pid)] of every listening TCP socket on this machine, from `ss`."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    sockets = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        address, _, port = fields[3].rpartition(":")
        for pid in (int(p) for p in re.findall(r"pid=(\d+)", line)):
            sockets.append((address.strip("[]"), int(port), pid))
    return sockets


def start_recorded(bring_up, daemon: str, workdir: Path, record: Path) -> dict:
    """Run a component's bring-up; stop its daemon if that fails; time it and record the result."""
    started = time.monotonic()
    try:
        result = bring_up()
    except BaseException:
        stop_daemon(daemon, workdir)
        raise
    result["up_seconds"] = round(time.monotonic() - started, 2)
    record.write_text(json.dumps(result, indent=2, sort_keys=True))
    return result
