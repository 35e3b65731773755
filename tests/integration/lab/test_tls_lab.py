"""The TLS lab behaves as its ground truth says, seen by independent clients.

Certificates are read off the wire with `openssl s_client` and Python's `ssl`, fingerprinted with
hashlib and inspected with `openssl x509`; nothing here imports the lab's generator. A wrong
ground truth (or a server that does not serve it) fails these tests.
"""
from __future__ import annotations

import base64
import datetime
import ftplib
import hashlib
import imaplib
import json
import poplib
import re
import smtplib
import socket
import ssl
import struct
import subprocess
import time
import warnings
from pathlib import Path

import pytest
import yaml

HOST = "127.0.0.1"
PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n.+?-----END CERTIFICATE-----", re.S)
VERIFY_CODES = {"expired": 10, "not_yet_valid": 9, "self_signed": 18, "unknown_ca": 20, "weak_signature_algorithm": 68}  # X509_V_ERR_*
CA_MD_TOO_WEAK = 68  # OpenSSL checks signature strength before dates: the first error a weak chain shows
FAILING = {"refused", "timeout", "reset", "handshake", "tls_version", "client_cert_required"}


# ---------------------------------------------------------------- helpers

def _targets(lab_tls) -> dict:
    return json.loads(Path(lab_tls["targets_file"]).read_text())


def _endpoints(lab_tls, predicate=lambda e: True) -> list:
    return [e for e in _targets(lab_tls)["endpoints"] if "scale" not in e["tags"] and predicate(e)]


def _der_fingerprint(pem: bytes) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.decode().replace("\r\n", "\n"))).hexdigest()


def s_client(port: int, sni: str | None = None, starttls: str | None = None, *extra: str, timeout: float = 10) -> str:
    argv = ["openssl", "s_client", "-connect", f"{HOST}:{port}", "-showcerts"]
    argv += ["-servername", sni] if sni else ["-noservername"]
    argv += ["-starttls", starttls] if starttls else []
    proc = subprocess.run(argv + list(extra), input=b"", capture_output=True, timeout=timeout, check=False)
    return (proc.stdout + proc.stderr).decode(errors="replace")


LEGACY_OPENSSL = ("-tls1", "-cipher", "DEFAULT:@SECLEVEL=0")


def wire_chain(endpoint: dict, *extra: str) -> list:
    extra = (*extra, *LEGACY_OPENSSL) if "legacy_tls" in endpoint["tags"] else extra
    out = s_client(endpoint["port"], endpoint["sni"], endpoint["starttls"], *extra)
    return [_der_fingerprint(m.encode()) for m in re.findall(PEM_BLOCK.pattern.decode(), out, re.S)]


def x509_text(pem: bytes, *args: str) -> str:
    return subprocess.run(["openssl", "x509", "-noout", *args], input=pem, capture_output=True, check=True).stdout.decode()


def client_context(lab_tls, *, verify=True, check_hostname=False, cn_fallback=False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=lab_tls["ca_bundle"]) if verify else ssl._create_unverified_context()  # noqa: SLF001
    ctx.check_hostname = check_hostname
    if verify:
        ctx.hostname_checks_common_name = cn_fallback
    return ctx


def handshake(ctx: ssl.SSLContext, endpoint: dict, server_hostname=None, timeout: float = 5) -> tuple[str, bytes]:
    with socket.create_connection((HOST, endpoint["port"]), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_hostname or endpoint["sni"]) as tls:
            return tls.version(), tls.getpeercert(binary_form=True)


def _all_match(failures: list) -> None:
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- the targets file

