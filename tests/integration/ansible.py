"""Run modules and playbooks through a real ansible-playbook, with this checkout as sre.toolkit."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.integration.collection import REPO_ROOT, collections_root

PYTHON = sys.executable
# writes the registered result of run_module's task (a second task copying it cost ~0.5 s a run)
RESULT_CALLBACK = Path(__file__).parent / "callback_plugins" / "sre_toolkit_result_file.py"


def ansible_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(collections_root()),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "PATH": f"{Path(PYTHON).parent}:{env.get('PATH', '')}",
    })
    env.update(extra or {})
    return env


def inventory_file(workdir: Path) -> Path:
    path = workdir / "inventory.ini"
    path.write_text(f"localhost ansible_connection=local ansible_python_interpreter={PYTHON}\n")
    return path


def playbook_command(playbook: Path, workdir: Path, extra_vars: dict | None = None, check=False, diff=False,
                     inventory: Path | None = None) -> list:
    cmd = [str(Path(PYTHON).parent / "ansible-playbook"), "-i", str(inventory or inventory_file(workdir)), str(playbook)]
    if extra_vars:
        varfile = workdir / "extra_vars.json"
        varfile.write_text(json.dumps(extra_vars))
        cmd += ["-e", f"@{varfile}"]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    return cmd


def run_playbook(playbook, extra_vars: dict | None = None, check=False, diff=False, env: dict | None = None,
                 timeout: float = 900, inventory: Path | None = None) -> dict:
    """Run a playbook; returns {"rc", "stdout", "stderr"}."""
    with tempfile.TemporaryDirectory(prefix="sre-toolkit-play-") as tmp:
        cmd = playbook_command(Path(playbook), Path(tmp), extra_vars, check, diff, inventory)
        proc = subprocess.run(cmd, cwd=str(REPO_ROOT), env=ansible_env(env), capture_output=True, text=True, timeout=timeout, check=False)
        return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def run_module(name: str, args: dict, check=False, diff=False, env: dict | None = None, timeout: float = 900) -> dict:
    """Run sre.toolkit.<name> with `args` in a one-task playbook; returns the registered result.

    The result also carries `_stdout`/`_stderr`/`_rc` of the ansible-playbook run, so a test
    can assert that no traceback or secret reached the output.
    """
    fqcn = name if "." in name else f"sre.toolkit.{name}"
    with tempfile.TemporaryDirectory(prefix="sre-toolkit-mod-") as tmp:
        tmpdir = Path(tmp)
        out = tmpdir / "result.json"
        play = [{
            "name": f"run {fqcn}",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {"name": "module under test", fqcn: "{{ module_args }}", "register": "result", "ignore_errors": True},
            ],
        }]
        playbook = tmpdir / "play.yml"
        playbook.write_text(json.dumps(play))
        cmd = playbook_command(playbook, tmpdir, {"module_args": args}, check, diff)
        saving = {"ANSIBLE_CALLBACK_PLUGINS": str(RESULT_CALLBACK.parent), "ANSIBLE_CALLBACKS_ENABLED": RESULT_CALLBACK.stem,
                  "SRE_TOOLKIT_RESULT_FILE": str(out)}
        proc = subprocess.run(cmd, cwd=str(REPO_ROOT), env=ansible_env({**(env or {}), **saving}), capture_output=True, text=True,
                              timeout=timeout, check=False)
        if not out.exists():
            raise AssertionError(f"ansible-playbook produced no result (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        result = json.loads(out.read_text())
        result.update({"_rc": proc.returncode, "_stdout": proc.stdout, "_stderr": proc.stderr})
        return result
