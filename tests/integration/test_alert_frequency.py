"""alert_frequency against the lab's Prometheus: every figure checked against the ground truth.

The lab serves a generated 30-day ALERTS / ALERTS_FOR_STATE history and writes what Prometheus
itself would count (tests/lab/alerts/README.md). The module runs through a real ansible-playbook,
with the window pinned to the history's window.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.integration.lab_waits import wait_for_live_watchdog
from tests.integration.ansible import run_module, run_playbook

TARGET_DIR = Path(__file__).parent / "targets" / "alert_frequency"


@pytest.fixture(scope="module")
def lab(lab_prometheus):
    truth = json.loads(Path(lab_prometheus["ground_truth"]).read_text())
    _wait_for_rule_evaluations(lab_prometheus["url"], truth["interval_seconds"])
    return {"url": lab_prometheus["url"], "truth": truth, "start": truth["window"]["start"], "end": truth["window"]["end"]}


def _wait_for_rule_evaluations(url, interval, timeout=None):
    """Rule health is 'unknown' until a group's first evaluation; the unhealthy rule needs one."""
    deadline = time.monotonic() + (timeout or 3 * interval + 30)
    while True:
        groups = requests.get(url + "/api/v1/rules", timeout=10).json()["data"]["groups"]
        if all(not g.get("lastEvaluation", "").startswith("0001") for g in groups):
            return
        if time.monotonic() > deadline:
            raise AssertionError("the lab's rule groups were not evaluated within %ss" % timeout)
        time.sleep(2)


@pytest.fixture(scope="module")
def full(lab):
    result = run_module("alert_frequency", {
        "prometheus_url": lab["url"], "start": str(lab["start"]), "end": str(lab["end"]),
        "ignore_labels": lab["truth"]["ignored_labels"],
    })
    assert result["_rc"] == 0 and not result.get("failed"), result.get("msg")
    return result


def _by_key(items, key="key"):
    return {item[key]: item for item in items}


def test_totals_and_samples(full, lab):
    totals = lab["truth"]["totals"]
    assert full["summary"]["instances"] == totals["instances"]
    assert full["summary"]["episodes"] == totals["episodes"]
    assert full["summary"]["near_misses"] == totals["near_misses"]
    # Raw range vectors return every stored sample exactly once.
    assert full["queries"]["samples"] == totals["samples"]
    assert full["queries"]["queries"] >= 3 and full["changed"] is False


def test_every_episode_matches_the_ground_truth(full, lab):
    interval = lab["truth"]["interval_seconds"]
    mine = _by_key(full["instances"])
    assert set(mine) == {i["key"] for i in lab["truth"]["instances"]}
    for want in lab["truth"]["instances"]:
        got = mine[want["key"]]
        assert got["labels"] == want["labels"]
        assert got["replicas"] == max(1, len(want["replicas"])), want["key"]
        fired = [e for e in got["history"] if e["fired"]]
        assert len(fired) == len(want["episodes"]), want["key"]
        assert got["near_misses"] == len(want["near_misses"]), want["key"]
        for g, w in zip(fired, want["episodes"]):
            assert g["active_at"] == w["active_at"], (want["key"], w)
            assert g["fired_at"] == pytest.approx(w["fired_at"], abs=1e-3), (want["key"], w)
            assert (g["open"], g["truncated"]) == (w["open"], w["truncated"]), (want["key"], w)
            if w["resolved_at"] is None:
                assert g["resolved_at"] is None
            else:
                assert abs(g["resolved_at"] - w["resolved_at"]) <= interval, (want["key"], w)
            w_seconds = (w["resolved_at"] or lab["end"]) - w["fired_at"]
            assert abs(g["firing_seconds"] - w_seconds) <= interval, (want["key"], w)
        assert abs(got["firing_seconds"] - want["firing_seconds"]) <= interval * max(1, len(want["episodes"]))


def test_flapping_matches_nagios_psc(full, lab):
    mine = _by_key(full["instances"])
    for want in lab["truth"]["instances"]:
        flap = mine[want["key"]]["flapping"]
        assert flap["flapping"] == want["flapping"], want["key"]
        assert flap["periods"] == want["flap_starts"], want["key"]
        assert flap["max_psc"] == pytest.approx(want["max_psc"], abs=0.01), want["key"]


