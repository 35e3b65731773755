"""How the benchmarks report: medians and ratios against the fetch baseline, written to
bench/results/<name>.json and printed."""
from __future__ import annotations

import json
import statistics
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def add_playbook(report, play_s, play_rss, fetch_median):
    """The ansible-playbook measurement beside the others (when it was taken)."""
    if play_s:
        report["median_seconds"]["playbook"] = round(statistics.median(play_s), 3)
        report["ratio_vs_fetch"]["playbook"] = round(statistics.median(play_s) / fetch_median, 3)
        report["peak_rss_mib"]["playbook_children"] = round(max(play_rss) / 1024.0, 1)


def write(name, report):
    """Write bench/results/<name>.json; returns its path."""
    out = REPO / "bench" / "results" / ("%s.json" % name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, sort_keys=True))
    return out


def print_medians(report):
    for name, value in report["median_seconds"].items():
        ratio = report["ratio_vs_fetch"].get(name)
        print("  %-18s median %8.3f s%s" % (name, value, "" if ratio is None else "   %.2f x fetch" % ratio))
