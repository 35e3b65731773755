"""Every report format of the diagnose playbook, run for real against the lab.

- The JSON model has every section populated (summary rows, charts, findings from the contract), a
  fix-first list and a verdict from the one gate; Markdown, HTML, JUnit and the textfile say the same.
- The JUnit file validates against the Jenkins xunit JUnit schema (tests/fixtures/junit/); the
  textfile passes `promtool check metrics`.
- The HTML opens in headless Chromium with the network blocked, driven over the DevTools protocol
  (``--remote-debugging-pipe``, a small client below: no selenium): nothing but the file is requested,
  the first screen shows the verdict and the fix-first list, the filters hide and show findings, every
  chart is an SVG with a non-empty box, each fix-first link lands on its evidence. Screenshots go
  to tests/output/reports/ (git-ignored).
- With two clusters in the inventory (the lab twice, under two names) the report has the matrix.

SRE_TOOLKIT_DOCS_SCREENSHOT=<path> also copies the first-screen screenshot there (docs/images/diagnose-report.png).
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from scripts.demo_vars import demo_vars
from tests.integration.ansible import run_playbook
from tests.integration.collection import REPO_ROOT

SCHEMA = REPO_ROOT / "tests" / "fixtures" / "junit" / "junit-10.xsd"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
OUTPUT = REPO_ROOT / "tests" / "output" / "reports"
SEVERITIES = ("critical", "warning", "info")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
    # No network: every connection goes to a dead proxy, every name fails to resolve.
    "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
]
# a raw float with three decimals (1.234), not an address (10.213.77.1: the real node's InternalIP)
RAW_FLOAT = re.compile(r"(?<![\d.])\d+\.\d{3}(?!\d|\.\d)")


def ensure_chromium() -> str:
    """The chromium binary; installed with apt-get when missing (idempotent). Fails, never skips."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    proc = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:  # a stale package list: update once and retry
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True, check=False)
        proc = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    found = shutil.which("chromium")
    if not found:
        pytest.fail("chromium is missing and `apt-get install -y chromium` failed (rc=%d):\n%s" % (
            proc.returncode, (proc.stdout + proc.stderr)[-2000:]))
    return found


def ensure_xmllint() -> str:
    found = shutil.which("xmllint")
    if not found:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-q", "libxml2-utils"], env=env, capture_output=True, check=False)
        found = shutil.which("xmllint")
    if not found:
        pytest.fail("xmllint is missing and `apt-get install -y libxml2-utils` failed")
    return found


