"""What ansible-builder gets from sre.toolkit when the collection is part of someone's execution environment.

Run on the BUILT tarball (build tier: SRE_TOOLKIT_TARBALL=<tarball>; without it the test builds one):
meta/execution-environment.yml names its Python and system requirement files relative to the
collection root, both files are in the tarball, the Python requirements are exactly the libraries the
plugins import through _deps.OptionalImport, the bindep file parses, and ansible-builder's own
introspection of the installed collection finds them.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# import name -> distribution name, where they differ
DISTRIBUTION = {"yaml": "pyyaml"}


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    given = os.environ.get("SRE_TOOLKIT_TARBALL")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out), str(REPO)],
                   check=True, capture_output=True, text=True)
    return next(out.glob("sre-toolkit-*.tar.gz"))


@pytest.fixture(scope="module")
def members(tarball) -> dict:
    with tarfile.open(tarball) as tar:
        return {m.name.removeprefix("./"): (tar.extractfile(m).read().decode(errors="replace") if m.isfile() else None)
                for m in tar.getmembers()}


def requirement_names(text: str) -> set:
    names = set()
    for line in text.splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith("#"):
            names.add(re.split(r"[<>=!~;\[ ]", line)[0].lower().replace("_", "-"))
    return names


def plugin_imports(members: dict) -> set:
    found = set()
    for name, text in members.items():
        if name.startswith("plugins/") and name.endswith(".py") and text:
            found.update(re.findall(r"""OptionalImport\(\s*["']([A-Za-z0-9_.]+)["']""", text))
    return {DISTRIBUTION.get(n.split(".")[0], n.split(".")[0]).lower() for n in found}


def test_ee_metadata_names_files_that_are_in_the_tarball(members):
    meta = yaml.safe_load(members["meta/execution-environment.yml"])
    assert meta["version"] in (1, 3)
    deps = meta["dependencies"]
    assert set(deps) == {"python", "system"}, "a collection's EE metadata only names its requirement files"
    for key in ("python", "system"):
        assert isinstance(deps[key], str) and not deps[key].startswith("/"), deps[key]
        assert members.get(deps[key]), f"{deps[key]} (dependencies.{key}) is not in the built collection"
    assert "images" not in meta and "additional_build_files" not in meta, "the image definition lives in docs/awx/ee/"


def test_python_requirements_are_what_the_plugins_import(members):
    meta = yaml.safe_load(members["meta/execution-environment.yml"])
    listed = requirement_names(members[meta["dependencies"]["python"]])
    imported = plugin_imports(members)
    assert {"kubernetes", "requests", "cryptography", "pyyaml"} <= imported, imported
    assert listed == imported, f"requirements.txt lists {sorted(listed)}, the plugins import {sorted(imported)}"


def test_the_import_scan_sees_a_new_library():
    """The comparison above can fail: a plugin importing another library is noticed."""
    fake = {"plugins/module_utils/x.py": 'with OptionalImport("jmespath") as J:\n    import jmespath\n',
            "plugins/module_utils/y.py": "with OptionalImport('yaml'):\n    import yaml\n"}
    assert plugin_imports(fake) == {"jmespath", "pyyaml"}


def test_bindep_file_parses(members):
    from bindep.depends import Depends

    meta = yaml.safe_load(members["meta/execution-environment.yml"])
    depends = Depends(members[meta["dependencies"]["system"]])
    names = {rule[0] for rule in depends._rules}
    assert "ca-certificates" in names
    assert depends.platform_profiles()  # evaluates the platform selectors on this machine


def test_ansible_builder_introspection_finds_the_requirements(tarball, tmp_path):
    """What `ansible-builder build` runs on the collections of an EE: it must find ours."""
    install = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(tmp_path),
                              str(tarball)], capture_output=True, text=True, check=False,
                             env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path)))
    assert install.returncode == 0, install.stdout + install.stderr
    proc = subprocess.run([str(BIN / "ansible-builder"), "introspect", str(tmp_path)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = yaml.safe_load(proc.stdout)
    ours = [line for line in out.get("python") or [] if line.endswith("# from collection sre.toolkit")]
    # PyYAML is left out by ansible-builder on purpose: ansible-core, which every EE has, requires it.
    assert requirement_names("\n".join(ours)) == {"kubernetes", "requests", "cryptography", "idna"}, proc.stdout
    system = [line for line in out.get("system") or [] if line.endswith("# from collection sre.toolkit")]
    assert any(line.startswith("ca-certificates ") for line in system), proc.stdout
