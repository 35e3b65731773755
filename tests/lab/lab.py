"""The local lab: a real Kubernetes control plane (kwok as kubelet) with one real node (a kubelet
with containerd), a Prometheus with a known alert history, and real TLS endpoints, all on 127.0.0.1.

    python tests/lab/lab.py up [--scale] [--only tls,k8s,realnode,prometheus]
    python tests/lab/lab.py down
    python tests/lab/lab.py status
    python tests/lab/lab.py verify-down     # exit 1 with what is left (processes, containers, mounts, netns...)

`up` is idempotent, writes <state>/lab.json (what tests and the demo read) and tears down
what it started if any component fails. `down` leaves nothing running.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.lab.common import LabContext, LabError, lab_processes  # noqa: E402

COMPONENTS = ("tls", "k8s", "realnode", "prometheus")


def _component(name: str):
    try:
        return importlib.import_module(f"tests.lab.components.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"tests.lab.components.{name}":
            raise
        raise LabError(f"lab component {name!r} is not in this checkout (tests/lab/components/{name}.py)")


def lab_file(ctx: LabContext) -> Path:
    return ctx.state_dir / "lab.json"


def read_lab(ctx: LabContext) -> dict:
    path = lab_file(ctx)
    return json.loads(path.read_text()) if path.exists() else {}


def up(ctx: LabContext, only=COMPONENTS) -> dict:
    ctx.state_dir.mkdir(parents=True, exist_ok=True)
    info = read_lab(ctx)
    started = []
    try:
        for name in only:
            started.append(name)  # a half-started component is torn down too
            info[name] = _component(name).up(ctx, dict(info))
            lab_file(ctx).write_text(json.dumps(info, indent=2, sort_keys=True))
    except BaseException:
        for name in reversed(started):
            _safe_down(ctx, name)
        for name in only:
            info.pop(name, None)
        lab_file(ctx).write_text(json.dumps(info, indent=2, sort_keys=True))
        raise
    return info


def _safe_down(ctx: LabContext, name: str) -> None:
    try:
        _component(name).down(ctx)
    except Exception as exc:  # keep tearing down the others
        ctx.log(f"{name}: down failed: {exc}")


def down(ctx: LabContext, only=COMPONENTS) -> None:
    for name in reversed(only):
        _safe_down(ctx, name)
    info = read_lab(ctx)
    for name in only:
        info.pop(name, None)
    if info:
        lab_file(ctx).write_text(json.dumps(info, indent=2, sort_keys=True))
    else:
        lab_file(ctx).unlink(missing_ok=True)


def leftovers(ctx: LabContext) -> dict:
    """Processes of this lab still running (after `down` there must be none), plus what a component
    reports through its own leftovers(ctx) (the real node: shims, container processes, mounts,
    network namespaces, cgroups, its bridge)."""
    left = {str(pid): cmd for pid, cmd in lab_processes(ctx.state_dir).items()}
    for name in COMPONENTS:
        check = getattr(_component(name), "leftovers", None)
        for kind, what in (check(ctx) if check else {}).items():
            left[f"{name} {kind}"] = json.dumps(what, sort_keys=True, default=str)
    return left


def status(ctx: LabContext) -> dict:
    return {name: _component(name).status(ctx) for name in COMPONENTS}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("up", "down", "status", "verify-down"))
    parser.add_argument("--scale", action="store_true", help="benchmark size (about 500 nodes / 20,000 pods, 2,000 alert instances)")
    parser.add_argument("--only", default=",".join(COMPONENTS), help="comma-separated subset of: " + ", ".join(COMPONENTS))
    args = parser.parse_args(argv)
    wanted = {c for c in args.only.split(",") if c}
    only = tuple(c for c in COMPONENTS if c in wanted)
    unknown = sorted(wanted - set(COMPONENTS))
    if unknown:
        parser.error(f"--only: unknown component(s) {', '.join(unknown)}; choose from {', '.join(COMPONENTS)}")
    ctx = LabContext(scale=args.scale)
    try:
        if args.action == "up":
            info = up(ctx, only)
            print(json.dumps(info, indent=2, sort_keys=True))
            print(f"[lab] lab description: {lab_file(ctx)}")
        elif args.action == "down":
            down(ctx, only)
            print("[lab] down")
        elif args.action == "verify-down":
            left = leftovers(ctx)
            if left:
                raise LabError("left after down: " + "; ".join(f"{what}: {detail[:200]}" for what, detail in sorted(left.items())))
            print("[lab] nothing left running")
        else:
            print(json.dumps(status(ctx), indent=2, sort_keys=True))
    except LabError as exc:
        print(f"[lab] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
