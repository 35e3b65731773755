"""Issue #20 part 2b and 2c: scope decided by the kind (a cluster-scoped object with a stray
metadata.namespace is still cluster-scoped), and `get` on pods/exec judged by the version."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.sre.toolkit.plugins.module_utils._health import audit, manifests
from ansible_collections.sre.toolkit.plugins.module_utils._health.model import CLUSTER_SCOPED_KINDS, is_cluster_scoped
from ansible_collections.sre.toolkit.plugins.module_utils._health.scan import ConfigError, HealthScan
from helpers import NOW

FIXTURES = Path(__file__).resolve().parents[5] / "tests" / "fixtures" / "manifests"
USER = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"}


def cluster_role(name, rules, namespace=None):
    md = {"name": name}
    if namespace is not None:
        md["namespace"] = namespace
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": md, "rules": rules}


def binding(name, role, kind="ClusterRoleBinding", role_kind="ClusterRole", namespace=None, subjects=None):
    md = {"name": name}
    if namespace is not None:
        md["namespace"] = namespace
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": md,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}, "subjects": subjects or [USER]}


SECRETS = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]
EXEC_GET = [{"apiGroups": [""], "resources": ["pods/exec", "pods/attach"], "verbs": ["get"]}]


def rbac(result):
    return sorted((f["id"], f["kind"], f["namespace"], f["name"]) for f in result["findings"] if f["check"] == "audit.rbac")


# ---- b: scope from the kind -------------------------------------------------------------------

@pytest.mark.parametrize("role_ns,binding_ns", [("somewhere", None), (None, "somewhere"), ("a", "b"), ("", "")])
def test_stray_namespace_on_cluster_scoped_rbac_is_dropped(role_ns, binding_ns):
    docs = [("rbac.yaml", cluster_role("reader", SECRETS, role_ns)), ("rbac.yaml", binding("reader", "reader", namespace=binding_ns))]
    res = manifests.scan_manifests(docs, now=NOW)
    assert rbac(res) == [("rbac.secret_read", "ClusterRoleBinding", "", "reader")]
    assert res["findings"][0]["severity"] == "warning"  # cluster-wide Secret reads


def test_a_rolebinding_finds_a_cluster_role_written_with_a_namespace():
    docs = [("r.yaml", cluster_role("reader", SECRETS, "team")),
            ("r.yaml", binding("team-reader", "reader", kind="RoleBinding", namespace="team"))]
    assert rbac(manifests.scan_manifests(docs, now=NOW)) == [("rbac.secret_read", "RoleBinding", "team", "team-reader")]


def test_cluster_admin_binding_with_stray_namespace_is_reported_cluster_scoped():
    res = manifests.scan_manifests([("b.yaml", binding("admins", "cluster-admin", namespace="ops"))], now=NOW)
    assert rbac(res) == [("rbac.cluster_admin", "ClusterRoleBinding", "", "admins")]
    assert res["findings"][0]["severity"] == "critical" and res["findings"][0]["evidence"]["file"] == "b.yaml"


@pytest.mark.parametrize("kind", sorted(CLUSTER_SCOPED_KINDS))
def test_every_cluster_scoped_kind_loses_a_stray_namespace(kind):
    assert is_cluster_scoped(kind)
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x", "namespace": "stray"}}
    assert manifests._normalised(obj)["metadata"]["namespace"] == ""


@pytest.mark.parametrize("kind", ["ConfigMap", "Role", "Deployment", "ClusterFooWidget", "NetworkPolicy"])
def test_namespaced_and_unknown_kinds_keep_or_default_their_namespace(kind):
    assert manifests._normalised({"kind": kind, "metadata": {"name": "x"}})["metadata"]["namespace"] == "default"
    assert manifests._normalised({"kind": kind, "metadata": {"name": "x", "namespace": "a"}})["metadata"]["namespace"] == "a"


def test_fixture_stray_namespace_file():
    res = manifests.audit_src([str(FIXTURES / "rbac" / "stray-namespace.yaml")], yaml.safe_load, now=NOW)
    assert res["errors"] == []
    assert rbac(res) == [("rbac.secret_read", "ClusterRoleBinding", "", "kh-fixture-stray-namespace-reader"),
                         ("rbac.wildcard", "ClusterRoleBinding", "", "kh-fixture-stray-namespace-reader")]


# ---- c: get on pods/exec by version ----------------------------------------------------------

@pytest.mark.parametrize("version,flagged", [((1, 34, 2), True), ((1, 29, 0), True), ((1, 35, 0), False), ((1, 36, 4), False),
                                             ((2, 0, 0), False), (None, True)])
def test_exec_by_get_depends_on_the_version(version, flagged):
    out = audit.judge_binding(binding("x", "r"), {"rules": EXEC_GET}, True, version)
    assert [f["id"] for f in out] == (["rbac.exec"] if flagged else [])
    if flagged:
        assert out[0]["evidence"]["exec_by_get"] is True
        assert out[0]["evidence"]["judged_for_version"] == ("%d.%d" % version[:2] if version else "unknown (judged as before 1.35)")
        assert "get alone" in out[0]["message"]


@pytest.mark.parametrize("rules,flagged", [
    ([{"apiGroups": [""], "resources": ["pods/*"], "verbs": ["get"]}], True),
    ([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}], True),  # "read everything"
    ([{"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]}], False),              # not the core group
    ([{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get"]}], False),
    ([{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["list", "watch"]}], False),
])
def test_exec_by_get_resources(rules, flagged):
    out = [f["id"] for f in audit.judge_binding(binding("x", "r"), {"rules": rules}, True, (1, 34, 0))]
    assert ("rbac.exec" in out) == flagged


def test_create_and_get_give_one_exec_finding():
    rules = EXEC_GET + [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]
    out = audit.judge_binding(binding("x", "r"), {"rules": rules}, True, (1, 30, 0))
    assert [f["id"] for f in out] == ["rbac.exec"] and "exec_by_get" not in out[0]["evidence"]


def _src(target_version=None):
    docs = [("r.yaml", cluster_role("execer", EXEC_GET)), ("r.yaml", binding("execer", "execer"))]
    return rbac(manifests.scan_manifests(docs, {"target_version": target_version}, now=NOW))


def test_src_uses_target_version():
    assert _src("1.34") == [("rbac.exec", "ClusterRoleBinding", "", "execer")]
    assert _src("v1.34.2-eks-1") == [("rbac.exec", "ClusterRoleBinding", "", "execer")]
    assert _src("1.35") == [] and _src("v1.36.0") == []
    assert _src(None) == [("rbac.exec", "ClusterRoleBinding", "", "execer")]


@pytest.mark.parametrize("bad", ["latest", "one.two", "v0.9"])
def test_bad_target_version_names_the_option(bad):
    with pytest.raises(ConfigError, match="target_version: .*e.g. 1.34"):
        HealthScan({"target_version": bad})


@pytest.mark.parametrize("server,flagged", [("v1.34.9", True), ("v1.35.0", False), ("v1.36.4+k3s1", False)])
def test_live_uses_the_server_version_even_with_a_target(server, flagged):
    scan = HealthScan({"target_version": "1.30"}, now=NOW)
    scan.set_version({"gitVersion": server})
    scan.listed(["audit.rbac"])
    scan.add_role("ClusterRole", cluster_role("execer", EXEC_GET))
    scan.add_binding("ClusterRoleBinding", binding("execer", "execer"))
    assert [f["id"] for f in scan.result()["findings"] if f["check"] == "audit.rbac"] == (["rbac.exec"] if flagged else [])


def test_fixture_exec_get_file():
    path = [str(FIXTURES / "rbac" / "exec-get.yaml")]
    old = manifests.audit_src(path, yaml.safe_load, {"target_version": "1.34"}, now=NOW)
    new = manifests.audit_src(path, yaml.safe_load, {"target_version": "1.35"}, now=NOW)
    assert rbac(old) == [("rbac.exec", "ClusterRoleBinding", "", "kh-fixture-exec-by-get")] and rbac(new) == []
