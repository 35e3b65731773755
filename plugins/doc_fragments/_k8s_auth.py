# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Keep in sync with plugins/module_utils/_argspec.py (K8S_AUTH_SPEC).

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig itself as a dictionary.
      - Without it (and without O(host)), C(KUBECONFIG) or C(~/.kube/config) is read, and inside a pod the
        service account is used.
      - Credentials inside a dictionary kubeconfig are never shown in output.
      - Can be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: raw
  context:
    description:
      - The kubeconfig context to use; defaults to the current context.
      - Can be set with the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - URL of the Kubernetes API server; overrides the kubeconfig's server.
      - Can be set with the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token for the API server.
      - Can be set with the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  username:
    description:
      - Username for basic authentication (most clusters no longer allow it).
      - Can be set with the E(K8S_AUTH_USERNAME) environment variable.
    type: str
  password:
    description:
      - Password for basic authentication.
      - Can be set with the E(K8S_AUTH_PASSWORD) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's certificate. Defaults to what the kubeconfig says (usually V(true)).
      - Can be set with the E(K8S_AUTH_VERIFY_SSL) environment variable.
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to a CA bundle used to verify the API server.
      - Can be set with the E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate for mutual TLS.
      - Can be set with the E(K8S_AUTH_CERT_FILE) environment variable.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the key of O(client_cert).
      - Can be set with the E(K8S_AUTH_KEY_FILE) environment variable.
    type: path
    aliases: [key_file]
  proxy:
    description:
      - URL of an HTTP proxy to reach the API server through.
      - Can be set with the E(K8S_AUTH_PROXY) environment variable.
    type: str
  impersonate_user:
    description:
      - Act as this user (needs the impersonate verb).
    type: str
  impersonate_groups:
    description:
      - Act as members of these groups (with O(impersonate_user)).
    type: list
    elements: str
  api_timeout:
    description:
      - Seconds one API request may take.
    type: float
    default: 30
  api_retries:
    description:
      - How many times a read is retried after a 429 (honouring Retry-After), a 5xx or a connection error,
        with exponential backoff and jitter.
    type: int
    default: 3
  api_deadline:
    description:
      - Seconds all API requests of the task may take together; none starts after that.
    type: float
"""