def test_component_dict_and_targets_file_agree(lab_tls):
    targets = _targets(lab_tls)
    for key in ("targets_file", "ca_bundle", "files_dir", "files_ground_truth", "k8s_secrets_manifest", "k8s_secrets_ground_truth", "ports"):
        assert lab_tls[key], key
    ids = [e["id"] for e in targets["endpoints"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert {e["id"]: e["port"] for e in targets["endpoints"]} == lab_tls["ports"]
    assert all(e["host"] == HOST for e in targets["endpoints"])
    tags = {t for e in targets["endpoints"] for t in e["tags"]}
    assert {"expired_leaf", "expired_intermediate", "not_yet_valid", "self_signed", "wildcard", "ip_san", "idn", "near_expiry",
            "sni", "mtls", "starttls", "cross_signed", "unknown_ca", "tls12_only", "failing"} <= tags
    assert {e["starttls"] for e in targets["endpoints"]} >= {"smtp", "imap", "pop3", "ftp", "postgres", "mysql", "ldap", "xmpp", "xmpp-server"}


def test_daemon_listens_on_loopback_only(lab_tls):
    out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    mine = [line for line in out.splitlines() if f"pid={lab_tls['pid']}," in line]
    local = {line.split()[3].rsplit(":", 1)[0] for line in mine}
    ports = {int(line.split()[3].rsplit(":", 1)[1]) for line in mine}
    assert local == {HOST}
    served = {p for i, p in lab_tls["ports"].items() if i != "refused"}
    assert served == ports


# ---------------------------------------------------------------- chains and verification

def test_chain_on_the_wire_equals_ground_truth(lab_tls):
    failures = []
    for endpoint in _endpoints(lab_tls, lambda e: e["chain"]):
        want = [c["sha256"] for c in endpoint["chain"]]
        got = wire_chain(endpoint)
        if got != want:
            failures.append(f"{endpoint['id']}: wire {got} != truth {want}")
    _all_match(failures)


def test_leaf_fields_match_openssl(lab_tls):
    failures = []
    for endpoint in _endpoints(lab_tls, lambda e: e["chain"] and not e["starttls"] and not e["error_kind"]):
        der = handshake(client_context(lab_tls, verify=False), endpoint)[1]
        pem = ssl.DER_cert_to_PEM_cert(der).encode()
        leaf = endpoint["chain"][0]
        text = x509_text(pem, "-serial", "-enddate", "-startdate", "-subject", "-nameopt", "RFC2253")
        fields = dict(line.split("=", 1) for line in text.splitlines())
        enddate = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.strptime(fields["notAfter"], "%b %d %H:%M:%S %Y GMT"))
        startdate = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.strptime(fields["notBefore"], "%b %d %H:%M:%S %Y GMT"))
        seen = (int(fields["serial"], 16), enddate, startdate, f"CN={leaf['subject_cn']}" in fields["subject"])
        want = (leaf["serial"], leaf["not_after"], leaf["not_before"], True)
        if seen != want:
            failures.append(f"{endpoint['id']}: openssl {seen} != truth {want}")
        if leaf["not_after_epoch"] != int(ssl.cert_time_to_seconds(fields["notAfter"])):
            failures.append(f"{endpoint['id']}: not_after_epoch")
    _all_match(failures)


def _openssl_blind(endpoint) -> bool:
    """OpenSSL does not decode certificatePolicies when it verifies without policy checks: test_malformed_extensions checks those."""
    return "malformed_extension" in endpoint["tags"]


def test_verification_result_matches(lab_tls):
    failures = []
    for endpoint in _endpoints(lab_tls, lambda e: e["verify"] and not e["starttls"] and not e["error_kind"] and not _openssl_blind(e)):
        try:
            handshake(client_context(lab_tls), endpoint)
            seen = "ok"
        except ssl.SSLCertVerificationError as exc:
            seen = next((k for k, code in VERIFY_CODES.items() if code == exc.verify_code), f"code {exc.verify_code}")
        want = "weak_signature_algorithm" if "weak_signature" in endpoint["tags"] else endpoint["verify"]
        if seen != want:
            failures.append(f"{endpoint['id']}: verified {seen}, truth {endpoint['verify']}")
    _all_match(failures)


