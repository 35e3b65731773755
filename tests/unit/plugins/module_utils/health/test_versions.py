import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._health import versions


@pytest.mark.parametrize("text,expected", [
    ("v1.29.7-eks-a18cd3a", (1, 29, 7)),
    ("v1.27.3-gke.100", (1, 27, 3)),
    ("v1.30.2+k3s1", (1, 30, 2)),
    ("v1.31.1-aks", (1, 31, 1)),
    ("1.28", (1, 28, 0)),
    ("v1.36.0-rc.1", (1, 36, 0)),
    ("kwok-v0.8.0", None),
    ("", None),
    ("fake", None),
    (None, None),
])
def test_parse_version_vendor_suffixes(text, expected):
    assert versions.parse_version(text) == expected


@pytest.mark.parametrize("image,expected", [
    ("registry.k8s.io/kube-proxy:v1.30.1", (1, 30, 1)),
    ("registry.k8s.io/kube-proxy:v1.30.1@sha256:abc", (1, 30, 1)),
    ("602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/kube-proxy:v1.29.0-minimal-eksbuild.1", (1, 29, 0)),
    ("localhost:5000/kube-proxy", None),
    ("kube-proxy@sha256:abc", None),
])
def test_image_tag_version(image, expected):
    assert versions.image_tag_version(image) == expected


def test_kubelet_skew_policy():
    api = (1, 36, 4)
    assert versions.judge_kubelet("n", (1, 36, 0), api) is None
    assert versions.judge_kubelet("n", (1, 33, 9), api) is None  # 3 older is allowed
    assert versions.judge_kubelet("n", (1, 32, 0), api)["id"] == "version.kubelet_skew"
    assert versions.judge_kubelet("n", (1, 37, 0), api)["id"] == "version.kubelet_newer"
    # before 1.25 only 2 minors were allowed
    assert versions.judge_kubelet("n", (1, 22, 0), (1, 24, 0)) is None
    assert versions.judge_kubelet("n", (1, 21, 0), (1, 24, 0))["id"] == "version.kubelet_skew"


def test_kube_proxy_and_control_plane_skew():
    out = versions.judge_kube_proxy(("kube-system", "kube-proxy"), (1, 37, 0), (1, 36, 0), {"a": (1, 36, 0)})
    assert [f["id"] for f in out] == ["version.kube_proxy_newer"]
    out = versions.judge_kube_proxy(("kube-system", "kube-proxy"), (1, 36, 0), (1, 36, 0), {"old": (1, 32, 0), "ok": (1, 35, 0)})
    assert [f["id"] for f in out] == ["version.kube_proxy_kubelet_skew"] and out[0]["evidence"]["nodes"] == ["old"]
    assert versions.judge_control_plane_component("kube-scheduler", "kube-system", "s", (1, 35, 0), (1, 36, 0)) is None
    assert versions.judge_control_plane_component("kube-scheduler", "kube-system", "s", (1, 34, 0), (1, 36, 0))["id"] == "version.control_plane_skew"
    assert versions.judge_control_plane_component("kube-scheduler", "kube-system", "s", (1, 37, 0), (1, 36, 0))["id"] == "version.control_plane_newer"


def test_ha_apiserver_skew():
    assert versions.judge_apiservers({"a": ("kube-system", (1, 36, 0)), "b": ("kube-system", (1, 35, 0))}) is None
    assert versions.judge_apiservers({"a": ("kube-system", (1, 36, 0)), "b": ("kube-system", (1, 34, 0))})["id"] == "version.apiserver_skew"
