"""Loading: YAML 1.1 meaning, positions, ModuleArgsParser forms, FQCNs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from migrator import modules, yamlio
from migrator.loader import Project
from migrator.model import Block, Severity


def load_tasks(tmp_path: Path, text: str, role: bool = False):
    if role:
        tasks = tmp_path / "r" / "tasks"
        tasks.mkdir(parents=True)
        path = tasks / "main.yml"
    else:
        tmp_path.mkdir(parents=True, exist_ok=True)
        path = tmp_path / "tasks.yml"
    path.write_text(textwrap.dedent(text))
    project = Project(tmp_path, [], [])
    role_obj = project.role(tmp_path / "r") if role else None
    tf = project.task_file(path, role_obj, "k")
    return tf, project


def test_yaml_11_scalars_mean_what_ansible_reads():
    data = yamlio.loads("mode: 0644\nflag: yes\noff_: off\nstr: '0644'\ndate: 2022-01-01\n")
    assert data == {"mode": 420, "flag": True, "off_": False, "str": "0644", "date": "2022-01-01"}


def test_yaml_11_with_document_start_marker():
    # ruamel ignores version=(1,1) after '---'; our loader must not.
    assert yamlio.loads("---\nmode: 0755\n") == {"mode": 493}


def test_mappings_know_their_line_and_duplicates():
    data = yamlio.loads("- a: 1\n\n- b: 2\n  b: 3\n")
    assert [d.line for d in data] == [1, 3]
    assert data[1]["b"] == 3 and data[1].duplicates == [("b", 4)]


def test_unsafe_and_vault_tags_are_markers():
    data = yamlio.loads("a: !unsafe '{{ x }}'\nb: !vault |\n  $ANSIBLE_VAULT;1.1\n")
    assert isinstance(data["a"], yamlio.UnsafeStr) and data["a"] == "{{ x }}"
    assert isinstance(data["b"], yamlio.VaultStr)


@pytest.mark.parametrize("text, line, fragment", [
    ("a: [1, 2\n", 1, "invalid YAML"),  # where the open sequence starts
    ("a:\n\t- b\n", 2, "invalid YAML"),
    ("a: *nope\n", 1, "invalid YAML"),
])
def test_yaml_errors_carry_a_line(text, line, fragment):
    with pytest.raises(yamlio.YamlError) as err:
        yamlio.loads(text)
    assert err.value.line == line and fragment in str(err.value)


def test_alias_bomb_is_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]"
              for i in range(1, 10)]
    with pytest.raises(yamlio.YamlError, match="alias bomb"):
        yamlio.loads("\n".join(lines) + "\n")


def test_deep_nesting_is_refused():
    with pytest.raises(yamlio.YamlError, match="nesting"):
        yamlio.loads("[" * 5000 + "]" * 5000)


def test_non_utf8_reports_the_line(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_bytes(b"- name: ok\n- name: caf\xe9\n")
    with pytest.raises(yamlio.YamlError) as err:
        yamlio.load_file(path)
    assert err.value.line == 2 and "UTF-8" in str(err.value)


def test_module_argument_forms_normalize_alike(tmp_path):
    tf, project = load_tasks(tmp_path, """\
        - name: free form
          file: path=/tmp/x state=directory mode=0755
        - name: fqcn
          ansible.builtin.file:
            path: /tmp/x
            state: directory
        - name: action form
          action: file path=/tmp/x state=directory
        - name: local action
          local_action: command echo hi
        - shell: echo hi
          args:
            chdir: /tmp
    """)
    assert not project.errors
    free, fqcn, action, local, shell = tf.nodes
    assert free.module == fqcn.module == action.module == "ansible.builtin.file"
    assert free.args == {"path": "/tmp/x", "state": "directory", "mode": "0755"}
    assert fqcn.args == {"path": "/tmp/x", "state": "directory"}
    assert local.module == "ansible.builtin.command" and local.keywords["delegate_to"] == "localhost"
    assert shell.args == {"_raw_params": "echo hi", "chdir": "/tmp"}
    assert [t.source.line for t in tf.nodes] == [1, 3, 7, 9, 11]


def test_blocks_keep_structure_and_lines(tmp_path):
    tf, project = load_tasks(tmp_path, """\
        - block:
            - debug: msg=a
          rescue:
            - debug: msg=b
          always:
            - debug: msg=c
          when: x
    """)
    (block,) = tf.nodes
    assert isinstance(block, Block) and block.keywords == {"when": "x"}
    assert [t.source.line for t in block.block + block.rescue + block.always] == [2, 4, 6]


@pytest.mark.parametrize("text, message", [
    ("- just a string\n", "a task must be a mapping"),
    ("- 42\n", "a task must be a mapping"),
    ("- shell: echo\n  command: echo\n", "conflicting action statements"),
    ("- name: nothing\n", "no module/action"),
    ("a: b\n", "must be a YAML list"),
])
def test_bad_tasks_are_errors_with_file_and_line(tmp_path, text, message):
    tf, project = load_tasks(tmp_path, text)
    assert len(project.errors) == 1
    error = project.errors[0]
    assert message in error.message and error.source.line == 1
    assert "\n" not in error.message


def test_misplaced_keywords_become_findings(tmp_path):
    tf, project = load_tasks(tmp_path, """\
        - file:
            path: /tmp/x
            state: absent
            register: out
    """)
    (task,) = tf.nodes
    assert [(f.what, f.severity) for f in task.findings] == [("register", Severity.WARNING)]


def test_task_ids_survive_line_shifts(tmp_path):
    first, _ = load_tasks(tmp_path / "a", "- name: t\n  debug: msg=a\n- name: u\n  debug: msg=b\n")
    second, _ = load_tasks(tmp_path / "b", "# comment\n\n- name: t\n  debug: msg=a\n- name: u\n  debug: msg=b\n")
    assert [t.id for t in first.nodes] == [t.id for t in second.nodes]
    assert len({t.id for t in first.nodes}) == 2


@pytest.mark.parametrize("written, fqcn, warned", [
    ("file", "ansible.builtin.file", False),
    ("ansible.legacy.shell", "ansible.builtin.shell", False),
    ("ini_file", "community.general.ini_file", False),
    ("seboolean", "ansible.posix.seboolean", False),
    ("ansible.builtin.seboolean", "ansible.posix.seboolean", True),
    ("podman_container", "containers.podman.podman_container", False),
    ("package", "ansible.builtin.package", False),
    ("openstack.cloud.endpoint", "openstack.cloud.endpoint", False),
])
def test_fqcn_resolution_without_collections(written, fqcn, warned):
    resolved, warning = modules.resolve(written)
    assert resolved == fqcn and bool(warning) == warned


def test_custom_modules_keep_their_name_and_shadow_builtins():
    assert modules.resolve("tripleo_container_manage", frozenset({"tripleo_container_manage"})) == \
        ("tripleo_container_manage", None)
    assert modules.resolve("ping", frozenset({"ping"}))[0] == "ping"
