"""Hostile input: arbitrary text reaches the node byte for byte, or not at all.

Values are drawn from text without NUL, rich in what breaks generators: quotes,
backslashes, `$`, backticks, newlines, CR, tabs, runs of spaces, leading and trailing
whitespace, Directord flags (`--retry`, `--stdout-arg`, `--run-once`, ...), Unicode line
breaks (U+0085, U+2028, U+2029) and YAML indicators at the start (`- `, `: `, `&`, `*`,
`!`, `%`, `@`, `#`).

- Offline (Directord's own parsers, many examples): a RUN command or COPY path that the
  converter puts inline comes back from Directord's component parser unchanged; the
  writer's YAML, read with the `yaml.safe_load` Directord uses, gives back every job.
- On a real Directord node (few examples, many values each): values used as shell
  command text, argv items, `copy: content:`, a path segment of `copy dest` and
  `file path`, and play `vars:` used as `{{ v }}` in content and in a command leave
  exactly those bytes in the sandbox. One fixed batch also runs under ansible-playbook,
  proving that the expected bytes are what Ansible itself writes.

Left out of the strategies, because Ansible itself would not carry them as written:
text holding `{{`, `{%` or `{#` (Ansible templates it; test_unsafe_template_text_is_carried_as_ansible_carries_it
carries such text with `!unsafe`), and, in path segments only, `$NAME`/`${` and a leading `~` (copy's `dest` and
file's `path` are `type: path`, which Ansible passes through expandvars/expanduser).
"""

from __future__ import annotations

import os
import re
import shlex
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from migrator import jobs
from migrator.model import Job, JobGroup, Orchestration, Source
from migrator.pipeline import Options, run
from migrator.writer import render_orchestrations
from tests.support.job_check import load_component, validate_orchestrations

# --------------------------------------------------------------------------- strategies

FRAGMENTS = [
    "'", '"', "\\", "\\\\", "$", "$HOME", "${x}", "$(id)", "`id`", "\n", "\r", "\r\n", "\t", "  ", "   ",
    " ", "--retry", "--retry 5", "--stdout-arg", "--stderr-arg", "--run-once", "--skip-cache",
    "--timeout", "--timeout=1", "--no-block", "--chmod", "--", "-", "-x", "\x85", "\u2028", "\u2029",
    "- ", ": ", "? ", "&a", "*a", "!", "!!str", "%", "@", "#", "# c", "|", ">", "{", "}", "[", "]", ",",
    "~", "null", "yes", "no", "0644", "1e3", "é", "Ω", "😀", "\x0b", "\x0c", "\x1b", "\x7f", "\ufeff",
    "\u00a0", "\x1c", "'\"'", "\\n", "%s", ";", "&&", "|", "*", "?", "=",
]


def _no_template(text: str) -> bool:
    # Ansible (and so the runtime) templates text holding these: not carried as written.
    return not any(mark in text for mark in ("{{", "{%", "{#"))


hostile_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS),
              st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6)),
    max_size=8,
).map("".join).filter(_no_template)


def _segment(text: str) -> str | None:
    """A file name made from text, or None when Ansible would not keep it as written."""
    name = text.replace("/", "_")
    if name in ("", ".", ".."):
        return None
    if name.startswith("~") or re.search(r"\$(\w|\{)", name):
        return None  # type: path -> expanduser/expandvars in Ansible
    while len(name.encode()) > 200:
        name = name[:-1]
    return name or None


# --------------------------------------------------------------------------- offline


def _directord_parse(verb: str, value: str, cwd: Path | None = None):
    """What `directord orchestrate` makes of a job (the component's server side)."""
    component = load_component(verb)
    before = os.getcwd()
    os.chdir(cwd or before)
    try:
        data = component.server(exec_array=[value], data={"verb": verb}, arg_vars=None)
    finally:
        os.chdir(before)
    return component, data