def test_verify_error_depth_matches_openssl(lab_tls):
    failures = []
    for endpoint in _endpoints(lab_tls, lambda e: e["verify"] not in (None, "ok") and not _openssl_blind(e)):
        out = s_client(endpoint["port"], endpoint["sni"], None, "-CAfile", lab_tls["ca_bundle"])
        reported = [(int(d), int(c)) for d, c in re.findall(r"depth=(\d+) .*\nverify error:num=(\d+)", out)]
        want = (endpoint["verify_error_depth"], VERIFY_CODES[endpoint["verify"]])
        seen = reported[0] if reported else None
        if "weak_signature" in endpoint["tags"]:  # every error is listed: the weak signature first, then the dates
            seen = want if want in reported and reported[0] == (0, CA_MD_TOO_WEAK) else reported
        if seen != want:
            failures.append(f"{endpoint['id']}: openssl (depth, code) {seen} != truth {want}")
    _all_match(failures)


def test_cross_signed_root_is_sent_but_unused(lab_tls):
    (endpoint,) = _endpoints(lab_tls, lambda e: e["id"] == "cross_signed")
    root_fp = _der_fingerprint(Path(lab_tls["ca_bundle"]).read_bytes())
    sent = endpoint["chain"]
    stale = [c for c in sent if c["is_ca"] and c["subject"] == sent[1]["issuer"]]
    assert len(stale) == 1 and stale[0]["sha256"] != root_fp and stale[0]["issuer"] != stale[0]["subject"]
    assert endpoint["verify_path"][-1] == root_fp and stale[0]["sha256"] not in endpoint["verify_path"]
    assert endpoint["earliest_not_after"] == stale[0]["not_after"] < endpoint["earliest_not_after_path"]
    # the stale cert is really expired and still verification succeeds on the wire
    handshake(client_context(lab_tls), endpoint)
    assert stale[0]["not_after_epoch"] < time.time()


def test_hostname_match_rfc6125_and_cn_fallback(lab_tls):
    failures = []
    for endpoint in _endpoints(lab_tls, lambda e: e["chain"] and not e["starttls"] and not e["error_kind"] and e["hostname_match"] is not None):
        der = handshake(client_context(lab_tls, verify=False), endpoint)[1]
        pem = ssl.DER_cert_to_PEM_cert(der).encode()
        name = endpoint["hostname"]
        flag = "-checkip" if re.fullmatch(r"[\d.]+", name) else "-checkhost"
        # `openssl x509 -checkhost` falls back to the CN when there is no DNS SAN
        openssl_says = "does match" in x509_text(pem, flag, name)
        if openssl_says != endpoint["hostname_match_cn_fallback"]:
            failures.append(f"{endpoint['id']}: openssl {flag} {name}: {openssl_says}, truth (cn fallback) {endpoint['hostname_match_cn_fallback']}")
        if endpoint["verify"] == "ok":
            try:
                handshake(client_context(lab_tls, check_hostname=True), endpoint, server_hostname=name)
                strict = True
            except ssl.SSLCertVerificationError:
                strict = False
            if strict != endpoint["hostname_match"]:
                failures.append(f"{endpoint['id']}: python strict match {strict}, truth {endpoint['hostname_match']}")
    _all_match(failures)


def test_malformed_extensions(lab_tls):
    """OpenSSL prints an extension it cannot decode as raw bytes; the hostname is then not judged (null in the truth)."""
    decoded = {"2.5.29.32": ("certificatePolicies", "Policy:"), "2.5.29.17": ("subjectAltName", "DNS:")}
    endpoints = _endpoints(lab_tls, lambda e: e["extension_errors"])
    files = [f for f in json.loads(Path(lab_tls["files_ground_truth"]).read_text())["files"] if f.get("extension_errors")]
    assert endpoints and files
    for oids, pem in [(e["extension_errors"], ssl.DER_cert_to_PEM_cert(handshake(client_context(lab_tls, verify=False), e)[1]).encode())
                      for e in endpoints] + [(f["extension_errors"], Path(f["abs_path"]).read_bytes()) for f in files]:
        for oid in oids:
            name, marker = decoded[oid]
            text = x509_text(pem, "-ext", name)
            assert text.strip() and marker not in text, f"{oid} is absent or decodes: {text}"
    assert all(e["hostname_match"] is None and e["verify"] == "malformed_extension" for e in endpoints)


