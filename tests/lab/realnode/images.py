"""The real node's images, built by the lab from files on this machine (there is no registry).

Each image is one uncompressed layer in an OCI image layout tar, named with the
`io.containerd.image.name` annotation so `ctr -n k8s.io images import` tags it:

- PAUSE: the sandbox image, a static busybox that sleeps (containerd stops sandboxes with SIGKILL).
- BUSYBOX: Debian's static busybox with the applets the workloads use, /bin/sh as entry point.
- PYTHON: this machine's /usr/bin/python3 with its shared libraries and standard library:
  memory_hog's helper needs python3 (its stressor is stdlib only).

The tars are deterministic (mtime 0, root owner): the same inputs give the same digests, so the
cache key is the digest of the inputs.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

PAUSE = "lab.local/pause:lab"
BUSYBOX = "lab.local/busybox:lab"
PYTHON = "lab.local/python3:lab"
BUSYBOX_BIN = Path("/bin/busybox")
PYTHON_BIN = Path("/usr/bin/python3")
APPLETS = ("sh", "sleep", "cat", "echo", "true", "false", "dd", "head", "tail", "ls", "mkdir", "rm", "ps", "grep", "env",
           "touch", "test", "[", "mkfifo", "kill", "date", "wc", "yes", "nc", "wget", "httpd", "free", "id", "hostname")
PY_SKIP = {"test", "idlelib", "tkinter", "ensurepip", "lib2to3", "turtledemo", "__pycache__", "dist-packages", "site-packages",
           "config-3.11-x86_64-linux-gnu", "pydoc_data"}


def _info(name: str, *, kind=tarfile.REGTYPE, size=0, mode=0o644, link="") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.linkname = kind, size, mode, link
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
    return info


class Layer:
    """An uncompressed, deterministic layer tar built in memory."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)
        self.dirs = set()

    def dir(self, path: str) -> None:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub and sub not in self.dirs:
                self.dirs.add(sub)
                self.tar.addfile(_info(sub, kind=tarfile.DIRTYPE, mode=0o755))

    def file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self.dir(os.path.dirname(path.strip("/")))
        self.tar.addfile(_info(path.strip("/"), size=len(data), mode=mode), io.BytesIO(data))

    def symlink(self, path: str, target: str) -> None:
        self.dir(os.path.dirname(path.strip("/")))
        self.tar.addfile(_info(path.strip("/"), kind=tarfile.SYMTYPE, mode=0o777, link=target))

    def copy(self, src: Path, dest: str | None = None) -> None:
        real = Path(os.path.realpath(src))
        self.file(dest or str(src), real.read_bytes(), 0o755 if os.access(real, os.X_OK) else 0o644)

    def bytes(self) -> bytes:
        self.tar.close()
        return self.buf.getvalue()


def _busybox_layer(applets=APPLETS) -> Layer:
    layer = Layer()
    layer.copy(BUSYBOX_BIN, "bin/busybox")
    for applet in applets:
        layer.symlink(f"bin/{applet}", "busybox")
    layer.dir("tmp")
    layer.dir("etc")
    layer.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    layer.file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return layer


def _shared_libraries(binary: Path) -> list:
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if path.startswith("/"):
            libs.append(Path(path))
    return sorted(set(libs))


def _python_layer() -> Layer:
    layer = _busybox_layer(("sh",))
    layer.copy(PYTHON_BIN, "usr/bin/python3")
    stdlib = Path("/usr/lib") / f"python3.{_python_minor()}"
    binaries = [PYTHON_BIN]
    for root, dirs, files in os.walk(stdlib):
        dirs[:] = sorted(d for d in dirs if d not in PY_SKIP)
        for name in sorted(files):
            if name.endswith((".py", ".so")):
                path = Path(root) / name
                layer.copy(path, str(path).lstrip("/"))
                if name.endswith(".so"):
                    binaries.append(path)
    libs = set()
    for binary in binaries:  # the interpreter's and its extension modules' (ctypes needs libffi) libraries
        libs.update(_shared_libraries(binary))
    for lib in sorted(libs):
        layer.copy(lib, str(lib).lstrip("/"))
    return layer


def _python_minor() -> str:
    out = subprocess.run([str(PYTHON_BIN), "-c", "import sys; print(sys.version_info[1])"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _blob(blobs: dict, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return digest


def oci_archive(name: str, layer: bytes, entrypoint: list, cmd: list | None = None) -> bytes:
    """An OCI image layout tar holding one linux/amd64 image called `name`."""
    blobs = {}
    layer_digest = _blob(blobs, layer)
    config = {
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": entrypoint, "Cmd": cmd, "Env": ["PATH=/usr/bin:/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created_by": "sre.toolkit lab (tests/lab/realnode/images.py)"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _blob(blobs, config_bytes), "size": len(config_bytes)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    index = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": _blob(blobs, manifest_bytes),
                       "size": len(manifest_bytes), "platform": {"architecture": "amd64", "os": "linux"},
                       "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]}}],
    }
    out = Layer()
    out.file("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
    out.file("index.json", json.dumps(index, sort_keys=True).encode())
    for digest, data in sorted(blobs.items()):
        out.file(f"blobs/sha256/{digest.split(':', 1)[1]}", data)
    return out.bytes()


def inputs_key() -> str:
    """Digest of what the images are built from (binaries, this file): the cache key."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for path in (BUSYBOX_BIN, PYTHON_BIN):
        st = Path(os.path.realpath(path)).stat()
        h.update(f"{path}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def build_all(out_dir: Path) -> dict:
    """{image name: archive path}; archives are cached in out_dir under the inputs key."""
    key_dir = out_dir / inputs_key()
    specs = {
        PAUSE: (lambda: _busybox_layer(("sleep",)), ["/bin/sleep", "2147483647"], None),
        BUSYBOX: (_busybox_layer, ["/bin/sh"], None),
        PYTHON: (_python_layer, ["/usr/bin/python3"], None),
    }
    built = {}
    for name, (make, entry, cmd) in specs.items():
        path = key_dir / (name.split("/", 1)[1].replace(":", "-") + ".tar")
        if not path.exists():
            key_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(oci_archive(name, make().bytes(), entry, cmd))
            tmp.rename(path)
        built[name] = path
    return built
