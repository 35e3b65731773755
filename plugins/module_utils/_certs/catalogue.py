# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules cert_expiry reports as findings: id -> severities, meaning, fix."""

from __future__ import annotations

MODULE = "cert_expiry"

RULES = {
    "cert.expired": {
        "severities": ("critical",),
        "meaning": "A certificate on the path is past its notAfter: clients refuse it now.",
        "fix": "Renew the certificate (and the expired intermediate, if it is one) and deploy the new chain.",
    },
    "cert.expires_soon": {
        "severities": ("critical", "warning"),
        "meaning": "A certificate expires within critical_days (critical) or warn_days (warning).",
        "fix": "Renew it before the date; check why automatic renewal did not already.",
    },
    "cert.untrusted": {
        "severities": ("warning",),
        "meaning": "The chain does not verify against the trust anchors (unknown CA, self-signed, bad signature, policy).",
        "fix": "Serve the full chain up to a CA the clients trust (or pass the right ca_bundle).",
    },
    "cert.incomplete_chain": {
        "severities": ("warning",),
        "meaning": "Only the leaf could be read and its issuer is not a trust anchor: the intermediate is missing.",
        "fix": "Serve the intermediate(s) with the leaf.",
    },
    "cert.weak_signature": {
        "severities": ("warning",),
        "meaning": "A certificate on the path is signed with an algorithm current clients refuse (SHA-1, MD5, DSA).",
        "fix": "Reissue it with SHA-256 (or better) and an RSA >= 2048 or ECDSA key.",
    },
    "cert.malformed_extension": {
        "severities": ("warning",),
        "meaning": "A certificate carries an extension whose DER is broken: strict clients reject it, hostnames cannot be judged.",
        "fix": "Reissue the certificate from a CA that encodes its extensions correctly.",
    },
    "cert.hostname_mismatch": {
        "severities": ("warning",),
        "meaning": "The leaf's names do not cover the hostname clients use.",
        "fix": "Issue a certificate whose subjectAltName covers the name.",
    },
    "cert.legacy_tls": {
        "severities": ("warning",),
        "meaning": "The server offers only TLS 1.0/1.1, which current clients refuse; its chain is still reported.",
        "fix": "Enable TLS 1.2 and 1.3 on the server.",
    },
    "cert.unreadable": {
        "severities": ("warning",),
        "meaning": "The target could not be probed or read (connection, handshake, file, Secret or parse error).",
        "fix": "Check the target is reachable and holds a certificate; the error names what failed.",
    },
    "cert.bad_input": {
        "severities": ("warning",),
        "meaning": "Part of a file or Secret key is not a readable certificate (PEM without END, bad armour, bad DER); the rest was read.",
        "fix": "Repair or remove the broken block; the error names its place in the file.",
    },
}
