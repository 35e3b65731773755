# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import ChaosInputError
from ansible_collections.sre.toolkit.plugins.module_utils._k8s_labels import label_selector_matches
from ansible_collections.sre.toolkit.plugins.module_utils._chaos.selectors import (
    parse_field_selector,
    parse_label_selector,
)

LABELS = {"app": "web", "tier": "front", "track": "stable", "rank": "5", "example.com/team": "sre"}


@pytest.mark.parametrize("text,expected", [
    ("", True),
    ("app=web", True),
    ("app==web", True),
    ("app!=web", False),
    ("app!=db", True),
    ("missing!=x", True),
    ("app", True),
    ("!app", False),
    ("!missing", True),
    ("tier in (front, back)", True),
    ("tier in (back)", False),
    ("tier notin (back)", True),
    ("missing notin (back)", True),
    ("missing in (back)", False),
    ("app=web,tier in (front),!canary", True),
    ("app=web,tier=back", False),
    ("rank>4", True),
    ("rank<5", False),
    ("app>4", False),
    ("example.com/team=sre", True),
    ("app=", False),
    ("missing=", False),
])
def test_label_selector_matches_like_the_api_server(text, expected):
    assert parse_label_selector(text).matches(LABELS) is expected


@pytest.mark.parametrize("text,fragment", [
    ("app=web,", "expected a label key"),
    ("app web", "expected an operator"),
    ("app in web", "expected '(' to open"),
    ("app in (a,b", "expected ',' or ')'"),
    ("app in ()", "expected at least one value"),
    ("=web", "expected a label key"),
    ("app=we b", "expected ',' between requirements"),
    ("-bad=x", "label key '-bad' is invalid"),
    ("Bad_Prefix/k=v", "invalid prefix"),
    ("app=web;", "label value 'web;' is invalid"),
    ("app=" + "x" * 64, "label value"),
    ("rank>five", "expected an integer"),
])
def test_label_selector_syntax_errors_name_the_option_and_the_problem(text, fragment):
    with pytest.raises(ChaosInputError) as err:
        parse_label_selector(text)
    assert err.value.param == "label_selector"
    assert err.value.msg.startswith("label_selector: ")
    assert fragment in err.value.msg


def test_label_selector_renders_canonically():
    assert str(parse_label_selector(" tier in (b, a) , app = web,!x")) == "tier in (a,b),app=web,!x"


@pytest.mark.parametrize("selector,expected", [
    (None, False),
    ({}, True),
    ({"matchLabels": {"app": "web"}}, True),
    ({"matchLabels": {"app": "db"}}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, False),
    ({"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]}, True),
    ({"matchExpressions": [{"key": "canary", "operator": "Exists"}]}, False),
])
def test_structured_selector(selector, expected):
    assert label_selector_matches(selector, LABELS) is expected


POD = {"metadata": {"name": "web-1", "namespace": "a"}, "spec": {"nodeName": "n1", "hostNetwork": False},
       "status": {"phase": "Running"}}


@pytest.mark.parametrize("text,expected", [
    ("status.phase=Running", True),
    ("status.phase==Running", True),
    ("status.phase!=Running", False),
    ("spec.nodeName=n1,metadata.name=web-1", True),
    ("spec.nodeName=n2", False),
    ("spec.missing=", True),
    ("spec.hostNetwork=false", True),
    ("metadata.name=web\\-1", True),
])
def test_field_selector(text, expected):
    assert parse_field_selector(text).matches(POD) is expected


@pytest.mark.parametrize("text", ["status.phase", "=Running", "status..phase=x", "a=b=c", "1abc=x"])
def test_field_selector_errors(text):
    with pytest.raises(ChaosInputError) as err:
        parse_field_selector(text)
    assert err.value.param == "field_selector"
