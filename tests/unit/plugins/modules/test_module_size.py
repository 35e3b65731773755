"""Modules stay short faces (docs/developing.md): argument spec, build clients, call the service, return.

Counts the lines of code of every module outside DOCUMENTATION / EXAMPLES / RETURN (blank lines and
comments left out); orchestration belongs in the domain's service (``_<domain>/service.py``).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

MODULES = Path(__file__).resolve().parents[4] / "plugins" / "modules"
DOCS = {"DOCUMENTATION", "EXAMPLES", "RETURN"}
LIMIT = 90  # the aim is 80 or fewer


def code_lines(path):
    source = path.read_text()
    docs = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in DOCS for t in node.targets):
            docs.update(range(node.lineno, node.end_lineno + 1))
    return sum(1 for number, line in enumerate(source.splitlines(), 1)
               if number not in docs and line.strip() and not line.strip().startswith("#"))


def test_every_module_is_found():
    assert len(sorted(MODULES.glob("*.py"))) >= 5


@pytest.mark.parametrize("path", sorted(MODULES.glob("*.py")), ids=lambda p: p.name)
def test_module_is_a_short_face(path):
    lines = code_lines(path)
    assert lines <= LIMIT, "%s has %d lines of code besides its docs (limit %d): move orchestration into the service" % (
        path.name, lines, LIMIT)


def test_the_counter_skips_docs_blank_lines_and_comments(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('DOCUMENTATION = r"""\nx\ny\n"""\n\n# a comment\nimport os\n\n\ndef main():\n    return os\n')
    assert code_lines(module) == 3
