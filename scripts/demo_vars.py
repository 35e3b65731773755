"""Extra vars that point the diagnose playbook at the local lab (read from lab.json)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lab import lab  # noqa: E402
from tests.lab.common import LabContext  # noqa: E402


def demo_vars(report_dir: str) -> dict:
    info = lab.read_lab(LabContext())
    k8s, prom, tls = info.get("k8s", {}), info.get("prometheus", {}), info.get("tls", {})
    extra = {
        "report_dir": report_dir,
        "report_title": "sre.toolkit diagnose: local lab",
        "report_formats": ["markdown", "html", "json", "junit"],
        "report_textfile_path": f"{report_dir}/sre_toolkit.prom",
        "diagnose_cluster_name": "lab",
    }
    if k8s:
        extra["diagnose_kubeconfig"] = k8s["kubeconfig"]
    if prom:
        extra["diagnose_prometheus_url"] = prom["url"]
        extra["diagnose_alert_frequency_options"] = {"end": prom.get("window_end"), "window": "7d"}
    if tls:
        extra["diagnose_cert_expiry_options"] = cert_options(tls, with_secrets=bool(k8s))
    return extra


def cert_options(tls: dict, with_secrets: bool) -> dict:
    """Every lab endpoint (with its SNI and STARTTLS), the lab's certificate files and Secrets."""
    targets = json.loads(Path(tls["targets_file"]).read_text())
    endpoints = []
    for target in targets.get("endpoints", []):
        endpoint = {"name": target["id"], "host": target["host"], "port": target["port"]}
        for key in ("sni", "starttls"):
            if target.get(key):
                endpoint[key] = target[key]
        endpoints.append(endpoint)
    options = {"endpoints": endpoints, "paths": [tls["files_dir"]], "ca_bundle": tls["ca_bundle"],
               "tls_timeout": 3, "tls_deadline": 6, "passphrase": tls.get("pkcs12_passphrase")}
    if with_secrets:
        options["secrets"] = {"namespaces": ["lab-certs"]}
    return {key: value for key, value in options.items() if value is not None}


if __name__ == "__main__":
    print(json.dumps(demo_vars(sys.argv[1]), indent=2))
