# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report filters: the model every report format renders, and its machine formats."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.sre.toolkit.plugins.module_utils._report.formats import junit, svg_bars, textfile
from ansible_collections.sre.toolkit.plugins.module_utils._report.model import build_model


def report_model(clusters, fail_on="critical", title="sre.toolkit diagnose", generated_at=""):
    if not isinstance(clusters, list):
        raise AnsibleFilterError("report_model expects a list of {name, results} dictionaries, got %s" % type(clusters).__name__)
    try:
        return build_model(clusters, fail_on=fail_on, title=title, generated_at=generated_at)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def report_junit(model, timestamp="1970-01-01T00:00:00", hostname="localhost"):
    return junit(model, timestamp=timestamp, hostname=hostname)


def report_textfile(model, timestamp=0):
    return textfile(model, timestamp=timestamp)


def report_svg(chart):
    return svg_bars(chart)


class FilterModule:
    def filters(self):
        return {
            "report_model": report_model,
            "report_junit": report_junit,
            "report_textfile": report_textfile,
            "report_svg": report_svg,
        }
