# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Counter samples -> per-interval event counts on the evaluation grid.

Interval i covers (grid_start + i * step, grid_start + (i + 1) * step]; a sample's increase over
the previous sample of its series (a counter reset counts the new value, as rate() does) lands in
the interval holding the sample. A series' first sample only sets its base. With samples on the
grid, the sum of w intervals ending at t is exactly what increase(x[w]) sees at t.
"""

from __future__ import annotations


class Increments:
    """Per-interval summed increases, fed chunk by chunk (time order, as PrometheusClient.iter_raw
    yields them): each series' last value carries over to the next chunk."""

    def __init__(self, grid_start, step, n):
        self.grid_start, self.step, self.n = grid_start, step, n
        self.out = [0.0] * n
        self.last = {}
        self.series = 0

    def add(self, chunk):
        for series in chunk:
            key = tuple(sorted((series.get("metric") or {}).items()))
            values = series.get("values") or ()
            if not values:
                continue
            counts = [float(v) for _ts, v in values]
            prev = self.last.get(key)
            self.last[key] = counts[-1]
            if prev is None:
                self.series += 1
                values = values[1:]
            else:
                counts = [prev] + counts
            if values:
                self._add(values, counts)

    def _add(self, values, counts):
        """values[i] is the sample whose count is counts[i + 1]."""
        grid_start, step, n, out = self.grid_start, self.step, self.n, self.out
        steps = [now - before if now >= before else now for before, now in zip(counts, counts[1:])]
        stamps = [ts for ts, _v in values]
        first = -int(-(float(stamps[0]) - grid_start) // step) - 1     # ceil((ts - grid_start) / step) - 1
        if stamps == list(range(int(grid_start + (first + 1) * step), int(grid_start + (first + 1 + len(stamps)) * step), int(step))):
            # samples on the grid, one per interval (the usual scrape): add the slice at once
            lo, hi = max(first, 0), min(first + len(steps), n)
            if lo < hi:
                out[lo:hi] = [o + d for o, d in zip(out[lo:hi], steps[lo - first:hi - first])]
            return
        for ts, inc in zip(stamps, steps):
            i = -int(-(float(ts) - grid_start) // step) - 1
            if 0 <= i < n:
                out[i] += inc


def increments(series_list, grid_start, step, n):
    """Summed increases of every series per interval: a list of n floats."""
    acc = Increments(grid_start, step, n)
    acc.add(series_list)
    return acc.out


def cumulative(values):
    """[0, v0, v0 + v1, ...]: the sum of intervals a .. b-1 is c[b] - c[a]."""
    out = [0.0]
    acc = 0.0
    for v in values:
        acc += v
        out.append(acc)
    return out


def latency_errors(total, good):
    """Requests slower than the threshold per interval: the total minus the threshold bucket."""
    return [max(t - g, 0.0) for t, g in zip(total, good)]
