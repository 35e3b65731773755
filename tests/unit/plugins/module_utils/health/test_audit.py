from ansible_collections.sre.toolkit.plugins.module_utils._health import audit

GOOD = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 101},
    "containers": [{"name": "app", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}},
                    "readinessProbe": {"tcpSocket": {"port": 80}}, "livenessProbe": {"tcpSocket": {"port": 80}},
                    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}}],
}


def ids(findings):
    return sorted(f["id"] for f in findings)


def test_well_configured_template_is_clean():
    assert audit.audit_pod_spec("Deployment", "ns", "web", GOOD) == []


def test_bare_template_hits_every_rule_once_per_workload():
    spec = {"hostNetwork": True, "hostPID": True, "containers": [{"name": "a"}, {"name": "b", "securityContext": {"privileged": True}}]}
    out = audit.audit_pod_spec("Deployment", "ns", "legacy", spec)
    assert ids(out) == sorted([
        "audit.missing_requests", "audit.missing_memory_limit", "audit.missing_cpu_limit", "audit.missing_readiness_probe",
        "audit.missing_liveness_probe", "audit.privileged", "audit.privilege_escalation", "audit.may_run_as_root",
        "audit.writable_root_filesystem", "audit.host_namespace"])
    by_id = {f["id"]: f for f in out}
    assert by_id["audit.privileged"]["evidence"]["containers"] == ["b"]
    assert by_id["audit.privileged"]["severity"] == "critical"
    assert by_id["audit.missing_requests"]["evidence"]["containers"] == ["a (cpu/memory)", "b (cpu/memory)"]
    assert by_id["audit.host_namespace"]["evidence"]["host_namespaces"] == ["hostNetwork", "hostPID"]
    # a privileged container escalates anyway: not reported twice
    assert by_id["audit.privilege_escalation"]["evidence"]["containers"] == ["a"]


def test_security_context_inherits_from_pod_and_container_overrides():
    spec = {"securityContext": {"runAsNonRoot": True}, "containers": [
        dict(GOOD["containers"][0], name="inherit"),
        dict(GOOD["containers"][0], name="override", securityContext=dict(GOOD["containers"][0]["securityContext"], runAsNonRoot=False))]}
    out = audit.audit_pod_spec("Deployment", "ns", "w", spec)
    assert [(f["id"], f["evidence"]["containers"]) for f in out] == [("audit.may_run_as_root", ["override"])]
    uid = {"containers": [dict(GOOD["containers"][0], securityContext=dict(GOOD["containers"][0]["securityContext"], runAsUser=1000))]}
    assert audit.audit_pod_spec("Deployment", "ns", "w", uid) == []
    root = {"securityContext": {"runAsUser": 0}, "containers": GOOD["containers"]}
    assert "audit.runs_as_root" in ids(audit.audit_pod_spec("Deployment", "ns", "w", root))


def test_pod_level_resources_satisfy_requests_and_jobs_need_no_probes():
    container = {k: v for k, v in GOOD["containers"][0].items() if k not in ("resources", "readinessProbe", "livenessProbe")}
    spec = {"securityContext": GOOD["securityContext"], "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "containers": [container]}
    assert audit.audit_pod_spec("Job", "ns", "j", spec) == []
    cron = {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}
    assert audit.audit_pod_spec("CronJob", "ns", "c", audit.pod_spec_of("CronJob", cron)) == []


def test_sidecars_are_audited_plain_init_containers_only_for_privilege():
    spec = dict(GOOD, initContainers=[{"name": "setup", "securityContext": {"privileged": True}},
                                      {"name": "mesh", "restartPolicy": "Always"}])
    out = {f["id"]: f["evidence"]["containers"] for f in audit.audit_pod_spec("Deployment", "ns", "w", spec)}
    assert out["audit.privileged"] == ["setup (init)"]
    assert out["audit.missing_requests"] == ["mesh (cpu/memory)"]


def test_dangerous_capabilities():
    c = dict(GOOD["containers"][0], securityContext=dict(GOOD["containers"][0]["securityContext"], capabilities={"add": ["NET_ADMIN", "CHOWN"]}))
    out = audit.audit_pod_spec("Deployment", "ns", "w", dict(GOOD, containers=[c]))
    assert [(f["id"], f["evidence"]["containers"]) for f in out] == [("audit.dangerous_capabilities", ["app (NET_ADMIN)"])]


def binding(name, role, subjects, kind="ClusterRole", ns=None):
    meta = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"metadata": meta, "roleRef": {"kind": kind, "name": role}, "subjects": subjects}


