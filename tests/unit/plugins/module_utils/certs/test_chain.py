from __future__ import annotations

import datetime as dt


from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.sre.toolkit.plugins.module_utils._certs.chain import TrustStore, verify_chain
from ansible_collections.sre.toolkit.plugins.module_utils._certs.facts import fingerprint

from .pki import NOW, hierarchy, make


def fp(issued):
    return fingerprint(issued.cert)


def test_valid_chain_verifies_with_path_to_anchor():
    root, inter, leaf = hierarchy()
    result = verify_chain([leaf.cert, inter.cert], [root.cert], NOW)
    assert result["verify"] == "ok" and result["verified"] is True
    assert result["verify_path"] == [fp(leaf), fp(inter), fp(root)]
    assert result["unused"] == [] and result["method"] == "cryptography"


def test_hostname_does_not_decide_verification():
    root, inter, leaf = hierarchy()
    assert verify_chain([leaf.cert, inter.cert], [root.cert], NOW)["verify"] == "ok"


def test_expired_intermediate_reported_at_its_depth_while_leaf_valid():
    root = make("R", ca=True, days_from=-400, days_to=3000)
    inter = make("I", root, ca=True, days_from=-300, days_to=-5)
    leaf = make("a.test", inter, dns=["a.test"])
    result = verify_chain([leaf.cert, inter.cert], TrustStore([root.cert]), NOW)
    assert (result["verify"], result["verify_error_depth"]) == ("expired", 1)
    assert result["verify_path"] == [] and "expired" in result["detail"]


def test_expired_leaf_depth_zero_and_future_validation_time():
    root, inter, leaf = hierarchy()
    assert verify_chain([leaf.cert, inter.cert], [root.cert], NOW + dt.timedelta(days=100))["verify_error_depth"] == 0
    assert verify_chain([leaf.cert, inter.cert], [root.cert], NOW + dt.timedelta(days=100))["verify"] == "expired"
    assert verify_chain([leaf.cert, inter.cert], [root.cert], NOW - dt.timedelta(days=40))["verify"] == "not_yet_valid"


def test_stale_cross_signed_root_is_sent_but_unused():
    old_root = make("Old Root", ca=True, days_from=-4000, days_to=-10)
    root, inter, leaf = hierarchy()
    # same subject and key as the trusted root, issued by the expired old root
    cross = make("Test Root", old_root, ca=True, key=root.key, subject=root.cert.subject, days_from=-900, days_to=-20)
    result = verify_chain([leaf.cert, inter.cert, cross.cert], [root.cert], NOW)
    assert result["verify"] == "ok"
    assert result["verify_path"] == [fp(leaf), fp(inter), fp(root)]
    assert result["unused"] == [fp(cross)]


def test_unknown_ca_and_self_signed():
    root, inter, leaf = hierarchy()
    other = make("Other Root", ca=True)
    missing = verify_chain([leaf.cert], [other.cert], NOW)
    assert (missing["verify"], missing["verify_error_depth"]) == ("unknown_ca", 0)
    untrusted = verify_chain([leaf.cert, inter.cert, root.cert], [other.cert], NOW)
    assert (untrusted["verify"], untrusted["verify_error_depth"]) == ("unknown_ca", 2)
    lonely = make("self.test", dns=["self.test"])
    assert verify_chain([lonely.cert], [root.cert], NOW)["verify"] == "self_signed"


def test_webpki_policy_rejection_is_named_policy():
    root = make("R", ca=True, rsa_bits=2048, days_from=-10, days_to=900)
    inter = make("I", root, ca=True, rsa_bits=2048, days_from=-10, days_to=800)
    # a client-only certificate served by a TLS server: a sound chain, but not for serverAuth
    leaf = make("weak.test", inter, dns=["weak.test"], eku=ExtendedKeyUsageOID.CLIENT_AUTH)
    result = verify_chain([leaf.cert, inter.cert], [root.cert], NOW)
    assert result["verify"] == "policy" and result["verified"] is False and "webpki" in result["detail"]
    own = verify_chain([leaf.cert, inter.cert], [root.cert], NOW, purpose="any")
    assert own["verify"] == "ok" and own["method"] == "builtin"
