"""The execution environment (validated without a container engine by scripts/ee-check.sh; scripts/ee-build.sh builds and runs it) and the AWX examples.

ee-check builds the collection, runs `ansible-builder create`, checks the generated build context
and runs the EE smoke playbook (tests/ee/all.yml) with the collection installed from the tarball.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
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
    assert (context / "_build" / "collections" / "sre-toolkit.tar.gz").is_file()
    assert "ansible-galaxy collection install" in containerfile
    introspected = (tmp_path / "ee" / "introspect.txt").read_text()
    assert "kubernetes>=35,<38  # from collection sre.toolkit" in introspected


def test_ee_definitions():
    """The collection's EE metadata only names its requirement files; the image definition is in docs/awx/ee."""
    meta = yaml.safe_load((REPO_ROOT / "meta" / "execution-environment.yml").read_text())
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    image = yaml.safe_load((REPO_ROOT / "docs" / "awx" / "ee" / "execution-environment.yml").read_text())
    assert image["version"] == 3
    assert image["dependencies"]["galaxy"]["collections"] == [{"name": "collections/sre-toolkit.tar.gz", "type": "file"}]
    assert "python" not in image["dependencies"], "the collection brings its own requirements (introspection)"


def test_ee_check_fails_on_a_wrong_tarball(tmp_path):
    """The check can fail: a definition naming another tarball is refused."""
    broken = tmp_path / "execution-environment.yml"
    text = (REPO_ROOT / "docs" / "awx" / "ee" / "execution-environment.yml").read_text()
    broken.write_text(text.replace("collections/sre-toolkit.tar.gz", "collections/other.tar.gz"))
    assert broken.read_text() != text
    proc = run_ee_check(tmp_path / "ee", EE_DEFINITION=str(broken))
    assert proc.returncode != 0
    assert "does not reference collections/sre-toolkit.tar.gz" in proc.stderr


# --- AWX examples (docs/awx): JSON as the API takes it, kept in step with the roles --------------

AWX = REPO_ROOT / "docs" / "awx"
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


def role_options(*roles):
    options = {}
    for role in roles:
        spec = yaml.safe_load((REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        options.update(spec["argument_specs"]["main"]["options"])
    return options


def test_awx_json_files_parse():
    files = sorted(AWX.glob("*.json"))
    assert len(files) >= 8
    for path in files:
        assert isinstance(json.loads(path.read_text()), dict), path.name


@pytest.mark.parametrize("survey, roles", [("survey_diagnose.json", ("diagnose", "report", "notify")),
                                           ("survey_chaos.json", ("chaos",)), ("survey_incident.json", ("incident",))])
def test_awx_surveys_feed_real_role_options(survey, roles):
    spec = json.loads((AWX / survey).read_text())
    options = role_options(*roles)
    assert spec["spec"], survey
    for question in spec["spec"]:
        assert question["type"] in SURVEY_TYPES, question
        assert question["variable"] in options, f"{survey}: {question['variable']} is not an option of {roles}"
        if question["type"] == "multiplechoice":
            assert question["default"] in question["choices"], question
        for key in ("question_name", "required"):
            assert key in question, question


def test_awx_chaos_is_a_dry_run_by_default():
    template = json.loads((AWX / "job_template_chaos.json").read_text())
    assert yaml.safe_load(template["extra_vars"])["chaos_dry_run"] is True
    survey = json.loads((AWX / "survey_chaos.json").read_text())
    dry = [q for q in survey["spec"] if q["variable"] == "chaos_dry_run"]
    assert dry and dry[0]["default"] == "true"


def test_awx_templates_keep_secrets_out_of_extra_vars():
    for name in ("job_template_diagnose.json", "job_template_chaos.json"):
        extra = yaml.safe_load(json.loads((AWX / name).read_text())["extra_vars"])
        for key, value in extra.items():
            if any(word in key for word in ("kubeconfig", "routing_key", "webhook_url", "token", "password")):
                assert isinstance(value, str) and value.startswith("{{ lookup('ansible.builtin.env'"), (name, key)
    kube = json.loads((AWX / "credential_type_kubeconfig.json").read_text())
    assert kube["inputs"]["fields"][0]["secret"] is True
    assert kube["injectors"]["env"]["KUBECONFIG"] == "{{ tower.filename.kubeconfig }}"
    assert "extra_vars" not in kube["injectors"]


def test_awx_schedule_rrule():
    schedule = json.loads((AWX / "schedule_diagnose.json").read_text())
    assert re.fullmatch(r"DTSTART;TZID=[\w/]+:\d{8}T\d{6} RRULE:FREQ=(HOURLY|DAILY|WEEKLY);INTERVAL=\d+", schedule["rrule"])


def test_awx_workflow_nodes_name_the_templates():
    workflow = json.loads((AWX / "workflow_diagnose_then_chaos.json").read_text())
    names = {json.loads(p.read_text())["name"] for p in AWX.glob("job_template_*.json")}
    ids = {n["identifier"] for n in workflow["nodes"]}
    for node in workflow["nodes"]:
        assert node["unified_job_template"] in names
        assert set(node["success_nodes"] + node["failure_nodes"] + node["always_nodes"]) <= ids


@pytest.mark.parametrize("playbook", ["diagnose_and_notify.yml", "chaos_if_healthy.yml"])
def test_awx_playbooks_pass_syntax_check(playbook):
    from tests.integration.ansible import ansible_env

    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "--syntax-check", "-i", "localhost,",
                           str(AWX / "playbooks" / playbook)], cwd=str(REPO_ROOT), env=ansible_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
