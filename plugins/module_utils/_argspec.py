# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared argument specs. Keep in sync with plugins/doc_fragments/_k8s_auth.py and _prometheus.py."""

from __future__ import annotations

import copy
import math

from ansible.module_utils.basic import env_fallback

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError, fail_from_error

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


# ---- numeric options: one table of allowed ranges, checked once after AnsibleModule parsing ----

def bounds(low=None, high=None, low_open=False, high_open=False, unit=""):
    """An allowed range: low/high None = unbounded; *_open = the bound itself is not allowed."""
    return {"low": low, "high": high, "low_open": low_open, "high_open": high_open, "unit": unit}


SECONDS = bounds(0, low_open=True, unit="seconds")
SECONDS_OR_ZERO = bounds(0, unit="seconds")
COUNT = bounds(0)
AT_LEAST_ONE = bounds(1)
SHARE = bounds(0, 1)

# Options of the shared specs (K8S_AUTH_SPEC, PROMETHEUS_SPEC), checked in every module that has them.
SHARED_BOUNDS = {
    "api_timeout": SECONDS, "api_retries": COUNT, "api_deadline": SECONDS,
    "prometheus_timeout": SECONDS, "prometheus_retries": COUNT,
}
# Each module's own numeric options. A dotted name reaches a suboption; "[]" steps into each list item.
MODULE_BOUNDS = {
    "k8s_health": {"min_score": bounds(0, 100)},
    "pod_killer": {
        "count": AT_LEAST_ONE, "percent": bounds(0, 100, low_open=True), "max_per_owner": COUNT, "min_ready_replicas": COUNT,
        "grace_period": SECONDS_OR_ZERO, "interval": SECONDS_OR_ZERO, "recovery_timeout": SECONDS_OR_ZERO, "recovery_poll": SECONDS,
        "gate.http_timeout": SECONDS, "gate.http_status[]": bounds(100, 599),
    },
    "memory_hog": {"workers": AT_LEAST_ONE, "duration": bounds(1, unit="seconds"), "ramp": SECONDS_OR_ZERO,
                   "timeout_margin": bounds(1, unit="seconds")},
    "alert_frequency": {
        "gap_tolerance": bounds(0, 1, low_open=True, high_open=True),
        "flapping.high_threshold": bounds(0, 100, unit="percent"), "flapping.low_threshold": bounds(0, 100, unit="percent"),
        "flapping.states": bounds(3), "cofiring.min_score": SHARE, "cofiring.min_jaccard": SHARE, "cofiring.min_together": AT_LEAST_ONE,
        "cofiring.cascade_min_lift": bounds(0, low_open=True), "cofiring.cascade_min_share": SHARE,
        "cofiring.significance": bounds(0, 1, low_open=True, high_open=True),
        "slos[].objective": bounds(0, 100, low_open=True, high_open=True),
    },
    "slo_report": {
        "slos[].objective": bounds(0, 100, low_open=True, high_open=True), "slos[].latency.threshold": SECONDS,
        "slos[].alert_pairs[].factor": bounds(0, low_open=True), "alert_pairs[].factor": bounds(0, low_open=True),
        "candidates[]": bounds(0, 100, low_open=True, high_open=True), "budget_warning": bounds(0, 100, unit="percent"),
        "incident_min_budget": bounds(0, 100, unit="percent"),
    },
    "rightsizing": {
        "cpu_percentile": bounds(0, 100, low_open=True, unit="percentile"), "cpu_limit_percentile": bounds(0, 100, low_open=True, unit="percentile"),
        "memory_percentile": bounds(0, 100, low_open=True, unit="percentile"), "cpu_margin": bounds(0), "memory_margin": bounds(0),
        "oom_bump": bounds(1), "max_throttled_share": SHARE, "idle_cpu_share": SHARE, "idle_network_bps": bounds(0),
        "idle_memory_change": bounds(0, low_open=True), "idle_request_rate": bounds(0),
        "price_cpu_hour": bounds(0), "price_memory_gib_hour": bounds(0), "warn_monthly_saving": bounds(0), "min_points": AT_LEAST_ONE,
        "series_top": COUNT,
    },
    "cert_expiry": {
        "verify_in_days": bounds(0, unit="days"), "warn_days": bounds(0, unit="days"), "critical_days": bounds(0, unit="days"),
        "workers": AT_LEAST_ONE, "per_host_limit": AT_LEAST_ONE, "tls_timeout": SECONDS, "tls_deadline": SECONDS, "tls_retries": COUNT,
    },
    "incident_timeline": {"postmortem_entries": AT_LEAST_ONE},  # its durations are text (1h, 30m), checked by the service
}
# (lower, higher, why): the first may not be above the second.
MODULE_ORDER = {
    "alert_frequency": [("flapping.low_threshold", "flapping.high_threshold", "flapping stops below the low threshold")],
    "cert_expiry": [("critical_days", "warn_days", "the warning comes before the critical state")],
    "memory_hog": [("ramp", "duration", "the ramp is part of the duration")],
}


