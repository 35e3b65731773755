# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes version strings (vendor suffixes included) and the published skew policy."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from .model import finding

# v1.29.7-eks-a18cd3a, v1.27.3-gke.100, v1.30.2+k3s1, 1.28, v1.36.0-rc.1, registry/kube-proxy:v1.30.1@sha256:...
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text):
    """Return (major, minor, patch) or None. Vendor suffixes and pre-release tags are ignored."""
    if not text or not isinstance(text, str):
        return None
    match = _VERSION.search(text.strip())
    if not match or int(match.group(1)) < 1:
        # e.g. "kwok-v0.8.0" or "fake": not a Kubernetes version
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def image_tag_version(image):
    """Version from an image reference's tag: registry.k8s.io/kube-proxy:v1.30.1(@sha256:...)."""
    if not image:
        return None
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    return parse_version(last.split(":", 1)[1])


def version_text(version):
    return "v%d.%d.%d" % version if version else "unknown"


def minor_gap(older, newer):
    """How many minors `older` is behind `newer` (negative when it is ahead)."""
    if older[0] != newer[0]:
        return (newer[0] - older[0]) * 100
    return newer[1] - older[1]


def kubelet_max_skew(kubelet):
    # kubelets before 1.25 may be at most 2 minors older; from 1.25 on, 3
    return 2 if kubelet[:2] < (1, 25) else 3


def judge_kubelet(node_name, kubelet, apiserver):
    """Kubelet: never newer than the (oldest) apiserver; at most 3 (2 before 1.25) minors older."""
    gap = minor_gap(kubelet, apiserver)
    evidence = {"kubelet": version_text(kubelet), "apiserver": version_text(apiserver), "minor_skew": gap}
    if gap < 0:
        return finding(
            "version.kubelet_newer", "critical", "Node", node_name,
            "kubelet %s is newer than the API server %s" % (version_text(kubelet), version_text(apiserver)),
            "Upgrade the control plane first; a kubelet may never be newer than kube-apiserver.", evidence=evidence)
    if gap > kubelet_max_skew(kubelet):
        return finding(
            "version.kubelet_skew", "critical", "Node", node_name,
            "kubelet %s is %d minors behind the API server %s (policy allows %d)"
            % (version_text(kubelet), gap, version_text(apiserver), kubelet_max_skew(kubelet)),
            "Upgrade this node's kubelet (drain, upgrade, uncordon) to within the supported skew.", evidence=evidence)
    return None


def judge_kube_proxy(source, proxy, apiserver, kubelets):
    """kube-proxy: never newer than the apiserver, at most 3 minors older, within 3 of each kubelet."""
    out = []
    gap = minor_gap(proxy, apiserver)
    evidence = {"kube_proxy": version_text(proxy), "apiserver": version_text(apiserver), "minor_skew": gap}
    if gap < 0:
        out.append(finding(
            "version.kube_proxy_newer", "critical", "DaemonSet", source[1],
            "kube-proxy %s is newer than the API server %s" % (version_text(proxy), version_text(apiserver)),
            "Roll kube-proxy back to the control plane's version, or upgrade the control plane first.",
            namespace=source[0], evidence=evidence))
    elif gap > kubelet_max_skew(proxy):
        out.append(finding(
            "version.kube_proxy_skew", "critical", "DaemonSet", source[1],
            "kube-proxy %s is %d minors behind the API server %s" % (version_text(proxy), gap, version_text(apiserver)),
            "Upgrade the kube-proxy DaemonSet image to a supported version.", namespace=source[0], evidence=evidence))
    far = sorted(name for name, kubelet in kubelets.items() if abs(minor_gap(proxy, kubelet)) > kubelet_max_skew(min(proxy, kubelet)))
    if far:
        out.append(finding(
            "version.kube_proxy_kubelet_skew", "warning", "DaemonSet", source[1],
            "kube-proxy %s is more than %d minors away from the kubelet on %d node(s)"
            % (version_text(proxy), kubelet_max_skew(proxy), len(far)),
            "Keep kube-proxy within 3 minors (2 before 1.25) of every node's kubelet.",
            namespace=source[0], evidence={"kube_proxy": version_text(proxy), "nodes": far[:20], "node_count": len(far)}))
    return out


def judge_control_plane_component(component, namespace, pod_name, version, apiserver):
    """kube-controller-manager, kube-scheduler, cloud-controller-manager: never newer, at most 1 older."""
    gap = minor_gap(version, apiserver)
    evidence = {"component": component, "version": version_text(version), "apiserver": version_text(apiserver), "minor_skew": gap}
    if gap < 0:
        return finding(
            "version.control_plane_newer", "critical", "Pod", pod_name,
            "%s %s is newer than the oldest API server %s" % (component, version_text(version), version_text(apiserver)),
            "Upgrade every kube-apiserver before %s." % component, namespace=namespace, evidence=evidence)
    if gap > 1:
        return finding(
            "version.control_plane_skew", "critical", "Pod", pod_name,
            "%s %s is %d minors behind the API server %s (policy allows 1)" % (component, version_text(version), gap, version_text(apiserver)),
            "Upgrade %s to the API server's minor." % component, namespace=namespace, evidence=evidence)
    return None


def judge_apiservers(apiservers):
    """HA kube-apiservers must be within 1 minor of each other. apiservers: {pod_name: (ns, version)}."""
    versions = [item[1] for item in apiservers.values()]
    if len(versions) < 2:
        return None
    oldest, newest = min(versions), max(versions)
    if minor_gap(oldest, newest) <= 1:
        return None
    return finding(
        "version.apiserver_skew", "critical", "Pod", "kube-apiserver",
        "kube-apiserver instances span %s to %s (policy allows 1 minor)" % (version_text(oldest), version_text(newest)),
        "Finish the control-plane upgrade: bring every kube-apiserver to the same minor.",
        namespace="kube-system",
        evidence={"instances": {name: version_text(item[1]) for name, item in sorted(apiservers.items())}})
