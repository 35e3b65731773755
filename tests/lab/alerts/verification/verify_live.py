"""Re-run the live check behind SEMANTICS.md: let a real Prometheus evaluate live-rules.yml every
second, stop it, dump its TSDB with promtool and print one line per series and evaluation.

    python -m tests.lab.alerts.verification.verify_live [--seconds 110] [--keep DIR]

With --compare, also predicts every series from the rules' conditions (written here in Python)
with the generator's own state machine (model.episodes_from_runs, history.instance_series) and
exits 1 on any difference: the generator writes what this Prometheus writes.

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

import yaml  # noqa: E402

from tests.lab.alerts import model  # noqa: E402
from tests.lab.alerts.generator import _duration_seconds  # noqa: E402
from tests.lab.alerts.history import instance_series, wait_ready  # noqa: E402
from tests.lab.common import free_port, start_daemon, stop_daemon  # noqa: E402

RULES = Path(__file__).with_name("live-rules.yml")
STARTUP_SILENT_EVALS = 2  # SEMANTICS.md fact 8: the first two evaluations after a start write nothing

# the conditions of live-rules.yml as functions of the evaluation time (seconds)
CONDITIONS = {
    "NoFor": lambda t: t % 20 < 6,
    "WithFor": lambda t: t % 20 < 8,
    "ReactNoFor": lambda t: math.floor(t) % 10 != 0,
    "ReactFor": lambda t: math.floor(t) % 10 != 0,
    "Keep": lambda t: t % 20 < 4,
    "NearMiss": lambda t: t % 20 < 5,
    "Watchdog": lambda t: True,
}


def parse_dump(dump_text: str) -> dict:
    """{series labels text: {timestamp ms: value text}} from `promtool tsdb dump`."""
    series = defaultdict(dict)
    for line in dump_text.splitlines():
        match = re.match(r"(\{.*\}) (\S+) (\d+)$", line.strip())
        if match:
            series[match.group(1)][int(match.group(3))] = match.group(2)
    return series


def _labels_text(labels: dict) -> str:
    return "{" + ", ".join(f'{k}="{labels[k]}"' for k in sorted(labels, key=lambda k: (k != "__name__", k))) + "}"


def predict(first_ms: int, evaluations: int) -> dict:
    """The series the generator's state machine writes for live-rules.yml, same shape as parse_dump."""
    timeline = model.Timeline(first_ms - model.PHASE_MS, 1000, evaluations)
    out = {}
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            name = rule["alert"]
            if name not in CONDITIONS:
                continue
            true = [k for k in range(-STARTUP_SILENT_EVALS, evaluations) if CONDITIONS[name](timeline.t_ms(k) / 1000)]
            runs = model.normalise([(k, k + 1) for k in true])
            episodes = model.episodes_from_runs(runs, math.ceil(_duration_seconds(rule.get("for"))),
                                                math.ceil(_duration_seconds(rule.get("keep_firing_for"))))
            labels = {**(rule.get("labels") or {}), "alertname": name}
            inst = model.Instance(name, "live", labels, (), episodes)
            for kind, segments in instance_series(inst, evaluations).items():
                extra = {"__name__": "ALERTS_FOR_STATE"} if kind == "for_state" else {"__name__": "ALERTS", "alertstate": kind}
                samples = out.setdefault(_labels_text({**labels, **extra}), {})
                for a, b, active, stale in segments:
                    value = "1" if active is None else repr(float(timeline.t_ms(active) // 1000))
                    for k in range(a, b + 1):
                        samples[timeline.t_ms(k)] = value
                    if stale is not None:
                        samples[timeline.t_ms(stale)] = "NaN"
    return out


def regular(dumped: dict) -> bool:
    stamps = sorted({t for samples in dumped.values() for t in samples})
    return {b - a for a, b in zip(stamps, stamps[1:])} == {1000}


def compare(dumped: dict) -> list[str]:
    stamps = sorted({t for samples in dumped.values() for t in samples})
    predicted = predict(stamps[0], len(stamps))
    problems = []
    for name in sorted(set(dumped) | set(predicted)):
        got = {t: (v if v == "NaN" else repr(float(v))) for t, v in dumped.get(name, {}).items()}
        want = {t: (v if v == "NaN" else repr(float(v))) for t, v in predicted.get(name, {}).items()}
        if got != want:
            diff = sorted(set(got.items()) ^ set(want.items()))[:6]
            problems.append(f"{name}: {len(got)} samples written, {len(want)} predicted; first differences {diff}")
    return problems


def timelines(series: dict) -> list[str]:
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


def run(seconds: int, workdir: Path) -> dict:
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
    return parse_dump(dump.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=110)
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one)")
    parser.add_argument("--compare", action="store_true", help="check the generator's prediction of every series")
    args = parser.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="prom-live-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for attempt in range(3):
            shutil.rmtree(workdir / "data", ignore_errors=True)
            series = run(args.seconds, workdir)
            if regular(series):
                break
            # the model assumes evenly spaced evaluations; an overloaded machine makes Prometheus skip some
            print(f"attempt {attempt + 1}: Prometheus missed evaluations (machine overloaded), running again", file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(timelines(series)))
    if args.compare:
        problems = compare(series)
        print("\n".join(problems) if problems else f"generator prediction matches all {len(series)} series")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
