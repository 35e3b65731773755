#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_expiry
short_description: Report every certificate from TLS endpoints, files and Kubernetes Secrets, with chains, hostnames and expiry
version_added: 1.0.0
description:
  - Scans, in one call, any mix of TLS endpoints (O(endpoints)), certificate files on the host (O(paths)) and
    Kubernetes Secrets (O(secrets)), and reports every certificate with its dates, the days left and a severity.
  - The handshake never verifies anything, so expired, untrusted or self-signed certificates, and servers that
    demand a client certificate, still report their dates. Verification happens afterwards, offline, against the
    system trust store or O(ca_bundle), at a chosen O(validation_time), so you can ask whether a chain will still
    verify in N days (O(verify_in_days)).
  - Endpoints report the chain exactly as the server sent it (TLS 1.3 included), the negotiated TLS version, the
    verification result and reason, the verified path and the sent certificates that path does not use (a stale
    cross-signed root), the hostname match (RFC 6125 rules), and an RV(endpoints[].error_kind) on failure.
  - Files may be PEM bundles (every certificate is reported), DER, PKCS#12 (with O(passphrase)), PKCS#7 (V(.p7b), DER
    or PEM) or kubeconfigs with embedded certificates. Each unreadable item yields one error, and the rest of the scan still reports.
  - Secret data is never returned; only certificate facts, Secret names, labels and cert-manager annotations.
  - Only reads. Runs on any host with Python and the C(cryptography) library; the C(kubernetes) library is needed
    only with O(secrets).
author:
  - sre.toolkit maintainers (@sre-toolkit)
extends_documentation_fragment:
  - sre.toolkit._k8s_auth
  - sre.toolkit._attributes
  - sre.toolkit._attributes.INFO_MODULE
  - sre.toolkit._requirements.CRYPTOGRAPHY
