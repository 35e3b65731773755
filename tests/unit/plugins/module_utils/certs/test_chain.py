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


# ---------------------------------------------------------------- reusing verified issuer paths

def _fresh(certs, root, at=NOW):
    """The verdict with nothing remembered: a new TrustStore per call."""
    return verify_chain(certs, TrustStore([root.cert]), at)


def _same_verdict(reused, fresh):
    keys = ("verify", "verified", "verify_error_depth", "verify_path", "unused", "method")
    return {k: reused[k] for k in keys} == {k: fresh[k] for k in keys}


def test_leaves_under_one_intermediate_reuse_its_verified_path_with_the_same_verdicts():
    root, inter, _leaf = hierarchy()
    store = TrustStore([root.cert])
    leaves = [make("host%d.test" % i, inter, dns=["host%d.test" % i]) for i in range(6)]
    for leaf in leaves:
        result = verify_chain([leaf.cert, inter.cert], store, NOW)
        assert result["verify"] == "ok" and result["verify_path"] == [fp(leaf), fp(inter), fp(root)]
        assert _same_verdict(result, _fresh([leaf.cert, inter.cert], root))
    assert store.verified_tails.reused == len(leaves) - 1


def test_a_reused_path_still_judges_each_leaf():
    root, inter, leaf = hierarchy()
    store = TrustStore([root.cert])
    assert verify_chain([leaf.cert, inter.cert], store, NOW)["verify"] == "ok"
    expired = make("old.test", inter, dns=["old.test"], days_from=-90, days_to=-1)
    client_only = make("client.test", inter, dns=["client.test"], eku=ExtendedKeyUsageOID.CLIENT_AUTH)
    # same issuer name, signed by another key: must not ride on the remembered path
    impostor_issuer = make("Test Inter", root, ca=True)
    forged = make("forged.test", impostor_issuer, dns=["forged.test"])
    for cert, verdict in ((expired, "expired"), (client_only, "policy"), (forged, "unknown_ca")):
        result = verify_chain([cert.cert, inter.cert], store, NOW)
        assert result["verify"] == verdict
        assert _same_verdict(result, _fresh([cert.cert, inter.cert], root))
    assert store.verified_tails.reused == 0


def test_paths_are_reused_only_for_the_same_validation_time_and_sent_intermediates():
    root, inter, leaf = hierarchy()
    other = make("other.test", inter, dns=["other.test"])
    store = TrustStore([root.cert])
    verify_chain([leaf.cert, inter.cert], store, NOW)
    later = NOW + dt.timedelta(days=2000)  # the intermediate has expired by then
    result = verify_chain([other.cert, inter.cert], store, later)
    assert result["verify"] == "expired" and _same_verdict(result, _fresh([other.cert, inter.cert], root, later))
    extra = make("Spare Inter", root, ca=True)
    verify_chain([other.cert, inter.cert, extra.cert], store, NOW)
    assert store.verified_tails.reused == 0


def test_name_constrained_intermediates_are_never_reused():
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes

    root, _inter, _leaf = hierarchy()
    key = _leaf.key
    builder = (cx509.CertificateBuilder().subject_name(cx509.Name([cx509.NameAttribute(cx509.NameOID.COMMON_NAME, "NC Inter")]))
               .issuer_name(root.cert.subject).public_key(key.public_key()).serial_number(cx509.random_serial_number())
               .not_valid_before(NOW - dt.timedelta(days=10)).not_valid_after(NOW + dt.timedelta(days=500))
               .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(cx509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
               .add_extension(cx509.NameConstraints(permitted_subtrees=[cx509.DNSName("inside.test")], excluded_subtrees=None), critical=True)
               .add_extension(cx509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(cx509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()), critical=False))
    from .pki import Issued
    constrained = Issued(builder.sign(root.key, hashes.SHA256()), key)
    inside = make("a.inside.test", constrained, dns=["a.inside.test"])
    outside = make("b.outside.test", constrained, dns=["b.outside.test"])
    store = TrustStore([root.cert])
    assert verify_chain([inside.cert, constrained.cert], store, NOW)["verify"] == "ok"
    result = verify_chain([outside.cert, constrained.cert], store, NOW)
    assert result["verify"] == "policy" and store.verified_tails.reused == 0