def test_rule_figures(full, lab):
    interval = lab["truth"]["interval_seconds"]
    mine = _by_key(full["rules"], "rule")
    for name, want in lab["truth"]["rules"].items():
        if want["dead"]:
            assert name not in mine
            continue
        got = mine[name]
        assert got["episodes"] == want["episodes"], name
        assert got["instances"] == want["firing_instances"], name
        assert got["instances_seen"] == want["instances"], name
        assert got["near_misses"] == want["near_misses"], name
        assert (got["open_episodes"], got["truncated_episodes"]) == (want["open_episodes"], want["truncated_episodes"]), name
        assert abs(got["firing_seconds"] - want["firing_seconds"]) <= interval * max(1, want["truncated_episodes"]), name
        assert got["firing_share"] == pytest.approx(want["share"], abs=1e-3), name
        assert got["hours"] == want["fired_hour_utc"], name
        assert got["weekdays"] == want["fired_weekday_utc"], name
        assert got["flapping_instances"] == len(want["flapping_instances"]), name
        # episodes pending at the window start that fire inside it are complete: they count here
        assert got["resolve_time"]["count"] == len(want["resolve_seconds"]), name
        assert got["pending_delay"]["count"] == len(want["pending_delays"]), name
        if want["resolve_seconds"]:
            assert got["resolve_time"]["mean"] == pytest.approx(
                sum(want["resolve_seconds"]) / len(want["resolve_seconds"]), abs=interval), name
            assert got["pending_delay"]["mean"] == pytest.approx(
                sum(want["pending_delays"]) / len(want["pending_delays"]), abs=interval), name


def test_dead_unhealthy_and_always_firing_rules(full, lab):
    truth = lab["truth"]
    assert [d["rule"] for d in full["dead_rules"]] == sorted(truth["dead_rules"])
    assert full["never_fired_rules"] == []
    unhealthy = {u["rule"]: u for u in full["unhealthy_rules"]}
    assert set(unhealthy) == {u["rule"] for u in truth["unhealthy_rules"]}
    for want in truth["unhealthy_rules"]:
        assert unhealthy[want["rule"]]["health"] == want["health"]
        assert want["error_contains"] in unhealthy[want["rule"]]["last_error"]
    watchdog = _by_key(full["always_firing"], "rule")
    assert set(watchdog) == set(truth["always_firing"])
    assert all(w["ok"] and w["firing_share"] > 0.99 for w in watchdog.values())


def test_cofiring_pairs(full, lab):
    """Exactly the designed pairs, per instance and as whole rules, each with its confidence; the
    lab designs no other relation, so any other claim is chance the analysis failed to rule out."""
    truth = lab["truth"]
    want = {(p["a"], p["b"]): p for p in truth["cofiring_pairs"]}
    got = {(p["a"], p["b"]): p for p in full["cofiring"] if p["level"] == "instance"}
    assert set(got) == set(want)
    for pair, w in want.items():
        assert got[pair]["id"] == "cofiring.overlap"
        assert got[pair]["overlap_score"] == pytest.approx(w["score"], abs=0.01)
        assert got[pair]["together"] == w["together"]
    rule_pairs = {tuple(p) for p in truth["designed_rule_pairs"]}
    assert {tuple(p["rules"]) for p in full["cofiring"] if p["level"] == "rule"} == {tuple(sorted(p)) for p in rule_pairs}
    designed = {tuple(p) for p in truth["designed_pairs"]}
    assert {(c["first"], c["then"]) for c in full["cascades"] if c["level"] == "instance"} == designed
    assert {(c["first"], c["then"]) for c in full["cascades"] if c["level"] == "rule"} == rule_pairs
    assert all(item["confidence"] >= 0.99 and item["tests"] > 1 for item in full["cofiring"] + full["cascades"])
    advised = {tuple(r["rules"]) for r in full["recommendations"] if r["id"] == "advice.inhibit_cascade"}
    assert advised == rule_pairs


def test_recommendations_have_reasons(full, lab):
    recs = full["recommendations"]
    assert recs and all(r["reason"] and r["action"] for r in recs)
    ids = {(r["id"], r["rule"]) for r in recs}
    flappy = [n for n, r in lab["truth"]["rules"].items() if r["flapping_instances"]]
    assert flappy and all(("advice.keep_firing_for", n) in ids for n in flappy)
    assert all(("advice.dead_rule", n) in ids for n in lab["truth"]["dead_rules"])


def test_window_edges_cut_episodes(lab):
    """A window starting and ending inside episodes: truncated at the start, open at the end."""
    truth = lab["truth"]
    long_runs = [(i, e) for i in truth["instances"] for e in i["episodes"]
                 if e["resolved_at"] and e["resolved_at"] - e["fired_at"] > 4 * 3600 and not e["truncated"]]
    assert len(long_runs) >= 2, "the lab history has long episodes to cut"
    (first_inst, first), (last_inst, last) = long_runs[0], long_runs[-1]
    start = first["fired_at"] + 3600.5
    end = last["fired_at"] + 1800.5
    result = run_module("alert_frequency", {"prometheus_url": lab["url"], "start": str(start), "end": str(end)})
    assert not result.get("failed"), result.get("msg")
    mine = _by_key(result["instances"])
    head = [e for e in mine[first_inst["key"]]["history"] if e["fired"]][0]
    assert head["truncated"] and head["active_at"] == first["active_at"]
    assert abs(head["firing_seconds"] - (first["resolved_at"] - start)) <= truth["interval_seconds"]
    tail = [e for e in mine[last_inst["key"]]["history"] if e["fired"]][-1]
    assert tail["open"] and tail["resolved_at"] is None
    assert tail["fired_at"] == pytest.approx(last["fired_at"], abs=1e-3)
    # Episodes wholly inside the shorter window are still counted exactly.
    inside = sum(1 for i in truth["instances"] for e in i["episodes"] if e["fired_at"] > start and e["fired_at"] <= end)
    cut = sum(1 for i in truth["instances"] for e in i["episodes"]
              if e["fired_at"] <= start and (e["resolved_at"] is None or e["resolved_at"] > start + truth["interval_seconds"]))
    assert result["summary"]["episodes"] == inside + cut


