# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception type of the collection, and its single mapping to fail_json."""

from __future__ import annotations

import traceback

# kind values, so callers and users can branch on what went wrong without parsing text.
KINDS = frozenset((
    "invalid", "dependency", "connection", "timeout", "tls", "auth", "forbidden", "not_found",
    "conflict", "too_many_requests", "server", "http", "deadline", "dns",
))
# A write that failed with one of these got no real answer: the server may still have carried it out.
UNANSWERED_KINDS = ("timeout", "server")


class ToolkitError(Exception):
    """An error a user can act on: `msg` says what failed and how to fix it."""

    def __init__(self, msg, kind="invalid", status=None, details=None):
        super().__init__(msg)
        self.msg = msg
        self.kind = kind if kind in KINDS else "http"
        self.status = status
        self.details = details or {}

    def __str__(self):
        return self.msg


def fail_from_error(module, exc, **partial_result):
    """Map a ToolkitError (or any unexpected exception) to module.fail_json once.

    Whatever already succeeded is passed in `partial_result` so the user still gets it.
    """
    if isinstance(exc, ToolkitError):
        extra = {"error_kind": exc.kind}
        if exc.status is not None:
            extra["status"] = exc.status
        if exc.details:
            extra["error_details"] = exc.details
        module.fail_json(msg=exc.msg, **dict(partial_result, **extra))
    module.fail_json(
        msg="unexpected error: %s: %s" % (type(exc).__name__, exc),
        exception=traceback.format_exc(), error_kind="internal", **partial_result
    )


def exit_gated(module, result, warnings=(), shown=None, **extra):
    """The end of every module: its warnings, then fail_json when the gate in ``result["summary"]["gate"]``
    failed (the message names its first ``shown`` reasons, all by default), else exit_json.

    ``extra`` (e.g. ``changed=False``) goes into the result either way.
    """
    for warning in warnings:
        module.warn(warning)
    reasons = result["summary"]["gate"]["reasons"]
    if reasons:
        module.fail_json(msg="fail_on: %s" % "; ".join(reasons[:shown]), **dict(extra, **result))
    module.exit_json(**dict(extra, **result))
