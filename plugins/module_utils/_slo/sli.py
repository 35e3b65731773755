# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Counter samples -> per-interval event counts on the evaluation grid.

Interval i covers (grid_start + i * step, grid_start + (i + 1) * step]; a sample's increase over
the previous sample of its series (a counter reset counts the new value, as rate() does) lands in
the interval holding the sample. A series' first sample only sets its base. With samples on the
grid, the sum of w intervals ending at t is exactly what increase(x[w]) sees at t.
"""

from __future__ import annotations


def increments(series_list, grid_start, step, n):
    """Summed increases of every series per interval: a list of n floats."""
    out = [0.0] * n
    for series in series_list:
        values = series.get("values") or ()
        prev = None
        for ts, value in values:
            v = float(value)
            if prev is not None:
                inc = v - prev if v >= prev else v
                i = -int(-(float(ts) - grid_start) // step) - 1   # ceil((ts - grid_start) / step) - 1
                if 0 <= i < n:
                    out[i] += inc
            prev = v
    return out


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
