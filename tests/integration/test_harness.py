"""The harness itself: a real ansible-playbook runs a real module of this checkout."""
import json
import subprocess
from pathlib import Path

from tests.integration.ansible import PYTHON, ansible_env, run_module


def test_run_module_returns_the_registered_result(tmp_path):
    target = tmp_path / "probe.txt"
    result = run_module("ansible.builtin.copy", {"content": "sre", "dest": str(target)})
    assert result["changed"] is True and target.read_text() == "sre"
    again = run_module("ansible.builtin.copy", {"content": "sre", "dest": str(target)})
    assert again["changed"] is False


def test_collection_is_found_by_ansible():
    galaxy = Path(PYTHON).parent / "ansible-galaxy"
    proc = subprocess.run([str(galaxy), "collection", "list", "sre.toolkit", "--format", "json"],
                          env=ansible_env(), capture_output=True, text=True, check=True)
    listed = {name: meta for path in json.loads(proc.stdout).values() for name, meta in path.items()}
    assert listed["sre.toolkit"]["version"] == "1.0.0"
