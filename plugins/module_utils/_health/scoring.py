# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Score, grade and the CI gate (the one gate of ``_findings`` plus min_score and unread src documents)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .._findings import gate as one_gate, normalize_fail_on

GRADES = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (50, "E"))
LETTERS = "ABCDEF"
# The best grade a result may have while it has findings of a severity: the grade can never
# read well beside a verdict that fails (critical findings cap it at D, warnings at B).
GRADE_CAPS = (("critical", "D"), ("warning", "B"))
# Events repeat what pod/node findings say; they inform, they do not score.
UNSCORED_GROUPS = ("events",)
WEIGHT = {"critical": 1.0, "warning": 0.5, "info": 0.0}


def check_score(objects, worst_by_object):
    """Share of judged objects without problems; a critical object costs 1, a warning 0.5."""
    if not worst_by_object:
        return 100.0
    penalty = sum(WEIGHT[sev] for sev in worst_by_object.values())
    total = max(objects, len(worst_by_object), 1)
    return max(0.0, 100.0 * (1.0 - penalty / total))


def grade(score):
    for floor, letter in GRADES:
        if score >= floor:
            return letter
    return "F"


def capped_grade(score, counts):
    """{grade, grade_capped_by}: the score's grade, no better than the cap of the worst severity found;
    ``grade_capped_by`` names that severity when the cap lowered the grade, else None."""
    measured = grade(score)
    for severity, cap in GRADE_CAPS:
        if counts.get(severity):
            if LETTERS.index(cap) > LETTERS.index(measured):
                return {"grade": cap, "grade_capped_by": severity}
            break
    return {"grade": measured, "grade_capped_by": None}


def combine(check_scores):
    """check_scores: [(group, score)] -> (overall, {group: score}); groups averaged equally."""
    by_group = {}
    for group, score in check_scores:
        if group in UNSCORED_GROUPS:
            continue
        by_group.setdefault(group, []).append(score)
    groups = {group: round(sum(values) / len(values), 1) for group, values in sorted(by_group.items())}
    overall = round(sum(groups.values()) / len(groups), 1) if groups else 100.0
    return overall, groups


def extra_reasons(summary, fail_on, min_score, errors=0):
    """k8s_health's own gate conditions beside the severity threshold: a score below ``min_score``
    and, with a ``fail_on`` threshold, src documents that could not be audited (what was not read
    cannot be judged)."""
    reasons = []
    if min_score and summary["score"] < min_score:
        reasons.append("score %s is below min_score %s" % (summary["score"], min_score))
    if errors and normalize_fail_on(fail_on) != "never":
        reasons.append("%d manifest document(s) or item(s) could not be audited (see errors)" % errors)
    return reasons


def gate(summary, fail_on, min_score, errors=0):
    """The one gate (``_findings.gate``: {fail_on, failed, reasons}) with k8s_health's own reasons;
    ``fail_on`` never|info|warning|critical (``none`` is ``never``)."""
    return one_gate(summary["counts"], fail_on, extra_reasons(summary, fail_on, min_score, errors))
