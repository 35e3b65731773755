# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The memory stressor that memory_hog starts: one self-contained stdlib-only script.

The module copies this file's source to the host (or into a helper pod's command) and runs it
as ``python3 stressor.py '<json spec>'``. Nothing here may import the collection or Ansible.

Why it always ends by itself, whatever happens to whoever started it:
- ``alarm(hard_timeout)`` in every process: SIGALRM's default action kills the process even if
  Python is stuck in an allocation; the kernel keeps the timer across exec (so it bounds stress-ng).
- ``PR_SET_PDEATHSIG`` (SIGKILL) in the main process (parent = the module) and in every worker
  (parent = the main process): the module's death takes the whole hog with it.
- each worker also checks its own monotonic deadline and its parent between chunks.

Spec keys: total (bytes), workers, ramp (s), duration (s), hard_timeout (s), parent_pid,
engine ("python" or "stress-ng"), stress_ng (path), join_container_id, cgroup_root, chunk (bytes).
The last line on stdout is a JSON summary.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PAGE = 4096
DEFAULT_CHUNK = 32 * 1024 * 1024
PROCESS_NAME = b"sre-memory-hog"


def _prctl(option, value):
    """Call prctl(2) through ctypes; returns False where that is impossible."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(expected_parent):
    """Ask the kernel for SIGKILL when the parent goes; exit now if it already went."""
    armed = _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # The parent may have died between fork and prctl: then nobody would signal us.
    if expected_parent and os.getppid() != expected_parent:
        os._exit(3)
    return armed


def set_process_name():
    try:
        import ctypes
        ctypes.CDLL(None).prctl(PR_SET_NAME, ctypes.c_char_p(PROCESS_NAME), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def split_total(total, workers):
    """Bytes per worker: the total is split, the remainder goes to the first workers."""
    base, extra = divmod(int(total), int(workers))
    return [base + (1 if i < extra else 0) for i in range(int(workers))]


def chunk_sizes(share, chunk):
    """Allocation steps for one worker: full chunks, then the rest."""
    sizes = [chunk] * (share // chunk)
    if share % chunk:
        sizes.append(share % chunk)
    return sizes


def touch(buf):
    """Write one non-zero byte per page so every page is really backed by memory."""
    pages = len(range(0, len(buf), PAGE))
    buf[::PAGE] = b"\x5a" * pages


def rss_bytes(pid):
    """Resident set size of a process, 0 when it is gone."""
    try:
        with open("/proc/%d/status" % pid) as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def find_container_cgroup(root, container_id):
    """The cgroup directory of a container (cgroup v2 or the v1 memory controller), or None."""
    candidates = []
    for base in (os.path.join(root, "memory"), root):
        if not os.path.isdir(base):
            continue
        for dirpath, dirnames, _files in os.walk(base):
            if container_id in os.path.basename(dirpath) and os.path.exists(os.path.join(dirpath, "cgroup.procs")):
                candidates.append(dirpath)
                dirnames[:] = []
        if candidates:
            break
    return sorted(candidates)[0] if candidates else None


def join_container_cgroup(root, container_id):
    """Move this process into the target container's cgroup so its memory counts there."""
    path = find_container_cgroup(root, container_id)
    if path is None:
        raise RuntimeError("no cgroup found for container %s under %s" % (container_id, root))
    with open(os.path.join(path, "cgroup.procs"), "w") as handle:
        handle.write(str(os.getpid()))
    return path


def worker_main(share, spec, deadline, parent):
    """Allocate `share` bytes in chunks spread over the ramp, then hold until the deadline."""
    die_with_parent(parent)
    signal.alarm(max(1, int(spec["hard_timeout"])))
    sizes = chunk_sizes(share, int(spec.get("chunk") or DEFAULT_CHUNK))
    pause = float(spec.get("ramp") or 0) / max(1, len(sizes))
    held = []
    for size in sizes:
        if time.monotonic() >= deadline or os.getppid() != parent:
            os._exit(0)
        buf = bytearray(size)
        touch(buf)
        held.append(buf)
        if pause:
            time.sleep(pause)
    while time.monotonic() < deadline and os.getppid() == parent:
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    os._exit(0)


def _reap(workers, results):
    for pid in list(workers):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done, status = pid, 0
        if done:
            workers.remove(pid)
            if os.WIFSIGNALED(status):
                results.append({"pid": pid, "signal": os.WTERMSIG(status)})
            else:
                results.append({"pid": pid, "exit_code": os.WEXITSTATUS(status)})


def descendants(root):
    """PIDs of every process below root (stress-ng's own vm workers are grandchildren)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                ppid = int(handle.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for pid in parents.get(todo.pop(), []):
            found.append(pid)
            todo.append(pid)
    return found


def stress_ng_argv(spec, share):
    """One stress-ng per worker with one vm stressor each: --vm-bytes means per worker in old
    releases and total in newer ones, and with --vm 1 both readings are the same."""
    return [
        spec.get("stress_ng") or "stress-ng", "--vm", "1", "--vm-bytes", "%db" % max(PAGE, share),
        "--vm-keep", "--timeout", "%ds" % int(spec["duration"]), "--metrics-brief",
    ]


def exec_stress_ng(share, spec, parent):
    """A worker that becomes stress-ng: PDEATHSIG and the alarm both survive exec."""
    die_with_parent(parent)
    signal.alarm(max(1, int(spec["hard_timeout"])))
    argv = stress_ng_argv(spec, share)
    os.execvp(argv[0], argv)


def run_workers(spec):
    """Fork the workers (python allocators or stress-ng), watch them, and return the summary."""
    started = time.monotonic()
    deadline = started + float(spec["duration"])
    me = os.getpid()
    engine = spec.get("engine") or "python"
    workers = []
    for share in split_total(spec["total"], spec["workers"]):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                if engine == "stress-ng":
                    exec_stress_ng(share, spec, me)
                else:
                    worker_main(share, spec, deadline, me)
            finally:
                os._exit(4)
        workers.append(pid)

    def stop(_signum, _frame):
        for pid in descendants(me):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os._exit(143)

    signal.signal(signal.SIGTERM, stop)
    peak = 0
    results = []
    all_pids = list(workers)
    while workers:
        peak = max(peak, sum(rss_bytes(pid) for pid in descendants(me)))
        _reap(workers, results)
        if workers:
            time.sleep(0.2)
    return {
        "engine": engine,
        "peak_rss_bytes": peak,
        "workers": sorted(results, key=lambda r: r["pid"]),
        "worker_pids": sorted(all_pids),
        "elapsed_seconds": round(time.monotonic() - started, 3),
    }


def main(argv):
    """Run the hog described by argv[1]; exits 0 after the duration (or is killed by its limits)."""
    spec = json.loads(argv[1])
    die_with_parent(int(spec.get("parent_pid") or 0))
    signal.alarm(max(1, int(spec["hard_timeout"])))
    set_process_name()
    summary = {}
    if spec.get("join_container_id"):
        summary["cgroup"] = join_container_cgroup(spec.get("cgroup_root") or "/sys/fs/cgroup", spec["join_container_id"])
    summary.update(run_workers(spec))
    sys.stdout.write(json.dumps(summary, sort_keys=True) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
