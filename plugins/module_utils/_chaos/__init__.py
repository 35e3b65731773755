# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Chaos engines: pure selection and safety logic (no Ansible, no client imports).

- ``selectors``: Kubernetes label and field selector parsing and matching.
- ``windows``: durations and time windows with a timezone.
- ``pods``: which pods ``pod_killer`` may disrupt, and why every other one is skipped.
"""
from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError


class ChaosInputError(ToolkitError):
    """Bad input for a chaos engine; ``param`` names the option to fix (kind ``invalid``)."""

    def __init__(self, param, msg):
        super().__init__("%s: %s" % (param, msg), kind="invalid", details={"param": param})
        self.param = param
