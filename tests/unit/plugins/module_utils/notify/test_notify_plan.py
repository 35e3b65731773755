"""Notification planning: routing, dedup keys, already-sent, resolve, payload shapes, limits."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._notify.plan import (
    PlanError, dedup_key, events, plan)
from ansible_collections.sre.toolkit.plugins.module_utils._report.model import build_model

HEALTH = {"findings": [
    {"id": "pod.crashloop", "severity": "critical", "kind": "Pod", "namespace": "shop", "name": "api-1", "message": "CrashLoopBackOff"},
    {"id": "node.pressure", "severity": "warning", "kind": "Node", "name": "n2", "message": "MemoryPressure"},
    {"id": "pod.no_limits", "severity": "info", "kind": "Pod", "namespace": "shop", "name": "api-1", "message": "no limits"},
]}
ALL = ["pagerduty", "slack", "webhook"]


def model(*clusters, health=None, **kw):
    return build_model([{"name": c, "results": {"k8s_health": health or HEALTH}} for c in clusters], **kw)


def by_target(result, target):
    return [r for r in result["requests"] if r["target"] == target]


def test_dedup_key_is_stable_and_depends_on_cluster_id_subject_only():
    key = dedup_key("prod", "pod.crashloop", "Pod/shop/api-1")
    assert key == dedup_key("prod", "pod.crashloop", "Pod/shop/api-1")
    assert key.startswith("sre.toolkit-") and len(key) < 255
    assert len({key, dedup_key("stage", "pod.crashloop", "Pod/shop/api-1"), dedup_key("prod", "pod.oom", "Pod/shop/api-1"),
                dedup_key("prod", "pod.crashloop", "Pod/shop/api-2")}) == 4
    # The message (which carries changing numbers) is not part of the key.
    changed = {"findings": [dict(HEALTH["findings"][0], message="CrashLoopBackOff (12 restarts)")]}
    assert events(model("prod", health=changed))[0]["dedup_key"] == events(model("prod"))[0]["dedup_key"]


def test_default_routing():
    result = plan(model("prod"), ALL)
    pd = by_target(result, "pagerduty")
    assert [r["body"]["payload"]["severity"] for r in pd] == ["critical"]
    assert [r["body"]["dedup_key"] for r in pd] == [dedup_key("prod", "pod.crashloop", "Pod shop/api-1")]
    slack = by_target(result, "slack")
    assert len(slack) == 1 and slack[0]["dedup_keys"] == [dedup_key("prod", "node.pressure", "Node n2")]
    hook = by_target(result, "webhook")
    assert len(hook) == 1 and [e["severity"] for e in hook[0]["body"]["events"]] == ["critical", "warning", "info"]


def test_pagerduty_event_shape_has_no_routing_key():
    body = by_target(plan(model("prod"), ["pagerduty"]), "pagerduty")[0]["body"]
    assert "routing_key" not in body
    assert body["event_action"] == "trigger"
    assert set(body["payload"]) >= {"summary", "source", "severity"}
    assert body["payload"]["source"] == "prod" and body["payload"]["component"] == "k8s_health"


def test_only_enabled_targets_get_requests():
    assert {r["target"] for r in plan(model("prod"), ["webhook"])["requests"]} == {"webhook"}
    assert plan(model("prod"), [])["requests"] == []


def test_custom_routes_and_severity_map():
    result = plan(model("prod"), ALL, routes={"pagerduty": ["critical", "warning"]},
                  pagerduty_severity_map={"warning": "error"})
    assert sorted(r["body"]["payload"]["severity"] for r in result["requests"]) == ["critical", "error"]


def test_already_sent_is_not_sent_again():
    first = plan(model("prod"), ALL)
    second = plan(model("prod"), ALL, already_sent=first["sent_keys"])
    assert second["requests"] == []
    assert second["duplicates"] == {"pagerduty": 1, "slack": 1, "webhook": 3}


def test_same_cluster_twice_is_one_event_per_finding():
    assert len(events(model("prod", "prod"))) == 3
    assert len(by_target(plan(model("prod", "prod"), ["pagerduty"]), "pagerduty")) == 1


def test_resolve_what_was_open_and_is_gone():
    gone = dedup_key("prod", "pod.oom", "Pod/shop/old")
    still = dedup_key("prod", "pod.crashloop", "Pod shop/api-1")
    result = plan(model("prod"), ["pagerduty"], previous_keys=[gone, still])
    resolves = [r["body"] for r in result["requests"] if r["body"]["event_action"] == "resolve"]
    assert resolves == [{"event_action": "resolve", "dedup_key": gone}]
    assert result["pagerduty_open"] == [still]
    again = plan(model("prod"), ["pagerduty"], previous_keys=[gone], already_sent=result["sent_keys"])
    assert again["requests"] == []


def test_max_events_keeps_the_most_severe():
    many = {"findings": [{"id": "x.%02d" % i, "severity": "critical", "kind": "Pod", "name": "p%02d" % i, "message": "m"}
                         for i in range(12)]}
    result = plan(model("prod", health=many), ["pagerduty"], max_events=5)
    assert len(result["requests"]) == 5 and result["dropped"] == {"pagerduty": 7}


def test_slack_message_fits_slack_limits():
    many = {"findings": [{"id": "w.%03d" % i, "severity": "warning", "kind": "Pod", "name": "p" * 80 + str(i), "message": "m" * 200}
                         for i in range(60)]}
    body = by_target(plan(model("prod", health=many), ["slack"], slack_max_findings=50), "slack")[0]["body"]
    assert body["text"].startswith("sre.toolkit diagnose: passed, 60 finding(s)")
    assert all(len(b["text"]["text"]) <= 3000 for b in body["blocks"] if b["type"] == "section")
    assert body["blocks"][-1]["type"] == "context" and "more in the report" in body["blocks"][-1]["elements"][0]["text"]


def test_summary_is_capped_at_1024():
    long = {"findings": [dict(HEALTH["findings"][0], message="x" * 3000)]}
    body = by_target(plan(model("prod", health=long), ["pagerduty"]), "pagerduty")[0]["body"]
    assert len(body["payload"]["summary"]) == 1024


def test_module_error_is_an_event():
    failed = {"failed": True, "msg": "cannot reach the API server"}
    result = plan(model("prod", health=failed), ["webhook"])
    assert [(e["id"], e["subject"]) for e in result["requests"][0]["body"]["events"]] == [("module.error", "module/k8s_health")]


@pytest.mark.parametrize("kwargs, message", [
    ({"routes": {"pager": ["critical"]}}, "notify_routes has unknown target 'pager'"),
    ({"routes": {"slack": "warning"}}, "notify_routes.slack must be a list"),
    ({"routes": {"slack": ["warn"]}}, "notify_routes.slack has unknown severities warn"),
    ({"routes": ["slack"]}, "notify_routes must be a dictionary"),
    ({"pagerduty_severity_map": {"critical": "sev1"}}, "notify_pagerduty_severity_map has invalid entries critical=sev1"),
    ({"max_events": 0}, "notify_max_events must be a positive integer"),
])
def test_bad_options_name_the_option(kwargs, message):
    with pytest.raises(PlanError, match=message):
        plan(model("prod"), ALL, **kwargs)
