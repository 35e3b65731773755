"""The module's glue: option checks before any connection, file scans, trust store and proxy parsing."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.sre.toolkit.plugins.module_utils._certs import service
from ansible_collections.sre.toolkit.plugins.module_utils._certs.report import Settings
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.modules import cert_expiry as mod

from ..module_utils.certs.pki import NOW, hierarchy


def params(**over):
    base = {name: spec.get("default") for name, spec in mod.argument_spec().items()}
    base.update(over)
    return base


@pytest.mark.parametrize("over,needle", [
    ({"warn_days": 5, "critical_days": 10}, "critical_days"),
    ({"workers": 0}, "workers"),
    ({"per_host_limit": 0}, "per_host_limit"),
    ({"tls_timeout": 0}, "tls_timeout"),
    ({"tls_retries": -1}, "tls_retries"),
    ({"tls_min_version": "TLSv1.3", "tls_max_version": "TLSv1.2"}, "tls_min_version"),
    ({"tls_client_cert": "/c.pem"}, "tls_client_key"),
])
def test_bad_options_name_the_option(over, needle):
    with pytest.raises(ToolkitError) as info:
        service.check_params(params(**over))
    assert needle in info.value.msg


def test_proxy_url_parsing():
    assert service._proxy("http://user:p%40ss@proxy.test:3128") == (("proxy.test", 3128), "dXNlcjpwQHNz")
    assert service._proxy("proxy.test") == (("proxy.test", 8080), None)
    with pytest.raises(ToolkitError):
        service._proxy("socks5://proxy.test:1080")


def test_trust_store_from_bundle_and_bad_bundle(tmp_path):
    root, _inter, _leaf = hierarchy()
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(root.cert.public_bytes(serialization.Encoding.PEM))
    assert service.trust_store(str(bundle)).certs == [root.cert]
    (tmp_path / "junk.pem").write_text("nothing here")
    with pytest.raises(ToolkitError) as info:
        service.trust_store(str(tmp_path / "junk.pem"))
    assert "ca_bundle" in info.value.msg
    with pytest.raises(ToolkitError):
        service.trust_store(str(tmp_path / "missing.pem"))


def test_scan_files_one_error_per_item(tmp_path):
    root, inter, leaf = hierarchy()
    (tmp_path / "chain.pem").write_bytes(leaf.cert.public_bytes(serialization.Encoding.PEM) + inter.cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "junk.crt").write_text("junk")
    settings = Settings(NOW, NOW, service.TrustStore([root.cert]))
    found = service.scan_files(params(paths=[str(tmp_path), str(tmp_path / "none.pem")]), settings)
    by_name = {f["id"].rsplit("/", 1)[-1]: f for f in found}
    assert by_name["chain.pem"]["verify"] == "ok" and len(by_name["chain.pem"]["certs"]) == 2
    assert by_name["junk.crt"]["error_reason"] == "no_certificate_found"
    assert by_name["none.pem"]["error_reason"] == "not_found"
    with pytest.raises(ToolkitError):
        service.scan_files(params(paths=[{"passphrase": "x"}]), settings)


def test_missing_cryptography_is_said_clearly(tmp_path):
    """On a host without cryptography the module fails with missing_required_lib, not a traceback."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'cryptography' or name.startswith('cryptography.'):\n"
        "            raise ImportError('blocked for the test: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n")
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"paths": [str(tmp_path)]}}))
    module = Path(mod.__file__)
    collections = module.parents[5]
    env = {"PYTHONPATH": "%s:%s" % (tmp_path, collections), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, str(module), str(args)], env=env, capture_output=True, text=True, check=False)
    result = json.loads(proc.stdout)
    assert result["failed"] is True and result["error_kind"] == "dependency"
    assert "cryptography" in result["msg"] and "Traceback" not in result["msg"]
