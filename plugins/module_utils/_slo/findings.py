# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SLO reports turned into contract findings."""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._findings import finding, subject
from ansible_collections.sre.toolkit.plugins.module_utils._slo.analyze import cannot_fire
from ansible_collections.sre.toolkit.plugins.module_utils._slo.catalogue import RULES
from ansible_collections.sre.toolkit.plugins.module_utils._time import utc_text

CHECK = "slo_report"


def about(name, service):
    return subject("SLO", name, "", "slo/%s (service %s)" % (name, service))


def _f(rule, severity, report, message, fix=None, evidence=None):
    return finding(rule, severity, about(report["name"], report["service"]), message, fix or RULES[rule]["fix"], evidence, CHECK)


def failed(name, service, message, fix, kind):
    return finding("slo.sli_failed", "critical", about(name, service), message, fix, {"error_kind": kind}, CHECK)


def report_findings(report, objective, budget_warning):
    out = []
    head = report["budget"]
    consumed = head["budget_consumed"]
    evidence = {"achieved": head["achieved"], "objective": report["objective"], "budget_consumed": consumed}
    if consumed is not None and consumed >= 1:
        out.append(_f("slo.budget_exhausted", "critical", report, "%s achieved %.4f%% against %s%% over %s: %.0f%% of the error budget spent" % (
            report["name"], 100 * head["achieved"], report["objective"], report["period"], 100 * consumed), evidence=evidence))
    elif consumed is not None and 1 - consumed < budget_warning:
        out.append(_f("slo.budget_low", "warning", report, "%s has %.0f%% of its error budget left (warning below %.0f%%)" % (
            report["name"], 100 * (1 - consumed), 100 * budget_warning), evidence=evidence))
    for alert in report["backtest"]["alerts"]:
        if alert["holds_at_end"]:
            severity = "critical" if alert["severity"] == "page" else "warning"
            out.append(_f("slo.burning", severity, report, "%s holds at the window end (%s)" % (alert["name"], utc_text(report["window"]["end"])),
                          evidence={"alert": alert["name"]}))
        extra = alert["firings"] - alert["matching_incidents"]
        if alert["firings"] > max(1, len(report["backtest"]["incidents"])) * 2 or extra > 0:
            out.append(_f("slo.noisy_alert", "info", report, "%s would have fired %d times over %s; %d of them outside a real budget burn" % (
                alert["name"], alert["firings"], report["period"], extra),
                evidence={"alert": alert["name"], "firings": alert["firings"], "precision": alert["precision"]}))
    for incident in report["backtest"]["missed"]:
        out.append(_f("slo.burn_missed", "warning", report, "the budget burn %s .. %s (%.1f%% of the budget, peak burn rate %.1f) fired no generated alert" % (
            utc_text(incident["start"]), utc_text(incident["end"]), 100 * incident["budget_consumed"], incident["peak_burn_rate"]),
            evidence={"start": incident["start"], "end": incident["end"], "budget_consumed": incident["budget_consumed"]}))
    for name in cannot_fire(objective):
        out.append(_f("slo.pair_cannot_fire", "warning", report, "pair %s can never fire at objective %s%%" % (name, report["objective"]),
                      evidence={"pair": name}))
    weeks = [w for w in report["weekly"] if w["end"] - w["start"] >= 7 * 86400 and w["sli"] is not None]
    below = [w for w in weeks if w["sli"] < float(objective)]
    suggested = report["targets"]["suggested_objective"]
    if below:
        out.append(_f("slo.objective_unmet_history", "info", report, "%s was below %s%% in %d of %d full weeks; history supports %s" % (
            report["name"], report["objective"], len(below), len(weeks), "%s%%" % suggested if suggested else "none of the candidates"),
            fix="Adopt %s%% or improve the service first." % suggested if suggested else None,
            evidence={"weeks_below": len(below), "suggested_objective": suggested}))
    return out
