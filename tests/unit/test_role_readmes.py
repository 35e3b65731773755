"""Every role has a README (galaxy-importer refuses a collection without), and its variables table
says what the role's argument spec says: the same variables, types and defaults.

Rewrite the tables with `python scripts/role_readmes.py` after changing an argument spec.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("role_readmes", REPO / "scripts" / "role_readmes.py")
role_readmes = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(role_readmes)

ROLES = role_readmes.roles(REPO)
ROW = re.compile(r"^\| `(?P<name>[a-z0-9_]+)` \| (?P<type>[^|]+) \| (?P<default>.*?) \| ")


def table(readme: str) -> dict:
    block = readme[readme.index(role_readmes.BEGIN):readme.index(role_readmes.END)]
    rows = {}
    for line in block.splitlines():
        match = ROW.match(line)
        if match:
            rows[match["name"]] = (match["type"].strip(), match["default"].strip())
    return rows


def test_every_role_is_covered():
    assert sorted(p.name for p in ROLES) == sorted(p.name for p in (REPO / "roles").iterdir() if p.is_dir())
    assert len(ROLES) >= 5


@pytest.mark.parametrize("role_dir", ROLES, ids=lambda p: p.name)
def test_readme_variables_match_the_argument_spec(role_dir):
    readme = (role_dir / "README.md").read_text()
    expected = {row["name"]: (row["type"], row["default"]) for row in role_readmes.variable_rows(role_dir)}
    assert table(readme) == expected, "run: python scripts/role_readmes.py"


@pytest.mark.parametrize("role_dir", ROLES, ids=lambda p: p.name)
def test_readme_says_what_the_role_does_and_shows_an_example(role_dir):
    readme = (role_dir / "README.md").read_text()
    assert readme.startswith(f"# sre.toolkit.{role_dir.name}\n")
    assert "## Variables" in readme and "## Example playbook" in readme
    examples = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    assert examples, "no YAML example"
    plays = yaml.safe_load(examples[0])
    used = [task.get("ansible.builtin.include_role", {}).get("name") for play in plays for task in play.get("tasks", [])]
    assert f"sre.toolkit.{role_dir.name}" in used
    options = set(yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())
                  ["argument_specs"]["main"]["options"])
    for play in plays:
        for task in play.get("tasks", []):
            if task.get("ansible.builtin.include_role", {}).get("name") == f"sre.toolkit.{role_dir.name}":
                unknown = set(task.get("vars", {})) - options
                assert not unknown, f"example sets variables the role does not have: {unknown}"


def test_the_check_catches_a_stale_table(tmp_path):
    """A new option in the spec makes the generated block differ from the README's."""
    role = tmp_path / "roles" / "demo"
    (role / "meta").mkdir(parents=True)
    spec = {"argument_specs": {"main": {"options": {"demo_a": {"type": "str", "default": "x", "description": "A."}}}}}
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(spec))
    readme = "# sre.toolkit.demo\n\n" + role_readmes.BEGIN + "\n" + role_readmes.END + "\n"
    current = role_readmes.render(role, readme)
    assert "| `demo_a` | str | `x` | A. |" in current
    spec["argument_specs"]["main"]["options"]["demo_b"] = {"type": "int", "default": 3, "description": "B."}
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(spec))
    assert role_readmes.render(role, current) != current
    assert table(role_readmes.render(role, current))["demo_b"] == ("int", "`3`")
