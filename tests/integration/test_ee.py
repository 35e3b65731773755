"""The execution environment definition, validated without a container engine (scripts/ee-check.sh).

ee-check builds the collection, runs `ansible-builder create`, checks the generated build context
and runs the EE smoke playbook (tests/ee/all.yml) with the collection installed from the tarball.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.integration.collection import REPO_ROOT


def run_ee_check(workdir: Path, **extra_env):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", **extra_env)
    return subprocess.run(["bash", str(REPO_ROOT / "scripts" / "ee-check.sh"), str(workdir)], cwd=str(REPO_ROOT), env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def test_ee_build_context_is_valid(tmp_path):
    proc = run_ee_check(tmp_path / "ee")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ee-check: OK" in proc.stdout
    context = tmp_path / "ee" / "context"
    containerfile = (context / "Containerfile").read_text()
    version = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["version"]
    assert (context / "_build" / "collections" / f"sre-toolkit-{version}.tar.gz").is_file()
    assert "ansible-galaxy collection install" in containerfile
    requirements = (context / "_build" / "requirements.txt").read_text().split("\n")
    assert "kubernetes>=35,<38" in requirements and "requests>=2.31" in requirements


def test_ee_definition_is_version_3():
    definition = yaml.safe_load((REPO_ROOT / "meta" / "execution-environment.yml").read_text())
    assert definition["version"] == 3
    assert definition["dependencies"]["python"] == "ee-requirements.txt"
    assert definition["dependencies"]["system"] == "ee-bindep.txt"


def test_ee_check_fails_on_a_wrong_tarball_version(tmp_path):
    """The check can fail: a definition naming another version's tarball is refused."""
    broken = tmp_path / "execution-environment.yml"
    text = (REPO_ROOT / "meta" / "execution-environment.yml").read_text()
    broken.write_text(text.replace("sre-toolkit-1.0.0.tar.gz", "sre-toolkit-0.0.1.tar.gz"))
    proc = run_ee_check(tmp_path / "ee", EE_DEFINITION=str(broken))
    assert proc.returncode != 0
    assert "does not reference collections/sre-toolkit-" in proc.stderr


def test_ee_check_fails_on_a_dropped_requirement(tmp_path):
    """A Python requirement the definition no longer installs is caught in the generated context."""
    broken = tmp_path / "execution-environment.yml"
    text = (REPO_ROOT / "meta" / "execution-environment.yml").read_text()
    broken.write_text(text.replace("  python: ee-requirements.txt\n", "  python: [requests>=2.31]\n"))
    assert broken.read_text() != text
    proc = run_ee_check(tmp_path / "ee", EE_DEFINITION=str(broken))
    assert proc.returncode != 0
    assert "_build/requirements.txt lacks 'kubernetes" in proc.stderr
