# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Optional third-party imports, recorded so the module can fail with a clear message.

Keep the minimum versions here in sync with plugins/doc_fragments/_requirements.py.

    with OptionalImport("kubernetes") as KUBERNETES:
        import kubernetes
    ...
    KUBERNETES.require(module)
"""

from __future__ import annotations

import traceback

PIP_NAMES = {
    "kubernetes": "kubernetes>=35,<38",
    "requests": "requests>=2.31",
    "cryptography": "cryptography>=42",
    "yaml": "PyYAML>=6",
}


class OptionalImport:
    """Context manager around an import: swallows ImportError and keeps the traceback."""

    def __init__(self, name):
        self.name = name
        self.error = None
        self.traceback = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, ImportError):
            self.error = exc
            self.traceback = traceback.format_exc()
            return True
        return False

    @property
    def available(self):
        return self.error is None

    def require(self, module, reason=None):
        if self.error is not None:
            # imported here: engines guard their imports with this helper and stay free of Ansible
            from ansible.module_utils.basic import missing_required_lib

            module.fail_json(
                msg=missing_required_lib(PIP_NAMES.get(self.name, self.name), reason=reason),
                exception=self.traceback, error_kind="dependency",
            )
