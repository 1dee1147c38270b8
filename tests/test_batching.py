"""Runs of TASK jobs become one job (migrator/batching.py), and only those."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from migrator.pipeline import Options, run
from support.job_check import validate_orchestrations

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: one
      debug: msg=one
    - name: two
      set_fact: {x: 1}
    - name: three
      debug: msg=three
      when: x == 1
    - name: native in between
      shell: echo hi
    - name: four
      debug: msg=four
    - name: pinned to a node
      debug: msg=pinned
      delegate_to: node-1
    - name: five
      debug: msg=five
"""


def convert(tmp_path: Path, batch: bool) -> tuple[list[dict], str, Path]:
    playbook = tmp_path / "site.yml"
    playbook.write_text(textwrap.dedent(PLAYBOOK))
    out = tmp_path / ("out" if batch else "out-nobatch")
    run(Options(paths=[playbook], out=out, batch=batch))
    text = (out / "playbooks" / "site.yaml").read_text()
    return yaml.safe_load(text)[0]["jobs"], text, out


def test_consecutive_task_jobs_share_one_job(tmp_path):
    jobs, text, out = convert(tmp_path, batch=True)
    verbs = [next(iter(job)) for job in jobs]
    assert verbs == ["TASK", "RUN", "TASK", "TASK", "TASK"]
    first = jobs[0]
    # the play's own tm.vars job (it clears the last play's scoped variables) leads the batch
    assert first["TASK"] == ("--timeout 2400 tm.vars ansible.builtin.debug ansible.builtin.set_fact "
                             "ansible.builtin.debug")
    assert [t.get("name") for t in first["vars"]["tasks"]] == [None, "one", "two", "three"]
    assert first["vars"]["tasks"][3]["when"] == ["x == 1"]
    # a lone TASK job stays as it was; a job with assign keeps its own job
    assert jobs[2] == {"TASK": "ansible.builtin.debug", "vars": {"task": jobs[2]["vars"]["task"]}}
    assert jobs[3]["assign"] == ["node-1"]
    # every task of the batch is named in the comments before it
    comments = [line for line in text.splitlines() if line.startswith("  # ")]
    assert [c.rsplit("/", 1)[-1] for c in comments[:5]] == [
        "site.yml:1 play vars", "site.yml:4 one", "site.yml:6 two", "site.yml:8 three",
        "site.yml:11 native in between"]
    assert validate_orchestrations([out / "playbooks" / "site.yaml"], component_dirs=[out / "components"],
                                   cwd=out) == []


def test_no_batch_keeps_one_job_per_task(tmp_path):
    jobs, _, out = convert(tmp_path, batch=False)
    # the first TASK is the play's tm.vars job
    assert [next(iter(job)) for job in jobs] == ["TASK", "TASK", "TASK", "TASK", "RUN", "TASK", "TASK", "TASK"]
    assert all("task" in job["vars"] for job in jobs if "TASK" in job)
