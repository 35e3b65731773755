"""Unit tests of the memory_hog engine: sizes, /proc parsing, preflight, pod spec, outcomes."""
from __future__ import annotations

import json

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import memory
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError

MI = 2 ** 20
GI = 2 ** 30


# ---------------------------------------------------------------- sizes

@pytest.mark.parametrize("text,expected", [
    ("300Mi", 300 * MI), ("300MiB", 300 * MI), ("1G", 10 ** 9), ("1GB", 10 ** 9), ("1Gi", GI),
    ("1.5Gi", int(1.5 * GI)), ("1048576", 1048576), ("512 MB", 512 * 10 ** 6), ("2k", 2000), ("4Ki", 4096),
    ("100B", 100), (" 7 mib ", 7 * MI),
])
def test_parse_size_bytes(text, expected):
    assert memory.parse_size(text) == {"bytes": expected}


@pytest.mark.parametrize("text,expected", [("20%", 20.0), ("0.5%", 0.5), ("100 %", 100.0)])
def test_parse_size_percent(text, expected):
    assert memory.parse_size(text) == {"percent": expected}


@pytest.mark.parametrize("text,fragment", [
    ("300m", "milli"), ("abc", "is not a size"), ("12XB", "unknown unit"), ("0", "more than 0"),
    ("0%", "above 0"), ("150%", "at most 100"), ("", "is required"), (None, "is required"), ("-5Mi", "is not a size"),
])
def test_parse_size_rejects_with_a_message_naming_the_option(text, fragment):
    with pytest.raises(ToolkitError) as err:
        memory.parse_size(text)
    assert err.value.msg.startswith("size: ")
    assert fragment in err.value.msg
    assert err.value.kind == "invalid"


def test_api_quantities_accept_milli_bytes():
    assert memory.parse_bytes("128974848000m", "x", api=True) == 128974848
    assert memory.parse_bytes("1e9", "x", api=True) == 10 ** 9


def test_resolve_percent_of_each_base():
    bases = {"available": 10 * GI, "cgroup_limit": 2 * GI}
    assert memory.resolve_size({"percent": 10.0}, bases, "available") == GI
    assert memory.resolve_size({"percent": 50.0}, bases, "cgroup_limit") == GI
    assert memory.resolve_size({"bytes": 5}, bases, "cgroup_limit") == 5


def test_resolve_percent_without_a_cgroup_limit_is_refused():
    with pytest.raises(ToolkitError, match="no cgroup_limit"):
        memory.resolve_size({"percent": 10.0}, {"available": GI, "cgroup_limit": None}, "cgroup_limit")


# ---------------------------------------------------------------- plan

def test_plan_splits_total_and_sets_the_hard_timeout():
    plan = memory.build_plan(10 * MI + 3, 3, duration=30, ramp=5, margin=10, engine="python")
    assert sum(plan["bytes_per_worker"]) == 10 * MI + 3
    assert max(plan["bytes_per_worker"]) - min(plan["bytes_per_worker"]) <= 1
    assert plan["hard_timeout_seconds"] == 40


@pytest.mark.parametrize("kwargs,param", [
    ({"workers": 0}, "workers"), ({"duration": 0}, "duration"), ({"ramp": -1}, "ramp"),
    ({"ramp": 31}, "ramp"), ({"margin": 0}, "timeout_margin"),
])
def test_plan_rejects_bad_timing(kwargs, param):
    args = dict(total=10 * MI, workers=1, duration=30, ramp=0, margin=5, engine="python")
    args.update(kwargs)
    with pytest.raises(ToolkitError) as err:
        memory.build_plan(**args)
    assert err.value.msg.startswith(param + ":")


def test_plan_refuses_less_than_a_page_per_worker():
    with pytest.raises(ToolkitError, match="one page per worker"):
        memory.build_plan(8191, 2, 10, 0, 5, "python")


