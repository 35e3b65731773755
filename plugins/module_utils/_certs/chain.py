# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Chain building and verification at a chosen validation time, offline.

Verification runs after the fetch and never decides whether dates are reported. For TLS
servers, cryptography's webpki verifier (x509.verification) is the judge when available; our
own path builder always runs too, because it names the precise reason (which certificate
expired, which issuer is missing) and tells which sent certificates the path does not use
(a stale cross-signed root, an extra intermediate). A certificate signed with an algorithm
cryptography refuses (SHA-1, MD5) or the web PKI no longer accepts (DSA) is still linked to its
issuer (facts.issuer_link) and the path gets `weak_signature_algorithm`, after its dates are judged;
a certificate whose extensions do not parse gets `malformed_extension`. When the webpki policy
rejects a chain that is otherwise sound (small RSA key, client-only EKU), the reason is `policy`.
"""

from __future__ import annotations

import datetime
import threading

from ._crypto import ExtensionOID, serialization, verification, x509
from .facts import extension_errors, fingerprint, is_self_signed, issuer_link, iso, not_after, not_before, signature_algorithm, signed_by
from .facts import weak_signature

MAX_DEPTH = 8
MAX_PATHS = 64

# stable reason ids, worst first when several apply to one path
# (the lab's and OpenSSL's vocabulary; `policy` = sound chain the webpki policy rejects)
# `incomplete_chain`: only the leaf could be fetched (a fallback probe) and its issuer is not a trust anchor
REASONS = ("ok", "unknown_ca", "self_signed", "expired", "not_yet_valid", "malformed_extension", "weak_signature_algorithm", "policy",
           "incomplete_chain", "no_certificate", "unparsable")


def _valid_at(cert, at):
    return not_before(cert) <= at <= not_after(cert)


class TrustStore:
    """Trust anchors, indexed so a sent copy (or cross-signed twin) of a trusted root counts.

    Build it once per run: the webpki Store is made lazily and reused for every target.
    """

    def __init__(self, anchors):
        self.certs = list(anchors)
        self.fingerprints = {fingerprint(cert) for cert in self.certs}
        self.subject_keys = {(cert.subject.public_bytes(), _key_bytes(cert)) for cert in self.certs}
        self._webpki = None
        self.verified_tails = VerifiedTails()

    def webpki_store(self):
        if self._webpki is None:
            self._webpki = verification.Store(self.certs)
        return self._webpki

    def trusts(self, cert):
        return fingerprint(cert) in self.fingerprints

    def twin_of_anchor(self, cert):
        return (cert.subject.public_bytes(), _key_bytes(cert)) in self.subject_keys


def _key_bytes(cert):
    return cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _candidates(cert, pool, anchors, at, path_ids):
    found = [c for c in pool if fingerprint(c) not in path_ids and signed_by(cert, c)]
    # anchors first, then issuers valid at the validation time, then the longest-lived
    return sorted(found, key=lambda c: (not anchors.trusts(c), not _valid_at(c, at), -not_after(c).timestamp()))


def _paths(leaf, pool, anchors, at):
    """Depth-first over possible issuers; yields (path, end) with end anchored|self_signed|unknown_issuer."""
    stack = [[leaf]]
    produced = 0
    while stack and produced < MAX_PATHS:
        path = stack.pop()
        top = path[-1]
        if anchors.trusts(top) or (len(path) > 1 and anchors.twin_of_anchor(top)):
            produced += 1
            yield path, "anchored"
            continue
        ids = {fingerprint(c) for c in path}
        nexts = _candidates(top, pool, anchors, at, ids) if len(path) < MAX_DEPTH else []
        if not nexts:
            produced += 1
            yield path, ("self_signed" if is_self_signed(top) else "unknown_issuer")
            continue
        for issuer in reversed(nexts):  # reversed: the preferred candidate is popped first
            stack.append(path + [issuer])


def _path_problems(path, end, at):
    """Problems of one candidate path as [(reason, depth, detail)], in the order OpenSSL reports them.

    Path-building errors come first; date errors are listed from the top of the path down,
    because OpenSSL checks validity periods from the anchor towards the leaf.
    """
    problems = []
    top_depth = len(path) - 1
    top = path[-1]
    if end == "unknown_issuer":
        problems.append(("unknown_ca", top_depth, "issuer %s of %s was neither sent nor trusted" % (
            top.issuer.rfc4514_string(), top.subject.rfc4514_string())))
    elif end == "self_signed":
        reason = "self_signed" if top_depth == 0 else "unknown_ca"
        problems.append((reason, top_depth, "%s %s is not a trust anchor" % (
            "self-signed certificate" if top_depth == 0 else "root", top.subject.rfc4514_string())))
    for depth in range(top_depth, -1, -1):
        cert = path[depth]
        role = _role(depth)
        if not_after(cert) < at:
            problems.append(("expired", depth, "%s %s expired at %s" % (role, cert.subject.rfc4514_string(), iso(not_after(cert)))))
        elif not_before(cert) > at:
            problems.append(("not_yet_valid", depth, "%s %s is valid only from %s" % (
                role, cert.subject.rfc4514_string(), iso(not_before(cert)))))
    for depth, cert in enumerate(path):
        for fault in extension_errors(cert):
            problems.append(("malformed_extension", depth, "%s %s: extension %s (%s) does not parse: %s" % (
                _role(depth), cert.subject.rfc4514_string(), fault["name"], fault["oid"] or "unknown OID", fault["error"])))
    for weak in weak_signatures(path, end):
        problems.append(("weak_signature_algorithm", weak["depth"], "%s %s is signed with %s, %s" % (
            _role(weak["depth"]), weak["subject"], weak["algorithm"], LINK_TEXT.get(weak["link"], "whose issuer is missing"))))
    return problems


LINK_TEXT = {"signature": "an algorithm the web PKI no longer accepts (signature verified)",
             "legacy_signature": "which cryptography refuses to verify (signature verified with that legacy hash)",
             "key_identifier": "which cannot be verified here (linked to its issuer by name and key identifier only)",
             "name": "which cannot be verified here (linked to its issuer by name only: no key identifiers)"}


def _role(depth):
    return "leaf" if depth == 0 else "certificate at depth %d" % depth


def weak_signatures(path, end="anchored"):
    """[{depth, sha256, subject, algorithm, link}] for certs of `path` signed with a weak algorithm or linked without
    a signature check; link is how the next cert of the path is tied to it (None when there is none).

    The top of a path that ends at a trust anchor or a self-signed root is not judged: nobody relies on a root's own signature.
    """
    found = []
    for depth, cert in enumerate(path if end == "unknown_issuer" else path[:-1]):
        link = issuer_link(cert, path[depth + 1]) if depth + 1 < len(path) else None
        if weak_signature(cert) or link not in (None, "signature"):
            found.append({"depth": depth, "sha256": fingerprint(cert), "subject": cert.subject.rfc4514_string(),
                          "algorithm": signature_algorithm(cert), "link": link})
    return found


def build_path(leaf, intermediates, anchors, at):
    """Best path from leaf: anchored and valid first, then anchored, then the longest."""
    anchor_set = anchors if isinstance(anchors, TrustStore) else TrustStore(anchors)
    leaf_id = fingerprint(leaf)
    pool = [c for c in intermediates if fingerprint(c) != leaf_id] + anchor_set.certs
    best = None
    for path, end in _paths(leaf, pool, anchor_set, at):
        problems = _path_problems(path, end, at)
        score = (end == "anchored", not problems, -len(problems), len(path))
        if best is None or score > best[0]:
            best = (score, path, end, problems)
        if end == "anchored" and not problems:
            break
    _score, path, end, problems = best
    return path, end, problems


def _probe_subject(leaf):
    """A name the leaf itself presents, so webpki judges only the chain; names.py judges the hostname."""
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    for name in san.get_values_for_type(x509.DNSName):
        try:
            return verification.DNSName(name.replace("*", "wildcard-probe", 1) if name.startswith("*.") else name)
        except ValueError:
            continue
    for address in san.get_values_for_type(x509.IPAddress):
        return verification.IPAddress(address)
    return None


def _server_verifier(webpki_store, subject, at):
    return (verification.PolicyBuilder().store(webpki_store)
            .time(at.astimezone(datetime.timezone.utc).replace(tzinfo=None)).build_server_verifier(subject))


def _webpki_verify(leaf, intermediates, store, at):
    """(chain or None, error text or None); (None, None) when webpki cannot be asked.

    A leaf without SAN (CN-only) cannot be given to webpki, which would reject it for the name
    alone; hostname rules are reported separately, so the builtin verdict stands for it.
    """
    subject = _probe_subject(leaf) if verification is not None and store.certs else None
    if subject is None:
        return None, None
    chain = store.verified_tails.verify_leaf(leaf, intermediates, subject, at)
    if chain is not None:
        return chain, None
    try:
        chain = _server_verifier(store.webpki_store(), subject, at).verify(leaf, list(intermediates))
    except (verification.VerificationError, ValueError, TypeError) as exc:
        return None, str(exc)
    store.verified_tails.remember(chain, intermediates, at)
    return chain, None


def _constrains_descendants(cert):
    """Whether cert limits the names or policies of certificates below it (or cannot be read)."""
    try:
        extensions = cert.extensions
    except ValueError:  # a malformed extension: never reuse a tail holding it
        return True
    limits = (ExtensionOID.NAME_CONSTRAINTS, ExtensionOID.POLICY_CONSTRAINTS, ExtensionOID.INHIBIT_ANY_POLICY)
    return any(extension.oid in limits for extension in extensions)


class VerifiedTails:
    """Issuer paths webpki has already accepted, so 500 leaves under one intermediate cost one path check.

    Verifying a leaf costs its own signature; verifying the path above it (an intermediate
    signed by a P-384 root, say) costs several times more and is the same for every leaf the
    intermediate issued. Once webpki has accepted [leaf, I, ..., root] for a set of sent
    intermediates at a validation time, a later leaf sent with the same intermediates is checked
    by webpki against a store holding I alone (leaf policy, leaf signature, I's validity) and
    gets [leaf, I, ..., root]. Anything but a clean acceptance falls back to the full check, so
    every failure and its reason come from the full path. Tails whose certificates constrain
    their descendants (name or policy constraints) are not reused.
    """

    def __init__(self):
        self._tails = {}
        self._stores = {}
        self._lock = threading.Lock()
        self.reused = 0

    @staticmethod
    def _key(intermediates, at, issuer_name):
        return (at.isoformat(), tuple(fingerprint(c) for c in intermediates), issuer_name.public_bytes())

    def remember(self, chain, intermediates, at):
        tail = list(chain[1:])
        if len(tail) < 2 or any(_constrains_descendants(cert) for cert in tail):
            return  # a leaf issued by the anchor itself costs one signature anyway
        self._tails.setdefault(self._key(intermediates, at, tail[0].subject), tail)

    def verify_leaf(self, leaf, intermediates, subject, at):
        """[leaf] + a remembered tail when webpki accepts leaf under the tail's first certificate, else None."""
        tail = self._tails.get(self._key(intermediates, at, leaf.issuer))
        if tail is None:
            return None
        issuer_id = fingerprint(tail[0])
        store = self._stores.get(issuer_id)
        if store is None:
            store = self._stores.setdefault(issuer_id, verification.Store([tail[0]]))
        try:
            chain = _server_verifier(store, subject, at).verify(leaf, [])
        except (verification.VerificationError, ValueError, TypeError):
            return None
        if len(chain) != 2 or fingerprint(chain[1]) != issuer_id:
            return None
        with self._lock:
            self.reused += 1
        return [leaf] + tail


def verify_chain(certs, anchors, at, purpose="server"):
    """Verify `certs` (leaf first, as sent or as stored) against trust `anchors` at `at`.

    Returns a plain dict: verify (ok or a reason id), verified, verify_error_depth, detail,
    verify_path (sha256s, leaf to anchor; empty unless ok), unused (sent certs off the best path),
    path_candidate (the best path even when it fails), validation_time, method.
    """
    if at.tzinfo is None:
        at = at.replace(tzinfo=datetime.timezone.utc)
    result = {"verify": None, "verified": False, "verify_error_depth": None, "detail": None, "verify_path": [],
              "path_candidate": [], "unused": [], "validation_time": iso(at), "method": "builtin", "weak_signatures": []}
    if not certs:
        result.update(verify="no_certificate", detail="no certificate to verify")
        return result
    leaf, intermediates = certs[0], certs[1:]
    anchor_set = anchors if isinstance(anchors, TrustStore) else TrustStore(anchors)
    chain, error = _webpki_verify(leaf, intermediates, anchor_set, at) if purpose == "server" else (None, None)
    if chain is not None or error is not None:
        result["method"] = "cryptography"
    if chain is not None:  # the common case: webpki accepts, its path is the answer
        path = chain
        result.update(verify="ok", verified=True)
    else:  # our own path building names the reason (and judges what webpki cannot be asked about)
        path, end, problems = build_path(leaf, intermediates, anchor_set, at)
        result["weak_signatures"] = weak_signatures(path, end)
        if problems:
            result.update(verify=problems[0][0], verify_error_depth=problems[0][1], detail=problems[0][2])
        elif error is not None:
            result.update(verify="policy", detail="rejected by the webpki policy: %s" % error)
        else:
            result.update(verify="ok", verified=True)
    path_ids = [fingerprint(c) for c in path]
    result["path_candidate"] = path_ids
    result["verify_path"] = path_ids if result["verified"] else []
    result["unused"] = [fingerprint(c) for c in certs if fingerprint(c) not in path_ids]
    return result
