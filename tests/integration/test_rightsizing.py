"""sre.toolkit.rightsizing on the lab: the usage history of tests/lab/usage (cAdvisor and
kube-state-metrics series for designed archetypes) against the workloads of seed/80-rightsizing.yaml.

One module run (module-scoped) feeds the archetype assertions; the error paths run the module
against a closed port, a local proxy that answers 403, and a cluster label no series carries.
"""
from __future__ import annotations

import http.server
import json
import re
import socket
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.integration.ansible import run_module

NS = "lab-rightsizing"


@pytest.fixture(scope="module")
def usage(lab_prometheus):
    return json.loads(Path(lab_prometheus["histories"]["usage"]["ground_truth"]).read_text())


def args(lab_prometheus, lab_k8s, usage, **extra):
    out = {"prometheus_url": lab_prometheus["url"], "kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context"),
           "namespaces": [NS], "end": str(usage["window"]["end"]), "cluster": usage["cluster"], "cluster_label": usage["cluster_label"]}
    out.update(extra)
    return out


@pytest.fixture(scope="module")
def sized(lab_prometheus, lab_k8s, usage):
    result = run_module("rightsizing", args(lab_prometheus, lab_k8s, usage))
    assert not result.get("failed"), result.get("msg")
    return result


def container(result, want):
    found = [c for c in result["containers"] if (c["kind"], c["name"], c["container"]) == (want["kind"], want["name"], want["container"])]
    assert len(found) == 1, "%s/%s not sized exactly once" % (want["workload"], want["container"])
    return found[0]


def within(value, expect):
    return abs(value - expect["value"]) <= expect["tolerance"] * expect["value"]


def test_every_designed_container_is_sized_once(sized, usage):
    assert sorted((c["kind"], c["name"], c["container"]) for c in sized["containers"]) == \
        sorted((w["kind"], w["name"], w["container"]) for w in usage["containers"])
    assert sized["summary"]["errors"] == [] and sized["changed"] is False


@pytest.mark.parametrize("resource,key", [("cpu_request", "cpu"), ("memory", "memory")])
def test_recommendation_within_the_designed_tolerance(sized, usage, resource, key):
    checked = 0
    for want in usage["containers"]:
        expect = want["expect"][resource]
        got = container(sized, want)
        if expect is None:
            assert got["recommendation"] is None, (want["workload"], got["recommendation"])
            continue
        value = got["recommendation"]["requests"][key]
        assert within(value, expect), "%s/%s %s: got %s, designed %s +- %d %% (%s)" % (
            want["workload"], want["container"], key, value, expect["value"], 100 * expect["tolerance"], got["recommendation"]["reasons"][key])
        checked += 1
    assert checked >= 8


def test_throttled_demand_and_oom_kills_are_counted(sized, usage):
    starved = container(sized, next(w for w in usage["containers"] if w["expect"]["archetype"] == "cpu_starved_throttled"))
    limit = starved["current"]["limits"]["cpu"]
    assert starved["usage"]["cpu"]["p95"] > 1.3 * limit  # demand behind the limit, not the censored usage
    assert starved["throttling"]["share_of_time_over_10pct"] > 0.9
    cache = container(sized, next(w for w in usage["containers"] if w["expect"]["archetype"] == "memory_oom_kills"))
    assert cache["ooms"] and all(o["limit"] == cache["current"]["limits"]["memory"] for o in cache["ooms"])
    assert cache["usage"]["memory"]["peak"] < cache["current"]["limits"]["memory"]  # the kills fell between scrapes
    assert cache["recommendation"]["requests"]["memory"] > cache["current"]["limits"]["memory"]


def test_every_backtest_holds(sized):
    tested = [c for c in sized["containers"] if c["recommendation"]]
    assert tested
    for c in tested:
        assert c["backtest"]["holds"] and c["backtest"]["would_be_ooms"] == 0, (c["name"], c["backtest"])
        assert c["backtest"].get("throttled_share", 0.0) <= 0.01


def test_confidence_and_idle_as_designed(sized, usage):
    for want in usage["containers"]:
        got = container(sized, want)
        assert (got["confidence"]["level"] == "insufficient") == (want["expect"]["confidence"] == "insufficient"), (want["workload"], got["confidence"])
        if want["expect"]["confidence"] == "high":
            assert got["confidence"]["level"] == "high", (want["workload"], got["confidence"])
        assert got["idle"]["idle"] == want["expect"]["idle"], (want["workload"], got["idle"])
        assert got["idle"]["signals"] == want["expect"]["idle_signals"], (want["workload"], got["idle"])
        if want["expect"]["idle"]:
            assert abs(got["idle"]["idle_for_seconds"] - want["expect"]["idle_for_seconds"]) <= want["expect"]["idle_tolerance_seconds"]


