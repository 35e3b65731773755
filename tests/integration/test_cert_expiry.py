"""cert_expiry against the lab: every endpoint, file and Secret must equal the lab's ground truth.

Runs the real module through ansible-playbook. Dates are compared as the lab wrote them;
verification happens at the lab's generation time so day boundaries cannot flake.
"""
from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration.ansible import run_module, run_playbook

CERT_FIELDS = ("subject", "subject_cn", "issuer", "issuer_cn", "serial", "serial_hex", "sha256", "not_before",
               "not_before_epoch", "not_after", "not_after_epoch", "sans", "key_type", "key_size", "key_curve",
               "signature_algorithm", "version", "is_ca", "self_signed")
ENDPOINT_FIELDS = ("chain_readable", "verify", "verify_error_depth", "verify_path", "earliest_not_after",
                   "earliest_not_after_path", "hostname", "hostname_unicode", "hostname_match",
                   "hostname_match_cn_fallback", "tls_version", "requires_client_cert", "error_kind", "error_reason")
TARGET_DIR = Path(__file__).parent / "targets" / "cert_expiry"


def load(path):
    return json.loads(Path(path).read_text())


def certs_of(items):
    return [{key: cert[key] for key in CERT_FIELDS} for cert in items]


def endpoint_spec(entry):
    """The endpoint as a user writes it: the server name as given (a U-label for the IDN cases), not its wire form."""
    return {"name": entry["id"], "host": entry["host"], "port": entry["port"], "sni": entry.get("sni_given") or entry["sni"],
            "starttls": entry["starttls"]}


def weak_of(items):
    return [{"depth": item["depth"], "algorithm": item["algorithm"]} for item in items]


def extension_oids(cert):
    return [fault["oid"] for fault in cert["extension_errors"]]


@pytest.fixture(scope="module")
def truth(lab_tls):
    return load(lab_tls["targets_file"])


@pytest.fixture(scope="module")
def scan(lab_tls, truth):
    """One call over every lab endpoint (except the scale ones) and the whole files tree."""
    endpoints = [endpoint_spec(e) for e in truth["endpoints"] if "scale" not in e["tags"]]
    result = run_module("cert_expiry", {
        "endpoints": endpoints, "ca_bundle": lab_tls["ca_bundle"], "validation_time": lab_tls["generated_at"],
        "paths": [lab_tls["files_dir"]], "include_hidden": True, "passphrase": _p12_passphrase(lab_tls),
        "tls_timeout": 3, "tls_deadline": 8,
    })
    assert result["_rc"] == 0 and not result.get("failed"), result.get("msg")
    assert "Traceback" not in result["_stdout"] + result["_stderr"]
    return result


def _p12_passphrase(lab_tls):
    return next(f["passphrase"] for f in load(lab_tls["files_ground_truth"])["files"] if f.get("passphrase"))


def test_every_endpoint_equals_ground_truth(scan, truth):
    ours = {e["id"]: e for e in scan["endpoints"]}
    expected = [e for e in truth["endpoints"] if "scale" not in e["tags"]]
    assert sorted(ours) == sorted(e["id"] for e in expected)
    mismatches = {}
    for entry in expected:
        got = ours[entry["id"]]
        diff = {field: (got.get(field), entry[field]) for field in ENDPOINT_FIELDS if got.get(field) != entry[field]}
        if certs_of(got["chain"]) != certs_of(entry["chain"]):
            diff["chain"] = "differs"
        if weak_of(got.get("weak_signatures") or []) != entry["weak_signatures"]:
            diff["weak_signatures"] = got.get("weak_signatures")
        if got["chain"] and extension_oids(got["chain"][0]) != entry["extension_errors"]:
            diff["extension_errors"] = got["chain"][0]["extension_errors"]
        if got["chain"] and (got["probe_method"], got["chain_complete"]) != ("raw", True):
            diff["probe"] = (got["probe_method"], got["chain_complete"])
        if diff:
            mismatches[entry["id"]] = diff
    assert mismatches == {}


