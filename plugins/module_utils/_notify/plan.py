# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a report model into the HTTP requests a notification run would send.

- events(model): one event per finding (and per failed module), with a dedup key that depends
  only on cluster, finding id and subject, so the same finding gets the same key in every run.
- plan(model, ...): routes events by severity to PagerDuty (one Events API v2 event each),
  Slack (one message per run) and a generic webhook (one JSON document per run); skips what
  this run already sent; resolves on PagerDuty what was open last run and is gone now.
"""

from __future__ import annotations

import hashlib

SEVERITIES = ("critical", "warning", "info")
RANK = {"critical": 3, "warning": 2, "info": 1}
TARGETS = ("pagerduty", "slack", "webhook")
DEFAULT_ROUTES = {"pagerduty": ["critical"], "slack": ["warning"], "webhook": ["critical", "warning", "info"]}
DEFAULT_PAGERDUTY_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}
PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")
SUMMARY_LIMIT = 1024          # PagerDuty truncates payload.summary at 1024 characters
SLACK_TEXT_LIMIT = 3000       # Slack rejects a section text longer than 3000 characters
KEY_PREFIX = "sre.toolkit-"
MODULE_ERROR_ID = "module.error"


class PlanError(ValueError):
    """Bad routing options; the message names the option and the fix."""


def dedup_key(cluster, finding_id, subject):
    """Stable across runs and hosts: a hash of cluster, finding id and subject (not the message,
    which carries changing numbers such as days left)."""
    text = "\x1f".join(str(part) for part in (cluster, finding_id, subject))
    return KEY_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def _event(cluster, module, finding):
    return {
        "cluster": cluster, "module": module, "id": finding["id"], "severity": finding["severity"],
        "subject": finding["subject"], "message": finding["message"], "fix": finding.get("fix") or "",
        "dedup_key": dedup_key(cluster, finding["id"], finding["subject"]),
    }


def _section_events(cluster, section):
    if section.get("status") == "error":
        yield _event(cluster, section["module"], {
            "id": MODULE_ERROR_ID, "severity": "warning", "subject": "module/%s" % section["module"],
            "message": section.get("error") or "the module failed", "fix": "see the module's error in the report"})
    for finding in section.get("findings") or ():
        yield _event(cluster, section["module"], finding)


def events(model):
    """Every finding of the model as an event, most severe first; one event per dedup key."""
    seen = {}
    for cluster in model.get("clusters") or ():
        for section in cluster.get("sections") or ():
            for event in _section_events(str(cluster.get("name")), section):
                kept = seen.get(event["dedup_key"])
                if kept is None or RANK.get(event["severity"], 0) > RANK.get(kept["severity"], 0):
                    seen[event["dedup_key"]] = event
    return sorted(seen.values(), key=lambda e: (-RANK.get(e["severity"], 0), e["cluster"], e["id"], e["subject"]))


def check_routes(routes):
    """Routes: target -> severities. Unknown targets or severities are errors, not silent drops."""
    if routes is None:
        return {target: list(DEFAULT_ROUTES[target]) for target in TARGETS}
    if not isinstance(routes, dict):
        raise PlanError("notify_routes must be a dictionary of target -> list of severities, got %s" % type(routes).__name__)
    out = {}
    for target, severities in routes.items():
        if target not in TARGETS:
            raise PlanError("notify_routes has unknown target %r; use one of %s" % (target, ", ".join(TARGETS)))
        if isinstance(severities, str) or not isinstance(severities, (list, tuple)):
            raise PlanError("notify_routes.%s must be a list of severities, e.g. [critical, warning]" % target)
        bad = [s for s in severities if s not in SEVERITIES]
        if bad:
            raise PlanError("notify_routes.%s has unknown severities %s; use %s" % (target, ", ".join(map(str, bad)), ", ".join(SEVERITIES)))
        out[target] = sorted(set(severities), key=lambda s: -RANK[s])
    return out


def check_severity_map(mapping):
    merged = dict(DEFAULT_PAGERDUTY_SEVERITY)
    merged.update(mapping or {})
    bad = sorted("%s=%s" % (k, v) for k, v in merged.items() if k not in SEVERITIES or v not in PAGERDUTY_SEVERITIES)
    if bad:
        raise PlanError("notify_pagerduty_severity_map has invalid entries %s; keys are %s, values are %s" % (
            ", ".join(bad), ", ".join(SEVERITIES), ", ".join(PAGERDUTY_SEVERITIES)))
    return merged


def _summary(event):
    text = "[%s] %s %s %s: %s" % (event["severity"], event["cluster"], event["id"], event["subject"], event["message"])
    return text if len(text) <= SUMMARY_LIMIT else text[:SUMMARY_LIMIT - 1] + "\u2026"


def pagerduty_trigger(event, severity_map, report):
    """An Events API v2 trigger without its routing_key (the role adds it, no_log)."""
    return {
        "event_action": "trigger",
        "dedup_key": event["dedup_key"],
        "client": "sre.toolkit",
        "payload": {
            "summary": _summary(event),
            "source": event["cluster"],
            "severity": severity_map[event["severity"]],
            "component": event["module"],
            "group": event["cluster"],
            "class": event["id"],
            "custom_details": {"subject": event["subject"], "message": event["message"], "fix": event["fix"],
                               "report": report.get("title", ""), "generated_at": report.get("generated_at", "")},
        },
    }


def pagerduty_resolve(key):
    return {"event_action": "resolve", "dedup_key": key}


def _slack_line(event):
    return "*%s* `%s` %s: %s" % (event["severity"], event["id"], event["subject"], event["message"])


def slack_message(chosen, report, max_findings):
    """One incoming-webhook message per run: a headline and the most severe findings."""
    verdict = report.get("verdict") or {}
    headline = "%s: %s, %d finding(s) to look at" % (
        report.get("title", "sre.toolkit"), "FAILED" if verdict.get("failed") else "passed", len(chosen))
    lines, size = [], 0
    for event in chosen[:max_findings]:
        line = "%s (%s)" % (_slack_line(event), event["cluster"])
        if size + len(line) + 1 > SLACK_TEXT_LIMIT:
            break
        lines.append(line)
        size += len(line) + 1
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": (verdict.get("reason") or "")[:SLACK_TEXT_LIMIT] or "no verdict"}},
    ]
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    if len(chosen) > len(lines):
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "and %d more in the report" % (len(chosen) - len(lines))}]})
    return {"text": headline, "blocks": blocks}


def webhook_document(chosen, resolved, report):
    """The generic webhook gets every routed event with its dedup key, as plain JSON."""
    return {
        "source": "sre.toolkit",
        "title": report.get("title", ""),
        "generated_at": report.get("generated_at", ""),
        "verdict": report.get("verdict") or {},
        "totals": report.get("totals") or {},
        "events": chosen,
        "resolved": sorted(resolved),
    }


def _routed(all_events, severities, target, already_sent):
    chosen, duplicates = [], 0
    for event in all_events:
        if event["severity"] not in severities:
            continue
        if "%s:%s" % (target, event["dedup_key"]) in already_sent:
            duplicates += 1
            continue
        chosen.append(event)
    return chosen, duplicates


def _request(target, body, chosen):
    """One request; `marks` are the entries it adds to the run's sent keys once it succeeded."""
    keys = [e["dedup_key"] for e in chosen]
    return {"target": target, "body": body, "dedup_keys": keys, "marks": ["%s:%s" % (target, k) for k in keys]}


