# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report model's charts as inline SVG: no script, no external resource, fixed sizes (prints well)."""

from __future__ import annotations

import datetime
from xml.sax.saxutils import escape, quoteattr

from .._time import human_duration, utc_text

COLOURS = {"critical": "#c62828", "warning": "#ef6c00", "info": "#1565c0", "ok": "#2e7d32", "error": "#6a1b9a"}
SLATE = "#455a64"
FONT = 'font-family="system-ui, sans-serif"'


def _short(text, size=30):
    text = str(text)
    return text if len(text) <= size else text[:size - 1] + "\u2026"


def _open(kind, title, width, height, heads=None):
    """The ``<svg>`` opening with the title drawn in bold; ``heads`` draws it over several lines instead (see _title_lines)."""
    heads = heads or [title]
    return ['<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" data-kind="%s" width="%d" height="%d" '
            'viewBox="0 0 %d %d" %s>' % (kind, width, height, width, height, FONT),
            "<title>%s</title>" % escape(title),
            '<text x="0" y="16" font-size="13" font-weight="bold">%s</text>' % escape(heads[0])] + [
        '<text x="0" y="%d" font-size="12" fill="#424242">%s</text>' % (16 + 16 * index, escape(head)) for index, head in enumerate(heads[1:], 1)]


def _title_lines(title, width, char_width=8.2):
    """The title over two lines when it has an em dash (what follows it goes below, so charts side by side
    line up) or would not fit ``width`` (broken at the last space that fits); each line shortened to fit."""
    fits = int(width / char_width)
    head, dash, tail = title.partition(" \u2014 ")
    if not dash and len(title) <= fits:
        return [title]
    if not dash or len(head) > fits:
        cut = title.rfind(" ", 0, fits)
        head, tail = (title[:cut], title[cut + 1:]) if cut > 0 else (title[:fits], title[fits:])
    return [_short(head, fits), _short(tail, fits)]


def _number(value):
    return ("%d" % value) if float(value).is_integer() else ("%.1f" % value)


def bars(chart, width=560, bar_height=18, gap=6, label_width=200):
    """Horizontal bars; a label named after a severity takes its colour."""
    series = chart.get("series") or []
    labels = chart.get("labels") or [None] * len(series)
    top = max([pair[1] for pair in series] + [1.0])
    height = 28 + len(series) * (bar_height + gap)
    plot = width - label_width - 70
    parts = _open("bar", chart.get("title", ""), width, height)
    for index, ((label, value), text) in enumerate(zip(series, labels)):
        y = 28 + index * (bar_height + gap)
        length = max(1.0, plot * value / top) if value else 0
        shown = (text or _number(value)) + ((" " + chart["unit"]) if chart.get("unit") else "")
        parts.append('<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>' % (label_width - 6, y + bar_height - 5, escape(_short(label))))
        parts.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s</title></rect>' % (
            label_width, y, length, bar_height, COLOURS.get(str(label).lower(), SLATE), escape(str(label)), escape(shown)))
        parts.append('<text x="%.1f" y="%d" font-size="12">%s</text>' % (label_width + length + 4, y + bar_height - 5, escape(shown)))
    parts.append("</svg>")
    return "\n".join(parts)


def stacked(chart, width=560, bar_height=18, gap=6, label_width=200):
    """Horizontal stacked bars (e.g. findings per namespace by severity), with a legend."""
    keys = chart.get("keys") or []
    series = chart.get("series") or []
    top = max([sum(values) for _label, values in series] + [1])
    height = 46 + len(series) * (bar_height + gap)
    plot = width - label_width - 50
    parts = _open("stacked", chart.get("title", ""), width, height)
    for index, key in enumerate(keys):
        parts.append('<rect x="%d" y="24" width="10" height="10" fill="%s"/><text x="%d" y="33" font-size="11">%s</text>' % (
            label_width + index * 80, COLOURS.get(key, SLATE), label_width + index * 80 + 14, escape(key)))
    for row, (label, values) in enumerate(series):
        y = 44 + row * (bar_height + gap)
        parts.append('<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>' % (label_width - 6, y + bar_height - 5, escape(_short(label))))
        x = float(label_width)
        for key, value in zip(keys, values):
            if not value:
                continue
            length = max(2.0, plot * value / top)
            parts.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %d %s</title></rect>' % (
                x, y, length, bar_height, COLOURS.get(key, SLATE), escape(str(label)), value, escape(key)))
            x += length
        parts.append('<text x="%.1f" y="%d" font-size="12">%d</text>' % (x + 4, y + bar_height - 5, sum(values)))
    parts.append("</svg>")
    return "\n".join(parts)


