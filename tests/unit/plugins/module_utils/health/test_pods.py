from ansible_collections.sre.toolkit.plugins.module_utils._health import pods
from ansible_collections.sre.toolkit.plugins.module_utils._health.model import DEFAULT_THRESHOLDS
from helpers import NOW, ago, ids, pod, status

T = dict(DEFAULT_THRESHOLDS)


def judge(p, **kw):
    return pods.judge_pod(p, NOW, dict(T, **kw))


def test_running_ready_pod_is_clean():
    assert judge(pod("ok", statuses=[status()])) == []


def test_crashloop_reads_real_cause_from_last_state():
    last = {"reason": "Error", "exitCode": 1, "finishedAt": ago(40), "message": "panic: boom"}
    out = judge(pod("c", statuses=[status(waiting={"reason": "CrashLoopBackOff", "message": "back-off 40s"}, last=last, restarts=7, ready=False)],
                    owner=("ReplicaSet", "c-123")))
    assert ids(out) == ["pod.crashloop"]
    ev = out[0]["evidence"]
    assert (out[0]["severity"], ev["last_reason"], ev["last_exit_code"], ev["restarts"]) == ("critical", "Error", 1, 7)
    assert ev["owner"] == "ReplicaSet/c-123" and ev["last_message"] == "panic: boom"


def test_crashloop_caused_by_oom_is_reported_as_oom():
    last = {"reason": "OOMKilled", "exitCode": 137, "finishedAt": ago(40)}
    out = judge(pod("c", statuses=[status(waiting={"reason": "CrashLoopBackOff"}, last=last, restarts=3)]))
    assert ids(out) == ["pod.oomkilled"] and out[0]["evidence"]["last_exit"] == "137 (SIGKILL)"


def test_oomkilled_only_visible_in_last_state_while_running():
    last = {"reason": "OOMKilled", "exitCode": 137, "finishedAt": ago(300)}
    out = judge(pod("o", statuses=[status(last=last, restarts=3)]))
    assert [(f["id"], f["severity"]) for f in out] == [("pod.oomkilled", "warning")]
    old = judge(pod("o", statuses=[status(last=dict(last, finishedAt=ago(86400 * 3)), restarts=3)]))
    assert [(f["id"], f["severity"]) for f in old] == [("pod.oomkilled", "info")]


def test_image_config_and_start_errors():
    assert ids(judge(pod("i", phase="Pending", statuses=[status(waiting={"reason": "ImagePullBackOff"})]))) == ["pod.image_pull"]
    assert ids(judge(pod("i", phase="Pending", statuses=[status(waiting={"reason": "ErrImagePull"})]))) == ["pod.image_pull"]
    waiting = {"reason": "CreateContainerConfigError", "message": 'secret "db" not found'}
    out = judge(pod("s", phase="Pending", statuses=[status(waiting=waiting)]))
    assert ids(out) == ["pod.config_error"] and 'secret "db" not found' in out[0]["message"]
    assert ids(judge(pod("r", statuses=[status(waiting={"reason": "RunContainerError"})]))) == ["pod.container_error"]


def test_container_creating_is_normal_unless_it_lasts():
    young = pod("y", phase="Pending", created=60, statuses=[status(waiting={"reason": "ContainerCreating"})])
    assert judge(young) == []
    old = pod("y", phase="Pending", created=3600, statuses=[status(waiting={"reason": "ContainerCreating"})])
    assert ids(judge(old)) == ["pod.container_waiting"]


def test_restarts_need_count_and_recency():
    recent = {"reason": "Error", "exitCode": 1, "finishedAt": ago(120)}
    assert [(f["id"], f["severity"]) for f in judge(pod("r", statuses=[status(last=recent, restarts=6)]))] == [("pod.restarts", "warning")]
    assert [(f["id"], f["severity"]) for f in judge(pod("r", statuses=[status(last=recent, restarts=212)]))] == [("pod.restarts", "critical")]
    # a month-old pod with many restarts long ago is history, not health
    old = {"reason": "Error", "exitCode": 1, "finishedAt": ago(86400 * 20)}
    assert judge(pod("r", statuses=[status(last=old, restarts=300)])) == []
    assert judge(pod("r", statuses=[status(last=recent, restarts=2)])) == []