class Browser:
    """Headless Chromium over the DevTools protocol on a pipe (fd 3 in, fd 4 out; NUL-separated JSON)."""

    def __init__(self, profile: Path, width=1280, height=900):
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def wire():
            # the pipes may themselves be fds 3 and 4 (outside pytest): move both above them first, so
            # neither dup2 overwrites the other or lands on itself (which would keep close-on-exec)
            reading, writing = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome_r, from_chrome_w))
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        self.proc = subprocess.Popen([ensure_chromium(), *CHROMIUM_FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                                      f"--window-size={width},{height}", "about:blank"],
                                     preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf, self._id, self.events, self.session = b"", 0, [], None
        page = next(t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        self.call("Page.enable")
        self.call("Network.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def _read(self, deadline):
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buf += chunk
        message, self._buf = self._buf.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, timeout=60, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError("%s: %s" % (method, answer["error"]))
                return answer.get("result", {})
            self.events.append(answer)

    def wait_event(self, method, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(index)
            self.events.append(self._read(deadline))

    def open(self, url):
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def js(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError("%s: %s" % (expression, result["exceptionDetails"]))
        return result["result"].get("value")

    def screenshot(self, path: Path, selector=None, full=False):
        params = {"format": "png", "captureBeyondViewport": bool(selector or full)}
        if selector or full:
            box = self.js("(function(){var r=%s.getBoundingClientRect();return [r.left+scrollX,r.top+scrollY,r.width,r.height];})()" % (
                "document.querySelector(%s)" % json.dumps(selector) if selector else "document.documentElement"))
            params["clip"] = {"x": box[0], "y": box[1], "width": max(box[2], 1), "height": min(max(box[3], 1), 16000), "scale": 1}
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", **params)["data"]))
        return path

    def requests(self):
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._w)
        os.close(self._r)


def run_diagnose(out: Path, two_clusters=False):
    """The diagnose playbook against the lab (as `make demo` does); with two_clusters, the lab twice."""
    extra = demo_vars(str(out))
    inventory = None
    if two_clusters:
        inventory = out / "inventory.ini"
        python = shutil.which("python") or "python3"
        inventory.write_text("[clusters]\n" + "".join(
            f"{name} ansible_connection=local ansible_python_interpreter={python} diagnose_cluster_name={name}\n"
            for name in ("lab-east", "lab-west")))
        extra.pop("diagnose_cluster_name")
        extra["diagnose_hosts"] = "clusters"
        extra["report_formats"] = ["markdown", "html", "json"]
        extra.pop("report_textfile_path")
    run = run_playbook(REPO_ROOT / "playbooks" / "diagnose.yml", extra, inventory=inventory)
    assert run["rc"] == 0, run["stdout"][-4000:] + run["stderr"][-2000:]
    return run


@pytest.fixture(scope="module")
def reports(lab_tls, lab_k8s, lab_prometheus, tmp_path_factory):
    out = tmp_path_factory.mktemp("diagnose-reports")
    run = run_diagnose(out)
    files = {fmt: out / f"diagnose.{ext}" for fmt, ext in
             (("json", "json"), ("markdown", "md"), ("html", "html"), ("junit", "junit.xml"))}
    files["textfile"] = out / "sre_toolkit.prom"
    for fmt, path in files.items():
        assert path.is_file() and path.stat().st_size > 0, f"{fmt} report missing: {path}"
    files["dir"] = out
    files["stdout"] = run["stdout"]
    return files


@pytest.fixture(scope="module")
def model(reports):
    return json.loads(reports["json"].read_text())


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    profile.chmod(0o700)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    client = Browser(profile)
    yield client
    client.close()


def shown_findings(model):
    """(cluster, module) -> severity counts of the findings each format lists (capped per section)."""
    return {(c["name"], s["module"]): Counter(f["severity"] for f in s["findings"])
            for c in model["clusters"] for s in c["sections"]}


def test_every_section_is_populated_from_the_contract(model):
    assert [c["name"] for c in model["clusters"]] == ["lab"]
    (cluster,) = model["clusters"]
    sections = {s["module"]: s for s in cluster["sections"]}
    assert set(sections) == {"k8s_health", "alert_frequency", "cert_expiry"}, "the lab exercises every module"
    for module, section in sections.items():
        assert section["status"] == "findings", (module, section["error"])
        assert section["summary"] and section["charts"] and section["findings"] and section["groups"], module
        for finding in section["findings"]:
            assert finding["subject"] and "None" not in finding["subject"].split("/"), finding
            assert finding["object"]["locator"] == finding["subject"]
            assert finding["severity"] in SEVERITIES and re.match(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$", finding["id"]), finding
    kinds = {c["kind"] for s in sections.values() for c in s["charts"]}
    assert {"timeline", "calendar", "bar"} <= kinds
    assert cluster["charts"][0]["kind"] == "stacked", "findings by namespace"
    assert any(f["subject"].startswith("file /") for f in sections["cert_expiry"]["findings"]), "file findings name their path"
    for severity in SEVERITIES:
        assert model["totals"][severity] == sum(s["counts"][severity] for s in cluster["sections"])
    # The verdict is the one gate; the grade never reads well beside it.
    assert model["totals"]["critical"] > 0 and model["verdict"]["failed"] is True
    assert model["verdict"]["reasons"][0].endswith("at or above fail_on=critical")
    assert cluster["grade"]["grade"] in "DEF" and cluster["grade"]["capped_by"]
    # Human units: no raw floats with three decimals in any summary row.
    rows = [str(v) for s in sections.values() for _key, v in s["summary"]]
    assert not [r for r in rows if RAW_FLOAT.search(r)], rows


def test_fix_first_is_ordered_by_severity_then_blast_radius(model):
    items = model["fix_first"]
    assert items and items[0]["severity"] == "critical"
    keys = [(SEVERITIES.index(i["severity"]), -i["blast"], -i["count"]) for i in items]
    assert keys == sorted(keys)
    anchors = {g["anchor"] for c in model["clusters"] for s in c["sections"] for g in s["groups"]}
    assert all(i["anchor"] in anchors for i in items)
    modules = {i["module"] for i in items}
    assert {"k8s_health", "cert_expiry"} <= modules, "one list across every source"


def test_markdown_matches_the_model(reports, model):
    text = reports["markdown"].read_text()
    assert text.startswith("# ") and ("**FAILED**" if model["verdict"]["failed"] else "**PASSED**") in text
    head = text.split("## Fix first", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"^1\. \*\*CRITICAL\*\* `%s`" % re.escape(model["fix_first"][0]["id"]), head, re.M)
    listed = Counter(m.group(1).lower() for m in re.finditer(r"^#### (CRITICAL|WARNING|INFO) `", text, re.M))
    groups = Counter(g["severity"] for c in model["clusters"] for s in c["sections"] for g in s["groups"])
    assert listed == groups
    assert "```text" in text and "None" not in re.findall(r"^- \*\*(.*?)\*\*", text, re.M)
    assert not RAW_FLOAT.search("\n".join(line for line in text.splitlines() if not line.startswith("  evidence")))


def test_html_is_self_contained(reports, model):
    html = reports["html"].read_text()
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html.split("<body>", 1)[0]), "nothing fetched from the head"
    assert not re.search(r"<link|<img|<iframe|@import|url\(|src=", html, re.I)
    assert "default-src 'none'" in html, "a CSP forbids any fetch"
    rows = html.count('<tr class="finding"')
    assert rows == sum(len(s["findings"]) for c in model["clusters"] for s in c["sections"])


def test_junit_validates_and_matches_the_model(reports, model):
    xmllint = ensure_xmllint()
    proc = subprocess.run([xmllint, "--noout", "--schema", str(SCHEMA), str(reports["junit"])],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    root = ET.parse(reports["junit"]).getroot()
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["%s.%s" % (c["name"], s["module"]) for c in model["clusters"] for s in c["sections"]]
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
    assert model["verdict"]["fail_on"] == "critical"
    lines = [line for case in root.iter("failure") for line in (case.text or "").splitlines()]
    assert Counter(line.split("]")[0].lstrip("[") for line in lines) == Counter(
        {"critical": sum(c["critical"] for c in shown_findings(model).values())})


def test_textfile_passes_promtool_and_matches_the_model(reports, model):
    proc = subprocess.run([PROMTOOL, "check", "metrics"], input=reports["textfile"].read_text(),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    samples = {}
    for line in reports["textfile"].read_text().splitlines():
        if line.startswith("sre_toolkit_findings{"):
            series, value = line.rsplit(" ", 1)
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', series))
            samples[(labels["cluster"], labels["module"], labels["severity"])] = float(value)
    for severity in SEVERITIES:
        assert sum(v for key, v in samples.items() if key[2] == severity) == model["totals"][severity]


VISIBLE = "[].filter.call(document.querySelectorAll('tr.finding'), function (e) { return !e.hidden && e.offsetParent; }).length"


def test_html_in_headless_chromium_offline(reports, model, browser):
    browser.open(reports["html"].as_uri())
    requested = browser.requests()
    assert requested and all(url.startswith(("file:", "data:", "about:")) for url in requested), requested
    # The first screen says what to fix first.
    first = browser.screenshot(OUTPUT / "diagnose-first-screen.png")
    top = browser.js("document.querySelector('#fix-first li').getBoundingClientRect().top")
    assert top < 400, "the fix-first list starts on the first screen"
    assert browser.js("document.querySelector('#fix-first li code').textContent") == model["fix_first"][0]["id"]
    assert browser.js("document.querySelector('#verdict b').textContent") == "FAILED"
    # Every chart renders: an SVG with a box and drawn shapes.
    charts = browser.js("[].map.call(document.querySelectorAll('svg.chart'), function (s) { var r = s.getBoundingClientRect();"
                        " return [s.getAttribute('data-kind'), r.width, r.height, s.querySelectorAll('rect,circle,path').length]; })")
    expected = sum(len(s["charts"]) for c in model["clusters"] for s in c["sections"]) + sum(len(c["charts"]) for c in model["clusters"])
    assert len(charts) == expected + len(model["charts"])
    assert {"bar", "stacked", "timeline", "calendar"} <= {c[0] for c in charts}
    assert all(w > 100 and h > 30 and shapes > 0 for _name, w, h, shapes in charts), charts
    for kind in ("timeline", "calendar", "stacked"):
        browser.screenshot(OUTPUT / f"diagnose-chart-{kind}.png", selector=f'svg[data-kind="{kind}"]')
    # Filters: severity, module, namespace; then reset.
    total = browser.js(VISIBLE)
    assert total == sum(len(s["findings"]) for c in model["clusters"] for s in c["sections"])
    browser.js("document.querySelector('input[name=severity][value=info]').click();"
               "document.querySelector('input[name=severity][value=warning]').click()")
    shown = shown_findings(model)
    assert browser.js(VISIBLE) == sum(c["critical"] for c in shown.values())
    assert browser.js("[].every.call(document.querySelectorAll('#fix-first li:not([hidden])'), function (li) {"
                      " return li.getAttribute('data-sev') === 'critical'; })")
    browser.screenshot(OUTPUT / "diagnose-filter-critical.png")
    browser.js("document.getElementById('reset').click()")
    assert browser.js(VISIBLE) == total
    browser.js("var s = document.querySelector('select[name=module]'); s.value = 'cert_expiry'; s.dispatchEvent(new Event('change', {bubbles: true}))")
    assert browser.js(VISIBLE) == sum(v for (c, m), counts in shown.items() if m == "cert_expiry" for v in counts.values())
    namespace = next(f["namespace"] for c in model["clusters"] for s in c["sections"] for f in s["findings"] if f["namespace"].startswith("lab-"))
    browser.js("document.getElementById('reset').click(); var s = document.querySelector('select[name=namespace]'); s.value = %s;"
               " s.dispatchEvent(new Event('change', {bubbles: true}))" % json.dumps(namespace))
    assert browser.js(VISIBLE) == sum(1 for c in model["clusters"] for s in c["sections"] for f in s["findings"] if f["namespace"] == namespace)
    browser.js("document.getElementById('reset').click()")
    # Collapsible sections, and a fix-first link lands on its (opened) evidence.
    browser.js("document.getElementById('collapse').click()")
    assert browser.js("[].every.call(document.querySelectorAll('details.module'), function (d) { return !d.open; })")
    browser.js("document.querySelector('#fix-first li a').click()")
    time.sleep(0.3)
    assert browser.js("location.hash") == "#" + model["fix_first"][0]["anchor"]
    assert browser.js("document.getElementById(%s).offsetParent !== null" % json.dumps(model["fix_first"][0]["anchor"]))
    browser.js("document.getElementById('expand').click()")
    browser.screenshot(OUTPUT / "diagnose-full.png", full=True)
    target = os.environ.get("SRE_TOOLKIT_DOCS_SCREENSHOT")
    if target:
        shutil.copyfile(first, target)


def test_two_clusters_show_the_matrix(lab_tls, lab_k8s, lab_prometheus, tmp_path, browser):
    run_diagnose(tmp_path, two_clusters=True)
    model = json.loads((tmp_path / "diagnose.json").read_text())
    assert [c["name"] for c in model["clusters"]] == ["lab-east", "lab-west"]
    assert [r["cluster"] for r in model["matrix"]["rows"]] == ["lab-east", "lab-west"]
    assert all(r["cells"]["k8s_health"] == "critical" for r in model["matrix"]["rows"])
    assert {i["cluster"] for i in model["fix_first"]} == {"lab-east", "lab-west"}
    text = (tmp_path / "diagnose.md").read_text()
    assert "## Clusters" in text and re.search(r"^\| lab-east \| [A-F] \| critical \(", text, re.M)
    browser.open((tmp_path / "diagnose.html").as_uri())
    assert browser.js("document.querySelectorAll('table.matrix tr').length") == 3
    browser.js("var s = document.querySelector('select[name=cluster]'); s.value = 'lab-west'; s.dispatchEvent(new Event('change', {bubbles: true}))")
    assert browser.js("document.querySelector('section.cluster[data-cluster=\"lab-east\"]').hidden") is True
    browser.js("document.getElementById('reset').click()")
    browser.screenshot(OUTPUT / "diagnose-two-clusters.png", selector="#matrix")