@pytest.mark.parametrize("case", ["weak_sha1", "weak_sha1_expired", "weak_md5", "weak_dsa", "bad_extension", "idn_u_label",
                                  "idn_u_label_sharp_s", "expired_intermediate", "cross_signed", "mtls_tls12", "mtls_tls13", "sni_a", "sni_b",
                                  "starttls_smtp", "starttls_postgres", "starttls_mysql", "hang", "reset", "refused",
                                  "plain_http"])
def test_named_cases(scan, truth, case):
    """The hard cases, spelled out so a regression names its case."""
    entry = next(e for e in truth["endpoints"] if e["id"] == case)
    got = next(e for e in scan["endpoints"] if e["id"] == case)
    assert [c["sha256"] for c in got["chain"]] == [c["sha256"] for c in entry["chain"]]
    assert (got["verify"], got["verify_error_depth"]) == (entry["verify"], entry["verify_error_depth"])
    assert (got["error_kind"], got["error_reason"]) == (entry["error_kind"], entry["error_reason"])
    if case == "cross_signed":  # the stale root is reported as sent but never decides the expiry
        assert got["unused"] and got["unused"][0] == entry["chain"][-1]["sha256"]
        assert got["expiry"]["not_after"] == entry["earliest_not_after_path"] != entry["earliest_not_after"]
    if case == "expired_intermediate":
        assert got["severity"] == "critical" and got["chain"][0]["expired"] is False
    if case.startswith("weak_"):  # linked to the issuer that was sent, the algorithm named; an expired path still says expired
        algorithm = entry["weak_signatures"][0]["algorithm"]
        assert got["weak_signatures"][0]["algorithm"] == algorithm and got["weak_signatures"][0]["link"] == "legacy_signature"
        assert got["unused"] == [] and got["verify"] != "unknown_ca"
        assert algorithm in got["verify_detail"] or got["verify"] == "expired"
    if case == "bad_extension":  # dates reported, the extension named, the hostname not judged
        assert got["chain"][0]["not_after"] == entry["chain"][0]["not_after"]
        assert got["chain"][0]["extension_errors"][0]["name"] == "certificatePolicies"
        assert got["hostname_match"] is None and "not judged" in got["hostname_detail"]
    if case.startswith("idn_u_label"):  # a U-label went out as the A-label: the full chain came back over our own reader
        assert (got["sni"], got["hostname_unicode"]) == (entry["sni"], entry["sni_given"])
        assert got["probe_method"] == "raw" and got["chain_complete"] is True and len(got["chain"]) == 2
    if entry["error_kind"] and not entry["chain"]:
        assert got["severity"] == "error"


def test_every_file_equals_ground_truth(scan, lab_tls):
    truth = load(lab_tls["files_ground_truth"])
    ours = {f["id"]: f for f in scan["files"]}
    assert sorted(ours) == sorted(f["abs_path"] for f in truth["files"])
    mismatches = {}
    for entry in truth["files"]:
        got = ours[entry["abs_path"]]
        diff = {}
        if (got["format"], got["error_reason"]) != (entry["format"], entry["error"]):
            diff["format/error"] = ((got["format"], got["error_reason"]), (entry["format"], entry["error"]))
        if certs_of(got["certs"]) != certs_of(entry["certs"]):
            diff["certs"] = "differs"
        if entry.get("items") and [(c["origin"], c["sha256"]) for c in got["certs"]] != [(i["where"], i["sha256"]) for i in entry["items"]]:
            diff["items"] = [c["origin"] for c in got["certs"]]
        if entry.get("verify") and got["verify"] != entry["verify"]:
            diff["verify"] = (got["verify"], entry["verify"])
        if entry.get("errors") and [e["reason"] for e in got["errors"]] != entry["errors"]:
            diff["errors"] = got["errors"]
        if "weak_signatures" in entry and weak_of(got["weak_signatures"]) != entry["weak_signatures"]:
            diff["weak_signatures"] = got["weak_signatures"]
        if entry.get("extension_errors") and extension_oids(got["certs"][0]) != entry["extension_errors"]:
            diff["extension_errors"] = got["certs"][0]["extension_errors"]
        if diff:
            mismatches[entry["path"]] = diff
    assert mismatches == {}


