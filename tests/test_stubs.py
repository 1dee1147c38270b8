"""Stub components: DOCUMENTATION read statically, stubs that Directord's own code accepts.

Checked against the real tripleo-ansible 6.0.0 custom modules (tests/support/corpus.py) and
Directord 0.12.0's own submit path (directord.mixin.Mixin.format_action) and client.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from unittest import mock

import directord
import pytest
from ansible.parsing.plugin_docs import read_docstring
from directord.components import ComponentBase
from directord.mixin import Mixin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator import stubs
from migrator.model import Source
from migrator.stubs import ModuleDoc, find_module_doc, read_module_doc, render_stub, stub_job
from support.corpus import tripleo_ansible_tree
from support.job_check import check_orchestrations, load_component

SOURCE = "roles/x/tasks/main.yml:12"
HOSTILE = ["a b", "--timeout", "--run-once", "--skip-cache", "-x", "--", "{{ x }}", "{% if %}", "a\nb", "\t",
           "a\x1fb", "", "100%", "'q w'", "$HOME;rm", "--name=x", "-1", "#c", "a: b"]
# Text values for the tripleo stubs: every other one could go inline.
INLINE_SAFE = ["present", "/etc/x.conf", "k=v,k2=v2", "0644", "client.admin", "True", "x%", "{x}", "a'b", "z-"]
TEXTS = [value for i, hostile in enumerate(HOSTILE) for value in (hostile, INLINE_SAFE[i % len(INLINE_SAFE)])]

# tripleo-ansible 6.0.0 has 52 custom modules. ansible-core's own reader (read_docstring, as
# ansible-doc) fails these three because their RETURN, which a stub does not need, is not YAML;
# their DOCUMENTATION is fine.
BROKEN_RETURN = {"tripleo_baremetal_populate_environment", "tripleo_generate_inventory_network_config",
                 "tripleo_os_net_config"}


@pytest.fixture(scope="module")
def modules_dir() -> Path:
    return tripleo_ansible_tree() / "ansible_plugins" / "modules"


@pytest.fixture(scope="module")
def tripleo_docs(modules_dir) -> dict[str, ModuleDoc]:
    errors = []
    docs = {path.stem: read_module_doc(path, errors) for path in sorted(modules_dir.glob("*.py"))}
    assert errors == []
    return docs


@pytest.fixture(scope="module")
def components(tmp_path_factory, tripleo_docs) -> Path:
    """A components/ directory with the stub of every tripleo-ansible custom module."""
    out = tmp_path_factory.mktemp("components")
    for name, doc in tripleo_docs.items():
        (out / f"{verb_of(name).lower()}.py").write_text(render_stub(verb_of(name), doc, name))
    return out


def verb_of(module: str) -> str:
    return "STUB_" + module.upper()


def submit(verb: str, value: str, job_vars: dict, components_dir: Path) -> dict:
    """The job data `directord orchestrate` would send: Directord's own format_action, with its
    component lookup pointed at our directory instead of the shared system paths."""
    component = load_component(verb, [components_dir])
    with mock.patch.object(directord, "component_import", return_value=(True, None, component)):
        return json.loads(Mixin(args=argparse.Namespace()).format_action(verb=verb, execute=[value],
                                                                         arg_vars=job_vars))


def write_module(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(text)
    return path


def synthetic_doc(tmp_path: Path) -> ModuleDoc:
    """A module whose DOCUMENTATION exercises every rendering rule."""
    documentation = '''
module: edge
short_description: "Edge cases; ''' + "'''" + ''' \\"\\"\\" and a
  newline"
extends_documentation_fragment: [files, some.collection.thing]
options:
  enabled:
    description: A bool that defaults to true.
    type: bool
    default: true
  count:
    type: int
    description: ["100% of the", "count"]
  ratio:
    type: float
  state:
    choices: {present: make it so, absent: remove it}
    default: present
  name:
    required: yes
    aliases: [label, timeout, state]
  other:
    aliases: [label, alt, stdout_arg]
  packages:
    type: list
    elements: str
  settings:
    type: dict
  timeout:
    type: int
    description: "Named like Directord's --timeout. \\nimport os"
  run_once:
    type: bool
  where:
    type: path
'''
    return read_module_doc(write_module(tmp_path, "edge", f"DOCUMENTATION = {documentation!r}\n"))


# --------------------------------------------------------------------------- reading DOCUMENTATION


def test_every_tripleo_module_doc_parses(modules_dir, tripleo_docs):
    assert len(list(modules_dir.glob("*.py"))) == 52
    assert sorted(name for name, doc in tripleo_docs.items() if doc is None) == []
    doc = tripleo_docs["ceph_key"]
    assert doc.short_description == "Manage Cephx key(s)"
    assert doc.source == Source((modules_dir / "ceph_key.py").as_posix(), 39)
    assert doc.options["import_key"] == {"type": "bool", "required": False, "default": True, "choices": None,
                                         "aliases": [], "elements": None,
                                         "description": doc.options["import_key"]["description"]}
    assert doc.options["name"]["required"] is True
    assert doc.options["state"]["choices"][:2] == ["present", "update"]
    # Facts modules without options still parse.
    assert [n for n, d in tripleo_docs.items() if not d.options] == ["lvm2_physical_devices_facts",
                                                                      "tripleo_list_overclouds"]
    # The openstack.cloud fragment is not ansible-core's: named, not guessed.
    assert {n: d.missing_fragments for n, d in tripleo_docs.items() if d.missing_fragments} == {
        name: ("openstack",) for name in ("os_baremetal_clean_node", "os_baremetal_node_info",
                                          "os_baremetal_provide_node", "os_tripleo_baremetal_node_introspection")}


def test_options_agree_with_ansible_cores_reader(modules_dir, tripleo_docs):
    unread = set()
    for path in sorted(modules_dir.glob("*.py")):
        try:
            theirs = read_docstring(str(path.resolve()), verbose=False, ignore_errors=False)["doc"]
        except Exception:
            unread.add(path.stem)
            continue
        ours = tripleo_docs[path.stem].options
        their_options = theirs.get("options") or {}
        assert sorted(ours) == sorted(their_options), path.stem
        for name, spec in their_options.items():
            spec = spec or {}
            assert ours[name]["type"] == spec.get("type", "str"), (path.stem, name)
            assert ours[name]["default"] == spec.get("default"), (path.stem, name)
            assert ours[name]["required"] == bool(spec.get("required", False)), (path.stem, name)
    assert unread == BROKEN_RETURN


def test_find_module_doc(tmp_path, modules_dir):
    assert find_module_doc("ceph_key", [tmp_path, modules_dir]).source.path == (modules_dir / "ceph_key.py").as_posix()
    # ansible-core's own modules, with ansible-core's doc fragments merged in, shown machine-independently.
    copy = find_module_doc("ansible.builtin.copy", [modules_dir])
    assert copy.source == Source("ansible/modules/copy.py", 10)
    assert {"src", "dest", "mode", "owner", "validate", "backup"} <= set(copy.options)
    assert copy.options["mode"]["type"] == "raw" and copy.missing_fragments == ()
    assert find_module_doc("ansible.legacy.copy", []).source == copy.source
    # A custom module shadows a builtin of the same short name, as in Ansible; the FQCN does not.
    write_module(tmp_path, "copy", "DOCUMENTATION = 'module: copy\\noptions: {mine: {}}'\n")
    assert list(find_module_doc("copy", [tmp_path]).options) == ["mine"]
    assert find_module_doc("ansible.builtin.copy", [tmp_path]).source == copy.source
    # Unknown names and other collections' modules: None, and no error (nothing was found).
    errors = []
    assert find_module_doc("community.general.ini_file", [modules_dir], errors) is None
    assert find_module_doc("no_such_module", [modules_dir], errors) is None
    assert find_module_doc("../modules/ceph_key", [modules_dir], errors) is None
    assert errors == []


@pytest.mark.parametrize("text, line, message", [
    ("def f(:\n", 1, "not valid Python: invalid syntax"),
    ("X = 1\n", 1, "no DOCUMENTATION in the module"),
    ("import os\n\nDOCUMENTATION = f'{os.sep}'\n", 3, "DOCUMENTATION is not a literal"),
    ("DOCUMENTATION = '''\nmodule: m\noptions:\n  a: b: c\n'''\n", 4, "DOCUMENTATION is not valid YAML: "
                                                                     "mapping values are not allowed in this context"),
    ("DOCUMENTATION = '- a list'\n", 1, "DOCUMENTATION is not a mapping"),
    ("DOCUMENTATION = 'options: [a]'\n", 1, "DOCUMENTATION options is not a mapping"),
    ("\n\nDOCUMENTATION = 'options: {a: text}'\n", 3, "DOCUMENTATION option 'a' is not a mapping"),
    ("DOCUMENTATION = 'x: 2022-13-45'\n", 1, "DOCUMENTATION is not valid YAML: month must be in 1..12"),
])
def test_unreadable_doc_gives_reason_at_file_line(tmp_path, text, line, message):
    path = write_module(tmp_path, "broken", text)
    errors = []
    assert read_module_doc(path, errors) is None
    assert [(e.source, e.message[:len(message)]) for e in errors] == [(Source(path.as_posix(), line), message)]
    assert read_module_doc(path) is None  # no error list: still no exception


def test_reading_doc_never_runs_the_module(tmp_path):
    marker = tmp_path / "ran"
    path = write_module(tmp_path, "evil_module", f"""
