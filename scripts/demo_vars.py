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
        extra["diagnose_cert_expiry_options"] = cert_options(tls)
    return extra


def cert_options(tls: dict) -> dict:
    targets = json.loads(Path(tls["targets_file"]).read_text())
    endpoints = [f"{t['host']}:{t['port']}" for t in targets.get("endpoints", [])][:20]
    return {"endpoints": endpoints, "paths": [tls["files_dir"]], "ca_bundle": tls["ca_bundle"]}


if __name__ == "__main__":
    print(json.dumps(demo_vars(sys.argv[1]), indent=2))
