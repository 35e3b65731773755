"""Generate the TLS lab: PKI, server listeners, certificate files, Kubernetes Secrets, ground truth.

The ground-truth schema is documented in README.md next to this file. Expected results are
stated by construction (which CA issued what, which dates), not by running a verifier: the
integration tests check them against real handshakes with OpenSSL and Python's ssl.
"""
from __future__ import annotations

import base64
import datetime as dt
import glob
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from tests.lab.tls.pki import DAY, Issued, KeyMaker, describe, extensions_parse, hostname_match, iso, issue, resign, truncate_extension

LAB_DOMAIN = "lab.test"
P12_PASSPHRASE = "lab-p12-passphrase"
K8S_NAMESPACE = "lab-certs"
SCALE_ENDPOINTS = 500
# the far family answers each ClientHello this late: a server two 25 ms round trips away
# (TCP connect, then hello -> first flight), so probes wait on the network as they do on a fleet
FAR_DELAY = 0.05
SCHEMA = 1
GARBAGE_PEM = b"-----BEGIN CERTIFICATE-----\nTUlJQ-not-base64-at-all!!@@\nZm9vYmFy\n-----END CERTIFICATE-----\n"
# sound armour and base64 around DER that is no certificate (a SEQUENCE holding one INTEGER)
NOT_A_CERT_PEM = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bytes.fromhex("3003020105") * 8) + b"-----END CERTIFICATE-----\n"
SAN_OID, POLICIES_OID = "2.5.29.17", "2.5.29.32"
POLICIES = x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier("2.23.140.1.2.1"), None)])  # CA/B domain-validated
# servers may load certificates signed with SHA-1 / MD5 / DSA only at OpenSSL security level 0
LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"
IDN_DOMAIN = "example"


