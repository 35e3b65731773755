from ansible_collections.sre.toolkit.plugins.module_utils._health import events
from helpers import NOW, ago


def core(reason, name, last=None, count=None, event_time=None, created=None, series=None, etype="Warning"):
    ev = {"type": etype, "reason": reason, "message": "%s happened" % reason,
          "involvedObject": {"kind": "Pod", "namespace": "app", "name": name},
          "metadata": {"namespace": "app", "creationTimestamp": created}, "lastTimestamp": last, "count": count,
          "eventTime": event_time}
    if series:
        ev["series"] = series
    return ev


def test_event_time_fallbacks_when_last_timestamp_is_empty():
    assert events.event_time(core("X", "p", last=ago(10))) == NOW.replace(second=50, minute=59, hour=11)
    new_recorder = core("X", "p", last=None, event_time="2026-11-24T11:30:00.123456Z",
                        series={"count": 4, "lastObservedTime": "2026-11-24T11:58:00.000000Z"})
    assert events.event_time(new_recorder).minute == 58
    assert events.event_count(new_recorder) == 4
    only_event_time = core("X", "p", event_time="2026-11-24T11:30:00.123456Z")
    assert events.event_time(only_event_time).minute == 30 and events.event_count(only_event_time) == 1
    only_created = core("X", "p", created=ago(60))
    assert events.event_time(only_created) is not None


def test_events_k8s_io_shape():
    ev = {"type": "Warning", "reason": "FailedMount", "note": "MountVolume.SetUp failed",
          "regarding": {"kind": "Pod", "namespace": "app", "name": "p"}, "deprecatedCount": 3,
          "deprecatedLastTimestamp": ago(30), "metadata": {"namespace": "app"}}
    assert events.event_object(ev) == ("Pod", "app", "p")
    assert events.event_count(ev) == 3 and events.event_message(ev) == "MountVolume.SetUp failed"


def test_grouping_by_reason_and_object_with_window():
    groups = events.EventGroups(NOW, 60, 1)
    groups.add(core("FailedMount", "p", last=ago(30), count=3))
    groups.add(core("FailedMount", "p", last=ago(10), count=2))
    groups.add(core("FailedMount", "q", last=ago(10)))
    groups.add(core("SomethingOdd", "p", last=None, event_time=None, created=ago(5)))
    groups.add(core("FailedMount", "p", last=ago(7200), count=50))  # outside the window
    groups.add(core("Pulled", "p", last=ago(5), etype="Normal"))
    out = sorted(groups.findings(), key=lambda f: (f["id"], f["name"]))
    assert [(f["id"], f["name"], f["evidence"]["count"], f["severity"]) for f in out] == [
        ("event.failed_mount", "p", 5, "warning"), ("event.failed_mount", "q", 1, "warning"),
        ("event.other", "p", 1, "info")]
    # a reason the catalogue does not list keeps its name in the evidence
    assert out[2]["evidence"]["reason"] == "SomethingOdd" and "SomethingOdd" in out[2]["message"]
    assert groups.old == 1 and groups.seen == 5


def test_snake():
    assert events.snake("FailedCreatePodSandBox") == "failed_create_pod_sand_box"
    assert events.snake("BackOff") == "back_off"
    assert events.snake("") == "unknown"
