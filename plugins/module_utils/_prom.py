# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus HTTP API client (also Thanos, Mimir, VictoriaMetrics) over the shared transport."""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._http import HttpClient

# Prometheus refuses a range query whose (end - start) / step exceeds this.
MAX_POINTS_PER_SERIES = 11000
DEFAULT_RAW_CHUNK_SECONDS = 6 * 3600
LONG_QUERY = 1500


def range_chunks(start, end, span):
    """Consecutive (chunk_start, chunk_end) pairs covering [start, end], each at most `span` long."""
    if end <= start:
        return []
    chunks = []
    cursor = start
    while cursor < end:
        chunk_end = min(end, cursor + span)
        chunks.append((cursor, chunk_end))
        cursor = chunk_end
    return chunks


def series_key(metric):
    return tuple(sorted(metric.items()))


def merge_series(target, result):
    """Add one response's matrix into `target` ({key: (metric, {ts: value})}); returns new samples."""
    added = 0
    for series in result:
        key = series_key(series.get("metric", {}))
        slot = target.setdefault(key, (series.get("metric", {}), {}))[1]
        for ts, value in series.get("values", ()):
            ts = float(ts)
            if ts not in slot:
                slot[ts] = value
                added += 1
    return added


def flatten(merged):
    """Sorted list of {"metric", "values"} from merge_series' accumulator."""
    out = []
    for key in sorted(merged):
        metric, points = merged[key]
        out.append({"metric": metric, "values": [[ts, points[ts]] for ts in sorted(points)]})
    return out


def _window(result, lower, upper):
    """One raw chunk's series, samples kept in (lower, upper], sorted by label set.

    Chunks never overlap and a range vector's samples come in time order, so no merge is needed.
    """
    out = []
    for series in result:
        values = [[float(ts), value] for ts, value in series.get("values", ()) if lower < float(ts) <= upper]
        if values:
            out.append({"metric": series.get("metric", {}), "values": values})
    out.sort(key=lambda series: series_key(series["metric"]))
    return out


class PrometheusClient:
    def __init__(self, http):
        self.http = http
        self.stats = {"queries": 0, "samples": 0}

    @classmethod
    def from_params(cls, params):
        return cls(HttpClient.from_params(params, "prometheus_url", prefix="prometheus"))

    def all_stats(self):
        return dict(self.http.stats, **self.stats)

    def _api(self, path, form):
        """Call a query endpoint; long expressions go as POST forms (URL length limits)."""
        self.stats["queries"] += 1
        expr = form.get("query", form.get("match[]", ""))
        if len(expr) > LONG_QUERY:
            response = self.http.request("POST", path, data=form, retry=True)
        else:
            response = self.http.request("GET", path, params=form)
        try:
            body = response.json()
        except ValueError:
            raise ToolkitError("%s did not return JSON: is prometheus_url a Prometheus API?" % self.http.url(path), kind="http")
        if body.get("status") != "success":
            raise ToolkitError("Prometheus rejected %r: %s" % (expr, body.get("error", body)), kind="invalid")
        return body.get("data", {})

    def query(self, expr, at=None):
        form = {"query": expr}
        if at is not None:
            form["time"] = "%.3f" % float(at)
        data = self._api("/api/v1/query", form)
        result = data.get("result", [])
        if data.get("resultType") == "matrix":
            self.stats["samples"] += sum(len(s.get("values", ())) for s in result)
        else:
            self.stats["samples"] += len(result) if isinstance(result, list) else 1
        return result

    def query_range(self, expr, start, end, step):
        """A range query over [start, end], split so no request exceeds the points limit."""
        step = float(step)
        if step <= 0:
            raise ToolkitError("step must be positive, got %r" % step)
        merged = {}
        span = step * (MAX_POINTS_PER_SERIES - 1)
        for chunk_start, chunk_end in range_chunks(float(start), float(end), span):
            data = self._api("/api/v1/query_range", {
                "query": expr, "start": "%.3f" % chunk_start, "end": "%.3f" % chunk_end, "step": "%g" % step,
            })
            self.stats["samples"] += merge_series(merged, data.get("result", []))
        return flatten(merged)

    def iter_raw(self, selector, start, end, chunk_seconds=None):
        """Yield, chunk by chunk in time order, the raw samples of `selector` in (start, end].

        Each chunk evaluates `selector[<span>s]` at the chunk end: every stored sample comes back
        exactly as written (no step aliasing). Samples on a boundary are kept in one chunk only.
        """
        span = float(chunk_seconds or DEFAULT_RAW_CHUNK_SECONDS)
        for chunk_start, chunk_end in range_chunks(float(start), float(end), span):
            data = self._api("/api/v1/query", {
                "query": "%s[%ds]" % (selector, int(round(chunk_end - chunk_start))),
                "time": "%.3f" % chunk_end,
            })
            chunk = _window(data.get("result", []), chunk_start, chunk_end)
            self.stats["samples"] += sum(len(series["values"]) for series in chunk)
            yield chunk

    def series(self, match, start, end):
        """Label sets of the series matching `match` with samples in [start, end] (/api/v1/series:
        the index only, no sample is read)."""
        data = self._api("/api/v1/series", {"match[]": match, "start": "%.3f" % float(start), "end": "%.3f" % float(end)})
        return data if isinstance(data, list) else []

    def query_raw(self, selector, start, end, chunk_seconds=None):
        merged = {}
        for chunk in self.iter_raw(selector, start, end, chunk_seconds):
            merge_series(merged, chunk)
        return flatten(merged)

    def rules(self, rule_type="alert"):
        params = {"type": rule_type} if rule_type else None
        self.stats["queries"] += 1
        body = self.http.get_json("/api/v1/rules", params=params)
        return body.get("data", {}).get("groups", [])

    def buildinfo(self):
        self.stats["queries"] += 1
        return self.http.get_json("/api/v1/status/buildinfo").get("data", {})
