"""Custom mappings without forking: --overrides FILE and translator plugins
from the tripleo_migrate.translators entry-point group."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrator.cli import main

REPO = Path(__file__).resolve().parent.parent
WEB = """\
- name: Install httpd
  package: name=httpd state=present
- name: Add a host
  add_host: name=foo
- name: Say hi
  debug: msg=hi
- name: Say bye
  debug: msg=bye
- name: Custom thing
  my_custom_module: a=b
- name: Another custom thing
  my_custom_module: c=d
"""


def cli(cwd: Path, *args: str):
    with contextlib.chdir(cwd):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)


def setup(root: Path, overrides: str | None = None) -> Path:
    path = root / "roles" / "web" / "tasks" / "main.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(WEB)
    if overrides is not None:
        (root / "overrides.yml").write_text(textwrap.dedent(overrides))
    return root


def tasks_of(out: Path) -> dict[str, dict]:
    return {t["name"]: t for t in json.loads((out / "report.json").read_text())["tasks"]}


def jobs_of(out: Path) -> list[dict]:
    return [job for orch in yaml.safe_load((out / "roles/web/orchestration.yaml").read_text()) for job in orch["jobs"]]


def test_overrides_by_module_and_by_task_id(tmp_path):
    setup(tmp_path)
    assert cli(tmp_path, "convert", "roles", "-o", "plain", "--quiet").exit_code == 0
    ids = {name: t["id"] for name, t in tasks_of(tmp_path / "plain").items()}
    (tmp_path / "overrides.yml").write_text(
        "ansible.builtin.add_host:\n  - RUN: echo node-1 >> /etc/tripleo-hosts\n"
        "my_custom_module:\n  - RUN: echo custom by hand\n"
        f"'{ids['Another custom thing']}':\n  - name: the second one\n    RUN: echo just this one\n"
        "    assign: [node-2]\n")
    result = cli(tmp_path, "convert", "roles", "-o", "out", "--quiet", "--overrides", "overrides.yml")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    tasks = tasks_of(tmp_path / "out")
    for name in ("Add a host", "Custom thing", "Another custom thing"):
        assert tasks[name]["outcome"] == "native" and tasks[name]["jobs"] == ["RUN"]
        assert any(f["what"] == "override" and "overridden by overrides.yml" in f["message"]
                   for f in tasks[name]["findings"])
    assert tasks["Say hi"]["outcome"] == "component"  # untouched
    jobs = jobs_of(tmp_path / "out")
    assert {"RUN": "echo node-1 >> /etc/tripleo-hosts"} in jobs
    assert {"RUN": "echo custom by hand"} in jobs
    assert {"RUN": "echo just this one", "name": "the second one", "assign": ["node-2"]} in jobs  # the id won
    text = (tmp_path / "out/roles/web/orchestration.yaml").read_text()
    assert "  # roles/web/tasks/main.yml:3 Add a host\n  - RUN: echo node-1 >> /etc/tripleo-hosts\n" in text
    assert "ansible.builtin.fail" not in text and "STUB_" not in text
    # no stub component is shipped for a module that no job uses any more
    assert not list((tmp_path / "out/components").glob("stub_*"))
    assert list((tmp_path / "plain/components").glob("stub_*"))
    assert json.loads((tmp_path / "out/report.json").read_text())["summary"]["coverage"] == 100.0


def test_an_override_inside_a_batched_task_job_keeps_the_neighbours(tmp_path):
    setup(tmp_path)
    assert cli(tmp_path, "convert", "roles", "-o", "plain", "--quiet").exit_code == 0
    hi = tasks_of(tmp_path / "plain")["Say hi"]["id"]
    # Add a host, Say hi and Say bye share one TASK job; override the middle one.
    (tmp_path / "overrides.yml").write_text(f"'{hi}':\n  - RUN: echo hi by hand\n")
    assert cli(tmp_path, "convert", "roles", "-o", "out", "--quiet", "--overrides", "overrides.yml").exit_code == 0
    jobs = jobs_of(tmp_path / "out")
    verbs = [next(iter(job)) for job in jobs]
    assert verbs == ["DNF", "TASK", "RUN", "TASK", "STUB_MY_CUSTOM_MODULE", "STUB_MY_CUSTOM_MODULE"]
    before, after = jobs[1]["vars"], jobs[3]["vars"]
    assert [t["name"] for t in before.get("tasks", [before.get("task")])] == ["Add a host"]
    assert [t["name"] for t in after.get("tasks", [after.get("task")])] == ["Say bye"]


def test_reruns_respect_the_overrides_file_content(tmp_path):
    setup(tmp_path, "ansible.builtin.add_host:\n  - RUN: echo first\n")
    args = ("convert", "roles", "-o", "out", "--overrides", "overrides.yml")
    first = cli(tmp_path, *args)
    assert first.exit_code == 0 and "inputs unchanged" not in first.stderr
    again = cli(tmp_path, *args)
    assert again.exit_code == 0 and "inputs unchanged: kept the previous output" in again.stderr
    # Same file name, same size, other content: converted again.
    (tmp_path / "overrides.yml").write_text("ansible.builtin.add_host:\n  - RUN: echo other\n")
    changed = cli(tmp_path, *args)
    assert changed.exit_code == 0 and "inputs unchanged" not in changed.stderr
    assert {"RUN": "echo other"} in jobs_of(tmp_path / "out")
    # Without the option, the override is gone.
    assert cli(tmp_path, "convert", "roles", "-o", "out", "--quiet").exit_code == 0
    assert tasks_of(tmp_path / "out")["Add a host"]["outcome"] == "unsupported"


BAD_OVERRIDES = {
    "broken yaml": ("ansible.builtin.add_host:\n  - RUN: [unclosed\n", "overrides.yml:2: invalid YAML"),
    "not a mapping": ("- RUN: echo\n", "overrides.yml:1: overrides must be a mapping"),
    "no verb": ("my_custom_module:\n  - name: x\n", "overrides.yml:2: my_custom_module: a job needs exactly one"),
    "two verbs": ("my_custom_module:\n  - RUN: a\n    DNF: b\n", "overrides.yml:2: my_custom_module: a job needs"),
    "vars not a mapping": ("my_custom_module:\n  - RUN: a\n    vars: [1]\n", "overrides.yml:2: my_custom_module: vars"),
    "no jobs": ("# header\nmy_custom_module: []\n", "overrides.yml:2: my_custom_module: no jobs given"),
    "unquoted number": ("my_custom_module:\n  - RUN: a\n123456789012:\n  - RUN: b\n",
                        "overrides.yml:3: 123456789012: a key must be a task id or a module name"),
    "unknown task id": ("my_custom_module:\n  - RUN: a\n'0123456789ab':\n  - RUN: b\n",
                        "overrides.yml:3: unknown task id '0123456789ab'"),
    "missing file": (None, "overrides.yml: no such file"),
}


@pytest.mark.parametrize("case", sorted(BAD_OVERRIDES))
def test_bad_overrides_are_one_line_and_exit_2_with_nothing_written(tmp_path, case):
    content, message = BAD_OVERRIDES[case]
    setup(tmp_path, content)
    result = cli(tmp_path, "convert", "roles", "-o", "out", "--overrides", "overrides.yml")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {message}"), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_an_unused_module_override_is_a_warning_at_file_line(tmp_path):
    setup(tmp_path, "my_custom_module:\n  - RUN: a\n\nansible.builtin.nothing_uses_this:\n  - RUN: b\n")
    result = cli(tmp_path, "convert", "roles", "-o", "out", "--quiet", "--overrides", "overrides.yml")
    assert result.exit_code == 0
    assert result.stderr == ("overrides.yml:4: warning: override 'ansible.builtin.nothing_uses_this' matches no "
                             "task id or module of this conversion\n")


# -- translator plugins: a real distribution with a real entry point ------------------------

PLUGIN = """\
from migrator.model import Job
from migrator.translators import Native, native