def test_engine_choice():
    assert memory.choose_engine("auto", None) == "python"
    assert memory.choose_engine("auto", "/usr/bin/stress-ng") == "stress-ng"
    assert memory.choose_engine("python", "/usr/bin/stress-ng") == "python"
    with pytest.raises(ToolkitError, match="engine: stress-ng was asked for"):
        memory.choose_engine("stress-ng", None)


# ---------------------------------------------------------------- /proc

MEMINFO = "MemTotal:       16384000 kB\nMemFree:         1000 kB\nMemAvailable:    8192000 kB\n"


def test_parse_meminfo():
    assert memory.parse_meminfo(MEMINFO) == {"mem_total": 16384000 * 1024, "mem_available": 8192000 * 1024}


def test_parse_meminfo_without_memavailable_is_a_clear_error():
    with pytest.raises(ToolkitError, match="MemAvailable"):
        memory.parse_meminfo("MemTotal: 1 kB\n")


def test_parse_proc_cgroup_v1_and_v2():
    v1 = "12:pids:/\n4:memory:/process_api/abc\n0::/\n"
    assert memory.parse_proc_cgroup(v1) == {"v2": "/", "v1_memory": "/process_api/abc"}
    v2 = "0::/user.slice/session-1.scope\n"
    assert memory.parse_proc_cgroup(v2) == {"v2": "/user.slice/session-1.scope", "v1_memory": None}


@pytest.mark.parametrize("text,expected", [("max\n", None), ("9223372036854771712\n", None), ("536870912\n", 512 * MI), ("", None)])
def test_parse_cgroup_limit(text, expected):
    assert memory.parse_cgroup_limit(text) == expected


def test_parse_proc_stat_with_spaces_and_parens_in_comm():
    fields = ["S", "77"] + ["0"] * 17 + ["123456"] + ["0"] * 10
    text = "4242 (evil ) name) " + " ".join(fields)
    stat = memory.parse_proc_stat(text)
    assert stat == {"pid": 4242, "comm": "evil ) name", "state": "S", "ppid": 77, "start_ticks": 123456}


# ---------------------------------------------------------------- host preflight

def test_host_preflight_allows_within_available_minus_margin():
    meminfo = {"mem_total": 16 * GI, "mem_available": 8 * GI}
    verdict = memory.host_preflight(4 * GI, meminfo, None, {"percent": 10.0}, force=False)
    assert verdict["ok"] and not verdict["refused_by"]
    assert verdict["allowed_bytes"] == 8 * GI - int(1.6 * GI)


def test_host_preflight_refuses_oversize_unless_forced():
    meminfo = {"mem_total": 16 * GI, "mem_available": 8 * GI}
    refused = memory.host_preflight(7 * GI, meminfo, None, {"percent": 10.0}, force=False)
    assert not refused["ok"] and refused["refused_by"] == ["host.mem_available"]
    message = memory.refusal_message(7 * GI, refused)
    assert "force=true" in message and "host.mem_available" in message
    forced = memory.host_preflight(7 * GI, meminfo, None, {"percent": 10.0}, force=True)
    assert forced["ok"] and forced["forced"]


def test_host_preflight_checks_the_cgroup_headroom():
    meminfo = {"mem_total": 64 * GI, "mem_available": 60 * GI}
    cgroup = {"path": "/app", "limit": 2 * GI, "usage": GI}
    verdict = memory.host_preflight(900 * MI, meminfo, cgroup, {"bytes": 200 * MI}, force=False)
    assert verdict["refused_by"] == ["host.cgroup_limit"]
    assert verdict["allowed_bytes"] == GI - 200 * MI


# ---------------------------------------------------------------- pod target

