# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place the engine imports cryptography, guarded so the package imports without it."""

from __future__ import annotations

__all__ = ("x509", "InvalidSignature", "UnsupportedAlgorithm", "hashes", "serialization", "dsa", "ec", "ed448", "ed25519", "padding",
           "rsa", "pkcs12", "pkcs7", "ExtensionOID", "NameOID", "verification", "HAS_CRYPTOGRAPHY", "CRYPTOGRAPHY_ERROR")

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12, pkcs7
    from cryptography.x509.oid import ExtensionOID, NameOID
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_ERROR = None
except ImportError as exc:  # the module reports this with missing_required_lib
    x509 = InvalidSignature = UnsupportedAlgorithm = hashes = serialization = pkcs12 = pkcs7 = None
    dsa = ec = ed448 = ed25519 = padding = rsa = ExtensionOID = NameOID = None
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_ERROR = exc

try:
    from cryptography.x509 import verification
except ImportError:  # cryptography < 43: chain.py falls back to its own path checks
    verification = None
