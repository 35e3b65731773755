"""Run sre.toolkit.diagnose inside the execution environment image against the lab, as AWX does.

AWX hands a job to ansible-runner, which runs the playbook inside the EE container; here
ansible-runner runs on this machine with process isolation through podman (host network: the lab
listens on 127.0.0.1), the lab's state folder mounted read-only at the same path (the kubeconfig
names its certificate files), and the job's options as extra vars. Then it checks what AWX would keep:
the job status, the report files the diagnose playbook wrote and the set_stats artifacts
(`sre_toolkit_report`), which ansible-runner reports in the playbook_on_stats event (AWX stores them
as the job's artifacts).

    python tests/ee/run_in_ee.py --image localhost/sre-toolkit-ee:1.0.0 --work /tmp/ee-run
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def lab_description() -> tuple[Path, dict]:
    state = Path(os.environ.get("LAB_STATE_DIR") or Path.home() / ".local/state/sre-toolkit-lab")
    lab = json.loads((state / "lab.json").read_text())
    for component in ("k8s", "prometheus", "tls"):
        if component not in lab:
            sys.exit(f"run_in_ee: the lab has no {component} component (python tests/lab/lab.py up)")
    return state, lab


def extra_vars(lab: dict, report_dir: str) -> dict:
    return {
        "diagnose_cluster_name": "lab",
        "diagnose_kubeconfig": lab["k8s"]["kubeconfig"],
        "diagnose_prometheus_url": lab["prometheus"]["url"],
        "diagnose_alert_frequency_options": {"end": lab["prometheus"]["window_end"], "window": "7d"},
        "diagnose_cert_expiry_options": {"paths": [lab["tls"]["files_dir"]], "ca_bundle": lab["tls"]["ca_bundle"],
                                         "secrets": {"namespaces": ["lab-certs"]}},
        "report_dir": report_dir,
        "report_formats": ["markdown", "html", "json", "junit"],
    }


def check(cond: bool, what: str, problems: list) -> None:
    print(("  ok    " if cond else "  FAIL  ") + what)
    if not cond:
        problems.append(what)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--engine", default="podman")
    args = parser.parse_args()

    import ansible_runner  # the test venv's (test-requirements.txt)

    state, lab = lab_description()
    pdd = args.work
    shutil.rmtree(pdd, ignore_errors=True)
    (pdd / "project").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    (pdd / "env").mkdir()
    shutil.copy(HERE / "diagnose_in_ee.yml", pdd / "project" / "diagnose_in_ee.yml")
    (pdd / "inventory" / "hosts").write_text("localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n")
    # ansible-runner mounts the private data dir at /runner in the container
    report_dir_in_ee = "/runner/project/reports"
    (pdd / "env" / "extravars").write_text(json.dumps(extra_vars(lab, report_dir_in_ee), indent=2))

    started = time.monotonic()
    result = ansible_runner.run(
        private_data_dir=str(pdd), playbook="diagnose_in_ee.yml", quiet=True,
        process_isolation=True, process_isolation_executable=args.engine, container_image=args.image,
        # The image runs as uid 1000 (ansible-builder's default); AWX hands it a private data dir that
        # user owns. Rootful podman here mounts a root-owned one, so the job runs as root instead.
        container_options=["--network=host", "--user=0"], container_volume_mounts=[f"{state}:{state}:ro"],
        envvars={"ANSIBLE_FORCE_COLOR": "0"},
    )
    seconds = time.monotonic() - started
    stdout = result.stdout.read() if result.stdout else ""
    (pdd / "job_stdout.txt").write_text(stdout)
    print(f"run_in_ee: job {result.status} (rc {result.rc}) in {seconds:.1f}s; stdout: {pdd / 'job_stdout.txt'}")

    problems: list = []
    check(result.status == "successful" and result.rc == 0, f"the job succeeded (status {result.status})", problems)
    events = list(result.events)
    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    check(len(stats) == 1, "ansible-runner reported the play's stats", problems)
    artifacts = (stats[0].get("event_data", {}).get("artifact_data") if stats else None) or {}
    (pdd / "artifact_data.json").write_text(json.dumps(artifacts, indent=2))
    report = artifacts.get("sre_toolkit_report") or {}
    check(bool(report), "set_stats left sre_toolkit_report in the job's artifacts", problems)
    verdict = report.get("verdict") or {}
    check(isinstance(verdict.get("failed"), bool) and "reason" in verdict, "the artifacts hold the verdict", problems)
    totals = report.get("totals") or {}
    check(all(isinstance(totals.get(s), int) for s in ("critical", "warning", "info")) and sum(totals.values()) > 0,
          f"the artifacts hold the totals {totals}", problems)
    files = report.get("files") or []
    host_files = [pdd / Path(f).relative_to("/runner") for f in files if f.startswith("/runner/")]
    check(len(files) == 4 and len(host_files) == 4 and all(p.is_file() and p.stat().st_size > 0 for p in host_files),
          f"the report files exist: {[p.name for p in host_files]}", problems)
    model_path = pdd / "project" / "reports" / "diagnose.json"
    model = json.loads(model_path.read_text()) if model_path.is_file() else {}
    clusters = model.get("clusters") or []
    modules = set()
    for cluster in clusters:
        modules.update((cluster.get("modules") or cluster.get("results") or {}).keys())
    check(bool(clusters) and model.get("totals") == totals,
          f"the JSON report is the model the artifacts summarise ({len(clusters)} cluster)", problems)
    check(bool(clusters) and not any(c.get("errors") for c in clusters),
          f"no module failed in the EE: {[c.get('errors') for c in clusters]}", problems)
    text = json.dumps(model)
    for module in ("k8s_health", "alert_frequency", "cert_expiry"):
        check(module in text, f"the report covers {module}", problems)
    check("No module named" not in stdout and "missing_required_lib" not in stdout,
          "no module missed a Python library in the EE", problems)
    summary = {"image": args.image, "status": result.status, "seconds": round(seconds, 1), "totals": totals,
               "verdict": verdict, "files": files, "problems": problems}
    (pdd / "summary.json").write_text(json.dumps(summary, indent=2))
    if problems:
        print("run_in_ee: FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        print(stdout[-4000:], file=sys.stderr)
        return 1
    print(f"run_in_ee: OK (verdict {'failed' if verdict.get('failed') else 'passed'}: {verdict.get('reason')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
