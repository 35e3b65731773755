# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each module adds to its section besides findings: summary rows and charts (plain data).

Findings never come from here: they come from ``result["findings"]`` (the one contract, ``_findings``).
A builder reads only the module's own detail, to draw pictures and summary rows, and returns
``(rows, charts)``; rows are ``[label, text]`` already in human units. Charts are dicts with a
``kind`` the renderers know (``bar``, ``stacked``, ``timeline``, ``calendar``, ``chaos``).
"""

from __future__ import annotations

from .._time import human_duration, human_time, to_epoch

MAX_TIMELINE_ROWS = 15
MAX_CALENDAR_ITEMS = 120


def human_number(value):
    """Rounded for reading: 1388647.689 -> ``1,388,648``; 0.01884 -> ``0.019``; 91.3 -> ``91.3``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return "{:,}".format(int(value))
    if abs(value) >= 100:
        return "{:,}".format(int(round(value)))
    if abs(value) >= 1:
        return ("%.1f" % value).rstrip("0").rstrip(".")
    return ("%.3f" % value).rstrip("0").rstrip(".") or "0"


def human_bytes(value):
    value = float(value or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024.0
    return "%.1f TiB" % value


_TIME_WORDS = ("not_after", "not_before", "since", "first_seen", "last_seen", "heartbeat", "_at", "time", "started", "ended")


def human_value(key, value, now=None):
    """One value for people, judged by its key: seconds, bytes, times, lists, numbers."""
    key = str(key).lower()
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)) and (key.endswith("seconds") or key in ("seconds", "elapsed", "duration")):
        return human_duration(value)
    if isinstance(value, (int, float)) and key.endswith("bytes"):
        return human_bytes(value)
    if isinstance(value, (int, float, str)) and any(word in key for word in _TIME_WORDS) and not key.endswith("epoch"):
        if to_epoch(value) is not None and (isinstance(value, str) or value > 1e9):
            return human_time(value, now)
    if isinstance(value, (int, float)):
        return human_number(value)
    if isinstance(value, (list, tuple)):
        shown = [human_value(key, item, now) if not isinstance(item, dict) else _pairs(item, now) for item in value[:5]]
        return ", ".join(shown) + (" (+%d more)" % (len(value) - 5) if len(value) > 5 else "")
    if isinstance(value, dict):
        return _pairs(value, now)
    return str(value)


def _pairs(mapping, now):
    return ", ".join("%s %s" % (k, human_value(k, v, now)) for k, v in sorted(mapping.items()) if v not in (None, "", [], {}))


def evidence_rows(evidence, now=None, limit=160):
    """``[[key, text]]`` of a finding's evidence, each text at most ``limit`` characters."""
    rows = []
    for key in sorted(evidence or {}):
        value = evidence[key]
        if value in (None, "", [], {}):
            continue
        text = human_value(key, value, now)
        rows.append([str(key), text if len(text) <= limit else text[:limit - 1] + "\u2026"])
    return rows


def bar_chart(title, pairs, unit="", value_text=None):
    series = [[str(label), float(value)] for label, value in pairs]
    chart = {"kind": "bar", "title": title, "unit": unit, "series": series}
    if value_text:
        chart["labels"] = [value_text(value) for _label, value in pairs]
    return chart


def _row(rows, label, value, key=None, now=None):
    if value not in (None, "", [], {}):
        rows.append([label, human_value(key or label, value, now)])


# -- k8s_health ------------------------------------------------------------------------------

