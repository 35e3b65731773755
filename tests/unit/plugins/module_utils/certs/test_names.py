from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._certs.names import match_hostname, pattern_matches, to_a_label

from .pki import make


@pytest.mark.parametrize("pattern,host,expected", [
    ("www.example.test", "www.example.test", True),
    ("WWW.Example.Test.", "www.example.test", True),
    ("*.example.test", "a.example.test", True),
    ("*.example.test", "a.b.example.test", False),   # one label only
    ("*.example.test", "example.test", False),
    ("a.*.example.test", "a.b.example.test", False),  # wildcard only in the left-most label
    ("f*.example.test", "foo.example.test", False),   # no partial wildcards
    ("*.test", "example.test", False),                # never a whole TLD
    ("*", "localhost", False),
])
def test_pattern_rules(pattern, host, expected):
    assert pattern_matches(pattern, host) is expected


def test_ip_matches_only_ip_sans():
    leaf = make("10.0.0.1", dns=["10.0.0.2", "host.test"], ips=["10.0.0.1", "::1"])
    assert match_hostname(leaf.cert, "10.0.0.1")["matched_by"] == "ip"
    assert match_hostname(leaf.cert, "[::1]")["matched"] is True
    miss = match_hostname(leaf.cert, "10.0.0.2")  # present only as a DNS SAN: must not match
    assert miss["matched"] is False and "IP SAN" in miss["reason"]


def test_idn_compared_as_a_labels():
    leaf = make("idn", dns=["xn--bcher-kva.example.test"])
    assert to_a_label("bücher.example.test") == "xn--bcher-kva.example.test"
    assert match_hostname(leaf.cert, "bücher.example.test")["matched"] is True
    assert match_hostname(leaf.cert, "xn--bcher-kva.example.test")["matched"] is True
    assert match_hostname(leaf.cert, "bucher.example.test")["matched"] is False


def test_cn_fallback_only_when_asked_and_without_dns_san():
    cn_only = make("legacy.test", san=False)
    strict = match_hostname(cn_only.cert, "legacy.test")
    assert strict["matched"] is False and strict["cn_fallback_used"] is False
    loose = match_hostname(cn_only.cert, "legacy.test", cn_fallback=True)
    assert loose["matched"] is True and loose["matched_by"] == "cn" and loose["cn_fallback_used"] is True
    with_san = make("legacy.test", dns=["other.test"])
    assert match_hostname(with_san.cert, "legacy.test", cn_fallback=True)["matched"] is False
