# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""memory_hog on a host: read memory facts, start the stressor, watch it, stop it, clean up.

This is the side-effecting half of the engine (the rules live in ``memory.py``). It imports
neither Ansible nor a client. Processes are always identified by PID *and* start time (field 22
of /proc/<pid>/stat) plus the boot id, so a recorded PID that the kernel reused for something
else is never signalled.

How the hog relates to Ansible's process tree: the module process (under the ansible-playbook
worker, or under async_wrapper) starts the stressor and blocks while it runs. The stressor dies
with the module (PR_SET_PDEATHSIG). Ansible's workers call setsid(), so a SIGKILLed
ansible-playbook does not take its worker or the module down by itself: the module therefore
watches every ancestor it had at start (PID + start time) and stops the hog the moment one is
gone. Whatever fails, the stressor's own alarm ends it at duration + margin.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import memory
from ansible_collections.sre.toolkit.plugins.module_utils._chaos import stressor
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError

PROC = "/proc"
CGROUP_ROOT = "/sys/fs/cgroup"
# What a hog process calls itself (the stressor sets its name; stress-ng names its own processes).
HOG_COMMS = ("sre-memory-hog", "stress-ng")


def read_text(path):
    with open(path) as handle:
        return handle.read()


def host_memory():
    return memory.parse_meminfo(read_text(os.path.join(PROC, "meminfo")))


def cgroup_memory(pid="self"):
    """The memory cgroup the hog will live in: path, limit (None = unlimited), usage."""
    try:
        paths = memory.parse_proc_cgroup(read_text(os.path.join(PROC, str(pid), "cgroup")))
    except OSError:
        return None
    if paths["v1_memory"] is not None:
        base = os.path.join(CGROUP_ROOT, "memory", paths["v1_memory"].lstrip("/"))
        limit = _read_limit(os.path.join(base, "memory.limit_in_bytes"))
        hierarchical = _v1_hierarchical_limit(base)
        if hierarchical is not None and (limit is None or hierarchical < limit):
            limit = hierarchical
        return {"version": 1, "path": paths["v1_memory"], "limit": limit, "usage": _read_int(os.path.join(base, "memory.usage_in_bytes"))}
    if paths["v2"] is not None:
        rel = paths["v2"].lstrip("/")
        base = os.path.join(CGROUP_ROOT, rel)
        limit = None
        # The tightest memory.max from here up to the root is what binds.
        parts = rel.split("/") if rel else []
        for depth in range(len(parts), 0, -1):
            value = _read_limit(os.path.join(CGROUP_ROOT, *parts[:depth], "memory.max"))
            if value is not None and (limit is None or value < limit):
                limit = value
        return {"version": 2, "path": paths["v2"], "limit": limit, "usage": _read_int(os.path.join(base, "memory.current"))}
    return None


def _read_limit(path):
    try:
        return memory.parse_cgroup_limit(read_text(path))
    except (OSError, ValueError):
        return None


def _read_int(path):
    try:
        return int(read_text(path).strip())
    except (OSError, ValueError):
        return None


