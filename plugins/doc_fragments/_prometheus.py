# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Keep in sync with plugins/module_utils/_argspec.py (PROMETHEUS_SPEC).

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  prometheus_url:
    description:
      - Base URL of the Prometheus HTTP API, or of a compatible one (Thanos Query, Mimir with its
        C(/prometheus) prefix, VictoriaMetrics), for example V(http://127.0.0.1:9090).
    type: str
  prometheus_token:
    description:
      - Bearer token sent to Prometheus.
    type: str
  prometheus_username:
    description:
      - Username for basic authentication to Prometheus.
    type: str
  prometheus_password:
    description:
      - Password for basic authentication to Prometheus.
    type: str
  prometheus_headers:
    description:
      - Extra HTTP headers, for example C(X-Scope-OrgID) for a multi-tenant Mimir. Never shown in output.
    type: dict
  prometheus_ca_cert:
    description:
      - Path to a CA bundle to verify Prometheus' certificate.
    type: path
  prometheus_validate_certs:
    description:
      - Whether to verify Prometheus' TLS certificate.
    type: bool
    default: true
  prometheus_client_cert:
    description:
      - Path to a client certificate for mutual TLS.
    type: path
  prometheus_client_key:
    description:
      - Path to the key of O(prometheus_client_cert).
    type: path
  prometheus_proxy:
    description:
      - URL of an HTTP proxy to reach Prometheus through.
    type: str
  prometheus_timeout:
    description:
      - Seconds one request to Prometheus may take.
    type: float
    default: 30
  prometheus_retries:
    description:
      - How many times a query is retried after a 429, a 5xx or a connection error.
    type: int
    default: 3
"""