def test_idn_u_label_server_answers_the_a_label_only(lab_tls):
    """The A-label (IDNA2008) selects leaf + intermediate; IDNA2003's straße -> strasse, or no SNI, gets a lone default leaf."""
    cases = _endpoints(lab_tls, lambda e: "idn_u_label" in e["tags"])
    assert {e["sni_given"] for e in cases} == {"bücher.example", "straße.example"}
    for endpoint in cases:
        assert endpoint["sni"] == endpoint["hostname"] and endpoint["sni"].startswith("xn--") and endpoint["sni_given"].endswith(".example")
        assert wire_chain(endpoint) == [c["sha256"] for c in endpoint["chain"]] and len(endpoint["chain"]) == 2
        assert len(wire_chain(dict(endpoint, sni="strasse.example"))) == 1
        assert len(wire_chain(dict(endpoint, sni=None))) == 1


def test_sni_selects_certificates_on_one_port(lab_tls):
    by_id = {e["id"]: e for e in _endpoints(lab_tls, lambda e: "sni" in e["tags"])}
    assert len({e["port"] for e in by_id.values()}) == 1
    seen = {i: hashlib.sha256(handshake(client_context(lab_tls, verify=False), e)[1]).hexdigest() for i, e in by_id.items()}
    assert len({seen["sni_a"], seen["sni_b"], seen["sni_default"]}) == 3
    assert seen["sni_unknown"] == seen["sni_default"]
    assert all(seen[i] == e["chain"][0]["sha256"] for i, e in by_id.items())


def test_negotiated_tls_version(lab_tls):
    failures = []
    for endpoint in _endpoints(lab_tls, lambda e: e["tls_version"] and not e["starttls"] and not e["error_kind"]):
        version = handshake(client_context(lab_tls, verify=False), endpoint)[0]
        if version != endpoint["tls_version"]:
            failures.append(f"{endpoint['id']}: negotiated {version}, truth {endpoint['tls_version']}")
    _all_match(failures)
    (only12,) = _endpoints(lab_tls, lambda e: e["id"] == "tls12_only")
    ctx = client_context(lab_tls, verify=False)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    with pytest.raises(ssl.SSLError):
        handshake(ctx, only12)


def test_legacy_tls10_refused_by_default_clients_but_readable(lab_tls):
    (endpoint,) = _endpoints(lab_tls, lambda e: "legacy_tls" in e["tags"])
    assert (endpoint["error_kind"], endpoint["error_reason"], endpoint["tls_version"]) == ("tls_version", "legacy_only", "TLSv1")
    with pytest.raises(ssl.SSLError, match="(?i)protocol.version|unsupported protocol"):
        handshake(client_context(lab_tls, verify=False), endpoint)
    legacy = client_context(lab_tls, check_hostname=True)
    legacy.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():  # TLSVersion.TLSv1 is deprecated: looking at such servers is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        legacy.minimum_version = ssl.TLSVersion.TLSv1
    version, der = handshake(legacy, endpoint)
    assert version == "TLSv1" and hashlib.sha256(der).hexdigest() == endpoint["chain"][0]["sha256"]


# ---------------------------------------------------------------- client certificates

def test_mtls_refuses_without_client_cert_but_chain_is_readable(lab_tls):
    for endpoint in _endpoints(lab_tls, lambda e: e["requires_client_cert"]):
        assert (endpoint["error_kind"], endpoint["error_reason"]) == ("client_cert_required", "client_cert_required")
        ctx = client_context(lab_tls, verify=False)
        with pytest.raises(ssl.SSLError, match="alert"):
            with socket.create_connection((HOST, endpoint["port"]), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname=endpoint["sni"]) as tls:
                    tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    tls.recv(100)  # TLS 1.3: the certificate_required alert arrives here
        assert wire_chain(endpoint) == [c["sha256"] for c in endpoint["chain"]], endpoint["id"]