def test_globs_match_ground_truth(lab_tls):
    truth = load(lab_tls["files_ground_truth"])
    patterns = [os.path.join(g["root"], g["pattern"]) for g in truth["globs"]]
    result = run_module("cert_expiry", {"paths": patterns, "ca_bundle": lab_tls["ca_bundle"]})
    found = sorted(os.path.relpath(f["id"], lab_tls["files_dir"]) for f in result["files"])
    assert found == sorted({m for g in truth["globs"] for m in g["matches"]})


def test_bad_items_fail_alone_while_the_rest_reports(lab_tls, truth):
    valid = next(e for e in truth["endpoints"] if e["id"] == "valid")
    p12 = os.path.join(lab_tls["files_dir"], "keystore.p12")
    result = run_module("cert_expiry", {
        "endpoints": [endpoint_spec(valid), "127.0.0.1:70000", "not a target:x", "gopher://example.test/"],
        "paths": [os.path.join(lab_tls["files_dir"], "leaf.der"), "/nonexistent/cert.pem",
                  {"path": p12, "passphrase": "not-the-Passphrase-42"}],
        "ca_bundle": lab_tls["ca_bundle"],
    })
    assert result["_rc"] == 0 and not result.get("failed")
    by_id = {e["id"]: e for e in result["endpoints"]}
    assert by_id["valid"]["verify"] == "ok" and by_id["valid"]["chain"]
    assert "out of range" in by_id["127.0.0.1:70000"]["error"] and by_id["127.0.0.1:70000"]["error_kind"] == "invalid"
    assert by_id["not a target:x"]["error_kind"] == "invalid" and by_id["gopher://example.test/"]["error_kind"] == "invalid"
    files = {f["id"]: f for f in result["files"]}
    assert files[os.path.join(lab_tls["files_dir"], "leaf.der")]["certs"]
    assert files["/nonexistent/cert.pem"]["error_reason"] == "not_found"
    assert files[p12]["error_reason"] == "bad_passphrase" and files[p12]["certs"] == []
    assert "not-the-Passphrase-42" not in json.dumps(result)


def test_urls_choose_port_and_starttls(lab_tls, truth):
    smtp = next(e for e in truth["endpoints"] if e["id"] == "starttls_smtp")
    valid = next(e for e in truth["endpoints"] if e["id"] == "valid")
    urls = ["smtp://127.0.0.1:%d" % smtp["port"], "https://127.0.0.1:%d/healthz?x=1" % valid["port"]]
    result = run_module("cert_expiry", {"endpoints": urls, "ca_bundle": lab_tls["ca_bundle"]})
    by_port = {e["port"]: e for e in result["endpoints"]}
    for expected, starttls in ((smtp, "smtp"), (valid, None)):
        got = by_port[expected["port"]]
        assert got["error_kind"] is None and got["starttls"] == starttls
        assert [c["sha256"] for c in got["chain"]] == [c["sha256"] for c in expected["chain"]]


class ConnectProxy:
    """A small real HTTP CONNECT proxy on 127.0.0.1 that records the targets it was asked for."""

    def __init__(self):
        import socket
        import threading
        self.requests = []
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        import threading
        while True:
            try:
                client, _addr = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client):
        import select
        import socket
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return client.close()
            head += chunk
        target = head.split(b" ")[1].decode()
        self.requests.append(target)
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)), timeout=5)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sockets = [client, upstream]
        while True:
            readable, _w, _x = select.select(sockets, [], [], 5)
            if not readable:
                break
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    client.close()
                    upstream.close()
                    return
                (upstream if sock is client else client).sendall(data)
        client.close()
        upstream.close()

    def close(self):
        self.server.close()