options:
  endpoints:
    description:
      - TLS endpoints to probe. Each is a string V(host:port) (V([2001:db8::1]:443) for IPv6; the port defaults to
        443, or to the protocol's port with STARTTLS), a URL whose scheme sets the default port and STARTTLS
        (V(https://), V(ldaps://), V(smtps://), V(imaps://), V(pop3s://), V(ftps://), V(wss://); V(smtp://) and
        V(submission://), V(imap://), V(pop3://), V(ftp://), V(postgres://) or V(postgresql://), V(mysql://),
        V(ldap://) and V(xmpp://) with STARTTLS; user, path and query are ignored), or a dictionary with the keys C(host) (name or IP address),
        C(port) (1 to 65535), C(sni) (server name to send and to check the certificate against; defaults to C(host) when
        that is a name, none for an IP address), C(starttls) (overrides O(starttls)), C(name) (identifier in the results,
        default V(host:port)) and C(all_addresses) (overrides O(all_addresses)).
      - A bad entry (unparsable, port out of range) becomes one error in RV(endpoints) and the others are still scanned.
    type: list
    elements: raw
    default: []
  starttls:
    description: Default STARTTLS protocol for endpoints that do not set one.
    type: str
    choices: [smtp, imap, pop3, ftp, postgres, mysql, ldap, xmpp, xmpp-server]
  all_addresses:
    description: Probe every address a name resolves to (each can serve a different certificate), not only the first.
    type: bool
    default: false
  paths:
    description:
      - Certificate files, folders (read recursively, hidden entries skipped unless O(include_hidden=true)) or glob
        patterns (V(**) recurses; shell rules for hidden entries).
      - Each element is a path string or a dictionary with C(path) and an optional C(passphrase) for PKCS#12 files.
      - A path or pattern that matches nothing is reported as one error (C(not_found)).
    type: list
    elements: raw
    default: []
  passphrase:
    description: Passphrase for PKCS#12 files whose O(paths) entry gives none.
    type: str
  include_hidden:
    description: Also read hidden files and folders when a folder is given in O(paths).
    type: bool
    default: false
  secrets:
    description:
      - Scan Kubernetes Secrets that carry certificates (C(tls.crt), C(ca.crt), keys ending in C(.crt), C(.pem), C(.cer),
        C(.der), or any value holding a PEM certificate). Private keys are never read. Uses the Kubernetes connection options.
    type: dict
    suboptions:
      namespaces:
        description: Namespaces to read; empty means all namespaces.
        type: list
        elements: str
        default: []
      label_selector:
        description: Label selector, for example V(app=web,tier!=cache).
        type: str
      types:
        description: Secret types to include, for example V(kubernetes.io/tls); empty means every type.
        type: list
        elements: str
        default: []
  ca_bundle:
    description:
      - PEM file of trust anchors to verify against. Defaults to the system trust store of the host running the module.
    type: path
  validation_time:
    description:
      - Time at which chains are verified, as ISO-8601 (V(2027-01-31T00:00:00Z)) or epoch seconds. Defaults to now.
      - Days left and severities are always counted from now.
    type: str
  verify_in_days:
    description: Added to O(validation_time), to ask whether chains will still verify in this many days.
    type: int
    default: 0
  warn_days:
    description: A certificate with fewer days left than this has severity V(warn).
    type: int
    default: 30
  critical_days:
    description: A certificate with fewer days left than this, or expired, has severity V(critical).
    type: int
    default: 14
  expiry_scope:
    description:
      - Which certificates decide a target's expiry and severity.
      - V(path) uses the verification path (the leaf, the intermediates it uses and the anchor), so an unused stale
        root the server also sends does not raise alarms; V(chain) uses everything sent; V(leaf) only the leaf.
    type: str
    choices: [path, chain, leaf]
    default: path
  hostname_cn_fallback:
    description:
      - Match the hostname against the subject CN when the certificate has no DNS SAN (what legacy clients do).
        RV(endpoints[].hostname_match_cn_fallback) always shows that answer too.
    type: bool
    default: false
  fail_on:
    description:
      - The gate, the same in every module of the collection - fail the task (for CI) when a finding in RV(findings) is at
        or above this severity; the full result is still returned. V(never) (the default), V(info), V(warning), V(critical).
      - Still accepted, the list form this module had - V(warn) (like V(warning)), V(critical), and conditions that fail
        on their own - V(error) (a target that could not be read), V(unverified) (a chain that does not verify),
        V(hostname_mismatch) (a leaf that does not match its hostname).
    type: raw
    default: never
  workers:
    description: Endpoints probed at the same time, overall.
    type: int
    default: 32
  per_host_limit:
    description: Connections open at the same time to one host address, so fragile servers are not overwhelmed.
    type: int
    default: 8
  tls_timeout:
    description: Seconds for each socket operation (connect, each read).
    type: float
    default: 10.0
  tls_deadline:
    description: Total seconds for one endpoint address, retries and STARTTLS included.
    type: float
    default: 30.0
  tls_retries:
    description: Extra attempts after a timeout, reset or refused connection.
    type: int
    default: 1
  tls_proxy:
    description: HTTP proxy to tunnel through with CONNECT, as V(http://[user:password@]proxy:port).
    type: str
  tls_client_cert:
    description:
      - Client certificate (PEM) presented when a server requires one, to tell whether it would accept it. The server
        chain is read without it either way.
    type: path
  tls_client_key:
    description: Private key of O(tls_client_cert).
    type: path
  tls_min_version:
    description: Lowest TLS version to offer.
    type: str
    choices: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
    default: TLSv1
  tls_max_version:
    description: Highest TLS version to offer.
    type: str
    choices: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
    default: TLSv1.3
  include_pem:
    description: Add each certificate's PEM text to the result.
    type: bool
    default: false
notes:
  - The Kubernetes connection options are used only with O(secrets).
  - The chain is read by a small built-in TLS client that stops after the server's Certificate message, because
    Python's C(ssl) module cannot return an unverified peer chain before Python 3.13.
seealso:
  - module: community.crypto.get_certificate
  - module: community.crypto.x509_certificate_info
"""

EXAMPLES = r"""
- name: Check web and mail endpoints; fail CI on anything critical or unreadable
  sre.toolkit.cert_expiry:
    endpoints:
      - www.example.com:443
      - https://grafana.example.com/login
      - smtp://mail.example.com
      - host: imap.example.com
        starttls: imap
      - host: 192.0.2.10
        port: 8443
        sni: api.example.com
    warn_days: 30
    critical_days: 14
    fail_on: critical
  delegate_to: localhost

- name: Will every chain still verify in 30 days, against our own CA?
  sre.toolkit.cert_expiry:
    endpoints: "{{ groups['web'] | product([':443']) | map('join') | list }}"
    ca_bundle: /etc/pki/internal-ca.pem
    verify_in_days: 30
    fail_on: [unverified]

- name: Certificate files on the host, including a PKCS#12 keystore
  sre.toolkit.cert_expiry:
    paths:
      - /etc/ssl/private/*.pem
      - /etc/kubernetes/pki
      - path: /opt/app/keystore.p12
        passphrase: "{{ keystore_passphrase }}"
  register: host_certs

- name: TLS Secrets of two namespaces (no Secret data is returned)
  sre.toolkit.cert_expiry:
    secrets:
      namespaces: [ingress, payments]
      types: [kubernetes.io/tls]
    kubeconfig: ~/.kube/config
  delegate_to: localhost
"""

RETURN = r"""
endpoints:
  description:
    - One entry per endpoint address (per resolved address with O(all_addresses)), sorted by RV(endpoints[].id).
    - Entries that could not be probed carry RV(endpoints[].error_kind) and, when the chain was still read, the chain.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The C(name) given in O(endpoints), or V(host:port).
      type: str
    host:
      description: Host connected to.
      type: str
    port:
      description: TCP port.
      type: int
    address:
      description: IP address probed.
      type: str
    sni:
      description: Server name sent, or null.
      type: str
    starttls:
      description: STARTTLS protocol used, or null.
      type: str
    tls_version:
      description: Negotiated TLS version (V(TLSv1.3), V(TLSv1.2) ...), null when no handshake happened.
      type: str
    chain:
      description:
        - Certificates exactly as the server sent them, leaf first. Each has subject, subject_cn, issuer, issuer_cn,
          serial (integer), serial_hex, sha256, sans (dns, ip), not_before, not_after (ISO-8601 UTC), not_before_epoch,
          not_after_epoch, days_left, expired, not_yet_valid, key_type, key_size, key_curve, signature_algorithm,
          version (3 for v3), is_ca, self_signed, position, severity and parsed_raw.
        - A certificate C(cryptography) refuses to load (BER lengths, odd time encodings) is still listed, with
          C(parsed_raw=true). Its serial, names, dates, days_left, signature algorithm and sha256 come from the raw
          structure, the fields that need a full parse are null, and its dates still count for the expiry.
      type: list
      elements: dict
    chain_readable:
      description: Whether a chain was read.
      type: bool
    verify:
      description:
        - V(ok), or why the chain does not verify at RV(endpoints[].validation_time) - V(expired), V(not_yet_valid),
          V(self_signed), V(unknown_ca), V(policy) (a sound chain the webpki policy of C(cryptography) rejects), or
          V(unparsable) (the leaf could be read only raw, see RV(endpoints[].chain)). Null when there is no chain.
          The hostname does not take part; see RV(endpoints[].hostname_match).
      type: str
    verify_error_depth:
      description: Depth of the failing certificate as OpenSSL counts it (0 = leaf), or null.
      type: int
    verify_detail:
      description: The reason in words, naming the certificate.
      type: str
    verify_path:
      description: SHA-256 fingerprints from the leaf to the trust anchor, when RV(endpoints[].verify=ok).
      type: list
      elements: str
    unused:
      description: Fingerprints of certificates the server sent that the path does not use (for example a stale cross-signed root).
      type: list
      elements: str
    validation_time:
      description: The time verification was done for.
      type: str
    earliest_not_after:
      description: Earliest not_after over everything sent.
      type: str
    earliest_not_after_path:
      description: Earliest not_after over RV(endpoints[].verify_path), null when the chain does not verify.
      type: str
    expiry:
      description: The certificate deciding the severity under O(expiry_scope) - not_after, not_after_epoch, days_left, sha256, subject.
      type: dict
    severity:
      description: V(ok), V(warn), V(critical) (under O(critical_days) or expired) or V(error) (nothing could be read).
      type: str
    hostname:
      description: Name checked (SNI, else host), as IDNA A-labels.
      type: str
    hostname_unicode:
      description: RV(endpoints[].hostname) in Unicode.
      type: str
    hostname_match:
      description: Whether the leaf matches RV(endpoints[].hostname) under RFC 6125 (and CN fallback if O(hostname_cn_fallback)).
      type: bool
    hostname_match_cn_fallback:
      description: What a client falling back to the CN would decide.
      type: bool
    requires_client_cert:
      description: The server rejects handshakes without an acceptable client certificate.
      type: bool
    error_kind:
      description:
        - Null on success, else V(dns), V(refused), V(timeout), V(reset), V(deadline), V(handshake) (with
          RV(endpoints[].error_reason) V(not_tls), V(closed) or the alert's name), V(tls_version) (the server speaks
          only TLS 1.0/1.1, reason V(legacy_only), chain still reported; or none of the offered versions, reason
          V(protocol_version)), V(client_cert_required) (chain still reported), V(starttls), V(proxy), V(connection)
          or V(invalid) (a bad entry in O(endpoints)).
      type: str
    error_reason:
      description: Refines RV(endpoints[].error_kind).
      type: str
    error:
      description: The error in words.
      type: str
  sample:
    - id: www.example.com:443
      host: www.example.com
      port: 443
      tls_version: TLSv1.3
      verify: ok
      severity: ok
      hostname_match: true
files:
  description:
    - One entry per file, sorted by path, with C(format) (pem, der, pkcs12, pkcs7, kubeconfig, unknown), C(certs) (every
      certificate in file order, with the facts listed under RV(endpoints[].chain) plus C(origin)), C(expiry),
      C(severity), C(verify) (the first certificate verified with the others as intermediates) and, for an unreadable
      item, C(error_kind) (V(file), V(parse)), C(error_reason) (V(not_found), V(broken_symlink), V(permission_denied),
      V(bad_pem), V(no_certificate_found), V(bad_passphrase), V(decode_failed)) and C(error). When C(error) is set,
      C(certs) still holds whatever was readable.
  returned: always
  type: list
  elements: dict
secrets:
  description:
    - One entry per Secret with certificate data, sorted by namespace and name - namespace, name, type, labels,
      cert-manager annotations, and C(keys) mapping each certificate key to the same structure as a file entry.
    - Never contains Secret data.
    - A namespace whose listing the API refuses appears once, with C(id) V(<namespace>/*), C(severity) V(error) and C(error_kind),
      while the rest of the scan still reports.
  returned: always
  type: list
  elements: dict
summary:
  description:
    - Counts (C(total), C(by_source), C(by_severity), C(errors)), the earliest expiry overall (C(earliest), with the
      target C(id)), C(counts) of RV(findings) per severity, C(gate) (C(fail_on), C(failed), C(reasons)) and
      C(fail_reasons) - one line per target that matched a condition of the list form of O(fail_on).
  returned: always
  type: dict
findings:
  description:
    - Every problem in the one findings contract of the collection (C(id), C(severity), C(subject) with a readable
      C(locator), C(message), C(fix), C(evidence), C(check)), most severe first; ids are listed in the rule catalogue
      (docs/rule_catalogue.md), e.g. V(cert.expired), V(cert.expires_soon), V(cert.untrusted), V(cert.hostname_mismatch).
    - "C(subject.locator) names the endpoint (C(endpoint host:port) followed by the SNI name in parentheses when it differs),
      the file and the place of the certificate in it (C(file /etc/ssl/site.pem #2)) or the Secret key
      (C(Secret ns/name[tls.crt] #1))."
  returned: always
  type: list
  elements: dict
  sample:
    - id: cert.expires_soon
      severity: warning
      subject: {kind: Endpoint, namespace: "", name: "grafana.example.com:443", locator: "endpoint grafana.example.com:443"}
      message: "expires in 12 day(s) (2027-01-02 00:00 UTC): CN=grafana.example.com"
      fix: renew it before 2027-01-02 00:00 UTC
      evidence: {days_left: 12, not_after: "2027-01-02T00:00:00Z"}
      check: cert_expiry.endpoint
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sre.toolkit.plugins.module_utils._argspec import K8S_AUTH_SPEC, check_numeric_options, protect_kubeconfig, spec
from ansible_collections.sre.toolkit.plugins.module_utils._deps import OptionalImport
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError, exit_gated, fail_from_error

with OptionalImport("cryptography") as CRYPTOGRAPHY:
    import cryptography  # noqa: F401  pylint: disable=unused-import

from ansible_collections.sre.toolkit.plugins.module_utils._certs.service import TLS_VERSIONS, check_certificates, secret_values
from ansible_collections.sre.toolkit.plugins.module_utils._certs.targets import STARTTLS_PROTOCOLS


def argument_spec():
    return spec(
        K8S_AUTH_SPEC,
        endpoints=dict(type="list", elements="raw", default=[]),
        starttls=dict(type="str", choices=list(STARTTLS_PROTOCOLS)),
        all_addresses=dict(type="bool", default=False),
        paths=dict(type="list", elements="raw", default=[]),
        passphrase=dict(type="str", no_log=True),
        include_hidden=dict(type="bool", default=False),
        secrets=dict(type="dict", no_log=False, options=dict(
            namespaces=dict(type="list", elements="str", default=[]),
            label_selector=dict(type="str"),
            types=dict(type="list", elements="str", default=[]),
        )),
        ca_bundle=dict(type="path"),
        validation_time=dict(type="str"),
        verify_in_days=dict(type="int", default=0),
        warn_days=dict(type="int", default=30),
        critical_days=dict(type="int", default=14),
        expiry_scope=dict(type="str", choices=["path", "chain", "leaf"], default="path"),
        hostname_cn_fallback=dict(type="bool", default=False),
        fail_on=dict(type="raw", default="never"),
        workers=dict(type="int", default=32),
        per_host_limit=dict(type="int", default=8),
        tls_timeout=dict(type="float", default=10.0),
        tls_deadline=dict(type="float", default=30.0),
        tls_retries=dict(type="int", default=1),
        tls_proxy=dict(type="str"),
        tls_client_cert=dict(type="path"),
        tls_client_key=dict(type="path", no_log=False),
        tls_min_version=dict(type="str", choices=TLS_VERSIONS, default="TLSv1"),
        tls_max_version=dict(type="str", choices=TLS_VERSIONS, default="TLSv1.3"),
        include_pem=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_together=[("tls_client_cert", "tls_client_key")])
    module.no_log_values.update(secret_values(module.params))  # passphrases in paths entries, the proxy password
    CRYPTOGRAPHY.require(module, reason="to read certificates")
    protect_kubeconfig(module)
    check_numeric_options(module, "cert_expiry")
    try:  # the service builds the TLS probe, and the Kubernetes client only when secrets is set
        result = check_certificates(module.params)
    except ToolkitError as exc:
        fail_from_error(module, exc)
    exit_gated(module, result, shown=20)


if __name__ == "__main__":
    main()
