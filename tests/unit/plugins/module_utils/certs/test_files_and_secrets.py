from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import serialization

from ansible_collections.sre.toolkit.plugins.module_utils._certs import files
from ansible_collections.sre.toolkit.plugins.module_utils._certs.secrets import certificate_keys, secret_identity

from .pki import hierarchy

PEM = serialization.Encoding.PEM


def test_expand_folders_globs_missing_and_passphrase_override(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("a/one.pem", "a/two.crt", ".hidden/three.pem", "store.p12"):
        (tmp_path / name).write_bytes(b"x")
    os.symlink(tmp_path / "gone.pem", tmp_path / "a" / "broken.pem")
    specs = [{"path": str(tmp_path)}, {"path": str(tmp_path / "store.p12"), "passphrase": "pw"},
             {"path": str(tmp_path / "**" / "*.crt")}, {"path": str(tmp_path / "nothing-*.pem")}, {"path": "/no/such/file"}]
    items = files.expand(specs)
    paths = [os.path.relpath(p, tmp_path) if p.startswith(str(tmp_path)) else p for p, _pw, _o, _e in items]
    assert "a/one.pem" in paths and "a/broken.pem" in paths and ".hidden/three.pem" not in paths
    assert paths.count("a/two.crt") == 1
    by_path = {p: (pw, e) for p, pw, _o, e in items}
    assert by_path[str(tmp_path / "store.p12")] == ("pw", None)
    assert by_path["/no/such/file"] == (None, "not_found") and by_path[str(tmp_path / "nothing-*.pem")][1] == "not_found"
    assert files.read(str(tmp_path / "a" / "broken.pem"))[1] == "broken_symlink"
    assert files.expand([{"path": str(tmp_path)}], include_hidden=True)[0][0].endswith(".hidden/three.pem")


def b64(data):
    return base64.b64encode(data).decode()


def test_secret_keys_never_include_private_material():
    _root, inter, leaf = hierarchy()
    key_pem = leaf.key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    secret = {"metadata": {"namespace": "ns", "name": "web", "labels": {"b": "2", "a": "1"},
                           "annotations": {"cert-manager.io/issuer-name": "ca", "kubectl.kubernetes.io/last-applied": "{...}"}},
              "type": "kubernetes.io/tls",
              "data": {"tls.crt": b64(leaf.cert.public_bytes(PEM) + inter.cert.public_bytes(PEM)), "tls.key": b64(key_pem),
                       "odd-name": b64(key_pem), "bundle": b64(inter.cert.public_bytes(PEM)), "password": b64(b"hunter2")}}
    keys = dict(certificate_keys(secret))
    assert sorted(keys) == ["bundle", "tls.crt"]
    identity = secret_identity(secret)
    assert identity["annotations"] == {"cert-manager.io/issuer-name": "ca"} and list(identity["labels"]) == ["a", "b"]