def _write(path: Path, data: bytes | str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(mode)
    return path


def _idna(name: str) -> str:
    import idna  # a dependency of requests; only the generator needs it
    return idna.encode(name).decode()


# ---------------------------------------------------------------- the PKI

class Pki:
    """Every CA and certificate of the lab, built from one seed at one instant."""

    def __init__(self, seed: str, now: dt.datetime):
        self.now, self.keys = now, KeyMaker(seed)
        k, n = self.keys, now
        self.root = issue(k, "root", "Lab Root CA R2", key=k.ec("root", "secp384r1"), not_before=n - 365 * DAY, not_after=n + 3650 * DAY, ca=True)
        self.legacy_root = issue(k, "legacy_root", "Lab Legacy Root CA R1", not_before=n - 3650 * DAY, not_after=n + 365 * DAY, ca=True)
        # the current root's key and subject, signed by the legacy root, long expired: sent by a
        # server, present but unused by any verifier that trusts the current root
        self.cross = issue(k, "cross_root", "Lab Root CA R2", key=self.root.key, issuer=self.legacy_root,
                           not_before=n - 1100 * DAY, not_after=n - 30 * DAY, ca=True)
        self.inter = issue(k, "inter", "Lab Issuing CA 1", issuer=self.root, not_before=n - 180 * DAY, not_after=n + 1825 * DAY, ca=True, path_length=0)
        self.inter_expired = issue(k, "inter_expired", "Lab Issuing CA Expired", issuer=self.root,
                                   not_before=n - 800 * DAY, not_after=n - 15 * DAY, ca=True, path_length=0)
        self.untrusted = issue(k, "untrusted_root", "Untrusted Lab Root", not_before=n - 100 * DAY, not_after=n + 1000 * DAY, ca=True)
        self.client_ca = issue(k, "client_ca", "Lab Client CA", not_before=n - 100 * DAY, not_after=n + 1000 * DAY, ca=True)
        self.client = issue(k, "client", "lab-client", issuer=self.client_ca, not_before=n - DAY, not_after=n + 365 * DAY, client=True)
        self.client_expired = issue(k, "client_expired", "lab-old-client", issuer=self.client_ca,
                                    not_before=n - 400 * DAY, not_after=n - 35 * DAY, client=True)

    def legacy_cas(self) -> tuple:
        """Intermediates under the lab root that sign with legacy algorithms: an RSA one (SHA-1, MD5) and a DSA one."""
        k, n = self.keys, self.now
        rsa_ca = issue(k, "legacy_rsa_ca", "Lab Legacy RSA CA", key=k.rsa(2048), issuer=self.root,
                       not_before=n - 200 * DAY, not_after=n + 900 * DAY, ca=True, path_length=0)
        dsa_ca = issue(k, "legacy_dsa_ca", "Lab Legacy DSA CA", key=dsa.generate_private_key(2048), issuer=self.root,
                       not_before=n - 200 * DAY, not_after=n + 900 * DAY, ca=True, path_length=0)
        return rsa_ca, dsa_ca

    def legacy_leaf(self, name: str, cn: str, issuer: Issued, algorithm: str, days: tuple = (-30, 90)) -> Issued:
        """A leaf `issuer` signed with a legacy algorithm (pki.LEGACY_ALGORITHMS), which cryptography's builder refuses."""
        made = self.leaf(name, cn, issuer=issuer, days=days)
        return Issued(name, resign(made.cert, issuer.key, legacy=algorithm), made.key)

    def broken_extension_leaf(self, name: str, cn: str, oid: str, days: tuple = (-30, 90)) -> Issued:
        """A leaf under the lab intermediate whose extension `oid` (SAN or certificatePolicies) has truncated DER, signed properly."""
        made = self.leaf(name, cn, days=days, extensions=[POLICIES] if oid == POLICIES_OID else [])
        return Issued(name, resign(made.cert, self.inter.key, patch=truncate_extension(oid, made.cert)), made.key)

    def leaf(self, name: str, cn: str, *, days: tuple = (-30, 90), issuer: Issued | None = None, dns=None, ips=(), **kw) -> Issued:
        """A server certificate valid from now+days[0] to now+days[1] (issuer defaults to the lab intermediate)."""
        issuer = self.inter if issuer is None else issuer
        dns = [cn] if dns is None else dns
        return issue(self.keys, name, cn, issuer=issuer, not_before=self.now + days[0] * DAY,
                     not_after=self.now + days[1] * DAY, dns=dns, ips=ips, **kw)


# ---------------------------------------------------------------- endpoints

@dataclass
class Endpoint:
    id: str
    listener: str
    chain: list = field(default_factory=list)
    sni: str | None = None
    hostname: str | None = None
    hostname_unicode: str | None = None
    verify: str | None = "ok"
    verify_error_depth: int | None = None
    verify_path: list = field(default_factory=list)
    sni_given: str | None = None  # the server name as a user writes it (a U-label); `sni` is what goes on the wire
    weak_signatures: tuple = ()  # (depth, algorithm) of certificates signed with an algorithm cryptography refuses
    extension_errors: tuple = ()  # OIDs of the leaf's extensions whose DER is broken
    starttls: str | None = None
    tls_versions: tuple = ("TLSv1.2", "TLSv1.3")
    requires_client_cert: bool = False
    error_kind: str | None = None
    error_reason: str | None = None
    tags: tuple = ()
    description: str = ""


@dataclass
class Listener:
    id: str
    kind: str = "tls"
    chain: list = field(default_factory=list)
    protocol: str | None = None
    min_version: str = "TLSv1.2"
    max_version: str = "TLSv1.3"
    client_ca: bool = False
    sni: dict = field(default_factory=dict)  # server name -> chain
    lazy: bool = False
    ciphers: str | None = None
    threaded: bool = False  # blocking server: sends the alert when a handshake fails (asyncio drops it)
    delay: float = 0.0  # seconds before the server reads the ClientHello (simulated network distance)


class LabPlan:
    """What `up` needs: listeners for the daemon, endpoints for the ground truth, written files."""

    def __init__(self, root: Path, seed: str, now: dt.datetime, scale: bool):
        self.root, self.seed, self.now, self.scale = root, seed, now, scale
        self.pki = Pki(seed, now)
        self.listeners: list[Listener] = []
        self._key_files: dict = {}
        self.endpoints: list[Endpoint] = []
        self.certs_dir = root / "certs"
        self.ca_bundle = _write(self.certs_dir / "ca-bundle.pem", self.pki.root.pem)
        self.client_ca_file = _write(self.certs_dir / "client-ca.pem", self.pki.client_ca.pem)
        self.client_cert_file = _write(self.certs_dir / "client.pem", self.pki.client.pem)
        self.client_key_file = _write(self.certs_dir / "client.key", self.pki.client.key_pem, 0o600)

    # -- building blocks

    def path_of(self, chain: list) -> list:
        """Leaf -> trust anchor for chains the lab root anchors; the anchor comes from the bundle."""
        for intermediate in (self.pki.inter, self.pki.inter_expired):
            if chain[0].cert.issuer == intermediate.cert.subject:
                return [chain[0], intermediate, self.pki.root]
        return []

    def add(self, listener: Listener, *endpoints: Endpoint) -> None:
        self.listeners.append(listener)
        self.endpoints.extend(endpoints)

    def simple(self, ident: str, leaf: Issued, *, sni: str | None = None, chain: list | None = None, tags=(), description="", **kw) -> None:
        chain = chain if chain is not None else [leaf, self.pki.inter]
        versions = kw.pop("versions", ("TLSv1.2", "TLSv1.3"))
        self.add(Listener(ident, chain=chain, min_version=versions[0], max_version=versions[-1]),
                 Endpoint(ident, ident, chain=chain, sni=sni, tls_versions=versions, tags=tags, description=description, **kw))

    # -- the cases

    def build_endpoints(self) -> None:
        p, d = self.pki, LAB_DOMAIN
        valid = p.leaf("valid", f"valid.{d}", key=p.keys.rsa(2048), days=(-30, 90))
        self.simple("valid", valid, sni=f"valid.{d}", tags=("rsa",), description="valid chain: RSA leaf, lab intermediate, lab root in the bundle")
        self.simple("expired_leaf", p.leaf("expired_leaf", f"expired.{d}", days=(-100, -10)), sni=f"expired.{d}",
                    verify="expired", verify_error_depth=0, tags=("expired_leaf",), description="leaf expired 10 days ago, chain otherwise valid")
        under_expired = p.leaf("expired_intermediate", f"under-expired-ca.{d}", issuer=p.inter_expired, days=(-30, 60))
        self.simple("expired_intermediate", under_expired, sni=f"under-expired-ca.{d}", chain=[under_expired, p.inter_expired],
                    verify="expired", verify_error_depth=1, tags=("expired_intermediate",),
                    description="valid leaf issued by an intermediate that expired 15 days ago")
        self.simple("not_yet_valid", p.leaf("not_yet_valid", f"future.{d}", days=(10, 100)), sni=f"future.{d}",
                    verify="not_yet_valid", verify_error_depth=0, tags=("not_yet_valid",), description="leaf valid from 10 days from now")
        self_signed = issue(p.keys, "self_signed", f"self-signed.{d}", not_before=self.now - 10 * DAY, not_after=self.now + 355 * DAY, dns=[f"self-signed.{d}"])
        self.simple("self_signed", self_signed, sni=f"self-signed.{d}", chain=[self_signed], verify="self_signed", verify_error_depth=0,
                    tags=("self_signed",), description="self-signed leaf, not a CA")
        untrusted = p.leaf("unknown_ca", f"untrusted.{d}", issuer=p.untrusted, days=(-5, 200))
        self.simple("unknown_ca", untrusted, sni=f"untrusted.{d}", chain=[untrusted], verify="unknown_ca", verify_error_depth=0,
                    tags=("unknown_ca",), description="leaf issued by a root outside the lab bundle")
        self.simple("near_expiry_5d", p.leaf("near_5d", f"soon5.{d}", days=(-85, 5)), sni=f"soon5.{d}", tags=("near_expiry",), description="leaf expires in 5 days")
        self.simple("near_expiry_20d", p.leaf("near_20d", f"soon20.{d}", days=(-70, 20)), sni=f"soon20.{d}", tags=("near_expiry",), description="leaf expires in 20 days")
        self.simple("cn_only", p.leaf("cn_only", f"cn-only.{d}", san=False), sni=f"cn-only.{d}", tags=("cn_only",),
                    description="no subjectAltName: only a checker with CN fallback matches the name")
        self.simple("hostname_mismatch", p.leaf("mismatch", f"other.{d}"), sni=f"mismatch.{d}", tags=("hostname_mismatch",),
                    description="valid chain for other.lab.test, asked for mismatch.lab.test")
        cross_leaf = p.leaf("cross_leaf", f"cross.{d}", days=(-30, 120))
        self.simple("cross_signed", cross_leaf, sni=f"cross.{d}", chain=[cross_leaf, p.inter, p.cross], tags=("cross_signed",),
                    description="server also sends the current root cross-signed by the legacy root; that cert expired 30 days ago and no verifier uses it")
        self.simple("tls12_only", p.leaf("tls12", f"tls12.{d}"), sni=f"tls12.{d}", versions=("TLSv1.2",), tags=("tls12_only",), description="TLS 1.2 only")
        legacy = p.leaf("legacy_tls10", f"legacy.{d}", days=(-300, 65))
        self.add(Listener("legacy_tls10", chain=[legacy, p.inter], min_version="TLSv1", max_version="TLSv1", ciphers="DEFAULT:@SECLEVEL=0", threaded=True),
                 Endpoint("legacy_tls10", "legacy_tls10", [legacy, p.inter], sni=f"legacy.{d}", tls_versions=("TLSv1",),
                          error_kind="tls_version", error_reason="legacy_only", tags=("legacy_tls", "failing"),
                          description="TLS 1.0 only: a default client fails (protocol_version); one allowing TLS 1.0 at SECLEVEL=0 reads the chain"))
        self._wildcard_ip_idn()
        self._legacy_and_broken()
        self._idn_u_labels()
        self._sni()
        self._mtls()
        self._starttls()
        self._failing()
        if self.scale:
            self._scale()

    def _wildcard_ip_idn(self) -> None:
        p, d = self.pki, LAB_DOMAIN
        wildcard = p.leaf("wildcard", f"*.{d}", days=(-10, 180))
        self.add(Listener("wildcard", chain=[wildcard, p.inter]),
                 Endpoint("wildcard", "wildcard", [wildcard, p.inter], sni=f"www.{d}", tags=("wildcard",), description="*.lab.test asked as www.lab.test"),
                 Endpoint("wildcard_two_labels", "wildcard", [wildcard, p.inter], sni=f"a.b.{d}", tags=("wildcard", "hostname_mismatch"),
                          description="*.lab.test does not cover a.b.lab.test"),
                 Endpoint("wildcard_apex", "wildcard", [wildcard, p.inter], sni=d, tags=("wildcard", "hostname_mismatch"),
                          description="*.lab.test does not cover lab.test"))
        ip_leaf = p.leaf("ip_san", "lab ip-only endpoint", dns=[], ips=["127.0.0.1"], days=(-10, 150))
        self.add(Listener("ip_san", chain=[ip_leaf, p.inter]),
                 Endpoint("ip_san", "ip_san", [ip_leaf, p.inter], tags=("ip_san",), description="only an iPAddress SAN 127.0.0.1; no SNI sent"),
                 Endpoint("ip_san_by_name", "ip_san", [ip_leaf, p.inter], sni="localhost", tags=("ip_san", "hostname_mismatch"),
                          description="an IP SAN never matches a DNS name"))
        unicode_names = [f"bücher.{d}", f"straße.{d}"]
        a_labels = [_idna(n) for n in unicode_names]
        idn_leaf = p.leaf("idn", a_labels[0], dns=a_labels, days=(-10, 210))
        self.add(Listener("idn", chain=[idn_leaf, p.inter]),
                 *(Endpoint(ident, "idn", [idn_leaf, p.inter], sni=a, hostname_unicode=u, tags=("idn",),
                            description=f"IDN {u} as the IDNA2008 A-label {a}")
                   for ident, a, u in zip(("idn", "idn_sharp_s"), a_labels, unicode_names)))

    def _legacy_and_broken(self) -> None:
        """Signatures cryptography refuses (SHA-1, MD5, DSA) and a truncated SAN: linked, judged, never `ok`."""
        p, d = self.pki, LAB_DOMAIN
        rsa_ca, dsa_ca = self.legacy_cas = p.legacy_cas()
        cases = (("weak_sha1", rsa_ca, "sha1WithRSAEncryption", (-30, 90), None),
                 ("weak_sha1_expired", rsa_ca, "sha1WithRSAEncryption", (-90, -3), "expired"),
                 ("weak_md5", rsa_ca, "md5WithRSAEncryption", (-30, 120), None),
                 ("weak_dsa", dsa_ca, "dsa_with_SHA1", (-30, 150), None))
        for ident, ca, algorithm, days, date_verdict in cases:
            server_name = f"{ident.replace('_', '-')}.{d}"
            leaf = p.legacy_leaf(ident, server_name, ca, algorithm, days=days)
            name = describe(leaf.cert)["signature_algorithm"]
            self.add(Listener(ident, chain=[leaf, ca], ciphers=LEGACY_CIPHERS),
                     Endpoint(ident, ident, [leaf, ca], sni=server_name,
                              verify=date_verdict or "weak_signature_algorithm", verify_error_depth=0, weak_signatures=((0, name),),
                              tags=("weak_signature",) + (("expired_leaf",) if date_verdict else ()),
                              description=f"leaf signed with {name} by {ca.cert.subject.rfc4514_string()}"
                                          + (": expired, and the dates still decide the verdict" if date_verdict else "")))
        # OpenSSL refuses to serve a certificate whose SAN does not decode; it serves one with broken certificatePolicies,
        # which cryptography refuses as it refuses a broken SAN: every extension of that certificate becomes unreadable
        broken = p.broken_extension_leaf("bad_extension", f"bad-extension.{d}", POLICIES_OID, days=(-20, 100))
        self.simple("bad_extension", broken, sni=f"bad-extension.{d}", verify="malformed_extension", verify_error_depth=0,
                    extension_errors=(POLICIES_OID,), tags=("malformed_extension",),
                    description="the leaf's certificatePolicies DER is truncated (re-signed by the lab intermediate): never ok, hostname not judged")
        self.broken_san = p.broken_extension_leaf("file_bad_san", f"bad-san.{d}", SAN_OID, days=(-20, 100))

    def _idn_u_labels(self) -> None:
        """A server that answers only the A-label SNI with leaf + intermediate; other names get a lone default leaf."""
        p = self.pki
        default = p.leaf("idn_u_default", f"idn-default.{LAB_DOMAIN}", issuer=p.untrusted, days=(-10, 300))
        unicode_names = [f"bücher.{IDN_DOMAIN}", f"straße.{IDN_DOMAIN}"]
        a_labels = [_idna(n) for n in unicode_names]
        leaf = p.leaf("idn_u_label", a_labels[0], dns=a_labels, days=(-10, 230))
        self.add(Listener("idn_u_label", chain=[default], sni={a: [leaf, p.inter] for a in a_labels}),
                 *(Endpoint(ident, "idn_u_label", [leaf, p.inter], sni=a, sni_given=u, hostname_unicode=u, tags=("idn", "idn_u_label"),
                            description=f"SNI given as the U-label {u}: must go out as the A-label {a} (IDNA2008), which alone selects leaf + intermediate")
                   for ident, a, u in zip(("idn_u_label", "idn_u_label_sharp_s"), a_labels, unicode_names)))

    def _sni(self) -> None:
        p, d = self.pki, LAB_DOMAIN
        default = p.leaf("sni_default", f"sni-default.{d}", days=(-10, 250))
        alt_a = p.leaf("sni_a", f"a.sni.{d}", days=(-60, 30))
        alt_b = p.leaf("sni_b", f"b.sni.{d}", days=(-5, 300))
        chains = {f"a.sni.{d}": [alt_a, p.inter], f"b.sni.{d}": [alt_b, p.inter]}
        self.add(Listener("sni", chain=[default, p.inter], sni=chains),
                 Endpoint("sni_default", "sni", [default, p.inter], tags=("sni",), description="no SNI: the default certificate"),
                 Endpoint("sni_a", "sni", chains[f"a.sni.{d}"], sni=f"a.sni.{d}", tags=("sni",), description="SNI a.sni.lab.test selects its own certificate"),
                 Endpoint("sni_b", "sni", chains[f"b.sni.{d}"], sni=f"b.sni.{d}", tags=("sni",), description="SNI b.sni.lab.test selects its own certificate"),
                 Endpoint("sni_unknown", "sni", [default, p.inter], sni=f"zzz.sni.{d}", tags=("sni", "hostname_mismatch"),
                          description="unknown SNI falls back to the default certificate"))

    def _mtls(self) -> None:
        p, d = self.pki, LAB_DOMAIN
        leaf = p.leaf("mtls", f"mtls.{d}", days=(-20, 160))
        for ident, version, how in (("mtls_tls12", "TLSv1.2", "sent in plaintext before the server asks for the client's"),
                                    ("mtls_tls13", "TLSv1.3", "readable: the client's handshake completes, the alert comes on the first read")):
            self.add(Listener(ident, chain=[leaf, p.inter], min_version=version, max_version=version, client_ca=True),
                     Endpoint(ident, ident, [leaf, p.inter], sni=f"mtls.{d}", tls_versions=(version,), requires_client_cert=True,
                              error_kind="client_cert_required", error_reason="client_cert_required", tags=("mtls", "failing"),
                              description=f"demands a client certificate ({version}); server chain {how}"))

    def _starttls(self) -> None:
        p, d = self.pki, LAB_DOMAIN
        for protocol, days in (("smtp", 45), ("imap", 90), ("pop3", 120), ("ftp", 150), ("postgres", 12), ("mysql", 365),
                               ("ldap", 200), ("xmpp", 75), ("xmpp-server", 33)):
            leaf = p.leaf(f"starttls_{protocol}", f"{protocol}.{d}", days=(-30, days))
            ident = f"starttls_{protocol}"
            self.add(Listener(ident, kind="starttls", protocol=protocol, chain=[leaf, p.inter]),
                     Endpoint(ident, ident, [leaf, p.inter], sni=f"{protocol}.{d}", starttls=protocol, tags=("starttls",),
                              description=f"{protocol} upgraded to TLS in-protocol; leaf expires in {days} days"))

    def _failing(self) -> None:
        for ident, kind, error_kind, reason, description in (
                ("hang", "hang", "timeout", "no_response", "accepts the TCP connection and never sends a byte"),
                ("reset", "reset", "reset", "reset", "accepts, then closes with SO_LINGER 0 (RST)"),
                ("plain_http", "http", "handshake", "not_tls", "plain HTTP server on a port checked as TLS")):
            self.add(Listener(ident, kind=kind),
                     Endpoint(ident, ident, sni=f"{ident.replace('_', '-')}.{LAB_DOMAIN}", verify=None, tls_versions=(),
                              error_kind=error_kind, error_reason=reason, tags=("failing",), description=description))
        # refused: a port is allocated after the daemon binds, then closed (see components/tls.py)
        self.endpoints.append(Endpoint("refused", "refused", sni=f"refused.{LAB_DOMAIN}", verify=None, tls_versions=(),
                                       error_kind="refused", error_reason="refused", tags=("failing",),
                                       description="allocated at up() and closed: nothing listens"))

    def _scale(self) -> None:
        p = self.pki
        scale_key = p.keys.ec("scale")
        for i in range(SCALE_ENDPOINTS):
            days = -30 + (i * 430) // (SCALE_ENDPOINTS - 1)
            ident = f"scale_{i:03d}"
            # one key for all: 500 derivations and key files would only slow `up` down
            leaf = p.leaf(ident, f"scale-{i:03d}.{LAB_DOMAIN}", days=(min(days, 0) - 365, days), key=scale_key)
            expired = days <= 0
            # the same leaf twice: on loopback speed (CPU-bound) and FAR_DELAY away (network-bound)
            for family, delay, tags, where in (("scale", 0.0, ("scale",), ""),
                                               ("far", FAR_DELAY, ("scale", "far"), f", answers after {int(FAR_DELAY * 1000)} ms")):
                name = f"{family}_{i:03d}"
                self.listeners.append(Listener(name, chain=[leaf, p.inter], lazy=True, delay=delay))
                self.endpoints.append(Endpoint(name, name, [leaf, p.inter], sni=f"scale-{i:03d}.{LAB_DOMAIN}",
                                               verify="expired" if expired else "ok", verify_error_depth=0 if expired else None,
                                               tags=tags, description=f"benchmark endpoint, leaf expires in {days} days{where}"))

    # -- daemon configuration

    def _chain_files(self, name: str, chain: list) -> dict:
        cert = _write(self.certs_dir / "servers" / f"{name}.chain.pem", b"".join(c.pem for c in chain))
        key_name = self._key_files.get(id(chain[0].key))
        if key_name is None:
            key_name = self._key_files[id(chain[0].key)] = str(_write(self.certs_dir / "servers" / f"{name}.key", chain[0].key_pem, 0o600))
        key = key_name
        return {"cert": str(cert), "key": str(key)}

    def server_config(self, ports_file: Path) -> dict:
        listeners = []
        for lst in self.listeners:
            spec = {"id": lst.id, "kind": lst.kind, "protocol": lst.protocol, "min_version": lst.min_version,
                    "max_version": lst.max_version, "lazy": lst.lazy, "ciphers": lst.ciphers, "threaded": lst.threaded,
                    "delay": lst.delay}
            if lst.chain:
                spec.update(self._chain_files(lst.id, lst.chain))
            if lst.client_ca:
                spec["client_ca"] = str(self.client_ca_file)
            if lst.sni:
                spec["sni"] = {name: self._chain_files(f"{lst.id}-{name}", chain) for name, chain in lst.sni.items()}
            listeners.append(spec)
        return {"ports_file": str(ports_file), "listeners": listeners}

    # -- ground truth

    def targets(self, ports: dict) -> dict:
        rows = [self._endpoint_truth(e, ports[e.listener]) for e in self.endpoints]
        return {"schema": SCHEMA, "generated_at": iso(self.now), "generated_at_epoch": int(self.now.timestamp()),
                "ca_bundle": str(self.ca_bundle), "client_cert": str(self.client_cert_file), "client_key": str(self.client_key_file),
                "endpoints": sorted(rows, key=lambda r: r["id"])}

    def _endpoint_truth(self, e: Endpoint, port: int) -> dict:
        host = "127.0.0.1"
        hostname = e.sni or host
        chain = [describe(c.cert) for c in e.chain]
        path = [describe(c.cert) for c in self.path_of(e.chain)] if e.chain and e.verify == "ok" else []
        leaf = e.chain[0].cert if e.chain else None
        judged = leaf is not None and extensions_parse(leaf)  # extensions that do not parse: the hostname cannot be judged
        versions = list(e.tls_versions)
        return {
            "id": e.id, "host": host, "port": port, "sni": e.sni, "sni_given": e.sni_given or e.sni, "starttls": e.starttls,
            "weak_signatures": [{"depth": depth, "algorithm": name} for depth, name in e.weak_signatures],
            "extension_errors": list(e.extension_errors),
            "chain": chain, "chain_readable": bool(chain),
            "verify": e.verify, "verify_error_depth": e.verify_error_depth,
            "verify_path": [c["sha256"] for c in path],
            "earliest_not_after": min((c["not_after"] for c in chain), default=None),
            "earliest_not_after_path": min((c["not_after"] for c in path), default=None),
            "hostname": hostname, "hostname_unicode": e.hostname_unicode or hostname,
            "hostname_match": hostname_match(leaf, hostname) if judged else None,
            "hostname_match_cn_fallback": hostname_match(leaf, hostname, cn_fallback=True) if judged else None,
            "tls_version": versions[-1] if versions else None, "tls_versions": versions,
            "requires_client_cert": e.requires_client_cert,
            "error_kind": e.error_kind, "error_reason": e.error_reason,
            "tags": sorted(set(e.tags)), "description": e.description,
        }


# ---------------------------------------------------------------- certificate files

def _junk_bundle(items: list) -> bytes:
    out = [b"Bag of certificates pasted by hand; openssl-style headers and comments in between.\n\n"]
    for i, item in enumerate(items):
        out.append(f"subject={item.cert.subject.rfc4514_string()}\nissuer={item.cert.issuer.rfc4514_string()}\n".encode())
        out.append(item.pem)
        out.append(f"# ---- end of item {i}; junk follows ----\nnot base64: %$#@!\n\n".encode())
    return b"".join(out)


class FileSet:
    """Certificate files on disk plus what a checker must read from each."""

    def __init__(self, plan: LabPlan):
        self.plan, self.dir = plan, plan.root / "files"
        self.rows: list = []

    def add(self, rel: str, data: bytes | None, certs: list, fmt: str, *, error=None, tags=(), description="", **extra) -> None:
        path = self.dir / rel
        if data is not None:
            _write(path, data)
        self.rows.append({"path": rel, "abs_path": str(path), "format": fmt, "certs": [describe(c.cert) for c in certs],
                          "error": error, "tags": sorted(tags), "description": description, **extra})

    def build(self) -> dict:
        p, d = self.plan.pki, LAB_DOMAIN
        now = self.plan.now
        leaf = p.leaf("file_leaf", f"files.{d}", days=(-40, 140))
        old = p.leaf("rotation_old", f"rotated.{d}", days=(-400, -2))
        new = p.leaf("rotation_new", f"rotated.{d}", days=(-3, 362))
        expired = p.leaf("file_expired", f"file-expired.{d}", days=(-200, -20))
        self.add("bundle-with-junk.pem", _junk_bundle([leaf, p.inter, p.root]), [leaf, p.inter, p.root], "pem",
                 tags=("bundle",), description="leaf, intermediate, root with openssl headers and junk text between")
        self.add("bundle-crlf.pem", (leaf.pem + p.inter.pem).replace(b"\n", b"\r\n"), [leaf, p.inter], "pem",
                 tags=("bundle", "crlf"), description="two certs, Windows line endings")
        self.add("rotation.pem", old.pem + new.pem, [old, new], "pem", tags=("bundle", "rotation"),
                 description="old (expired) and new cert for the same name: report both, never only the first")
        self.add("server-combined.pem", leaf.key_pem + leaf.pem + p.inter.pem, [leaf, p.inter], "pem",
                 tags=("bundle", "with_key"), description="private key followed by the chain")
        self.add("expired.crt", expired.pem, [expired], "pem", tags=("expired",), description="a single expired leaf")
        self.add("leaf.der", leaf.der, [leaf], "der", tags=("der",), description="DER, one certificate")
        p12 = pkcs12.serialize_key_and_certificates(b"lab-keystore", leaf.key, leaf.cert, [p.inter.cert],
                                                    serialization.BestAvailableEncryption(P12_PASSPHRASE.encode()))
        self.add("keystore.p12", p12, [leaf, p.inter], "pkcs12", passphrase=P12_PASSPHRASE, wrong_passphrase_error="bad_passphrase",
                 tags=("pkcs12",), description="PKCS#12 (key, leaf, intermediate) protected by `passphrase`")
        self._pkcs7(leaf)
        self.add("garbage.pem", GARBAGE_PEM, [], "pem", error="bad_pem", tags=("broken",), description="PEM armour around bytes that are not base64 DER")
        self.add("good-then-garbage.pem", expired.pem + GARBAGE_PEM, [expired], "pem", error="bad_pem", tags=("broken", "bundle"),
                 description="one readable cert, then a broken block: report the cert and the error")
        self.add("not-a-cert.pem", b"this file holds no certificate at all\n", [], "pem", error="no_certificate_found", tags=("broken",),
                 description="text without PEM blocks")
        self.add("key-only.pem", leaf.key_pem, [], "pem", error="no_certificate_found", tags=("broken", "with_key"),
                 description="a private key only")
        self.add("empty.pem", b"", [], "pem", error="no_certificate_found", tags=("broken",), description="zero bytes")
        self.add("garbage.der", b"\x30\x82\x01\x00" + bytes(range(64)), [], "der", error="decode_failed", tags=("broken", "der"),
                 description="DER SEQUENCE header followed by junk")
        self._legacy_and_broken(leaf, expired)
        link = self.dir / "broken-link.pem"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("does-not-exist.pem")
        self.add("broken-link.pem", None, [], "pem", error="broken_symlink", tags=("broken", "symlink"),
                 description="symlink to a missing file")
        self._kubeconfig()
        self._tree(leaf, expired, new)
        globs = [self._glob(pattern) for pattern in ("tree/**/*.pem", "tree/*/*.pem", "tree/**/*.crt", "*.pem")]
        return {"schema": SCHEMA, "files_dir": str(self.dir), "generated_at": iso(now),
                "files": sorted(self.rows, key=lambda r: r["path"]), "globs": globs,
                "note": "no permission_denied case: the lab runs as root, which reads mode-000 files"}

    def _legacy_and_broken(self, leaf: Issued, expired: Issued) -> None:
        """Weak signatures, a truncated SAN, PEM faults: `verify`, `extension_errors` and `errors` (reasons in file order) say what to expect."""
        p, plan = self.plan.pki, self.plan
        rsa_ca, _dsa_ca = plan.legacy_cas
        sha1 = p.legacy_leaf("file_weak_sha1", f"file-sha1.{LAB_DOMAIN}", rsa_ca, "sha1WithRSAEncryption", days=(-30, 200))
        self.add("weak-sha1.pem", sha1.pem + rsa_ca.pem, [sha1, rsa_ca], "pem", verify="weak_signature_algorithm", tags=("weak_signature",),
                 weak_signatures=[{"depth": 0, "algorithm": "sha1WithRSAEncryption"}],
                 description="leaf signed with SHA-1 RSA by a lab intermediate: linked to it, verdict weak_signature_algorithm")
        self.add("bad-san.pem", plan.broken_san.pem + p.inter.pem, [plan.broken_san, p.inter], "pem", verify="malformed_extension",
                 extension_errors=[SAN_OID], tags=("malformed_extension",),
                 description="leaf whose subjectAltName DER is truncated: dates reported, never ok")
        half = b"".join(leaf.pem.splitlines(keepends=True)[:6])  # BEGIN line and a few base64 lines, no END
        self.add("pem-unterminated.pem", expired.pem + half + leaf.pem, [expired, leaf], "pem", error="pem_unterminated",
                 errors=["pem_unterminated"], tags=("broken", "bundle"),
                 description="a BEGIN without END between two good certificates: its own error, both good ones reported")
        self.add("pem-der-invalid.pem", leaf.pem + NOT_A_CERT_PEM + GARBAGE_PEM, [leaf], "pem", error="decode_failed",
                 errors=["decode_failed", "bad_pem"], tags=("broken", "bundle"),
                 description="a block whose base64 is fine but whose DER is no certificate (decode_failed), then broken armour (bad_pem)")

    def _pkcs7(self, leaf: Issued) -> None:
        """A .p7b bundle, DER and PEM-armoured. PKCS#7 holds a SET: the truth lists the certificates
        in the order their bytes appear in the file, whatever order the encoder chose."""
        chain = [leaf, self.plan.pki.inter, self.plan.pki.root]
        der = pkcs7.serialize_certificates([c.cert for c in chain], serialization.Encoding.DER)
        in_file = sorted(chain, key=lambda c: der.find(c.der))
        assert all(der.find(c.der) >= 0 for c in chain)
        self.add("chain.p7b", der, in_file, "pkcs7", tags=("pkcs7", "bundle"), description="PKCS#7 bundle (DER): leaf, intermediate, root")
        armoured = b"-----BEGIN PKCS7-----\n" + base64.encodebytes(der) + b"-----END PKCS7-----\n"
        self.add("chain-p7b.pem", armoured, in_file, "pem", tags=("pkcs7", "bundle"), description="the same PKCS#7 bundle, PEM-armoured")

    def _kubeconfig(self) -> None:
        p = self.plan.pki

        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode()
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "lab",
            "clusters": [{"name": "lab", "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": b64(p.root.pem)}}],
            "users": [{"name": "lab-admin", "user": {"client-certificate-data": b64(p.client.pem), "client-key-data": b64(p.client.key_pem)}},
                      {"name": "lab-old", "user": {"client-certificate-data": b64(p.client_expired.pem), "client-key-data": b64(p.client_expired.key_pem)}}],
            "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab-admin"}},
                         {"name": "lab-old", "context": {"cluster": "lab", "user": "lab-old"}}],
        }
        items = [("clusters[lab].certificate-authority-data", p.root), ("users[lab-admin].client-certificate-data", p.client),
                 ("users[lab-old].client-certificate-data", p.client_expired)]
        self.add("kubeconfig.yaml", yaml.safe_dump(config, sort_keys=False).encode(), [c for _, c in items], "kubeconfig",
                 items=[{"where": where, "sha256": describe(c.cert)["sha256"]} for where, c in items],
                 tags=("kubeconfig",), description="embedded CA and client certificates (one client cert expired)")

    def _tree(self, leaf: Issued, expired: Issued, new: Issued) -> None:
        p = self.plan.pki
        for rel, data, certs, fmt in (("tree/a/one.pem", leaf.pem, [leaf], "pem"),
                                      ("tree/a/b/two.crt", expired.pem, [expired], "pem"),
                                      ("tree/a/b/c/three.pem", new.pem + p.inter.pem, [new, p.inter], "pem"),
                                      ("tree/d/four.cer", new.der, [new], "der"),
                                      ("tree/.hidden/five.pem", p.root.pem, [p.root], "pem")):
            self.add(rel, data, certs, fmt, tags=("tree",), description="glob test tree")
        self.add("tree/d/readme.txt", b"not a certificate; only globs that match *.txt pick this up\n", [], "unknown",
                 error="no_certificate_found", tags=("tree",), description="glob test tree: no certificate")

    def _glob(self, pattern: str) -> dict:
        # Python glob semantics: `**` spans directories, hidden ones (".hidden") are not matched
        matches = sorted(glob.glob(pattern, root_dir=self.dir, recursive=True))
        return {"pattern": pattern, "root": str(self.dir), "recursive": True, "include_hidden": False, "matches": matches}


