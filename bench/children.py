"""Measurements in fresh processes, shared by the benchmarks: a process's peak RSS is its own only
when nothing else ran in it before."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PLAYBOOK_CHILD = r'''
import json, resource, sys, time
sys.path[:0] = %(paths)r
from tests.integration.ansible import run_module
t0 = time.perf_counter()
result = run_module(%(module)r, %(params)r)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "failed": bool(result.get("failed")), "msg": result.get("msg"),
                  "rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
'''


def _paths():
    from tests.integration.collection import collections_root

    return [str(REPO), str(collections_root())]


def run_child(template, **values):
    """Run `template % {paths, **values}` in a fresh python; its last stdout line, parsed as JSON."""
    code = template % {"paths": _paths(), **values}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(REPO))
    return json.loads(out.stdout.strip().splitlines()[-1])


def playbook_once(module, params):
    """The real module through ansible-playbook, in a fresh process: (wall seconds, children's peak RSS KiB)."""
    child = run_child(PLAYBOOK_CHILD, module=module, params=params)
    if child["failed"]:
        raise SystemExit("module failed: %s" % child["msg"])
    return child["wall"], child["rss_kib"]