def test_mtls_accepts_the_lab_client_cert(lab_tls):
    for endpoint in _endpoints(lab_tls, lambda e: e["requires_client_cert"]):
        ctx = client_context(lab_tls, check_hostname=True)
        ctx.load_cert_chain(lab_tls["client_cert"], lab_tls["client_key"])
        with socket.create_connection((HOST, endpoint["port"]), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=endpoint["sni"]) as tls:
                assert tls.version() == endpoint["tls_version"]
                tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
                assert tls.recv(100).startswith(b"HTTP/1.1 200")


# ---------------------------------------------------------------- failing ports

def test_refused_port_refuses(lab_tls):
    (endpoint,) = _endpoints(lab_tls, lambda e: e["error_kind"] == "refused")
    assert endpoint["port"] == lab_tls["refused_port"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, endpoint["port"]), timeout=2).close()


def test_hanging_port_times_out_after_connecting(lab_tls):
    (endpoint,) = _endpoints(lab_tls, lambda e: e["error_kind"] == "timeout")
    started = time.monotonic()
    with socket.create_connection((HOST, endpoint["port"]), timeout=2) as raw:  # TCP connects
        raw.settimeout(1.0)
        with pytest.raises((TimeoutError, socket.timeout)):
            client_context(lab_tls, verify=False).wrap_socket(raw, server_hostname=endpoint["sni"])
    assert time.monotonic() - started >= 1.0


def test_reset_port_sends_rst(lab_tls):
    (endpoint,) = _endpoints(lab_tls, lambda e: e["error_kind"] == "reset")
    with pytest.raises(ConnectionResetError):
        handshake(client_context(lab_tls, verify=False), endpoint)


def test_plain_http_on_tls_port(lab_tls):
    (endpoint,) = _endpoints(lab_tls, lambda e: e["error_reason"] == "not_tls")
    assert endpoint["error_kind"] == "handshake" and endpoint["chain"] == []
    with pytest.raises(ssl.SSLError, match="WRONG_VERSION_NUMBER|wrong version number"):
        handshake(client_context(lab_tls, verify=False), endpoint)
    with socket.create_connection((HOST, endpoint["port"]), timeout=5) as raw:
        raw.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 200")


def test_every_failing_endpoint_is_covered(lab_tls):
    kinds = {e["error_kind"] for e in _endpoints(lab_tls, lambda e: e["error_kind"])}
    assert kinds == FAILING


# ---------------------------------------------------------------- STARTTLS, stdlib clients

def _starttls(lab_tls, protocol) -> dict:
    (endpoint,) = _endpoints(lab_tls, lambda e: e["starttls"] == protocol)
    return endpoint


def _expect_leaf(sock: ssl.SSLSocket, endpoint: dict) -> None:
    assert hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest() == endpoint["chain"][0]["sha256"]


def test_starttls_smtp(lab_tls):
    endpoint = _starttls(lab_tls, "smtp")
    with smtplib.SMTP(HOST, endpoint["port"], timeout=5) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert smtp.starttls(context=client_context(lab_tls))[0] == 220
        _expect_leaf(smtp.sock, endpoint)
        assert smtp.ehlo()[0] == 250


def test_starttls_imap(lab_tls):
    endpoint = _starttls(lab_tls, "imap")
    imap = imaplib.IMAP4(HOST, endpoint["port"], timeout=5)
    try:
        assert "STARTTLS" in imap.capabilities
        assert imap.starttls(ssl_context=client_context(lab_tls))[0] == "OK"
        _expect_leaf(imap.sock, endpoint)
    finally:
        imap.shutdown()


def test_starttls_pop3(lab_tls):
    endpoint = _starttls(lab_tls, "pop3")
    pop = poplib.POP3(HOST, endpoint["port"], timeout=5)
    try:
        assert "STLS" in pop.capa()
        assert pop.stls(context=client_context(lab_tls)).startswith(b"+OK")
        _expect_leaf(pop.sock, endpoint)
    finally:
        pop.quit()