def health(result, now):
    summary = result.get("summary") or {}
    inventory = result.get("inventory") or {}
    rows = []
    if summary.get("score") is not None:
        capped = summary.get("grade_capped_by")
        capped = ", capped by %s findings" % capped if capped else ""
        rows.append(["health score", "%s (grade %s%s)" % (human_number(summary["score"]), summary.get("grade", "-"), capped)])
    nodes = inventory.get("nodes") or {}
    if nodes:
        rows.append(["nodes", "%s total, %s not ready, %s lost" % (nodes.get("total", 0), nodes.get("not_ready", 0), nodes.get("lost", 0))])
    pods = inventory.get("pods") or {}
    if pods:
        rows.append(["pods", "%s total (%s)" % (pods.get("total", 0), _pairs(pods.get("phases") or {}, now))])
    _row(rows, "workloads", inventory.get("workloads"), now=now)
    _row(rows, "server version", inventory.get("server_version"))
    _row(rows, "checks", summary.get("checks"), now=now)
    if summary.get("total_findings") and summary.get("shown_findings") not in (None, summary.get("total_findings")):
        rows.append(["findings returned", "%s of %s (the module's max_findings)" % (summary["shown_findings"], summary["total_findings"])])
    _row(rows, "coverage gaps", summary.get("coverage_gaps"))
    _row(rows, "duration_seconds", result.get("duration_seconds"))
    charts = []
    groups = summary.get("groups") or {}
    if groups:
        pairs = sorted((k, v.get("score", 0) if isinstance(v, dict) else v) for k, v in groups.items())
        charts.append(bar_chart("Score per check group (of 100)", pairs, value_text=human_number))
    return rows, charts


# -- alert_frequency -------------------------------------------------------------------------

def _episodes_by_rule(result, start, end):
    by_rule = {}
    for instance in result.get("instances") or ():
        spans = by_rule.setdefault(instance.get("rule"), [])
        for episode in instance.get("history") or ():
            began = to_epoch(episode.get("fired_at")) or to_epoch(episode.get("active_at"))
            if began is None or not episode.get("fired", True):
                continue
            ended = to_epoch(episode.get("resolved_at")) or (end if episode.get("open") else began + (episode.get("firing_seconds") or 0))
            spans.append([max(began, start), min(max(ended, began), end)])
    return by_rule


def alert_timeline(result):
    """Episodes per rule over the window: one row per rule (noisiest first), one bar per episode."""
    window = result.get("window") or {}
    start, end = to_epoch(window.get("start")), to_epoch(window.get("end"))
    if start is None or end is None or end <= start:
        return None
    by_rule = _episodes_by_rule(result, start, end)
    order = [r.get("rule") for r in result.get("rules") or ()] or sorted(by_rule)
    rows = []
    for rule in order:
        spans = sorted(by_rule.get(rule) or ())
        if not spans:
            continue
        firing = sum(b - a for a, b in spans)
        rows.append({"label": str(rule), "spans": spans, "note": "%d episode(s), firing %s" % (len(spans), human_duration(firing))})
    if not rows:
        return None
    return {"kind": "timeline", "title": "Alert episodes per rule over the window (%s)" % human_duration(end - start),
            "start": start, "end": end, "rows": rows[:MAX_TIMELINE_ROWS], "more": max(0, len(rows) - MAX_TIMELINE_ROWS)}


def alerts(result, now):
    summary = result.get("summary") or {}
    window = result.get("window") or {}
    rows = []
    if window.get("start") is not None:
        rows.append(["window", "%s to %s (%s)" % (human_time(window.get("start")), human_time(window.get("end")),
                                                  human_duration(window.get("seconds")))])
    for key in ("rules", "instances", "episodes", "near_misses", "flapping_instances", "dead_rules", "unhealthy_rules"):
        _row(rows, key.replace("_", " "), summary.get(key))
    _row(rows, "firing time (all instances)", summary.get("firing_seconds"), key="seconds")
    charts = []
    timeline = alert_timeline(result)
    if timeline:
        charts.append(timeline)
    noisy = (result.get("rules") or [])[:10]
    if noisy:
        charts.append(bar_chart("Noisiest rules (noise score)", [(r.get("rule"), r.get("noise_score") or 0) for r in noisy], value_text=human_number))
    hours = [0] * 24
    for rule in result.get("rules") or ():
        for hour, count in enumerate((rule.get("hours") or [])[:24]):
            hours[hour] += count
    if any(hours):
        charts.append(bar_chart("Firings by hour of day (%s)" % (window.get("timezone") or "UTC"), [("%02d" % h, c) for h, c in enumerate(hours)]))
    return rows, charts