import pathlib
pathlib.Path({str(marker)!r}).write_text("module code ran")
raise SystemExit("module code ran")

DOCUMENTATION = '''
module: evil_module
short_description: Reads fine
options:
  name: {{type: str}}
'''
""")
    doc = read_module_doc(path)
    assert doc.short_description == "Reads fine" and list(doc.options) == ["name"]
    # Computing the text would take running code: refused, not evaluated.
    errors = []
    write_module(tmp_path, "evil_doc", f"DOCUMENTATION = open({str(marker)!r}, 'w').write('x')\n")
    assert read_module_doc(tmp_path / "evil_doc.py", errors) is None
    assert "not a literal" in errors[0].message
    assert not marker.exists()
    assert "evil_module" not in sys.modules and "evil_doc" not in sys.modules


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(), st.sampled_from([
    "options:\n  a:\n    - b\n", "options: {a: {type: [x]}}", "&a [*a]", "options: !!python/object:os.system {}",
    "{" * 300, "options: null", "extends_documentation_fragment: 5", "extends_documentation_fragment: {a: b}",
    "options: {a: {aliases: 5, choices: 3, description: {x: 1}, required: [1]}}", "short_description: [a, b]",
    "options: {~: {}, 1: {elements: [x]}}",
])))
def test_any_documentation_text_reads_or_reports(tmp_path, text):
    path = write_module(tmp_path, "fuzzed", f"DOCUMENTATION = {text!r}\n")
    errors = []
    doc = read_module_doc(path, errors)
    assert (doc is None) == (len(errors) == 1)


# --------------------------------------------------------------------------- rendering


def test_directord_own_flags_are_reserved():
    base = ComponentBase()
    base.args()
    assert {action.dest for action in base.parser._actions} == set(stubs.DIRECTORD_DESTS)


def test_every_tripleo_stub_loads_and_is_deterministic(components, tripleo_docs):
    for name, doc in tripleo_docs.items():
        verb = verb_of(name)
        text = (components / f"{verb.lower()}.py").read_text()
        assert text == render_stub(verb, doc, name)
        assert text.startswith("# Generated by tripleo-migrate: a stub component, not an implementation.\n")
        assert f"# Options from the DOCUMENTATION at {doc.source}." in text.replace("\n#   ", " ")
        component = load_component(verb, [components])
        assert isinstance(component, ComponentBase) and component.cacheable is False
        component.args()
        help_text = component.parser.format_help()  # what --exec-help prints
        for option, spec in doc.options.items():
            if spec["type"] not in ("list", "dict"):
                assert "--" + option.replace("_", "-") in help_text, (name, option)


def representative_args(doc: ModuleDoc, turn: int) -> tuple[dict, dict]:
    """Arguments for every option of `doc` (hostile ones for text options), and what a flag makes
    of each (Ansible's reading of the type); a value that travels in vars arrives as given."""
    args, as_flag = {}, {}
    for index, (name, spec) in enumerate(doc.options.items()):
        kind = spec["type"]
        if kind == "bool":
            args[name], as_flag[name] = [(True, True), ("no", False), ("{{ flag }}", None)][(index + turn) % 3]
        elif kind == "int":
            args[name], as_flag[name] = [(8, 8), ("8.0", 8), (-1, None)][(index + turn) % 3]
        elif kind == "list":
            args[name] = ["a b", "--timeout", {"k": "{{ v }}"}]
        elif kind == "dict":
            args[name] = {"key": "a\nb", "n": [1, 2], "t": "--run-once"}
        else:
            args[name] = TEXTS[(index + turn) % len(TEXTS)]
            as_flag[name] = str(args[name])
    return args, as_flag


@pytest.mark.parametrize("turn", range(3))
def test_every_tripleo_stub_takes_stub_jobs_intact(components, tripleo_docs, turn):
    inline = via_vars = 0
    for name, doc in tripleo_docs.items():
        verb = verb_of(name)
        args, as_flag = representative_args(doc, turn)
        value, job_vars = stub_job(verb, name, args, SOURCE)
        assert check_orchestrations([{"jobs": [{verb: value, "vars": job_vars}]}], [components]) == []
        data = submit(verb, value, job_vars, components)
        tokens = value.split()
        expected = {n: as_flag[n] if f"--{n.replace('_', '-')}" in tokens else v for n, v in args.items()}
        inline += sum(token.startswith("--") for token in tokens)  # values never start with "-"
        via_vars += len(job_vars) - 1
        assert data["module_args"] == expected, name
        assert data["tm_source"] == SOURCE
        assert (data["timeout"], data["run_once"], data["skip_cache"]) == (600, False, False)
        assert "unparsed" not in data
    assert inline > 50 and via_vars > 50, (inline, via_vars)  # both paths are exercised (221 options)


def test_stub_client_fails_with_message_and_never_raises(components, tripleo_docs):
    for name in tripleo_docs:
        verb = verb_of(name)
        value, job_vars = stub_job(verb, name, {}, SOURCE)
        component = load_component(verb, [components])
        job = submit(verb, value, job_vars, components)
        assert component.client(cache=None, job=job) == (None, f"not implemented: {name} (from {SOURCE})",
                                                          False, None)
        assert component.client(cache=None, job=None)[1] == f"not implemented: {name} (from unknown source)"


class Unprintable:
    def __str__(self):
        raise RuntimeError("no text")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.none(), st.integers(), st.text(), st.binary(), st.lists(st.text()),
    st.dictionaries(st.text(), st.one_of(st.none(), st.text(), st.integers(), st.just(Unprintable()))),
    st.builds(lambda v: {"tm_source": v}, st.one_of(st.none(), st.just(Unprintable()), st.lists(st.integers()))),
))
def test_stub_client_never_raises_on_garbage(components, job):
    component = load_component("STUB_CEPH_KEY", [components])
    stdout, stderr, outcome, info = component.client(cache=object(), job=job)
    assert (stdout, outcome, info) == (None, False, None)
    assert stderr.startswith("not implemented: ceph_key (from ")


