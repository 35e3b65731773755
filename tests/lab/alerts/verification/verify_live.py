"""Re-run the live check behind SEMANTICS.md: let a real Prometheus evaluate live-rules.yml every
second, stop it, dump its TSDB with promtool and print one line per series and evaluation.

    python -m tests.lab.alerts.verification.verify_live [--seconds 110] [--keep DIR]

Legend: 1 = sample, S = stale marker (NaN), . = nothing; for ALERTS_FOR_STATE, a = value equals
the floor of this evaluation's time (a new ActiveAt), f = an earlier ActiveAt carried on.
"""
from __future__ import annotations

import argparse
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

from tests.lab.alerts.history import wait_ready  # noqa: E402
from tests.lab.common import free_port, start_daemon, stop_daemon  # noqa: E402

RULES = Path(__file__).with_name("live-rules.yml")


def timelines(dump_text: str) -> list[str]:
    series = defaultdict(dict)
    for line in dump_text.splitlines():
        match = re.match(r"(\{.*\}) (\S+) (\d+)$", line.strip())
        if match:
            series[match.group(1)][int(match.group(3))] = match.group(2)
    stamps = sorted({t for samples in series.values() for t in samples})
    steps = sorted({b - a for a, b in zip(stamps, stamps[1:])})
    out = [f"evaluations: {len(stamps)}, first at {stamps[0]} ms, steps {steps} ms"]
    for name in sorted(series):
        row = []
        for t in range(stamps[0], stamps[-1] + 1, steps[0]):
            value = series[name].get(t)
            if value is None:
                row.append(".")
            elif value == "NaN":
                row.append("S")
            elif "ALERTS_FOR_STATE" in name:
                row.append("a" if float(value) == math.floor(t / 1000) else "f")
            else:
                row.append("1")
        out += [name, "    " + "".join(row)]
    return out


def run(seconds: int, workdir: Path) -> list[str]:
    config = workdir / "prometheus.yml"
    config.write_text(f"global:\n  evaluation_interval: 1s\nrule_files:\n  - {RULES}\n")
    port = free_port()
    start_daemon("prometheus", ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
                                f"--web.listen-address=127.0.0.1:{port}"], workdir)
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        time.sleep(seconds)
    finally:
        stop_daemon("prometheus", workdir, timeout=30)
    dump = subprocess.run(["promtool", "tsdb", "dump", str(workdir / "data")], capture_output=True, text=True, check=True)
    return timelines(dump.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=110)
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one)")
    args = parser.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="prom-live-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        print("\n".join(run(args.seconds, workdir)))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
