"""The notify role through a real ansible-playbook, against a local HTTP receiver on 127.0.0.1.

The report model is built (by the report_model filter, in the playbook) from a real cert_expiry
run on the lab's TLS endpoints. The receiver is a thread in this test that records every
request; PagerDuty, Slack and the webhook all point at it with secret-looking tokens in the
URLs and key, and the tests assert those never reach ansible-playbook's output.
"""
from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._certs.findings import from_result
from ansible_collections.sre.toolkit.plugins.module_utils._findings import counts
from tests.integration.ansible import run_module, run_playbook

ROUTING_KEY = "R0UT1NGKEYs3cr3t0000000000000042"
SLACK_TOKEN = "xoxSLACKt0k3nZZ9"
HOOK_TOKEN = "h00kT0K3Nqq7"
PD_PATH = "/pd/v2/enqueue"
SLACK_PATH = f"/slack/services/T000/B000/{SLACK_TOKEN}"
HOOK_PATH = f"/hook/{HOOK_TOKEN}"
SECRETS = (ROUTING_KEY, SLACK_TOKEN, HOOK_TOKEN)


class Receiver:
    """Records every request; `fail_next[path]` is a list of statuses to answer before succeeding."""

    def __init__(self):
        self.requests = []
        self.fail_next = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    queue = receiver.fail_next.get(self.path) or []
                    status = queue.pop(0) if queue else (202 if self.path == PD_PATH else 200)
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "status": status,
                                              "json": json.loads(body or b"null")})
                reply = json.dumps({"status": "success", "dedup_key": "x"} if self.path == PD_PATH else {"ok": True}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def accepted(self, path):
        return [r for r in self.requests if r["path"] == path and r["status"] < 300]

    def reset(self):
        with self.lock:
            self.requests.clear()
            self.fail_next.clear()


@pytest.fixture(scope="module")
def receiver():
    rec = Receiver()
    rec.thread.start()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture(autouse=True)
def clean_receiver(receiver):
    receiver.reset()


@pytest.fixture(scope="module")
def cert_result(lab_tls):
    """A real cert_expiry result on the lab's named endpoints (the scale ones left out for speed)."""
    targets = json.loads(Path(lab_tls["targets_file"]).read_text())
    endpoints = [{"name": t["id"], "host": t["host"], "port": t["port"], **({"sni": t["sni"]} if t.get("sni") else {}),
                  **({"starttls": t["starttls"]} if t.get("starttls") else {})}
                 for t in targets["endpoints"] if not t["id"].startswith("scale_")]
    result = run_module("cert_expiry", {"endpoints": endpoints, "ca_bundle": lab_tls["ca_bundle"],
                                        "tls_timeout": 3, "tls_deadline": 6})
    assert not result.get("failed"), result.get("msg")
    for key in ("_stdout", "_stderr", "_rc", "invocation"):
        result.pop(key, None)
    return result


def findings_by_severity(model_path):
    model = json.loads(Path(model_path).read_text())
    out = {"critical": [], "warning": [], "info": []}
    for cluster in model["clusters"]:
        for section in cluster["sections"]:
            for finding in section["findings"]:
                out[finding["severity"]].append((cluster["name"], finding))
    return model, out


def expected_key(cluster, finding):
    # The documented derivation (notify_dedup_key): sha256 of cluster, id, subject joined by \x1f.
    text = "\x1f".join((cluster, finding["id"], finding["subject"]))
    return "sre.toolkit-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def write_playbook(tmp_path, includes=1, clusters=("lab-a",)):
    """Build the model from the recorded result, save it as JSON, then include the notify role."""
    tasks = [
        {"name": "Build the model", "ansible.builtin.set_fact": {
            "model": "{{ [%s] | sre.toolkit.report_model('critical', 'notify test', '2026-01-01T00:00:00Z') }}" % ", ".join(
                "{'name': '%s', 'results': {'cert_expiry': cert_result}}" % name for name in clusters)}},
        {"name": "Save the model",
         "ansible.builtin.copy": {"content": "{{ model | to_json }}", "dest": str(tmp_path / "model.json"), "mode": "0644"}},
    ]
    for index in range(includes):
        tasks.append({"name": f"Notify {index}", "ansible.builtin.include_role": {"name": "sre.toolkit.notify"},
                      "vars": {"notify_report": "{{ model }}"}})
    tasks.append({"name": "Save sent keys", "ansible.builtin.copy": {
        "content": "{{ notify_sent_keys | default([]) | to_json }}", "dest": str(tmp_path / "sent.json"), "mode": "0644"}})
    play = [{"name": "notify test", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    path = tmp_path / "play.yml"
    path.write_text(json.dumps(play))
    return path


def notify_vars(receiver, cert_result, **extra):
    out = {
        "cert_result": cert_result,
        "notify_pagerduty_url": receiver.url + PD_PATH,
        "notify_pagerduty_routing_key": ROUTING_KEY,
        "notify_slack_webhook_url": receiver.url + SLACK_PATH,
        "notify_webhook_url": receiver.url + HOOK_PATH,
        "notify_webhook_headers": {"X-Receiver-Token": HOOK_TOKEN},
        "notify_retry_delay": 1,
    }
    out.update(extra)
    return out


def assert_no_secret(run):
    text = run["stdout"] + run["stderr"]
    for secret in SECRETS:
        assert secret not in text, f"secret {secret[:4]}... reached the ansible-playbook output"


def test_routing_payloads_and_dedup_in_one_run(receiver, cert_result, tmp_path):
    play = write_playbook(tmp_path, includes=2)
    run = run_playbook(play, notify_vars(receiver, cert_result))
    assert run["rc"] == 0, run["stdout"][-3000:] + run["stderr"]
    assert_no_secret(run)
    model, by_severity = findings_by_severity(tmp_path / "model.json")
    assert by_severity["critical"] and by_severity["warning"], "the lab's endpoints give critical and warning findings"

    # PagerDuty: one Events v2 trigger per critical finding, with the stable dedup key; nothing else.
    events = [r["json"] for r in receiver.accepted(PD_PATH)]
    assert len(events) == len(by_severity["critical"])
    expected = sorted(expected_key(c, f) for c, f in by_severity["critical"])
    assert sorted(e["dedup_key"] for e in events) == expected
    for event in events:
        assert event["routing_key"] == ROUTING_KEY
        assert event["event_action"] == "trigger"
        assert event["payload"]["severity"] == "critical"
        assert event["payload"]["source"] == "lab-a"
        assert event["payload"]["summary"] and len(event["payload"]["summary"]) <= 1024
        assert event["payload"]["component"] == "cert_expiry"
    assert all(r["headers"].get("Content-Type", "").startswith("application/json") for r in receiver.requests)

    # Slack: one message per run, listing warnings only (the default route).
    slack = [r["json"] for r in receiver.accepted(SLACK_PATH)]
    assert len(slack) == 1
    assert slack[0]["text"].startswith("notify test: FAILED")
    assert "%d finding(s)" % len(by_severity["warning"]) in slack[0]["text"]
    assert slack[0]["blocks"][0]["type"] == "header"
    listed = slack[0]["blocks"][2]["text"]["text"]
    assert "*warning*" in listed and "*critical*" not in listed

    # Webhook: every severity, each event with its dedup key, and our header.
    hooks = receiver.accepted(HOOK_PATH)
    assert len(hooks) == 1
    assert hooks[0]["headers"]["X-Receiver-Token"] == HOOK_TOKEN
    document = hooks[0]["json"]
    all_findings = [pair for sev in ("critical", "warning", "info") for pair in by_severity[sev]]
    assert sorted(e["dedup_key"] for e in document["events"]) == sorted({expected_key(c, f) for c, f in all_findings})
    assert document["totals"] == model["totals"] and document["verdict"]["failed"] is True

    # The second include in the same run sent nothing again: exactly 1 + 1 + N requests in all.
    assert len(receiver.requests) == len(events) + 2
    assert "Skipped as already sent in this run" in run["stdout"]
    sent = json.loads((tmp_path / "sent.json").read_text())
    assert len([k for k in sent if k.startswith("pagerduty:")]) == len(events)


def test_same_finding_same_key_across_runs_and_resolve(receiver, cert_result, tmp_path):
    state = tmp_path / "state.json"
    play = write_playbook(tmp_path)
    first = run_playbook(play, notify_vars(receiver, cert_result, notify_state_file=str(state)))
    assert first["rc"] == 0, first["stdout"][-3000:]
    keys_first = sorted(r["json"]["dedup_key"] for r in receiver.accepted(PD_PATH))
    assert json.loads(state.read_text())["pagerduty_open"] == keys_first

    # Second run: the expired leaf was fixed (its endpoint and findings left the result); same keys for the rest,
    # and a resolve event for the one that is gone.
    receiver.reset()
    leaf = next(e for e in cert_result["endpoints"] if e.get("id") == "expired_leaf")
    (expired,) = [f for f in from_result({"endpoints": [leaf]}) if f["id"] == "cert.expired"]
    kept = [f for f in cert_result["findings"] if f["subject"]["locator"] != expired["subject"]["locator"]]
    fixed = dict(cert_result, endpoints=[e for e in cert_result["endpoints"] if e is not leaf], findings=kept,
                 summary=dict(cert_result["summary"], counts=counts(kept)))
    second = run_playbook(play, notify_vars(receiver, fixed, notify_state_file=str(state)))
    assert second["rc"] == 0, second["stdout"][-3000:]
    assert_no_secret(second)
    triggers = [r["json"] for r in receiver.accepted(PD_PATH) if r["json"]["event_action"] == "trigger"]
    resolves = [r["json"] for r in receiver.accepted(PD_PATH) if r["json"]["event_action"] == "resolve"]
    gone = expected_key("lab-a", {"id": expired["id"], "subject": expired["subject"]["locator"]})
    assert gone in keys_first
    assert sorted(t["dedup_key"] for t in triggers) == sorted(set(keys_first) - {gone})
    assert [(r["dedup_key"], r["routing_key"]) for r in resolves] == [(gone, ROUTING_KEY)]
    assert gone not in json.loads(state.read_text())["pagerduty_open"]


def test_dry_run_sends_nothing_and_shows_no_secret(receiver, cert_result, tmp_path):
    play = write_playbook(tmp_path)
    run = run_playbook(play, notify_vars(receiver, cert_result, notify_dry_run=True))
    assert run["rc"] == 0, run["stdout"][-3000:]
    assert receiver.requests == []
    assert_no_secret(run)
    assert "Dry run: would send" in run["stdout"]
    assert "<redacted>" in run["stdout"] and '"event_action": "trigger"' in run["stdout"]
    assert json.loads((tmp_path / "sent.json").read_text()) == []


def test_check_mode_is_a_dry_run(receiver, cert_result, tmp_path):
    run = run_playbook(write_playbook(tmp_path), notify_vars(receiver, cert_result), check=True)
    assert run["rc"] == 0, run["stdout"][-3000:]
    assert receiver.requests == []
    assert_no_secret(run)


def test_retries_a_5xx_then_succeeds(receiver, cert_result, tmp_path):
    receiver.fail_next[HOOK_PATH] = [503]
    run = run_playbook(write_playbook(tmp_path), notify_vars(receiver, cert_result, notify_routes={"webhook": ["critical"]}))
    assert run["rc"] == 0, run["stdout"][-3000:]
    statuses = [r["status"] for r in receiver.requests if r["path"] == HOOK_PATH]
    assert statuses == [503, 200]
    assert {r["path"] for r in receiver.requests} == {HOOK_PATH}, "only the routed target is called"


def test_rejected_request_fails_clearly_without_secrets(receiver, cert_result, tmp_path):
    receiver.fail_next[PD_PATH] = [400] * 500
    run = run_playbook(write_playbook(tmp_path), notify_vars(receiver, cert_result, notify_routes={"pagerduty": ["critical"]}))
    assert run["rc"] != 0
    assert_no_secret(run)
    assert "not accepted" in run["stdout"] and "pagerduty HTTP 400" in run["stdout"]
    assert "Traceback" not in run["stdout"] + run["stderr"]
    # 4xx is not retried: one attempt per event.
    by_severity = findings_by_severity(tmp_path / "model.json")[1]
    assert len(receiver.requests) == len(by_severity["critical"])


def test_bad_route_names_the_option(receiver, cert_result, tmp_path):
    run = run_playbook(write_playbook(tmp_path), notify_vars(receiver, cert_result, notify_routes={"pager": ["critical"]}))
    assert run["rc"] != 0
    assert "notify_routes has unknown target 'pager'" in run["stdout"]
    assert receiver.requests == []
    assert_no_secret(run)


def test_two_hosts_one_cluster_send_once(receiver, cert_result, tmp_path):
    """The same cluster reported twice in one model (two inventory hosts, one context) is one event per finding."""
    play = write_playbook(tmp_path, clusters=("lab-a", "lab-a"))
    run = run_playbook(play, notify_vars(receiver, cert_result))
    assert run["rc"] == 0, run["stdout"][-3000:]
    keys = [r["json"]["dedup_key"] for r in receiver.accepted(PD_PATH)]
    assert keys and len(keys) == len(set(keys))


def test_secrets_stay_out_at_high_verbosity(receiver, cert_result, tmp_path):
    """-vvv prints module arguments and results; the no_log send and the role's no_log options keep secrets out."""
    run = run_playbook(write_playbook(tmp_path), notify_vars(receiver, cert_result), env={"ANSIBLE_VERBOSITY": "3"})
    assert run["rc"] == 0, run["stdout"][-3000:]
    assert receiver.accepted(PD_PATH) and receiver.accepted(HOOK_PATH)
    assert_no_secret(run)


def test_awx_diagnose_and_notify_playbook_on_the_lab(receiver, lab_tls, lab_k8s, lab_prometheus, tmp_path):
    """docs/awx/playbooks/diagnose_and_notify.yml end to end: diagnose the lab, then notify from the JSON report."""
    from scripts.demo_vars import demo_vars
    from tests.integration.collection import REPO_ROOT

    extra = demo_vars(str(tmp_path / "reports"))
    extra.update({"notify_webhook_url": receiver.url + HOOK_PATH, "notify_routes": {"webhook": ["critical", "warning"]}})
    run = run_playbook(REPO_ROOT / "docs" / "awx" / "playbooks" / "diagnose_and_notify.yml", extra)
    assert run["rc"] == 0, run["stdout"][-3000:] + run["stderr"][-2000:]
    assert_no_secret(run)
    report = json.loads((tmp_path / "reports" / "diagnose.json").read_text())
    hooks = receiver.accepted(HOOK_PATH)
    assert len(hooks) == 1 and receiver.requests == hooks
    document = hooks[0]["json"]
    assert document["totals"] == report["totals"] and document["verdict"] == report["verdict"]
    by_severity = findings_by_severity(tmp_path / "reports" / "diagnose.json")[1]
    routed = {expected_key(c, f) for sev in ("critical", "warning") for c, f in by_severity[sev]}
    assert {e["dedup_key"] for e in document["events"] if e["id"] != "module.error"} == routed
