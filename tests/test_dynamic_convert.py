"""Conversion of what Ansible resolves at run time, where the node cannot do it: findings.

What converts is run on both sides by the fixtures include_loops.yml,
include_vars_first_found.yml and templated_src.yml (tests/test_differential.py); here,
the cases that must stay findings, with their reasons, and what gets shipped.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from migrator.pipeline import Options, run


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def _convert(tmp_path: Path) -> tuple[dict, dict]:
    result = run(Options(paths=[tmp_path / "roles"], out=tmp_path / "out"))
    tasks = {(t["file"].split("roles/", 1)[-1], t["line"]): t for t in result.report["tasks"]}
    return result.report, tasks


def test_a_looped_include_whose_tasks_need_jobs_of_their_own_stays_unsupported(tmp_path):
    _write(tmp_path, {
        "roles/r/tasks/main.yml": """\
            - name: Per node
              include_tasks: other.yml
              loop: "{{ groups['all'] }}"
            """,
        "roles/r/tasks/other.yml": """\
            - name: On one fixed node
              command: hostname
              delegate_to: node-1
            """,
    })
    report, tasks = _convert(tmp_path)
    include = tasks[("r/tasks/main.yml", 1)]
    assert include["outcome"] == "unsupported"
    assert any("r/tasks/other.yml:1 needs a TASK job of its own (on node-1)" in f["message"]
               for f in include["findings"]), include
    # the included task is reported once, from its own file's orchestration, not as run by the include
    inner = tasks[("r/tasks/other.yml", 1)]
    assert inner["outcome"] == "native" and inner["output"] == "roles/r/tasks/other.yaml", inner


def test_templated_sources_ship_their_candidates_or_say_why_not(tmp_path):
    _write(tmp_path, {
        "roles/r/tasks/main.yml": """\
            - name: Named by the item
              template:
                src: "templates/{{ item }}.j2"
                dest: "/etc/{{ item }}"
              loop: [a, b]
            - name: Any path on the controller
              copy:
                src: "{{ user_file }}"
                dest: /etc/x
            - name: Out of the search path
              copy:
                src: "../{{ user_file }}"
                dest: /etc/y
            """,
        "roles/r/templates/a.j2": "a\n",
        "roles/r/templates/b.j2": "b\n",
        "roles/r/templates/c.txt": "not a candidate\n",
    })
    report, tasks = _convert(tmp_path)
    shipped = tasks[("r/tasks/main.yml", 1)]
    assert shipped["outcome"] == "component", shipped
    out = tmp_path / "out" / "roles" / "r" / "templates"
    assert sorted(p.name for p in out.iterdir()) == ["a.j2", "b.j2"]
    # resolved at run time: read from the Directord server (tests/test_controller_files.py)
    anywhere = tasks[("r/tasks/main.yml", 6)]
    assert anywhere["outcome"] == "component"
    assert any(f["severity"] == "warning" and "read from the Directord server at run time" in f["message"]
               for f in anywhere["findings"]), anywhere
    finding = tasks[("r/tasks/main.yml", 10)]
    assert finding["outcome"] == "unsupported"
    assert any("'../{{ user_file }}' climbs out of its directory with '..'" in f["message"]
               for f in finding["findings"]), finding
