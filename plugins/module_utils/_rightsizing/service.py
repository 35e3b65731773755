# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rightsizing service: what to fetch from Prometheus and the Kubernetes API, then the engine.

Per namespace (so memory stays bounded by the largest namespace): range queries at ``step`` for
CPU used (rate), throttled share (throttled / all CFS periods), working-set peaks
(max_over_time over the step), pod network, kube-state-metrics requests/limits and OOM kills
(restart increase while the last terminated reason is OOMKilled); instant queries for the owner
chain (kube_pod_owner -> kube_replicaset_owner / kube_job_owner, looked back over the window).
The current spec and HPAs come from the API. Percentiles, backtests and idle detection run
locally on the step series (bench/rightsizing/ says why). Label names and a cluster label are
options, for relabelled and shared Prometheus servers.
"""

from __future__ import annotations

import functools
import re

from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.module_utils._findings import contract, finding, gate, subject
from ansible_collections.sre.toolkit.plugins.module_utils._health.audit import parse_quantity
from ansible_collections.sre.toolkit.plugins.module_utils._rightsizing.engine import DEFAULTS, cpu_demand, size_container, usage_series
from ansible_collections.sre.toolkit.plugins.module_utils._rightsizing.findings import container_findings, workload_patches
from ansible_collections.sre.toolkit.plugins.module_utils._k8s import K8sClient
from ansible_collections.sre.toolkit.plugins.module_utils._prom import PrometheusClient
from ansible_collections.sre.toolkit.plugins.module_utils._time import parse_duration, to_epoch

KINDS = (("Deployment", "/apis/apps/v1", "deployments"), ("StatefulSet", "/apis/apps/v1", "statefulsets"),
         ("DaemonSet", "/apis/apps/v1", "daemonsets"), ("CronJob", "/apis/batch/v1", "cronjobs"), ("Job", "/apis/batch/v1", "jobs"))
DURATIONS = ("history", "step", "rate_window", "min_history", "idle_after")
RS_SUFFIX = re.compile(r"^(.*)-[bcdfghjklmnpqrstvwxz2456789]{6,10}$")


def options(params):
    """Engine options from module params; ToolkitError naming a bad duration."""
    opts = dict(DEFAULTS)
    for key in DURATIONS:
        seconds = parse_duration(params.get(key))
        if seconds is None or seconds <= 0:
            raise ToolkitError("%s: expected a duration such as 14d, 5m or 90s, got %r" % (key, params.get(key)), kind="invalid")
        opts[key] = seconds
    for key in ("cpu_percentile", "cpu_margin", "cpu_limit_percentile", "memory_percentile", "memory_margin", "oom_bump",
                "max_throttled_share", "idle_cpu_share", "idle_network_bps", "idle_memory_change", "idle_request_rate",
                "price_cpu_hour", "price_memory_gib_hour", "min_points"):
        if params.get(key) is not None:
            opts[key] = params[key]
    opts["warn_monthly_saving"] = params.get("warn_monthly_saving", 10.0)
    return opts


class Queries:
    """PromQL for one namespace, with the configured label names and cluster matcher."""

    def __init__(self, params, namespace, opts):
        self.namespace = namespace
        names = params.get("label_names") or {}
        self.ns, self.pod, self.ctr = names.get("namespace", "namespace"), names.get("pod", "pod"), names.get("container", "container")
        matchers = ['%s="%s"' % (self.ns, namespace)]
        if params.get("cluster"):
            matchers.append('%s="%s"' % (params.get("cluster_label") or "cluster", params["cluster"]))
        self.sel = ", ".join(matchers)
        self.by = "%s, %s, %s" % (self.ns, self.pod, self.ctr)
        self.ctr_sel = '%s, %s!="", %s!="POD"' % (self.sel, self.ctr, self.ctr)
        self.step = "%ds" % int(opts["step"])
        self.window = "%ds" % int(opts["rate_window"])
        self.history = "%ds" % int(opts["history"])
        self.request_metric = params.get("request_rate_metric")

    def range_queries(self, pods=None):
        """The step series of one batch: ``pods`` (names) or the whole namespace (None)."""
        w, s, by = self.window, self.step, self.by
        only = "" if pods is None else ', %s=~"%s"' % (self.pod, "|".join(p.replace(".", "\\\\.") for p in pods))
        sel, ctr_sel = self.sel + only, self.ctr_sel + only
        queries = {
            "cpu": "max by (%s) (rate(container_cpu_usage_seconds_total{%s}[%s]))" % (by, ctr_sel, w),
            "throttle": "max by (%s) (rate(container_cpu_cfs_throttled_periods_total{%s}[%s]) / rate(container_cpu_cfs_periods_total{%s}[%s]))" % (
                by, ctr_sel, w, ctr_sel, w),
            "memory": "max by (%s) (max_over_time(container_memory_working_set_bytes{%s}[%s]))" % (by, ctr_sel, s),
            "network": "sum by (%s, %s) (rate(container_network_receive_bytes_total{%s}[%s]))" % (self.ns, self.pod, sel, w),
            "requests": 'max by (%s, resource) (kube_pod_container_resource_requests{%s, resource=~"cpu|memory"})' % (by, sel),
            "memory_limit": 'max by (%s) (kube_pod_container_resource_limits{%s, resource="memory"})' % (by, sel),
            "ooms": ('max by (%s) (increase(kube_pod_container_status_restarts_total{%s}[%s])) * on (%s) '
                     'max by (%s) (kube_pod_container_status_last_terminated_reason{%s, reason="OOMKilled"})') % (by, sel, s, by, by, sel),
        }
        if self.request_metric:
            queries["request_rate"] = "sum by (%s, %s) (rate(%s{%s}[%s]))" % (self.ns, self.pod, self.request_metric, sel, w)
        return queries

    def pod_match(self):
        """The /api/v1/series selector of the namespace's containers: every pod that ran in the window."""
        return "container_cpu_usage_seconds_total{%s}" % self.ctr_sel

    def hpa_queries(self):
        """kube-state-metrics' view of the HPAs, for when the API is not read."""
        sel, ns = self.sel, self.ns
        last = "last_over_time(%%s{%s}[%s])" % (sel, self.window)
        return {
            "hpa_info": "max by (%s, horizontalpodautoscaler, scaletargetref_kind, scaletargetref_name) (%s)" % (
                ns, last % "kube_horizontalpodautoscaler_info"),
            "hpa_target": "max by (%s, horizontalpodautoscaler, metric_name, metric_target_type) (%s)" % (
                ns, last % "kube_horizontalpodautoscaler_spec_target_metric"),
            "hpa_min": "max by (%s, horizontalpodautoscaler) (%s)" % (ns, last % "kube_horizontalpodautoscaler_spec_min_replicas"),
            "hpa_max": "max by (%s, horizontalpodautoscaler) (%s)" % (ns, last % "kube_horizontalpodautoscaler_spec_max_replicas"),
        }

    def owner_queries(self):
        h = self.history
        return {
            "pod_owner": "max by (%s, %s, owner_kind, owner_name) (last_over_time(kube_pod_owner{%s}[%s]))" % (self.ns, self.pod, self.sel, h),
            "replicaset_owner": "max by (%s, replicaset, owner_kind, owner_name) (last_over_time(kube_replicaset_owner{%s}[%s]))" % (self.ns, self.sel, h),
            "job_owner": "max by (%s, job_name, owner_kind, owner_name) (last_over_time(kube_job_owner{%s}[%s]))" % (self.ns, self.sel, h),
        }


