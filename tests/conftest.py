"""Session fixtures shared by every test tier.

- Makes `ansible_collections.sre.toolkit` importable from this checkout (a symlink farm
  outside the repo), so unit tests import the plugins the way Ansible does.
- `lab_tls`, `lab_k8s`, `lab_realnode`, `lab_prometheus`: bring that lab component up once per run when it is
  not already up, hand its description (a dict from lab.json) to the tests, and take down at
  the end only what this run started (LAB_KEEP=1 keeps it).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.integration.collection import collections_root  # noqa: E402

sys.path.insert(0, str(collections_root()))


def _lab_component(request, name):
    from tests.lab import lab
    from tests.lab.common import LabContext

    ctx = LabContext()
    module = lab._component(name)
    info = lab.read_lab(ctx)
    if name in info and module.status(ctx).get("running"):
        return info[name]
    info = lab.up(ctx, only=(name,))
    if os.environ.get("LAB_KEEP") != "1":
        request.addfinalizer(lambda: lab.down(ctx, only=(name,)))
    return info[name]


@pytest.fixture(scope="session")
def lab_tls(request):
    return _lab_component(request, "tls")


@pytest.fixture(scope="session")
def lab_k8s(request, lab_tls):  # the TLS component provides the Secrets the cluster is seeded with
    return _lab_component(request, "k8s")


@pytest.fixture(scope="session")
def lab_realnode(request, lab_k8s):  # a real kubelet registered with the lab's control plane
    return _lab_component(request, "realnode")


@pytest.fixture(scope="session")
def lab_prometheus(request):
    return _lab_component(request, "prometheus")
