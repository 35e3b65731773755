# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared argument specs. Keep in sync with plugins/doc_fragments/_k8s_auth.py and _prometheus.py."""

from __future__ import annotations

import copy

from ansible.module_utils.basic import env_fallback

K8S_AUTH_SPEC = {
    "kubeconfig": {"type": "raw", "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "host": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_HOST"])},
    "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_API_KEY"])},
    "username": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_USERNAME"])},
    "password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_PASSWORD"])},
    "validate_certs": {"type": "bool", "aliases": ["verify_ssl"], "fallback": (env_fallback, ["K8S_AUTH_VERIFY_SSL"])},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"], "fallback": (env_fallback, ["K8S_AUTH_SSL_CA_CERT"])},
    "client_cert": {"type": "path", "aliases": ["cert_file"], "fallback": (env_fallback, ["K8S_AUTH_CERT_FILE"])},
    "client_key": {"type": "path", "aliases": ["key_file"], "no_log": False, "fallback": (env_fallback, ["K8S_AUTH_KEY_FILE"])},
    "proxy": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_PROXY"])},
    "impersonate_user": {"type": "str"},
    "impersonate_groups": {"type": "list", "elements": "str"},
    "api_timeout": {"type": "float", "default": 30.0},
    "api_retries": {"type": "int", "default": 3},
    "api_deadline": {"type": "float"},
}

PROMETHEUS_SPEC = {
    "prometheus_url": {"type": "str"},
    "prometheus_token": {"type": "str", "no_log": True},
    "prometheus_username": {"type": "str"},
    "prometheus_password": {"type": "str", "no_log": True},
    "prometheus_headers": {"type": "dict", "no_log": True},
    "prometheus_ca_cert": {"type": "path"},
    "prometheus_validate_certs": {"type": "bool", "default": True},
    "prometheus_client_cert": {"type": "path"},
    "prometheus_client_key": {"type": "path", "no_log": False},
    "prometheus_proxy": {"type": "str"},
    "prometheus_timeout": {"type": "float", "default": 30.0},
    "prometheus_retries": {"type": "int", "default": 3},
}

# Keys in a kubeconfig that hold credentials; their values never reach output.
KUBECONFIG_SECRET_KEYS = frozenset((
    "token", "password", "client-key-data", "client-certificate-data", "id-token", "refresh-token",
    "access-token", "client-secret",
))


def spec(*parts, **own):
    """A fresh argument spec made of shared parts plus the module's own options."""
    merged = {}
    for part in parts:
        merged.update(copy.deepcopy(part))
    merged.update(own)
    return merged


def kubeconfig_secrets(value):
    """Every credential string inside a kubeconfig given as a dict (for module.no_log_values)."""
    found = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in KUBECONFIG_SECRET_KEYS and isinstance(item, str) and item:
                found.add(item)
            else:
                found |= kubeconfig_secrets(item)
    elif isinstance(value, list):
        for item in value:
            found |= kubeconfig_secrets(item)
    return found


def protect_kubeconfig(module):
    """Register a dict kubeconfig's credentials as no_log values (a path needs nothing)."""
    module.no_log_values.update(kubeconfig_secrets(module.params.get("kubeconfig")))
