"""The module's glue: every option is checked before a client is built or a request sent."""
from __future__ import annotations

import socket

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import pod_run as service
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.modules import pod_killer as mod


def params(**over):
    base = dict((name, spec.get("default")) for name, spec in mod.argument_spec().items())
    # a kubeconfig that does not exist: reaching client construction gives a different error
    base.update(kubeconfig="/nonexistent/kubeconfig")
    base.update(over)
    return base


@pytest.mark.parametrize("over,needle", [
    ({"mode": "percent", "percent": 150.0}, "percent: 150.0 is outside 0 < percent <= 100"),
    ({"mode": "percent"}, "percent: mode=percent needs percent"),
    ({"mode": "fixed", "count": 0}, "count: mode=fixed needs count >= 1"),
    ({"count": 3}, "count: is only used with mode=fixed"),
    ({"label_selector": "tier notin (a,"}, "label_selector: syntax error"),
    ({"field_selector": "spec.nodeName"}, "field_selector: syntax error"),
    ({"name_regex": "("}, "name_regex"),
    ({"min_age": "a while"}, "min_age"),
    ({"cooldown": "1y"}, "cooldown"),
    ({"window": {"timezone": "UTC", "hours": ["9-5"]}}, "window.hours"),
    ({"grace_period": -1}, "grace_period"),
    ({"recovery_poll": 0.0}, "recovery_poll"),
    ({"gate": {"promql": "up == 1"}}, "gate.promql needs prometheus_url"),
])
def test_bad_input_fails_before_any_client(over, needle):
    with pytest.raises(ToolkitError) as caught:
        service.build_run(params(**over))
    assert needle in caught.value.msg
    assert caught.value.kind == "invalid"


def test_valid_options_reach_the_client():
    with pytest.raises(ToolkitError) as caught:
        service.build_run(params(mode="percent", percent=12.5, label_selector="app=web"))
    assert "kubeconfig" in caught.value.msg and "does not exist" in caught.value.msg


def test_defaults_are_safe():
    spec = mod.argument_spec()
    assert spec["dry_run"]["default"] is True
    assert spec["mode"]["default"] == "one"
    assert spec["action"]["default"] == "evict"
    assert spec["max_per_owner"]["default"] == 1 and spec["min_ready_replicas"]["default"] == 1
    assert spec["force"]["default"] is False


def test_http_probe_reports_a_refused_connection_instead_of_raising():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    status, error = service.http_probe({"http_timeout": 2})("http://127.0.0.1:%d/healthz" % port)
    assert status is None and error