def _v1_hierarchical_limit(base):
    try:
        for line in read_text(os.path.join(base, "memory.stat")).splitlines():
            if line.startswith("hierarchical_memory_limit "):
                return memory.parse_cgroup_limit(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def boot_id():
    try:
        return read_text(os.path.join(PROC, "sys/kernel/random/boot_id")).strip()
    except OSError:
        return ""


def identity(pid):
    """{'pid', 'start_ticks', 'ppid', 'comm'} of a live process, or None."""
    try:
        stat = memory.parse_proc_stat(read_text(os.path.join(PROC, str(pid), "stat")))
    except (OSError, ValueError, IndexError):
        return None
    if stat["state"] == "Z":
        return None
    return stat


def is_alive(record):
    """True only if the very process recorded (same PID, start time and boot) still runs."""
    if record.get("boot_id") and record["boot_id"] != boot_id():
        return False
    current = identity(record["pid"])
    return current is not None and current["start_ticks"] == record["start_ticks"]


def is_hog(record):
    """The recorded process is still the same one *and* is a hog: a forged or stale record never
    gets a signal through to, say, sshd, even with the right PID and start time."""
    if not is_alive(record):
        return False
    current = identity(record["pid"])
    return current is not None and current["comm"].startswith(HOG_COMMS)


def ancestors(pid=None):
    """PID + start time of every ancestor up to (not including) PID 1."""
    chain = []
    current = identity(pid or os.getpid())
    while current and current["ppid"] > 1:
        parent = identity(current["ppid"])
        if parent is None:
            break
        chain.append({"pid": parent["pid"], "start_ticks": parent["start_ticks"], "comm": parent["comm"]})
        current = parent
    return chain


def first_gone(chain):
    for record in chain:
        if not is_alive(record):
            return record
    return None


def children(pid):
    """Direct children of pid, found by scanning /proc (no CONFIG_PROC_CHILDREN needed)."""
    found = []
    for entry in os.listdir(PROC):
        if entry.isdigit():
            stat = identity(int(entry))
            if stat and stat["ppid"] == pid:
                found.append(stat)
    return found


def rss_tree(pid):
    """Resident memory of the stressor and everything below it (workers, stress-ng's vm workers)."""
    return stressor.rss_bytes(pid) + sum(stressor.rss_bytes(child) for child in stressor.descendants(pid))


def signal_recorded(record, signum):
    """Send a signal to exactly the recorded hog process. Uses a pidfd when the kernel has it (no reuse race)."""
    if not is_hog(record):
        return False
    pidfd_open = getattr(os, "pidfd_open", None)
    send = getattr(signal, "pidfd_send_signal", None)
    if pidfd_open and send:
        try:
            fd = pidfd_open(record["pid"])
        except OSError:
            return False
        try:
            # Checked again with the pidfd held: the PID can no longer be recycled under us.
            if not is_hog(record):
                return False
            send(fd, signum)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)
    try:
        os.kill(record["pid"], signum)
        return True
    except OSError:
        return False


def stop_recorded(record, grace=3.0):
    """TERM, wait, KILL. Returns 'stopped', 'not_running' (gone or PID reused) or 'still_running'."""
    if not signal_recorded(record, signal.SIGTERM):
        return "not_running"
    end = time.monotonic() + grace
    while time.monotonic() < end:
        if not is_alive(record):
            return "stopped"
        time.sleep(0.05)
    signal_recorded(record, signal.SIGKILL)
    end = time.monotonic() + 5
    while time.monotonic() < end:
        if not is_alive(record):
            return "stopped"
        time.sleep(0.05)
    return "still_running"


class StateStore:
    """One JSON file per hog name, so a later run or state=absent finds what is left."""

    def __init__(self, directory=None):
        self.directory = directory or os.path.join(tempfile.gettempdir(), "sre-toolkit-memory-hog-%d" % os.getuid())

    def path(self, name):
        return os.path.join(self.directory, "%s.json" % memory.label_value(name))

    def ensure(self):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        self.check()

    def check(self):
        """Records decide what gets signalled: trust only a real directory of ours that nobody else can write."""
        try:
            info = os.lstat(self.directory)
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
            raise ToolkitError(
                "state_dir: %s must be a directory owned by uid %d and not writable by group or others; "
                "remove it or choose another state_dir" % (self.directory, os.getuid()), kind="invalid")
        return True

    def write(self, name, record):
        self.ensure()
        tmp = self.path(name) + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(record, handle, sort_keys=True)
        os.replace(tmp, self.path(name))

    def load(self, name):
        if not self.check():
            return None
        try:
            return json.loads(read_text(self.path(name)))
        except (OSError, ValueError):
            return None

    def names(self):
        if not self.check():
            return []
        try:
            return sorted(f[:-5] for f in os.listdir(self.directory) if f.endswith(".json"))
        except OSError:
            return []

    def remove(self, name):
        for path in (self.path(name), self.path(name) + ".out"):
            try:
                os.unlink(path)
            except OSError:
                pass