# -- cert_expiry -----------------------------------------------------------------------------

CERT_STATE = {"critical": "critical", "warn": "warning", "warning": "warning", "error": "warning", "ok": "ok"}


def cert_targets(result):
    """(label, source, entry) for every endpoint, file and Secret key: the label is the readable locator."""
    for endpoint in result.get("endpoints") or ():
        where = "%s:%s" % (endpoint.get("host"), endpoint.get("port"))
        if endpoint.get("sni") and endpoint.get("sni") != endpoint.get("host"):
            where += " (sni %s)" % endpoint["sni"]
        yield "endpoint %s" % where, "endpoint", endpoint
    for entry in result.get("files") or ():
        yield "file %s" % (entry.get("path") or entry.get("id") or "(unnamed file)"), "file", entry
    for secret in result.get("secrets") or ():
        for key in sorted(secret.get("keys") or {}):
            yield "Secret %s/%s[%s]" % (secret.get("namespace"), secret.get("name"), key), "secret", secret["keys"][key]


def cert_calendar(result, now):
    """Every certificate's earliest expiry on one time axis (a row per source), today marked."""
    items = []
    for label, source, entry in cert_targets(result):
        expiry = entry.get("expiry") or {}
        epoch = to_epoch(expiry.get("not_after_epoch") or expiry.get("not_after"))
        if epoch is None:
            continue
        days = expiry.get("days_left")
        state = CERT_STATE.get(entry.get("severity"), "ok")
        if days is not None and days < 0:
            state = "critical"
        items.append({"label": label, "row": source, "at": epoch, "state": state,
                      "text": "%s: %s" % (label, human_time(epoch, now))})
    if not items:
        return None
    items.sort(key=lambda item: (item["at"], item["label"]))
    return {"kind": "calendar", "title": "Certificate expiry calendar", "now": now,
            "rows": [r for r in ("endpoint", "file", "secret") if any(i["row"] == r for i in items)],
            "items": items[:MAX_CALENDAR_ITEMS], "more": max(0, len(items) - MAX_CALENDAR_ITEMS)}


def certs(result, now):
    summary = result.get("summary") or {}
    rows = []
    _row(rows, "certificates checked", summary.get("total"))
    by_severity = summary.get("by_severity") or {}
    if by_severity:
        rows.append(["by state", ", ".join("%s %s" % (k, by_severity[k]) for k in ("critical", "warn", "error", "ok") if by_severity.get(k))])
    for source, states in sorted((summary.get("by_source") or {}).items()):
        rows.append([source + "s", ", ".join("%s %s" % (k, v) for k, v in sorted(states.items()))])
    earliest = summary.get("earliest") or {}
    if earliest.get("not_after"):
        rows.append(["earliest expiry", "%s: %s" % (human_time(earliest["not_after"], now), earliest.get("subject") or earliest.get("id"))])
    charts = []
    calendar = cert_calendar(result, now)
    if calendar:
        charts.append(calendar)
    return rows, charts


# -- pod_killer and memory_hog -----------------------------------------------------------------

def pod_killer(result, now):
    summary = result.get("summary") or {}
    gate = result.get("gate") or {}
    rows = [["mode", "dry run: nothing was disrupted" if result.get("dry_run") else "real run"]]
    _row(rows, "run id", result.get("run_id"))
    _row(rows, "seed", str(result.get("seed") or ""))
    if summary:
        rows.append(["pods", "%s read, %s eligible, %s picked, %s skipped" % (
            summary.get("pods", 0), summary.get("eligible", 0), summary.get("victims", 0), summary.get("skipped", 0))])
        _row(rows, "skipped by reason", summary.get("skipped_by_reason"))
    if gate:
        rows.append(["steady-state gate", ("passed" if gate.get("passed") else "FAILED") + (
            "" if gate.get("checked", True) else " (nothing checked)")])
    _row(rows, "window", (result.get("window") or {}).get("detail"))
    recovered = [r for r in result.get("recovery") or () if r.get("recovered")]
    if result.get("recovery"):
        rows.append(["recovery", "%d of %d owner(s) back" % (len(recovered), len(result["recovery"]))])
    return rows, []