def test_through_an_http_connect_proxy(lab_tls, truth):
    entry = next(e for e in truth["endpoints"] if e["id"] == "valid")
    proxy = ConnectProxy()
    try:
        result = run_module("cert_expiry", {"endpoints": [endpoint_spec(entry)], "ca_bundle": lab_tls["ca_bundle"],
                                            "tls_proxy": "http://127.0.0.1:%d" % proxy.port})
    finally:
        proxy.close()
    got = result["endpoints"][0]
    assert proxy.requests == ["127.0.0.1:%d" % entry["port"]]
    assert [c["sha256"] for c in got["chain"]] == [c["sha256"] for c in entry["chain"]] and got["verify"] == "ok"


def test_client_certificate_accepted_by_mtls_servers(lab_tls, truth):
    cases = [endpoint_spec(e) for e in truth["endpoints"] if "mtls" in e["tags"]]
    result = run_module("cert_expiry", {"endpoints": cases, "ca_bundle": lab_tls["ca_bundle"],
                                        "tls_client_cert": lab_tls["client_cert"], "tls_client_key": lab_tls["client_key"]})
    assert len(result["endpoints"]) == len(cases) >= 2
    for got in result["endpoints"]:
        assert got["requires_client_cert"] is True and got["client_cert_accepted"] is True
        assert got["error_kind"] is None and got["chain"]


@pytest.mark.parametrize("fail_on", ["critical", ["critical"], "warning"])
def test_fail_on_fails_the_task_and_still_reports(lab_tls, truth, fail_on):
    """The one gate (a severity threshold) and the list form this module had."""
    cases = [endpoint_spec(e) for e in truth["endpoints"] if e["id"] in ("valid", "near_expiry_5d")]
    result = run_module("cert_expiry", {"endpoints": cases, "ca_bundle": lab_tls["ca_bundle"], "fail_on": fail_on})
    assert result["failed"] is True and result["summary"]["gate"]["failed"] is True
    assert result["msg"] == "fail_on: 1 critical finding(s) at or above fail_on=%s" % result["summary"]["gate"]["fail_on"]
    assert [(f["id"], f["severity"]) for f in result["findings"]] == [("cert.expires_soon", "critical")]
    assert result["findings"][0]["subject"]["locator"].startswith("endpoint 127.0.0.1:")
    assert len(result["endpoints"]) == 2


@pytest.mark.parametrize("fail_on", ["never", "none", []])
def test_no_gate_never_fails(lab_tls, truth, fail_on):
    cases = [endpoint_spec(e) for e in truth["endpoints"] if e["id"] == "near_expiry_5d"]
    result = run_module("cert_expiry", {"endpoints": cases, "ca_bundle": lab_tls["ca_bundle"], "fail_on": fail_on})
    assert not result.get("failed") and result["summary"]["counts"]["critical"] == 1


def test_unknown_fail_on_is_named(lab_tls, truth):
    cases = [endpoint_spec(e) for e in truth["endpoints"] if e["id"] == "valid"]
    result = run_module("cert_expiry", {"endpoints": cases, "fail_on": "sometimes"})
    assert result["failed"] is True and "fail_on" in result["msg"] and "never, info, warning, critical" in result["msg"]


def test_verify_in_days_answers_will_it_still_verify(lab_tls, truth):
    near = next(e for e in truth["endpoints"] if e["id"] == "near_expiry_20d")
    args = {"endpoints": [endpoint_spec(near)], "ca_bundle": lab_tls["ca_bundle"], "validation_time": lab_tls["generated_at"]}
    assert run_module("cert_expiry", args)["endpoints"][0]["verify"] == "ok"
    later = run_module("cert_expiry", dict(args, verify_in_days=30))["endpoints"][0]
    assert (later["verify"], later["verify_error_depth"]) == ("expired", 0)


