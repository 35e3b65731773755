"""Cluster-object checks: admission webhooks, Terminating namespaces, CSRs, PVCs, HPAs, Services.
Every time is relative to helpers.NOW, never the wall clock."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._health import (admission, autoscaling, certificates, namespaces, objects,
                                                                          services, storage)
from helpers import NOW, ago, ids
from test_scan import checks, fresh_scan


def endpoint_slice(ns, service, ready=(), not_ready=0):
    endpoints = [{"addresses": ["10.0.0.%d" % i], "conditions": {"ready": value}} for i, value in enumerate(ready)]
    endpoints += [{"addresses": ["10.0.1.%d" % i], "conditions": {"ready": False}} for i in range(not_ready)]
    return {"metadata": {"name": service + "-abc", "namespace": ns, "labels": {"kubernetes.io/service-name": service}},
            "endpoints": endpoints}


def service(ns, name, selector=None, kind=None, ports=(443,)):
    spec = {"ports": [{"port": p} for p in ports]}
    if selector is not None:
        spec["selector"] = selector
    if kind:
        spec["type"] = kind
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


def webhook_config(name, hooks):
    return {"metadata": {"name": name}, "webhooks": hooks}


def hook(name, policy=None, svc=("sys", "hook", 443), url=None):
    client = {"url": url} if url else {"service": {"namespace": svc[0], "name": svc[1], "port": svc[2]}}
    body = {"name": name, "clientConfig": client,
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}
    if policy:
        body["failurePolicy"] = policy
    return body


# ---- services -------------------------------------------------------------------------------

def test_endpoint_ready_nil_means_ready_and_slices_fold():
    assert services.endpoint_ready({}) and services.endpoint_ready({"conditions": {"ready": None}})
    assert not services.endpoint_ready({"conditions": {"ready": False}})
    counts = services.count_slices([endpoint_slice("a", "s", ready=[True, None], not_ready=1), endpoint_slice("a", "s", not_ready=2)])
    assert counts == {"slices": 2, "endpoints": 5, "ready": 2}


@pytest.mark.parametrize("counts,fid", [
    ({"slices": 1, "endpoints": 0, "ready": 0}, "service.no_matching_pods"),
    ({"slices": 1, "endpoints": 3, "ready": 0}, "service.no_ready_endpoints"),
    (None, "service.no_ready_endpoints"),
    ({"slices": 2, "endpoints": 3, "ready": 1}, None),
])
def test_service_judged_from_its_slices(counts, fid):
    found = services.judge_service(service("shop", "api", {"app": "api"}, ports=(80,)), counts)
    assert (found and found["id"]) == fid
    if found:
        assert found["severity"] == "warning" and found["evidence"]["selector"] == {"app": "api"} and "app=api" in found["message"]


def test_selectorless_and_external_name_services_are_not_judged():
    assert services.judge_service(service("shop", "ext", kind="ExternalName"), None) is None
    assert services.judge_service(service("shop", "manual"), None) is None
    assert services.judge_service(service("shop", "manual", {}), None) is None


def test_scan_services_one_bad_service_never_hides_the_others():
    scan = fresh_scan()
    for svc in (service("shop", "ok", {"app": "ok"}), service("shop", "empty", {"app": "typo"}), service("shop", "down", {"app": "down"}),
                service("shop", "ext", {"app": "x"}, kind="ExternalName"), service("shop", "bare")):
        scan.add_service(svc)
    for sl in (endpoint_slice("shop", "ok", ready=[True]), endpoint_slice("shop", "empty"), endpoint_slice("shop", "down", not_ready=2),
               {"metadata": {"name": "orphan", "namespace": "shop", "labels": {}}, "endpoints": []}):
        scan.add_endpoint_slice(sl)
    scan.listed([objects.SERVICES])
    res = scan.result()
    found = sorted((f["id"], f["name"]) for f in res["findings"] if f["check"] == objects.SERVICES)
    assert found == [("service.no_matching_pods", "empty"), ("service.no_ready_endpoints", "down")]
    assert checks(res)[objects.SERVICES]["objects"] == 3


def test_services_without_their_slices_are_forbidden_not_healthy():
    scan = fresh_scan()
    scan.add_service(service("shop", "empty", {"app": "typo"}))
    scan.coverage_gap([objects.SERVICES], "forbidden", "list endpointslices: 403")
    res = scan.result()
    assert checks(res)[objects.SERVICES]["status"] == "forbidden" and res["findings"] == []
    assert objects.SERVICES in res["summary"]["coverage_gaps"]


# ---- admission webhooks ---------------------------------------------------------------------

def test_webhook_rows_default_policy_is_fail_and_port_443():
    rows = admission.webhook_rows("ValidatingWebhookConfiguration", webhook_config("c", [
        {"name": "w", "clientConfig": {"service": {"namespace": "n", "name": "s"}}}]))
    assert rows[0]["failure_policy"] == "Fail" and rows[0]["service"]["port"] == 443


@pytest.mark.parametrize("policy,svc,counts,fid,severity", [
    ("Fail", None, None, "webhook.service_missing", "critical"),
    (None, None, None, "webhook.service_missing", "critical"),
    ("Ignore", None, None, "webhook.service_missing", "warning"),
    ("Fail", service("sys", "hook", {"app": "hook"}), {"slices": 1, "endpoints": 2, "ready": 0}, "webhook.no_ready_endpoints", "critical"),
    ("Fail", service("sys", "hook", {"app": "hook"}), {"slices": 1, "endpoints": 0, "ready": 0}, "webhook.no_ready_endpoints", "critical"),
    ("Ignore", service("sys", "hook", {"app": "hook"}), {"slices": 0, "endpoints": 0, "ready": 0}, "webhook.no_ready_endpoints", "warning"),
    ("Fail", service("sys", "hook", {"app": "hook"}, ports=(8443,)), {"slices": 1, "endpoints": 1, "ready": 1},
     "webhook.no_ready_endpoints", "critical"),
    ("Fail", service("sys", "hook", {"app": "hook"}), {"slices": 1, "endpoints": 1, "ready": 1}, None, None),
    ("Fail", service("sys", "hook"), None, None, None),  # selector-less: endpoints managed by hand, not judged
])
def test_judge_webhook(policy, svc, counts, fid, severity):
    row = admission.webhook_rows("MutatingWebhookConfiguration", webhook_config("cfg", [hook("w.example.com", policy)]))[0]
    found = admission.judge_webhook(row, svc, counts)
    assert (found and (found["id"], found["severity"])) == ((fid, severity) if fid else None)
    if found:
        assert found["kind"] == "MutatingWebhookConfiguration" and found["name"] == "cfg" and found["namespace"] == ""
        assert found["evidence"]["webhook"] == "w.example.com" and found["evidence"]["rules"] == ["CREATE core/pods"]
        assert "sys/hook" in found["message"] and "cfg" in found["fix"]


def test_scan_webhooks_url_ones_are_named_in_the_reason_and_services_read_once():
    scan = fresh_scan()
    scan.add_webhook_configuration("ValidatingWebhookConfiguration", webhook_config("v", [
        hook("dead.example.com", "Fail", ("sys", "gone", 443)), hook("alive.example.com", "Fail", ("sys", "hook", 443)),
        hook("url.example.com", url="https://hooks.example.com/v")]))
    scan.add_webhook_configuration("MutatingWebhookConfiguration", webhook_config("m", [hook("soft.example.com", "Ignore", ("sys", "gone", 443))]))
    scan.listed([objects.WEBHOOKS])
    assert scan.webhook_services() == [("sys", "gone"), ("sys", "hook")]
    scan.add_webhook_service("sys", "gone", None, [])
    scan.add_webhook_service("sys", "hook", service("sys", "hook", {"app": "hook"}), [endpoint_slice("sys", "hook", ready=[True])])
    res = scan.result()
    found = sorted((f["id"], f["severity"], f["kind"], f["evidence"]["webhook"]) for f in res["findings"])
    assert found == [("webhook.service_missing", "critical", "ValidatingWebhookConfiguration", "dead.example.com"),
                     ("webhook.service_missing", "warning", "MutatingWebhookConfiguration", "soft.example.com")]
    record = checks(res)[objects.WEBHOOKS]
    assert record["objects"] == 3 and "url.example.com" in record["reason"] and "not judged by endpoints" in record["reason"]


def test_webhook_service_that_could_not_be_read_is_a_gap_and_the_rest_still_judged():
    scan = fresh_scan()
    scan.add_webhook_configuration("ValidatingWebhookConfiguration", webhook_config("v", [
        hook("a.example.com", "Fail", ("sys", "gone", 443)), hook("b.example.com", "Fail", ("locked", "hook", 443))]))
    scan.listed([objects.WEBHOOKS])
    scan.add_webhook_service("sys", "gone", None, [])
    scan.coverage_gap([objects.WEBHOOKS], "forbidden", "webhook Service locked/hook: 403")
    res = scan.result()
    record = checks(res)[objects.WEBHOOKS]
    assert record["status"] == "forbidden" and "v/b.example.com" in record["reason"]
    assert [f["evidence"]["webhook"] for f in res["findings"]] == ["a.example.com"]


# ---- namespaces -----------------------------------------------------------------------------

def namespace(name, deleted=None, conditions=None, spec_finalizers=("kubernetes",)):
    body = {"metadata": {"name": name}, "spec": {"finalizers": list(spec_finalizers)},
            "status": {"phase": "Active" if deleted is None else "Terminating", "conditions": conditions or []}}
    if deleted is not None:
        body["metadata"]["deletionTimestamp"] = ago(deleted)
    return body


def test_active_and_recently_deleted_namespaces_are_fine():
    assert namespaces.judge_namespace(namespace("a"), NOW, 15) is None
    assert namespaces.judge_namespace(namespace("a", deleted=60), NOW, 15) is None


def test_stuck_namespace_names_the_most_telling_condition():
    conds = [
        {"type": "NamespaceDeletionDiscoveryFailure", "status": "True", "reason": "DiscoveryFailed",
         "message": "Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: "
                    "metrics.k8s.io/v1beta1: stale GroupVersion discovery"},
        {"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain", "message": "Some resources are remaining: pods."},
        {"type": "NamespaceDeletionContentFailure", "status": "False", "reason": "ContentDeleted"},
    ]
    found = namespaces.judge_namespace(namespace("shop", deleted=3600, conditions=conds), NOW, 15)
    assert found["id"] == "namespace.stuck_terminating" and found["severity"] == "warning" and found["kind"] == "Namespace"
    assert "NamespaceDeletionDiscoveryFailure" in found["message"] and "metrics.k8s.io" in found["message"] and "1h" in found["message"]
    assert found["evidence"]["cause"] == "NamespaceDeletionDiscoveryFailure"
    assert sorted(found["evidence"]["conditions"]) == ["NamespaceContentRemaining", "NamespaceDeletionDiscoveryFailure"]
    assert "APIService" in found["fix"]


def test_stuck_namespace_content_finalizers_and_spec_finalizers():
    conds = [{"type": "NamespaceFinalizersRemaining", "status": "True", "reason": "SomeFinalizersRemain",
              "message": "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"},
             {"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain",
              "message": "Some resources are remaining: configmaps. has 1 resource instances"}]
    found = namespaces.judge_namespace(namespace("a", deleted=7200, conditions=conds, spec_finalizers=()), NOW, 15)
    assert found["evidence"]["cause"] == "NamespaceFinalizersRemaining" and "example.com/hold" in found["message"]
    held = namespaces.judge_namespace(namespace("b", deleted=7200, spec_finalizers=("example.com/never",)), NOW, 15)
    assert held["evidence"]["cause"] == "spec.finalizers" and held["evidence"]["spec_finalizers"] == ["example.com/never"]
    assert "example.com/never" in held["message"] and "finalize" in held["fix"]
    unknown = namespaces.judge_namespace(namespace("c", deleted=7200), NOW, 15)
    assert unknown["evidence"]["cause"] == "" and "no condition" in unknown["message"]


def test_namespace_threshold_zero_and_scope():
    scan = fresh_scan(thresholds={"terminating_minutes": 0}, exclude_namespaces=["other"])
    scan.add_namespace(namespace("fresh", deleted=1))
    scan.add_namespace(namespace("other", deleted=1))
    scan.add_namespace(namespace("ok"))
    res = scan.result()
    assert [(f["id"], f["name"]) for f in res["findings"]] == [("namespace.stuck_terminating", "fresh")]
    assert checks(res)[objects.NAMESPACES]["objects"] == 2


# ---- CSRs -----------------------------------------------------------------------------------

def csr(name, signer, created, username="system:node:n1", conditions=None, certificate=None):
    body = {"metadata": {"name": name, "creationTimestamp": ago(created)},
            "spec": {"signerName": signer, "username": username, "usages": ["server auth", "digital signature"]},
            "status": {"conditions": conditions or []}}
    if certificate:
        body["status"]["certificate"] = certificate
    return body


def test_pending_kubelet_serving_csr_names_the_node():
    found = certificates.judge_csr(csr("csr-1", certificates.KUBELET_SERVING, 7200), NOW, 15)
    assert found["id"] == "csr.pending" and found["severity"] == "warning" and found["evidence"]["node"] == "n1"
    assert "does not rotate" in found["message"] and "kubectl certificate approve csr-1" in found["fix"]
    assert found["kind"] == "CertificateSigningRequest" and found["namespace"] == ""


def test_csr_thresholds_and_decisions():
    assert certificates.judge_csr(csr("young", certificates.KUBELET_SERVING, 60), NOW, 15) is None
    assert certificates.judge_csr(csr("denied", certificates.KUBELET_SERVING, 7200, conditions=[{"type": "Denied", "status": "True"}]),
                                  NOW, 15) is None
    issued = csr("issued", "example.com/x", 7200, conditions=[{"type": "Approved", "status": "True", "lastUpdateTime": ago(7000)}],
                 certificate="LS0t")
    assert certificates.judge_csr(issued, NOW, 15) is None
    other = certificates.judge_csr(csr("other", "example.com/x", 7200, username="alice"), NOW, 15)
    assert other["id"] == "csr.pending" and other["severity"] == "info"
    client = certificates.judge_csr(csr("join", certificates.KUBELET_CLIENT, 7200, username="system:bootstrap:abc"), NOW, 15)
    assert client["severity"] == "warning"


def test_approved_csr_never_issued_is_judged_from_its_approval_time():
    approved_long_ago = csr("a", "example.com/nobody", 90000, conditions=[
        {"type": "Approved", "status": "True", "reason": "AdminApproved", "lastUpdateTime": ago(3600)}])
    found = certificates.judge_csr(approved_long_ago, NOW, 15)
    assert found["id"] == "csr.not_issued" and "example.com/nobody" in found["message"] and found["evidence"]["approved"] == ago(3600)
    just_approved = csr("b", "example.com/nobody", 90000, conditions=[{"type": "Approved", "status": "True", "lastUpdateTime": ago(60)}])
    assert certificates.judge_csr(just_approved, NOW, 15) is None
    failed = csr("c", certificates.KUBELET_SERVING, 600, conditions=[
        {"type": "Approved", "status": "True", "lastUpdateTime": ago(500)},
        {"type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": "invalid usage"}])
    assert certificates.judge_csr(failed, NOW, 15)["id"] == "csr.failed"


# ---- PVCs -----------------------------------------------------------------------------------

def pvc(name, class_name="standard", created=7200, phase="Pending", volume=None, unset_class=False):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if not unset_class:
        spec["storageClassName"] = class_name
    if volume:
        spec["volumeName"] = volume
    return {"metadata": {"name": name, "namespace": "data", "creationTimestamp": ago(created)}, "spec": spec, "status": {"phase": phase}}


CLASSES = {"standard": {"provisioner": "csi.example.com", "binding_mode": "Immediate", "default": True},
           "local": {"provisioner": "kubernetes.io/no-provisioner", "binding_mode": "WaitForFirstConsumer", "default": False}}


@pytest.mark.parametrize("claim,classes,fragment", [
    (pvc("a", "gold"), CLASSES, "StorageClass gold does not exist"),
    (pvc("b"), CLASSES, "csi.example.com has not provisioned"),
    (pvc("c", ""), CLASSES, "statically created PersistentVolume"),
    (pvc("d", unset_class=True), {}, "no default StorageClass"),
    (pvc("e", volume="pv-1"), CLASSES, "pre-bound to PersistentVolume pv-1"),
    (pvc("f", "gold"), None, "StorageClass gold: its provisioner"),
])
def test_pending_claim_says_why(claim, classes, fragment):
    found = storage.judge_pvc(claim, classes, None, NOW, 15)
    assert found["id"] == "pvc.pending" and found["severity"] == "warning" and fragment in found["message"], found["message"]
    assert found["evidence"]["age_seconds"] == 7200 and found["evidence"]["requested"] == "1Gi"


def test_claims_that_are_fine_or_lost():
    assert storage.judge_pvc(pvc("young", created=60), CLASSES, None, NOW, 15) is None
    assert storage.judge_pvc(pvc("wffc", "local"), CLASSES, None, NOW, 15) is None
    assert storage.judge_pvc(pvc("bound", phase="Bound"), CLASSES, None, NOW, 15) is None
    lost = storage.judge_pvc(pvc("lost", phase="Lost", volume="pv-9"), CLASSES, None, NOW, 15)
    assert lost["id"] == "pvc.lost" and lost["severity"] == "critical" and "pv-9" in lost["message"]


def test_scan_pvc_takes_the_latest_warning_event_of_its_claim():
    scan = fresh_scan()
    for event in (
        {"type": "Warning", "reason": "ProvisioningFailed", "message": "old", "lastTimestamp": ago(600),
         "metadata": {"namespace": "data"}, "involvedObject": {"kind": "PersistentVolumeClaim", "namespace": "data", "name": "a"}},
        {"type": "Warning", "reason": "ProvisioningFailed", "message": 'storageclass.storage.k8s.io "gold" not found',
         "lastTimestamp": ago(30), "metadata": {"namespace": "data"},
         "involvedObject": {"kind": "PersistentVolumeClaim", "namespace": "data", "name": "a"}},
        {"type": "Warning", "reason": "BackOff", "message": "pod", "lastTimestamp": ago(10), "metadata": {"namespace": "data"},
         "involvedObject": {"kind": "Pod", "namespace": "data", "name": "a"}},
    ):
        scan.add_event(event)
    scan.add_storage_class({"metadata": {"name": "standard"}, "provisioner": "csi.example.com"})
    scan.add_pvc(pvc("a", "gold"))
    scan.add_pvc(pvc("ok", phase="Bound"))
    scan.listed([objects.CLAIMS])
    res = scan.result()
    found = [f for f in res["findings"] if f["check"] == objects.CLAIMS]
    assert len(found) == 1 and found[0]["evidence"]["last_event"]["reason"] == "ProvisioningFailed"
    assert '"gold" not found' in found[0]["message"]
    assert checks(res)[objects.CLAIMS]["objects"] == 2


# ---- HPAs -----------------------------------------------------------------------------------

def hpa(name, current, maximum, conditions=(), minimum=1):
    return {"metadata": {"name": name, "namespace": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name}, "minReplicas": minimum, "maxReplicas": maximum},
            "status": {"currentReplicas": current, "desiredReplicas": current,
                       "conditions": [{"type": t, "status": s, "reason": r, "message": m} for t, s, r, m in conditions]}}


HEALTHY = (("AbleToScale", "True", "ReadyForNewScale", "ok"), ("ScalingActive", "True", "ValidMetricFound", "ok"),
           ("ScalingLimited", "False", "DesiredWithinRange", "ok"))


def test_hpa_with_headroom_or_at_its_minimum_is_fine():
    assert autoscaling.judge_hpa(hpa("a", 3, 10, HEALTHY)) == []
    at_min = (HEALTHY[0], HEALTHY[1], ("ScalingLimited", "True", "TooFewReplicas", "the desired replica count is less than the minimum"))
    assert autoscaling.judge_hpa(hpa("b", 1, 10, at_min)) == []


def test_hpa_at_max_and_unable_to_scale():
    at_max = (HEALTHY[0], HEALTHY[1], ("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum"))
    found = autoscaling.judge_hpa(hpa("api", 10, 10, at_max))
    assert ids(found) == ["hpa.at_max_replicas"] and "TooManyReplicas" in found[0]["message"]
    assert found[0]["evidence"]["max_replicas"] == 10 and found[0]["evidence"]["target"] == "Deployment/api"
    failing = (("AbleToScale", "False", "FailedGetScale", "deployments/scale not found"),
               ("ScalingActive", "False", "FailedGetResourceMetric", "no metrics returned"))
    broken = autoscaling.judge_hpa(hpa("b", 2, 10, failing))
    assert ids(broken) == ["hpa.scaling_inactive", "hpa.unable_to_scale"]
    assert all(f["severity"] == "warning" for f in broken)
    assert "FailedGetResourceMetric" in [f for f in broken if f["id"] == "hpa.scaling_inactive"][0]["message"]
    disabled = autoscaling.judge_hpa(hpa("c", 0, 10, (("ScalingActive", "False", "ScalingDisabled", "scaling is disabled"),)))
    assert [(f["id"], f["severity"]) for f in disabled] == [("hpa.scaling_inactive", "info")]


# ---- plumbing -------------------------------------------------------------------------------

def test_sources_follow_the_wanted_checks_and_namespaces():
    scan = fresh_scan(checks=[objects.SERVICES], namespaces=["a", "b"])
    sources = objects.sources_for(scan)
    assert [s["name"] for s in sources] == ["services", "endpointslices"]
    assert sources[0]["paths"] == ["/api/v1/namespaces/a/services", "/api/v1/namespaces/b/services"]
    assert fresh_scan(groups=["pods"]).webhook_services() == []


def test_new_checks_are_skipped_with_their_group_and_ok_when_listed_empty():
    res = fresh_scan(groups=["pods"]).result()
    assert all(checks(res)[cid]["status"] == "skipped" for cid in objects.CHECKS)
    scan = fresh_scan()
    scan.listed(list(objects.CHECKS))
    res = scan.result()
    assert all(checks(res)[cid]["status"] == "ok" for cid in objects.CHECKS), [checks(res)[c] for c in objects.CHECKS]


def test_webhook_service_paths():
    get, slices, params = objects.webhook_service_paths("sys", "hook")
    assert get == "/api/v1/namespaces/sys/services/hook"
    assert slices == "/apis/discovery.k8s.io/v1/namespaces/sys/endpointslices"
    assert params == {"labelSelector": "kubernetes.io/service-name=hook"}


def test_readonly_clusterrole_grants_exactly_what_the_object_checks_read():
    import pathlib
    import yaml
    role = yaml.safe_load((pathlib.Path(__file__).parents[5] / "docs" / "k8s-health-readonly-clusterrole.yml").read_text())
    granted = {(group, resource) for rule in role["rules"] for group in rule.get("apiGroups", [])
               for resource in rule.get("resources", []) if {"get", "list"} <= set(rule["verbs"])}
    for _name, path, *_rest in objects.SOURCES:
        parts = path.strip("/").split("/")
        group = "" if parts[0] == "api" else parts[1]
        assert (group, parts[-1]) in granted, path
    assert ("", "services") in granted  # GET of each webhook's Service