# --------------------------------------------------------------------------- the job


@pytest.mark.parametrize("value, inline", [
    ("present", True), (8, True), (1.5, True), (True, True), ("a,b", True), ("/etc/x.conf", True),
    ("a b", False), ("a\nb", False), ("a\x1fb", False), ("", False), ("--timeout", False), ("-1", False),
    (-1, False), ("{{ x }}", False), ("a{%b", False), ("{#c", False), (None, False), ([1], False), ({}, False),
])
def test_stub_job_puts_only_safe_scalars_inline(value, inline):
    job, job_vars = stub_job("STUB_X", "x", {"opt": value}, SOURCE)
    if inline:
        assert (job, job_vars) == (f"--opt {value}", {"tm_source": SOURCE})
    else:
        assert (job, job_vars) == ("", {"tm_source": SOURCE, "opt": value})


def test_stub_job_names():
    job, job_vars = stub_job("STUB_X", "x", {"timeout": 5, "run_once": True, "tm_source": "a", "_raw_params": "ls",
                                             "x.y": "z", "b_c": "d"}, SOURCE)
    assert job == "--b-c d"
    assert job_vars == {"tm_source": SOURCE, "timeout_": 5, "run_once_": True, "tm_source_": "a",
                        "_raw_params": "ls", "x.y": "z"}
    with pytest.raises(ValueError):
        stub_job("stub-x", "x", {}, SOURCE)