def test_a_quiet_workload_is_busy_on_the_one_signal_that_says_so(sized, usage):
    """CPU, network and (for one) memory stay under their floors all window; requests served, or a working
    set that reloads every hour, keep it out of the idle list, and the result names that signal."""
    end = usage["window"]["end"]
    checked = 0
    for want in usage["containers"]:
        signal = want["expect"]["busy_signal"]
        if not signal:
            continue
        got = container(sized, want)["idle"]
        assert not got["idle"] and got["last_busy"][signal] >= end - 3600, (want["workload"], got)
        assert got["last_busy"]["cpu"] is None and got["last_busy"]["network"] is None, (want["workload"], got)
        checked += 1
    assert checked == 2


def test_pods_kube_state_metrics_never_listed_are_sized_with_their_workload(sized, usage):
    unlisted = [w for w in usage["containers"] if not w["expect"]["kube_pod_owner"]]
    assert unlisted
    for want in unlisted:
        got = container(sized, want)
        assert got["pods"] == want["pods_seen"] and got["recommendation"] is not None, (want["workload"], got["pods"])


def test_findings_as_designed(sized, usage):
    by_locator = {}
    for f in sized["findings"]:
        by_locator.setdefault(f["subject"]["locator"], set()).add(f["id"])
    for want in usage["containers"]:
        locator = "%s %s/%s container %s" % (want["kind"], NS, want["name"], want["container"])
        got = by_locator.get(locator, set())
        assert set(want["expect"]["findings"]) <= got, (locator, got)
        if not want["expect"]["findings"]:
            assert not got, (locator, got)
    fresh = [f for f in sized["findings"] if f["id"] == "rightsizing.insufficient_history"]
    assert fresh and "h of history" in fresh[0]["message"]


def test_hpa_sized_per_pod_and_requests_change_seen(sized, usage):
    hpa = container(sized, next(w for w in usage["containers"] if w["hpa"]))
    assert hpa["hpa"]["cpu_utilization"] == 70 and hpa["hpa"]["source"] == "api" and "HPA" in hpa["recommendation"]["reasons"]["cpu"]
    resized = next(w for w in usage["containers"] if w["previous"])
    got = container(sized, resized)
    assert [c["cpu"] for c in got["requests_changed"]] == [resized["current"]["requests"]["cpu"]]
    assert got["current"]["requests"]["cpu"] == resized["current"]["requests"]["cpu"]


def test_patches_are_ready_to_apply(sized, lab_k8s):
    patches = {(p["kind"], p["name"]): p for p in sized["patches"]}
    recommended = {(c["kind"], c["name"]) for c in sized["containers"] if c["recommendation"]}
    assert set(patches) == recommended
    for (kind, name), p in patches.items():
        body = p["patch"]["spec"]["jobTemplate"]["spec"]["template"]["spec"] if kind == "CronJob" else p["patch"]["spec"]["template"]["spec"]
        assert {c["name"] for c in body["containers"]} == set(p["containers"])
        assert p["definition"]["metadata"] == {"name": name, "namespace": NS} and p["kubectl"].startswith("kubectl -n %s patch " % NS)


# ---- error paths --------------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def proxy(lab_prometheus):
    """/deny-all/... answers 403 to everything; /deny-cfs/... only to queries about CFS throttling; the rest is forwarded."""
    upstream = lab_prometheus["url"]

    class Handler(http.server.BaseHTTPRequestHandler):
        def _handle(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            mode, _sep, rest = self.path.lstrip("/").partition("/")
            if mode == "deny-all" or (mode == "deny-cfs" and b"cfs_throttled" in urllib.request.unquote_to_bytes(self.path.encode() + body)):
                self.send_response(403)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"forbidden by the lab proxy\n")
                return
            req = urllib.request.Request(upstream + "/" + rest, data=body or None, method=self.command,
                                         headers={"Content-Type": self.headers.get("Content-Type", "application/x-www-form-urlencoded")})
            with urllib.request.urlopen(req, timeout=60) as resp:
                data = resp.read()
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", _free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def test_prometheus_down_is_a_clear_error(lab_prometheus, lab_k8s, usage):
    result = run_module("rightsizing", args(lab_prometheus, lab_k8s, usage, prometheus_url="http://127.0.0.1:%d" % _free_port(), prometheus_retries=0))
    assert result.get("failed") and result["error_kind"] == "connection", result
    assert result["msg"].startswith("prometheus_url http://127.0.0.1:") and "Traceback" not in result["_stderr"]


