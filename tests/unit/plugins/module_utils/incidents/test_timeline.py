"""The incident engine on a designed incident made of plain API dicts: a chaos run, a bad rollout
that crash-loops, the alert it fires, a rollback and recovery."""
from __future__ import annotations

import datetime

from ansible_collections.sre.toolkit.plugins.module_utils._catalogue import unknown_ids
from ansible_collections.sre.toolkit.plugins.module_utils._incidents import normalize as norm
from ansible_collections.sre.toolkit.plugins.module_utils._incidents import timeline as tl
from ansible_collections.sre.toolkit.plugins.module_utils._incidents.assemble import assemble

T0 = 1_790_000_000.0  # a multiple of 10
STEP = 10.0
NS = "shop"


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rs(name, revision, image, created, history=None, bad=False):
    labels = {"app": "checkout", "pod-template-hash": name.rsplit("-", 1)[1]}
    if bad:
        labels["lab.sre-toolkit.io/scenario"] = "CrashLoopBackOff"
    ann = {norm.REVISION: str(revision)}
    if history:
        ann[norm.REVISION_HISTORY] = history
    return {"metadata": {"name": name, "namespace": NS, "creationTimestamp": iso(created), "annotations": ann, "uid": name,
                         "ownerReferences": [{"kind": "Deployment", "name": "checkout", "controller": True}]},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}}}}


def core_event(uid, reason, message, first, last=None, count=1, kind="Pod", name="checkout-bbb-x1", type_="Warning", **extra):
    item = {"metadata": {"name": uid, "namespace": NS, "uid": uid}, "involvedObject": {"kind": kind, "name": name, "namespace": NS},
            "reason": reason, "message": message, "type": type_, "firstTimestamp": iso(first), "lastTimestamp": iso(last or first),
            "count": count, "source": {"component": extra.pop("component", "kubelet")}}
    item.update(extra)
    return item


def alert_series(name, pending_from, firing_from, until, labels=None):
    """ALERTS samples every STEP as a rule with `for` would write them, and ALERTS_FOR_STATE."""
    base = dict({"alertname": name, "severity": "critical", "namespace": NS, "deployment": "checkout"}, **(labels or {}))
    pend = [[t, "1"] for t in range(int(pending_from), int(firing_from), int(STEP))]
    fire = [[t, "1"] for t in range(int(firing_from), int(until), int(STEP))]
    state = [[t, str(pending_from)] for t in range(int(pending_from), int(until), int(STEP))]
    return ([{"metric": dict(base, __name__="ALERTS", alertstate="pending"), "values": pend},
             {"metric": dict(base, __name__="ALERTS", alertstate="firing"), "values": fire}],
            [{"metric": dict(base, __name__="ALERTS_FOR_STATE"), "values": state}])


def designed():
    """Ground truth times of the designed incident."""
    return {"chaos": T0 + 20, "rollout": T0 + 100, "crash": T0 + 104, "pending": T0 + 110, "firing": T0 + 170,
            "rollback": T0 + 400, "resolved_last_firing": T0 + 470}