def test_stub_verbs_are_ascii_and_never_shared():
    from migrator.translate import stub_verb

    assert stub_verb("community.general.ceph_key") == "STUB_CEPH_KEY"
    odd = [stub_verb(name) for name in ("hm_p\u00b2_", "hm_p\u00b3_", "x.caf\u00e9", "\u00e9t\u00e9")]
    for verb in odd:  # what Directord can import and stub_job accepts
        assert verb.isascii() and verb.isidentifier() and verb == verb.upper()
        stub_job(verb, "m", {}, SOURCE)
    assert len(set(odd)) == len(odd)


def test_synthetic_stub_types_aliases_and_reserved_names(tmp_path):
    doc = synthetic_doc(tmp_path)
    assert doc.missing_fragments == ("some.collection.thing",)
    assert "mode" in doc.options  # from ansible-core's `files` fragment
    text = render_stub("STUB_EDGE", doc, "edge'\nimport os")
    (tmp_path / "stub_edge.py").write_text(text)
    compile(text, "stub_edge.py", "exec")
    assert "\nimport os" not in text
    assert text == render_stub("STUB_EDGE", doc, "edge'\nimport os")

    component = load_component("STUB_EDGE", [tmp_path])
    component.args()
    help_text = component.parser.format_help()
    assert "100% of the count" in help_text and "choices: present, absent" in help_text
    # Aliases: `label` belongs to the first option that claims it; an alias that is another
    # option's name (`timeout`, `state`) is dropped rather than clash.
    assert ("'--name',\n            '--label',\n" in text and "'--other',\n            '--alt',\n" in text)
    assert "--packages" not in help_text and "#   packages: [list of str]" in text

    args = {"enabled": "no", "count": "8e0", "ratio": "0.5", "state": "bogus", "label": "n1", "where": "/tmp",
            "timeout": 30, "run_once": True, "packages": ["a"], "settings": {"k": 1}, "undocumented": "u",
            "mode": "0644", "stdout_arg": "s"}
    value, job_vars = stub_job("STUB_EDGE", "edge", args, SOURCE)
    data = submit("STUB_EDGE", value, job_vars, tmp_path)
    assert data["module_args"] == {"enabled": False, "count": 8, "ratio": 0.5, "state": "bogus", "name": "n1",
                                   "where": "/tmp", "timeout": 30, "run_once": True, "packages": ["a"],
                                   "settings": {"k": 1}, "undocumented": "u", "mode": "0644", "other": "s"}
    assert (data["timeout"], data["run_once"], "stdout_arg" in data) == (600, False, False)
    # Values Ansible would reject stay text: the stub fails at run time, not the whole submit.
    value, job_vars = stub_job("STUB_EDGE", "edge", {"enabled": "maybe", "count": "many", "ratio": "x"}, SOURCE)
    assert submit("STUB_EDGE", value, job_vars, tmp_path)["module_args"] == {
        "enabled": "maybe", "count": "many", "ratio": "x"}