@pytest.fixture()
def secrets_namespace(lab_k8s, lab_tls):
    """The lab's Secrets (from the current TLS generation) applied to a namespace of our own, deleted after."""
    import yaml
    namespace = "cert-expiry-test-%s" % uuid.uuid4().hex[:8]
    docs = [d for d in yaml.safe_load_all(Path(lab_tls["k8s_secrets_manifest"]).read_text()) if d and d.get("kind") == "Secret"]
    for doc in docs:
        doc["metadata"]["namespace"] = namespace
    kubectl = [lab_k8s["kubectl"], "--kubeconfig", lab_k8s["kubeconfig"]]
    subprocess.run(kubectl + ["create", "namespace", namespace], check=True, capture_output=True)
    try:
        subprocess.run(kubectl + ["apply", "-f", "-"], input=yaml.safe_dump_all(docs), text=True, check=True, capture_output=True)
        yield namespace
    finally:
        subprocess.run(kubectl + ["delete", "namespace", namespace, "--wait=false"], check=False, capture_output=True)


def test_secrets_equal_ground_truth_and_leak_nothing(lab_k8s, lab_tls, secrets_namespace):
    truth = load(lab_tls["k8s_secrets_ground_truth"])
    result = run_module("cert_expiry", {"secrets": {"namespaces": [secrets_namespace]}, "kubeconfig": lab_k8s["kubeconfig"],
                                        "ca_bundle": lab_tls["ca_bundle"]})
    assert result["_rc"] == 0 and not result.get("failed"), result.get("msg")
    ours = {s["name"]: s for s in result["secrets"]}
    assert sorted(ours) == sorted(s["name"] for s in truth["secrets"])
    for entry in truth["secrets"]:
        got = ours[entry["name"]]
        assert got["namespace"] == secrets_namespace and got["type"] == entry["type"]
        assert got["annotations"] == {k: v for k, v in entry["annotations"].items() if k.startswith("cert-manager.io/")}
        assert sorted(got["keys"]) == sorted(entry["keys"])
        for key, want in entry["keys"].items():
            assert certs_of(got["keys"][key]["certs"]) == certs_of(want["certs"]), (entry["name"], key)
            assert got["keys"][key]["error_reason"] == want["error"], (entry["name"], key)
    severities = {name: s["severity"] for name, s in ours.items()}
    assert (severities["tls-expired"], severities["tls-5d"], severities["tls-20d"], severities["tls-broken"]) == (
        "critical", "critical", "warn", "error")
    dumped = json.dumps(result)
    assert "PRIVATE KEY" not in dumped and "tls.key" not in dumped and "LS0tLS1CRUdJTiBQUklW" not in dumped


def test_unreadable_namespace_is_one_error_while_files_report(lab_k8s, lab_tls):
    """A Secret listing the API refuses (here: an invalid label selector, HTTP 400) costs only itself."""
    result = run_module("cert_expiry", {"secrets": {"namespaces": ["lab-certs"], "label_selector": "a b!!c"},
                                        "kubeconfig": lab_k8s["kubeconfig"],
                                        "paths": [os.path.join(lab_tls["files_dir"], "leaf.der")]})
    assert result["_rc"] == 0 and not result.get("failed"), result.get("msg")
    assert result["files"][0]["certs"]
    assert [s["id"] for s in result["secrets"]] == ["lab-certs/*"]
    assert result["secrets"][0]["severity"] == "error" and result["secrets"][0]["error_kind"]


