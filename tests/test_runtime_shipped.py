"""The runtime's loud failures for names resolved among shipped controller files.

The successes are proven against ansible-playbook by the fixtures include_vars_first_found.yml,
templated_src.yml and include_loops.yml (tests/test_differential.py). What Ansible would look
for on its controller but the converter could not ship must fail on the node, never pass for
"not found" or load a stale file: that is checked here, on the assembled component.
"""

import json

from test_runtime_core import Node, component, probe  # noqa: F401  (component is a fixture)

import pytest


@pytest.fixture
def node(component, tmp_path):  # noqa: F811
    return Node(component, tmp_path / "cache")


def _search(tmp_path, **more):
    return dict({"subdir": "vars", "dirs": [[str(tmp_path / "vars"), True], [str(tmp_path), False]],
                 "files": [str(tmp_path / "vars" / "a.yml"), str(tmp_path / "list.yml")],
                 "patterns": [r"[^/]*\.yml"]}, **more)


def test_first_found_resolves_among_shipped_files_only(node, tmp_path):
    (tmp_path / "vars").mkdir()
    (tmp_path / "vars" / "a.yml").write_text("loaded: a\n")
    (tmp_path / "vars" / "stale.yml").write_text("loaded: stale\n")  # on the node, not shipped
    outcome = node.run("ansible.builtin.include_vars", {"file": "{{ item }}"}, loop_with="first_found",
                       loop=["stale.yml", "a.yml"], search=_search(tmp_path))
    assert outcome.ok and node.args["loaded"] == "a", outcome.raw
    assert outcome.result["results"][0]["item"] == str(tmp_path / "vars" / "a.yml")


def test_first_found_fails_on_a_name_the_converter_could_not_ship(node, component, tmp_path):  # noqa: F811
    outcome = node.run("ansible.builtin.include_vars", {"file": "{{ item }}"}, loop_with="first_found",
                       loop=[{"files": ["/etc/{{ 'os' }}-release.yml"], "skip": True}], search=_search(tmp_path))
    assert not outcome.ok
    assert "not among the names the converter shipped files for" in outcome.result["msg"]
    # a shipped name that is not a variables file fails, as include_vars fails in Ansible
    node = Node(component, tmp_path / "cache-2")  # the failure above ended the host's play
    outcome = node.run("ansible.builtin.include_vars", {"file": "{{ item }}"}, loop_with="first_found",
                       loop=["list.yml"], search=_search(tmp_path, unusable=[str(tmp_path / "list.yml")]))
    assert not outcome.ok and "not a variables file" in outcome.result["msg"]


def test_templated_src_names_a_shipped_file_or_fails(node, component, tmp_path):  # noqa: F811
    name = probe(component)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "b.j2").write_text("b {{ extra }}")
    search = {"subdir": "templates", "dirs": [[str(tmp_path / "templates"), True], [str(tmp_path), False]],
              "files": [str(tmp_path / "templates" / "b.j2")], "patterns": [r"[^/]*\.j2"], "arg": "src"}
    outcome = node.run(name, {"src": "{{ which }}.j2"}, vars={"which": "b"}, search=search)
    assert outcome.ok and outcome.result["params"]["src"] == str(tmp_path / "templates" / "b.j2"), outcome.raw
    outcome = node.run(name, {"src": "{{ which }}.j2"}, vars={"which": "c"}, search=search)
    assert not outcome.ok and "Could not find or access 'c.j2'" in outcome.result["msg"]


def test_dynamic_include_of_a_name_it_does_not_carry_fails(node, component, tmp_path):  # noqa: F811
    inner = {"module": "ansible.builtin.set_fact", "source": "f.yml:1", "args": {"seen": "{{ item }}"}}
    outcome = node.run("ansible.builtin.include_tasks", {"file": "f_{{ kind }}.yml"}, vars={"kind": "b"},
                       include={"f_a.yml": [inner]})
    assert not outcome.ok and "the converter found no such task file" in outcome.result["msg"]
    node = Node(component, tmp_path / "cache-2")  # the failure above ended the host's play
    task = {"module": "ansible.builtin.include_tasks", "source": "play.yml:2", "args": {"file": "f_{{ kind }}.yml"},
            "vars": {"kind": "a"}, "include": {"f_a.yml": [inner]}, "loop": [1, 2]}
    client = component.Component()
    client.driver = None
    stdout, _, ok, _ = client.client(cache=node.cache, job=node.job(task))  # one document per task run
    assert ok and [doc["status"] for doc in json.loads(stdout)] == ["ok", "ok", "ok"]
    assert node.args["seen"] == 2  # the last item, seen by the included task as `item`