def test_starttls_ftp(lab_tls):
    endpoint = _starttls(lab_tls, "ftp")
    ftp = ftplib.FTP_TLS(context=client_context(lab_tls), timeout=5)
    try:
        ftp.connect(HOST, endpoint["port"])
        assert ftp.auth().startswith("234")
        _expect_leaf(ftp.sock, endpoint)
    finally:
        ftp.close()


def test_starttls_postgres_sslrequest(lab_tls):
    endpoint = _starttls(lab_tls, "postgres")
    with socket.create_connection((HOST, endpoint["port"]), timeout=5) as raw:
        raw.sendall(struct.pack("!II", 8, 80877103))
        assert raw.recv(1) == b"S"
        with client_context(lab_tls, check_hostname=True).wrap_socket(raw, server_hostname=endpoint["sni"]) as tls:
            _expect_leaf(tls, endpoint)
            body = struct.pack("!I", 196608) + b"user\0lab\0\0"
            tls.sendall(struct.pack("!I", len(body) + 4) + body)
            assert tls.recv(1) == b"E"  # an ErrorResponse, over TLS


def test_starttls_mysql_ssl_capability(lab_tls):
    endpoint = _starttls(lab_tls, "mysql")
    with socket.create_connection((HOST, endpoint["port"]), timeout=5) as raw:
        header = raw.recv(4)
        greeting = raw.recv(int.from_bytes(header[:3], "little"))
        assert greeting[0] == 10
        after_version = greeting.index(b"\0", 1) + 1
        caps_low = struct.unpack("<H", greeting[after_version + 13:after_version + 15])[0]
        assert caps_low & 0x0800, "CLIENT_SSL must be advertised"
        ssl_request = struct.pack("<IIB", 0x0800 | 0x0200 | 0x8000, 16777216, 33) + b"\0" * 23
        raw.sendall(struct.pack("<I", len(ssl_request))[:3] + b"\x01" + ssl_request)
        with client_context(lab_tls, check_hostname=True).wrap_socket(raw, server_hostname=endpoint["sni"]) as tls:
            _expect_leaf(tls, endpoint)


def test_starttls_chains_and_verification_with_openssl(lab_tls):
    failures = []
    for endpoint in _endpoints(lab_tls, lambda e: e["starttls"]):
        out = s_client(endpoint["port"], endpoint["sni"], endpoint["starttls"], "-CAfile", lab_tls["ca_bundle"])
        got = [_der_fingerprint(m.encode()) for m in re.findall(PEM_BLOCK.pattern.decode(), out, re.S)]
        if got != [c["sha256"] for c in endpoint["chain"]] or "Verify return code: 0 (ok)" not in out:
            failures.append(f"{endpoint['id']}: {got}\n{out[-400:]}")
    _all_match(failures)


# ---------------------------------------------------------------- certificate files

def _pem_fingerprints(data: bytes) -> tuple[list, bool]:
    fps, broken = [], False
    for block in PEM_BLOCK.findall(data):
        try:
            fps.append(_der_fingerprint(block))
        except (ValueError, ssl.SSLError):
            broken = True
    return fps, broken


def _read_file(row: dict) -> tuple[list, str | None]:
    path = Path(row["abs_path"])
    if path.is_symlink() and not path.exists():
        return [], "broken_symlink"
    data = path.read_bytes()
    if row["format"] == "pkcs12":
        proc = subprocess.run(["openssl", "pkcs12", "-in", str(path), "-nokeys", "-passin", f"pass:{row['passphrase']}"],
                              capture_output=True, check=True)
        return _pem_fingerprints(proc.stdout)[0], None
    if "pkcs7" in row["tags"]:
        inform = "DER" if row["format"] == "pkcs7" else "PEM"
        proc = subprocess.run(["openssl", "pkcs7", "-inform", inform, "-print_certs"], input=data, capture_output=True, check=True)
        return _pem_fingerprints(proc.stdout)[0], None
    if row["format"] == "kubeconfig":
        config = yaml.safe_load(data)
        blobs = [c["cluster"]["certificate-authority-data"] for c in config["clusters"]]
        blobs += [u["user"]["client-certificate-data"] for u in config["users"]]
        return [_der_fingerprint(base64.b64decode(b)) for b in blobs], None
    if row["format"] == "der":
        proc = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout"], input=data, capture_output=True, check=False)
        return ([hashlib.sha256(data).hexdigest()], None) if proc.returncode == 0 else ([], "decode_failed")
    fps, error = _pem_blocks(data)
    return fps, error or (None if fps else "no_certificate_found")


