# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report filters: the model every report format renders, and its formats."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.sre.toolkit.plugins.module_utils._report import html, markdown
from ansible_collections.sre.toolkit.plugins.module_utils._report.formats import junit, textfile
from ansible_collections.sre.toolkit.plugins.module_utils._report.model import build_model
from ansible_collections.sre.toolkit.plugins.module_utils._report.svg import render


def report_model(clusters, fail_on="critical", title="sre.toolkit diagnose", generated_at="", hypothesis=""):
    if not isinstance(clusters, list):
        raise AnsibleFilterError("report_model expects a list of {name, results} dictionaries, got %s" % type(clusters).__name__)
    try:
        return build_model(clusters, fail_on=fail_on, title=title, generated_at=generated_at, hypothesis=hypothesis)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def _model(model, name):
    if not isinstance(model, dict) or "clusters" not in model:
        raise AnsibleFilterError("%s expects a model from sre.toolkit.report_model" % name)
    return model


def report_html(model):
    return html.render(_model(model, "report_html"))


def report_markdown(model):
    return markdown.render(_model(model, "report_markdown"))


def report_junit(model, timestamp="1970-01-01T00:00:00", hostname="localhost"):
    return junit(model, timestamp=timestamp, hostname=hostname)


def report_textfile(model, timestamp=0):
    return textfile(model, timestamp=timestamp)


def report_svg(chart):
    return render(chart)


class FilterModule:
    def filters(self):
        return {
            "report_model": report_model,
            "report_html": report_html,
            "report_markdown": report_markdown,
            "report_junit": report_junit,
            "report_textfile": report_textfile,
            "report_svg": report_svg,
        }
