"""The CI gate: --fail-under and --baseline, on `convert` and on `coverage REPORT`.

Exit 1 when coverage is under the threshold, when a task the baseline had
translated no longer is, or when a new task is not translated; 0 otherwise;
2 for a report that cannot be used. Tasks are matched by a stable id that
survives line shifts and edits of other tasks.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrator.cli import main

REPO = Path(__file__).resolve().parent.parent
V1 = """\
- name: Install the package
  package: name=httpd state=present
- name: Custom thing
  my_custom_module: a=b
- name: Say hi
  debug: msg=hi
- debug: msg=unnamed
"""
# Lines shifted, another task edited, a translated task inserted before the others.
V2 = """\
# a comment that moves everything down

- name: A new translated task
  file: path=/tmp/new state=directory
- name: Install the package
  package: name=nginx state=present
- name: Custom thing
  my_custom_module: a=b
- name: Say hi
  debug: msg=hi
- debug: msg=unnamed
"""
OVERRIDE_CUSTOM = "my_custom_module:\n  - RUN: echo done by hand\n"


def cli(cwd: Path, *args: str):
    with contextlib.chdir(cwd):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)


def convert(root: Path, tasks: str, out: str, *extra: str):
    path = root / "roles" / "app" / "tasks" / "main.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tasks)
    return cli(root, "convert", "roles", "-o", out, "--quiet", *extra)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_task_ids_survive_line_shifts_and_edits_of_other_tasks(tmp_path):
    assert convert(tmp_path, V1, "v1").exit_code == 0
    assert convert(tmp_path, V2, "v2").exit_code == 0
    before = {t["id"]: (t["name"], t["line"]) for t in load(tmp_path / "v1/report.json")["tasks"]}
    after = {t["id"]: (t["name"], t["line"]) for t in load(tmp_path / "v2/report.json")["tasks"]}
    assert len(before) == 4 and len(after) == 5
    for task_id, (name, line) in before.items():
        assert after[task_id] == (name, line + 4)  # same id, moved down
    assert [name for task_id, (name, _) in after.items() if task_id not in before] == ["A new translated task"]


def test_coverage_command_passes_when_nothing_regressed(tmp_path):
    assert convert(tmp_path, V1, "v1").exit_code == 0
    assert convert(tmp_path, V2, "v2").exit_code == 0
    # The stub was there in the baseline too: not new, and it was never translated.
    result = cli(tmp_path, "coverage", "v2/report.json", "--baseline", "v1/report.json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("coverage 80.0% of 5 tasks")
    assert "baseline coverage 75.0% (+5.0)" in result.stdout
    assert result.stderr.strip() == "gate: passed"


def test_fail_under(tmp_path):
    assert convert(tmp_path, V1, "v1").exit_code == 0
    assert cli(tmp_path, "coverage", "v1/report.json", "--fail-under", "75").exit_code == 0
    result = cli(tmp_path, "coverage", "v1/report.json", "--fail-under", "75.1")
    assert result.exit_code == 1
    assert "coverage: coverage 75.0% is under 75.1%" in result.stderr
    # the same gate on convert
    result = convert(tmp_path, V1, "again", "--fail-under", "90")
    assert result.exit_code == 1 and "coverage 75.0% is under 90.0%" in result.stderr
    assert (tmp_path / "again" / "report.json").is_file()  # the output is written all the same
    assert convert(tmp_path, V1, "again", "--fail-under", "70").exit_code == 0


def test_fail_under_compares_the_unrounded_coverage(tmp_path):
    assert convert(tmp_path, V1, "v1").exit_code == 0
    report = json.loads((tmp_path / "v1" / "report.json").read_text())
    report["summary"]["outcomes"] = {"native": 0, "lowered": 0, "component": 9696, "bridge": 0, "stub": 304,
                                     "unsupported": 0}
    report["summary"]["coverage"] = 97.0  # what the rounding shows for 96.96%
    (tmp_path / "rounded.json").write_text(json.dumps(report))
    result = cli(tmp_path, "coverage", "rounded.json", "--fail-under", "97")
    assert result.exit_code == 1
    assert "coverage 96.96% is under 97.0%" in result.stderr
    assert cli(tmp_path, "coverage", "rounded.json", "--fail-under", "96.96").exit_code == 0
    report["summary"]["outcomes"]["stub"] = "many"
    (tmp_path / "bad.json").write_text(json.dumps(report))
    result = cli(tmp_path, "coverage", "bad.json", "--fail-under", "97")
    assert result.exit_code == 2 and "malformed report" in result.stderr


def test_regression_and_new_untranslated_task_each_named_at_file_line(tmp_path):
    (tmp_path / "overrides.yml").write_text(OVERRIDE_CUSTOM)
    # The baseline had the custom module done by an override (native).
    assert convert(tmp_path, V1, "v1", "--overrides", "overrides.yml").exit_code == 0
    baseline = {t["name"]: t for t in load(tmp_path / "v1/report.json")["tasks"]}
    assert baseline["Custom thing"]["outcome"] == "native"
    # Now the override is gone and a second custom task came in, below the shifted ones.
    v3 = V2 + "- name: Another custom thing\n  other_custom_module: x=y\n"
    result = convert(tmp_path, v3, "v3", "--baseline", "v1/report.json")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    regression = "roles/app/tasks/main.yml:7: regression: 'Custom thing' (my_custom_module) was native in the baseline"
    assert any(line.startswith(regression) and "now stub" in line for line in lines), result.stderr
    new = "roles/app/tasks/main.yml:12: new-untranslated: new task 'Another custom thing' (other_custom_module) is stub"
    assert any(line.startswith(new) for line in lines), result.stderr
    assert lines[-1] == "gate: failed (2 problems)"
    # The coverage command says the same, from the report alone.
    again = cli(tmp_path, "coverage", "v3/report.json", "--baseline", "v1/report.json")
    assert again.exit_code == 1
    assert [line for line in again.stderr.splitlines() if ": regression: " in line or ": new-untranslated: " in line] \
        == [line for line in lines if ": regression: " in line or ": new-untranslated: " in line]
    verdict = json.loads(cli(tmp_path, "coverage", "v3/report.json", "--baseline", "v1/report.json",
                             "--format", "json").stdout)
    assert verdict["passed"] is False
    assert sorted((p["kind"], p["line"]) for p in verdict["problems"]) == [("new-untranslated", 12), ("regression", 7)]
    md = cli(tmp_path, "coverage", "v3/report.json", "--baseline", "v1/report.json", "--format", "md").stdout
    assert "## Coverage gate" in md and "**Failed**" in md and "| roles/app/tasks/main.yml:7 | regression |" in md


def test_a_task_gone_since_the_baseline_is_no_problem(tmp_path):
    assert convert(tmp_path, V1, "v1").exit_code == 0
    fewer = V1.replace("- name: Say hi\n  debug: msg=hi\n", "")
    result = convert(tmp_path, fewer, "v2", "--baseline", "v1/report.json")
    assert result.exit_code == 0, result.stderr


BAD_BASELINES = {
    "missing.json": (None, "missing.json: no such file"),
    "broken.json": ('{"schema": "tripleo-migrate/report/v1",\n  "summary": {,\n}', "broken.json:2: not JSON: "),
    "other.json": ('{"schema": "something/else"}', "other.json: not a tripleo-migrate report"),
    "list.json": ("[1, 2]", "list.json: not a tripleo-migrate report"),
    "notasks.json": ('{"schema": "tripleo-migrate/report/v1", "summary": {"coverage": 1}}',
                     "notasks.json: malformed report"),
    "badtask.json": ('{"schema": "tripleo-migrate/report/v1", "summary": {"coverage": 1, "outcomes": {}},'
                     ' "tasks": [{"id": "x", "file": "a.yml"}]}', "badtask.json: malformed report: task 0"),
    "binary.json": (b"\xff\xfe\x00", "binary.json: cannot read"),
}


@pytest.mark.parametrize("name", sorted(BAD_BASELINES))
def test_bad_baseline_is_one_line_and_exit_2(tmp_path, name):
    content, message = BAD_BASELINES[name]
    if isinstance(content, bytes):
        (tmp_path / name).write_bytes(content)
    elif content is not None:
        (tmp_path / name).write_text(content)
    assert convert(tmp_path, V1, "good").exit_code == 0
    for result in (cli(tmp_path, "coverage", "good/report.json", "--baseline", name),
                   cli(tmp_path, "coverage", name),
                   convert(tmp_path, V1, "out", "--baseline", name)):
        assert result.exit_code == 2
        assert result.stderr.startswith(f"error: {message}"), result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing converted with a baseline that cannot be used


def test_coverage_on_a_directory_is_exit_2(tmp_path):
    result = cli(tmp_path, "coverage", ".")
    assert result.exit_code == 2 and result.stderr == "error: .: is a directory, not a report file\n"


# -- the pre-commit hook, run the way pre-commit runs it --------------------------


def hook_command(hook: dict) -> list[str]:
    entry = shlex.split(hook["entry"])
    assert entry[0] == "tripleo-migrate"
    return [str(Path(sys.executable).with_name("tripleo-migrate"))] + entry[1:] + list(hook.get("args", []))


def test_pre_commit_hook_gates_and_reuses_its_output(tmp_path):
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "tripleo-migrate-coverage")
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    command = hook_command(hook)
    repo = tmp_path / "repo"
    tasks = repo / "roles" / "app" / "tasks" / "main.yml"
    tasks.parent.mkdir(parents=True)
    tasks.write_text("- name: Install\n  package: name=httpd\n")
    env = dict(os.environ, PYTHONHASHSEED="0")
    first = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    report = repo / ".tripleo-migrate" / "out" / "report.json"
    inode = report.stat().st_ino
    again = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0 and report.stat().st_ino == inode  # unchanged inputs: the output was kept
    tasks.write_text(tasks.read_text() + "- name: Custom\n  my_custom_module: a=b\n")
    failed = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env, timeout=120)
    assert failed.returncode == 1
    assert "coverage 50.0% is under 100.0%" in failed.stderr
    assert "Traceback" not in failed.stderr
    # A repository's own args: a later --fail-under replaces the hook's 100.
    lenient = dict(hook, args=["--fail-under", "50", "roles"])
    assert subprocess.run(hook_command(lenient), cwd=repo, capture_output=True, env=env, timeout=120).returncode == 0
