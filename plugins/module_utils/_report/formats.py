# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Machine formats of the report model: JUnit XML and the Prometheus textfile."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .model import SEVERITIES, rank
from .svg import bars


def _attrs(**attrs):
    return " ".join("%s=%s" % (key, quoteattr(str(value))) for key, value in attrs.items())


def _case(classname, name, failure=None, error=None, skipped=None):
    head = "    <testcase %s" % _attrs(classname=classname, name=name, time="0")
    if failure is None and error is None and skipped is None:
        return head + "/>"
    if error is not None:
        body = "      <error %s>%s</error>" % (_attrs(message=error[0], type="error"), escape(error[1]))
    elif failure is not None:
        body = "      <failure %s>%s</failure>" % (_attrs(message=failure[0], type=failure[2]), escape(failure[1]))
    else:
        body = "      <skipped %s/>" % _attrs(message=skipped)
    return "%s>\n%s\n    </testcase>" % (head, body)


def _finding_text(items):
    lines = []
    for f in items:
        fix = (" (fix: %s)" % f["fix"]) if f["fix"] else ""
        lines.append("[%s] %s %s: %s%s" % (f["severity"], f["id"], f["subject"], f["message"], fix))
    return "\n".join(lines)


def _belongs(finding, check_id):
    if finding.get("check"):
        return finding["check"] == check_id
    return finding["id"] == check_id or finding["id"].startswith(check_id + ".")


def _section_cases(cluster, section, threshold):
    classname = "%s.%s" % (cluster, section["module"])
    if section["status"] == "error":
        return [_case(classname, "module ran", error=(section["error"], section["error"]))]
    if section["status"] == "skipped":
        return [_case(classname, "module ran", skipped=section["error"])]
    failing = [f for f in section["findings"] if rank(f["severity"]) >= threshold]
    cases = []
    if section["checks"]:
        for check in sorted(section["checks"], key=lambda c: str(c.get("id") or c.get("name"))):
            name = str(check.get("id") or check.get("name"))
            mine = [f for f in failing if _belongs(f, name)]
            if check.get("status") in ("skipped", "unavailable", "forbidden") and not mine:
                cases.append(_case(classname, name, skipped="%s: %s" % (check.get("status"), check.get("reason") or "")))
            elif mine:
                top = max(mine, key=lambda f: rank(f["severity"]))
                cases.append(_case(classname, name, failure=("%d finding(s)" % len(mine), _finding_text(mine), top["severity"])))
            else:
                cases.append(_case(classname, name))
        checked = {str(c.get("id") or c.get("name")) for c in section["checks"]}
        failing = [f for f in failing if not any(_belongs(f, c) for c in checked)]
    for finding in failing:
        cases.append(_case(classname, "%s %s" % (finding["id"], finding["subject"]),
                           failure=(finding["message"], _finding_text([finding]), finding["severity"])))
    if not cases:
        cases.append(_case(classname, "no findings at or above the threshold"))
    return cases


def junit(model, timestamp="1970-01-01T00:00:00", hostname="localhost"):
    """JUnit XML (the Ant/Jenkins schema): a testsuite per cluster and module."""
    fail_on = model["verdict"]["fail_on"]
    threshold = rank(fail_on) if fail_on != "never" else 99
    suites = []
    totals = {"tests": 0, "failures": 0, "errors": 0}
    index = 0
    for cluster in model["clusters"]:
        for section in cluster["sections"]:
            cases = _section_cases(cluster["name"], section, threshold)
            counts = {"tests": len(cases), "failures": sum("<failure" in c for c in cases),
                      "errors": sum("<error" in c for c in cases), "skipped": sum("<skipped" in c for c in cases)}
            for key in totals:
                totals[key] += counts[key]
            suites.append("  <testsuite %s>\n    <properties/>\n%s\n    <system-out/>\n    <system-err/>\n  </testsuite>" % (
                _attrs(name="%s.%s" % (cluster["name"], section["module"]), package="sre.toolkit", id=index,
                       timestamp=timestamp[:19], hostname=hostname, tests=counts["tests"], failures=counts["failures"],
                       errors=counts["errors"], skipped=counts["skipped"], time="0"),
                "\n".join(cases)))
            index += 1
    return '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites %s>\n%s\n</testsuites>\n' % (
        _attrs(name=model["title"], tests=totals["tests"], failures=totals["failures"], errors=totals["errors"]),
        "\n".join(suites))


def _label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels):
    return "{%s}" % ",".join('%s="%s"' % (key, _label(value)) for key, value in labels.items())


def textfile(model, timestamp=0.0, max_findings=500):
    """Prometheus text exposition for node_exporter's textfile collector."""
    lines = [
        "# HELP sre_toolkit_findings Findings of the last sre.toolkit run by cluster, module and severity.",
        "# TYPE sre_toolkit_findings gauge",
    ]
    for cluster in model["clusters"]:
        for section in cluster["sections"]:
            for severity in SEVERITIES:
                lines.append("sre_toolkit_findings%s %d" % (
                    _labels(cluster=cluster["name"], module=section["module"], severity=severity), section["counts"][severity]))
    lines += ["# HELP sre_toolkit_module_success Whether the module ran without error (1) or not (0).",
              "# TYPE sre_toolkit_module_success gauge"]
    for cluster in model["clusters"]:
        for section in cluster["sections"]:
            lines.append("sre_toolkit_module_success%s %d" % (
                _labels(cluster=cluster["name"], module=section["module"]), 0 if section["status"] == "error" else 1))
    lines += ["# HELP sre_toolkit_finding One series per finding (value 1), capped per run.",
              "# TYPE sre_toolkit_finding gauge"]
    emitted = 0
    for cluster in model["clusters"]:
        for section in cluster["sections"]:
            for finding in section["findings"]:
                if emitted >= max_findings:
                    break
                lines.append("sre_toolkit_finding%s 1" % _labels(
                    cluster=cluster["name"], module=section["module"], id=finding["id"], severity=finding["severity"],
                    subject=finding["subject"]))
                emitted += 1
    lines += ["# HELP sre_toolkit_verdict_failed 1 when the run failed its fail_on policy.",
              "# TYPE sre_toolkit_verdict_failed gauge",
              "sre_toolkit_verdict_failed%s %d" % (_labels(fail_on=model["verdict"]["fail_on"]), int(model["verdict"]["failed"])),
              "# HELP sre_toolkit_last_run_timestamp_seconds When the report was made.",
              "# TYPE sre_toolkit_last_run_timestamp_seconds gauge",
              "sre_toolkit_last_run_timestamp_seconds %.0f" % float(timestamp)]
    return "\n".join(lines) + "\n"


# The bar chart renderer lives with the other charts; kept here for older imports.
svg_bars = bars
