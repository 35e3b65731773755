"""incident_timeline on the lab: a designed incident played live (tests/lab/incident.py: a chaos run, a
bad rollout that crash-loops, the alert it fires, a rollback, recovery) read back by the real module,
and the same range with a source missing: Prometheus down, events forbidden (a local proxy answers
403 for them), events expired (deleted as the TTL would, with the TTL the module is told)."""
from __future__ import annotations

import http.server
import json
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import requests
import yaml

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._k8s import K8sClient
from ansible_collections.sre.toolkit.plugins.module_utils._incidents.assemble import SOURCES
from tests.integration.ansible import run_module, run_playbook
from tests.integration.collection import REPO_ROOT
from tests.integration.test_alert_frequency import alertmanager  # noqa: F401  pylint: disable=unused-import
from tests.integration.test_contract import assert_contract
from tests.lab import incident as designed


PLAYBOOKS = REPO_ROOT / "playbooks"


def _iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + (".%03dZ" % int((epoch % 1) * 1000))


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Refusing(http.server.ThreadingHTTPServer):
    daemon_threads = True


def events_forbidding_proxy(kubeconfig):
    """A plain-HTTP proxy to the lab API server (admin client certificate) that answers 403 for events."""
    cfg = yaml.safe_load(open(kubeconfig, encoding="utf-8"))
    cluster, user = cfg["clusters"][0]["cluster"], cfg["users"][0]["user"]
    context = ssl.create_default_context(cafile=cluster["certificate-authority"])
    context.load_cert_chain(user["client-certificate"], user["client-key"])

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_args):
            pass

        def do_GET(self):
            if "/events" in self.path.split("?")[0]:
                body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
                                   "message": 'events is forbidden: User "timeline-reader" cannot list resource "events"'}).encode()
                status = 403
            else:
                try:
                    with urllib.request.urlopen(cluster["server"] + self.path, context=context, timeout=30) as resp:
                        body, status = resp.read(), resp.status
                except urllib.error.HTTPError as exc:
                    body, status = exc.read(), exc.code
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = _Refusing(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def incident(lab_k8s, lab_prometheus, alertmanager, tmp_path_factory):
    auth = {"kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context")}
    k8s = K8sClient.from_params(auth)

    def chaos(ns):
        result = run_module("pod_killer", dict(auth, namespaces=[ns], label_selector="app=web", min_age="0s", cooldown="0", dry_run=False,
                                               recovery_timeout=60))
        assert not result.get("failed"), result.get("msg")
        return result["record"]

    def silence(ns):
        now = time.time()
        body = {"matchers": [{"name": "alertname", "value": designed.ALERT, "isRegex": False},
                             {"name": "namespace", "value": ns, "isRegex": False}],
                "startsAt": _iso(now), "endsAt": _iso(now + 3600), "createdBy": "on-call", "comment": "checkout crash-looping, rolling back"}
        return requests.post(alertmanager + "/api/v2/silences", json=body, timeout=10).json()["silenceID"]

    truth = designed.play(k8s, lab_prometheus["url"], chaos, silence)
    ns = truth["namespace"]
    common = dict(auth, prometheus_url=lab_prometheus["url"], namespaces=[ns], alert_selector='namespace="%s"' % ns,
                  evaluation_interval="%ds" % designed.INTERVAL, heartbeat='up{job="incident-lab", namespace="%s"}' % ns,
                  title="checkout crash-loop", sources=[s for s in SOURCES if s != "nodes"])
    # nodes are cluster-wide: the lab's seeded node conditions would be the first symptom of any range that reaches
    # back to the lab's start, so the runs leave them out, but the forbidden-events run, which checks they are read
    runs = {}
    try:
        around = {"alertname": designed.ALERT, "matchers": 'namespace="%s"' % ns, "before": "10m", "after": "0s"}
        runs["main"] = run_module("incident_timeline", dict(common, alertmanager_url=alertmanager, chaos_records=[truth["chaos_record"]],
                                                            around_alert=around))
        window = {"start": str(runs["main"]["range"]["start"]), "end": str(runs["main"]["range"]["end"])}
        # two sources missing at once: Prometheus refuses connections, the API server answers 403 for events
        proxy = events_forbidding_proxy(lab_k8s["kubeconfig"])
        try:
            runs["partial"] = run_module("incident_timeline", dict(
                {k: v for k, v in common.items() if k not in ("kubeconfig", "context")}, **window,
                prometheus_url="http://127.0.0.1:%d" % _closed_port(), prometheus_retries=0, prometheus_timeout=3,
                host="http://127.0.0.1:%d" % proxy.server_address[1]))
        finally:
            proxy.shutdown()
        # the incident_events role keeps what the TTL will take (twice: the second run must add nothing)
        store = tmp_path_factory.mktemp("event-store")
        export_vars = {"incident_events_store": str(store), "incident_events_kubeconfig": auth["kubeconfig"],
                       "incident_events_context": auth["context"], "incident_events_namespaces": [ns],
                       "incident_events_chaos_records": [truth["chaos_record"]]}
        runs["export"] = [run_playbook(PLAYBOOKS / "incident_events.yml", export_vars) for _run in range(2)]
        runs["store_lines"] = sum(len(f.read_text().splitlines()) for f in store.glob("events-*.jsonl"))
        # the TTL's work, done now: every event of the namespace gone; the module is told the TTL
        k8s.delete("/api/v1/namespaces/%s/events" % ns)
        runs["events_expired"] = run_module("incident_timeline", dict(common, **window, event_ttl="2m"))
        runs["from_store"] = run_module("incident_timeline", dict(common, **window, event_ttl="2m", event_store=str(store)))
        out = tmp_path_factory.mktemp("incident-report")
        runs["playbook_dir"] = out
        runs["playbook"] = run_playbook(PLAYBOOKS / "incident.yml", {
            "incident_title": "checkout crash-loop", "incident_kubeconfig": auth["kubeconfig"], "incident_context": auth["context"],
            "incident_prometheus_url": lab_prometheus["url"], "incident_alertname": designed.ALERT,
            "incident_alert_matchers": 'namespace="%s"' % ns, "incident_before": "10m", "incident_after": "0s",
            "incident_namespaces": ns, "incident_evaluation_interval": "%ds" % designed.INTERVAL, "incident_event_store": str(store),
            "incident_options": {"heartbeat": common["heartbeat"], "sources": common["sources"], "alert_selector": common["alert_selector"]},
            "incident_postmortem_dir": str(out), "report_dir": str(out), "report_formats": ["html", "json"]})
        if os.environ.get("INCIDENT_DUMP"):
            kept = {k: v for k, v in runs.items() if isinstance(v, dict)}
            Path(os.environ["INCIDENT_DUMP"]).write_text(json.dumps({"truth": truth, "runs": kept}, indent=1, default=str))
        yield truth, runs
    finally:
        try:
            k8s.delete("/api/v1/namespaces/%s" % ns)
        except ToolkitError:
            pass


