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


# The integration tier runs in two pytest-xdist workers (`--dist loadgroup`, scripts/test-all.sh).
# These files change the lab cluster (kill pods, restart the real node, patch workloads, play an
# incident) or read it whole and compare with its ground truth or with a second read: they run one
# after the other in one worker, in file order. Every other integration file is a group of its own
# (it reads only Prometheus history, the TLS lab, its own servers or a lab of its own).
SHARED_CLUSTER = {
    "test_k8s_health.py", "test_pod_killer.py", "test_memory_hog.py", "test_real_node.py", "test_chaos_report.py",
    "test_incident_timeline.py", "test_rightsizing.py", "test_contract.py", "test_notify.py", "test_harness.py",
    "test_k8s_client.py", "lab/test_lab_loopback.py",
}
# Files that run alone, after the two workers are done: real containers and cgroups on the real node,
# whose memory_hog runs lost the target container's cgroup when the machine was loaded with both workers.
RUN_ALONE = {"test_real_node.py"}
# Files that use the lab cluster yet may run beside those: what they read nobody changes.
READS_CLUSTER_BESIDE = {
    "test_cert_expiry.py": "reads the TLS Secrets the lab was seeded with; no test changes them",
    "test_reports.py": "compares the formats of one diagnose run with each other, not with the cluster",
    "lab/test_k8s_lab.py": "checks the seeded objects and kwok's crash loop, and brings up a second lab of its own",
}
INTEGRATION = REPO_ROOT / "tests" / "integration"


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath))
        if INTEGRATION not in path.parents:
            continue
        name = path.relative_to(INTEGRATION).as_posix()
        item.add_marker(pytest.mark.xdist_group("shared-cluster" if name in SHARED_CLUSTER else name))
        if name in RUN_ALONE:
            item.add_marker(pytest.mark.alone)
