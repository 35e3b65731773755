# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which keys of a Kubernetes Secret carry certificates, and what may be reported about it.

Private material never leaves this module: keys that hold private keys are skipped by name
and by content, and only certificate facts, names, labels and cert-manager annotations are
returned.
"""

from __future__ import annotations

import base64
import binascii

CERT_SUFFIXES = (".crt", ".pem", ".cer", ".der", ".cert")
PRIVATE_SUFFIXES = (".key",)
PRIVATE_NAMES = frozenset(("tls.key", "ssh-privatekey", "password", "token", ".dockerconfigjson", ".dockercfg"))
ANNOTATION_PREFIXES = ("cert-manager.io/",)


def certificate_keys(secret):
    """[(key, decoded bytes)] of the data keys that carry (or claim to carry) certificates."""
    found = []
    for key, value in sorted((secret.get("data") or {}).items()):
        if key in PRIVATE_NAMES or key.endswith(PRIVATE_SUFFIXES) or not isinstance(value, str):
            continue
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = None
        named_cert = key.endswith(CERT_SUFFIXES)
        has_cert = raw is not None and b"CERTIFICATE-----" in raw
        if raw is not None and b"PRIVATE KEY-----" in raw and not has_cert:
            continue  # a private key under an unusual name: never touched
        if named_cert or has_cert:
            found.append((key, raw if raw is not None else b""))
    return found


def secret_identity(secret):
    meta = secret.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    return {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "type": secret.get("type"),
        "labels": dict(sorted((meta.get("labels") or {}).items())),
        "annotations": {k: v for k, v in sorted(annotations.items()) if k.startswith(ANNOTATION_PREFIXES)},
    }