def _forbidden_hint(exc):
    if exc.kind in ("forbidden", "auth"):
        return "%s (check prometheus_token / prometheus_username / prometheus_headers)" % exc.msg
    return exc.msg


class Fetch:
    """Runs the queries; the first failure of the Prometheus connection fails the run, a later
    failed query becomes a partial result (errors[] and a missing_metrics finding)."""

    def __init__(self, prom, start, end, step):
        self.prom, self.start, self.end, self.step = prom, start, end, step
        self.errors = []
        self.reached = False

    def _run(self, name, call):
        try:
            result = call()
            self.reached = True
            return result
        except ToolkitError as exc:
            if not self.reached:
                raise ToolkitError("prometheus_url %s: %s" % (self.prom.http.base_url, _forbidden_hint(exc)), kind=exc.kind, status=exc.status)
            same = [e for e in self.errors if e["query"] == name]
            if same:
                same[0]["count"] += 1
            else:
                self.errors.append({"query": name, "kind": exc.kind, "status": exc.status, "msg": _forbidden_hint(exc), "count": 1})
            return None

    def range(self, name, expr):
        return self._run(name, lambda: self.prom.query_range(expr, self.start, self.end, self.step))

    def instant(self, name, expr):
        return self._run(name, lambda: self.prom.query(expr, at=self.end))

    def series(self, name, match):
        return self._run(name, lambda: self.prom.series(match, self.start, self.end))