def data(truth=None):
    t = truth or designed()
    series, states = alert_series("KubePodCrashLooping", t["pending"], t["firing"], t["resolved_last_firing"] + 1)
    events = [
        core_event("ev-backoff", "BackOff", "Back-off restarting failed container", t["crash"], t["crash"] + 200, count=9),
        core_event("ev-up-bad", "ScalingReplicaSet", "Scaled up replica set checkout-bbb from 0 to 2", t["rollout"],
                   kind="Deployment", name="checkout", type_="Normal", component="deployment-controller"),
        core_event("ev-up-good", "ScalingReplicaSet", "Scaled up replica set checkout-aaa from 0 to 2", t["rollback"],
                   kind="Deployment", name="checkout", type_="Normal", component="deployment-controller"),
        core_event("ev-chaos", "ChaosPodEvicted", "sre.toolkit.pod_killer evicted pod web-1 (action evict, run r1)", t["chaos"],
                   kind="Deployment", name="web", type_="Normal", component="sre.toolkit.pod_killer",
                   metadata={"name": "ev-chaos", "namespace": NS, "uid": "ev-chaos", "labels": {"sre.toolkit/chaos-run": "r1"}}),
    ]
    # events.k8s.io/v1 shows the same BackOff object: it must not count twice
    v1 = {"metadata": {"name": "ev-backoff", "namespace": NS, "uid": "ev-backoff"}, "regarding": {"kind": "Pod", "name": "checkout-bbb-x1"},
          "reason": "BackOff", "note": "Back-off restarting failed container", "type": "Warning",
          "deprecatedFirstTimestamp": iso(t["crash"]), "deprecatedLastTimestamp": iso(t["crash"] + 150), "deprecatedCount": 7}
    pods = [{"metadata": {"name": "checkout-bbb-x1", "namespace": NS, "labels": {"pod-template-hash": "bbb"},
                          "ownerReferences": [{"kind": "ReplicaSet", "name": "checkout-bbb", "controller": True}]},
             "status": {"containerStatuses": [{"name": "app", "restartCount": 5, "lastState": {"terminated": {
                 "reason": "Error", "exitCode": 1, "startedAt": iso(t["crash"] + 40), "finishedAt": iso(t["crash"] + 42)}}}]}}]
    return {
        "alerts": (series, states),
        "heartbeat": [{"metric": {"__name__": "up"}, "values": [[T0 + k * STEP, "1"] for k in range(0, 60)]
                       + [[T0 + k * STEP, "1"] for k in range(70, 100)]}],
        "silences": [{"id": "abcdef123456", "createdBy": "alice", "comment": "known, rolling back", "startsAt": iso(T0 + 300),
                      "endsAt": iso(T0 + 900), "matchers": [{"name": "alertname", "value": "KubePodCrashLooping", "isRegex": False}],
                      "status": {"state": "active"}}],
        "events": [norm.event_record(e, "core/v1") for e in events] + [norm.event_record(v1, "events.k8s.io/v1")],
        "replicasets": [rs("checkout-aaa", 3, "shop/checkout:1.0", T0 - 5000, history="1"),
                        rs("checkout-bbb", 2, "shop/checkout:1.1", t["rollout"], bad=True)],
        "deployments": [{"kind": "Deployment", "metadata": {"name": "web", "namespace": NS, "annotations": {
            norm.COOLDOWN_ANNOTATION: iso(t["chaos"]), norm.RUN_ANNOTATION: "r1"}}}],
        "nodes": [{"metadata": {"name": "n1"}, "status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": "KubeletReady", "lastTransitionTime": iso(T0 - 99999)}]}}],
        "pods": pods,
        "chaos_records": [{"run_id": "r1", "module": "sre.toolkit.pod_killer", "action": "evict", "started_at": iso(t["chaos"] - 2),
                           "finished_at": iso(t["chaos"] + 30), "outcome": "evicted 1 pod(s)", "victims": ["%s/web-1" % NS]},
                          {"run_id": "dry", "dry_run": True, "started_at": iso(t["chaos"])}],
        "configmaps": [{"metadata": {"name": "checkout-flags", "namespace": NS, "creationTimestamp": iso(T0 - 5000), "managedFields": [
            {"manager": "kubectl-client-side-apply", "operation": "Update", "time": iso(T0 - 5000)},
            {"manager": "kubectl-edit", "operation": "Update", "time": iso(T0 + 90)}]}},
            {"metadata": {"name": "kube-root-ca.crt", "namespace": NS, "creationTimestamp": iso(T0 + 5), "managedFields": [
                {"manager": "kube-controller-manager", "operation": "Update", "time": iso(T0 + 5)}]}}],
        "certificates": [{"name": "api.shop", "not_after": iso(T0 + 1000)}, {"name": "later", "not_after": iso(T0 + 99999)}],
    }


def options(**over):
    base = {"start": T0, "end": T0 + 1200, "now": T0 + 1300, "interval": STEP, "ignore_labels": [], "event_ttl": 3600,
            "trigger_window": 1800, "clock_skew": 60, "title": "checkout crash-loop", "store_from": None}
    base.update(over)
    return base


def run(**over):
    return assemble(data(), options(**over), {})


def test_milestones_match_the_design():
    t = designed()
    result, _found = run()
    marks = result["milestones"]
    assert marks["first_symptom"]["time"] == t["crash"]
    assert marks["detection"]["time"] == t["firing"]
    assert marks["mitigation"]["time"] == t["rollback"] and marks["mitigation"]["confidence"] == "exact"
    assert 0 < marks["resolution"]["time"] - t["resolved_last_firing"] <= STEP
    assert marks["detection"]["after_first_symptom_seconds"] == t["firing"] - t["crash"]


