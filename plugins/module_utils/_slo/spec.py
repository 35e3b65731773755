# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module's options checked and turned into the engine's SLO specs (pure: no client)."""

from __future__ import annotations

import re

from ansible_collections.sre.toolkit.plugins.module_utils import _time
from ansible_collections.sre.toolkit.plugins.module_utils._slo.common import STANDARD_PAIRS, SloInputError, duration, objective_fraction
from ansible_collections.sre.toolkit.plugins.module_utils._slo.rules import camel, latency_queries, ratio_queries

MAX_PERIOD = 90 * 86400
SELECTOR = re.compile(r"^\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*(?:\{(.*)\})?\s*$", re.S)


def window(params, now):
    """(start, end, step, period): end defaults to now, both on the evaluation grid."""
    step = duration(params["evaluation_interval"], "evaluation_interval")
    if step < 1:
        raise SloInputError("evaluation_interval: at least 1s, got %r" % params["evaluation_interval"])
    period = duration(params["period"], "period")
    if period < 86400 or period > MAX_PERIOD or period % step:
        raise SloInputError("period: between 1d and 90d and a multiple of evaluation_interval, got %r" % params["period"])
    end = now if params.get("end") in (None, "", "now") else _time.to_epoch(params["end"])
    if end is None:
        raise SloInputError("end: %r is neither unix seconds nor an RFC 3339 time such as 2026-12-01T00:00:00Z" % params["end"])
    end = int(end) // step * step
    return end - period, end, step, period


def split_selector(text, where):
    match = SELECTOR.match(text or "")
    if not match:
        raise SloInputError("%s: %r is not a metric selector; write name{label=\"value\", ...} (no functions: the module computes the rates)" % (
            where, text))
    return match.group(1), (match.group(2) or "").strip().rstrip(",")


def _pair(item, where):
    severity = item.get("severity") or "page"
    if severity not in ("page", "ticket"):
        raise SloInputError("%s.severity: page or ticket, got %r" % (where, severity))
    long_s = duration(item.get("long_window"), where + ".long_window")
    short_s = duration(item.get("short_window"), where + ".short_window")
    if not 0 < short_s < long_s:
        raise SloInputError("%s: short_window must be shorter than long_window (e.g. 5m and 1h)" % where)
    factor = item.get("factor")
    if not isinstance(factor, (int, float)) or factor <= 0:
        raise SloInputError("%s.factor: a positive burn-rate factor such as 14.4, got %r" % (where, factor))
    return (severity, long_s, short_s, "%g" % factor, duration(item.get("for") or 0, where + ".for"))


def slos(params, period):
    """(engine specs, failures): every SLO sorted by name, user pairs included (histogram lookups are left to
    the service); an SLO whose own options are wrong is a failure {name, service, error}, the others go on."""
    items = params.get("slos") or []
    if not items:
        raise SloInputError("slos: give at least one SLO, e.g. {name: api-availability, service: api, objective: 99.9, ratio: {errors: ..., total: ...}}")
    names = [i.get("name") for i in items]
    dupes = sorted(set(n for n in names if names.count(n) > 1))
    if dupes:
        raise SloInputError("slos: names must be unique; repeated: %s" % ", ".join(dupes))
    shared = [_pair(p, "alert_pairs[%d]" % i) for i, p in enumerate(params.get("alert_pairs") or [])]
    out, failed = [], []
    for item in sorted(items, key=lambda i: i["name"]):
        try:
            out.append(_slo(item, shared, period))
        except SloInputError as exc:
            failed.append({"name": item["name"], "service": item.get("service") or item["name"], "error": exc.msg})
    return out, failed


def _slo(item, shared, period):
    """One SLO's engine spec; SloInputError naming it and the fix."""
    where = "slos[%s]" % item["name"]
    ratio, latency = item.get("ratio"), item.get("latency")
    if bool(ratio) == bool(latency):
        raise SloInputError("%s: give exactly one of ratio {errors, total} or latency {histogram, threshold}" % where)
    own = [_pair(p, "%s.alert_pairs[%d]" % (where, i)) for i, p in enumerate(item.get("alert_pairs") or [])]
    slo = {"name": item["name"], "service": item.get("service") or item["name"],
           "objective": objective_fraction(item.get("objective"), where), "period": period,
           "description": item.get("description") or "", "alert_name": item.get("alert_name") or camel(item["name"]) + "BudgetBurn",
           "pairs": [p for p in shared + own if p[:4] not in STANDARD_PAIRS or p[4]]}
    if ratio:
        for key in ("errors", "total"):
            split_selector(ratio.get(key), "%s.ratio.%s" % (where, key))
        slo.update(kind="ratio", selectors={"errors": ratio["errors"].strip(), "total": ratio["total"].strip()})
        errors, total = ratio_queries(slo["selectors"]["errors"], slo["selectors"]["total"])
        slo["sli"] = {"errors": errors, "total": total}
    else:
        name, inner = split_selector(latency.get("histogram"), where + ".latency.histogram")
        for suffix in ("_bucket", "_count", "_sum"):
            if name.endswith(suffix):
                name = name[:-len(suffix)]
        threshold = latency.get("threshold")
        if not isinstance(threshold, (int, float)) or threshold <= 0:
            raise SloInputError("%s.latency.threshold: seconds, the upper bound (le) of one of the histogram's buckets, got %r" % (where, threshold))
        slo.update(kind="latency", histogram=(name, inner), threshold=float(threshold))
    return slo


def set_bucket(slo, le_text):
    """Finish a latency SLO once the service knows the exact le label of its threshold bucket."""
    name, inner = slo["histogram"]
    sep = ", " if inner else ""
    bucket = '%s_bucket{%s%sle="%s"}' % (name, inner, sep, le_text)
    count = "%s_count{%s}" % (name, inner)
    slo["selectors"] = {"good": bucket, "total": count}
    errors, total = latency_queries(bucket, count)
    slo["sli"] = {"errors": errors, "total": total}