def _near(value, expected, tolerance=designed.INTERVAL):
    return value is not None and abs(value - expected) <= tolerance


def _first(result, kind, locator=None, revision=None):
    return next(e for e in result["timeline"] if e["kind"] == kind and (locator is None or e["subject"]["locator"] == locator)
                and (revision is None or e["evidence"].get("revision") == revision))


def test_designed_incident_timeline(incident):
    truth, runs = incident
    result = assert_contract(runs["main"])
    ns = truth["namespace"]
    checkout = "Deployment %s/checkout" % ns
    assert result["range"]["how"].startswith("around alert/%s" % designed.ALERT)
    assert result["summary"]["partial"] == [] and result["sources"]["silences"]["status"] == "ok"
    line = result["timeline"]
    assert [e["time"] for e in line] == sorted(e["time"] for e in line)
    assert len({e["key"] for e in line}) == len(line)
    # the designed order, each step at its designed time
    steps = [_first(result, "chaos_run_started"), _first(result, "chaos_action", "Deployment %s/web" % ns),
             _first(result, "rollout", checkout, revision=2), _first(result, "warning_event"), _first(result, "alert_pending"),
             _first(result, "alert_firing"), _first(result, "silence_started"), _first(result, "rollback", checkout),
             _first(result, "alert_resolved")]
    assert [s["time"] for s in steps] == sorted(s["time"] for s in steps), [(s["kind"], s["time_utc"]) for s in steps]
    assert _near(steps[2]["time"], truth["rollout"], 1.0) and "shop/checkout:1.0 -> shop/checkout:1.1" in steps[2]["what"]
    assert steps[7]["confidence"] == "exact" and "rolled back to revision 1" in steps[7]["what"]
    assert _near(steps[6]["time"], truth["silenced"], 1.0) and steps[6]["evidence"]["id"] == truth["silence_id"]
    assert steps[6]["what"] == "silence by on-call: checkout crash-looping, rolling back"
    chaos = [e for e in line if e["kind"] == "chaos_action"]
    assert len(chaos) == 1 and chaos[0]["evidence"]["run_id"] == truth["chaos_record"]["run_id"]  # Event + annotation = one
    marks = result["milestones"]
    assert _near(marks["first_symptom"]["time"], truth["crash"], 1.0)
    assert _near(marks["detection"]["time"], truth["firing"])
    assert _near(marks["mitigation"]["time"], truth["rollback"])
    assert _near(marks["resolution"]["time"], truth["recovered"]) and marks["open_alerts"] == []
    assert [(t["kind"], t["locator"]) for t in result["triggers"][:1]] == [("rollout", checkout)]
    assert result["triggers"][0]["related_symptoms"] and any(t["kind"].startswith("chaos") for t in result["triggers"][1:])
    assert "rollback" not in {t["kind"] for t in result["triggers"]}
    gaps = [item for item in result["limits"] if item["id"] == "prometheus_gap" and item["to"] > truth["begin"]]
    assert len(gaps) == 1 and _near(gaps[0]["from"], truth["gap"][0]) and _near(gaps[0]["to"], truth["gap"][1])
    ids = {f["id"] for f in result["findings"]}
    assert {"incident.milestones", "incident.trigger_candidate", "incident.prometheus_gap"} <= ids
    assert not ids & {"incident.source_unavailable", "incident.no_alert", "incident.unresolved", "incident.events_expired"}
    page = result["postmortem"]
    assert marks["detection"]["time_utc"] in page and "rolled out revision 2" in page and "## Action items" in page