def _number(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value


def describe_bounds(rule):
    parts = []
    if rule["low"] is not None:
        parts.append(("more than %s" if rule["low_open"] else "at least %s") % _number(rule["low"]))
    if rule["high"] is not None:
        parts.append(("less than %s" if rule["high_open"] else "at most %s") % _number(rule["high"]))
    return " and ".join(parts) + (" " + rule["unit"] if rule["unit"] else "")


def option_values(params, path):
    """[(display name, value)] of a dotted option path in parsed params; absent (None) values are left out."""
    found = [("", params)]
    for part in path.split("."):
        many = part.endswith("[]")
        key = part[:-2] if many else part
        deeper = []
        for name, node in found:
            if not isinstance(node, dict) or node.get(key) is None:
                continue
            label = "%s.%s" % (name, key) if name else key
            if many and isinstance(node[key], list):
                deeper += [("%s[%d]" % (label, index), item) for index, item in enumerate(node[key]) if item is not None]
            elif not many:
                deeper.append((label, node[key]))
        found = deeper
    return found


def _outside(value, rule):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    low, high = rule["low"], rule["high"]
    if low is not None and (value < low or (rule["low_open"] and value == low)):
        return True
    return high is not None and (value > high or (rule["high_open"] and value == high))


def numeric_problems(params, module_name):
    """[(option, message)] for every numeric option outside its range or out of order, in table order."""
    table = dict(SHARED_BOUNDS, **MODULE_BOUNDS.get(module_name, {}))
    problems = []
    for path, rule in table.items():
        for name, value in option_values(params, path):
            if isinstance(value, float) and not math.isfinite(value):
                problems.append((name, "%s: must be a finite number (%s), got %s" % (name, describe_bounds(rule), value)))
            elif _outside(value, rule):
                problems.append((name, "%s: must be %s, got %s" % (name, describe_bounds(rule), _number(value))))
    bad = set(name for name, _message in problems)
    for lower, higher, why in MODULE_ORDER.get(module_name, []):
        low_values, high_values = dict(option_values(params, lower)), dict(option_values(params, higher))
        if lower in low_values and higher in high_values and not bad & {lower, higher} and low_values[lower] > high_values[higher]:
            problems.append((lower, "%s: %s must not be above %s (%s): %s" % (
                lower, _number(low_values[lower]), higher, _number(high_values[higher]), why)))
    return problems


def check_numeric_options(module, module_name):
    """Fail the module (error_kind invalid) naming every numeric option outside its allowed range."""
    problems = numeric_problems(module.params, module_name)
    if problems:
        error = ToolkitError("; ".join(message for _name, message in problems), kind="invalid",
                             details={"params": [name for name, _message in problems]})
        fail_from_error(module, error, changed=False)