def test_timeline_is_ordered_deduplicated_and_complete():
    result, _found = run()
    line = result["timeline"]
    assert [e["time"] for e in line] == sorted(e["time"] for e in line)
    keys = [e["key"] for e in line]
    assert len(keys) == len(set(keys))
    backoff = [e for e in line if e["kind"] == "warning_event"]
    assert len(backoff) == 1 and backoff[0]["evidence"]["count"] == 9  # one object through two APIs, the higher count
    kinds = {e["kind"] for e in line}
    assert {"rollout", "rollback", "alert_pending", "alert_firing", "alert_resolved", "chaos_action", "chaos_run_started",
            "container_terminated", "silence_started", "certificate_expiry", "warning_event_last"} <= kinds
    chaos = [e for e in line if e["kind"] == "chaos_action"]
    assert len(chaos) == 1 and sorted(chaos[0]["seen_by"]) == ["chaos"]  # the Event and the owner annotation are one action
    assert not [e for e in line if "dry" in e["key"]]  # a dry run disrupted nothing
    rollout = next(e for e in line if e["kind"] == "rollout")
    assert "image shop/checkout:1.0 -> shop/checkout:1.1" in rollout["what"]
    rollback = next(e for e in line if e["kind"] == "rollback")
    assert "rolled back to revision 1" in rollback["what"]


def test_trigger_is_the_rollout_of_the_crashing_workload():
    t = designed()
    result, _found = run()
    first = result["triggers"][0]
    assert first["kind"] == "rollout" and first["locator"] == "Deployment %s/checkout" % NS
    assert first["lead_seconds"] == t["crash"] - t["rollout"] and first["related_symptoms"]
    assert any(c["kind"] == "chaos_action" for c in result["triggers"][1:])
    config = [c for c in result["triggers"] if c["kind"] == "config_change"]
    assert [c["locator"] for c in config] == ["ConfigMap %s/checkout-flags" % NS] and config[0]["lead_seconds"] == t["crash"] - (T0 + 90)
    assert not [c for c in result["triggers"] if c["kind"] == "rollback"]  # the rollback after the symptom is the mitigation


def test_limits_and_findings():
    result, found = run()
    ids = {item["id"] for item in result["limits"]}
    assert {"events_folded", "restarts_untimed", "prometheus_gap"} <= ids and "events_expired" not in ids
    gap = next(item for item in result["limits"] if item["id"] == "prometheus_gap")
    assert gap["from"] == T0 + 59 * STEP and gap["to"] == T0 + 70 * STEP
    assert unknown_ids(found) == []
    found_ids = {f["id"] for f in found}
    assert {"incident.milestones", "incident.trigger_candidate", "incident.prometheus_gap", "incident.events_folded",
            "incident.certificate_expiry"} <= found_ids
    assert "incident.no_alert" not in found_ids and "incident.unresolved" not in found_ids


def test_events_expired_when_the_range_reaches_past_the_ttl():
    result, found = run(now=T0 + 3 * 3600)
    expired = [item for item in result["limits"] if item["id"] == "events_expired"]
    assert expired and expired[0]["horizon"] == T0 + 2 * 3600
    assert any(f["id"] == "incident.events_expired" and f["severity"] == "warning" for f in found)
    # a store that reaches back far enough makes it information only
    result, found = run(now=T0 + 3 * 3600, store_from=T0 - 60)
    assert any(f["id"] == "incident.events_expired" and f["severity"] == "info" for f in found)


def test_missing_sources_give_a_partial_timeline():
    d = data()
    d["alerts"] = None
    d["events"] = None
    sources = {"alerts": {"status": "error", "detail": "connection refused"}, "events": {"status": "forbidden", "detail": "403"}}
    result, found = assemble(d, options(), sources)
    assert result["sources"]["alerts"]["status"] == "error" and result["sources"]["rollouts"]["status"] == "ok"
    missing = sorted(item["source"] for item in result["limits"] if item["id"] == "source_unavailable")
    assert missing == ["alerts", "events"]
    assert [f for f in found if f["id"] == "incident.source_unavailable"]
    marks = result["milestones"]
    assert marks["detection"]["how"].startswith("no alert fired") and marks["resolution"] is None
    # the rollback time falls back to nothing without the ScalingReplicaSet event: counted, not guessed
    assert not [e for e in result["timeline"] if e["kind"] == "rollback"]
    assert any(item["id"] == "rollbacks_untimed" for item in result["limits"])
    assert "incident.no_alert" in {f["id"] for f in found}


