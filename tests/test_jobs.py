"""Job strings: what we put inline must come back from Directord's own parser unchanged."""

from __future__ import annotations

import directord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import jobs


def directord_parse(verb: str, value: str) -> dict:
    ok, _, component = directord.component_import(verb.lower())
    assert ok, component
    component.verb = verb
    return component.server(exec_array=[value], data={"verb": verb}, arg_vars=None)


tokens = st.sampled_from(["--retry", "--timeout", "--", "-x", "--timeout=5", "--skip-cache", "a", "b  c",
                          "\t", "\n", "'q w'", '"x"', "{{ v }}", "--no-block", "$HOME", ";", "|", "--run-once"])
texts = st.one_of(st.text(min_size=1, max_size=40), st.lists(tokens, min_size=1, max_size=6).map(" ".join))


@settings(max_examples=400, deadline=None)
@given(texts)
def test_inline_run_commands_survive_directord(text):
    value = jobs.inline_command(text)
    if value is not None:
        assert directord_parse("RUN", value)["command"] == text


@pytest.mark.parametrize("text", [
    "curl --retry 5 http://x", "sleep 1 --timeout 7", "printf 'a  b'", "echo a\tb", "line1\nline2",
    "podman exec x -- ls", " leading", "trailing ", "--timeout=3 x",
])
def test_commands_directord_would_mangle_are_refused(text):
    assert jobs.inline_command(text) is None


def test_plain_commands_go_inline():
    for text in ("echo hello > /tmp/x", "test -f /etc/hosts && cat /etc/hosts | wc -l", "echo {{ a }}"):
        assert jobs.inline_command(text) == text
        assert directord_parse("RUN", text)["command"] == text


@pytest.mark.parametrize("mode, expected", [
    (420, "0644"), (0o755, "0755"), ("0644", "0644"), ("644", "0644"), (644, "01204"),
    ("u=rw,g=r", None), ("{{ m }}", None), (True, None), (0o17777, None),
])
def test_octal_modes_follow_ansible(mode, expected):
    assert jobs.octal_mode(mode) == expected


def test_chmod_value_is_what_directord_applies(tmp_path):
    src = tmp_path / "f"
    src.write_text("x")
    data = directord_parse("COPY", f"--chmod {jobs.octal_mode(420)} {src} /tmp/dest")
    assert data["mode"] == 0o644 and data["to"] == "/tmp/dest"


# -- conversions the differential fixtures caught ---------------------------------------------

def _convert(tmp_path, playbook: str, files: dict | None = None):
    import textwrap

    import yaml

    from migrator.pipeline import Options, run

    for rel, text in (files or {}).items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "site.yml").write_text(textwrap.dedent(playbook))
    out = tmp_path / "out"
    result = run(Options(paths=[tmp_path / "site.yml"], out=out, batch=False))
    return yaml.safe_load((out / "playbooks" / "site.yaml").read_text()), result.report, out


def _tasks(orchestrations):
    return [job["vars"]["task"] for orch in orchestrations for job in orch["jobs"]
            if "TASK" in job and "task" in (job.get("vars") or {})]


def test_copy_with_a_mode_also_sets_it_on_an_unchanged_file(tmp_path):
    orchs, _, _ = _convert(tmp_path, """\
        - hosts: all
          gather_facts: false
          tasks:
            - copy: {src: motd.txt, dest: /tmp/x/motd, mode: "0600"}
        """, {"files/motd.txt": "hi\n"})
    jobs = [j for j in orchs[0]["jobs"] if "COPY" in j or "RUN" in j]
    assert jobs == [{"COPY": "--chmod 0600 playbooks/files/motd.txt /tmp/x/motd"}, {"RUN": "chmod 0600 /tmp/x/motd"}]


def test_copy_of_a_directory_stages_every_file(tmp_path):
    (tmp_path / "files" / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "files" / "tree" / "sub" / "run.sh").write_text("echo\n")
    (tmp_path / "files" / "tree" / "sub" / "run.sh").chmod(0o755)
    orchs, report, out = _convert(tmp_path, """\
        - hosts: all
          gather_facts: false
          tasks:
            - copy: {src: tree/, dest: /tmp/x}
            - copy: {src: tree/sub/run.sh, dest: /tmp/y, mode: preserve}
        """)
    copies = [j["COPY"] for j in orchs[0]["jobs"] if "COPY" in j]
    assert copies == ["--skip-cache --chmod 0755 playbooks/files/tree/sub/run.sh "
                      "/var/lib/tripleo-migrate/stage/playbooks/files/tree/sub/run.sh"] * 2
    first, second = _tasks(orchs)[-2:]
    assert first["args"]["src"] == "/var/lib/tripleo-migrate/stage/playbooks/files/tree/"
    assert second["args"]["mode"] == "0755"  # preserve: the controller file's mode
    assert (out / "playbooks" / "files" / "tree" / "sub" / "run.sh").is_file()
    assert not report["errors"]


def test_keywords_the_fixtures_exercise(tmp_path):
    orchs, report, _ = _convert(tmp_path, """\
        - hosts: all
          gather_facts: false
          vars: {flavour: b}
          environment: {A: play}
          handlers:
            - name: h
              debug: msg=h
              listen: topic
          tasks:
            - include_vars: "flavour-{{ flavour }}.yml"
            - command: echo
              environment: {B: task}
              delegate_to: localhost
            - debug: msg="{{ lookup('env', 'HOME') }}"
        - hosts: all
          gather_facts: false
          tasks:
            - debug: msg=x
        """, {"vars/flavour-a.yml": "x: 1\n", "vars/flavour-b.yml": "x: 2\n"})
    tasks = _tasks(orchs)
    by_module = {t["module"]: t for t in tasks}
    assert by_module["ansible.builtin.include_vars"]["args"]["_candidates"] == {
        "flavour-a.yml": [str(tmp_path / "vars/flavour-a.yml"), {"x": 1}],
        "flavour-b.yml": [str(tmp_path / "vars/flavour-b.yml"), {"x": 2}]}
    command = by_module["ansible.builtin.command"]
    assert command["environment"] == [{"A": "play"}, {"B": "task"}]
    assert not any("assign" in j for o in orchs for j in o["jobs"])  # localhost is no node
    handler = next(t for t in tasks if t.get("handler"))
    assert handler["handler"] == {"names": ["h", "topic"]}
    clears = [t["args"].get("clear") for t in tasks if t["module"] == "tm.vars" and t["args"]["layer"] == "play_vars"]
    assert clears == [["role_defaults", "play_vars", "play_vars_files", "role_vars"]] * 2
    findings = [f for t in report["tasks"] for f in t.get("findings", [])]
    assert any(f["what"] == "lookup" and "'env'" in f["message"] for f in findings)
    assert any(f["what"] == "delegate_to" for f in findings)
