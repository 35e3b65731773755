"""The shared Kubernetes client against the lab's real API server."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._k8s import K8sClient


@pytest.fixture
def client(lab_k8s):
    return K8sClient.from_params({"kubeconfig": lab_k8s["kubeconfig"]})


def test_kubeconfig_ca_wins_over_requests_ca_bundle(lab_k8s, monkeypatch):
    # A CA bundle from the environment must not replace the kubeconfig's CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    version = K8sClient.from_params({"kubeconfig": lab_k8s["kubeconfig"]}).version()
    assert version["gitVersion"].startswith("v1.36.")


def test_paged_list_equals_unpaged_list(client):
    unpaged = client.get("/api/v1/pods")["items"]
    assert len(unpaged) > 5
    paged = client.list_all("/api/v1/pods", page_size=2)
    assert sorted(p["metadata"]["uid"] for p in paged) == sorted(p["metadata"]["uid"] for p in unpaged)
    assert client.stats["pages"] >= len(unpaged) // 2


def test_projection_keeps_only_requested_fields(client):
    pods = client.list_all("/api/v1/pods", fields=["metadata.name", "metadata.namespace", "status.phase"])
    assert pods and all(set(p) <= {"metadata", "status"} and set(p["metadata"]) <= {"name", "namespace"} for p in pods)


def test_health_probes_and_version(client):
    status, body = client.probe("/readyz?verbose")
    assert status == 200 and "readyz check passed" in body
    assert client.probe("/livez/no-such-check")[0] == 404


def test_errors_have_kinds(client, lab_k8s):
    with pytest.raises(ToolkitError) as err:
        client.get("/api/v1/namespaces/no-such-namespace-here")
    assert err.value.kind == "not_found" and err.value.status == 404
    anonymous = K8sClient.from_params({"host": lab_k8s["server"], "validate_certs": False})
    with pytest.raises(ToolkitError) as err:
        anonymous.get("/api/v1/secrets")
    assert err.value.kind in ("forbidden", "auth")


def test_missing_kubeconfig_is_a_clear_error(tmp_path):
    with pytest.raises(ToolkitError) as err:
        K8sClient.from_params({"kubeconfig": str(tmp_path / "nope")})
    assert "does not exist" in err.value.msg