# ---------------------------------------------------------------- Kubernetes Secrets

def k8s_secrets(plan: LabPlan) -> tuple[list, dict]:
    """A Namespace and Secrets (manifest documents) plus their ground truth."""
    p, d = plan.pki, LAB_DOMAIN
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": K8S_NAMESPACE, "labels": {"sre-toolkit-lab": "certs"}}}]
    truth = []

    def secret(name, type_, data: dict, certs: dict, *, annotations=None, tags=(), description=""):
        meta = {"name": name, "namespace": K8S_NAMESPACE, "labels": {"sre-toolkit-lab": "certs"}}
        if annotations:
            meta["annotations"] = annotations
        docs.append({"apiVersion": "v1", "kind": "Secret", "type": type_, "metadata": meta,
                     "data": {k: base64.b64encode(v).decode() for k, v in sorted(data.items())}})
        truth.append({"namespace": K8S_NAMESPACE, "name": name, "type": type_, "annotations": annotations or {},
                      "labels": meta["labels"], "keys": certs, "tags": sorted(tags), "description": description})

    def found(*items):
        return {"certs": [describe(i.cert) for i in items], "error": None}

    for name, days in (("tls-expired", -3), ("tls-5d", 5), ("tls-20d", 20), ("tls-200d", 200)):
        leaf = p.leaf(f"secret_{name}", f"{name}.{K8S_NAMESPACE}.{d}", days=(days - 90 if days > 0 else -90, days))
        secret(name, "kubernetes.io/tls", {"tls.crt": leaf.pem + p.inter.pem, "tls.key": leaf.key_pem},
               {"tls.crt": found(leaf, p.inter)}, tags=("tls", "expired" if days < 0 else "near_expiry" if days <= 30 else "valid"),
               description=f"kubernetes.io/tls, leaf + intermediate, leaf expires in {days} days")
    secret("ca-bundle", "Opaque", {"ca.crt": p.root.pem + p.client_ca.pem}, {"ca.crt": found(p.root, p.client_ca)},
           tags=("ca",), description="Opaque Secret carrying two CA certificates in ca.crt")
    cm_leaf = p.leaf("secret_cert_manager", f"web.{K8S_NAMESPACE}.{d}", days=(-30, 60))
    secret("web-tls", "kubernetes.io/tls", {"tls.crt": cm_leaf.pem + p.inter.pem, "tls.key": cm_leaf.key_pem, "ca.crt": p.root.pem},
           {"tls.crt": found(cm_leaf, p.inter), "ca.crt": found(p.root)},
           annotations={"cert-manager.io/certificate-name": "web", "cert-manager.io/issuer-name": "lab-issuer",
                        "cert-manager.io/issuer-kind": "ClusterIssuer", "cert-manager.io/issuer-group": "cert-manager.io",
                        "cert-manager.io/common-name": f"web.{K8S_NAMESPACE}.{d}", "cert-manager.io/alt-names": f"web.{K8S_NAMESPACE}.{d}"},
           tags=("tls", "cert_manager"), description="issued by cert-manager (annotations only; no cert-manager runs in the lab)")
    broken_key = p.leaf("secret_broken", f"broken.{K8S_NAMESPACE}.{d}").key_pem
    secret("tls-broken", "kubernetes.io/tls", {"tls.crt": GARBAGE_PEM, "tls.key": broken_key}, {"tls.crt": {"certs": [], "error": "bad_pem"}},
           tags=("tls", "broken"), description="tls.crt is PEM armour around junk")
    return docs, {"schema": SCHEMA, "namespace": K8S_NAMESPACE, "generated_at": iso(plan.now), "seed": plan.seed,
                  "secrets": sorted(truth, key=lambda t: t["name"])}


