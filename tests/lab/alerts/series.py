"""The model's history as the raw series a Prometheus query returns (no stale markers: the
query API never returns them), so the analysis engine can run on a lab history without a
Prometheus: the co-firing and cascade tests sweep many seeds and end times this way."""
from __future__ import annotations

from tests.lab.alerts import history, model


def raw_series(tl, instances):
    """(ALERTS series, ALERTS_FOR_STATE series) as `query_raw` returns them."""
    alerts, for_state = [], []
    for inst in instances:
        for replica in inst.replicas or (None,):
            offset = model.HA_OFFSETS_MS[replica] if replica else 0
            for kind, segments in history.instance_series(inst, tl.evaluations).items():
                values = []
                for first, last, active, _stale in segments:
                    value = "1" if active is None else str(tl.t_ms(active, offset) // 1000)
                    values.extend([tl.t_ms(k, offset) / 1000.0, value] for k in range(first, last + 1))
                metric = history._series_labels(inst, kind, replica)
                (for_state if kind == "for_state" else alerts).append({"metric": metric, "values": values})
    return alerts, for_state


def rule_groups(rules, interval_seconds):
    """The groups `/api/v1/rules` lists for the lab's rules (generator.load_rules), as evaluated."""
    groups = {}
    for name, spec in sorted(rules.items()):
        rule = {"type": "alerting", "name": name, "query": spec["expr"], "duration": spec["for_seconds"],
                "keepFiringFor": spec["keep_firing_for_seconds"], "labels": dict(spec["labels"]),
                "health": "err" if name in model.ERROR_RULES else "ok"}
        if name in model.ERROR_RULES:
            rule["lastError"] = model.ERROR_RULES[name]
        groups.setdefault(spec["group"], []).append(rule)
    return [{"name": group, "file": "rules.yml", "interval": interval_seconds, "rules": members}
            for group, members in sorted(groups.items())]