def by_container(result, q, keep_pod=True):
    """{(pod, container): [(t, value)]} from a matrix."""
    out = {}
    for series in result or ():
        m = series["metric"]
        key = (m.get(q.pod, ""), m.get(q.ctr, "")) if keep_pod else m.get(q.pod, "")
        out.setdefault(key, []).extend((float(t), float(v)) for t, v in series["values"] if v not in ("NaN", "+Inf", "-Inf"))
    return out


def _top(table, name):
    """(kind, name) a ReplicaSet or Job of kube-state-metrics belongs to, or None."""
    owner = table.get(name)
    return owner if owner and owner[0] not in (None, "<none>", "") else None


# pod names as the controllers make them: <deployment>-<pod-template-hash>-<5>, <statefulset>-<ordinal>,
# <daemonset or job>-<5>, <cronjob>-<scheduled minute>-<5>
NAME_PATTERNS = {"Deployment": r"-[a-z0-9]{5,10}-[a-z0-9]{5}$", "StatefulSet": r"-[0-9]+$", "DaemonSet": r"-[a-z0-9]{5}$",
                 "Job": r"-[a-z0-9]{5}$", "CronJob": r"-[0-9]{8,}-[a-z0-9]{5}$"}


def owner_by_name(pod, rs, jobs, workloads):
    """The owner of a pod kube_pod_owner does not list: its ReplicaSet or Job by name, else the
    longest known workload whose pod names it has, else the Deployment its name suggests."""
    head = pod.rsplit("-", 1)[0]
    found = _top(rs, head) or _top(jobs, head)
    if found:
        return found
    matches = [(len(name), kind, name) for kind, name in workloads
               if kind in NAME_PATTERNS and pod.startswith(name + "-") and re.match(NAME_PATTERNS[kind], pod[len(name):])]
    if matches:
        _length, kind, name = max(matches)
        return kind, name
    return guess_owner(pod)


def owners(results, q, pods=(), workloads=()):
    """pod -> (kind, name) of its top owner (Deployment through its ReplicaSet, CronJob through its Job),
    for every pod of kube_pod_owner and every other pod in ``pods`` (by name)."""
    rs = {r["metric"].get("replicaset"): (r["metric"].get("owner_kind"), r["metric"].get("owner_name")) for r in results.get("replicaset_owner") or ()}
    jobs = {r["metric"].get("job_name"): (r["metric"].get("owner_kind"), r["metric"].get("owner_name")) for r in results.get("job_owner") or ()}
    out = {}
    for r in results.get("pod_owner") or ():
        m = r["metric"]
        kind, name = m.get("owner_kind"), m.get("owner_name")
        if kind == "ReplicaSet":
            kind, name = _top(rs, name) or ("ReplicaSet", name)
        elif kind == "Job" and _top(jobs, name):
            kind, name = jobs[name]
        elif kind in (None, "<none>", ""):
            kind, name = "Pod", m.get(q.pod)
        out[m.get(q.pod)] = (kind, name)
    for pod in sorted(set(pods) - set(out)):
        out[pod] = owner_by_name(pod, rs, jobs, workloads)
    return out


def guess_owner(pod):
    """Without kube-state-metrics or a known workload: a Deployment pod is <name>-<pod-template-hash>-<5
    chars>, the hash in the alphabet Kubernetes encodes it with (no vowels, no 0, 1, 3)."""
    head = pod.rsplit("-", 1)[0]
    match = RS_SUFFIX.match(head)
    return ("Deployment", match.group(1)) if match else ("Pod", pod)


