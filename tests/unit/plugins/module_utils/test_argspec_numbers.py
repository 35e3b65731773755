"""Issue #20 part 2e: every numeric option of every module is checked up front, by one table in
_argspec.py, with a message naming the option and its allowed range; inverted thresholds too."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils import _argspec
from ansible_collections.sre.toolkit.plugins.modules import alert_frequency, cert_expiry, incident_timeline, k8s_health, memory_hog, pod_killer

MODULES = {"k8s_health": k8s_health, "pod_killer": pod_killer, "memory_hog": memory_hog, "alert_frequency": alert_frequency,
           "cert_expiry": cert_expiry, "incident_timeline": incident_timeline}
# numeric options that take any value on purpose
UNBOUNDED = {("pod_killer", "seed")}


def numeric_paths(argument_spec, prefix=""):
    """Dotted paths of every int/float option, suboption and list element of an argument spec."""
    for name, spec in sorted(argument_spec.items()):
        path = prefix + name
        kind = spec.get("type", "str")
        if kind in ("int", "float"):
            yield path
        elif kind == "list" and spec.get("elements") in ("int", "float"):
            yield path + "[]"
        options = spec.get("options")
        if options:
            yield from numeric_paths(options, path + ("[]." if kind == "list" else "."))


def defaults(argument_spec):
    out = {}
    for name, spec in argument_spec.items():
        if spec.get("options") and spec.get("type") == "dict":
            out[name] = defaults(spec["options"])
        else:
            out[name] = spec.get("default")
    return out


def table(module_name):
    return dict(_argspec.SHARED_BOUNDS, **_argspec.MODULE_BOUNDS[module_name])


@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_every_numeric_option_has_a_range(module_name):
    paths = set(numeric_paths(MODULES[module_name].argument_spec()))
    missing = sorted(p for p in paths - set(table(module_name)) if (module_name, p) not in UNBOUNDED)
    assert not missing, "add these to _argspec.MODULE_BOUNDS[%r]: %s" % (module_name, missing)


@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_defaults_are_in_range(module_name):
    assert _argspec.numeric_problems(defaults(MODULES[module_name].argument_spec()), module_name) == []


def _outside_values(rule):
    """Values just outside a range, and nan/inf."""
    out = [float("nan"), float("inf")]
    if rule["low"] is not None:
        out += [rule["low"] if rule["low_open"] else rule["low"] - 1, rule["low"] - 1000]
    if rule["high"] is not None:
        out += [rule["high"] if rule["high_open"] else rule["high"] + 1]
    return out


def _set(params, path, value):
    node = params
    parts = path.split(".")
    for part in parts[:-1]:
        key = part[:-2] if part.endswith("[]") else part
        if part.endswith("[]"):
            node[key] = [{}]
            node = node[key][0]
        else:
            node[key] = dict(node.get(key) or {})
            node = node[key]
    last = parts[-1]
    if last.endswith("[]"):
        node[last[:-2]] = [200, value]
    else:
        node[last] = value


@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_each_option_outside_its_range_is_named_with_the_range(module_name):
    base = defaults(MODULES[module_name].argument_spec())
    for path, rule in sorted(table(module_name).items()):
        for value in _outside_values(rule):
            params = json.loads(json.dumps(base))
            _set(params, path, value)
            problems = _argspec.numeric_problems(params, module_name)
            shown = path.replace("[]", "[1]") if path.endswith("[]") else path.replace("[]", "[0]")
            assert [name for name, _message in problems] == [shown], (path, value, problems)
            message = problems[0][1]
            assert message.startswith(shown + ": must be") and _argspec.describe_bounds(rule) in message, message


@pytest.mark.parametrize("module_name,params,needle", [
    ("k8s_health", {"api_timeout": -5.0}, "api_timeout: must be more than 0 seconds, got -5"),
    ("k8s_health", {"api_retries": -1}, "api_retries: must be at least 0, got -1"),
    ("k8s_health", {"api_deadline": 0.0}, "api_deadline: must be more than 0 seconds, got 0"),
    ("k8s_health", {"min_score": 120.0}, "min_score: must be at least 0 and at most 100, got 120"),
    ("pod_killer", {"prometheus_timeout": 0.0}, "prometheus_timeout: must be more than 0 seconds"),
    ("pod_killer", {"gate": {"http_status": [200, 99]}}, "gate.http_status[1]: must be at least 100 and at most 599, got 99"),
    ("pod_killer", {"percent": 0.0}, "percent: must be more than 0 and at most 100, got 0"),
    ("memory_hog", {"workers": 0}, "workers: must be at least 1, got 0"),
    ("alert_frequency", {"slos": [{"name": "a", "objective": 100.0}]}, "slos[0].objective: must be more than 0 and less than 100"),
    ("alert_frequency", {"gap_tolerance": float("nan")}, "gap_tolerance: must be a finite number"),
    ("cert_expiry", {"tls_timeout": -1.0}, "tls_timeout: must be more than 0 seconds, got -1"),
])
def test_messages(module_name, params, needle):
    messages = [message for _name, message in _argspec.numeric_problems(params, module_name)]
    assert any(needle in message for message in messages), messages


@pytest.mark.parametrize("module_name,params,needle", [
    ("cert_expiry", {"warn_days": 7, "critical_days": 14}, "critical_days: 14 must not be above warn_days (7)"),
    ("alert_frequency", {"flapping": {"low_threshold": 40.0, "high_threshold": 30.0}},
     "flapping.low_threshold: 40 must not be above flapping.high_threshold (30)"),
    ("memory_hog", {"ramp": 90, "duration": 60}, "ramp: 90 must not be above duration (60)"),
])
def test_inverted_thresholds(module_name, params, needle):
    assert [message for _name, message in _argspec.numeric_problems(params, module_name)] == [
        needle + ": " + [why for low, high, why in _argspec.MODULE_ORDER[module_name] if low in needle][0]]


def test_order_is_not_judged_on_top_of_a_range_error():
    assert [n for n, _m in _argspec.numeric_problems({"warn_days": -1, "critical_days": 14}, "cert_expiry")] == ["warn_days"]


def test_every_problem_is_reported_at_once():
    names = [n for n, _m in _argspec.numeric_problems({"api_timeout": -5.0, "api_retries": -1, "min_score": -1.0}, "k8s_health")]
    assert names == ["api_timeout", "api_retries", "min_score"]


# ---- through the real AnsibleModule of each module, before any connection ---------------------

@pytest.mark.parametrize("module_name,args,needle", [
    ("k8s_health", {"api_timeout": -5, "host": "https://127.0.0.1:1"}, "api_timeout: must be more than 0 seconds, got -5"),
    ("k8s_health", {"src": ["/nonexistent"], "min_score": 101}, "min_score: must be at least 0 and at most 100"),
    ("pod_killer", {"api_timeout": -5, "host": "https://127.0.0.1:1"}, "api_timeout: must be more than 0 seconds"),
    ("pod_killer", {"recovery_poll": 0, "max_per_owner": -2}, "max_per_owner: must be at least 0, got -2; recovery_poll"),
    ("memory_hog", {"size": "1Mi", "api_timeout": -5}, "api_timeout: must be more than 0 seconds"),
    ("memory_hog", {"size": "1Mi", "ramp": 100, "duration": 10}, "ramp: 100 must not be above duration (10)"),
    ("alert_frequency", {"prometheus_url": "http://127.0.0.1:1", "prometheus_timeout": -5}, "prometheus_timeout: must be more than 0"),
    ("alert_frequency", {"prometheus_url": "http://127.0.0.1:1", "flapping": {"states": 1}}, "flapping.states: must be at least 3"),
    ("cert_expiry", {"paths": ["/nonexistent"], "warn_days": 7, "critical_days": 30}, "critical_days: 30 must not be above warn_days (7)"),
    ("cert_expiry", {"paths": ["/nonexistent"], "api_timeout": -5}, "api_timeout: must be more than 0 seconds"),
])
def test_modules_fail_up_front_naming_the_option(tmp_path, module_name, args, needle):
    module = Path(MODULES[module_name].__file__)
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc = subprocess.run([sys.executable, str(module), str(args_file)], env={"PYTHONPATH": str(module.parents[5]), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, check=False, timeout=60)
    result = json.loads(proc.stdout)
    assert result["failed"] is True and result["error_kind"] == "invalid", result
    assert needle in result["msg"] and "Traceback" not in proc.stdout + proc.stderr, result["msg"]
    assert result["error_details"]["params"]
