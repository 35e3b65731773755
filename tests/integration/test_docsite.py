"""SLOW (about a minute): the antsibull-docs docsite builds (scripts/docs-build.sh) and has a page per
plugin and role, the guides of docs/docsite/extra-docs.yml, and the report screenshot.

It installs the docsite's requirements (antsibull-docs' generated requirements.txt) into this
Python first, as the script does.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.integration.collection import REPO_ROOT


def plugin_pages():
    pages = [f"{p.stem}_module.html" for p in (REPO_ROOT / "plugins" / "modules").glob("*.py") if not p.name.startswith("_")]
    for doc in (REPO_ROOT / "plugins" / "filter").glob("*.yml"):
        pages.append(f"{doc.stem}_filter.html")
    pages += [f"{r.name}_role.html" for r in (REPO_ROOT / "roles").iterdir() if (r / "meta" / "argument_specs.yml").is_file()]
    return sorted(pages)


def test_docsite_builds_with_every_plugin_page(tmp_path):
    dest = tmp_path / "docsite"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    proc = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "docs-build.sh"), str(dest)], cwd=str(REPO_ROOT), env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    html = dest / "build" / "html" / "collections" / "sre" / "toolkit"
    pages = plugin_pages()
    assert "k8s_health_module.html" in pages and "notify_role.html" in pages
    for page in pages:
        text = (html / page).read_text()
        assert "sre.toolkit" in text, page
    guides = yaml.safe_load((REPO_ROOT / "docs" / "docsite" / "extra-docs.yml").read_text())["sections"][0]["toctree"]
    for guide in guides:
        assert (html / "docsite" / f"{guide}.html").is_file(), guide
    diagnose = (html / "docsite" / "guide_diagnose.html").read_text()
    assert "_images/diagnose-report.png" in diagnose
    shot = dest / "build" / "html" / "_images" / "diagnose-report.png"
    assert shot.read_bytes() == (REPO_ROOT / "docs" / "images" / "diagnose-report.png").read_bytes()
    index = (html / "index.html").read_text()
    assert all(page.replace(".html", "") in index for page in pages)