def leftovers(store, names=None):
    """What earlier runs recorded, and whether each is still the same live process."""
    found = []
    for name in sorted(names if names is not None else store.names()):
        record = store.load(name)
        if record is None:
            continue
        processes = [record] + list(record.get("workers", []))
        found.append({"name": name, "record": record, "alive": [p for p in processes if is_hog(dict(p, boot_id=record.get("boot_id")))]})
    return found


def clean_up(store, names=None, check_mode=False):
    """Stop every recorded process that is still the same process; drop the records."""
    report = []
    for entry in leftovers(store, names):
        record = entry["record"]
        item = {"name": entry["name"], "pid": record["pid"], "start_ticks": record["start_ticks"], "alive": bool(entry["alive"])}
        if not check_mode:
            results = [stop_recorded(dict(p, boot_id=record.get("boot_id"))) for p in entry["alive"]]
            item["result"] = "stopped" if "stopped" in results else "not_running"
            if "still_running" not in results:
                store.remove(entry["name"])
        report.append(item)
    return report


def stressor_source():
    """The stressor's source, read through the module's loader (works from AnsiballZ's zip too)."""
    loader = getattr(stressor, "__loader__", None)
    source = loader.get_source(stressor.__name__) if loader and hasattr(loader, "get_source") else None
    if not source:
        source = read_text(stressor.__file__)
    return source


def find_stress_ng():
    for directory in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep) + ["/usr/bin", "/usr/local/bin"]:
        candidate = os.path.join(directory, "stress-ng")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class HostHog:
    """Runs one stressor to its end and measures what it did."""

    def __init__(self, store, name, plan, poll=0.2, python=None, stress_ng=None):
        self.store = store
        self.name = name
        self.plan = plan
        self.poll = poll
        self.python = python or sys.executable
        self.stress_ng = stress_ng
        self.proc = None
        self.record = None
        self.stop_reason = None
        self.watch_chain = ancestors()

    def spec(self):
        return {
            "total": self.plan["total_bytes"], "workers": self.plan["workers"], "ramp": self.plan["ramp_seconds"],
            "duration": self.plan["duration_seconds"], "hard_timeout": self.plan["hard_timeout_seconds"],
            "parent_pid": os.getpid(), "engine": self.plan["engine"], "stress_ng": self.stress_ng,
        }

    def start(self):
        self.store.ensure()
        script = os.path.join(self.store.directory, "stressor.py")
        with open(script + ".tmp", "w") as handle:
            handle.write(stressor_source())
        os.replace(script + ".tmp", script)
        out = open(self.store.path(self.name) + ".out", "w")
        try:
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [self.python, script, json.dumps(self.spec(), sort_keys=True)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, close_fds=True)
        finally:
            out.close()
        me = identity(self.proc.pid)
        self.record = {
            "name": self.name, "pid": self.proc.pid, "start_ticks": me["start_ticks"] if me else None,
            "boot_id": boot_id(), "started_at": time.time(), "plan": self.plan, "module_pid": os.getpid(), "workers": [],
        }
        self.store.write(self.name, self.record)
        return self.record

    def _note_workers(self):
        known = {w["pid"] for w in self.record["workers"]}
        fresh = [{"pid": c["pid"], "start_ticks": c["start_ticks"]} for c in children(self.proc.pid) if c["pid"] not in known]
        if fresh:
            self.record["workers"] = sorted(self.record["workers"] + fresh, key=lambda w: w["pid"])
            self.store.write(self.name, self.record)

    def supervise(self, baseline_available):
        """Block until the stressor ends (or must be ended); return the measured peak."""
        peak_rss = 0
        min_available = baseline_available
        watchdog = time.monotonic() + self.plan["hard_timeout_seconds"] + 2
        samples = 0
        while self.proc.poll() is None:
            self._note_workers()
            peak_rss = max(peak_rss, rss_tree(self.proc.pid))
            min_available = min(min_available, host_memory()["mem_available"])
            samples += 1
            gone = first_gone(self.watch_chain)
            if gone is not None:
                self.stop_reason = "controller_gone"
                break
            if time.monotonic() > watchdog:
                self.stop_reason = "stopped_at_deadline"
                break
            time.sleep(self.poll)
        return {"hog_rss_bytes": peak_rss, "mem_available_min_bytes": min_available,
                "mem_available_drop_bytes": max(0, baseline_available - min_available), "samples": samples}

    def stop(self):
        """Make sure nothing of this run is left; drop its record."""
        if self.proc is not None and self.proc.poll() is None:
            # Our own unreaped child: its PID cannot be reused yet, so signalling it directly is exact.
            # Its workers die with it (PDEATHSIG).
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for worker in self.record.get("workers", []) if self.record else []:
            stop_recorded(dict(worker, boot_id=self.record["boot_id"]), grace=0.5)
        if self.record:
            self.store.remove(self.name)

    def summary(self):
        """The stressor's own last JSON line (peak RSS it saw, worker exits), if any."""
        try:
            lines = read_text(self.store.path(self.name) + ".out").strip().splitlines()
        except OSError:
            return {}
        for line in reversed(lines):
            try:
                return json.loads(line)
            except ValueError:
                continue
        return {"output": lines[-5:]}

    def exit_status(self):
        code = self.proc.returncode if self.proc else None
        if isinstance(code, int) and code < 0:
            return None, abs(code)
        return code, None