def _pem_blocks(data: bytes) -> tuple[list, str | None]:
    """Line by line: fingerprints of the good CERTIFICATE blocks and the first fault (pem_unterminated: BEGIN without END,
    bad_pem: not base64, decode_failed: base64 fine but `openssl x509` refuses the DER)."""
    fps, errors, body = [], [], None
    for line in data.replace(b"\r\n", b"\n").split(b"\n") + [b"-----BEGIN EOF-----"]:
        if line.startswith(b"-----BEGIN "):
            if body is not None:
                errors.append("pem_unterminated")
            body = [] if line == b"-----BEGIN CERTIFICATE-----" else None
        elif line == b"-----END CERTIFICATE-----" and body is not None:
            try:
                der = base64.b64decode(b"".join(body), validate=True)
            except ValueError:
                errors.append("bad_pem")
            else:
                proc = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout"], input=der, capture_output=True, check=False)
                fps.append(hashlib.sha256(der).hexdigest()) if proc.returncode == 0 else errors.append("decode_failed")
            body = None
        elif body is not None:
            body.append(line.strip())
    return fps, errors[0] if errors else None


def test_files_contain_what_ground_truth_says(lab_tls):
    truth = json.loads(Path(lab_tls["files_ground_truth"]).read_text())
    assert truth["files_dir"] == lab_tls["files_dir"]
    failures = []
    for row in truth["files"]:
        fps, error = _read_file(row)
        want = ([c["sha256"] for c in row["certs"]], row["error"])
        if (fps, error) != want:
            failures.append(f"{row['path']}: read {(fps, error)} != truth {want}")
    _all_match(failures)
    errors = {row["error"] for row in truth["files"]}
    assert {"broken_symlink", "bad_pem", "no_certificate_found", "decode_failed"} <= errors


def test_pkcs12_wrong_passphrase_fails(lab_tls):
    truth = json.loads(Path(lab_tls["files_ground_truth"]).read_text())
    (row,) = [r for r in truth["files"] if r["format"] == "pkcs12"]
    proc = subprocess.run(["openssl", "pkcs12", "-in", row["abs_path"], "-nokeys", "-passin", "pass:not-" + row["passphrase"]],
                          capture_output=True, check=False)
    assert proc.returncode != 0 and row["wrong_passphrase_error"] == "bad_passphrase"


def test_glob_tree(lab_tls):
    truth = json.loads(Path(lab_tls["files_ground_truth"]).read_text())
    files_dir = Path(lab_tls["files_dir"])
    by_pattern = {g["pattern"]: g["matches"] for g in truth["globs"]}
    deep_pem = sorted(str(p.relative_to(files_dir)) for p in (files_dir / "tree").rglob("*.pem") if ".hidden" not in p.parts)
    assert by_pattern["tree/**/*.pem"] == deep_pem and len(deep_pem) >= 2
    assert all(m.count("/") == 2 for m in by_pattern["tree/*/*.pem"])


# ---------------------------------------------------------------- Kubernetes Secrets manifest