def test_forbidden_prometheus_names_the_credentials(proxy, lab_prometheus, lab_k8s, usage):
    result = run_module("rightsizing", args(lab_prometheus, lab_k8s, usage, prometheus_url=proxy + "/deny-all", prometheus_retries=0))
    assert result.get("failed") and result["error_kind"] == "forbidden" and result["status"] == 403, result
    assert "prometheus_token" in result["msg"]


def test_one_forbidden_query_gives_a_partial_result(proxy, lab_prometheus, lab_k8s, usage):
    result = run_module("rightsizing", args(lab_prometheus, lab_k8s, usage, prometheus_url=proxy + "/deny-cfs", prometheus_retries=0))
    assert not result.get("failed"), result.get("msg")
    assert [e["query"] for e in result["summary"]["errors"]] == ["throttle"] and result["summary"]["errors"][0]["status"] == 403
    partial = [f for f in result["findings"] if f["id"] == "rightsizing.missing_metrics"]
    assert partial and "throttle" in partial[0]["message"]
    # everything else is still sized: the good containers are not hidden by the bad query
    assert result["summary"]["recommended"] == sum(1 for w in usage["containers"] if w["expect"]["cpu_request"])


def test_missing_metrics_are_reported_not_guessed(lab_prometheus, lab_k8s, usage):
    result = run_module("rightsizing", args(lab_prometheus, lab_k8s, usage, cluster="no-such-cluster"))
    assert not result.get("failed"), result.get("msg")
    assert result["containers"] == [] and result["patches"] == []
    ids = {f["id"] for f in result["findings"]}
    assert {"rightsizing.missing_metrics", "rightsizing.no_usage"} <= ids
    no_usage = {f["subject"]["name"] for f in result["findings"] if f["id"] == "rightsizing.no_usage"}
    assert no_usage == {w["name"] for w in usage["containers"]}


def test_without_the_api_kube_state_metrics_gives_the_hpas_and_owners(lab_prometheus, lab_k8s, usage):
    result = run_module("rightsizing", args(lab_prometheus, lab_k8s, usage, use_api=False, series_top=0))
    assert not result.get("failed"), result.get("msg")
    assert result["patches"] == [] and result["summary"]["errors"] == []
    for want in usage["containers"]:
        got = container(result, want)
        if want["hpa"]:
            assert got["hpa"]["source"] == "kube-state-metrics" and got["hpa"]["cpu_utilization"] == want["hpa"]["cpu_utilization"], got["hpa"]
            assert got["hpa"]["min"] == want["hpa"]["min"] and got["hpa"]["max"] == want["hpa"]["max"]
        if want["expect"]["cpu_request"]:
            assert within(got["recommendation"]["requests"]["cpu"], want["expect"]["cpu_request"]), (want["workload"], got["recommendation"])


def test_bad_option_names_itself(lab_prometheus, lab_k8s, usage):
    result = run_module("rightsizing", args(lab_prometheus, lab_k8s, usage, history="two weeks"))
    assert result.get("failed") and result["msg"].startswith("history:") and result["error_kind"] == "invalid"


# ---- role and playbook: report, and patches only with both opt-ins, check mode honoured -----------

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "rightsizing.yml"


def live_resources(k8s, kind, name):
    plural = {"Deployment": "deployments", "StatefulSet": "statefulsets"}[kind]
    obj = k8s.get("/apis/apps/v1/namespaces/%s/%s/%s" % (NS, plural, name))
    return {c["name"]: c.get("resources") for c in obj["spec"]["template"]["spec"]["containers"]}