def test_stub_without_documentation(tmp_path):
    text = render_stub("STUB_NODOC", None, "mystery")
    assert "# No DOCUMENTATION was found: every argument arrives untyped." in text
    (tmp_path / "stub_nodoc.py").write_text(text)
    args = {"name": "n", "count": 3, "flag": True, "list": [1], "timeout": 9, "text": "a b"}
    value, job_vars = stub_job("STUB_NODOC", "mystery", args, SOURCE)
    data = submit("STUB_NODOC", value, job_vars, tmp_path)
    assert data["module_args"] == {"name": "n", "count": "3", "flag": "True", "list": [1], "timeout": 9,
                                   "text": "a b"}
    assert data["timeout"] == 600


names = st.sampled_from(["state", "enabled", "count", "where", "undocumented", "other", "timeout", "run_once",
                         "skip_cache", "stdout_arg", "exec_help", "tm_source", "_raw_params", "x.y", "with space",
                         "1st"])
scalars = st.one_of(st.sampled_from(HOSTILE), st.text(), st.integers(-10**6, 10**6), st.booleans(), st.none(),
                    st.floats(allow_nan=False))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner,
                                                                                          max_size=3), max_leaves=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(names, values, max_size=6))
def test_hostile_values_arrive_intact(tmp_path, args):
    """Text options, undeclared names and reserved names: whatever the value, the job parses,
    Directord's own flags keep their defaults, and module_args gives the value back (as text when
    it travelled as a flag, where Ansible too would read it as text)."""
    component_file = tmp_path / "stub_fuzz.py"
    if not component_file.exists():
        doc = ModuleDoc("fuzz", "", {n: dict(spec, type="str") for n, spec in synthetic_doc(tmp_path).options.items()
                                     if n in ("state", "where")}, Source("fuzz.py", 1))
        component_file.write_text(render_stub("STUB_FUZZ", doc, "fuzz"))
    typed = {n: v for n, v in args.items() if n not in ("enabled", "count")}
    value, job_vars = stub_job("STUB_FUZZ", "fuzz", typed, SOURCE)
    data = submit("STUB_FUZZ", value, job_vars, tmp_path)
    expected = {n: (str(v) if f"--{n.replace('_', '-')}" in value.split() else v) for n, v in typed.items()}
    assert data["module_args"] == json.loads(json.dumps(expected))
    assert (data["timeout"], data["run_once"], data["skip_cache"]) == (600, False, False)
    assert "stdout_arg" not in data and "unparsed" not in data


# --------------------------------------------------------------------------- a real cluster


@pytest.mark.directord
def test_stub_fails_on_a_real_directord_node(directord_cluster_factory, components, tripleo_docs):
    """On a real server and client: the stub's job fails with the message (it does not hang), and
    the client goes on with the next job."""
    args, _ = representative_args(tripleo_docs["tripleo_container_manage"], 0)
    value, job_vars = stub_job("STUB_TRIPLEO_CONTAINER_MANAGE", "tripleo_container_manage", args, SOURCE)
    cluster = directord_cluster_factory(components_dir=components)
    result = cluster.orchestrate([{"jobs": [{"STUB_TRIPLEO_CONTAINER_MANAGE": value, "vars": job_vars},
                                            {"RUN": "true"}]}], timeout=120)
    assert result.returncode == 1 and not result.timed_out, result.summary()
    stub, after = result.jobs
    assert stub.failed == ["node-0"] and stub.success == [], result.summary()  # its state is "end": done
    assert stub.stderr["node-0"] == f"not implemented: tripleo_container_manage (from {SOURCE})"
    assert after.ok, result.summary()