def make_pod(name="api-0", limit="512Mi", phase="Running", others=(), node="node-1", **status_extra):
    containers = [{"name": "app", "image": "app:1", "resources": {"limits": {"memory": limit}} if limit else {}}]
    containers += [{"name": n, "image": "side:1", "resources": {"limits": {"memory": l}} if l else {}} for n, l in others]
    status = {"phase": phase, "containerStatuses": [
        {"name": c["name"], "containerID": "containerd://%s-%s" % (name, c["name"]), "restartCount": 0,
         "state": {"running": {}}} for c in containers]}
    status.update(status_extra)
    return {"metadata": {"name": name, "namespace": "shop", "uid": "uid-" + name},
            "spec": {"nodeName": node, "containers": containers}, "status": status}


def test_pod_limits_container_and_sum_for_the_pod():
    pod = make_pod(others=[("sidecar", "128Mi")])
    assert memory.pod_limits(pod, "app") == {"container_limit": 512 * MI, "pod_limit": 640 * MI}


def test_pod_limit_is_unknown_when_one_container_has_none():
    pod = make_pod(others=[("sidecar", None)])
    assert memory.pod_limits(pod, "app") == {"container_limit": 512 * MI, "pod_limit": None}


def test_pod_level_resources_win():
    pod = make_pod()
    pod["spec"]["resources"] = {"limits": {"memory": "1Gi"}}
    assert memory.pod_limits(pod, "app")["pod_limit"] == GI


def test_select_target_blast_radius_one_with_reasons():
    pods = [make_pod("c"), make_pod("a", phase="Pending"), make_pod("b"), make_pod("d", node="")]
    pods.append(dict(make_pod("e"), metadata={"name": "e", "deletionTimestamp": "2026-01-01T00:00:00Z"}))
    chosen, skipped = memory.select_target(pods, None)
    assert chosen["metadata"]["name"] == "b"
    assert [(s["name"], s["reason"].split(",")[0]) for s in skipped] == [
        ("a", "phase is Pending"), ("c", "blast radius is 1 pod; another pod was chosen"),
        ("d", "not bound to a node"), ("e", "terminating")]


def test_select_target_needs_the_named_container():
    chosen, skipped = memory.select_target([make_pod()], "nope")
    assert chosen is None and "no container 'nope'" in skipped[0]["reason"]


def test_pod_preflight_against_container_then_pod_limit():
    limits = {"container_limit": 512 * MI, "pod_limit": 640 * MI}
    ok = memory.pod_preflight(300 * MI, limits, 8 * GI, {"percent": 10.0}, force=False)
    assert ok["ok"] and [c["id"] for c in ok["checks"]] == ["pod.container_limit", "pod.pod_limit"]
    refused = memory.pod_preflight(500 * MI, limits, 8 * GI, {"percent": 10.0}, force=False)
    assert refused["refused_by"] == ["pod.container_limit"] and not refused["ok"]
    forced = memory.pod_preflight(500 * MI, limits, 8 * GI, {"percent": 10.0}, force=True)
    assert forced["ok"] and forced["oom_expected"]


def test_pod_preflight_without_limits_uses_node_allocatable():
    verdict = memory.pod_preflight(7 * GI, {"container_limit": None, "pod_limit": None}, 8 * GI, {"bytes": 2 * GI}, force=False)
    assert verdict["refused_by"] == ["pod.node_allocatable"] and not verdict["oom_expected"]


