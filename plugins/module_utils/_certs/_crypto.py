# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place the engine imports cryptography, guarded so the package imports without it."""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._deps import OptionalImport

__all__ = ("x509", "InvalidSignature", "UnsupportedAlgorithm", "hashes", "serialization", "dsa", "ec", "ed448", "ed25519", "padding",
           "rsa", "pkcs12", "pkcs7", "ExtensionOID", "NameOID", "verification", "HAS_CRYPTOGRAPHY", "CRYPTOGRAPHY_ERROR")

x509 = InvalidSignature = UnsupportedAlgorithm = hashes = serialization = pkcs12 = pkcs7 = None
dsa = ec = ed448 = ed25519 = padding = rsa = ExtensionOID = NameOID = verification = None

with OptionalImport("cryptography") as CRYPTOGRAPHY:  # the module reports a missing one with missing_required_lib
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12, pkcs7
    from cryptography.x509.oid import ExtensionOID, NameOID
HAS_CRYPTOGRAPHY = CRYPTOGRAPHY.available
CRYPTOGRAPHY_ERROR = CRYPTOGRAPHY.error

with OptionalImport("cryptography"):  # cryptography < 43: chain.py falls back to its own path checks
    from cryptography.x509 import verification
