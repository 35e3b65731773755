# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The incident_timeline service: check the options, find the range, read every source through
its client, keep a partial timeline when a source fails, and hand plain data to the engine.

Clients come in as factories (``k8s(params)``, ``prometheus(params)``, ``alertmanager(params)``;
the real ones by default) so tests hand in recorded ones. A source that cannot be read (no URL,
refused, 403, 404) becomes ``sources[name] = {status, detail}`` and a limit, never an exception.
"""

from __future__ import annotations

import glob
import json
import os

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._findings import contract, gate
from ansible_collections.sre.toolkit.plugins.module_utils._http import HttpClient
from ansible_collections.sre.toolkit.plugins.module_utils._incidents import normalize as norm
from ansible_collections.sre.toolkit.plugins.module_utils._incidents import store as event_store
from ansible_collections.sre.toolkit.plugins.module_utils._incidents.assemble import SOURCES, assemble
from ansible_collections.sre.toolkit.plugins.module_utils._prom import PrometheusClient
from ansible_collections.sre.toolkit.plugins.module_utils._time import parse_duration, to_epoch, utc_text

K8S_SOURCES = ("events", "rollouts", "config", "nodes", "containers")
MAX_RANGE = 31 * 86400


def k8s_client(params):
    from ansible_collections.sre.toolkit.plugins.module_utils._k8s import K8sClient

    return K8sClient.from_params(params)


def alertmanager_client(params):
    return HttpClient.from_params(params, "alertmanager_url")


def _seconds(params, name, minimum=0.0):
    value = parse_duration(params[name])
    if value is None or value < minimum or (minimum > 0 and value == 0):
        raise ToolkitError("%s: %r is not a duration such as 90s, 15m or 2h%s" % (
            name, params[name], "" if not minimum else " (more than 0)"), kind="invalid")
    return value


def _time(params, name, value, now):
    if value in (None, ""):
        return None
    found = to_epoch(value)
    if found is None:
        duration = parse_duration(str(value).lstrip("-"))  # "-2h": that long before now
        if duration is None:
            raise ToolkitError("%s: %r is neither unix seconds, RFC 3339 (2026-12-06T08:00:00Z) nor a duration back from now "
                               "(-2h)" % (name, value), kind="invalid")
        found = now - duration
    return found


def check_params(params, now):
    """The options as the engine needs them; ToolkitError naming the option otherwise."""
    sources = list(params["sources"] or SOURCES)
    opts = {"now": now, "interval": _seconds(params, "evaluation_interval", 1), "event_ttl": _seconds(params, "event_ttl", 1),
            "trigger_window": _seconds(params, "trigger_window"), "clock_skew": _seconds(params, "clock_skew"),
            "ignore_labels": params["ignore_labels"], "sources": sources, "title": params["title"] or "incident",
            "postmortem_entries": params["postmortem_entries"]}
    end = _time(params, "end", params["end"], now)
    opts["end"] = min(now, end) if end is not None else now
    start = _time(params, "start", params["start"], now)
    opts["start"] = start if start is not None else opts["end"] - _seconds(params, "window", 1)
    if params["around_alert"] and params["start"]:
        raise ToolkitError("around_alert and start: give one of them (around_alert finds the range itself)", kind="invalid")
    if opts["start"] >= opts["end"]:
        raise ToolkitError("start: %s is not before end %s" % (utc_text(opts["start"], True), utc_text(opts["end"], True)), kind="invalid")
    if opts["end"] - opts["start"] > MAX_RANGE:
        raise ToolkitError("window: at most 31 days; narrow start/end or window", kind="invalid")
    return opts


def _selector(metric, matchers):
    return "%s{%s}" % (metric, matchers) if matchers else metric


def around_alert(prom, spec, opts, now):
    """The range around one alert episode: the episode of ``spec.alertname`` that covers ``spec.at``
    (else the last one that began before it, within ``spec.lookback``), widened by before/after."""
    at = _time({}, "around_alert.at", spec.get("at"), now) or now
    lookback = parse_duration(spec.get("lookback") or "1d")
    before, after = parse_duration(spec.get("before") or "30m"), parse_duration(spec.get("after") or "30m")
    if None in (lookback, before, after):
        raise ToolkitError("around_alert.lookback/before/after: durations such as 30m or 1d", kind="invalid")
    matchers = 'alertname="%s"' % spec["alertname"] + (", " + spec["matchers"] if spec.get("matchers") else "")
    if prom is None:
        raise ToolkitError("around_alert needs prometheus_url: the episode is read from ALERTS", kind="invalid")
    alerts = prom.query_raw(_selector("ALERTS", matchers), at - lookback, min(now, at + lookback))
    states = prom.query_raw(_selector("ALERTS_FOR_STATE", matchers), at - lookback, min(now, at + lookback))
    _entries, episodes = norm.alert_entries(alerts, states, opts["interval"], at - lookback, min(now, at + lookback),
                                            opts["ignore_labels"])
    began = [ep for ep in episodes if ep["active_at"] <= at]
    if not began:
        raise ToolkitError("around_alert: no episode of %s in the %s before %s" % (
            matchers, spec.get("lookback") or "1d", utc_text(at, True)), kind="not_found")
    episode = max(began, key=lambda ep: ep["active_at"])
    finish = episode["resolved_at"] if episode["resolved_at"] is not None else now
    return episode["active_at"] - before, min(now, finish + after), episode


def _failed(sources, name, exc):
    status = {"forbidden": "forbidden", "auth": "forbidden", "not_found": "not_found"}.get(exc.kind, "error")
    sources[name] = {"status": status, "detail": "%s (%s%s)" % (exc.msg, exc.kind, ", HTTP %s" % exc.status if exc.status else "")}


def read_prometheus(prom, params, opts, data, sources):
    if prom is None:
        sources["alerts"] = {"status": "not_configured", "detail": "prometheus_url not given: no alert episodes"}
        return
    start = opts["start"] - opts["interval"] * 2  # an episode already pending at start still shows its ActiveAt
    try:
        alerts = prom.query_raw(_selector("ALERTS", params["alert_selector"]), start, opts["end"])
        states = prom.query_raw(_selector("ALERTS_FOR_STATE", params["alert_selector"]), start, opts["end"])
        data["alerts"] = (alerts, states)
        data["heartbeat"] = prom.query_raw(params["heartbeat"], opts["start"], opts["end"]) if params["heartbeat"] else None
    except ToolkitError as exc:
        _failed(sources, "alerts", exc)


def read_silences(alertmanager, data, sources):
    if alertmanager is None:
        sources["silences"] = {"status": "skipped", "detail": "alertmanager_url not given"}
        return
    try:
        found = alertmanager.get_json("/api/v2/silences")
        if not isinstance(found, list):
            raise ToolkitError("/api/v2/silences did not return a list; is alertmanager_url an Alertmanager v0.16+?", kind="http")
        data["silences"] = found
    except ToolkitError as exc:
        _failed(sources, "silences", exc)


def _paths(namespaces, api, resource):
    if not namespaces:
        return ["%s/%s" % (api, resource)]
    return ["%s/namespaces/%s/%s" % (api, ns, resource) for ns in namespaces]


def _list(k8s, namespaces, api, resource):
    items = []
    for path in _paths(namespaces, api, resource):
        items.extend(k8s.list_all(path))
    return items


def read_kubernetes(k8s, params, opts, data, sources):
    """Events (core and events.k8s.io: one of them is enough), ReplicaSets, Deployments and
    ControllerRevisions, nodes, pods. Each read failing costs its source only."""
    ns = params["namespaces"]
    wanted = opts["sources"]
    records, errors = [], []
    if "events" in wanted or "chaos" in wanted or "rollouts" in wanted:
        for api, path in (("core/v1", "/api/v1"), ("events.k8s.io/v1", "/apis/events.k8s.io/v1")):
            try:
                items = _list(k8s, ns, path, "events")
                records.extend(norm.event_record(item, api) for item in items)
                data.setdefault("raw_events", []).extend((api, item) for item in items)
            except ToolkitError as exc:
                errors.append(exc)
        if len(errors) == 2:
            _failed(sources, "events", errors[0])
        data["events"] = records
    reads = (("rollouts", "replicasets", "/apis/apps/v1", "replicasets"), ("rollouts", "deployments", "/apis/apps/v1", "deployments"),
             ("rollouts", "controllerrevisions", "/apis/apps/v1", "controllerrevisions"), ("containers", "pods", "/api/v1", "pods"),
             ("config", "configmaps", "/api/v1", "configmaps"))
    for source, key, api, resource in reads:
        if source not in wanted or sources.get(source, {}).get("status") not in (None, "ok"):
            continue
        try:
            data[key] = _list(k8s, ns, api, resource)
        except ToolkitError as exc:
            _failed(sources, source, exc)
    if "nodes" in wanted:
        try:
            data["nodes"] = k8s.list_all("/api/v1/nodes")
        except ToolkitError as exc:
            _failed(sources, "nodes", exc)


def read_store(path, data, opts):
    """Events, ReplicaSets and chaos records an incident_events export kept (JSON lines files)."""
    if not path:
        return None
    if not os.path.isdir(path):
        raise ToolkitError("event_store: %s is not a directory (give the store the incident_events role writes)" % path, kind="invalid")
    lines = []
    for name in sorted(glob.glob(os.path.join(path, "*.jsonl"))):
        with open(name, encoding="utf-8") as handle:
            lines.extend(handle)
    kept = event_store.parse(lines)
    data["events"] = (data.get("events") or []) + kept["events"]
    for key in ("replicasets", "chaos_records"):
        data[key] = event_store.union(data.get(key) or [], kept[key])
    return kept["covers_from"](opts["event_ttl"])


def export_store(path, data, now, check_mode):
    """Append to ``path``/events-<day>.jsonl the events (warning, chaos, ScalingReplicaSet), ReplicaSets
    and chaos records read now that no store file holds yet (same uid and version). Check mode counts only."""
    candidates = [{"type": "event", "api": api, "exported_at": now, "object": item} for api, item in data.get("raw_events") or ()
                  if norm.event_kind(norm.event_record(item, api))]
    candidates += [{"type": "replicaset", "exported_at": now, "object": rs} for rs in data.get("replicasets") or ()]
    candidates += [{"type": "chaos_record", "exported_at": now, "object": rec} for rec in data.get("chaos_records") or ()
                   if isinstance(rec, dict) and rec.get("run_id") and not (rec.get("dry_run") or rec.get("simulated"))]
    existing = []
    if os.path.isdir(path):
        for name in sorted(glob.glob(os.path.join(path, "*.jsonl"))):
            with open(name, encoding="utf-8") as handle:
                existing.extend(handle)
    fresh = event_store.new_lines(existing, candidates)
    target = os.path.join(path, "events-%s.jsonl" % utc_text(now)[:10])
    if fresh and not check_mode:
        try:
            os.makedirs(path, exist_ok=True)
            with open(target, "a", encoding="utf-8") as handle:
                handle.writelines(json.dumps(line, sort_keys=True) + "\n" for line in fresh)
        except OSError as exc:
            raise ToolkitError("export_to: cannot write %s: %s" % (target, exc.strerror or exc), kind="invalid")
    by_type = {}
    for line in fresh:
        by_type[line["type"]] = by_type.get(line["type"], 0) + 1
    return {"path": target, "written": len(fresh), "by_type": dict(sorted(by_type.items())), "already_stored": len(candidates) - len(fresh)}


def run(params, now, k8s=k8s_client, prometheus=PrometheusClient.from_params, alertmanager=alertmanager_client, check_mode=False):
    """Every option checked before a client is built; then read, (export,) assemble, gate. Returns (result, warnings)."""
    opts = check_params(params, now)
    prom = prometheus(params) if params.get("prometheus_url") and "alerts" in opts["sources"] else None
    how = "start/end" if params["start"] else "window"
    if params["around_alert"]:
        opts["start"], opts["end"], episode = around_alert(prom, params["around_alert"], opts, now)
        how = "around %s from %s" % (episode["subject"]["locator"], utc_text(episode["active_at"], True))
    data, sources = {"chaos_records": list(params["chaos_records"] or []), "certificates": list(params["certificates"] or [])}, {}
    for name in SOURCES:
        if name not in opts["sources"]:
            sources[name] = {"status": "skipped", "detail": "not in sources"}
    if "alerts" in opts["sources"]:
        read_prometheus(prom, params, opts, data, sources)
    if "silences" in opts["sources"]:
        read_silences(alertmanager(params) if params.get("alertmanager_url") else None, data, sources)
    if set(K8S_SOURCES) & set(opts["sources"]):
        try:
            client = k8s(params)
        except ToolkitError as exc:
            client = None
            for name in K8S_SOURCES:
                if name in opts["sources"]:
                    _failed(sources, name, exc)
        if client is not None:
            read_kubernetes(client, params, opts, data, sources)
    exported = export_store(params["export_to"], data, now, check_mode) if params["export_to"] else None
    opts["store_from"] = read_store(params["event_store"], data, opts)
    detail, found = assemble(data, opts, sources)
    findings, severity_counts = contract(found)
    partial = sorted(name for name, info in detail["sources"].items() if info["status"] not in ("ok", "skipped"))
    result = dict(detail, changed=bool(exported and exported["written"]), export=exported, findings=findings, range={
        "start": opts["start"], "end": opts["end"], "start_utc": utc_text(opts["start"], True), "end_utc": utc_text(opts["end"], True),
        "how": how, "event_horizon_utc": utc_text(now - opts["event_ttl"], True)})
    by_source = {}
    for item in detail["timeline"]:
        by_source[item["source"]] = by_source.get(item["source"], 0) + 1
    result["summary"] = {"entries": len(detail["timeline"]), "by_source": dict(sorted(by_source.items())), "partial": partial,
                         "counts": severity_counts, "gate": gate(severity_counts, params["fail_on"])}
    warnings = ["timeline is partial: %s" % "; ".join("%s %s" % (n, detail["sources"][n]["detail"]) for n in partial)] if partial else []
    return result, warnings
