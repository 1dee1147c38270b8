"""Reviewing a re-conversion: `tripleo-migrate diff OLD_OUT NEW_OUT`, `convert --check`
and the provenance comments that tie every generated job to its source task."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from click.testing import CliRunner

from migrator import provenance
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
- name: Make a dir
  file: path=/tmp/web state=directory
- name: Going away
  file: path=/tmp/gone state=absent
"""
# Two lines added on top (everything moves), a new task, one task edited, one
# whose outcome changes (a guard takes it off the native path), one removed.
WEB2 = """\
# moved down

- name: Install httpd
  package: name=nginx state=present
- name: Custom thing
  my_custom_module: a=b
- name: Add a host
  add_host: name=foo
- name: Say hi
  debug: msg=hi
- name: Make a dir
  file: path=/tmp/web state=directory
  when: make_dir | bool
- name: Brand new
  service: name=httpd state=started
"""


def cli(cwd: Path, *args: str):
    with contextlib.chdir(cwd):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)


def convert(root: Path, web: str, out: str, *extra: str):
    path = root / "roles" / "web" / "tasks" / "main.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(web)
    return cli(root, "convert", "roles", "-o", out, "--quiet", *extra)


def digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_diff_groups_changes_by_source_task(tmp_path):
    assert convert(tmp_path, WEB, "old").exit_code == 0
    assert convert(tmp_path, WEB2, "new").exit_code == 0
    result = cli(tmp_path, "diff", "old", "new", "--format", "json")
    assert result.exit_code == 0, result.stderr
    changes = json.loads(result.stdout)
    assert changes["schema"] == "tripleo-migrate/diff/v1"
    tasks = {c["name"]: c for c in changes["tasks"]}
    assert {n: c["status"] for n, c in tasks.items()} == {
        "Install httpd": "changed", "Custom thing": "moved", "Add a host": "moved", "Say hi": "moved",
        "Make a dir": "changed", "Brand new": "added", "Going away": "removed"}
    assert changes["counts"] == {"added": 1, "removed": 1, "changed": 2, "moved": 3}

    httpd = tasks["Install httpd"]
    assert (httpd["file"], httpd["line"], httpd["moved_from"]) == ("roles/web/tasks/main.yml", 3,
                                                                   "roles/web/tasks/main.yml:1")
    assert httpd["outcome"] == ["native", "native"] and httpd["jobs_added"] == httpd["jobs_removed"] == []
    assert "-  - DNF: httpd\n+  - DNF: nginx\n" in httpd["diff"]
    assert httpd["diff"].startswith("--- a/roles/web/tasks/main.yml:1\n+++ b/roles/web/tasks/main.yml:3\n")

    guarded = tasks["Make a dir"]
    assert guarded["outcome"] == ["native", "component"]
    assert guarded["jobs_removed"] == ["WORKDIR"] and guarded["jobs_added"] == ["TASK"]
    assert "-  - WORKDIR: /tmp/web" in guarded["diff"] and "+        - make_dir | bool" in guarded["diff"]

    added, removed = tasks["Brand new"], tasks["Going away"]
    assert added["outcome"] == [None, added["outcome"][1]] and added["jobs_added"]
    assert added["diff"].startswith("--- /dev/null\n+++ b/roles/web/tasks/main.yml:14\n")
    assert removed["outcome"][1] is None and removed["jobs_removed"]
    assert removed["diff"].splitlines()[1] == "+++ /dev/null"
    for name in ("Custom thing", "Add a host", "Say hi"):  # only their line numbers changed
        assert tasks[name]["diff"] == "" and tasks[name]["jobs_added"] == tasks[name]["jobs_removed"] == []

    text = cli(tmp_path, "diff", "old", "new").stdout
    assert text.startswith("coverage ")
    assert "== roles/web/tasks/main.yml:3 'Install httpd' (ansible.builtin.package)" in text
    assert "   outcome: native -> " in text
    moved = text.split("== moved (the same jobs, from other lines)\n", 1)[1]
    assert "   roles/web/tasks/main.yml:5 'Custom thing' (my_custom_module)" in moved and "from line 3" in moved