def utc_iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def prepare(params):
    """Sizes, engine, plan and preflight for a host run: everything check mode reports."""
    meminfo = host_memory()
    cgroup = cgroup_memory()
    size = memory.parse_size(params["size"])
    margin = memory.parse_size(params["safety_margin"], "safety_margin")
    bases = {"available": meminfo["mem_available"], "cgroup_limit": (cgroup or {}).get("limit")}
    total = memory.resolve_size(size, bases, params["percent_of"])
    stress_ng = find_stress_ng() if params["engine"] != "python" else None
    engine = memory.choose_engine(params["engine"], stress_ng)
    plan = memory.build_plan(total, params["workers"], params["duration"], params["ramp"], params["timeout_margin"], engine)
    verdict = memory.host_preflight(total, meminfo, cgroup, margin, params["force"])
    return {"meminfo": meminfo, "cgroup": cgroup, "plan": plan, "preflight": verdict, "stress_ng": stress_ng}


class signals_interrupt:  # pylint: disable=invalid-name
    """While active, SIGTERM and SIGHUP raise KeyboardInterrupt, so `finally` blocks clean up."""

    def __enter__(self):
        self.previous = {}

        def on_term(signum, _frame):
            raise KeyboardInterrupt("signal %d" % signum)

        for signum in (signal.SIGTERM, signal.SIGHUP):
            self.previous[signum] = signal.signal(signum, on_term)
        return self

    def __exit__(self, *_exc):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        return False


def execute(prepared, store, name, poll=0.2):
    """Start the stressor, block until it ends, stop whatever is left, and report."""
    hog = HostHog(store, name, prepared["plan"], poll=poll, stress_ng=prepared["stress_ng"])
    baseline = host_memory()["mem_available"]
    started = time.time()
    peak, summary = {}, {}
    with signals_interrupt():
        try:
            record = hog.start()
            try:
                peak = hog.supervise(baseline)
            except KeyboardInterrupt:
                hog.stop_reason = "interrupted"
            summary = hog.summary()
        finally:
            hog.stop()
    ended = time.time()
    exit_code, term_signal = hog.exit_status()
    peak = dict(peak, mem_available_before_bytes=baseline)
    if summary.get("peak_rss_bytes"):
        peak["hog_rss_bytes"] = max(peak.get("hog_rss_bytes") or 0, summary["peak_rss_bytes"])
    outcome = memory.classify_host_outcome(exit_code, term_signal, hog.stop_reason, summary)
    return {
        "outcome": outcome,
        "started_at": utc_iso(started), "ended_at": utc_iso(ended),
        "elapsed_seconds": round(ended - started, 3),
        "peak": peak,
        "process": {"pid": record["pid"], "start_ticks": record["start_ticks"], "boot_id": record["boot_id"],
                    "workers": record.get("workers", []), "exit_code": exit_code, "signal": term_signal},
        "stressor": summary,
    }
