"""Polaris and kube-score counterparts (issue #20 part 2, coverage): each rule with a case that
raises it and one that does not, the peers fixture folder giving exactly its designed findings,
and the docs' mapping table naming only catalogued ids that some fixture or lab test raises."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.sre.toolkit.plugins.module_utils._health import audit_peers, catalogue, manifests
from ansible_collections.sre.toolkit.plugins.module_utils._health.audit_peers import PeerIndex, template_findings
from ansible_collections.sre.toolkit.plugins.module_utils._health.scan import HealthScan
from helpers import NOW

REPO = Path(__file__).resolve().parents[5]
PEERS = REPO / "tests" / "fixtures" / "manifests" / "peers"
DOCS = REPO / "docs" / "k8s_health.md"


def expected_findings():
    rows = set()
    for line in (PEERS / "expected.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            severity, rule_id, kind, where = line.split()
            rows.add((severity, rule_id, kind, where))
    return rows


def got(result):
    return {(f["severity"], f["id"], f["kind"], "%s/%s" % (f["namespace"], f["name"])) for f in result["findings"]}


def test_the_peers_folder_gives_exactly_the_designed_findings():
    result = manifests.audit_src([str(PEERS)], yaml.safe_load, {}, now=NOW)
    assert result["errors"] == []
    assert got(result) == expected_findings()
    secrets = [f for f in result["findings"] if f["id"] == "env.plain_secret"]
    assert all("hunter2" not in str(f) and "MIIfixture" not in str(f) for f in secrets)


# ---- pod template rules ----------------------------------------------------------------------

def good_container(**extra):
    c = {"name": "app", "image": "registry.example/app:1.2.3",
         "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
    c.update(extra)
    return c


def good_spec(**extra):
    spec = {"automountServiceAccountToken": False, "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [good_container()]}
    spec.update(extra)
    return spec


def ids(findings):
    return sorted((f["id"], f["severity"]) for f in findings)


def judge(spec, kind="Deployment", obj=None):
    obj = obj or {"metadata": {"name": "w", "namespace": "ns"}, "spec": {"template": {"spec": spec}}}
    return ids(template_findings(kind, "ns", "w", obj, spec))


def test_a_clean_template_raises_nothing():
    assert judge(good_spec()) == []


def sc(**values):
    return good_container(securityContext=dict({"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}, **values))


@pytest.mark.parametrize("spec,expected", [
    (good_spec(volumes=[{"name": "h", "hostPath": {"path": "/etc"}}]), [("pod.host_path", "warning")]),
    (good_spec(volumes=[{"name": "e", "emptyDir": {}}, {"name": "c", "configMap": {"name": "x"}}]), []),
    (good_spec(containers=[good_container(ports=[{"containerPort": 80, "hostPort": 80}])]), [("pod.host_port", "warning")]),
    (good_spec(containers=[good_container(ports=[{"containerPort": 80}])]), []),
    (good_spec(containers=[good_container(image="nginx")]), [("image.latest_tag", "warning")]),
    (good_spec(containers=[good_container(image="registry:5000/nginx")]), [("image.latest_tag", "warning")]),
    (good_spec(initContainers=[good_container(image="busybox:latest")]), [("image.latest_tag", "warning")]),
    (good_spec(containers=[good_container(image="registry:5000/nginx@sha256:" + "0" * 64)]), []),
    (good_spec(containers=[good_container(image="registry:5000/nginx:1.27")]), []),
    (good_spec(imagePullSecrets=[{"name": "creds"}]), [("image.pull_policy", "info")]),
    (good_spec(imagePullSecrets=[{"name": "creds"}], containers=[good_container(imagePullPolicy="Always")]), []),
    (good_spec(containers=[good_container(imagePullPolicy="IfNotPresent")]), []),
    (good_spec(securityContext={}), [("pod.seccomp", "info")]),
    (good_spec(securityContext={}, containers=[sc(seccompProfile={"type": "RuntimeDefault"})]), []),
    (good_spec(containers=[sc(seccompProfile={"type": "Unconfined"})]), [("pod.seccomp", "warning")]),
    (good_spec(securityContext={"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}), []),
    (good_spec(containers=[sc(appArmorProfile={"type": "Unconfined"})]), [("pod.apparmor", "warning")]),
    (good_spec(securityContext={"seccompProfile": {"type": "RuntimeDefault"}, "appArmorProfile": {"type": "Unconfined"}}),
     [("pod.apparmor", "warning")]),
    (good_spec(containers=[sc(appArmorProfile={"type": "RuntimeDefault"})]), []),
    (good_spec(containers=[sc(seLinuxOptions={"type": "spc_t"})]), [("pod.selinux", "warning")]),
    (good_spec(containers=[sc(seLinuxOptions={"user": "system_u"})]), [("pod.selinux", "warning")]),
    (good_spec(containers=[sc(seLinuxOptions={"type": "container_t", "level": "s0:c123,c456"})]), []),
    (good_spec(containers=[sc(procMount="Unmasked")]), [("pod.proc_mount", "warning")]),
    (good_spec(containers=[sc(procMount="Default")]), []),
    (good_spec(securityContext={"seccompProfile": {"type": "RuntimeDefault"}, "windowsOptions": {"hostProcess": True}}),
     [("pod.host_process", "warning")]),
    (good_spec(containers=[good_container(securityContext={})]), [("container.capabilities_not_dropped", "info")]),
    (good_spec(containers=[good_container(securityContext={"capabilities": {"drop": ["NET_RAW"]}})]),
     [("container.capabilities_not_dropped", "info")]),
    (good_spec(containers=[good_container(securityContext={"capabilities": {"drop": sorted(audit_peers.INSECURE_CAPABILITIES)}})]), []),
    (good_spec(containers=[good_container(securityContext={"capabilities": {"drop": ["all"], "add": ["NET_BIND_SERVICE"]}})]), []),
    (good_spec(containers=[good_container(securityContext={"privileged": True})]), []),  # audit.privileged says it
    (good_spec(containers=[good_container(env=[{"name": "DB_PASSWORD", "value": "x"}])]), [("env.plain_secret", "warning")]),
    (good_spec(containers=[good_container(env=[{"name": "CERT", "value": "-----BEGIN RSA PRIVATE KEY-----\nabc"}])]),
     [("env.plain_secret", "critical")]),
    (good_spec(containers=[good_container(env=[{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "p"}}},
                                               {"name": "TOKEN_FILE_UNUSED", "value": ""}, {"name": "PORT", "value": "8080"}])]), []),
])
def test_template_rules(spec, expected):
    assert judge(spec) == expected


def test_apparmor_beta_annotation_is_read_from_the_template():
    spec = good_spec()
    obj = {"metadata": {"name": "w", "namespace": "ns"}, "spec": {"template": {
        "metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}}, "spec": spec}}}
    assert judge(spec, obj=obj) == [("pod.apparmor", "warning")]
    obj["spec"]["template"]["metadata"]["annotations"] = {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}
    assert judge(spec, obj=obj) == []


def test_cronjob_deadline():
    spec = good_spec()
    cron = {"metadata": {"name": "c"}, "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": spec}}}}}
    assert judge(spec, kind="CronJob", obj=cron) == [("cronjob.no_deadline", "warning")]
    cron["spec"]["startingDeadlineSeconds"] = 120
    assert judge(spec, kind="CronJob", obj=cron) == []


def test_junk_shapes_raise_nothing():
    spec = {"containers": [{"name": "a", "env": "oops", "ports": [1, None], "securityContext": {"capabilities": {"drop": ["ALL"]}},
                            "image": "x:1"}], "volumes": "no", "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "automountServiceAccountToken": False}
    assert judge(spec) == []


# ---- reference rules -------------------------------------------------------------------------

def wl(kind, name, labels, ns="ns", replicas=None, automount=False, account=None, **spec):
    pod = {"containers": [good_container()], "automountServiceAccountToken": automount}
    if automount is None:
        pod.pop("automountServiceAccountToken")
    if account:
        pod["serviceAccountName"] = account
    body = {"kind": kind, "metadata": {"name": name, "namespace": ns},
            "spec": dict(spec, template={"metadata": {"labels": labels}, "spec": pod})}
    if replicas is not None:
        body["spec"]["replicas"] = replicas
    return body


def index(*objects, live=False):
    peers = PeerIndex(live=live)
    for obj in objects:
        kind = obj["kind"]
        if kind in ("Deployment", "StatefulSet", "DaemonSet"):
            peers.add_template(kind, obj, obj["spec"]["template"]["spec"], obj["spec"]["template"]["metadata"]["labels"])
        else:
            getattr(peers, {"Service": "add_service", "Ingress": "add_ingress", "HorizontalPodAutoscaler": "add_hpa",
                            "PodDisruptionBudget": "add_pdb", "NetworkPolicy": "add_network_policy",
                            "ServiceAccount": "add_service_account"}[kind])(obj)
    found, _judged = peers.findings()
    return sorted((f["id"], f["severity"], f["name"]) for f in found + peers.automount_findings())


def svc(name, selector=None, ns="ns", **spec):
    return {"kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": dict(spec, selector=selector)}


def ingress(name, backends, tls=True):
    rules = [{"http": {"paths": [{"backend": {"service": {"name": b, "port": {"number": 80}}}} for b in backends]}}]
    spec = {"rules": rules}
    if tls:
        spec["tls"] = [{"hosts": ["a.example"], "secretName": "s"}]
    return {"kind": "Ingress", "metadata": {"name": name, "namespace": "ns"}, "spec": spec}


def hpa(name, target, lo, hi, kind="Deployment"):
    return {"kind": "HorizontalPodAutoscaler", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"scaleTargetRef": {"kind": kind, "name": target}, "minReplicas": lo, "maxReplicas": hi}}


def pdb(name, labels, **spec):
    return {"kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": "ns"},
            "spec": dict(spec, selector={"matchLabels": labels})}


def netpol(name, selector, types=None, egress=False):
    spec = {"podSelector": selector}
    if types:
        spec["policyTypes"] = types
    if egress:
        spec["egress"] = [{}]
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": "ns"}, "spec": spec}


WEB = wl("Deployment", "web", {"app": "web"})
DEFAULT_BACKEND_GONE = {"kind": "Ingress", "metadata": {"name": "d", "namespace": "ns"},
                        "spec": {"tls": [{}], "defaultBackend": {"service": {"name": "gone", "port": {"number": 1}}}}}


@pytest.mark.parametrize("objects,expected", [
    ([WEB, svc("web", {"app": "web"}), ingress("i", ["web"])], []),
    ([WEB, svc("web", {"app": "web"}), ingress("i", ["web"], tls=False)], [("ingress.no_tls", "warning", "i")]),
    ([WEB, svc("web", {"app": "web"}), ingress("i", ["web", "api"])], [("ingress.missing_service", "warning", "i")]),
    ([WEB, svc("web", {"app": "web"}), DEFAULT_BACKEND_GONE], [("ingress.missing_service", "warning", "d")]),
    ([WEB, svc("web", {"app": "web"}, ns="other")], [("service.selector_matches_nothing", "warning", "web")]),
    ([WEB, svc("ghost", {"app": "ghost"})], [("service.selector_matches_nothing", "warning", "ghost")]),
    ([WEB, svc("manual")], []),
    ([WEB, svc("ext", type="ExternalName", externalName="x.example")], []),
    ([WEB, svc("np", {"app": "web"}, type="NodePort")], [("service.node_port", "info", "np")]),
    ([wl("StatefulSet", "db", {"app": "db"}, serviceName="db"), svc("db", {"app": "db"}, clusterIP="None")], []),
    ([wl("StatefulSet", "db", {"app": "db"}, serviceName="db"), svc("db", {"app": "db"})],
     [("statefulset.no_headless_service", "warning", "db")]),
    ([wl("StatefulSet", "db", {"app": "db"})], [("statefulset.no_headless_service", "warning", "db")]),
    ([WEB, hpa("h", "web", 2, 5)], []),
    ([WEB, hpa("h", "web", 3, 3)], [("hpa.min_equals_max", "warning", "h")]),
    ([WEB, hpa("h", "gone", 2, 3)], [("hpa.target_missing", "warning", "h")]),
    ([wl("Deployment", "web", {"app": "web"}, replicas=2), hpa("h", "web", 2, 4)], [("hpa.target_sets_replicas", "warning", "web")]),
    ([WEB, hpa("h", "web", 2, 5), pdb("p", {"app": "web"}, minAvailable=2)], [("hpa.pdb_conflict", "warning", "h")]),
    ([WEB, hpa("h", "web", 2, 5), pdb("p", {"app": "web"}, minAvailable="100%")], [("hpa.pdb_conflict", "warning", "h")]),
    ([WEB, hpa("h", "web", 3, 5), pdb("p", {"app": "web"}, minAvailable=2)], []),
    ([WEB, hpa("h", "web", 2, 5), pdb("p", {"app": "web"}, maxUnavailable=1)], []),
    ([WEB, hpa("h", "web", 2, 5), pdb("p", {"app": "other"}, minAvailable=2)], []),
    ([WEB, netpol("all", {}, ["Ingress", "Egress"])], []),
    ([WEB, netpol("in", {"matchLabels": {"app": "web"}}), netpol("out", {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["web"]}]}, ["Egress"])], []),
    ([WEB, netpol("in", {"matchLabels": {"app": "web"}})], [("networkpolicy.pod_not_selected", "info", "web")]),
    ([WEB, netpol("in", {"matchLabels": {"app": "web"}}, egress=True)], []),
    ([WEB, wl("Deployment", "api", {"app": "api"}), netpol("in", {"matchLabels": {"app": "web"}}, ["Ingress", "Egress"])],
     [("networkpolicy.pod_not_selected", "warning", "api")]),
    ([WEB, netpol("all", {}, ["Ingress", "Egress"]), netpol("typo", {"matchLabels": {"app": "wbe"}})],
     [("networkpolicy.selects_nothing", "warning", "typo")]),
    ([netpol("lonely", {"matchLabels": {"app": "x"}})], []),  # no workload in its namespace: nothing to judge it by
    ([wl("Deployment", "web", {"app": "web"}, automount=None)], [("pod.automount_token", "info", "web")]),
    ([wl("Deployment", "web", {"app": "web"}, automount=True)], [("pod.automount_token", "info", "web")]),
    ([wl("Deployment", "web", {"app": "web"}, automount=None, account="quiet"),
      {"kind": "ServiceAccount", "metadata": {"name": "quiet", "namespace": "ns"}, "automountServiceAccountToken": False}], []),
    ([wl("Deployment", "web", {"app": "web"}, automount=True, account="quiet"),
      {"kind": "ServiceAccount", "metadata": {"name": "quiet", "namespace": "ns"}, "automountServiceAccountToken": False}],
     [("pod.automount_token", "info", "web")]),
])
def test_reference_rules(objects, expected):
    assert index(*objects) == expected


def test_live_leaves_the_src_only_rules_to_the_live_checks():
    objects = [wl("Deployment", "web", {"app": "web"}, replicas=2), svc("ghost", {"app": "ghost"}),
               hpa("h", "web", 2, 4), hpa("o", "gone", 2, 4)]
    assert index(*objects, live=True) == []
    assert {r[0] for r in index(*objects)} == {"service.selector_matches_nothing", "hpa.target_sets_replicas", "hpa.target_missing"}


def test_live_scan_feeds_the_same_rules_and_a_forbidden_list_judges_nothing():
    def scan(gap=False):
        s = HealthScan({}, now=NOW)
        s.listed(["audit.pod_specs", "audit.references", "audit.network_policies"])
        web = dict(wl("Deployment", "web", {"app": "web"}, replicas=1), status={"replicas": 1, "availableReplicas": 1})
        s.add_workload("Deployment", web)
        s.add_network_policy(netpol("typo", {"matchLabels": {"app": "wbe"}}, ["Ingress", "Egress"]))
        s.peer_ingress(ingress("plain", ["web"], tls=False))
        if gap:
            s.coverage_gap(["audit.references"], "forbidden", "list ingresses: HTTP 403")
        return s.result()

    found = {(f["id"], f["check"]) for f in scan()["findings"] if f["check"] == "audit.references"}
    assert found == {("networkpolicy.selects_nothing", "audit.references"), ("networkpolicy.pod_not_selected", "audit.references"),
                     ("ingress.no_tls", "audit.references"), ("ingress.missing_service", "audit.references")}
    result = scan(gap=True)
    assert not [f for f in result["findings"] if f["check"] == "audit.references"]
    assert "audit.references" in result["summary"]["coverage_gaps"]


# ---- the docs' mapping table -----------------------------------------------------------------

LIVE_ONLY = {
    # mapped ids no src audit can raise -> (the test that raises them, the file holding their designed cases)
    "service.no_matching_pods": ("tests/integration/test_k8s_health.py::test_services_without_ready_endpoints",
                                 "tests/lab/k8s/cluster_objects.py"),
    "hpa.unable_to_scale": ("tests/integration/test_k8s_health.py::test_autoscalers", "tests/lab/k8s/cluster_objects.py"),
    "api.deprecated_in_use": ("tests/unit/plugins/module_utils/health/test_audit.py::test_deprecated_api_metric_parsing",
                              "plugins/module_utils/_health/audit.py"),
}


def mapping_rows():
    text = DOCS.read_text()
    section = text.split("## Coverage against Polaris and kube-score", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in ("Polaris", "kube-score"):
            rows.append(cells)
    return rows


def test_the_mapping_table_lists_every_peer_check_once_with_an_answer():
    rows = mapping_rows()
    checks = [(peer, check) for peer, check, _ours, _note in rows]
    assert len(checks) == len(set(checks))
    counts = {peer: sum(1 for p, _c in checks if p == peer) for peer in ("Polaris", "kube-score")}
    assert counts == {"Polaris": 55, "kube-score": 38}
    for peer, check, ours, _note in rows:
        assert re.fullmatch(r"`[A-Za-z][\w-]*`", check), check
        assert ours.startswith("not covered: ") or re.fullmatch(r"`[a-z_]+\.[a-z_]+`(, `[a-z_]+\.[a-z_]+`)*", ours), (peer, check, ours)
    covered = {peer: sum(1 for p, _c, ours, _n in rows if p == peer and not ours.startswith("not covered")) for peer in counts}
    line = "Counts: Polaris 55 checks, %d covered, %d not; kube-score 38 checks, %d covered, %d not." % (
        covered["Polaris"], 55 - covered["Polaris"], covered["kube-score"], 38 - covered["kube-score"])
    assert line in DOCS.read_text()


def test_every_mapped_id_is_catalogued_and_raised_by_a_fixture():
    mapped = set()
    for _peer, _check, ours, _note in mapping_rows():
        mapped |= set(re.findall(r"`([a-z_]+\.[a-z_]+)`", ours))
    assert mapped and sorted(mapped - set(catalogue.RULES)) == []
    fixtures = [str(REPO / "tests" / "fixtures" / "manifests"), str(REPO / "tests" / "lab" / "k8s" / "seed")]
    config = {"thresholds": {"max_findings_per_check": 100000}}
    raised = {f["id"] for f in manifests.audit_src(fixtures, yaml.safe_load, config, now=NOW)["findings"]}
    for rule_id, (test, cases) in LIVE_ONLY.items():
        path, name = test.split("::")
        assert "def %s(" % name in (REPO / path).read_text() and rule_id in (REPO / cases).read_text(), (rule_id, test)
    assert sorted(mapped - raised - set(LIVE_ONLY)) == []
