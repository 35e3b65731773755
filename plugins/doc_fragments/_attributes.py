# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Descriptions of the attributes; combine with one of the support fragments below.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return what it would change without changing it.
  diff_mode:
    description: Returns details on what has changed (or would change in check mode) when in diff mode.
  action_group:
    description: Use C(group/sre.toolkit.toolkit) in C(module_defaults) to set shared options (connection) once.
    support: full
    membership:
      - sre.toolkit.toolkit
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: This module only reads; in check mode it runs in full.
  diff_mode:
    support: N/A
    details: This module does not change anything.
"""

    CHAOS_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: In check mode nothing is changed; the result lists what would be done and why.
  diff_mode:
    support: none
"""