def test_playbook_reports_and_applies_only_when_asked(lab_prometheus, lab_k8s, usage, tmp_path):
    from ansible_collections.sre.toolkit.plugins.module_utils._k8s import K8sClient
    from tests.integration.ansible import run_playbook

    k8s = K8sClient.from_params({"kubeconfig": lab_k8s["kubeconfig"], "context": lab_k8s.get("context")})
    before = live_resources(k8s, "Deployment", "steady-api")
    common = {"rightsizing_prometheus_url": lab_prometheus["url"], "rightsizing_kubeconfig": lab_k8s["kubeconfig"],
              "rightsizing_context": lab_k8s.get("context"), "rightsizing_namespaces": [NS], "rightsizing_cluster_name": "lab",
              "rightsizing_options": {"end": str(usage["window"]["end"]), "cluster": usage["cluster"]}, "rightsizing_report_dir": str(tmp_path)}
    # one opt-in is not enough: the namespace must be listed too
    only_flag = run_playbook(PLAYBOOK, dict(common, rightsizing_apply=True))
    assert only_flag["rc"] == 0, only_flag["stdout"][-3000:]
    assert "(item=Deployment/" not in only_flag["stdout"] and live_resources(k8s, "Deployment", "steady-api") == before
    report = json.loads((tmp_path / "lab-rightsizing.json").read_text())
    assert report["summary"]["recommended"] >= 8 and "| Deployment lab-rightsizing/steady-api | api | high |" in (tmp_path / "lab-rightsizing.md").read_text()
    asked = dict(common, rightsizing_apply=True, rightsizing_apply_namespaces=[NS])
    checked = run_playbook(PLAYBOOK, asked, check=True)
    assert checked["rc"] == 0, checked["stdout"][-3000:]
    assert "changed: [localhost] => (item=Deployment/%s/steady-api)" % NS in checked["stdout"]
    assert "(item=Deployment/%s/fresh-service)" % NS not in checked["stdout"]
    assert live_resources(k8s, "Deployment", "steady-api") == before  # check mode changed nothing
    patches = {(p["kind"], p["name"]): p for p in report["patches"]}
    try:
        applied = run_playbook(PLAYBOOK, asked)
        assert applied["rc"] == 0, applied["stdout"][-3000:]
        after = live_resources(k8s, "Deployment", "steady-api")
        assert after["api"] == patches[("Deployment", "steady-api")]["patch"]["spec"]["template"]["spec"]["containers"][0]["resources"]
        # the idle and the too-young workloads got no patch
        assert live_resources(k8s, "Deployment", "fresh-service") == {"svc": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}}}
    finally:  # the rollback patches restore the lab for the tests after this one
        for (kind, name), p in patches.items():
            prefix, plural = ("/apis/batch/v1", "cronjobs") if kind == "CronJob" else ("/apis/apps/v1", kind.lower() + "s")
            k8s.patch("%s/namespaces/%s/%s/%s" % (prefix, NS, plural, name), p["rollback"], patch_type="strategic")
    assert live_resources(k8s, "Deployment", "steady-api") == before


CRITICAL = ("rightsizing.oom_killed", "rightsizing.cpu_throttled")


def criticals(c):
    """How many critical findings a container has (its finding ids, and throttling at the critical share)."""
    ids = set(c["finding_ids"])
    throttled = "rightsizing.cpu_throttled" in ids and c["throttling"]["share_of_time_over_10pct"] >= 0.25
    return ("rightsizing.oom_killed" in ids) + throttled


def test_report_section_pictures_the_top_offenders(sized):
    from ansible_collections.sre.toolkit.plugins.module_utils._report.sections import BUILDERS

    pictured = sorted((c for c in sized["containers"] if c.get("series")), key=lambda c: c["series"]["rank"])
    assert [c["series"]["rank"] for c in pictured] == [1, 2, 3, 4, 5]
    assert {c["name"] for c in pictured[:2]} == {"oom-cache", "starved-worker"}, "the critical ones first"
    assert set(pictured[0]["finding_ids"]) & set(CRITICAL) and criticals(pictured[0])
    # the module's rank: critical findings first, then the largest monthly change
    assert pictured == sorted(pictured, key=lambda c: (-criticals(c), -abs(c["cost"]["monthly_change"]), c["name"]))
    _rows, charts = BUILDERS["rightsizing"](sized, None)
    lines = [c for c in charts if c["kind"] == "lines"]
    assert [c["rank"] for c in lines] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5], "the charts come in the order of the ranks"
    assert [c["title"].split(" \u2014 ")[0] for c in lines[::2]] == [
        "#%d %s %s/%s %s: cpu" % (c["series"]["rank"], c["kind"], NS, c["name"], c["container"]) for c in pictured]
    assert charts[-1]["kind"] == "bar" and charts[-1]["series"][0][0] == NS
    memory = next(c for c in lines if c["title"].startswith("#%d StatefulSet %s/oom-cache cache: memory \u2014 OOM-killed " % (
        next(c["series"]["rank"] for c in pictured if c["name"] == "oom-cache"), NS)))
    assert [line["label"] for line in memory["lines"]][1:3] == ["request", "limit"]
    assert "CPU throttled 100% of the time" in next(c["title"] for c in lines if "/starved-worker " in c["title"])
    assert next(c["title"] for c in lines if "/steady-api " in c["title"]).endswith(" \u2014 saves %.2f/month" % -pictured[2]["cost"]["monthly_change"])


