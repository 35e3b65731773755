# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cert_expiry service: check the options, then read every source through its client and judge.

Orchestration only: endpoints through ``_tls`` (one scan per all_addresses setting), files
through ``files`` (the host-files client), Secrets through a Kubernetes client built by the
``k8s`` factory only when Secrets are asked for (the real ``K8sClient`` by default), the trust
store from ca_bundle or the system store. Every verdict comes from the engine (``report``,
``findings``, ``severity``).
"""

from __future__ import annotations

import base64
import datetime
import os
import ssl
from urllib.parse import unquote, urlsplit

from ansible_collections.sre.toolkit.plugins.module_utils import _tls
from ansible_collections.sre.toolkit.plugins.module_utils._certs import files as cert_files
from ansible_collections.sre.toolkit.plugins.module_utils._certs.chain import TrustStore
from ansible_collections.sre.toolkit.plugins.module_utils._certs.findings import from_result
from ansible_collections.sre.toolkit.plugins.module_utils._certs.load import LoadError, load_certificates
from ansible_collections.sre.toolkit.plugins.module_utils._certs.report import (
    Settings, content_finding, endpoint_finding, error_finding, file_error_finding, parse_time, secret_finding, sort_targets, summarize)
from ansible_collections.sre.toolkit.plugins.module_utils._certs.severity import check_thresholds, gate_terms
from ansible_collections.sre.toolkit.plugins.module_utils._certs.targets import parse_endpoint, SpecError
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._findings import contract, gate

TLS_VERSIONS = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]


def check_params(params):
    """Whole-call mistakes (not per item) as ToolkitError naming the option and the fix."""
    problem = check_thresholds(params["warn_days"], params["critical_days"])
    if problem:
        raise ToolkitError(problem + ": fix warn_days / critical_days")
    for name in ("workers", "per_host_limit"):
        if params[name] < 1:
            raise ToolkitError("%s must be at least 1 (got %d)" % (name, params[name]))
    if params["tls_timeout"] <= 0 or params["tls_deadline"] <= 0:
        raise ToolkitError("tls_timeout and tls_deadline must be positive seconds")
    if params["tls_retries"] < 0:
        raise ToolkitError("tls_retries must be 0 or more")
    if TLS_VERSIONS.index(params["tls_min_version"]) > TLS_VERSIONS.index(params["tls_max_version"]):
        raise ToolkitError("tls_min_version must not be above tls_max_version")
    if bool(params["tls_client_cert"]) != bool(params["tls_client_key"]):
        raise ToolkitError("tls_client_cert and tls_client_key go together: set both or neither")


def trust_store(ca_bundle):
    """Anchors from ca_bundle, else from the system store of this host."""
    paths = [ca_bundle] if ca_bundle else _system_bundles()
    anchors = []
    for path in paths:
        data, reason, message = cert_files.read(path)
        if data is None:
            if ca_bundle:
                raise ToolkitError("ca_bundle %s: %s (%s)" % (path, message, reason))
            continue
        try:
            certs = [cert for cert, _origin in load_certificates(data)[0]]
            if not certs:
                raise LoadError("decode_failed", "no certificate there that cryptography can load")
            anchors.extend(certs)
        except LoadError as exc:
            if ca_bundle:
                raise ToolkitError("ca_bundle %s holds no usable certificate: %s" % (path, exc.msg))
    return TrustStore(anchors)


def _system_bundles():
    defaults = ssl.get_default_verify_paths()
    found = [p for p in (defaults.cafile, defaults.openssl_cafile) if p and os.path.isfile(p)]
    if not found:
        directory = defaults.capath or defaults.openssl_capath
        if directory and os.path.isdir(directory):
            found = sorted(os.path.join(directory, n) for n in os.listdir(directory) if n.endswith((".pem", ".0", ".crt")))
    return sorted(set(found))


def proxy_url(url):
    """urlsplit of tls_proxy (a bare host:port means http://host:port)."""
    return urlsplit(url if "://" in url else "http://" + url)


def _proxy(url):
    if not url:
        return None, None
    parts = proxy_url(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ToolkitError("tls_proxy %r: give http://[user:password@]host:port (HTTP CONNECT proxies only)" % url)
    auth = None
    if parts.username:
        auth = base64.b64encode(("%s:%s" % (unquote(parts.username), unquote(parts.password or ""))).encode()).decode()
    return (parts.hostname, parts.port or 8080), auth


def secret_values(params):
    """What must never reach output: passphrases inside paths entries, the proxy password (raw and decoded)."""
    values = set(str(e["passphrase"]) for e in params["paths"] or [] if isinstance(e, dict) and e.get("passphrase"))
    password = proxy_url(params["tls_proxy"]).password if params.get("tls_proxy") else None
    return values | ({password, unquote(password)} if password else set())


def scan_endpoints(params, settings):
    findings, targets = [], []
    for raw in params["endpoints"]:
        try:
            target = parse_endpoint(raw, params["starttls"])
        except SpecError as exc:
            label = raw.get("name") or raw.get("host") if isinstance(raw, dict) else raw
            findings.append(endpoint_finding({"id": str(label), "error_kind": "invalid", "error_reason": "bad_spec",
                                              "error": "endpoints: %s" % exc}, settings))
            continue
        targets.append(target)
    if not targets:
        return findings
    proxy, proxy_auth = _proxy(params["tls_proxy"])
    probe = _tls.Probe(timeout=params["tls_timeout"], deadline=params["tls_deadline"], retries=params["tls_retries"],
                       min_version=params["tls_min_version"], max_version=params["tls_max_version"], proxy=proxy,
                       proxy_auth=proxy_auth, client_cert=params["tls_client_cert"], client_key=params["tls_client_key"])
    groups = {}
    for target in targets:  # all_addresses can differ per endpoint: one scan per setting
        wanted = params["all_addresses"] if target.get("all_addresses") is None else target["all_addresses"]
        groups.setdefault(bool(wanted), []).append(target)
    for all_addresses, group in sorted(groups.items()):
        findings.extend(_tls.scan(group, probe, workers=params["workers"], per_host=params["per_host_limit"],
                                  all_addresses=all_addresses, transform=lambda fetched: endpoint_finding(fetched, settings)))
    return findings


def scan_files(params, settings):
    specs = []
    for raw in params["paths"]:
        if isinstance(raw, dict) and raw.get("path"):
            specs.append({"path": str(raw["path"]), "passphrase": raw.get("passphrase") or params["passphrase"]})
        elif isinstance(raw, str) and raw:
            specs.append({"path": raw, "passphrase": params["passphrase"]})
        else:
            raise ToolkitError("paths: %r is neither a path nor a dict with path (and passphrase)" % (raw,))
    findings = []
    for path, passphrase, origin, missing in cert_files.expand(specs, include_hidden=params["include_hidden"]):
        if missing:
            findings.append(file_error_finding(path, missing, "paths: %s matches no file" % origin))
            continue
        data, reason, message = cert_files.read(path)
        if data is None:
            findings.append(file_error_finding(path, reason, message))
            continue
        findings.append(content_finding(path, "file", data, settings, passphrase=passphrase, path=path))
    return findings


def scan_secrets(client, options, settings):
    """Secrets per namespace; an API error costs that namespace only (one error entry), not the scan."""
    query = {"labelSelector": options["label_selector"]} if options["label_selector"] else None
    scopes = [(ns, "/api/v1/namespaces/%s/secrets" % ns) for ns in options["namespaces"]] or [("*", "/api/v1/secrets")]
    findings = []
    for namespace, path in scopes:
        try:
            for secret in client.list(path, params=query):
                if options["types"] and secret.get("type") not in options["types"]:
                    continue
                finding = secret_finding(secret, settings)
                if finding["keys"]:
                    findings.append(finding)
        except ToolkitError as exc:
            findings.append(error_finding("%s/*" % namespace, "secret", exc.kind, "list_failed", "listing Secrets: %s" % exc.msg,
                                          namespace=namespace, name=None, keys={}, expiry=None))
    return sorted(findings, key=lambda f: (f["namespace"] or "", f["name"] or ""))


def k8s_client(params):
    from ansible_collections.sre.toolkit.plugins.module_utils._k8s import K8sClient

    return K8sClient.from_params(params)


def check_certificates(params, k8s=k8s_client):
    """The whole cert_expiry run: options, trust store, endpoints, files, Secrets (``k8s(params)`` builds
    the client when Secrets are asked for), findings and the gate. Returns the module's result."""
    check_params(params)
    now = datetime.datetime.now(datetime.timezone.utc)
    try:
        validation_time = parse_time(params["validation_time"], now) + datetime.timedelta(days=params["verify_in_days"])
    except (ValueError, OverflowError) as exc:
        raise ToolkitError("validation_time %r: use ISO-8601 (2027-01-31T00:00:00Z) or epoch seconds (%s)" % (
            params["validation_time"], exc))
    settings = Settings(now, validation_time, trust_store(params["ca_bundle"]), params["warn_days"], params["critical_days"],
                        params["expiry_scope"], params["hostname_cn_fallback"], params["include_pem"])
    endpoints = sort_targets(scan_endpoints(params, settings))
    files = sort_targets(scan_files(params, settings))
    secrets = scan_secrets(k8s(params), params["secrets"], settings) if params["secrets"] is not None else []
    try:
        threshold, conditions = gate_terms(params["fail_on"])
    except ValueError as exc:
        raise ToolkitError(str(exc))
    summary = summarize(endpoints + files + secrets, conditions)
    result = dict(changed=False, endpoints=endpoints, files=files, secrets=secrets, summary=summary)
    result["findings"], summary["counts"] = contract(from_result(result))
    try:
        summary["gate"] = gate(summary["counts"], threshold, summary["fail_reasons"])
    except ValueError as exc:
        raise ToolkitError(str(exc))
    return result
