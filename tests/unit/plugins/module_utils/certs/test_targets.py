from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._certs.targets import SpecError, parse_endpoint


def test_strings_and_defaults():
    assert parse_endpoint("www.example.test") == {"id": "www.example.test:443", "host": "www.example.test", "port": 443,
                                                  "sni": "www.example.test", "starttls": None, "all_addresses": None}
    ip = parse_endpoint("[2001:db8::1]:8443")
    assert (ip["host"], ip["port"], ip["sni"], ip["id"]) == ("2001:db8::1", 8443, None, "[2001:db8::1]:8443")
    assert parse_endpoint("mail.test", default_starttls="smtp")["port"] == 25


def test_dict_with_sni_override_and_name():
    target = parse_endpoint({"host": "10.0.0.5", "port": "5432", "sni": "db.test", "starttls": "postgres", "name": "db"})
    assert target == {"id": "db", "host": "10.0.0.5", "port": 5432, "sni": "db.test", "starttls": "postgres", "all_addresses": None}


@pytest.mark.parametrize("spec,fragment", [
    ("host:70000", "out of range"), ("host:0", "out of range"), ("host:abc", "not a number"),
    ("gopher://host/", "unknown scheme"), ("https://host:99999/", "out of range"), ("2001:db8::zz", "IPv6"), ("", "host is empty"),
    ({"host": "h", "starttls": "nntp"}, "starttls"), ({"host": "h", "colour": 1}, "unknown keys"), (42, "expected a string"),
])
def test_bad_specs_name_the_problem(spec, fragment):
    with pytest.raises(SpecError) as info:
        parse_endpoint(spec)
    assert fragment in str(info.value)


@pytest.mark.parametrize("url,host,port,starttls,sni", [
    ("https://www.example.test", "www.example.test", 443, None, "www.example.test"),
    ("https://user@www.example.test:8443/path?q=1#top", "www.example.test", 8443, None, "www.example.test"),
    ("smtp://mail.example.test", "mail.example.test", 25, "smtp", "mail.example.test"),
    ("submission://mail.example.test", "mail.example.test", 587, "smtp", "mail.example.test"),
    ("smtps://mail.example.test", "mail.example.test", 465, None, "mail.example.test"),
    ("postgresql://db.example.test:6432/app", "db.example.test", 6432, "postgres", "db.example.test"),
    ("ldaps://[2001:db8::1]", "2001:db8::1", 636, None, None),
])
def test_urls_set_port_and_starttls_from_the_scheme(url, host, port, starttls, sni):
    target = parse_endpoint(url)
    assert (target["host"], target["port"], target["starttls"], target["sni"]) == (host, port, starttls, sni)


def test_every_starttls_protocol_has_a_dialogue_and_a_port():
    from ansible_collections.sre.toolkit.plugins.module_utils import _tls
    from ansible_collections.sre.toolkit.plugins.module_utils._certs.targets import DEFAULT_PORTS, STARTTLS_PROTOCOLS

    assert set(STARTTLS_PROTOCOLS) == set(_tls.STARTTLS) and set(STARTTLS_PROTOCOLS) < set(DEFAULT_PORTS)