SA = {"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}


def test_rbac_cluster_admin_and_public_bindings():
    out = audit.judge_binding(binding("ci-admin", "cluster-admin", [SA, {"kind": "User", "name": "jane"}]), None, True)
    assert [(f["id"], f["severity"]) for f in out] == [("rbac.cluster_admin", "critical")]
    assert out[0]["evidence"]["subjects"] == ["ServiceAccount:ci/ci", "User:jane"]
    out = audit.judge_binding(binding("all-view", "view", [{"kind": "Group", "name": "system:authenticated"}]), {"rules": []}, True)
    assert [f["id"] for f in out] == ["rbac.public_binding"]
    # the control plane's own bindings are not excess
    assert audit.judge_binding(binding("system:kube-controller-manager", "system:kube-controller-manager",
                                       [{"kind": "User", "name": "system:kube-controller-manager"}]), {"rules": [{"verbs": ["*"]}]}, True) == []


def test_rbac_rule_flags():
    role = {"rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]},
                      {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
                      {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"]}]}
    out = audit.judge_binding(binding("ops", "ops", [SA]), role, True)
    assert ids(out) == ["rbac.escalation_verbs", "rbac.exec", "rbac.secret_read", "rbac.wildcard"]
    secrets = {"rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}
    ns_out = audit.judge_binding(binding("rb", "reader", [SA], ns="ci"), secrets, False)
    assert [(f["id"], f["severity"]) for f in ns_out] == [("rbac.secret_read", "info")]
    assert audit.judge_binding(binding("rb", "reader", [SA]), {"rules": [{"nonResourceURLs": ["*"], "verbs": ["get"]}]}, True) == []


def test_quota_levels_and_quantities():
    assert audit.parse_quantity("512Mi") == 512 * 1024 ** 2 and audit.parse_quantity("250m") == 0.25
    quota = {"metadata": {"name": "q", "namespace": "ns"},
             "status": {"hard": {"pods": "6", "requests.memory": "1Gi", "requests.cpu": "4"},
                        "used": {"pods": "5", "requests.memory": "1024Mi", "requests.cpu": "1"}}}
    out = audit.judge_quota(quota, 80)
    assert [(f["id"], f["evidence"]["resource"]) for f in out] == [("quota.almost_full", "pods"), ("quota.exhausted", "requests.memory")]


def test_deprecated_api_metric_parsing():
    text = "\n".join([
        "# HELP apiserver_requested_deprecated_apis ...",
        'apiserver_requested_deprecated_apis{group="flowcontrol.apiserver.k8s.io",removed_release="1.37",'
        'resource="flowschemas",subresource="",version="v1beta3"} 1',
        'apiserver_requested_deprecated_apis{group="",removed_release="",resource="componentstatuses",subresource="",version="v1"} 1',
        'apiserver_requested_deprecated_apis{group="x",removed_release="1.40",resource="y",subresource="",version="v1"} 0',
    ])
    rows = audit.parse_deprecated_metric(text)
    assert [(r["group"], r["resource"]) for r in rows] == [("", "componentstatuses"), ("flowcontrol.apiserver.k8s.io", "flowschemas")]
    severities = [audit.judge_deprecated_api(r, (1, 36, 4))["severity"] for r in rows]
    assert severities == ["info", "warning"]


def test_manifest_removed_api_and_static_pdb():
    obj = {"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "c"}}
    assert audit.judge_manifest_api(obj, "a.yaml")["evidence"]["removed_in"] == "1.25"
    assert audit.judge_manifest_api({"apiVersion": "batch/v1", "kind": "CronJob"}, "a.yaml") is None
    pdb = {"metadata": {"name": "p"}, "spec": {"maxUnavailable": 0}}
    assert audit.pdb_spec_blocks(pdb, 3)["id"] == "pdb.blocks_disruption"
    assert audit.pdb_spec_blocks({"metadata": {"name": "p"}, "spec": {"minAvailable": 2}}, 3) is None
    assert audit.pdb_spec_blocks({"metadata": {"name": "p"}, "spec": {"minAvailable": 3}}, 3) is not None