# ---------------------------------------------------------------- entry point for components/tls.py

def generate(root: Path, seed: str, scale: bool, now: dt.datetime | None = None) -> LabPlan:
    """Write certs/, files/, k8s/ under `root`; return the plan (targets need ports, written later)."""
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    plan = LabPlan(root, seed, now, scale)
    plan.build_endpoints()
    files_truth = FileSet(plan).build()
    plan.files_ground_truth = _write(root / "files-ground-truth.json", json.dumps(files_truth, indent=2, sort_keys=True))
    plan.k8s_manifest, plan.k8s_ground_truth = root / "k8s" / "secrets.yaml", root / "k8s" / "secrets-ground-truth.json"
    if not _reusable_secrets(plan):
        docs, secrets_truth = k8s_secrets(plan)
        _write(plan.k8s_manifest, yaml.safe_dump_all(docs, sort_keys=True), 0o600)
        _write(plan.k8s_ground_truth, json.dumps(secrets_truth, indent=2, sort_keys=True))
    plan.files_dir = root / "files"
    return plan


def _reusable_secrets(plan: LabPlan) -> bool:
    """Keep an earlier Secrets manifest (same seed and schema) across regenerations.

    The k8s component applies it once, when the cluster starts; a new manifest written while
    the cluster keeps running would leave the cluster's Secrets out of step with the ground
    truth. Each manifest is consistent with its own ground truth (absolute dates), so reusing
    it is safe. Delete <state>/tls/k8s to force new Secrets.
    """
    try:
        truth = json.loads(plan.k8s_ground_truth.read_text())
    except (OSError, ValueError):
        return False
    return plan.k8s_manifest.exists() and truth.get("schema") == SCHEMA and truth.get("seed") == plan.seed
