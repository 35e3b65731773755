# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event store: JSON lines that outlive the event TTL, written by an export (the
incident_events role, on a schedule) and read back by the timeline.

One line is ``{"type": "event" | "replicaset" | "chaos_record", "api": "core/v1", "exported_at":
<unix seconds>, "object": {...}}``. Reading de-duplicates: an event is one record per uid (the
highest count wins, as for live events), a ReplicaSet one per uid (the newest copy), a chaos record
one per run_id. Writing keeps only lines whose identity and version are not stored yet.
"""

from __future__ import annotations

import json

TYPES = ("event", "replicaset", "chaos_record")


def identity(line):
    """(type, uid or run_id, version): two lines with one identity are one line."""
    obj = line.get("object") or {}
    meta = obj.get("metadata") or {}
    if line.get("type") == "chaos_record":
        return ("chaos_record", str(obj.get("run_id")), "")
    version = meta.get("resourceVersion") or str(obj.get("count") or (obj.get("series") or {}).get("count") or "")
    return (line.get("type"), meta.get("uid") or "%s/%s" % (meta.get("namespace"), meta.get("name")), version)


def parse(lines):
    """{events: [event records], replicasets, chaos_records, bad_lines, covers_from(ttl)} from store lines."""
    from ansible_collections.sre.toolkit.plugins.module_utils._incidents.normalize import event_record

    out = {"events": [], "replicasets": {}, "chaos_records": {}, "bad_lines": 0}
    exported = []
    for text in lines:
        text = text.strip()
        if not text:
            continue
        try:
            line = json.loads(text)
            obj = line["object"]
            kind = line["type"]
        except (ValueError, KeyError, TypeError):
            out["bad_lines"] += 1
            continue
        if kind not in TYPES or not isinstance(obj, dict):
            out["bad_lines"] += 1
            continue
        if isinstance(line.get("exported_at"), (int, float)):
            exported.append(float(line["exported_at"]))
        if kind == "event":
            out["events"].append(event_record(obj, line.get("api") or "core/v1"))
        else:
            out[kind + "s"][identity(line)[1]] = obj
    first = min(exported) if exported else None
    return {"events": out["events"], "replicasets": list(out["replicasets"].values()),
            "chaos_records": list(out["chaos_records"].values()), "bad_lines": out["bad_lines"],
            "covers_from": lambda ttl: None if first is None else first - ttl}


def union(live, stored):
    """Live objects first; stored ones whose uid (or run_id) the live list lacks."""
    def key(obj):
        return ((obj.get("metadata") or {}).get("uid") or obj.get("run_id")) if isinstance(obj, dict) else None

    seen = set(key(o) for o in live)
    return list(live) + [o for o in stored if key(o) not in seen]


def new_lines(existing_lines, candidates):
    """The candidate lines not already stored (by identity and version), in a stable order."""
    stored = set()
    for text in existing_lines:
        try:
            stored.add(identity(json.loads(text)))
        except (ValueError, TypeError, AttributeError):
            continue
    fresh, seen = [], set()
    for line in candidates:
        ident = identity(line)
        if ident in stored or ident in seen:
            continue
        seen.add(ident)
        fresh.append(line)
    return fresh
