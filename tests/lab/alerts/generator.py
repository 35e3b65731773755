"""Generate the lab's 30-day alert history and its ground truth.

    python -m tests.lab.alerts.generator --out DIR [--seed 42] [--scale] [--end UNIX_SECONDS]

DIR/tsdb is a Prometheus data directory holding ALERTS and ALERTS_FOR_STATE exactly as
Prometheus 2.42 writes them (SEMANTICS.md), DIR/ground_truth.json describes it (README.md),
DIR/rules.yml is the rules file to serve with it.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.lab.alerts import history, model, truth  # noqa: E402

GENERATOR_VERSION = "2"
INTERVAL_SECONDS = 60
WINDOW_DAYS = 30
RULES_FILE = Path(__file__).with_name("rules.yml")


def _duration_seconds(text) -> int:
    if not text:
        return 0
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    total, number = 0.0, ""
    i = 0
    while i < len(text):
        if text[i].isdigit():
            number += text[i]
            i += 1
            continue
        unit = "ms" if text[i:i + 2] == "ms" else text[i]
        total += int(number) * units[unit]
        number, i = "", i + len(unit)
    return int(total)


def load_rules(path=RULES_FILE) -> dict:
    rules = {}
    for group in yaml.safe_load(Path(path).read_text())["groups"]:
        if _duration_seconds(group.get("interval")) != INTERVAL_SECONDS:
            raise ValueError(f"{path}: group {group['name']} must use interval {INTERVAL_SECONDS}s")
        for rule in group["rules"]:
            rules[rule["alert"]] = {
                "group": group["name"], "expr": rule["expr"], "labels": dict(rule.get("labels") or {}),
                "for_seconds": _duration_seconds(rule.get("for")),
                "keep_firing_for_seconds": _duration_seconds(rule.get("keep_firing_for")),
            }
    missing = sorted(set(model.BASE_INSTANCES) - set(rules))
    if missing:
        raise ValueError(f"{path}: rules the model needs are missing: {', '.join(missing)}")
    return rules


def prometheus_version(prometheus_bin="prometheus") -> str:
    out = subprocess.run([prometheus_bin, "--version"], capture_output=True, text=True, check=True)
    return (out.stdout or out.stderr).split()[2]


def day_end(now: float) -> int:
    """The UTC midnight at or before `now`: the lab's history ends there, so a day's history is one."""
    return int(now) // 86400 * 86400


def timeline(end: int) -> model.Timeline:
    evaluations = WINDOW_DAYS * 86400 // INTERVAL_SECONDS
    return model.Timeline((end - WINDOW_DAYS * 86400) * 1000, INTERVAL_SECONDS * 1000, evaluations)


def generate(out: Path, *, seed=42, scale=False, end=None, prometheus_bin="prometheus", workdir=None) -> dict:
    """Write out/tsdb, out/ground_truth.json and out/rules.yml; return timing figures."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    rules = load_rules()
    generated_at = time.time()
    tl = timeline(int(end if end is not None else day_end(generated_at)))
    instances = model.build_population(rules, tl, seed, scale)
    ground = truth.build(tl, rules, instances, seed=seed, scale=scale, version=GENERATOR_VERSION, generated_at=generated_at)
    ground["prometheus_version"] = prometheus_version(prometheus_bin)
    modelled = time.monotonic() - t0
    written = history.write_tsdb(prometheus_bin, Path(workdir or out / "work"), tl, instances, out / "tsdb")
    shutil.rmtree(out / "work", ignore_errors=True)
    shutil.copyfile(RULES_FILE, out / "rules.yml")
    ground["generation"] = {"model_seconds": round(modelled, 2), **written, "total_seconds": round(time.monotonic() - t0, 2)}
    # the scale truth is tens of MB: compact there, readable at the default size
    (out / "ground_truth.json").write_text(json.dumps(ground, indent=None if scale else 1, sort_keys=True))
    return ground["generation"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="output directory (created)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", action="store_true", help=f"{model.SCALE_INSTANCES} instances instead of the small default")
    parser.add_argument("--end", type=int, help="window end, unix seconds (default: the last UTC midnight)")
    parser.add_argument("--prometheus", default="prometheus", help="prometheus binary for the remote-write receiver")
    args = parser.parse_args(argv)
    print(json.dumps(generate(args.out, seed=args.seed, scale=args.scale, end=args.end, prometheus_bin=args.prometheus)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
