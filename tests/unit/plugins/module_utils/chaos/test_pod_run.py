"""pod_killer's action when the eviction's answer is lost (read timeout, 5xx): the pod tells whether it took.
The refused case (an admission policy's 422) runs against the lab in tests/integration/test_pod_killer.py."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import pods as engine
from ansible_collections.sre.toolkit.plugins.module_utils._chaos.pod_run import PodKillerRun
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError

VICTIM = {"namespace": "ns", "name": "web-1", "uid": "u1"}
LOST = ToolkitError("POST .../eviction: timed out (read timeout=30)", kind="timeout")


class Api:
    """The eviction fails with `error`; reading the pod afterwards gives `pod` (or raises `read_error`)."""

    def __init__(self, error, pod=None, read_error=None):
        self.error, self.pod, self.read_error = error, pod, read_error

    def create(self, path, body, params=None, retry=None):
        raise self.error

    def get_or_none(self, path):
        if self.read_error:
            raise self.read_error
        return self.pod


def _disrupt(api):
    return PodKillerRun(api, engine.PodKillerOptions.from_params({"seed": 1}), {"action": "evict"}).disrupt(dict(VICTIM))


@pytest.mark.parametrize("pod", [
    None,
    {"metadata": {"uid": "u1", "deletionTimestamp": "2026-12-06T10:00:00Z"}},
    {"metadata": {"uid": "u2"}},
], ids=["gone", "terminating", "replaced"])
def test_a_lost_answer_counts_as_evicted_when_the_pod_shows_it(pod):
    assert _disrupt(Api(LOST, pod)) == ("evicted", None, None)


def test_a_lost_answer_with_the_pod_still_there_is_an_action_failure():
    outcome, reason, detail = _disrupt(Api(ToolkitError("POST .../eviction answered 503: unavailable", kind="server"),
                                           {"metadata": {"uid": "u1"}}))
    assert (outcome, reason) == ("skipped", "action_failed") and "answered 503" in detail and "still there" in detail


def test_a_lost_answer_and_an_unreadable_pod_say_both():
    outcome, reason, detail = _disrupt(Api(LOST, read_error=ToolkitError("GET .../pods/web-1: could not connect", kind="connection")))
    assert (outcome, reason) == ("skipped", "action_failed") and "timed out" in detail and "could not connect" in detail


def test_a_missing_permission_still_fails_the_run():
    with pytest.raises(ToolkitError) as caught:
        _disrupt(Api(ToolkitError("POST .../eviction answered 403: forbidden", kind="forbidden", status=403)))
    assert "no permission to evict pod ns/web-1" in caught.value.msg


def test_credentials_that_stopped_working_fail_the_run():
    with pytest.raises(ToolkitError) as caught:
        _disrupt(Api(ToolkitError("POST .../eviction answered 401: Unauthorized", kind="auth", status=401)))
    assert caught.value.kind == "auth"
