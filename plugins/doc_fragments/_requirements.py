# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Keep in sync with plugins/module_utils/_deps.py (PIP_NAMES).

from __future__ import annotations


class ModuleDocFragment:
    KUBERNETES = r"""
options: {}
requirements:
  - kubernetes >= 35, < 38 (Python library, on the host that runs the module)
  - requests >= 2.31
"""

    REQUESTS = r"""
options: {}
requirements:
  - requests >= 2.31 (Python library, on the host that runs the module)
"""

    CRYPTOGRAPHY = r"""
options: {}
requirements:
  - cryptography >= 42 (Python library, on the host that runs the module)
"""