def test_rollback_time_from_the_progressing_condition_when_events_are_gone():
    t = designed()
    d = data()
    d["events"] = []
    d["deployments"].append({"kind": "Deployment", "metadata": {"name": "checkout", "namespace": NS}, "status": {"conditions": [
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "lastUpdateTime": iso(t["rollback"] + 30),
         "message": 'ReplicaSet "checkout-aaa" has successfully progressed.'}]}})
    result, _found = assemble(d, options(), {})
    rollback = next(e for e in result["timeline"] if e["kind"] == "rollback")
    assert rollback["time"] == t["rollback"] + 30 and rollback["confidence"] == "inferred"


def test_open_alert_has_no_resolution():
    result, found = run(end=T0 + 300)
    assert result["milestones"]["resolution"] is None and result["milestones"]["open_alerts"]
    assert "incident.unresolved" in {f["id"] for f in found}


def test_postmortem_scaffold():
    result, _found = run()
    page = result["postmortem"]
    for heading in ("## Summary", "## Impact", "## Detection, mitigation, resolution", "## Trigger candidates", "## Timeline",
                    "## Root causes", "## Action items", "## Lessons learned", "## What this timeline cannot know"):
        assert heading in page
    assert "KubePodCrashLooping" in page and "rolled out revision 2" in page
    assert page.count("| ") > len(result["timeline"])


def test_ordering_puts_causes_first_at_one_second():
    about = {"kind": "Pod", "namespace": "a", "name": "p", "locator": "Pod a/p"}
    items = [norm.entry(T0, "events", "warning_event", about, "x"), norm.entry(T0, "rollouts", "rollout", about, "y")]
    assert [e["kind"] for e in tl.merge(items)] == ["rollout", "warning_event"]


def test_heartbeat_absent_means_gaps_unknown():
    assert norm.heartbeat_gaps([], STEP, T0, T0 + 100) is None
    assert norm.heartbeat_gaps([{"values": [[T0, "1"], [T0 + 100, "1"]]}], STEP, T0, T0 + 100) == [(T0, T0 + 100)]


def test_rollback_time_from_the_bad_replicaset_scaled_to_zero():
    t = designed()
    d = data()
    down = core_event("ev-down", "ScalingReplicaSet", "Scaled down replica set checkout-bbb from 1 to 0", t["rollback"] + 1,
                      kind="Deployment", name="checkout", type_="Normal", component="deployment-controller")
    d["events"] = [r for r in d["events"] if r["uid"] != "ev-up-good"] + [norm.event_record(down, "core/v1")]
    result, _found = assemble(d, options(), {})
    rollback = next(e for e in result["timeline"] if e["kind"] == "rollback")
    assert rollback["time"] == t["rollback"] + 1 and rollback["confidence"] == "exact"


def test_report_section_has_the_scaffold_rows_and_a_timeline_chart():
    import xml.etree.ElementTree as ET

    from ansible_collections.sre.toolkit.plugins.module_utils._report import html
    from ansible_collections.sre.toolkit.plugins.module_utils._report.model import build_model
    from ansible_collections.sre.toolkit.plugins.module_utils._report.svg import render

    detail, found = run()
    result = dict(detail, findings=found, range={"start": T0, "end": T0 + 1200, "start_utc": "a", "end_utc": "b", "how": "window"},
                  summary={"entries": len(detail["timeline"])})
    model = build_model([{"name": "prod", "results": {"incident_timeline": result}}], fail_on="never", generated_at="2026-12-06T12:00:00Z")
    section = next(s for c in model["clusters"] for s in c["sections"] if s["module"] == "incident_timeline")
    rows = dict(section["summary"])
    assert rows["detection"].startswith(result["milestones"]["detection"]["time_utc"]) and "trigger #1" in rows
    chart = section["charts"][0]
    assert chart["kind"] == "timeline" and chart["rows"][0]["label"] == "milestones" and len(chart["rows"][0]["marks"]) == 4
    assert any(r["label"].startswith("alert/KubePodCrashLooping") and len(r["spans"]) == 2 for r in chart["rows"])
    root = ET.fromstring(render(chart))
    assert root.tag.endswith("svg") and root.findall(".//{http://www.w3.org/2000/svg}path")
    assert "The incident on one axis" in html.render(model)


