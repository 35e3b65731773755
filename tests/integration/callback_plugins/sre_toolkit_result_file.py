"""Test-only callback: writes what `register` would hold for the task named "module under test".

run_module used to save the result with a second task (ansible.builtin.copy); that copy cost about half a
second of every module run in the integration tier. The file is $SRE_TOOLKIT_RESULT_FILE.
"""
from __future__ import annotations

import copy
import json
import os

from ansible.plugins.callback import CallbackBase
from ansible.vars.clean import strip_internal_keys

TASK_NAME = "module under test"
RESULT_FILE = "SRE_TOOLKIT_RESULT_FILE"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "sre_toolkit_result_file"
    CALLBACK_NEEDS_ENABLED = True

    def _save(self, result, **outcome):
        path = os.environ.get(RESULT_FILE)
        if not path or result.task_name != TASK_NAME:
            return
        # the same cleaning the strategy applies before it registers a result
        registered = strip_internal_keys(copy.deepcopy(dict(result.result)))
        registered.pop("invocation", None)
        # callbacks get the result without `failed` and `skipped`; `register` keeps them
        registered.update(outcome)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(registered, handle)

    def v2_runner_on_ok(self, result):
        self._save(result, failed=False)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._save(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._save(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._save(result)