def test_a_task_batched_with_a_changed_neighbour_is_not_changed(tmp_path):
    # "Add a host" (unsupported: a failing TASK) and "Say hi" (a TASK) share one batched TASK job.
    assert convert(tmp_path, WEB, "old").exit_code == 0
    assert convert(tmp_path, WEB.replace("msg=hi", "msg=hello"), "new").exit_code == 0
    changes = json.loads(cli(tmp_path, "diff", "old", "new", "--format", "json").stdout)
    assert [(c["name"], c["status"]) for c in changes["tasks"]] == [("Say hi", "changed")]
    diff = changes["tasks"][0]["diff"]
    assert "-          msg: hi\n+          msg: hello\n" in diff
    assert "add_host" not in diff  # the neighbour's entry of the shared job is not shown as this task's


def test_diff_exit_code_and_bad_outs(tmp_path):
    assert convert(tmp_path, WEB, "a").exit_code == 0
    assert convert(tmp_path, WEB, "b").exit_code == 0
    same = cli(tmp_path, "diff", "a", "b", "--exit-code")
    assert same.exit_code == 0 and same.stderr.startswith("0 tasks added, 0 removed, 0 changed, 0 moved")
    assert convert(tmp_path, WEB2, "c").exit_code == 0
    assert cli(tmp_path, "diff", "a", "c", "--exit-code").exit_code == 1
    assert cli(tmp_path, "diff", "a", "c").exit_code == 0
    (tmp_path / "empty").mkdir()
    for args, message in ((("a", "missing"), "error: missing: no such directory"),
                          (("empty", "a"), "error: empty: not a tripleo-migrate output (no report.json)"),
                          (("a", "roles/web/tasks/main.yml"), "error: roles/web/tasks/main.yml: not a directory")):
        result = cli(tmp_path, "diff", *args)
        assert result.exit_code == 2 and result.stderr == message + "\n"
    (tmp_path / "a" / "report.json").write_text("{oops")
    result = cli(tmp_path, "diff", "a", "b")
    assert result.exit_code == 2 and result.stderr.startswith("error: a/report.json:1: not JSON")


def test_check_exits_1_when_out_would_change_and_writes_nothing(tmp_path):
    fresh = convert(tmp_path, WEB, "out", "--check")
    assert fresh.exit_code == 1 and "out: would change" in fresh.stderr
    assert not (tmp_path / "out").exists()
    assert convert(tmp_path, WEB, "out").exit_code == 0
    before = digest(tmp_path / "out")
    ok = convert(tmp_path, WEB, "out", "--check")
    assert ok.exit_code == 0, ok.stderr
    stale = convert(tmp_path, WEB2, "out", "--check")
    assert stale.exit_code == 1
    would = {line.removeprefix("would change: ") for line in stale.stderr.splitlines() if line.startswith("would")}
    assert {"roles/web/orchestration.yaml", "report.json", "report.md"} <= would
    assert digest(tmp_path / "out") == before  # nothing was written
    # Another set of report files is a change too.
    assert convert(tmp_path, WEB, "out", "--check", "--report", "json,md,sarif").exit_code == 1
    assert digest(tmp_path / "out") == before


def test_every_job_is_led_by_its_source_task(tmp_path):
    assert convert(tmp_path, WEB, "out").exit_code == 0
    out = tmp_path / "out"
    report = json.loads((out / "report.json").read_text())
    text = (out / "roles/web/orchestration.yaml").read_text()
    assert text.startswith(provenance.GENERATED)
    chunks = provenance.read_out(out)
    led = {(c.file, c.line): c for c in chunks}
    for task in report["tasks"]:
        chunk = led[(task["file"], task["line"])]
        assert chunk.label == task["name"] and chunk.output == task["output"]
        assert all(f"- {job}:" in chunk.text for job in task["jobs"])
    # and no job line stands without a provenance comment above it
    jobs_section = text.split("  jobs:\n", 1)[1]
    assert jobs_section.startswith("  # roles/web/tasks/main.yml:1 Install httpd\n  - DNF: httpd\n")
