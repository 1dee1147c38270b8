"""The real tripleo-ansible 6.0.0 converts whole: every task reported once, every job valid."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from support.corpus import CorpusError, count_role_tasks, playbook_files, tripleo_ansible_tree
from support.job_check import validate_orchestrations

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    try:
        tree = tripleo_ansible_tree()
    except CorpusError as exc:
        pytest.skip(f"corpus not available: {exc}")
    out = tmp_path_factory.mktemp("corpus") / "out"
    result = subprocess.run([sys.executable, "-m", "migrator", "convert", "roles", "playbooks", "-o", str(out),
                             "--quiet"], cwd=tree, capture_output=True, text=True, timeout=600)
    return tree, out, result


def test_converts_without_a_traceback(converted):
    tree, out, result = converted
    assert result.returncode in (0, 1), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    report = json.loads((out / "report.json").read_text())
    # Each error is one stderr line and names a file and line.
    for error in report["errors"]:
        assert error["line"] >= 1 and error["file"]
        assert f"{error['file']}:{error['line']}: error: {error['message']}" in result.stderr


def test_every_role_task_definition_is_reported_exactly_once(converted):
    tree, out, _ = converted
    report = json.loads((out / "report.json").read_text())
    expected = set(count_role_tasks(tree / "roles"))
    assert len(expected) == 1592
    reported = Counter((t["file"], t["line"]) for t in report["tasks"]
                       if t["file"].startswith("roles/") and t["file"].split("/")[2] in ("tasks", "handlers"))
    assert [k for k, n in reported.items() if n > 1] == []
    assert set(reported) == expected


def test_every_role_and_playbook_has_output(converted):
    tree, out, _ = converted
    roles = sorted(p.name for p in (tree / "roles").iterdir() if p.is_dir())
    assert len(roles) == 87
    assert [r for r in roles if not list((out / "roles" / r).rglob("*.yaml"))] == []
    report = json.loads((out / "report.json").read_text())
    errored = {e["file"] for e in report["errors"]}
    playbooks = playbook_files(tree / "playbooks")
    assert len(playbooks) == 76
    missing = [p.name for p in playbooks
               if not (out / "playbooks" / p.with_suffix(".yaml").name).is_file()
               and f"playbooks/{p.name}" not in errored]
    assert missing == []


def test_every_generated_job_passes_directords_parsers(converted):
    _, out, _ = converted
    files = sorted(out.rglob("*.yaml"))
    assert len(files) > 150
    assert validate_orchestrations(files, component_dirs=[out / "components"], cwd=out) == []


def test_nothing_is_dropped_silently(converted):
    _, out, _ = converted
    report = json.loads((out / "report.json").read_text())
    for task in report["tasks"]:
        if task["outcome"] in ("stub", "unsupported"):
            assert any(f["severity"] == "error" for f in task["findings"]), task
        if task["outcome"] != "unsupported" and task["module"] not in (
                "ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "ansible.builtin.include_role",
                "ansible.builtin.import_role", "ansible.builtin.meta"):
            assert task["jobs"], task