def test_restart_count_reset_after_recreation():
    # the replacement pod starts at 0 and has no lastState: nothing carries over from its predecessor
    assert judge(pod("web-new", created=30, statuses=[status(restarts=0)], owner=("ReplicaSet", "web-1"))) == []


def test_unschedulable_with_scheduler_message():
    cond = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": "0/3 nodes are available: 3 Insufficient cpu.", "lastTransitionTime": ago(30)}]
    out = judge(pod("u", phase="Pending", node_name=None, created=30, conditions=cond))
    assert ids(out) == ["pod.unschedulable"]
    assert out[0]["evidence"]["message"] == "0/3 nodes are available: 3 Insufficient cpu."


def test_scheduling_gated_is_info_after_a_while():
    cond = [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]
    assert judge(pod("g", phase="Pending", node_name=None, created=60, conditions=cond)) == []
    out = judge(pod("g", phase="Pending", node_name=None, created=7200, conditions=cond))
    assert [(f["id"], f["severity"]) for f in out] == [("pod.scheduling_gated", "info")]


def test_evicted_and_failed_but_job_pods_are_normal():
    evicted = pod("e", phase="Failed", reason="Evicted", message="The node was low on resource: memory.",
                  statuses=[status(running=False, terminated={"reason": "ContainerStatusUnknown", "exitCode": 137})])
    assert ids(judge(evicted)) == ["pod.evicted"]
    assert ids(judge(pod("f", phase="Failed", reason="OutOfcpu"))) == ["pod.failed"]
    assert judge(pod("j", phase="Failed", owner=("Job", "nightly"))) == []
    assert judge(pod("j", phase="Succeeded", owner=("Job", "nightly"))) == []


def test_job_pod_crashlooping_is_still_reported():
    last = {"reason": "Error", "exitCode": 2, "finishedAt": ago(30)}
    out = judge(pod("j", owner=("Job", "nightly"), statuses=[status(waiting={"reason": "CrashLoopBackOff"}, last=last, restarts=4)]))
    assert ids(out) == ["pod.crashloop"]


def test_init_containers_and_sidecars_are_judged():
    spec = {"initContainers": [{"name": "migrate"}, {"name": "proxy", "restartPolicy": "Always"}]}
    init_done = status("migrate", running=False, terminated={"reason": "Completed", "exitCode": 0})
    sidecar_crash = status("proxy", waiting={"reason": "CrashLoopBackOff"}, last={"reason": "Error", "exitCode": 1, "finishedAt": ago(20)}, restarts=5)
    out = judge(pod("p", spec=spec, init_statuses=[init_done, sidecar_crash], statuses=[status()]))
    assert ids(out) == ["pod.crashloop"] and out[0]["evidence"]["init_container"] == "sidecar"
    init_crash = status("migrate", waiting={"reason": "CrashLoopBackOff"}, last={"reason": "Error", "exitCode": 3, "finishedAt": ago(20)}, restarts=2)
    out = judge(pod("p", phase="Pending", spec=spec, init_statuses=[init_crash], statuses=[status(waiting={"reason": "PodInitializing"})]))
    assert ids(out) == ["pod.crashloop"] and out[0]["evidence"]["init_container"] == "init"


def test_stuck_terminating():
    assert ids(judge(pod("t", deleted=3600, statuses=[status()]))) == ["pod.stuck_terminating"]
    assert judge(pod("t", deleted=10, statuses=[status()])) == []


def test_running_not_ready_for_long():
    cond = [{"type": "Ready", "status": "False", "reason": "ContainersNotReady", "lastTransitionTime": ago(3600)}]
    assert ids(judge(pod("n", conditions=cond, statuses=[status(ready=False)]))) == ["pod.not_ready"]
    cond[0]["lastTransitionTime"] = ago(30)
    assert judge(pod("n", conditions=cond, statuses=[status(ready=False)])) == []
