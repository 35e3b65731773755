"""Prometheus lab component: Debian's Prometheus serving the lab's generated histories (HISTORIES).

up() installs the `prometheus` Debian package when `prometheus`/`promtool` are missing (without
letting the package start its service), generates the history once per generator version, seed
and size into <LAB_CACHE>/prometheus-history/, serves a hard-linked copy of it on 127.0.0.1 with
tests/lab/alerts/rules.yml loaded (admin API off) and waits until it is ready.
Ground-truth schema: tests/lab/alerts/README.md; semantics: tests/lab/alerts/SEMANTICS.md.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.lab.common import LabContext, LabError, daemon_alive, free_port, start_daemon, start_recorded, stop_daemon

NAME = "prometheus"
DAEMON = "prometheus"
DEFAULT_SEED = 42
RETENTION = "3650d"            # retention counts back from the newest block: keep every history block
POLICY_RC = Path("/usr/sbin/policy-rc.d")


def _dir(ctx: LabContext) -> Path:
    return ctx.component_dir(NAME)


def _record_file(ctx: LabContext) -> Path:
    return _dir(ctx) / "component.json"


def _read_record(ctx: LabContext) -> dict:
    path = _record_file(ctx)
    return json.loads(path.read_text()) if path.exists() else {}


def _seed() -> int:
    return int(os.environ.get("LAB_PROMETHEUS_SEED", DEFAULT_SEED))


def _history_end() -> int:
    """The history ends at the last UTC midnight (LAB_PROMETHEUS_END, unix seconds, picks another
    day), so it is the same all day and a new one comes with each day."""
    from tests.lab.alerts.generator import day_end

    return day_end(float(os.environ.get("LAB_PROMETHEUS_END") or time.time()))


# ------------------------------------------------------------------ install

def ensure_installed(ctx: LabContext) -> dict:
    """Paths of prometheus and promtool; installs Debian's package when either is missing."""
    found = {name: shutil.which(name) for name in ("prometheus", "promtool")}
    if all(found.values()):
        return found
    if os.geteuid() != 0:
        raise LabError("prometheus/promtool not found and not root: run `apt-get install -y --no-install-recommends prometheus` as root")
    ctx.log("prometheus: installing the Debian package (apt-get)")
    guard = not POLICY_RC.exists()
    if guard:  # invoke-rc.d asks policy-rc.d; 101 = "do not start services"
        POLICY_RC.write_text("#!/bin/sh\nexit 101\n")
        POLICY_RC.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "prometheus"], check=True, env=env, stdout=subprocess.DEVNULL)
    except subprocess.CalledProcessError as exc:
        raise LabError(f"apt-get failed ({exc}); install the Debian package `prometheus` by hand") from exc
    finally:
        if guard:
            POLICY_RC.unlink(missing_ok=True)
    if Path("/run/systemd/system").is_dir():  # a booted systemd may have started it anyway
        subprocess.run(["systemctl", "disable", "--now", "prometheus"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found = {name: shutil.which(name) for name in ("prometheus", "promtool")}
    if not all(found.values()):
        raise LabError("the Debian package `prometheus` installed no prometheus/promtool binary")
    return found


# ------------------------------------------------------------------ history

# Every generated history the lab's Prometheus serves: name -> generator module. A generator
# module has GENERATOR_VERSION (SCALE_VERSION, if set, keys its --scale history) and generate(out, *, seed, scale, end, prometheus_bin) writing
# out/tsdb (Prometheus blocks), out/ground_truth.json and, if it brings rules, out/rules.yml.
# Blocks of all histories are served side by side (Prometheus >= 2.39 merges overlapping blocks).
HISTORIES = {
    "alerts": "tests.lab.alerts.generator",
    "sli": "tests.lab.sli.generator",
    "usage": "tests.lab.usage.generator",
}


def _generator(name: str):
    import importlib

    return importlib.import_module(HISTORIES[name])


def _history_versions() -> dict:
    return {name: str(_generator(name).GENERATOR_VERSION) for name in HISTORIES}


def history_dir(ctx: LabContext, prometheus_bin: str, name: str = "alerts") -> tuple[Path, bool]:
    """The cached history `name` for its generator version, seed and size; (path, freshly generated)."""
    generator = _generator(name)
    version = getattr(generator, "SCALE_VERSION", generator.GENERATOR_VERSION) if ctx.scale else generator.GENERATOR_VERSION
    key = f"v{version}-seed{_seed()}-{'scale' if ctx.scale else 'default'}"
    target = ctx.cache_dir / "prometheus-history" / ("" if name == "alerts" else name) / key
    truth = target / "ground_truth.json"
    end = _history_end()
    if truth.exists() and json.loads(truth.read_text())["window"]["end"] == end:
        return target, False
    ctx.log(f"prometheus: generating the {name} history {key} (this takes longer with --scale)")
    building = target.with_name(key + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    generator.generate(building, seed=_seed(), scale=bool(ctx.scale), end=end, prometheus_bin=prometheus_bin)
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)
    return target, True


def _link_blocks(src: Path, dst: Path) -> None:
    """Hard-link the immutable chunk and index files of every block in src into dst, copy the
    rest (Prometheus rewrites meta files by rename, so a cached history is never modified
    through a link)."""
    def copy(s, d):
        if Path(s).parent.name == "chunks" or Path(s).name == "index":
            os.link(s, d)
        else:
            shutil.copy2(s, d)
    dst.mkdir(parents=True, exist_ok=True)
    for block in sorted(p for p in src.iterdir() if p.is_dir()):
        shutil.copytree(block, dst / block.name, copy_function=copy)


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ------------------------------------------------------------------ lifecycle

def _get_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def _wait_ready(url: str, workdir: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=2):
                return
        except OSError:
            if not daemon_alive(DAEMON, workdir):
                raise LabError(f"prometheus exited before it was ready; see {workdir / (DAEMON + '.log')}")
            time.sleep(0.3)
    raise LabError(f"prometheus not ready after {timeout:.0f}s; see {workdir / (DAEMON + '.log')}")


def up(ctx: LabContext, info: dict) -> dict:
    workdir = _dir(ctx)
    recorded = _read_record(ctx)
    if (recorded and daemon_alive(DAEMON, workdir) and recorded.get("scale") == bool(ctx.scale)
            and recorded.get("seed") == _seed() and recorded.get("window_end") == _history_end()
            and recorded.get("history_versions") == _history_versions()):
        ctx.log(f"prometheus: already up at {recorded['url']}")
        return recorded
    down(ctx)
    result = start_recorded(lambda: _bring_up(ctx, workdir), DAEMON, workdir, _record_file(ctx))
    ctx.log(f"prometheus {result['version']} up at {result['url']} in {result['up_seconds']}s; ground truth: {result['ground_truth']}")
    return result


def _bring_up(ctx: LabContext, workdir: Path) -> dict:
    bins = ensure_installed(ctx)
    histories = {name: history_dir(ctx, bins["prometheus"], name) for name in HISTORIES}
    hist, generated = histories["alerts"]
    truth = json.loads((hist / "ground_truth.json").read_text())
    data = workdir / "data"
    shutil.rmtree(data, ignore_errors=True)
    t0 = time.monotonic()
    rule_files = []
    for name, (path, _) in histories.items():
        _link_blocks(path / "tsdb", data)
        if (path / "rules.yml").exists():
            rule_files.append(workdir / f"rules-{name}.yml")
            shutil.copyfile(path / "rules.yml", rule_files[-1])
    config = workdir / "prometheus.yml"
    interval = int(truth["interval_seconds"])
    config.write_text(f"global:\n  evaluation_interval: {interval}s\nrule_files:\n" + "".join(f"  - {f}\n" for f in rule_files))
    subprocess.run([bins["promtool"], "check", "config", str(config)], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    pid = start_daemon(DAEMON, [
        bins["prometheus"], f"--config.file={config}", f"--storage.tsdb.path={data}",
        f"--storage.tsdb.retention.time={RETENTION}", f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver",
    ], workdir)
    _wait_ready(url, workdir)
    load_seconds = time.monotonic() - t0
    build = _get_json(url + "/api/v1/status/buildinfo")["data"]
    return {
        "url": url, "port": port, "pid": pid, "version": build["version"],
        "ground_truth": str(hist / "ground_truth.json"), "rules_file": str(workdir / "rules-alerts.yml"),
        "history_versions": _history_versions(),
        "histories": {name: {"ground_truth": str(path / "ground_truth.json"), "history_dir": str(path), "generated_now": fresh}
                      for name, (path, fresh) in histories.items()},
        "interval_seconds": interval, "window_start": truth["window"]["start"], "window_end": truth["window"]["end"],
        "window_seconds": truth["window"]["seconds"], "seed": truth["seed"], "scale": bool(truth["scale"]),
        "ignored_labels": truth["ignored_labels"], "history_dir": str(hist), "data_dir": str(data),
        "history_bytes": sum(_du(path / "tsdb") for path, _ in histories.values()), "generated_now": generated,
        "generation": truth.get("generation", {}), "load_seconds": round(load_seconds, 2), "admin_api": False,
    }


def down(ctx: LabContext) -> None:
    workdir = _dir(ctx)
    stop_daemon(DAEMON, workdir, timeout=30)
    shutil.rmtree(workdir / "data", ignore_errors=True)
    _record_file(ctx).unlink(missing_ok=True)


def status(ctx: LabContext) -> dict:
    workdir = _dir(ctx)
    running = daemon_alive(DAEMON, workdir)
    recorded = _read_record(ctx)
    out = {"running": running}
    if running and recorded:
        out["url"] = recorded["url"]
        try:
            with urllib.request.urlopen(recorded["url"] + "/-/ready", timeout=2):
                out["ready"] = True
        except OSError:
            out["ready"] = False
    return out
