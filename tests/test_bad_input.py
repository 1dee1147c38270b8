"""Bad and hostile input: one tree holding every kind of breakage, converted once.

Each case must give a one-line error with file:line in the report and on stderr,
the rest must still convert (a good role and a 5,000-task role sit beside the bad
ones), the exit status follows the contract, there is no traceback, and time and
memory stay bounded.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

GOOD = "- name: Good task\n  file: path=/tmp/good state=directory\n"
ALIAS_BOMB = "- debug:\n    msg: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"- debug:\n    msg: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))

ROLE_FILES: dict[str, str | bytes] = {
    "yaml_invalid/tasks/main.yml": "- name: x\n  debug: [unclosed\n",
    "yaml_tabs/tasks/main.yml": "- name: x\n\tdebug: msg=hi\n",
    "yaml_bad_indent/tasks/main.yml": "- name: x\n  debug:\n msg: hi\n",
    "tasks_mapping/tasks/main.yml": "name: not a list\ndebug: msg=x\n",
    "task_string/tasks/main.yml": "- just a string\n- debug: msg=ok\n",
    "task_number/tasks/main.yml": "- debug: msg=ok\n- 42\n",
    "task_null/tasks/main.yml": "- \n- debug: msg=ok\n",
    "dup_keys/tasks/main.yml": "- name: one\n  name: two\n  debug: msg=hi\n",
    "latin1/tasks/main.yml": b"- name: caf\xe9\n  debug: msg=x\n",
    "binary/tasks/main.yml": b"\x7fELF\x00\x01\x02\x00",
    "empty/tasks/main.yml": "",
    "include_cycle/tasks/main.yml": "- include_tasks: a.yml\n",
    "include_cycle/tasks/a.yml": "- include_tasks: main.yml\n",
    "include_missing/tasks/main.yml": "- debug: msg=before\n- import_tasks: nope.yml\n",
    "role_missing/tasks/main.yml": "- include_role: name=does_not_exist\n",
    "meta_missing/meta/main.yml": "dependencies: [also_missing]\n",
    "meta_missing/tasks/main.yml": "- debug: msg=x\n",
    "dep_cycle_a/meta/main.yml": "dependencies: [dep_cycle_b]\n",
    "dep_cycle_a/tasks/main.yml": "- debug: msg=a\n",
    "dep_cycle_b/meta/main.yml": "dependencies: [dep_cycle_a]\n",
    "dep_cycle_b/tasks/main.yml": "- debug: msg=b\n",
    "two_actions/tasks/main.yml": "- shell: echo a\n  command: echo b\n",
    "unknown_keyword/tasks/main.yml": "- debug: msg=x\n  retries_count: 3\n",
    "unknown_module/tasks/main.yml": "- frobnicate_widgets: size=3\n",
    "jinja_arg/tasks/main.yml": "- debug:\n    msg: \"{{ foo \"\n",
    "jinja_when/tasks/main.yml": "- debug: msg=x\n  when: foo ==\n",
    "jinja_template/tasks/main.yml": "- template: src=bad.j2 dest=/tmp/x\n",
    "jinja_template/templates/bad.j2": "line one\n{% if x %}never closed\n",
    "deep_flow/tasks/main.yml": "- debug: " + "[" * 1500 + "]" * 1500 + "\n",
    "deep_block/tasks/main.yml": "".join("  " * i + "- block:\n" for i in range(1200)) + "  " * 1200 + "- debug: msg=x\n",
    "alias_bomb/tasks/main.yml": ALIAS_BOMB,
    "outside_src/tasks/main.yml": "- copy: src=../../../../../../etc/passwd dest=/tmp/x\n",
    "outside_include/tasks/main.yml": "- include_tasks: ../../../../../../../etc/hosts\n",
    "bad_defaults/defaults/main.yml": "- not\n- a mapping\n",
    "bad_defaults/tasks/main.yml": "- debug: msg=x\n",
    "bad_meta/meta/main.yml": "dependencies: 7\n",
    "bad_meta/tasks/main.yml": "- debug: msg=x\n",
    "block_not_list/tasks/main.yml": "- block: {debug: msg=x}\n",
    "good/tasks/main.yml": GOOD,
    "big/tasks/main.yml": "".join(f"- name: task {i}\n  command: echo {i}\n" for i in range(5000)),
}
PLAYBOOK_FILES = {
    "cycle_a.yml": "- import_playbook: cycle_b.yml\n",
    "cycle_b.yml": "- import_playbook: cycle_a.yml\n",
    "import_missing.yml": "- import_playbook: missing.yml\n",
    "roles_not_list.yml": "- hosts: all\n  roles: 5\n",
    "vars_files_missing.yml": "- hosts: all\n  vars_files: [nope.yml]\n  tasks:\n    - debug: msg=ok\n",
    "tasks_not_list.yml": "- hosts: all\n  tasks: {debug: msg=x}\n",
}

# (file the error names, its line, a fragment of the message)
EXPECTED = [
    ("roles/yaml_invalid/tasks/main.yml", 2, "invalid YAML"),
    ("roles/yaml_tabs/tasks/main.yml", 2, "tab character"),
    ("roles/yaml_bad_indent/tasks/main.yml", 3, "invalid YAML"),
    ("roles/tasks_mapping/tasks/main.yml", 1, "must be a YAML list, not a mapping"),
    ("roles/task_string/tasks/main.yml", 1, "a task must be a mapping, not a string"),
    ("roles/task_number/tasks/main.yml", 2, "a task must be a mapping, not a number"),
    ("roles/task_null/tasks/main.yml", 1, "a task must be a mapping, not empty"),
    ("roles/latin1/tasks/main.yml", 1, "not UTF-8 (byte 0xe9)"),
    ("roles/binary/tasks/main.yml", 1, "binary file"),
    ("roles/include_cycle/tasks/main.yml", 1, "include cycle"),
    ("roles/include_missing/tasks/main.yml", 2, "included task file not found: nope.yml"),
    ("roles/role_missing/tasks/main.yml", 1, "role not found: does_not_exist"),
    ("roles/meta_missing/meta/main.yml", 1, "role dependency not found: also_missing"),
    ("roles/dep_cycle_a/meta/main.yml", 1, "role dependency cycle"),
    ("roles/two_actions/tasks/main.yml", 1, "conflicting action statements: shell, command"),
    ("roles/unknown_keyword/tasks/main.yml", 1, "conflicting action statements: debug, retries_count"),
    ("roles/jinja_arg/tasks/main.yml", 1, "Jinja syntax error"),
    ("roles/jinja_when/tasks/main.yml", 1, "Jinja syntax error"),
    ("roles/jinja_template/templates/bad.j2", 2, "Jinja syntax error in the template"),
    ("roles/deep_flow/tasks/main.yml", 1, "nesting"),
    ("roles/deep_block/tasks/main.yml", 999, "nesting"),
    ("roles/alias_bomb/tasks/main.yml", 1, "alias bomb"),
    ("roles/outside_include/tasks/main.yml", 1, "outside the input tree"),
    ("roles/bad_defaults/defaults/main.yml", 1, "must be a mapping, not a list"),
    ("roles/bad_meta/meta/main.yml", 1, "dependencies must be a list, not a number"),
    ("roles/block_not_list/tasks/main.yml", 1, "must be a list"),
    ("roles/symlink_loop/tasks/self.yml", 1, "Too many levels of symbolic links"),
    ("roles/vanished/tasks/gone.yml", 1, "No such file or directory"),
    ("roles/vanished/tasks/main.yml", 1, "included task file not found: gone.yml"),
    ("playbooks/cycle_a.yml", 1, "import_playbook cycle"),
    ("playbooks/import_missing.yml", 1, "imported playbook not found: missing.yml"),
    ("playbooks/roles_not_list.yml", 1, "play roles must be a list, not a number"),
    ("playbooks/vars_files_missing.yml", 1, "vars_files not found"),
    ("playbooks/tasks_not_list.yml", 2, "play tasks must be a list"),
]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    for rel, content in ROLE_FILES.items():
        path = root / "roles" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    for rel, content in PLAYBOOK_FILES.items():
        path = root / "playbooks" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    loop = root / "roles" / "symlink_loop" / "tasks"
    loop.mkdir(parents=True)
    (loop / "main.yml").write_text("- include_tasks: self.yml\n")
    (loop / "self.yml").symlink_to(loop / "self.yml")
    (loop / "dir").symlink_to(loop)
    # a file that is listed but gone by the time it is read
    vanished = root / "roles" / "vanished" / "tasks"
    vanished.mkdir(parents=True)
    (vanished / "main.yml").write_text("- import_tasks: gone.yml\n")
    (vanished / "gone.yml").symlink_to(root / "deleted.yml")

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "migrator", "convert", "roles", "playbooks", "-o", "out",
                             "--quiet"], cwd=root, capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - started
    peak_kb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    report = json.loads((root / "out" / "report.json").read_text()) if (root / "out" / "report.json").exists() \
        else None
    return result, report, seconds, peak_kb, root


def test_exit_status_and_no_traceback(converted):
    result, report, *_ = converted
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert report is not None


@pytest.mark.parametrize("file, line, fragment", EXPECTED, ids=[e[0].split("/")[1] if e[0].startswith("roles")
                                                                 else e[0] for e in EXPECTED])
def test_each_bad_input_is_one_error_line_with_file_and_line(converted, file, line, fragment):
    result, report, *_ = converted
    found = [e for e in report["errors"] if e["file"] == file]
    assert found, f"no error for {file}: {[e['file'] for e in report['errors']]}"
    assert any(e["line"] == line and fragment in e["message"] for e in found), found
    for e in found:  # on stderr too, one line each
        assert f"{e['file']}:{e['line']}: error: {e['message']}" in result.stderr.splitlines()
        assert "\n" not in e["message"]


def test_the_rest_converts(converted):
    _, report, _, _, root = converted
    tasks = {(t["file"], t["line"]): t for t in report["tasks"]}
    assert tasks[("roles/good/tasks/main.yml", 1)]["outcome"] == "native"
    assert tasks[("roles/task_string/tasks/main.yml", 2)]["outcome"] == "component"
    assert tasks[("playbooks/vars_files_missing.yml", 4)]["outcome"] == "component"
    big = [t for t in report["tasks"] if t["file"] == "roles/big/tasks/main.yml"]
    assert len(big) == 5000 and {t["outcome"] for t in big} == {"native"}
    assert (root / "out" / "roles" / "big" / "orchestration.yaml").is_file()


def test_duplicate_keys_and_unknown_modules_are_findings_not_errors(converted):
    _, report, *_ = converted
    tasks = {(t["file"], t["line"]): t for t in report["tasks"]}
    dup = tasks[("roles/dup_keys/tasks/main.yml", 1)]
    assert dup["name"] == "two" and any("duplicate key" in f["message"] for f in dup["findings"])
    unknown = tasks[("roles/unknown_module/tasks/main.yml", 1)]
    assert unknown["outcome"] == "stub" and any(f["severity"] == "error" for f in unknown["findings"])


def test_nothing_from_outside_the_input_tree_is_copied(converted):
    _, report, _, _, root = converted
    outside = next(t for t in report["tasks"] if t["file"] == "roles/outside_src/tasks/main.yml")
    assert outside["outcome"] == "unsupported"
    assert any("outside the input tree" in f["message"] for f in outside["findings"])
    assert not any(p.name in ("passwd", "hosts") for p in (root / "out").rglob("*"))


def test_time_and_memory_stay_bounded(converted):
    _, _, seconds, peak_kb, _ = converted
    # generous bounds, far above what a healthy run needs (about a second, 100 MB):
    # they catch an alias bomb walked, a nesting recursion or a loop that does not end
    assert seconds < 60
    assert peak_kb < 1_000_000