def _ticks(start, end, relative, count=6, origin=None):
    """(epoch, label) axis ticks: whole days/hours for absolute axes, offsets for relative ones."""
    span = max(end - start, 1.0)
    if relative:
        origin = start if origin is None else origin
        return [(at, "+" + human_duration(at - origin)) for at in (start + span * i / (count - 1) for i in range(count)) if at >= origin]
    step = next((s for s in (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400) if span / s <= 10), 90 * 86400)
    first = (int(start) // step + 1) * step
    fmt = "%b %d" if step >= 86400 else "%H:%M"
    out = []
    tick = first
    while tick < end:
        out.append((tick, datetime.datetime.fromtimestamp(tick, tz=datetime.timezone.utc).strftime(fmt)))
        tick += step
    return out


def timeline(chart, width=960, row_height=20, label_width=190, note_width=190):
    """Rows over one time axis: spans ``[from, to(, state, text)]`` and marks ``[at, state, text]``."""
    start, end = float(chart["start"]), float(chart["end"])
    rows = chart.get("rows") or []
    plot = width - label_width - note_width - 10
    height = 40 + len(rows) * row_height + 22 + (16 if chart.get("more") else 0)

    def x(at):
        return label_width + plot * (min(max(float(at), start), end) - start) / max(end - start, 1e-9)

    parts = _open("timeline", chart.get("title", ""), width, height)
    base = 30 + len(rows) * row_height
    for at, label in _ticks(start, end, chart.get("relative"), origin=chart.get("origin")):
        parts.append('<line x1="%.1f" x2="%.1f" y1="28" y2="%d" stroke="#e0e0e0"/>' % (x(at), x(at), base))
        parts.append('<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#616161">%s</text>' % (x(at), base + 14, escape(label)))
    for index, row in enumerate(rows):
        y = 30 + index * row_height
        if index % 2:
            parts.append('<rect x="0" y="%d" width="%d" height="%d" fill="#fafafa"/>' % (y, width, row_height))
        parts.append('<text x="%d" y="%d" font-size="12" text-anchor="end">%s<title>%s</title></text>' % (
            label_width - 6, y + row_height - 6, escape(_short(row["label"], 24)), escape(row["label"])))
        for span in row.get("spans") or ():
            state = span[2] if len(span) > 2 else row.get("state", "warning")
            tip = span[3] if len(span) > 3 else "%s to %s (%s)" % (utc_text(span[0], True), utc_text(span[1], True), human_duration(span[1] - span[0]))
            parts.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" opacity="0.85"><title>%s</title></rect>' % (
                x(span[0]), y + 4, max(1.5, x(span[1]) - x(span[0])), row_height - 8, COLOURS.get(state, SLATE), escape(tip)))
        for at, state, text in row.get("marks") or ():
            cx = x(at)
            parts.append('<path d="M%.1f %d l5 6 l-5 6 l-5 -6 z" fill="%s" stroke="#212121" stroke-width="0.5"><title>%s</title></path>' % (
                cx, y + 4, COLOURS.get(state, SLATE), escape("%s, %s" % (text, utc_text(at, True)))))
        if row.get("note"):
            parts.append('<text x="%d" y="%d" font-size="11" fill="#424242">%s</text>' % (
                width - note_width + 4, y + row_height - 6, escape(_short(row["note"], 32))))
    if chart.get("more"):
        parts.append('<text x="0" y="%d" font-size="11" fill="#616161">+ %d more row(s) in the tables below</text>' % (base + 32, chart["more"]))
    parts.append("</svg>")
    return "\n".join(parts)