def ksm_hpas(fetch, q):
    """{(kind, name): hpa} from kube-state-metrics' HPA series (the API was not read)."""
    results = {name: fetch.instant(name, expr) or () for name, expr in q.hpa_queries().items()}

    def by_hpa(name):
        return {r["metric"].get("horizontalpodautoscaler"): r for r in results[name]}

    low, high = by_hpa("hpa_min"), by_hpa("hpa_max")
    cpu = {r["metric"].get("horizontalpodautoscaler"): float(r["value"][1]) for r in results["hpa_target"]
           if r["metric"].get("metric_name") == "cpu" and r["metric"].get("metric_target_type") == "utilization"}
    hpas = {}
    for hpa, r in sorted(by_hpa("hpa_info").items()):
        m = r["metric"]
        bounds = [int(float(table[hpa]["value"][1])) if hpa in table else None for table in (low, high)]
        hpas[(m.get("scaletargetref_kind"), m.get("scaletargetref_name"))] = {
            "name": hpa, "min": bounds[0], "max": bounds[1], "cpu_utilization": cpu.get(hpa) or None, "source": "kube-state-metrics"}
    return hpas


def spec_of(obj, kind):
    path = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"] if kind == "CronJob" else obj["spec"]["template"]["spec"]
    out = {}
    for c in path.get("containers") or ():
        res = c.get("resources") or {}
        out[c["name"]] = {key: {r: parse_quantity(v) for r, v in (res.get(key) or {}).items() if r in ("cpu", "memory")} for key in ("requests", "limits")}
    return out