def plan(model, targets, routes=None, already_sent=(), previous_keys=(), max_events=50, slack_max_findings=20,
         pagerduty_severity_map=None):
    """The requests to send. `targets` are the enabled ones (their URL or key is set).

    Returns {"requests": [{"target", "body", "dedup_keys", "marks"}], "sent_keys", "duplicates", "dropped",
    "pagerduty_open", "resolved", "routes"}; requests are sorted by target, then severity.
    """
    routes = check_routes(routes)
    severity_map = check_severity_map(pagerduty_severity_map)
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise PlanError("unknown notification targets %s; use %s" % (", ".join(unknown), ", ".join(TARGETS)))
    if not isinstance(max_events, int) or max_events < 1:
        raise PlanError("notify_max_events must be a positive integer, got %r" % (max_events,))
    already_sent = set(already_sent or ())
    all_events = events(model)
    report = {key: model.get(key) for key in ("title", "generated_at", "verdict", "totals")}
    requests, sent, duplicates, dropped = [], set(already_sent), {}, {}
    open_keys, resolved = [], []
    for target in sorted(t for t in set(targets) if t in routes):
        chosen, duplicates[target] = _routed(all_events, routes[target], target, already_sent)
        if target == "pagerduty":
            current = {e["dedup_key"] for e in all_events if e["severity"] in routes[target]}
            dropped[target] = max(0, len(chosen) - max_events)
            chosen = chosen[:max_events]
            resolved = sorted(set(previous_keys or ()) - current)
            resolved = [k for k in resolved if "pagerduty:resolve:%s" % k not in already_sent]
            requests += [_request(target, pagerduty_trigger(e, severity_map, report), [e]) for e in chosen]
            requests += [{"target": target, "body": pagerduty_resolve(k), "dedup_keys": [k], "marks": ["pagerduty:resolve:%s" % k]}
                         for k in resolved]
            sent.update("pagerduty:resolve:%s" % k for k in resolved)
            open_keys = sorted({e["dedup_key"] for e in chosen} | (set(previous_keys or ()) & current))
        elif chosen and target == "slack":
            requests.append(_request(target, slack_message(chosen, report, slack_max_findings), chosen))
        elif chosen and target == "webhook":
            requests.append(_request(target, webhook_document(chosen, resolved, report), chosen))
        sent.update("%s:%s" % (target, e["dedup_key"]) for e in chosen)
    return {"requests": requests, "sent_keys": sorted(sent), "duplicates": duplicates, "dropped": dropped,
            "pagerduty_open": open_keys, "resolved": resolved, "routes": routes, "events": len(all_events)}
