# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report model as one self-contained HTML page.

Nothing is fetched (a Content-Security-Policy forbids it): inline CSS, inline SVG charts and a
little plain JavaScript for the filters (severity, module, cluster, namespace) and for opening
every collapsible section before printing. Without JavaScript the page still reads in full.
"""

from __future__ import annotations

from html import escape

from .svg import figure

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
MAX_FIX_FIRST_SHOWN = 12

STYLE = """
:root { --critical: #c62828; --warning: #ef6c00; --info: #1565c0; --ok: #2e7d32; --error: #6a1b9a; --muted: #616161; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; padding: 1.2rem 2rem 3rem; color: #212121;
       max-width: 1280px; line-height: 1.35; }
[hidden] { display: none !important; }
h1 { margin: 0 0 .2rem; font-size: 1.5rem; } h2 { margin: 1.6rem 0 .6rem; } h3 { display: inline; font-size: 1.1rem; }
.meta { color: var(--muted); font-size: .9rem; }
.top { display: flex; flex-wrap: wrap; gap: 1rem 2rem; align-items: center; border-left: 8px solid var(--ok); padding: .6rem 1rem;
       background: #f1f8e9; border-radius: .4rem; }
.top.failed { border-color: var(--critical); background: #ffebee; }
.verdict { font-size: 1.15rem; } .verdict b { font-size: 1.3rem; }
.cards { display: flex; gap: .6rem; margin-left: auto; }
.card { border: 1px solid #e0e0e0; background: #fff; border-radius: .5rem; padding: .3rem .8rem; text-align: center; min-width: 5.5rem; }
.card .n { font-size: 1.5rem; font-weight: 700; } .card .l { font-size: .8rem; color: var(--muted); }
.grade { font-size: 1.5rem; font-weight: 800; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: .6rem; color: #fff; font-size: .8rem; font-weight: 600;
         background: #757575; white-space: nowrap; }
.b-critical { background: var(--critical); } .b-warning { background: var(--warning); } .b-info { background: var(--info); }
.b-ok { background: var(--ok); } .b-error { background: var(--error); } .b-skipped, .b-findings { background: #757575; }
.fix-first ol { margin: 0; padding-left: 1.8rem; } .fix-first li { margin: .35rem 0; padding: .35rem .6rem; border-radius: .3rem; background: #fafafa; }
.fix-first li.s-critical { border-left: 4px solid var(--critical); } .fix-first li.s-warning { border-left: 4px solid var(--warning); }
.fix-first li.s-info { border-left: 4px solid var(--info); }
.fix-first .what { font-weight: 600; } .fix-first .where, .fix-first .fix { font-size: .88rem; color: #424242; }
.fix-first a { color: inherit; } .blast { font-size: .8rem; color: var(--muted); white-space: nowrap; }
.filters { position: sticky; top: 0; z-index: 5; background: #fff; border-bottom: 1px solid #e0e0e0; padding: .5rem 0; margin-top: 1rem;
           display: flex; flex-wrap: wrap; gap: .5rem 1.2rem; align-items: center; font-size: .9rem; }
.filters select, .filters button { font: inherit; padding: .1rem .3rem; }
table { border-collapse: collapse; margin: .4rem 0 1rem; width: 100%; }
th, td { border-bottom: 1px solid #eee; padding: .25rem .45rem; text-align: left; vertical-align: top; font-size: .88rem; }
th { background: #f5f5f5; } td.ev { color: #424242; font-size: .82rem; } code { font-size: .85rem; }
table.matrix td, table.matrix th { text-align: center; } table.matrix td:first-child { text-align: left; }
table.kv th { width: 14rem; font-weight: 600; background: none; }
section.cluster { margin-top: 1.5rem; border-top: 3px solid #e0e0e0; }
details.module { margin: .8rem 0; border: 1px solid #e0e0e0; border-radius: .4rem; padding: .4rem .8rem; }
details.module > summary { cursor: pointer; padding: .2rem 0; }
.group { margin: .8rem 0 1.2rem; } .group-head { display: flex; gap: .6rem; align-items: baseline; flex-wrap: wrap; }
.group table { table-layout: fixed; } .group th:nth-child(1) { width: 5.5rem; } .group th:nth-child(2) { width: 26%; }
.group th:nth-child(3) { width: 34%; } td { overflow-wrap: anywhere; }
.group-fix { font-size: .88rem; margin: .2rem 0; } .group-fix::before { content: "Fix: "; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem 2rem; } figure.chart-box { margin: .4rem 0; }
.experiment { background: #fafafa; border-radius: .4rem; padding: .2rem 1rem .8rem; }
:target { outline: 3px solid #ffb300; outline-offset: 2px; }
.error-msg { color: var(--error); font-weight: 600; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; } .filters, .no-print { display: none !important; }
  details.module { break-inside: auto; border: none; padding: 0; } .group, figure.chart-box, tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; } .top { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .badge, svg { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

SCRIPT = """
(function () {
  var bar = document.getElementById('filters');
  if (!bar) { return; }
  var showMore = false, more = document.getElementById('more-fix');
  if (more) { more.addEventListener('click', function () { showMore = true; more.hidden = true; apply(); }); }
  function value(name) { var el = bar.querySelector('[name=' + name + ']'); return el ? el.value : ''; }
  function apply() {
    var sev = [].slice.call(bar.querySelectorAll('input[name=severity]:checked')).map(function (el) { return el.value; });
    var mod = value('module'), cl = value('cluster'), ns = value('namespace'), shown = 0, total = 0;
    [].forEach.call(document.querySelectorAll('[data-sev]'), function (el) {
      var nss = '|' + (el.getAttribute('data-ns') || '') + '|';
      var ok = sev.indexOf(el.getAttribute('data-sev')) >= 0 && (!mod || el.getAttribute('data-module') === mod) &&
               (!cl || el.getAttribute('data-cluster') === cl) && (!ns || nss.indexOf('|' + ns + '|') >= 0);
      el.hidden = !ok || (el.classList.contains('more') && !showMore);
      if (el.classList.contains('finding')) { total += 1; shown += ok ? 1 : 0; }
    });
    [].forEach.call(document.querySelectorAll('.group'), function (g) { g.hidden = !g.querySelector('tr.finding:not([hidden])'); });
    [].forEach.call(document.querySelectorAll('details.module'), function (d) {
      d.hidden = (mod && d.getAttribute('data-module') !== mod) || (cl && d.getAttribute('data-cluster') !== cl);
    });
    [].forEach.call(document.querySelectorAll('section.cluster'), function (s) { s.hidden = !!cl && s.getAttribute('data-cluster') !== cl; });
    document.getElementById('shown').textContent = shown + ' of ' + total + ' findings shown';
  }
  bar.addEventListener('change', apply);
  document.getElementById('reset').addEventListener('click', function () {
    [].forEach.call(bar.querySelectorAll('input[name=severity]'), function (el) { el.checked = true; });
    [].forEach.call(bar.querySelectorAll('select'), function (el) { el.value = ''; });
    apply();
  });
  function openAll(open) { [].forEach.call(document.querySelectorAll('details'), function (d) { d.open = open; }); }
  document.getElementById('expand').addEventListener('click', function () { openAll(true); });
  document.getElementById('collapse').addEventListener('click', function () { openAll(false); });
  window.addEventListener('beforeprint', function () { openAll(true); });
  window.addEventListener('hashchange', function () {
    var el = document.getElementById(location.hash.slice(1));
    while (el) { if (el.tagName === 'DETAILS') { el.open = true; } el = el.parentElement; }
  });
  apply();
})();
"""


def _e(value):
    return escape(str(value), quote=True)


def _badge(state):
    return '<span class="badge b-%s">%s</span>' % (_e(state), _e(state))


def _data(severity, module, cluster, namespaces):
    return 'data-sev="%s" data-module="%s" data-cluster="%s" data-ns="%s"' % (
        _e(severity), _e(module), _e(cluster), _e("|".join(namespaces)))


def _header(model):
    verdict = model["verdict"]
    totals = model["totals"]
    cards = ['<div class="card"><div class="grade">%s</div><div class="l">grade</div></div>' % _e(model["grade"])]
    for severity in ("critical", "warning", "info"):
        cards.append('<div class="card" data-total="%s"><div class="n" style="color: var(--%s)">%d</div><div class="l">%s</div></div>' % (
            severity, severity, totals[severity], severity))
    experiments = "".join('<div class="verdict">Experiment on %s: %s</div>' % (_e(c["name"]), _e(c["experiment"]["verdict"]["text"]))
                          for c in model["clusters"] if c.get("experiment"))
    return ('<header class="top%s" id="verdict"><div><h1>%s</h1><div class="meta">Generated %s &middot; fail on %s</div>'
            '<div class="verdict"><b>%s</b> &mdash; %s</div>%s</div><div class="cards">%s</div></header>') % (
        " failed" if verdict["failed"] or any(c.get("experiment") and c["experiment"]["verdict"]["held"] is False for c in model["clusters"])
        else "", _e(model["title"]), _e(model["generated_text"]), _e(verdict["fail_on"]),
        "FAILED" if verdict["failed"] else "PASSED", _e(verdict["reason"]), experiments, "".join(cards))


def _headline(item, size=150):
    text = item["message"] if len(item["message"]) <= size else item["message"][:size - 1] + "\u2026"
    return text + (" (and %d more like it)" % (item["count"] - 1) if item["count"] > 1 else "")


def _fix_first(model):
    items = model["fix_first"]
    if not items:
        return '<section class="fix-first" id="fix-first"><h2>Fix first</h2><p>Nothing to fix: no findings.</p></section>'
    several = len(model["clusters"]) > 1
    lines = []
    for item in items:
        hidden = ' class="s-%s more" hidden' % item["severity"] if item["rank"] > MAX_FIX_FIRST_SHOWN else ' class="s-%s"' % item["severity"]
        where = "%s%s &middot; %d object(s): %s%s" % (
            ("<b>%s</b> &middot; " % _e(item["cluster"])) if several else "", _e(item["section"]), item["count"],
            _e(", ".join(item["subjects"])), " &hellip;" if item["count"] > len(item["subjects"]) else "")
        lines.append('<li%s %s>%s <a class="what" href="#%s"><code>%s</code> %s</a> <span class="blast">touches %d</span>'
                     '<div class="where">%s</div>%s</li>' % (
                         hidden, _data(item["severity"], item["module"], item["cluster"], item["namespaces"]), _badge(item["severity"]),
                         _e(item["anchor"]), _e(item["id"]), _e(_headline(item)), item["blast"], where,
                         ('<div class="fix">Fix: %s</div>' % _e(item["fix"])) if item["fix"] else ""))
    more = len([i for i in items if i["rank"] > MAX_FIX_FIRST_SHOWN]) + model.get("fix_first_more", 0)
    tail = ""
    if more:
        tail = ('<p class="no-print"><button type="button" id="more-fix">Show %d more</button></p>' % more
                if len(items) > MAX_FIX_FIRST_SHOWN else "")
        tail += "<p class=\"meta\">%d more issue(s) below, by cluster and module.</p>" % model.get("fix_first_more", 0) if model.get("fix_first_more") else ""
    return ('<section class="fix-first" id="fix-first"><h2>Fix first</h2><p class="meta">Worst first, then by how much each touches '
            '(objects, pods, endpoints, users); each links to its evidence.</p><ol>%s</ol>%s</section>') % ("\n".join(lines), tail)


def _filters(model):
    boxes = "".join('<label><input type="checkbox" name="severity" value="%s" checked> %s</label> ' % (s, s) for s in model["filters"]["severity"])
    selects = []
    for name in ("module", "cluster", "namespace"):
        options = "".join('<option value="%s">%s</option>' % (_e(v), _e(v)) for v in model["filters"][name])
        selects.append('<label>%s <select name="%s"><option value="">all</option>%s</select></label>' % (name, name, options))
    return ('<nav class="filters" id="filters"><span>%s</span>%s<button type="button" id="reset">reset</button>'
            '<button type="button" id="expand">expand all</button><button type="button" id="collapse">collapse all</button>'
            '<span class="meta" id="shown"></span></nav>') % (boxes, "".join(selects))


def _matrix(model):
    matrix = model["matrix"]
    head = "".join("<th>%s</th>" % _e(m) for m in matrix["modules"])
    rows = []
    for row in matrix["rows"]:
        cells = []
        for module in matrix["modules"]:
            if module not in row["cells"]:
                cells.append("<td>-</td>")
                continue
            counts = row["counts"][module]
            cells.append('<td><a href="#%s">%s</a><div class="meta">%d / %d / %d</div></td>' % (
                _e(row["anchors"][module]), _badge(row["cells"][module]), counts["critical"], counts["warning"], counts["info"]))
        rows.append('<tr><td><a href="#%s">%s</a></td><td class="grade">%s</td>%s</tr>' % (
            _e(row["anchor"]), _e(row["cluster"]), _e(row["grade"]), "".join(cells)))
    return ('<section id="matrix"><h2>Clusters</h2><p class="meta">Worst severity per cluster and module; '
            'counts are critical / warning / info.</p><table class="matrix"><tr><th>cluster</th><th>grade</th>%s</tr>%s</table></section>') % (
        head, "".join(rows))


def _kv(rows):
    return '<table class="kv">%s</table>' % "".join("<tr><th>%s</th><td>%s</td></tr>" % (_e(k), _e(v)) for k, v in rows)


def _charts(charts):
    return '<div class="charts">%s</div>' % "".join(figure(chart) for chart in charts) if charts else ""


def _group(section, group, cluster):
    rows = []
    for index in group["findings"]:
        f = section["findings"][index]
        evidence = " &middot; ".join("%s: %s" % (_e(k), _e(v)) for k, v in f["evidence_rows"])
        rows.append('<tr class="finding" id="%s" %s><td>%s</td><td>%s</td><td>%s</td><td class="ev">%s</td></tr>' % (
            _e(f["anchor"]), _data(f["severity"], f["module"], cluster, [f["namespace"]]), _badge(f["severity"]),
            _e(f["subject"]), _e(f["message"]), evidence))
    return ('<div class="group" id="%s"><div class="group-head">%s <code>%s</code> <span class="meta">%d finding(s), touches %d</span></div>'
            '%s<table><tr><th></th><th>object</th><th>finding</th><th>evidence</th></tr>%s</table></div>') % (
        _e(group["anchor"]), _badge(group["severity"]), _e(group["id"]), len(group["findings"]), group["blast"],
        ('<div class="group-fix">%s</div>' % _e(group["fix"])) if group["fix"] else "", "".join(rows))


def _section(cluster, section):
    counts = section["counts"]
    head = '<summary><h3>%s</h3> %s <span class="meta">%d critical, %d warning, %d info</span></summary>' % (
        _e(section["title"]), _badge(section["worst"] if section["status"] != "skipped" else "skipped"),
        counts["critical"], counts["warning"], counts["info"])
    body = []
    if section["error"]:
        body.append('<p class="error-msg">%s</p>' % _e(section["error"]))
    if section["summary"]:
        body.append(_kv(section["summary"]))
    body.append(_charts(section["charts"]))
    body.extend(_group(section, group, cluster["name"]) for group in section["groups"])
    if section["truncated"] or section["not_returned"]:
        body.append('<p class="meta">%d more finding(s) not listed here (%s).</p>' % (
            section["truncated"] + section["not_returned"],
            "see the JSON report" if section["truncated"] else "the module returned only its first findings"))
    if not section["groups"] and section["status"] == "ok":
        body.append("<p>No findings.</p>")
    return '<details class="module" open id="%s" data-module="%s" data-cluster="%s">%s%s</details>' % (
        _e(section["anchor"]), _e(section["module"]), _e(cluster["name"]), head, "".join(body))


def _experiment(experiment):
    verdict = experiment["verdict"]
    parts = ['<div class="experiment"><h3>Chaos experiment%s</h3>' % (" (dry run)" if experiment["dry_run"] else "")]
    parts.append("<h4>Hypothesis</h4><p>%s</p>" % _e(experiment["hypothesis"]))
    parts.append("<h4>Actions</h4><ul>%s</ul>" % "".join("<li>%s</li>" % _e(a) for a in experiment["actions"]))
    if experiment["observations"]:
        parts.append("<h4>Observations</h4><ul>%s</ul>" % "".join("<li>%s</li>" % _e(o) for o in experiment["observations"]))
    parts.append(_charts(experiment["charts"]))
    state = "ok" if verdict["held"] else ("info" if not verdict["judged"] else "critical")
    parts.append("<h4>Verdict</h4><p>%s %s</p></div>" % (_badge(state if verdict["judged"] else "not judged"), _e(verdict["text"])))
    return "".join(parts)


def _cluster(cluster):
    grade = cluster["grade"]
    why = []
    if grade.get("score") is not None:
        why.append("health score %s" % grade["score"])
    if grade.get("capped_by"):
        why.append("capped by %s" % grade["capped_by"])
    if grade.get("module_capped_by"):
        why.append("k8s_health grade capped by %s" % grade["module_capped_by"])
    parts = ['<section class="cluster" id="%s" data-cluster="%s"><h2>%s <span class="grade">grade %s</span> %s</h2>' % (
        _e(cluster["anchor"]), _e(cluster["name"]), _e(cluster["name"]), _e(grade["grade"]), _badge(cluster["worst"]))]
    if why:
        parts.append('<p class="meta">%s</p>' % _e("; ".join(why)))
    parts.append(_charts(cluster["charts"]))
    if cluster.get("experiment"):
        parts.append(_experiment(cluster["experiment"]))
    parts.extend(_section(cluster, section) for section in cluster["sections"])
    parts.append("</section>")
    return "".join(parts)


def render(model):
    """The whole page."""
    body = [_header(model), _fix_first(model), _filters(model)]
    if len(model["clusters"]) > 1:
        body.append(_matrix(model))
    if any(model["totals"].values()):
        body.append('<section id="overview"><h2>Overview</h2>%s</section>' % _charts(model.get("charts") or []))
    body.extend(_cluster(cluster) for cluster in model["clusters"])
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta http-equiv="Content-Security-Policy" content="%s">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>%s</title>\n<style>%s</style>\n</head>\n'
            '<body>\n%s\n<script>%s</script>\n</body>\n</html>\n') % (CSP, _e(model["title"]), STYLE, "\n".join(body), SCRIPT)