def read_specs(k8s, namespace):
    """{(kind, name): {"containers": {name: spec}, "replicas": n}} and HPAs {(kind, name): hpa}."""
    workloads = {}
    for kind, prefix, plural in KINDS:
        for obj in k8s.list_all("%s/namespaces/%s/%s" % (prefix, namespace, plural)):
            refs = obj["metadata"].get("ownerReferences") or []
            if kind == "Job" and any(r.get("kind") == "CronJob" for r in refs):
                continue
            workloads[(kind, obj["metadata"]["name"])] = {"containers": spec_of(obj, kind), "replicas": obj["spec"].get("replicas")}
    hpas = {}
    for obj in k8s.list_all("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers" % namespace):
        ref = obj["spec"].get("scaleTargetRef") or {}
        cpu = [m["resource"]["target"].get("averageUtilization") for m in obj["spec"].get("metrics") or ()
               if m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu"]
        hpas[(ref.get("kind"), ref.get("name"))] = {"name": obj["metadata"]["name"], "min": obj["spec"].get("minReplicas"),
                                                    "max": obj["spec"].get("maxReplicas"), "cpu_utilization": cpu[0] if cpu and cpu[0] else None,
                                                    "source": "api"}
    return workloads, hpas


BATCH_PODS = 24


def pod_batches(owner_of):
    """Pods grouped by workload, workloads packed into batches of about BATCH_PODS pods, so memory stays
    bounded by the batch, not the namespace; [None] (one namespace-wide batch) when owners are unknown."""
    if not owner_of:
        return [None]
    by_workload = {}
    for pod, owner in owner_of.items():
        by_workload.setdefault(owner, []).append(pod)
    batches, current = [], []
    for owner in sorted(by_workload):
        pods = sorted(by_workload[owner])
        if current and len(current) + len(pods) > BATCH_PODS:
            batches.append(current)
            current = []
        current += pods
    return batches + ([current] if current else [])


def request_runs(result, q):
    """{(pod, container): [(t, resource, value)]}: only the samples where a request changes."""
    out = {}
    for series in result or ():
        m = series["metric"]
        runs = out.setdefault((m.get(q.pod), m.get(q.ctr)), [])
        last = None
        for t, v in series["values"]:
            if v != last:
                runs.append((float(t), m.get("resource"), float(v)))
                last = v
    return out


def compact(name, result, q):
    """One range result in the small form the sizing needs (the JSON is dropped right after)."""
    if result is None:
        return None
    if name in ("network", "request_rate"):
        return by_container(result, q, keep_pod=False)
    if name == "requests":
        return request_runs(result, q)
    if name == "ooms":
        return [(series["metric"].get(q.pod), series["metric"].get(q.ctr), float(t), int(round(float(v))))
                for series in result for t, v in series["values"] if float(v) >= 0.5]
    return by_container(result, q)


def request_timeline(runs_by_pod):
    """[(t, cpu, memory)] each time the requests in force change, across the pods of one workload container."""
    events = sorted(e for runs in runs_by_pod for e in runs)
    current, timeline = {}, []
    for t, resource, value in events:
        current[resource] = value
        value_now = (current.get("cpu"), current.get("memory"))
        if timeline and timeline[-1][0] == t:
            timeline[-1] = (t,) + value_now
        elif not timeline or timeline[-1][1:] != value_now:
            timeline.append((t,) + value_now)
    return [entry for i, entry in enumerate(timeline) if i == 0 or entry[1:] != timeline[i - 1][1:]]


def latest(runs):
    out = {}
    for _t, resource, value in runs or ():
        out[resource] = value
    return out


def batch_histories(data, q, owner_of, specs, hpas, opts):
    cpu, throttle, memory = data["cpu"] or {}, data["throttle"] or {}, data["memory"] or {}
    network, mem_limit, requests = data["network"] or {}, data["memory_limit"] or {}, data["requests"] or {}
    request_rate = data.get("request_rate") or {}
    groups = {}
    for (pod, ctr) in set(cpu) | set(memory):
        kind, name = owner_of.get(pod) or guess_owner(pod)
        groups.setdefault((kind, name, ctr), []).append(pod)
    windows = max(1.0, opts["history"] / opts["step"])
    histories = []
    for (kind, name, ctr), pods in sorted(groups.items()):
        spec = (specs.get((kind, name)) or {}).get("containers", {}).get(ctr)
        members = set(pods)
        ooms = []
        for pod, c, t, count in data["ooms"] or ():
            if c == ctr and pod in members:
                ooms.extend([(t, pod, dict(mem_limit.get((pod, ctr), ())).get(t))] * count)
        timeline = request_timeline([requests.get((p, ctr)) or [] for p in pods])
        changes = [{"time": t, "cpu": c, "memory": m} for t, c, m in timeline[1:]]
        if spec is None and timeline:
            spec = {"requests": {k: v for k, v in zip(("cpu", "memory"), timeline[-1][1:]) if v is not None}, "limits": {}}
        histories.append({
            "namespace": q.namespace, "kind": kind, "name": name, "container": ctr, "step": opts["step"], "spec": spec,
            "in_api": (kind, name) in specs, "hpa": hpas.get((kind, name)),
            "cpu": {p: cpu[(p, ctr)] for p in pods if (p, ctr) in cpu},
            "throttle": {p: throttle[(p, ctr)] for p in pods if (p, ctr) in throttle},
            "memory": {p: memory[(p, ctr)] for p in pods if (p, ctr) in memory},
            "network": {p: network[p] for p in pods if p in network},
            "request_rate": {p: request_rate[p] for p in pods if p in request_rate},
            "requests": {p: latest(requests.get((p, ctr))) for p in pods},
            "ooms": sorted(ooms, key=lambda o: o[0]), "requests_changed": changes, "request_timeline": timeline,
            "average_pods": round(sum(len(cpu.get((p, ctr), ())) for p in pods) / windows, 3),
        })
    return histories


def namespace_histories(fetch, q, specs, hpas, opts, consume):
    """Hand the ContainerHistory dicts of one namespace to ``consume`` batch by batch; return the metric
    families found missing and the spec containers without usage."""
    owner_results = {name: fetch.instant(name, expr) for name, expr in q.owner_queries().items()}
    ran = {labels.get(q.pod) for labels in fetch.series("pods", q.pod_match()) or () if labels.get(q.pod)}
    owner_of = owners(owner_results, q, ran, specs)
    found = dict.fromkeys(("cpu", "throttle", "memory", "network", "requests", "memory_limit", "ooms", "request_rate"), False)
    seen_keys = set()
    for pods in pod_batches(owner_of):
        data = {}
        for name, expr in q.range_queries(pods).items():
            data[name] = compact(name, fetch.range(name, expr), q)
            found[name] = found.get(name) or data[name] is None or bool(data[name])
        histories = batch_histories(data, q, owner_of, specs, hpas, opts)
        del data
        seen_keys.update((h["kind"], h["name"], h["container"]) for h in histories)
        consume(histories)
    found["pod_owner"] = owner_results.get("pod_owner") != []
    missing = [name for name in ("cpu", "memory", "requests", "ooms", "pod_owner") if not found[name] and any(specs.values())]
    if not found["throttle"] and any(s["limits"].get("cpu") for w in specs.values() for s in w["containers"].values()):
        missing.append("throttle")
    no_usage = [(kind, name, ctr) for (kind, name), w in specs.items() for ctr in w["containers"]
                if (kind, name, ctr) not in seen_keys and w.get("replicas") != 0 and kind != "Job"]
    return missing, no_usage


def offence(c, findings):
    """Rank key of a container for the pictures: OOM-killed and throttled first, then by monthly change."""
    return (-sum(1 for f in findings if f["severity"] == "critical"), -abs((c.get("cost") or {}).get("monthly_change", 0.0)),
            c["namespace"], c["name"], c["container"])


def offenders(sized, histories, top):
    """The `top` containers of one namespace most worth a picture (candidates for the global top)."""
    ranked = sorted(zip(sized, histories), key=lambda pair: offence(pair[0], pair[0]["findings"]))
    return [pair for pair in ranked if pair[0]["findings"]][:max(0, int(top or 0))]


def size_batch(histories, sized, findings_out, end, opts, top):
    """Size one batch at once, so its step series are dropped before the next batch is fetched."""
    batch = [size_container(h, end, opts) for h in histories]
    for c, h in zip(batch, histories):
        c["in_api"] = h["in_api"]
        c["findings"] = container_findings(c, opts)
        findings_out.extend(c["findings"])
    for c, h in offenders(batch, histories, top):
        c["series"] = usage_series(cpu_demand(h["cpu"], h["throttle"]), h["memory"], h["request_timeline"], c["current"])
    for c in batch:
        c["rank"] = offence(c, c["findings"]) if c.get("series") else None
        c["finding_ids"] = sorted(set(f["id"] for f in c.pop("findings")))
    sized.extend(batch)


def rightsize(params, prom, k8s, end, k8s_error=None):
    """The module's result: containers, patches, findings, summary."""
    opts = options(params)
    start = end - opts["history"]
    fetch = Fetch(prom, start, end, opts["step"])
    namespaces = list(params.get("namespaces") or [])
    if not namespaces:
        names = params.get("label_names") or {}
        label = names.get("namespace", "namespace")
        found = fetch.instant("namespaces", "count by (%s) (last_over_time(container_cpu_usage_seconds_total{%s!=\"\"}[%ds]))" % (
            label, names.get("container", "container"), int(opts["history"])))
        namespaces = sorted(r["metric"].get(label, "") for r in found or () if r["metric"].get(label))
    containers, patches, findings_out, spec_errors = [], [], [], []
    if k8s_error is not None:
        spec_errors.append({"source": "kubernetes", "kind": k8s_error.kind, "status": k8s_error.status, "msg": k8s_error.msg})
        findings_out.append(finding("rightsizing.spec_unavailable", "warning", subject("Cluster", "kubernetes", "", "Kubernetes API"),
                                    "No Kubernetes client (%s): current values come from kube-state-metrics, no patches." % k8s_error.msg,
                                    "Pass kubeconfig/context (or set use_api=false to say so).", {"error_kind": k8s_error.kind}, "spec"))
    for ns in namespaces:
        q = Queries(params, ns, opts)
        specs, hpas = None, None
        if k8s is not None:
            try:
                specs, hpas = read_specs(k8s, ns)
            except ToolkitError as exc:
                spec_errors.append({"namespace": ns, "kind": exc.kind, "status": exc.status, "msg": exc.msg})
                findings_out.append(finding("rightsizing.spec_unavailable", "warning", subject("Namespace", ns, ""),
                                            "Could not read workloads in %s from the API (%s): current values come from kube-state-metrics." % (ns, exc.msg),
                                            "Grant get/list on workloads and HPAs in %s." % ns, {"error_kind": exc.kind}, "spec"))
        if specs is None:   # the API was not read: kube-state-metrics says which HPAs there are
            specs, hpas = {}, ksm_hpas(fetch, q)
        sized = []
        consume = functools.partial(size_batch, sized=sized, findings_out=findings_out, end=end, opts=opts, top=params.get("series_top", 5))
        missing, no_usage = namespace_histories(fetch, q, specs, hpas, opts, consume)
        for name in missing:
            findings_out.append(finding("rightsizing.missing_metrics", "warning", subject("Namespace", ns, ""),
                                        "No %s series for namespace %s: sizing is partial." % (name, ns),
                                        "Check that the metric behind %r is scraped with the configured label names and cluster." % name,
                                        {"query": name}, "metrics"))
        for kind, name, ctr in no_usage:
            findings_out.append(finding("rightsizing.no_usage", "warning", subject(kind, name, ns, "%s %s/%s container %s" % (kind, ns, name, ctr)),
                                        "No usage series for container %s of %s %s/%s." % (ctr, kind, ns, name),
                                        "Check the cAdvisor scrape, label_names and cluster.", {}, "metrics"))
        containers.extend(sized)
        patches.extend(p for p in workload_patches(sized) if (p["kind"], p["name"]) in specs)
    for err in fetch.errors:
        findings_out.append(finding("rightsizing.missing_metrics", "warning", subject("Prometheus", "prometheus", "", "Prometheus %s" % prom.http.base_url),
                                    "Query %s failed (%s%s): sizing is partial." % (err["query"], err["kind"], " %s" % err["status"] if err["status"] else ""),
                                    err["msg"], err, "metrics"))
    ordered, counts = contract(findings_out)
    waste = {}
    for c in containers:
        if c.get("cost") and c["cost"]["monthly_change"] < 0:
            waste[c["namespace"]] = round(waste.get(c["namespace"], 0.0) - c["cost"]["monthly_change"], 2)
    summary = {
        "counts": counts, "gate": gate(counts, params.get("fail_on", "never")),
        "containers": len(containers), "recommended": sum(1 for c in containers if c.get("recommendation")),
        "idle": sum(1 for c in containers if c["idle"]["idle"]),
        "insufficient_history": sum(1 for c in containers if c["confidence"]["level"] == "insufficient"),
        "monthly_change": round(sum((c.get("cost") or {}).get("monthly_change", 0.0) for c in containers), 2),
        "monthly_saving_by_namespace": waste, "window": {"start": start, "end": end, "step": opts["step"]},
        "namespaces": namespaces, "queries": prom.stats.get("queries"), "samples": prom.stats.get("samples"),
        "errors": fetch.errors + spec_errors,
    }
    pictured = sorted((c for c in containers if c["rank"] is not None), key=lambda c: c["rank"])
    for position, c in enumerate(pictured, 1):
        if position > max(0, int(params.get("series_top", 5) or 0)):
            del c["series"]
        else:
            c["series"]["rank"] = position  # 1 = worst: the report draws the pictures in this order
    for c in containers:
        del c["rank"]
    containers.sort(key=lambda c: (c["namespace"], c["kind"], c["name"], c["container"]))
    return {"changed": False, "containers": containers, "patches": patches, "findings": ordered, "summary": summary}


def run(params, now, prometheus_factory=None, k8s_factory=None):
    """Build the clients (the Kubernetes one may fail: partial result without it) and size."""
    end = now if params.get("end") in (None, "") else to_epoch(params["end"])
    if end is None:
        raise ToolkitError("end: expected unix seconds or RFC 3339 (2026-12-06T00:00:00Z), got %r" % params["end"], kind="invalid")
    prometheus_factory = prometheus_factory or PrometheusClient.from_params
    k8s_factory = k8s_factory or K8sClient.from_params
    if not params.get("prometheus_url"):
        raise ToolkitError("prometheus_url: required (the Prometheus that scrapes cAdvisor and kube-state-metrics)", kind="invalid")
    prom = prometheus_factory(params)
    k8s, k8s_error = None, None
    if params.get("use_api", True):
        try:
            k8s = k8s_factory(params)
        except ToolkitError as exc:
            k8s_error = exc
    return rightsize(params, prom, k8s, end, k8s_error)
