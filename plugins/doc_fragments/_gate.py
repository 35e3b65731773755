# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The one gate, the same in every module and role of the collection (plugins/module_utils/_findings.py).
    DOCUMENTATION = r"""
options:
  fail_on:
    description:
      - The gate - fail the task when a finding in RV(findings) is at or above this severity; the full result is still
        returned, with the reasons in C(summary.gate). V(none) is accepted as another word for V(never).
    type: str
    choices: [never, none, info, warning, critical]
    default: never
"""