def test_store_round_trip_deduplicates(tmp_path):
    import json

    from ansible_collections.sre.toolkit.plugins.module_utils._incidents import service, store

    d = data()
    raw = [("core/v1", core_event("ev-backoff", "BackOff", "Back-off", T0 + 104, T0 + 300, count=9,
                                  metadata={"name": "ev-backoff", "namespace": NS, "uid": "ev-backoff", "resourceVersion": "7"})),
           ("core/v1", core_event("ev-normal", "Pulled", "pulled", T0 + 104, type_="Normal"))]
    export = {"raw_events": raw, "replicasets": d["replicasets"], "chaos_records": d["chaos_records"]}
    first = service.export_store(str(tmp_path), export, T0 + 400, check_mode=False)
    assert first["written"] == 4 and first["by_type"] == {"chaos_record": 1, "event": 1, "replicaset": 2}  # no Normal event, no dry run
    assert service.export_store(str(tmp_path), export, T0 + 500, check_mode=False)["written"] == 0  # nothing new
    raw[0][1]["metadata"]["resourceVersion"], raw[0][1]["count"] = "8", 10  # the recorder bumped the count
    assert service.export_store(str(tmp_path), export, T0 + 600, check_mode=True)["written"] == 1
    assert len((tmp_path / ("events-%s.jsonl" % iso(T0 + 400)[:10])).read_text().splitlines()) == 4  # check mode wrote nothing
    service.export_store(str(tmp_path), export, T0 + 600, check_mode=False)
    lines = (tmp_path / ("events-%s.jsonl" % iso(T0 + 400)[:10])).read_text().splitlines() + ["not json", json.dumps({"type": "x"})]
    kept = store.parse(lines)
    assert kept["bad_lines"] == 2 and len(kept["replicasets"]) == 2 and len(kept["chaos_records"]) == 1
    merged = norm.merge_event_records(kept["events"])
    assert len(merged) == 1 and merged[0]["count"] == 10
    assert kept["covers_from"](3600) == T0 + 400 - 3600


def test_mitigation_without_any_symptom_is_the_first_rollback_inferred():
    d = data()
    for key in ("alerts", "events", "pods"):
        d[key] = None
    result, _found = assemble(d, options(), {})
    marks = result["milestones"]
    assert marks["first_symptom"] is None and marks["detection"] is None
    assert not [e for e in result["timeline"] if e["kind"] == "rollback"]  # no scale events: rollback untimed
    d["deployments"].append({"kind": "Deployment", "metadata": {"name": "checkout", "namespace": NS}, "status": {"conditions": [
        {"type": "Progressing", "lastUpdateTime": iso(T0 + 401), "message": 'ReplicaSet "checkout-aaa" has successfully progressed.'}]}})
    marks = assemble(d, options(), {})[0]["milestones"]
    assert marks["mitigation"]["time"] == T0 + 401 and marks["mitigation"]["confidence"] == "inferred"


def test_only_the_sources_asked_for_reach_the_timeline():
    result, _found = assemble(data(), options(sources=["rollouts", "chaos"]), {})
    assert {e["source"] for e in result["timeline"]} == {"rollouts", "chaos"}


def test_a_repeating_event_after_the_horizon_may_have_lost_older_occurrences():
    t = designed()
    # the range starts before the horizon (now - TTL), the BackOff event begins after it and repeats
    result, _found = run(now=t["crash"] + 3600 - 50)
    backoff = next(e for e in result["timeline"] if e["kind"] == "warning_event")
    assert backoff["confidence"] == "older_expired"
    # an event that began before the horizon and survived is exact
    result, _found = run(now=t["crash"] + 3600 + 50)
    assert next(e for e in result["timeline"] if e["kind"] == "warning_event")["confidence"] == "exact"
    # and nothing is uncertain when the range is inside the TTL
    result, _found = run()
    assert {e["confidence"] for e in result["timeline"] if e["source"] == "events"} == {"exact"}


def test_postmortem_keeps_milestones_and_changes_when_the_timeline_is_long():
    result, _found = run(postmortem_entries=8)
    page, line = result["postmortem"], result["timeline"]
    assert len(line) > 8 and "%d more entries" % (len(line) - 8) in page
    table = page.split("## Timeline")[1].split("## What this timeline")[0]
    assert sum(1 for row in table.splitlines() if row.startswith("| 20")) == 8
    for key in ("first_symptom", "detection", "mitigation", "resolution"):
        assert result["milestones"][key]["what"] in table
