# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report model as Markdown that reads in a terminal and in a pull-request comment.

Plain lists and a few small tables, no raw HTML; charts become text (bars of block characters in
code blocks, a strip of the window per alert rule, certificates by date, the experiment's events).
"""

from __future__ import annotations

import datetime

from .._time import human_duration

BLOCKS = " \u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"
WIDTH = 30
STRIP = 56


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _bar_lines(chart):
    series = chart.get("series") or []
    labels = chart.get("labels") or [None] * len(series)
    top = max([v for _label, v in series] + [1.0])
    width = max([len(str(label)[:28]) for label, _value in series] + [1])
    out = []
    for (label, value), text in zip(series, labels):
        fill = int(round(WIDTH * value / top)) if value else 0
        shown = text or (("%d" % value) if float(value).is_integer() else "%.1f" % value)
        out.append("%s %s %s%s" % (str(label)[:28].ljust(width), ("\u2588" * fill).ljust(WIDTH, "\u00b7"), shown,
                                   (" " + chart["unit"]) if chart.get("unit") else ""))
    return out


def _stacked_lines(chart):
    series = chart.get("series") or []
    width = max([len(str(label)[:28]) for label, _values in series] + [1])
    top = max([sum(v) for _label, v in series] + [1])
    out = []
    for label, values in series:
        text = "".join(mark * int(round(WIDTH * v / top)) for mark, v in zip(("\u2588", "\u2592", "\u2591"), values))
        out.append("%s %s %d (%s)" % (str(label)[:28].ljust(width), text.ljust(WIDTH, "\u00b7"), sum(values),
                                      ", ".join("%d %s" % (v, k) for k, v in zip(chart["keys"], values) if v)))
    return out + ["(\u2588 critical  \u2592 warning  \u2591 info)"]


def _strip(spans, start, end):
    cells = [0.0] * STRIP
    step = (end - start) / STRIP
    for begin, finish in (s[:2] for s in spans):
        for i in range(int((begin - start) // step), min(STRIP, int((finish - start) // step) + 1)):
            low, high = start + i * step, start + (i + 1) * step
            cells[i] += max(0.0, min(finish, high) - max(begin, low)) / step
    return "".join(BLOCKS[min(8, int(round(8 * min(c, 1.0)))) if c else 0] for c in cells)


def _timeline_lines(chart):
    start, end = chart["start"], chart["end"]
    if chart.get("relative"):
        events = []
        for order, row in enumerate(chart["rows"]):
            events.extend((at, order, "%s: %s" % (row["label"], text)) for at, _state, text in row.get("marks") or ())
            events.extend((s[1] if s[2] == "ok" else s[0], order, "%s: %s" % (row["label"], s[3] if len(s) > 3 else "")) for s in row.get("spans") or ())
        base = min(event[0] for event in events) if events else start
        return ["+%-8s %s" % (human_duration(at - base), text) for at, _order, text in sorted(events)]
    width = max(len(row["label"][:28]) for row in chart["rows"])
    first = datetime.datetime.fromtimestamp(start, tz=datetime.timezone.utc).strftime("%b %d")
    last = datetime.datetime.fromtimestamp(end, tz=datetime.timezone.utc).strftime("%b %d")
    out = ["%s %s%s" % (" " * width, first, last.rjust(STRIP - len(first)))]
    out.extend("%s %s %s" % (row["label"][:28].ljust(width), _strip(row["spans"], start, end), row.get("note", "")) for row in chart["rows"])
    if chart.get("more"):
        out.append("(+%d more rules)" % chart["more"])
    return out


def _calendar_lines(chart):
    months = {}
    for item in chart["items"]:
        key = datetime.datetime.fromtimestamp(item["at"], tz=datetime.timezone.utc).strftime("%Y-%m")
        months.setdefault(key, []).append(item)
    out = ["%s  %3d  %s" % (key, len(items), ", ".join("%d %s" % (n, s) for s, n in sorted(_states(items).items())))
           for key, items in sorted(months.items())]
    soon = [i for i in chart["items"] if i["state"] != "ok"][:12]
    return out + ([""] + ["%-9s %s" % (i["state"], i["text"]) for i in soon] if soon else [])


def _states(items):
    out = {}
    for item in items:
        out[item["state"]] = out.get(item["state"], 0) + 1
    return out


def chart_text(chart):
    lines = {"bar": _bar_lines, "stacked": _stacked_lines, "timeline": _timeline_lines, "calendar": _calendar_lines}.get(
        chart.get("kind", "bar"), _bar_lines)(chart)
    return "**%s**\n\n```text\n%s\n```\n" % (chart.get("title", ""), "\n".join(lines))


def _fix_first(model):
    several = len(model["clusters"]) > 1
    out = ["## Fix first", ""]
    if not model["fix_first"]:
        return out + ["Nothing to fix: no findings.", ""]
    for item in model["fix_first"][:15]:
        out.append("%d. **%s** `%s`: %s" % (item["rank"], item["severity"].upper(), item["id"], _cell(item["message"])))
        out.append("   %s%s, %d object(s): %s%s; touches %d" % (
            (item["cluster"] + " > ") if several else "", item["section"], item["count"], ", ".join(item["subjects"]),
            " ..." if item["count"] > len(item["subjects"]) else "", item["blast"]))
        if item["fix"]:
            out.append("   Fix: %s" % _cell(item["fix"]))
    rest = len(model["fix_first"]) - 15 + model.get("fix_first_more", 0)
    if rest > 0:
        out.append("")
        out.append("%d more below, by cluster and module." % rest)
    return out + [""]


def _matrix(model):
    matrix = model["matrix"]
    out = ["## Clusters", "", "| cluster | grade |%s" % "".join(" %s |" % m for m in matrix["modules"]),
           "|---|---|%s" % "---|" * len(matrix["modules"])]
    for row in matrix["rows"]:
        cells = []
        for module in matrix["modules"]:
            if module in row["cells"]:
                c = row["counts"][module]
                cells.append(" %s (%d/%d/%d) |" % (row["cells"][module], c["critical"], c["warning"], c["info"]))
            else:
                cells.append(" - |")
        out.append("| %s | %s |%s" % (row["cluster"], row["grade"], "".join(cells)))
    return out + ["", "Cells: worst severity (critical/warning/info counts).", ""]


def _experiment(experiment):
    out = ["### Chaos experiment%s" % (" (DRY RUN: nothing was disrupted)" if experiment["dry_run"] else ""), "",
           "#### Hypothesis", "", experiment["hypothesis"], "", "#### Actions", ""]
    out.extend("- %s" % a for a in experiment["actions"])
    out += ["", "#### Observations", ""]
    out.extend("- %s" % o for o in experiment["observations"] or ["Nothing measured (dry run)."])
    out.append("")
    out.extend(chart_text(c) for c in experiment["charts"])
    return out + ["#### Verdict", "", experiment["verdict"]["text"], ""]


def _section(section):
    c = section["counts"]
    out = ["### %s: %s" % (section["title"], section["worst"] if section["status"] != "skipped" else "skipped"), "",
           "%d critical, %d warning, %d info" % (c["critical"], c["warning"], c["info"]), ""]
    if section["error"]:
        out += ["> %s" % _cell(section["error"]), ""]
    out.extend("- %s: %s" % (k, _cell(v)) for k, v in section["summary"])
    if section["summary"]:
        out.append("")
    out.extend(chart_text(chart) for chart in section["charts"])
    for group in section["groups"]:
        out.append("#### %s `%s`: %d finding(s), touches %d" % (group["severity"].upper(), group["id"], len(group["findings"]), group["blast"]))
        out.append("")
        if group["fix"]:
            out += ["Fix: %s" % _cell(group["fix"]), ""]
        for index in group["findings"]:
            f = section["findings"][index]
            out.append("- **%s**: %s" % (_cell(f["subject"]), _cell(f["message"])))
            if f["evidence_rows"]:
                out.append("  evidence: %s" % _cell("; ".join("%s %s" % (k, v) for k, v in f["evidence_rows"])))
        out.append("")
    if section["truncated"] or section["not_returned"]:
        out += ["%d more finding(s) not listed here." % (section["truncated"] + section["not_returned"]), ""]
    if not section["groups"] and section["status"] == "ok":
        out += ["No findings.", ""]
    return out


def render(model):
    verdict = model["verdict"]
    t = model["totals"]
    out = ["# %s" % model["title"], "",
           "**%s**: %s" % ("FAILED" if verdict["failed"] else "PASSED", verdict["reason"]), "",
           "Grade **%s** | %d critical | %d warning | %d info | fail on %s | generated %s" % (
               model["grade"], t["critical"], t["warning"], t["info"], verdict["fail_on"], model["generated_text"]), ""]
    out.extend("Experiment on %s: **%s**\n" % (c["name"], c["experiment"]["verdict"]["text"]) for c in model["clusters"] if c.get("experiment"))
    out += _fix_first(model)
    if len(model["clusters"]) > 1:
        out += _matrix(model)
    for cluster in model["clusters"]:
        grade = cluster["grade"]
        why = ["health score %s" % grade["score"]] if grade.get("score") is not None else []
        why += ["capped by %s" % grade["capped_by"]] if grade.get("capped_by") else []
        why = "; ".join(why)
        out += ["## %s: grade %s%s" % (cluster["name"], grade["grade"], (" (%s)" % why) if why else ""), ""]
        out.extend(chart_text(chart) for chart in cluster["charts"])
        if cluster.get("experiment"):
            out += _experiment(cluster["experiment"])
        for section in cluster["sections"]:
            out += _section(section)
    return "\n".join(out).rstrip() + "\n"
