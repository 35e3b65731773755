# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Score, grade and the CI gate (fail_on severity, min_score)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .model import SEVERITY_RANK

GRADES = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (50, "E"))
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


def gate(summary, fail_on, min_score):
    """Reasons the run should fail CI; empty when it passes."""
    reasons = []
    if fail_on and fail_on != "none":
        limit = SEVERITY_RANK[fail_on]
        hits = {sev: n for sev, n in summary["counts"].items() if n and SEVERITY_RANK[sev] <= limit}
        if hits:
            ordered = sorted(hits.items(), key=lambda pair: SEVERITY_RANK[pair[0]])
            reasons.append("findings at or above %s: %s" % (fail_on, ", ".join("%d %s" % (n, sev) for sev, n in ordered)))
    if min_score and summary["score"] < min_score:
        reasons.append("score %s is below min_score %s" % (summary["score"], min_score))
    return reasons