def memory_hog(result, now):
    plan = result.get("plan") or {}
    peak = result.get("peak") or {}
    rows = [["mode", "dry run: nothing was allocated" if result.get("dry_run") else "real run"]]
    _row(rows, "target", result.get("target"))
    _row(rows, "outcome", result.get("outcome"))
    if plan:
        rows.append(["plan", "%s for %s, %s worker(s), %s engine" % (
            plan.get("total_human") or human_bytes(plan.get("total_bytes")), human_duration(plan.get("duration_seconds")),
            plan.get("workers", 1), plan.get("engine", "-"))])
    _row(rows, "peak hog RSS", peak.get("hog_rss_bytes"), key="bytes")
    _row(rows, "MemAvailable drop", peak.get("mem_available_drop_bytes"), key="bytes")
    _row(rows, "started", result.get("started_at"), key="started_at", now=now)
    _row(rows, "elapsed", result.get("elapsed_seconds"), key="seconds")
    _row(rows, "left behind", (result.get("cleanup") or {}).get("remaining"))
    return rows, []


# -- incident_timeline -----------------------------------------------------------------------

INCIDENT_MARKS = {"rollout": "info", "rollback": "ok", "config_change": "info", "warning_event": "warning", "container_terminated": "warning",
                  "node_condition": "warning", "chaos_action": "error", "chaos_run_started": "error", "silence_started": "info",
                  "certificate_expiry": "critical"}


def incident(result, now):
    """The postmortem scaffold's figures as rows, and the incident on one time axis: milestones, alert
    episodes (pending then firing), and per subject its changes and symptoms."""
    marks, window = result.get("milestones") or {}, result.get("range") or {}
    rows = [["range", "%s to %s (%s)" % (window.get("start_utc"), window.get("end_utc"), window.get("how"))]]
    for key in ("first_symptom", "detection", "mitigation", "resolution"):
        mark = marks.get(key)
        rows.append([key.replace("_", " "), "%s: %s (%s) [%s]" % (mark["time_utc"], mark["what"], mark["locator"], mark["confidence"])
                     if mark else "unknown from the sources read"])
    for cand in (result.get("triggers") or [])[:3]:
        rows.append(["trigger #%d" % cand["rank"], "%s %s (%s before the first symptom)" % (
            cand["locator"], cand["what"], human_duration(cand["lead_seconds"]))])
    rows += [["cannot know", item["what"]] for item in result.get("limits") or ()]
    _row(rows, "timeline entries", (result.get("summary") or {}).get("entries"))
    rows.append(["to write", "summary, user impact, root causes, action items, lessons learned (the postmortem scaffold)"])
    start, end = to_epoch(window.get("start")), to_epoch(window.get("end"))
    if start is None or end is None or end <= start:
        return rows, []
    lanes = [{"label": "milestones", "marks": [[marks[k]["time"], state, k.replace("_", " ")] for k, state in (
        ("first_symptom", "warning"), ("detection", "critical"), ("mitigation", "info"), ("resolution", "ok")) if marks.get(k)]}]
    for episode in result.get("episodes") or ():
        spans = [[episode["active_at"], episode["fired_at"] or episode["resolved_at"] or end, "warning", "pending"]]
        if episode.get("fired_at") is not None:
            spans.append([episode["fired_at"], episode.get("resolved_at") or end, "critical", "firing"])
        lanes.append({"label": episode["alert"], "spans": spans, "note": "fired %s" % human_duration(episode.get("firing_seconds"))})
    by_subject = {}
    for item in result.get("timeline") or ():
        if item.get("kind") in INCIDENT_MARKS:
            by_subject.setdefault(item["subject"]["locator"], []).append([item["time"], INCIDENT_MARKS[item["kind"]], item["what"]])
    for locator, found in sorted(by_subject.items(), key=lambda pair: pair[1][0][0]):
        lanes.append({"label": locator, "marks": found, "note": "%d entr%s" % (len(found), "y" if len(found) == 1 else "ies")})
    chart = {"kind": "timeline", "title": "The incident on one axis (UTC)", "start": start, "end": end,
             "rows": lanes[:MAX_TIMELINE_ROWS], "more": max(0, len(lanes) - MAX_TIMELINE_ROWS)}
    return rows, [chart]