@pytest.fixture(scope="module")
def copy_cwd(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("copy-cwd")
    (cwd / "files").mkdir()
    (cwd / "files" / "x").write_text("x")
    return cwd


@settings(max_examples=200, deadline=None)
@given(hostile_text)
@example("curl --retry 5 URL")
@example("printf '%s' 'a  b'")
@example("a\x85b")
@example("x --timeout=5")
def test_inline_commands_come_back_from_directords_parser_unchanged(text):
    value = jobs.inline_command(text)
    if value is None:
        return
    component, data = _directord_parse("RUN", value)
    assert data["command"] == text
    default, _ = _directord_parse("RUN", "true")
    assert vars(component.known_args) == vars(default.known_args)  # no flag was taken from the text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_text)
@example(text="/tmp/a --chmod")
@example(text="/tmp/\u2028x")
@example(text="it's")
def test_copy_paths_come_back_from_directords_parser_unchanged(text, copy_cwd):
    dest = "/tmp/" + text
    token = jobs.path_token(dest)
    if token is not None:
        component, data = _directord_parse("COPY", f"--chmod 0644 files/x {token}", copy_cwd)
        assert data["to"] == token == dest, data
        assert data["from"] == [str(copy_cwd / "files" / "x")]
        assert component.known_args.chmod == "0644"
    name = text.replace("/", "_")
    source = jobs.source_token(f"files/s-{name}")
    if source is not None:
        (copy_cwd / source).write_text("s")
        try:
            _, data = _directord_parse("COPY", f"{source} /tmp/y", copy_cwd)
        finally:
            (copy_cwd / source).unlink()
        assert data["from"] == [str(copy_cwd / source)] and data["to"] == "/tmp/y"


def _written_jobs(job_list: list[Job], name: str):
    orch = Orchestration(name, [JobGroup(Source(f"p{name}.yml", 1), name, job_list)], targets=[name])
    text = render_orchestrations([orch], "header")
    return text, yaml.safe_load(text)  # what `directord orchestrate` reads


@pytest.fixture(scope="module")
def task_component(tmp_path_factory):
    from migrator import runtime

    components = tmp_path_factory.mktemp("components")
    (components / "task.py").write_text(runtime.build_component())
    return components


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(values=st.lists(hostile_text, min_size=1, max_size=4), name=hostile_text)
@example(values=["a\x85b", " lead", "trail ", "x\u2028y\n"], name="- item")
@example(values=["|\n  x", "\n\nend\n\n", "\t\n\t", "# c\n  "], name=": v")
def test_written_yaml_gives_every_job_back(values, name, task_component):
    job_list = [Job("TASK", "ansible.builtin.copy", vars={"task": {
        "module": "ansible.builtin.copy", "source": "p.yml:1", "name": name,
        "args": {"content": v, "dest": f"/tmp/{v}", "list": [v, {v or "k": v}]}}}) for v in values]
    job_list += [Job("RUN", value) for value in map(jobs.inline_command, values) if value is not None]
    text, loaded = _written_jobs(job_list, name)
    assert loaded == [{"name": name, "targets": [name], "jobs": [j.as_dict() for j in job_list]}], text
    assert validate_orchestrations(loaded, [task_component]) == []


# --------------------------------------------------------------------------- on a real node


def _in_template(text: str) -> str:
    """Text written inside a template (beside `{{ sandbox }}`) as Ansible renders it:
    Jinja's lexer turns every CR LF and lone CR of the template source into LF."""
    return re.sub(r"\r\n?", "\n", text)


def _hostile_playbook(values: list[str]) -> tuple[dict, dict[str, bytes], dict[str, set[str]]]:
    """A playbook that writes every value five ways; the files and names it must leave."""
    tasks, files, names = [], {}, {"segs": set(), "dirs": set()}
    play_vars = {f"v{i}": v for i, v in enumerate(values)}
    tasks.append({"file": {"path": "{{ sandbox }}/segs", "state": "directory"}})
    tasks.append({"file": {"path": "{{ sandbox }}/dirs", "state": "directory"}})
    for i, value in enumerate(values):
        # (a) command text: a shell command and an argv
        tasks.append({"shell": {"cmd": f"printf '%s' {shlex.quote(value)} > {{{{ sandbox }}}}/a{i}"}})
        # (expand_argument_vars: Ansible's default expands $NAME and ~ in argv items)
        tasks.append({"command": {"argv": ["sh", "-c", 'printf "%s" "$1" > "$2"', "sh", value,
                                           f"{{{{ sandbox }}}}/b{i}"], "expand_argument_vars": False}})
        # (b) file content
        tasks.append({"copy": {"content": value, "dest": f"{{{{ sandbox }}}}/c{i}"}})
        # (d) a play variable in content and in a command
        tasks.append({"copy": {"content": f"{{{{ v{i} }}}}", "dest": f"{{{{ sandbox }}}}/d{i}"}})
        tasks.append({"shell": f"printf '%s' {{{{ v{i} | quote }}}} > {{{{ sandbox }}}}/e{i}"})
        for stem in "bcde":
            files[f"{stem}{i}"] = value.encode()
        files[f"a{i}"] = _in_template(value).encode()
        # (c) a path segment
        segment = _segment(_in_template(value))
        if segment is not None and segment not in names["segs"]:
            tasks.append({"copy": {"content": str(i), "dest": f"{{{{ sandbox }}}}/segs/{segment}"}})
            tasks.append({"file": {"path": f"{{{{ sandbox }}}}/dirs/{segment}", "state": "directory"}})
            names["segs"].add(segment)
            names["dirs"].add(segment)
            files[f"segs/{segment}"] = str(i).encode()
    play = {"hosts": "all", "gather_facts": False, "vars": play_vars, "tasks": tasks}
    return play, files, names


def _write_playbook(path: Path, play: dict) -> None:
    # Escaped (ASCII) YAML: the input is exact whatever the characters.
    path.write_text(yaml.safe_dump([play], allow_unicode=False, sort_keys=False, width=1 << 20))


def _check_sandbox(box: Path, files: dict[str, bytes], names: dict[str, set[str]]) -> list[str]:
    problems = []
    for rel, want in sorted(files.items()):
        path = box / rel
        if not path.is_file():
            problems.append(f"{rel!r}: missing")
        elif path.read_bytes() != want:
            problems.append(f"{rel!r}: {path.read_bytes()!r} != {want!r}")
    for sub, want in names.items():
        got = set(os.listdir(box / sub)) if (box / sub).is_dir() else set()
        if got != want:
            problems.append(f"{sub}/: extra {sorted(got - want)!r}, missing {sorted(want - got)!r}")
    return problems


def _run_on_node(tmp: Path, cluster, values: list[str]) -> None:
    play, files, names = _hostile_playbook(values)
    tmp.mkdir(parents=True, exist_ok=True)
    playbook, out, box = tmp / "hostile.yml", tmp / "out", tmp / "box"
    box.mkdir()
    _write_playbook(playbook, play)
    result = run(Options(paths=[playbook], out=out, extra_vars={"sandbox": str(box)}))
    assert result.report["errors"] == []
    orchestration = out / "playbooks" / "hostile.yaml"
    assert validate_orchestrations(orchestration, [out / "components"], cwd=out) == []
    outcome = cluster.orchestrate([orchestration], cwd=out, components_dir=out / "components")
    assert outcome.ok, outcome.summary()
    problems = _check_sandbox(box, files, names)
    assert not problems, "\n".join(problems) + "\n" + orchestration.read_text()


# Few values, each holding many hostile pieces: ansible-playbook runs a task in about a second.
FIXED_BATCH = [
    "curl --retry 5 --timeout 7 --stdout-arg x --run-once URL -- - dash: colon & anchor * alias ! tag % @ # c",
    "  lead\nline1\r\nline2\rx\n\n  indented\t quotes ' \" \\ \\\\ `id` $(id) $HOME ${HOME} %s %%  \n",
    "uni\x85code\u2028sep\u2029é😀\x0b\x0c\x1b\x7f",
    "",
]


@pytest.mark.directord
def test_a_fixed_hostile_batch_is_carried_exactly(tmp_path, clean_directord_node):
    _run_on_node(tmp_path / "run", clean_directord_node, FIXED_BATCH)


def test_ansible_writes_the_same_bytes_for_the_fixed_batch(tmp_path):
    """The expectations are Ansible's: ansible-playbook leaves exactly those files."""
    from migrator.verify.ansible_run import run_playbook

    play, files, names = _hostile_playbook(FIXED_BATCH)
    playbook, box = tmp_path / "hostile.yml", tmp_path / "box"
    box.mkdir()
    _write_playbook(playbook, play)
    result = run_playbook(playbook, extra_vars={"sandbox": str(box)}, cwd=tmp_path)
    assert result.ok, result.summary()
    assert _check_sandbox(box, files, names) == []


@pytest.mark.directord
# No shrinking: every example is a Directord run; a failure shows its values as found.
@settings(max_examples=10, deadline=None, database=None, phases=(Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=st.lists(hostile_text, min_size=8, max_size=8))
def test_hostile_values_are_carried_exactly(values, tmp_path_factory, directord_node):
    # no cache eviction between examples: each run sets every variable it reads (v0..v7 as
    # play vars, sandbox as an extra var), and orchestrate ignores cached job results
    _run_on_node(tmp_path_factory.mktemp("hostile"), directord_node, values)


UNSAFE_PLAYBOOK = r"""
- hosts: all
  gather_facts: false
  vars:
    raw: !unsafe "{{ not_a_var }} {% if %} {# c #}\r\n{{"
    shown: "{{ raw }}"
  tasks:
    - copy:
        content: !unsafe "x {{ y }} {%raw%} }} {# #}"
        dest: "{{ sandbox }}/content"
    - copy:
        content: "{{ shown }}"
        dest: "{{ sandbox }}/var"
    - shell: !unsafe "printf '%s' '{{ z }} {% x %}' > \"$SANDBOX/cmd\""
      environment:
        SANDBOX: "{{ sandbox }}"
    - file:
        path: !unsafe "/tmp/{{ never }}"
        state: absent
"""


@pytest.mark.directord
def test_unsafe_template_text_is_carried_as_ansible_carries_it(tmp_path, clean_directord_node):
    """`!unsafe` text that looks like Jinja is never templated by Ansible: ansible-playbook
    and the converted run leave the same files (tripleo-migrate verify's comparison)."""
    from migrator.verify import verify_playbook

    playbook = tmp_path / "unsafe.yml"
    playbook.write_text(UNSAFE_PLAYBOOK)
    outcome = verify_playbook(playbook, tmp_path / "run", clean_directord_node)
    assert outcome.ok, outcome.summary()
    box = tmp_path / "run" / "directord"
    assert (box / "content").read_text() == "x {{ y }} {%raw%} }} {# #}"
    assert (box / "var").read_bytes() == b"{{ not_a_var }} {% if %} {# c #}\r\n{{"
    assert (box / "cmd").read_text() == "{{ z }} {% x %}"


# --------------------------------------------------------------------------- no_log

SECRET = "Zq8-n0-log-S3CRET-4tT"

NO_LOG_PLAYBOOK = f"""\
- hosts: all
  gather_facts: false
  vars:
    shown_value: visible
  tasks:
    - name: a secret fact
      set_fact:
        token: {SECRET}
      no_log: true
    - name: secret in args, printed and registered
      shell: "printf '%s' {SECRET} > {{{{ sandbox }}}}/a; echo {SECRET}; echo {SECRET} >&2"
      no_log: true
      register: printed
    - name: secret in task vars
      copy:
        content: "{{{{ pw }}}}"
        dest: "{{{{ sandbox }}}}/b"
      vars:
        pw: {SECRET}
      no_log: true
    - name: a registered secret used again
      shell: "echo {{{{ printed.stdout }}}} {{{{ token }}}} > {{{{ sandbox }}}}/c"
      no_log: true
    - name: a failing secret command
      command: "false {SECRET}"
      no_log: true
      ignore_errors: true
    - name: a secret loop
      shell: "echo {{{{ item }}}}"
      loop: ["{SECRET}", other]
      no_log: true
      register: looped
    - name: a secret assertion
      assert:
        that: ["printed.stdout == 'wrong {SECRET}'"]
      no_log: true
      ignore_errors: true
    - name: a no_log block
      no_log: true
      block:
        - name: in the block
          shell: "echo {SECRET} > {{{{ sandbox }}}}/d; cat {{{{ sandbox }}}}/d"
    - name: visible after the secrets
      copy:
        content: "{{{{ shown_value }}}} {{{{ token | length }}}}"
        dest: "{{{{ sandbox }}}}/e"
"""


@pytest.mark.directord
def test_no_log_secrets_never_reach_reports_stderr_or_job_output(tmp_path, clean_directord_node):
    """A secret that no_log tasks carry in their args, their vars and their registered
    results appears in no report view (json, md, sarif, junit, html), not on the
    converter's stderr or stdout, and in none of the Directord job records' STDOUT,
    STDERR and INFO, nor in `orchestrate`'s output.

    It does appear in the orchestration file (the jobs need it to run: the args and
    vars of the TASK specs), and so in the job definitions the server keeps, which
    are that file's content.
    """
    import subprocess
    import sys

    playbook, out, box = tmp_path / "secret.yml", tmp_path / "out", tmp_path / "box"
    box.mkdir()
    playbook.write_text(NO_LOG_PLAYBOOK)
    converted = subprocess.run(
        [sys.executable, "-m", "migrator", "convert", str(playbook), "-o", str(out),
         "--report", "json,md,sarif,junit,html", "-e", f"sandbox={box}"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert converted.returncode == 0, converted.stderr
    assert SECRET not in converted.stdout + converted.stderr
    views = ["report.json", "report.md", "report.sarif", "report.junit.xml", "report.html"]
    for view in views:
        assert SECRET not in (out / view).read_text(), f"{view} shows the secret"
    report = __import__("json").loads((out / "report.json").read_text())
    assert len(report["tasks"]) == 9 and report["summary"]["outcomes"]["component"] == 9

    orchestration = out / "playbooks" / "secret.yaml"
    assert SECRET in orchestration.read_text()  # the jobs need it
    result = clean_directord_node.orchestrate([orchestration], cwd=out, components_dir=out / "components")
    assert result.ok, result.summary()
    # the tasks really ran with the secret
    assert (box / "a").read_text() == SECRET
    assert (box / "b").read_text() == SECRET
    assert (box / "c").read_text() == f"{SECRET} {SECRET}\n"
    assert (box / "d").read_text() == f"{SECRET}\n"
    assert (box / "e").read_text() == f"visible {len(SECRET)}"
    assert SECRET not in result.stdout + result.stderr
    for job in result.jobs + result.hidden_jobs:
        for field, values in (("STDOUT", job.stdout), ("STDERR", job.stderr), ("INFO", job.info)):
            assert SECRET not in repr(values), f"{job.verb} {job.job_id} {field}: {values!r}"
    censored = [job for job in result.jobs if "censored" in repr(job.stdout)]
    assert censored, "no job output says that it was censored"
