from ansible_collections.sre.toolkit.plugins.module_utils._health import nodes
from helpers import NOW, ago, ids, node


def judge(conditions, **kw):
    return nodes.judge_node(node("n1", conditions=conditions, **kw), NOW)


def test_healthy_node_has_no_findings():
    assert nodes.judge_node(node("n1"), NOW) == []


def test_ready_false_is_not_ready_with_duration():
    out = judge([{"type": "Ready", "status": "False", "reason": "KubeletNotReady", "lastTransitionTime": ago(5400)}])
    assert ids(out) == ["node.not_ready"]
    assert out[0]["severity"] == "critical"
    assert out[0]["evidence"]["for"] == "1h30m"
    assert out[0]["evidence"]["reason"] == "KubeletNotReady"


def test_ready_unknown_is_unreachable_and_hides_unknown_pressure():
    out = judge([{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "lastTransitionTime": ago(120)},
                 {"type": "MemoryPressure", "status": "Unknown"}, {"type": "DiskPressure", "status": "Unknown"}])
    assert ids(out) == ["node.unreachable"]


def test_missing_ready_condition_is_not_ready():
    assert ids(judge([{"type": "MemoryPressure", "status": "False"}])) == ["node.not_ready"]


def test_pressure_is_bad_when_true_only():
    out = judge([{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "True", "lastTransitionTime": ago(60)},
                 {"type": "DiskPressure", "status": "False"}, {"type": "PIDPressure", "status": "True"}])
    assert ids(out) == ["node.memory_pressure", "node.pid_pressure"]
    assert {f["severity"] for f in out} == {"warning"}


def test_network_unavailable_absent_or_false_is_fine_true_is_critical():
    assert judge([{"type": "Ready", "status": "True"}, {"type": "NetworkUnavailable", "status": "False"}]) == []
    out = judge([{"type": "Ready", "status": "True"}, {"type": "NetworkUnavailable", "status": "True"}])
    assert [(f["id"], f["severity"]) for f in out] == [("node.network_unavailable", "critical")]


def test_readiness_named_agent_conditions_true_is_healthy():
    # EKS node agent: KernelReady=True must not be flagged (k8sgpt #1461)
    healthy = [{"type": "Ready", "status": "True"}] + [{"type": t, "status": "True"} for t in
                                                       ("KernelReady", "ContainerRuntimeReady", "StorageReady", "NetworkingReady")]
    assert judge(healthy) == []
    out = judge([{"type": "Ready", "status": "True"}, {"type": "KernelReady", "status": "False"}])
    assert ids(out) == ["node.agent_not_ready"]


def test_problem_named_npd_conditions_false_is_healthy():
    assert judge([{"type": "Ready", "status": "True"}, {"type": "KernelDeadlock", "status": "False"},
                  {"type": "ReadonlyFilesystem", "status": "False"}]) == []
    assert ids(judge([{"type": "Ready", "status": "True"}, {"type": "ReadonlyFilesystem", "status": "True"}])) == ["node.problem_detected"]


def test_unknown_condition_type_is_info_never_failure():
    for status in ("True", "False", "Unknown"):
        out = judge([{"type": "Ready", "status": "True"}, {"type": "FooBarHealthy", "status": status}])
        assert [(f["id"], f["severity"]) for f in out] == [("node.unknown_condition", "info")]
        assert out[0]["evidence"]["status"] == status


def test_maintenance_and_informational_types():
    out = judge([{"type": "Ready", "status": "True"}, {"type": "DrainInProgress", "status": "True"},
                 {"type": "EtcdIsVoter", "status": "True"}, {"type": "MaintenancePlanned", "status": "False"}])
    assert [(f["id"], f["severity"]) for f in out] == [("node.maintenance", "info")]


def test_cordon_and_extra_taints_but_not_managed_taints():
    out = nodes.judge_node(node("n1", unschedulable=True, taints=[
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
        {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
        {"key": "soft", "effect": "PreferNoSchedule"}]), NOW)
    assert ids(out) == ["node.cordoned", "node.tainted"]
    tainted = [f for f in out if f["id"] == "node.tainted"][0]
    assert tainted["evidence"]["taints"] == ["dedicated=gpu:NoSchedule"]


def test_roles():
    assert nodes.node_roles(node("n", roles=("worker", "control-plane"))) == ["control-plane", "worker"]
    assert nodes.node_roles(node("n")) == []


def test_node_lease_fresh_stale_missing():
    fresh = {"metadata": {"name": "n1"}, "spec": {"renewTime": ago(5)[:-1] + ".123456Z"}}
    assert nodes.judge_node_lease("n1", fresh, NOW, 120) is None
    stale = nodes.judge_node_lease("n1", {"spec": {"renewTime": ago(600)}}, NOW, 120)
    assert stale["id"] == "node.lease_stale" and stale["evidence"]["age_seconds"] == 600
    assert nodes.judge_node_lease("n1", None, NOW, 120)["id"] == "node.lease_missing"