# -- slo_report ------------------------------------------------------------------------------

def slo(result, now):
    """Budget left per SLO, a burn-down per SLO (budget left at each day's end) and the backtest timeline."""
    reports = [r for r in result.get("slos") or () if r.get("budget")]
    rows = [["SLOs", "%d reported, %d failed" % (len(reports), (result.get("summary") or {}).get("failed", 0))]]
    for rep in reports:
        budget = rep["budget"]
        rows.append([rep["name"], "%s%% achieved of %s%%, %s%% of the budget left" % (
            human_number(100 * (budget.get("achieved") or 0)), rep.get("objective"), human_number(100 * (budget.get("budget_remaining") or 0)))])
    charts = []
    if reports:
        left = [(r["name"], max(0.0, 100 * (r["budget"]["budget_remaining"] or 0))) for r in reports]
        charts.append(bar_chart("Error budget left at the window end (%)", left, value_text=human_number))
    for rep in reports[:MAX_TIMELINE_ROWS]:
        days = rep.get("daily") or []
        if days:
            pairs = [(human_time(d["end"])[:10], max(0.0, 100 * (d.get("budget_remaining") or 0))) for d in days]
            charts.append(bar_chart("Burn-down: %s budget left after each day (%%)" % rep["name"], pairs, value_text=human_number))
    window = result.get("window") or {}
    start, end = to_epoch(window.get("start")), to_epoch(window.get("end"))
    lines = []
    for rep in reports:
        backtest = rep.get("backtest") or {}
        burns = [[i["start"], i["end"], "critical", "budget burn: %s%% of the budget" % human_number(100 * i["budget_consumed"])]
                 for i in backtest.get("incidents") or ()]
        if burns:
            lines.append({"label": "%s burns" % rep["name"], "spans": burns, "note": "%d real burn(s)" % len(burns)})
        for alert in backtest.get("alerts") or ():
            spans = [[f["fired"], f.get("resolved") or end, "warning"] for f in alert.get("firing") or ()]
            if spans:
                lines.append({"label": alert["name"], "spans": spans, "note": "%d firing(s)" % len(spans)})
    if lines and start is not None and end is not None and end > start:
        charts.append({"kind": "timeline", "title": "Backtest: real budget burns and when the generated alerts would have fired",
                       "start": start, "end": end, "rows": lines[:MAX_TIMELINE_ROWS], "more": max(0, len(lines) - MAX_TIMELINE_ROWS)})
    return rows, charts


# -- rightsizing -----------------------------------------------------------------------------

