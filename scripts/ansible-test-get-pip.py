"""Offline stand-in for the pip bootstrap script ansible-test downloads (unreachable here).

ansible-test runs it in each fresh sanity venv with pip's install options and the pinned
packages. We bootstrap pip from the interpreter's bundled wheel instead, then install the
pinned packages from the configured package index.
"""
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at the null device; that would hide the system pip
# configuration (index URL, CA bundle) for the install below.
os.environ.pop("PIP_CONFIG_FILE", None)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args))