def test_prometheus_down_and_events_forbidden_give_a_partial_timeline(incident):
    truth, runs = incident
    result = assert_contract(runs["partial"])
    assert result["summary"]["partial"] == ["alerts", "events"], result["sources"]
    assert result["sources"]["alerts"]["status"] == "error" and result["sources"]["events"]["status"] == "forbidden"
    assert "timeline is partial: alerts" in result["_stderr"] and "Traceback" not in result["_stderr"]
    assert [f["subject"]["locator"] for f in result["findings"] if f["id"] == "incident.source_unavailable"] == [
        "source alerts", "source events"]
    assert not [e for e in result["timeline"] if e["source"] in ("alerts", "events")]
    assert result["sources"]["rollouts"]["status"] == "ok" and result["sources"]["containers"]["status"] == "ok"
    marks = result["milestones"]
    # no alert and no symptom left (the crash-looping pods are gone with their ReplicaSet's scale-down): said, not guessed
    assert marks["first_symptom"] is None and marks["detection"] is None and marks["resolution"] is None
    assert "- **Detection**: unknown from the sources read" in result["postmortem"]
    # without the ScalingReplicaSet events the rollback time comes from the Deployment's Progressing condition
    assert _near(marks["mitigation"]["time"], truth["rollback"]) and marks["mitigation"]["confidence"] == "inferred"
    assert _near(_first(result, "rollout", "Deployment %s/checkout" % truth["namespace"], revision=2)["time"], truth["rollout"], 1.0)


def test_expired_events_are_named_and_the_rest_still_holds(incident):
    truth, runs = incident
    result = assert_contract(runs["events_expired"])
    expired = [item for item in result["limits"] if item["id"] == "events_expired"]
    assert expired and "incident.events_expired" in {f["id"] for f in result["findings"] if f["severity"] == "warning"}
    assert not [e for e in result["timeline"] if e["source"] == "events" or e["kind"] == "chaos_action" and "Event" in e["what"]]
    marks = result["milestones"]
    assert _near(marks["detection"]["time"], truth["firing"]) and _near(marks["resolution"]["time"], truth["recovered"])
    rollout = _first(result, "rollout", "Deployment %s/checkout" % truth["namespace"], revision=2)
    assert _near(rollout["time"], truth["rollout"], 1.0)  # ReplicaSets outlive their events


def test_event_store_keeps_what_the_ttl_took(incident):
    truth, runs = incident
    first, second = runs["export"]
    assert first["rc"] == 0 and second["rc"] == 0, first["stdout"][-2000:] + first["stderr"][-2000:]
    assert "changed=1" in first["stdout"] and "changed=0" in second["stdout"]  # the second export found nothing new
    main, result = runs["main"], assert_contract(runs["from_store"])
    assert runs["store_lines"] >= 6  # BackOff, ScalingReplicaSet x4+, the chaos Event, ReplicaSets, the record
    back = [e for e in result["timeline"] if e["kind"] == "warning_event"]
    assert [(e["time"], e["what"]) for e in back] == [(e["time"], e["what"]) for e in main["timeline"] if e["kind"] == "warning_event"]
    assert _near(result["milestones"]["mitigation"]["time"], truth["rollback"]) and result["milestones"]["mitigation"]["confidence"] == "exact"
    assert [t["locator"] for t in result["triggers"][:1]] == ["Deployment %s/checkout" % truth["namespace"]]


def test_incident_playbook_writes_the_postmortem_and_the_report(incident):
    truth, runs = incident
    play, out = runs["playbook"], runs["playbook_dir"]
    assert play["rc"] == 0, play["stdout"][-3000:] + play["stderr"][-3000:]
    page = (out / "checkout-crash-loop.postmortem.md").read_text()
    assert page.startswith("# Postmortem: checkout crash-loop") and "## Root causes" in page
    assert runs["main"]["milestones"]["detection"]["time_utc"] in page
    report = (out / "incident.html").read_text()
    assert "The incident on one axis" in report and "rolled out revision 2" in report
    model = json.loads((out / "incident.json").read_text())
    assert "incident.milestones" in json.dumps(model)