def _usage_chart(c, resource, scale, unit):
    series = c["series"]
    demand = series.get(resource) or []
    if not demand:
        return None
    start, end = demand[0][0], demand[-1][0] + 3600

    def amount(value):
        number = human_number(round(value / scale, 3))
        return "%s %s" % (number, unit[:-1] if number == "1" and unit.endswith("s") else unit)

    lines = [{"label": "%s used (hourly peak%s)" % (resource, ", throttled demand counted" if resource == "cpu" else ""),
              "points": [[t, v / scale] for t, v in demand], "state": "info", "note": "peak " + amount(max(v for _t, v in demand))}]
    request = series.get(resource + "_request") or []
    if request:
        steps = []
        for (t, v), nxt in zip(request, request[1:] + [[end, request[-1][1]]]):
            steps += [[t, v / scale], [nxt[0], v / scale]]
        was = request[0][1] if request[0][1] != request[-1][1] else None
        lines.append({"label": "request", "points": steps, "state": "ok",
                      "note": amount(request[-1][1]) if was is None else "now %s, was %s" % (amount(request[-1][1]), amount(was))})
    limit = series.get(resource + "_limit")
    if limit:
        lines.append({"label": "limit", "points": [[start, limit / scale], [end, limit / scale]], "state": "critical", "dash": True, "note": amount(limit)})
    rec = ((c.get("recommendation") or {}).get("requests") or {}).get(resource)
    if rec:
        lines.append({"label": "recommended request", "points": [[start, rec / scale], [end, rec / scale]], "state": "warning", "dash": True,
                      "note": amount(rec)})
    rank = series.get("rank")
    head = "%s%s %s/%s %s: %s" % ("#%d " % rank if rank else "", c["kind"], c["namespace"], c["name"], c["container"], resource)
    title = "%s \u2014 %s" % (head, pictured_because(c))
    return {"kind": "lines", "title": title, "rank": rank, "start": start, "end": end, "unit": unit, "lines": lines,
            "series": [[line["label"], max(v for _t, v in line["points"])] for line in lines]}


def pictured_because(c):
    """Why a container is among the pictured offenders, in words: what went wrong, then what applying the
    recommendation saves or costs a month (``OOM-killed 5 times, saves 0.47/month``)."""
    ids = set(c.get("finding_ids") or ())
    words = []
    if "rightsizing.oom_killed" in ids:
        kills = len(c.get("ooms") or ())
        words.append("OOM-killed %d time%s" % (kills, "" if kills == 1 else "s") if kills else "OOM-killed")
    if "rightsizing.cpu_throttled" in ids:
        share = (c.get("throttling") or {}).get("share_of_time_over_10pct")
        words.append("CPU throttled %d%% of the time" % round(100 * share) if share else "CPU throttled")
    if "rightsizing.idle" in ids:
        idle_for = (c.get("idle") or {}).get("idle_for_seconds")
        words.append("idle for %s" % human_duration(idle_for) if idle_for else "idle")
    if "rightsizing.under_provisioned" in ids:
        words.append("uses more than it requests")
    if "rightsizing.insufficient_history" in ids:
        words.append("too little history")
    change = (c.get("cost") or {}).get("monthly_change") or 0.0
    if abs(change) >= 0.005:
        words.append("saves %.2f/month" % -change if change < 0 else "costs %.2f/month more" % change)
    return ", ".join(words) or "among the largest changes"


def rightsizing(result, now):
    summary = result.get("summary") or {}
    rows = []
    for key in ("containers", "recommended", "idle", "insufficient_history"):
        _row(rows, key.replace("_", " "), summary.get(key))
    if summary.get("monthly_change") is not None:
        rows.append(["monthly change if applied", "%.2f" % summary["monthly_change"]])
    charts = []
    pictured = [c for c in result.get("containers") or () if c.get("series")]
    for c in sorted(pictured, key=lambda c: c["series"].get("rank") or len(pictured) + 1):  # worst first (the module's rank)
        charts += [chart for chart in (_usage_chart(c, "cpu", 1.0, "cores"), _usage_chart(c, "memory", 1024.0 ** 2, "MiB")) if chart]
    waste = summary.get("monthly_saving_by_namespace") or {}
    if waste:
        charts.append(bar_chart("Monthly waste by namespace (requests above the recommendation)", sorted(waste.items(), key=lambda kv: -kv[1]),
                                value_text=lambda v: "%.2f" % v))
    return rows, charts


BUILDERS = {"k8s_health": health, "alert_frequency": alerts, "cert_expiry": certs,
            "pod_killer": pod_killer, "memory_hog": memory_hog, "incident_timeline": incident, "slo_report": slo,
            "rightsizing": rightsizing}