def test_role_shaped_target(lab_tls, truth, tmp_path):
    """tests/integration/targets/cert_expiry/tasks/main.yml, with its own asserts, through ansible-playbook."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False,
                                     "tasks": [{"ansible.builtin.include_tasks": str(TARGET_DIR / "tasks" / "main.yml")}]}]))
    endpoints = {e["id"]: e for e in truth["endpoints"] if "scale" not in e["tags"]}
    result = run_playbook(playbook, extra_vars={"lab_tls": lab_tls, "lab_endpoints": endpoints})
    assert result["rc"] == 0, result["stdout"][-4000:]
    assert "failed=0" in result["stdout"]


# ---------------------------------------------------------------- a managed host with Python and cryptography only

def _bare_python(tmp_path):
    """A venv that sees nothing but the standard library plus cryptography (and cffi, its one dependency)."""
    import importlib.util
    import sys
    import sysconfig

    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    for name in ("cryptography", "cffi", "_cffi_backend", "pycparser"):
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (allowed / source.name).symlink_to(source)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "only-cryptography.pth").write_text(str(allowed) + "\n")
    assert sysconfig.get_paths()["purelib"] != purelib
    return python


def test_runs_on_a_host_with_only_python_and_cryptography(lab_tls, truth, tmp_path):
    python = _bare_python(tmp_path)
    probe = subprocess.run([str(python), "-c", "import cryptography, importlib.util as u; "
                            "print([m for m in ('requests', 'yaml', 'kubernetes', 'jinja2', 'urllib3') if u.find_spec(m)])"],
                           capture_output=True, text=True, check=False)
    assert probe.returncode == 0 and probe.stdout.strip() == "[]", probe.stdout + probe.stderr

    inventory = tmp_path / "inventory.ini"
    inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % python)
    out = tmp_path / "result.json"
    cases = ("valid", "expired_intermediate", "mtls_tls12", "starttls_smtp", "sni_b", "refused")
    endpoints = [endpoint_spec(e) for e in truth["endpoints"] if e["id"] in cases]
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"sre.toolkit.cert_expiry": {"endpoints": endpoints, "ca_bundle": lab_tls["ca_bundle"],
                                     "validation_time": lab_tls["generated_at"], "paths": [lab_tls["files_dir"]],
                                     "include_hidden": True, "passphrase": _p12_passphrase(lab_tls),
                                     "tls_timeout": 3, "tls_deadline": 8},
         "register": "result"},
        {"ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(out)}},
    ]}]))
    played = run_playbook(playbook, inventory=inventory)
    assert played["rc"] == 0, played["stdout"][-3000:] + played["stderr"][-3000:]
    result = load(out)
    by_id = {e["id"]: e for e in result["endpoints"]}
    for case in cases:
        expected = next(e for e in truth["endpoints"] if e["id"] == case)
        got = by_id[case]
        assert (got["verify"], got["error_kind"], got["tls_version"]) == (expected["verify"], expected["error_kind"], expected["tls_version"])
        assert [c["sha256"] for c in got["chain"]] == [c["sha256"] for c in expected["chain"]]
    files_truth = load(lab_tls["files_ground_truth"])["files"]
    ours = {f["id"]: f for f in result["files"]}
    assert sorted(ours) == sorted(f["abs_path"] for f in files_truth)
    for entry in files_truth:  # PEM bundles, DER, PKCS#12 with its passphrase, kubeconfigs, broken items
        got = ours[entry["abs_path"]]
        assert (got["error_reason"], [c["sha256"] for c in got["certs"]]) == (entry["error"], [c["sha256"] for c in entry["certs"]]), entry["path"]


def test_system_store_is_the_default_trust(lab_tls, truth):
    """Without ca_bundle the host's store judges: the lab root is not in it (unknown_ca, dates still
    reported); the same store pointed at the lab CA through SSL_CERT_FILE verifies."""
    valid = next(e for e in truth["endpoints"] if e["id"] == "valid")
    args = {"endpoints": [endpoint_spec(valid)], "validation_time": lab_tls["generated_at"]}
    system = run_module("cert_expiry", args)["endpoints"][0]
    assert system["verify"] == "unknown_ca" and system["chain"][0]["not_after"] == valid["chain"][0]["not_after"]
    pointed = run_module("cert_expiry", args, env={"SSL_CERT_FILE": lab_tls["ca_bundle"]})["endpoints"][0]
    assert (pointed["verify"], pointed["verify_path"]) == ("ok", valid["verify_path"])
