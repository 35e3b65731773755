"""Every report format of the diagnose playbook, run for real against the lab.

- JSON, Markdown, HTML, JUnit and the Prometheus textfile say the same thing (same totals, same
  findings per section).
- The JUnit file validates against the Jenkins xunit JUnit schema (tests/fixtures/junit/).
- The textfile passes `promtool check metrics`.
- The HTML opens in headless Chromium with the network blocked; its screenshot shows the charts.
  Chromium is installed (apt-get) when missing, and the test fails if it cannot be.

SRE_TOOLKIT_DOCS_SCREENSHOT=<path> also copies the screenshot there (docs/images/diagnose-report.png).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from scripts.demo_vars import demo_vars
from tests.integration.ansible import run_playbook
from tests.integration.collection import REPO_ROOT

SCHEMA = REPO_ROOT / "tests" / "fixtures" / "junit" / "junit-10.xsd"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
SEVERITIES = ("critical", "warning", "info")
# Bar colours of the inline SVG charts (plugins/module_utils/_report/formats.py): slate for
# plain series, severity colours for the severity chart.
CHART_SLATE = (0x45, 0x5A, 0x64)
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
    # No network: every connection goes to a dead proxy, every name fails to resolve.
    "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


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


@pytest.fixture(scope="module")
def reports(lab_tls, lab_k8s, lab_prometheus, tmp_path_factory):
    """Run the diagnose playbook against the lab (as `make demo` does) and return the report paths."""
    out = tmp_path_factory.mktemp("diagnose-reports")
    run = run_playbook(REPO_ROOT / "playbooks" / "diagnose.yml", demo_vars(str(out)))
    assert run["rc"] == 0, run["stdout"][-4000:] + run["stderr"][-2000:]
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


def shown_findings(model):
    """(cluster, module) -> severity counts of the findings each format lists (capped per section)."""
    return {(c["name"], s["module"]): Counter(f["severity"] for f in s["findings"])
            for c in model["clusters"] for s in c["sections"]}


def test_json_model_is_consistent(model):
    assert model["clusters"], "the lab gives at least one cluster"
    for severity in SEVERITIES:
        assert model["totals"][severity] == sum(s["counts"][severity] for c in model["clusters"] for s in c["sections"])
    for cluster in model["clusters"]:
        for section in cluster["sections"]:
            if not section["truncated"]:
                assert dict(Counter(f["severity"] for f in section["findings"])) == {
                    k: v for k, v in section["counts"].items() if v}
    modules = {s["module"] for c in model["clusters"] for s in c["sections"]}
    assert modules == {"k8s_health", "alert_frequency", "cert_expiry"}, "the lab exercises every module"
    assert all(s["status"] != "error" for c in model["clusters"] for s in c["sections"]), model["verdict"]
    assert model["totals"]["critical"] > 0 and model["verdict"]["failed"] is True


def test_markdown_matches_the_model(reports, model):
    text = reports["markdown"].read_text()
    for severity in SEVERITIES:
        assert re.search(r"^\| %s \| %d \|$" % (severity, model["totals"][severity]), text, re.M), severity
    assert ("verdict: **%s**" % ("FAILED" if model["verdict"]["failed"] else "passed")) in text
    rows = Counter(m.group(1) for m in re.finditer(r"^\| (critical|warning|info) \| `", text, re.M))
    listed = sum(shown_findings(model).values(), Counter())
    assert rows == listed


def test_html_matches_the_model_and_is_self_contained(reports, model):
    html = reports["html"].read_text()
    cards = re.findall(r'<span class="badge (critical|warning|info)">\1</span><div class="n">(\d+)</div>', html)
    assert [(sev, int(n)) for sev, n in cards] == [(sev, model["totals"][sev]) for sev in SEVERITIES]
    modules = html.split('<section class="module">')[1:]
    expected = [sum(shown_findings(model)[(c["name"], s["module"])].values()) for c in model["clusters"] for s in c["sections"]]
    assert [part.count('<tr><td><span class="badge') for part in modules] == expected
    charts = sum(len(s["charts"]) for c in model["clusters"] for s in c["sections"]) + 1  # + the severity chart
    assert html.count("<svg ") == charts
    # Nothing to fetch: no script, stylesheet link, or remote source.
    assert not re.search(r"<script|<link|<img|<iframe|url\(|(src|href)=\"?(https?:)?//", html, re.I)


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
        assert int(suite.get("errors")) == sum(1 for c in cases if c.find("error") is not None)
    assert int(root.get("failures")) == sum(int(s.get("failures")) for s in suites)
    # fail_on=critical: each critical finding is one line of a failure, and nothing else fails.
    assert model["verdict"]["fail_on"] == "critical"
    lines = [line for case in root.iter("failure") for line in (case.text or "").splitlines()]
    assert Counter(line.split("]")[0].lstrip("[") for line in lines) == Counter(
        {"critical": sum(c["critical"] for c in shown_findings(model).values())})


def test_textfile_passes_promtool_and_matches_the_model(reports, model):
    proc = subprocess.run([PROMTOOL, "check", "metrics"], input=reports["textfile"].read_text(),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    samples = {}
    per_finding = Counter()
    for line in reports["textfile"].read_text().splitlines():
        if line.startswith("#") or not line:
            continue
        series, value = line.rsplit(" ", 1)
        name = series.split("{")[0]
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', series))
        if name == "sre_toolkit_findings":
            samples[(labels["cluster"], labels["module"], labels["severity"])] = float(value)
        elif name == "sre_toolkit_finding":
            per_finding[labels["severity"]] += 1
        elif name == "sre_toolkit_verdict_failed":
            assert float(value) == float(model["verdict"]["failed"])
    for severity in SEVERITIES:
        assert sum(v for key, v in samples.items() if key[2] == severity) == model["totals"][severity]
    assert per_finding == sum(shown_findings(model).values(), Counter())


def png_pixels(path):
    from PIL import Image  # test-only dependency (pillow)

    with Image.open(path) as image:
        rgb = image.convert("RGB")
        return image.size, Counter({colour: count for count, colour in rgb.getcolors(maxcolors=rgb.width * rgb.height)})


def test_html_renders_offline_in_headless_chromium(reports, tmp_path):
    chromium = ensure_chromium()
    profile = tmp_path / "profile"
    profile.mkdir(mode=0o700)
    shot = tmp_path / "report.png"
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1800",
           f"--screenshot={shot}", reports["html"].as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-3000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (width, height), colours = png_pixels(shot)
    assert (width, height) == (1280, 1800)
    white = colours[(255, 255, 255)]
    assert white < width * height * 0.95, "the page is blank"
    # The bars of the charts are drawn: thousands of pixels in the chart colour (only the SVG uses it).
    assert colours[CHART_SLATE] > 5000, "no chart bars in the screenshot"
    target = os.environ.get("SRE_TOOLKIT_DOCS_SCREENSHOT")
    if target:
        shutil.copyfile(shot, target)