def test_helper_pod_spec_is_pinned_labelled_and_self_limited():
    target = make_pod()
    plan = memory.build_plan(300 * MI, 2, 60, 10, 15, "python")
    pod = memory.build_helper_pod(target, "app", plan, "nightly hog", "r1234", "python:3.12-slim", "print(1)", "chaos")
    spec = pod["spec"]
    assert spec["nodeName"] == "node-1"
    assert spec["activeDeadlineSeconds"] == 75
    assert spec["restartPolicy"] == "Never"
    assert pod["metadata"]["namespace"] == "chaos"
    labels = pod["metadata"]["labels"]
    assert labels == {
        "app.kubernetes.io/managed-by": "sre.toolkit", "sre.toolkit/chaos": "memory-hog",
        "sre.toolkit/hog-name": "nightly-hog", "sre.toolkit/run-id": "r1234", "sre.toolkit/target-pod": "api-0"}
    selector = memory.cleanup_selector("nightly hog", "r1234")
    assert all("%s=%s" % kv in selector for kv in labels.items() if kv[0] != "sre.toolkit/target-pod")
    command = spec["containers"][0]["command"]
    assert command[:3] == ["python3", "-c", "print(1)"]
    args = json.loads(command[3])
    assert args["join_container_id"] == "api-0-app"
    assert args["hard_timeout"] == 75 and args["duration"] == 60 and args["total"] == 300 * MI
    assert pod["metadata"]["annotations"]["sre.toolkit/target-uid"] == "uid-api-0"
    assert len(pod["metadata"]["name"]) <= 63


def test_label_value_is_valid():
    value = memory.label_value("a/b c" + "x" * 100 + "-")
    assert len(value) <= 63 and "/" not in value and " " not in value


# ---------------------------------------------------------------- outcomes

OOM = {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2026-11-24T09:00:05Z"}}


def with_oom(pod, where="lastState", finished="2026-11-24T09:00:05Z", restarts=1):
    status = pod["status"]["containerStatuses"][0]
    status[where] = {"terminated": dict(OOM["terminated"], finishedAt=finished)}
    status["restartCount"] = restarts
    return pod


def test_new_oom_kills_ignore_what_the_target_already_showed():
    before = with_oom(make_pod(), finished="2026-11-24T08:00:00Z")
    still_old = with_oom(make_pod(), finished="2026-11-24T08:00:00Z")
    assert memory.new_oom_kills(before, still_old, "2026-11-24T09:00:00Z") == []
    fresh = with_oom(make_pod(), finished="2026-11-24T09:00:05Z", restarts=2)
    found = memory.new_oom_kills(before, fresh, "2026-11-24T09:00:00Z")
    assert found == [{"container": "app", "in": "lastState", "exit_code": 137, "finished_at": "2026-11-24T09:00:05Z", "restart_count": 2}]


@pytest.mark.parametrize("ooms,helper,gone,deadline,expected", [
    ([{"container": "app"}], {"status": {"phase": "Running"}}, False, False, "target_oom_killed"),
    ([], {"status": {"phase": "Succeeded"}}, False, False, "completed"),
    ([], {"status": {"phase": "Failed", "reason": "DeadlineExceeded"}}, False, False, "deadline_exceeded"),
    ([], {"status": {"phase": "Failed"}}, False, False, "helper_failed"),
    ([], {"status": {"phase": "Running"}}, False, False, "running"),
    ([], {"status": {"phase": "Running"}}, False, True, "stopped_at_deadline"),
    ([], {"status": {"phase": "Pending"}}, False, True, "helper_not_started"),
    ([], None, False, False, "helper_gone"),
    ([], {"status": {"phase": "Running"}}, True, False, "target_gone"),
])
def test_classify_pod_outcome(ooms, helper, gone, deadline, expected):
    assert memory.classify_pod_outcome(ooms, helper, gone, deadline) == expected


@pytest.mark.parametrize("code,sig,stopped,summary,expected", [
    (0, None, None, {"workers": [{"pid": 1, "exit_code": 0}]}, "completed"),
    (0, None, None, {"workers": [{"pid": 1, "signal": 9}]}, "hog_oom_killed"),
    (None, 14, None, {}, "stopped_by_hard_timeout"),
    (None, 9, None, {}, "hog_killed"),
    (2, None, None, {}, "hog_failed"),
    (None, 15, "controller_gone", {}, "controller_gone"),
    (None, None, None, {}, "running"),
])
def test_classify_host_outcome(code, sig, stopped, summary, expected):
    assert memory.classify_host_outcome(code, sig, stopped, summary) == expected
