"""Every integration file that uses the lab cluster says whether it may run beside the files that
change it (tests/conftest.py): a new file that forgets fails here, not as a flaky CI run."""
from __future__ import annotations

import re

from tests.conftest import INTEGRATION, READS_CLUSTER_BESIDE, RUN_ALONE, SHARED_CLUSTER

USES_CLUSTER = re.compile(r"\blab_(k8s|realnode)\b")


def test_every_file_that_uses_the_cluster_is_grouped():
    files = sorted(p.relative_to(INTEGRATION).as_posix() for p in INTEGRATION.rglob("test_*.py"))
    using = [f for f in files if USES_CLUSTER.search((INTEGRATION / f).read_text())]
    assert using, "no integration file uses the lab cluster: the pattern is wrong"
    assert [f for f in using if f not in SHARED_CLUSTER and f not in READS_CLUSTER_BESIDE] == []
    assert not SHARED_CLUSTER & set(READS_CLUSTER_BESIDE) and RUN_ALONE <= SHARED_CLUSTER
    assert set(SHARED_CLUSTER) | set(READS_CLUSTER_BESIDE) <= set(files), "a grouped file no longer exists"