@native("acme.tools.greet")
def greet(task, ctx):
    return Native([Job("RUN", "echo hello " + str(task.args.get("who", "world")))])
"""


def install_plugin(site: Path, module: str, source: str, version: str = "1.0") -> None:
    """A minimal installed distribution: the module and its dist-info with the entry point."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(source)
    info = site / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[tripleo_migrate.translators]\n{module} = {module}\n")


def run_cli(cwd: Path, site: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run([sys.executable, "-m", "migrator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_translator_plugin_from_an_entry_point(tmp_path):
    site = tmp_path / "site"
    install_plugin(site, "acme_translators", PLUGIN)
    play = tmp_path / "play.yml"
    play.write_text("- hosts: all\n  tasks:\n    - name: Greet\n      acme.tools.greet:\n        who: tripleo\n")
    without = run_cli(tmp_path, tmp_path / "nothing", "convert", "play.yml", "-o", "plain", "--quiet")
    assert without.returncode == 0, without.stderr
    assert json.loads((tmp_path / "plain/report.json").read_text())["tasks"][0]["outcome"] == "stub"
    result = run_cli(tmp_path, site, "convert", "play.yml", "-o", "out")
    assert result.returncode == 0, result.stderr
    task = json.loads((tmp_path / "out/report.json").read_text())["tasks"][0]
    assert (task["module"], task["outcome"], task["jobs"]) == ("acme.tools.greet", "native", ["RUN"])
    assert "  # play.yml:3 Greet\n  - RUN: echo hello tripleo\n" in (tmp_path / "out/playbooks/play.yaml").read_text()
    # The plugin's code is part of what a re-run depends on.
    again = run_cli(tmp_path, site, "convert", "play.yml", "-o", "out")
    assert "inputs unchanged" in again.stderr
    (site / "acme_translators.py").write_text(PLUGIN.replace("echo hello", "echo hi"))
    edited = run_cli(tmp_path, site, "convert", "play.yml", "-o", "out")
    assert edited.returncode == 0 and "inputs unchanged" not in edited.stderr
    assert "- RUN: echo hi tripleo" in (tmp_path / "out/playbooks/play.yaml").read_text()


def test_a_plugin_that_raises_on_import_is_one_line_and_exit_2(tmp_path):
    site = tmp_path / "site"
    install_plugin(site, "broken_translators", "import os\n\nraise RuntimeError('no\\nway')\n")
    (tmp_path / "play.yml").write_text("- hosts: all\n  tasks:\n    - debug: msg=hi\n")
    result = run_cli(tmp_path, site, "convert", "play.yml", "-o", "out")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr == (f"error: {site / 'broken_translators.py'}:3: translator plugin broken_translators = "
                             "broken_translators (entry point group tripleo_migrate.translators) failed to load: "
                             "RuntimeError: no way\n")
    assert not (tmp_path / "out").exists()
    (site / "broken_translators.py").write_text("def oops(:\n")
    syntax = run_cli(tmp_path, site, "convert", "play.yml", "-o", "out")
    assert syntax.returncode == 2 and len(syntax.stderr.splitlines()) == 1
    assert syntax.stderr.startswith(f"error: {site / 'broken_translators.py'}:1: translator plugin")
    assert "SyntaxError" in syntax.stderr


def test_plugin_entry_points_are_importlib_metadatas_and_cost_nothing_without_plugins(tmp_path, monkeypatch):
    from importlib.metadata import entry_points

    from migrator.translators import ENTRY_POINT_GROUP, plugin_entry_points

    site = tmp_path / "site"
    install_plugin(site, "acme_translators", PLUGIN)
    (site / "other-1.0.dist-info").mkdir()
    (site / "other-1.0.dist-info" / "entry_points.txt").write_text("[console_scripts]\nx = y\n")
    (site / "egg_file.egg-info").write_text("Name: egg_file\n")  # an egg-info file, not a directory
    monkeypatch.syspath_prepend(str(site))
    assert [(e.name, e.value) for e in plugin_entry_points()] == \
        [(e.name, e.value) for e in entry_points(group=ENTRY_POINT_GROUP)] == [("acme_translators", "acme_translators")]
    # without a plugin on the path, importlib.metadata (~25 ms to import) is not even imported
    probe = "import sys, migrator.translators as t; assert t.plugin_entry_points() == []; " \
            "print('importlib.metadata' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert result.stdout.strip() == "False", result.stderr