CHARTS_JS = """[].map.call(document.querySelectorAll('details[data-module=rightsizing] svg[data-kind=lines]'), function (s) {
  var r = s.getBoundingClientRect(), inside = function (e) { var b = e.getBoundingClientRect();
    return b.width > 0 && b.left >= r.left - 0.5 && b.right <= r.right + 0.5 && b.top >= r.top - 0.5 && b.bottom <= r.bottom + 0.5; };
  var texts = [].slice.call(s.querySelectorAll('text')), legend = [].slice.call(s.querySelectorAll('text.legend'));
  return {title: s.querySelector('text').textContent, why: texts[1].textContent, width: r.width, height: r.height, top: r.top + scrollY,
          left: r.left, visible: !!s.closest('figure').offsetParent, paths: s.querySelectorAll('path').length,
          legend: legend.map(function (e) { return e.textContent; }), inside: texts.every(inside)}; })"""


def test_report_section_in_headless_chromium(sized, tmp_path):
    """The section in the self-contained HTML report, opened offline: every picture visible, in rank order, legends whole."""
    import datetime

    from ansible_collections.sre.toolkit.plugins.module_utils._report import html
    from ansible_collections.sre.toolkit.plugins.module_utils._report.model import build_model
    from tests.integration.test_reports import OUTPUT, Browser

    end = datetime.datetime.fromtimestamp(sized["summary"]["window"]["end"], tz=datetime.timezone.utc)
    model = build_model([{"name": "lab", "results": {"rightsizing": sized}}], generated_at=end.strftime("%Y-%m-%dT%H:%M:%SZ"))
    page = tmp_path / "rightsizing.html"
    page.write_text(html.render(model))
    profile = tmp_path / "chromium-profile"
    profile.mkdir(mode=0o700)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    browser = Browser(profile)
    try:
        browser.open(page.as_uri())
        assert all(url.startswith(("file:", "data:", "about:")) for url in browser.requests())
        charts = browser.js(CHARTS_JS)
        browser.screenshot(OUTPUT / "rightsizing-section.png", selector="details[data-module=rightsizing]")
        browser.screenshot(OUTPUT / "rightsizing-top-offender.png", selector="details[data-module=rightsizing] figure[data-chart=lines]")
    finally:
        browser.close()
    ranks = sorted(c["series"]["rank"] for c in sized["containers"] if c.get("series"))
    assert [int(c["title"].split(" ")[0].lstrip("#")) for c in charts] == [r for r in ranks for _resource in ("cpu", "memory")]
    assert [(c["top"], c["left"]) for c in charts] == sorted((c["top"], c["left"]) for c in charts), "read in rank order, row by row"
    assert charts[0]["why"].startswith(("OOM-killed", "CPU throttled")), charts[0]
    for chart in charts:
        assert chart["visible"] and chart["width"] > 300 and chart["height"] > 150 and chart["paths"] >= 2, chart
        assert chart["inside"], "a title, axis or legend text falls outside its chart: %s" % chart
        assert len(chart["legend"]) == chart["paths"] and chart["legend"][0].startswith(("cpu used", "memory used")), chart
        assert all(re.search(r": (peak |now )?[\d.,]+ (cores?|MiB)", text) for text in chart["legend"]), chart["legend"]


def test_recommendations_stable_under_a_shorter_window(sized, lab_prometheus, lab_k8s, usage):
    shorter = run_module("rightsizing", args(lab_prometheus, lab_k8s, usage, history="13d", series_top=0))
    assert not shorter.get("failed"), shorter.get("msg")
    before = {(c["name"], c["container"]): c["recommendation"] for c in sized["containers"] if c["recommendation"]}
    after = {(c["name"], c["container"]): c["recommendation"] for c in shorter["containers"] if c["recommendation"]}
    assert set(before) == set(after)
    for key, rec in before.items():
        for resource in ("cpu", "memory"):
            old, new = rec["requests"][resource], after[key]["requests"][resource]
            assert abs(new - old) <= 0.05 * old, (key, resource, old, new)