def test_secrets_manifest_matches_ground_truth(lab_tls):
    docs = list(yaml.safe_load_all(Path(lab_tls["k8s_secrets_manifest"]).read_text()))
    truth = json.loads(Path(lab_tls["k8s_secrets_ground_truth"]).read_text())
    assert docs[0] == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": truth["namespace"], "labels": docs[0]["metadata"]["labels"]}}
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    assert sorted(secrets) == [t["name"] for t in truth["secrets"]]
    failures = []
    for row in truth["secrets"]:
        doc = secrets[row["name"]]
        if doc["type"] != row["type"] or doc["metadata"].get("annotations", {}) != row["annotations"]:
            failures.append(f"{row['name']}: type/annotations")
        if doc["type"] == "kubernetes.io/tls" and not {"tls.crt", "tls.key"} <= set(doc["data"]):
            failures.append(f"{row['name']}: kubernetes.io/tls needs tls.crt and tls.key")
        for key, want in row["keys"].items():
            fps, broken = _pem_fingerprints(base64.b64decode(doc["data"][key]))
            got = (fps, "bad_pem" if broken else None)
            if got != ([c["sha256"] for c in want["certs"]], want["error"]):
                failures.append(f"{row['name']}/{key}: {got} != {want['error']}")
    _all_match(failures)
    generated = datetime.datetime.fromisoformat(truth["generated_at"].replace("Z", "+00:00")).timestamp()  # the manifest may predate this run
    days = sorted(round((c["not_after_epoch"] - generated) / 86400) for r in truth["secrets"] if r["type"] == "kubernetes.io/tls"
                  for c in r["keys"].get("tls.crt", {}).get("certs", [])[:1])
    assert days[0] < 0 and {5, 20, 200} <= set(days)
    annotated = [r for r in truth["secrets"] if "cert-manager.io/certificate-name" in r["annotations"]]
    assert annotated and {"cert-manager.io/issuer-name", "cert-manager.io/issuer-kind"} <= set(annotated[0]["annotations"])


# ---------------------------------------------------------------- lifecycle (own state dir, scale size)

def test_scale_lifecycle_in_isolated_state_dir(tmp_path):
    """up --scale in a private state dir: 500 leaves served twice (at loopback speed and 50 ms late)
    serve their leaves; up is idempotent; down leaves nothing listening."""
    from tests.lab.common import LabContext
    from tests.lab.components import tls

    ctx = LabContext(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache", scale=True)
    try:
        first = tls.up(ctx, {})
        assert tls.up(ctx, {})["pid"] == first["pid"]
        targets = json.loads(Path(first["targets_file"]).read_text())
        scale = [e for e in targets["endpoints"] if "scale" in e["tags"] and "far" not in e["tags"]]
        far = [e for e in targets["endpoints"] if "far" in e["tags"]]
        assert len(scale) == len(far) == 500 and len({e["port"] for e in scale + far}) == 1000
        ctx_plain = client_context({"ca_bundle": first["ca_bundle"]}, verify=False)
        for endpoint in scale[::50]:
            assert hashlib.sha256(handshake(ctx_plain, endpoint)[1]).hexdigest() == endpoint["chain"][0]["sha256"]
        for near, distant in zip(scale[::100], far[::100]):
            assert near["chain"] == distant["chain"]
            started = time.monotonic()
            assert hashlib.sha256(handshake(ctx_plain, distant)[1]).hexdigest() == distant["chain"][0]["sha256"]
            assert time.monotonic() - started >= 0.05  # the far family answers the hello 50 ms late
        rss_kib = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{first['pid']}/status").read_text()).group(1))
        print(f"tls daemon with {len(targets['endpoints'])} endpoints: RSS {rss_kib} KiB, up in {first['up_seconds']}s")
        assert tls.status(ctx)["running"] is True
    finally:
        tls.down(ctx)
    assert tls.status(ctx)["running"] is False
    assert not Path(f"/proc/{first['pid']}").exists() or "State:\tZ" in Path(f"/proc/{first['pid']}/status").read_text()
    still = []
    for port in sorted(set(first["ports"].values()))[:: max(1, len(first["ports"]) // 60)]:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            still.append(port)
        except OSError:
            pass
    assert not still, f"still listening after down: {still}"