def test_selector_limits_rules_and_dead_rules(lab):
    result = run_module("alert_frequency", {
        "prometheus_url": lab["url"], "start": str(lab["start"]), "end": str(lab["end"]),
        "selector": 'alertname="QueueBacklog"', "include_episodes": False})
    assert not result.get("failed"), result.get("msg")
    assert [r["rule"] for r in result["rules"]] == ["QueueBacklog"]
    assert result["rules"][0]["episodes"] == lab["truth"]["rules"]["QueueBacklog"]["episodes"]
    assert result["dead_rules"] == [] and "history" not in result["instances"][0]


def test_empty_history_warns_and_lists_dead_rules(lab):
    end = lab["start"] - 86400
    result = run_module("alert_frequency", {"prometheus_url": lab["url"], "end": str(end), "window": "2d"})
    assert not result.get("failed"), result.get("msg")
    assert result["summary"]["episodes"] == 0
    assert any("no ALERTS samples" in w for w in result.get("warnings", []))
    listed = set(lab["truth"]["rules"]) - set(lab["truth"]["always_firing"])
    assert {d["rule"] for d in result["dead_rules"]} == listed
    assert not result["always_firing"][0]["ok"]


# ----------------------------------------------------------------------------- silences


def _alertmanager_binary():
    found = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if found:
        return found
    # Same route as the lab's Prometheus: Debian's package, its service kept from starting.
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "prometheus-alertmanager"], check=True,
                   env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                   stdout=subprocess.DEVNULL)
    return shutil.which("prometheus-alertmanager")


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory):
    """A real Alertmanager on 127.0.0.1 (clustering off), for its /api/v2/silences."""
    workdir = tmp_path_factory.mktemp("alertmanager")
    config = workdir / "alertmanager.yml"
    config.write_text("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (workdir / "alertmanager.log").open("wb")
    proc = subprocess.Popen([_alertmanager_binary(), "--config.file=%s" % config, "--storage.path=%s" % (workdir / "data"),
                             "--web.listen-address=127.0.0.1:%d" % port, "--cluster.listen-address="],
                            stdout=log, stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(url + "/-/ready", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("alertmanager did not start; see %s" % (workdir / "alertmanager.log"))
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _iso(ts):
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


def _silence(url, matchers, starts, ends):
    body = {"matchers": matchers, "startsAt": _iso(starts), "endsAt": _iso(ends),
            "createdBy": "sre.toolkit integration tests", "comment": "alert_frequency silenced share"}
    silence_id = requests.post(url + "/api/v2/silences", json=body, timeout=10).json()["silenceID"]
    return requests.get(url + "/api/v2/silence/" + silence_id, timeout=10).json()


def test_silenced_share_from_a_real_alertmanager(lab, alertmanager):
    """The lab's Prometheus evaluates Watchdog live; a silence on it covers part of a recent window."""
    interval = lab["truth"]["interval_seconds"]
    wait_for_live_watchdog(lab["url"], lab["end"], timeout=6 * interval)
    now = time.time()
    watchdog = _silence(alertmanager, [{"name": "alertname", "value": "Watch.*", "isRegex": True, "isEqual": True}],
                        now, now + 3600)
    other = _silence(alertmanager, [{"name": "alertname", "value": "Watchdog", "isRegex": False, "isEqual": False}],
                     now, now + 3600)
    assert other["status"]["state"] == "active"
    time.sleep(interval + 5)
    requests.delete(alertmanager + "/api/v2/silence/" + other["id"], timeout=10).raise_for_status()
    end = time.time()
    start = end - 6 * interval
    # a history generated minutes ago (a cold CI run) still has firing series inside this recent window:
    # only Watchdog matters here, so select it
    result = run_module("alert_frequency", {"prometheus_url": lab["url"], "alertmanager_url": alertmanager,
                                            "start": str(start), "end": str(end), "selector": 'alertname="Watchdog"'})
    assert not result.get("failed"), result.get("msg")
    rows = _by_key(result["rules"], "rule")
    assert set(rows) == {"Watchdog"}
    silenced_from = datetime.fromisoformat(watchdog["startsAt"].replace("Z", "+00:00")).timestamp()
    firing = rows["Watchdog"]["firing_seconds"]
    assert firing >= end - silenced_from - interval, "Watchdog fired through the whole silence"
    assert rows["Watchdog"]["silenced_share"] == pytest.approx((end - silenced_from) / firing, abs=0.01)
    assert result["queries"]["alertmanager_requests"] == 1


# ----------------------------------------------------------------------------- errors


def _assert_clean_failure(result, *needles):
    assert result.get("failed") is True, result
    for needle in needles:
        assert needle in result["msg"], result["msg"]
    assert "Traceback" not in result["_stdout"] + result["_stderr"]
    # ansible-core fills `exception` with a placeholder when a module gives none: no real traceback.
    assert "Traceback" not in str(result.get("exception", ""))


def test_window_too_large(lab):
    result = run_module("alert_frequency", {"prometheus_url": lab["url"], "window": "91d"})
    _assert_clean_failure(result, "window", "90 days")
    assert result["error_kind"] == "invalid"


def test_bad_selector_syntax(lab):
    _assert_clean_failure(run_module("alert_frequency", {"prometheus_url": lab["url"], "selector": "severity=critical"}),
                          "selector")


def test_selector_rejected_by_prometheus(lab):
    # Python's re accepts a lookahead; Prometheus (RE2) does not: its 400 is named as the selector's fault.
    result = run_module("alert_frequency", {"prometheus_url": lab["url"], "start": str(lab["start"]), "end": str(lab["end"]),
                                            "selector": 'alertname=~"(?=Queue).*"'})
    _assert_clean_failure(result, "selector", "400")


def test_prometheus_down():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_module("alert_frequency", {"prometheus_url": "http://127.0.0.1:%d" % port, "prometheus_retries": 0})
    _assert_clean_failure(result, "127.0.0.1:%d" % port)
    assert result["error_kind"] == "connection"


class _Status(BaseHTTPRequestHandler):
    status = 500
    body = b'{"status":"error","errorType":"internal","error":"storage exploded"}'

    def do_GET(self):  # noqa: N802 (http.server API)
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status,kind", [(500, "server"), (503, "server"), (401, "auth"), (403, "forbidden"), (404, "not_found")])
def test_http_errors_are_clear(status, kind):
    handler = type("Handler", (_Status,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = run_module("alert_frequency", {"prometheus_url": "http://127.0.0.1:%d" % server.server_port,
                                                "prometheus_retries": 1})
    finally:
        server.shutdown()
        server.server_close()
    _assert_clean_failure(result, str(status))
    assert result["error_kind"] == kind and result["status"] == status


def test_target_playbook(lab, tmp_path):
    """The role-shaped target (tasks/main.yml with asserts), as a user's playbook would call the module."""
    truth = lab["truth"]
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False,
                                     "tasks": [{"ansible.builtin.include_role": {"name": str(TARGET_DIR)}}]}]))
    result = run_playbook(playbook, extra_vars={
        "af_url": lab["url"], "af_start": str(lab["start"]), "af_end": str(lab["end"]),
        "af_episodes": truth["totals"]["episodes"], "af_dead": sorted(truth["dead_rules"]),
        "af_flappy": sorted(n for n, r in truth["rules"].items() if r["flapping_instances"]),
    })
    assert result["rc"] == 0, result["stdout"][-4000:] + result["stderr"][-2000:]
    assert "failed=0" in result["stdout"]


def test_findings_contract_and_the_gate(full, lab):
    """The recommendations as contract findings; fail_on fails the task on them and still reports."""
    import jsonschema
    schema = json.loads((Path(__file__).parents[2] / "docs" / "findings.schema.json").read_text())
    jsonschema.validate(full, schema)
    assert len(full["findings"]) == len(full["recommendations"])
    unhealthy = [f for f in full["findings"] if f["id"] == "alerts.unhealthy_rule"]
    assert [f["subject"]["locator"] for f in unhealthy] == ["rule/%s" % u["rule"] for u in lab["truth"]["unhealthy_rules"]]
    assert full["summary"]["gate"] == {"fail_on": "never", "failed": False, "reasons": []}
    gated = run_module("alert_frequency", {
        "prometheus_url": lab["url"], "start": str(lab["start"]), "end": str(lab["end"]), "include_episodes": False,
        "ignore_labels": lab["truth"]["ignored_labels"], "fail_on": "critical"})
    assert gated["failed"] is True and gated["msg"].startswith("fail_on: %d critical finding(s)" % gated["summary"]["counts"]["critical"])
    assert gated["findings"] and gated["summary"]["gate"]["failed"] is True