def calendar(chart, width=960, lane=13, label_width=90):
    """Certificates on a months axis (from 2 months back to a year ahead, clamped), today marked."""
    now = float(chart.get("now") or 0) or min(i["at"] for i in chart["items"])
    start, end = now - 62 * 86400, now + 366 * 86400
    rows = chart.get("rows") or []
    plot = width - label_width - 20
    lanes = {}
    placed = []
    for item in chart["items"]:
        at = min(max(item["at"], start), end)
        px = label_width + plot * (at - start) / (end - start)
        row_lanes = lanes.setdefault(item["row"], [])
        slot = next((i for i, last in enumerate(row_lanes) if px - last >= 11), None)
        if slot is None:
            slot = len(row_lanes)
            row_lanes.append(px)
        row_lanes[slot] = px
        placed.append((item, px, slot))
    heights = {row: max(1, len(lanes.get(row, []))) * lane + 10 for row in rows}
    tops, y = {}, 30
    for row in rows:
        tops[row] = y
        y += heights[row]
    height = y + 40
    parts = _open("calendar", chart.get("title", ""), width, height)
    month = datetime.datetime.fromtimestamp(start, tz=datetime.timezone.utc).replace(day=1, hour=0, minute=0, second=0)
    while month.timestamp() < end:
        mx = label_width + plot * (month.timestamp() - start) / (end - start)
        if label_width <= mx <= width - 60:
            parts.append('<line x1="%.1f" x2="%.1f" y1="28" y2="%d" stroke="#e0e0e0"/>' % (mx, mx, y))
            parts.append('<text x="%.1f" y="%d" font-size="11" fill="#616161">%s</text>' % (mx + 2, y + 14, month.strftime("%b %Y")))
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    today = label_width + plot * (now - start) / (end - start)
    parts.append('<line x1="%.1f" x2="%.1f" y1="26" y2="%d" stroke="#212121" stroke-dasharray="4 3"/>' % (today, today, y))
    parts.append('<text x="%.1f" y="%d" font-size="11" text-anchor="middle">today</text>' % (today, y + 28))
    for row in rows:
        parts.append('<text x="%d" y="%d" font-size="12" text-anchor="end">%ss</text>' % (label_width - 8, tops[row] + 14, escape(row)))
        bottom = tops[row] + heights[row] - 2
        parts.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#bdbdbd"/>' % (label_width, width - 20, bottom, bottom))
    for item, px, slot in placed:
        cy = tops[item["row"]] + 8 + slot * lane
        parts.append('<circle cx="%.1f" cy="%d" r="5" fill="%s" stroke="#212121" stroke-width="0.5"><title>%s</title></circle>' % (
            px, cy, COLOURS.get(item["state"], COLOURS["ok"]), escape(item["text"])))
    parts.append("</svg>")
    return "\n".join(parts)


def lines(chart, width=560, height=180, left=68, bottom=22):
    """Lines over one time axis (``lines: [{label, points: [[t, v]], state, dash, note}]``), y from 0, with a legend
    (each line's label, then its ``note``: a value in words). A title with an em dash, or too long, takes two lines."""
    start, end = float(chart["start"]), float(chart["end"])
    drawn = [line for line in chart.get("lines") or () if line.get("points")]
    top = max([v for line in drawn for _t, v in line["points"]] + [1e-9]) * 1.1
    heads = _title_lines(chart.get("title", ""), width)
    extra = 16 * (len(heads) - 1)
    plot_w, plot_h, y0 = width - left - 10, height - 46 - bottom, 30 + extra
    height += extra
    parts = _open("lines", chart.get("title", ""), width, height + 16 * len(drawn), heads)

    def x(at):
        return left + plot_w * (min(max(float(at), start), end) - start) / max(end - start, 1e-9)

    def y(value):
        return y0 + plot_h * (1 - float(value) / top)

    for at, label in _ticks(start, end, False):
        parts.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#616161">%s</text>' % (x(at), y0 + plot_h + 14, escape(label)))
    for frac in (0, 0.5, 1):
        value = top / 1.1 * frac
        text = ("0" if not frac else "%.2f" % value if value < 10 else _number(value)) + (" " + chart["unit"] if chart.get("unit") and frac == 1 else "")
        parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e0e0e0"/>' % (left, left + plot_w, y(value), y(value)))
        parts.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end" fill="#616161">%s</text>' % (left - 4, y(value) + 3, escape(text)))
    for index, line in enumerate(drawn):
        colour = COLOURS.get(line.get("state"), SLATE)
        path = " ".join("%s%.1f %.1f" % ("M" if i == 0 else "L", x(t), y(v)) for i, (t, v) in enumerate(line["points"]))
        parts.append('<path d="%s" fill="none" stroke="%s" stroke-width="1.4"%s><title>%s</title></path>' % (
            path, colour, ' stroke-dasharray="5 3"' if line.get("dash") else "", escape(line["label"])))
        ly = height + 16 * index
        parts.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/><text class="legend" x="%d" y="%d" font-size="11">%s</text>' % (
            left, left + 18, ly - 4, ly - 4, colour, ' stroke-dasharray="5 3"' if line.get("dash") else "", left + 24, ly,
            escape(line["label"] + (": " + line["note"] if line.get("note") else ""))))
    parts.append("</svg>")
    return "\n".join(parts)


RENDERERS = {"bar": bars, "stacked": stacked, "timeline": timeline, "calendar": calendar, "lines": lines}


def render(chart):
    """Any chart of the model as one ``<svg>`` element."""
    return RENDERERS.get(chart.get("kind", "bar"), bars)(chart)


def figure(chart):
    """The chart inside a ``<figure>`` with its title as caption data (for filters and tests)."""
    return "<figure class=\"chart-box\" data-chart=%s>%s</figure>" % (quoteattr(chart.get("kind", "bar")), render(chart))
