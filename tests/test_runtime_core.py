"""The TASK component (migrator/runtime) run for real.

The component file is assembled with build_component(), imported by path,
and fed jobs built exactly as Directord's format_action builds them, against
a real iodict cache. Ansible semantics are held to ansible-core itself: its
filters and tests are called side by side with the runtime's, and one
ansible-playbook run of the same tasks gives the registered values, task
statuses, block/handler flow and facts the runtime must reproduce.
"""

import ast
import importlib.util
import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule as AnsibleCoreFilters
from ansible.plugins.filter.mathstuff import FilterModule as AnsibleMathFilters
from ansible.plugins.test.core import TestModule as AnsibleCoreTests
from ansible.plugins.test.files import TestModule as AnsibleFileTests
from ansible.plugins.test.mathstuff import TestModule as AnsibleMathTests
from directord import iodict
from directord.components import ComponentBase

import migrator.runtime as runtime
from migrator.verify.ansible_run import run_playbook

ANSIBLE_FILTERS = {**AnsibleCoreFilters().filters(), **AnsibleMathFilters().filters()}
ANSIBLE_TESTS = {**AnsibleCoreTests().tests(), **AnsibleFileTests().tests(), **AnsibleMathTests().tests()}
NODE_PACKAGES = {"jinja2", "yaml", "directord"}


# -- harness ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def component(tmp_path_factory):
    """The assembled OUT/components/task.py, imported by path as Directord does."""
    path = tmp_path_factory.mktemp("components") / "task.py"
    path.write_text(runtime.build_component())
    spec = importlib.util.spec_from_file_location("tm_test_task_component", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.PATH = path
    return module


class Outcome:
    """A client() return: (stdout, stderr, outcome, info), stdout parsed."""

    def __init__(self, returned):
        self.raw = returned
        stdout, self.stderr, self.ok, self.info = returned
        self.doc = json.loads(stdout) if stdout else {}
        self.status = self.doc.get("status")
        self.result = self.doc.get("result")
        self.msg = self.doc.get("msg")


class Node:
    """One node's cache, and jobs submitted to it as Directord would."""

    def __init__(self, component, path, identity="node-0"):
        self.component = component
        self.cache = iodict.IODict(path=str(path))
        self.identity = identity
        self.count = 0

    def job(self, task, parent_id="play-1"):
        """mixin.format_action: server() fills the job data, which travels as JSON."""
        comp = self.component.Component()
        comp.verb = "TASK"
        data = {"verb": "TASK"}
        data.update(comp.server(exec_array=[task["module"]], data=data, arg_vars={"task": task}))
        data = json.loads(json.dumps(data))
        data.update(job_id="job-%d" % self.count, parent_id=parent_id)
        return data

    def run(self, module, args=None, parent_id="play-1", **keys):
        self.count += 1
        task = dict(keys, module=module, source=keys.get("source", "play.yml:%d" % self.count))
        if args is not None:
            task["args"] = args
        comp = self.component.Component()
        comp.driver = types.SimpleNamespace(identity=self.identity)  # as Directord's client sets it
        return Outcome(comp.client(cache=self.cache, job=self.job(task, parent_id)))

    def vars(self, layer="play_vars", **values):
        outcome = self.run("tm.vars", {"layer": layer, "vars": values})
        assert outcome.ok, outcome.raw
        return outcome

    def debug(self, msg, **keys):
        return self.run("ansible.builtin.debug", {"msg": msg}, **keys)

    @property
    def args(self):
        return self.cache.get("args") or {}

    @property
    def tm(self):
        return self.cache.get("tm") or {}


@pytest.fixture
def node(component, tmp_path):
    return Node(component, tmp_path / "cache")


def probe(component, name="test.probe"):
    """A port that reports what the runtime handed it."""
    def port(params, ctx):
        return {"changed": bool(params.get("change")), "params": params, "check_mode": ctx.check_mode,
                "become_user": ctx.become_user, "environment": ctx.environment,
                "rendered": ctx.render(Path(params["src"]).read_text(), {"extra": "E"}) if "src" in params else None}
    component.MODULES[name] = port
    return name


# -- assembly ---------------------------------------------------------------------------

def test_assembled_component_imports_only_what_a_node_has():
    source = runtime.build_component()
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import in the component"
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) - NODE_PACKAGES == set()
    assert {"jinja2", "yaml", "directord"} <= imported
    assert not [line for line in source.splitlines() if line.rstrip().endswith(runtime.STRIP_MARK)]
    assert "migrator" not in imported


def test_assembly_is_deterministic_and_holds_every_port():
    source = runtime.build_component()
    assert source == runtime.build_component()
    order = [line[len(runtime.SOURCE_MARK):] for line in source.splitlines() if line.startswith(runtime.SOURCE_MARK)]
    ports = sorted(p.name for p in (Path(runtime.__file__).parent / "modules").glob("*.py")
                   if p.name != "__init__.py")
    assert order == (["migrator/runtime/" + f for f in ("filters.py", "templating.py", "facts.py", "api.py")]
                     + ["migrator/runtime/modules/" + p for p in ports]
                     + ["migrator/runtime/core.py", "migrator/runtime/component.py"])
    assert "class Component(components.ComponentBase)" in source


def test_assembly_rejects_a_port_that_would_replace_a_core_name(monkeypatch, tmp_path):
    clash = tmp_path / "clash.py"
    clash.write_text("def finalize(value):\n    return value\n")
    monkeypatch.setattr(runtime, "_ports", lambda: [clash])
    with pytest.raises(ValueError, match="'finalize'"):
        runtime.build_component()
    clash.write_text("def deepcopy(value):\n    return value\n")  # templating imports deepcopy
    with pytest.raises(ValueError, match="'deepcopy'"):
        runtime.build_component()


def test_assembly_rejects_imports_a_node_lacks(monkeypatch, tmp_path):
    port = tmp_path / "needs_requests.py"
    port.write_text("import requests\n")
    monkeypatch.setattr(runtime, "_ports", lambda: [port])
    with pytest.raises(ValueError, match="requests"):
        runtime.build_component()


def test_converter_reads_what_the_runtime_registers():
    """runtime_support reads the names from the source text; importing must agree."""
    from migrator import runtime_support
    from migrator.runtime.filters import LOOKUPS

    assert runtime_support.supported_modules() == frozenset(runtime.SUPPORTED_MODULES())
    assert runtime_support.node_lookups() == frozenset(LOOKUPS) | {"vars"}


def test_supported_modules_are_core_and_ports():
    from migrator.runtime.api import MODULES

    supported = runtime.SUPPORTED_MODULES()
    assert supported == sorted(supported)
    assert set(MODULES) <= set(supported)
    assert {"ansible.builtin.set_fact", "ansible.builtin.debug", "ansible.builtin.assert",
            "ansible.builtin.fail", "ansible.builtin.include_vars", "ansible.builtin.meta",
            "ansible.builtin.setup", "ansible.builtin.gather_facts", "tm.vars",
            "tm.flush_handlers", "tm.end_play"} <= set(supported)


def test_component_runs_where_migrator_cannot_be_imported(component, tmp_path):
    script = textwrap.dedent("""
        import importlib.util, json, sys
        sys.modules["migrator"] = None  # a node has no tripleo-migrate
        spec = importlib.util.spec_from_file_location("task", sys.argv[1])
        mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
        from directord import iodict
        comp = mod.Component(); data = {"verb": "TASK"}
        task = {"module": "ansible.builtin.debug", "source": "x.yml:1", "args": {"msg": "{{ [1, 2] | sum }}"}}
        data.update(comp.server(exec_array=["ansible.builtin.debug"], data=data, arg_vars={"task": task}))
        out = mod.Component().client(cache=iodict.IODict(path=sys.argv[2]), job=json.loads(json.dumps(data)))
        print(json.dumps(json.loads(out[0])["result"]["msg"]))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(component.PATH), str(tmp_path / "c")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "3"


# -- the Directord component contract ----------------------------------------------------

def test_component_flags(component):
    comp = component.Component()
    assert comp.cacheable is False and comp.requires_lock is True


@pytest.mark.parametrize("vars_, value, message", [
    (None, "ansible.builtin.debug", "vars: {task"),
    ({"task": {"source": "a.yml:1"}}, "x", "module"),
    ({"task": {"module": "ansible.builtin.debug"}}, "ansible.builtin.debug", "source"),
    ({"task": {"module": "ansible.builtin.debug", "source": "a:1", "tags": ["x"]}}, "ansible.builtin.debug",
     "unknown task keys"),
    ({"task": {"module": "community.general.nope", "source": "a:1"}}, "community.general.nope", "not available"),
    ({"task": {"module": "ansible.builtin.debug", "source": "a:1"}}, "ansible.builtin.fail", "does not name"),
    ({"task": {"module": "ansible.builtin.debug", "source": "a:1", "loop_with": "url", "loop": []}},
     "ansible.builtin.debug", "with_url"),
    ({"task": {"module": "ansible.builtin.debug", "source": "a:1", "blocks": [{"id": "b", "section": "x"}]}},
     "ansible.builtin.debug", "section"),
])
def test_server_refuses_jobs_that_cannot_run(component, vars_, value, message):
    comp = component.Component()
    comp.verb = "TASK"
    with pytest.raises(SystemExit, match=message):
        comp.server(exec_array=[value], data={"verb": "TASK"}, arg_vars=vars_)


def test_server_packs_the_task(component):
    comp = component.Component()
    comp.verb = "TASK"
    task = {"module": "ansible.builtin.debug", "source": "a.yml:3", "args": {"msg": "a  b"}, "when": ["x"]}
    data = comp.server(exec_array=["ansible.builtin.debug --skip-cache"], data={"verb": "TASK"},
                       arg_vars={"task": task})
    assert data["task"] == task
    assert json.loads(json.dumps(data))["task"]["args"]["msg"] == "a  b"


def test_client_never_raises(component, tmp_path):
    class BrokenCache:
        def get(self, *a, **k):
            raise OSError("disk gone")

    comp = component.Component()
    stdout, stderr, outcome, info = comp.client(
        cache=BrokenCache(), job={"task": {"module": "ansible.builtin.debug", "source": "a:1"}})
    assert outcome is False and "disk gone" in stderr
    stdout, stderr, outcome, info = comp.client(cache=iodict.IODict(path=str(tmp_path / "c")), job={})
    assert outcome is False and "KeyError" in stderr


# -- templating ----------------------------------------------------------------------------

def test_native_values_and_text(node):
    node.vars(a="{{ b }}", b=2, l=[1, 2])
    assert node.debug("{{ a }}").result["msg"] == 2
    assert node.debug("{{ l }}").result["msg"] == [1, 2]
    assert node.debug("x{{ a }}").result["msg"] == "x2"
    assert node.debug("{{ 1 }}{{ 2 }}").result["msg"] == "12"
    assert node.debug("x{{ none }}y").result["msg"] == "xy"
    assert node.debug("{{ none }}").result["msg"] is None
    assert node.debug("{{ l | map('string') }}").result["msg"] == ["1", "2"]


def test_nested_values_are_templated_on_use(node):
    node.vars(d={"ok": "{{ b * 10 }}", "broken": "{{ nope }}"}, b=2)
    assert node.debug("{{ d.ok }} {{ d.broken | default('dflt') }} {{ d.broken is defined }}").result["msg"] \
        == "20 dflt False"
    failed = node.debug("{{ d.broken }}", ignore_errors=True)
    assert failed.status == "ignored" and "'nope' is undefined" in failed.result["msg"]


def test_undefined_chains_and_omit(node):
    assert node.debug("{{ nope.a.b is defined }}").result["msg"] is False
    assert node.debug("{{ nope | default(omit) }}").result["msg"] == "Hello world!"
    shown = node.run("ansible.builtin.debug", {"var": "nope"}).result
    assert shown["nope"] == "<< error 1 - 'nope' is undefined >>"
    assert shown["warnings"] == ["Encountered 1 template error.\nerror 1 - 'nope' is undefined"]


def test_backslashes_in_template_strings_are_literal(node):
    # YAML "\\1" reaches the node as \1, which Ansible keeps as a backreference
    assert node.debug("{{ 'a.b' | regex_replace('(\\w)\\.(\\w)', '\\2.\\1') }}").result["msg"] == "b.a"


def test_recursive_variable_fails_instead_of_hanging(node):
    node.vars(loop_a="{{ loop_b }}", loop_b="{{ loop_a }}")
    outcome = node.debug("{{ loop_a }}", ignore_errors=True)
    assert outcome.status == "ignored" and "recursive loop" in outcome.result["msg"]


def test_lookups_available_on_the_node(node):
    node.vars(b=2, d={"k": 1})
    assert node.debug("{{ lookup('vars', 'b') }} {{ query('dict', d) }} {{ lookup('items', [1, 2]) }}").result[
        "msg"] == "2 [{'key': 'k', 'value': 1}] [1, 2]"
    outcome = node.debug("{{ lookup('file', '/etc/hostname') }}", ignore_errors=True)
    assert "not available on the node" in outcome.result["msg"]


def test_registered_results_are_data_not_templates(node):
    node.vars(b=2)
    node.run("ansible.builtin.set_fact", {"z": "{{ '{{ b }}' }}"})
    assert node.debug("{{ z }}").result["msg"] == "{{ b }}"
    assert node.args["z"] == "{{ b }}"


def test_hostvars_vars_and_inventory_hostname(node):
    node.cache["args"] = {"query": {"node-1": {"role": "compute"}}}  # what Directord QUERY leaves
    node.vars(x=5)
    msg = "{{ inventory_hostname }} {{ hostvars[inventory_hostname].x }} {{ vars['x'] }} {{ hostvars['node-1'].role }}"
    assert node.debug(msg).result["msg"] == "node-0 5 5 compute"
    node.vars("inventory", inventory_hostname="controller-0.example")
    assert node.debug("{{ inventory_hostname_short }}").result["msg"] == "controller-0"


# -- conditionals --------------------------------------------------------------------------

def test_when_forms(node):
    node.vars(b=2, lst=[1, 2, 3], s="yes")
    assert node.debug("hi", when=["b == 2", "lst | length == 3"]).status == "ok"
    assert node.debug("hi", when="{{ b == 2 }}").status == "ok"
    assert node.debug("hi", when="b == '{{ b }}' | int").status == "ok"  # embedded template, still accepted
    assert node.debug("hi", when=True).status == "ok"
    skipped = node.debug("hi", when=["b == 2", "b == 3"], register="sk")
    assert skipped.status == "skipped" and skipped.ok
    assert node.tm["layers"]["set_fact"]["sk"] == {
        "changed": False, "skipped": True, "skip_reason": "Conditional result was False", "false_condition": "b == 3"}


def test_conditionals_must_be_booleans(node):
    node.vars(s="yes")
    outcome = node.debug("hi", when="s", ignore_errors=True)
    assert outcome.status == "ignored"
    assert "Conditionals must have a boolean result" in outcome.result["msg"]
    assert node.debug("hi", when="s | bool").status == "ok"
    outcome = node.debug("hi", when="", ignore_errors=True)
    assert "Empty conditional" in outcome.result["msg"]


# -- variables: layers and args ------------------------------------------------------------

def test_precedence_follows_ansible(node):
    node.vars("role_defaults", x="default", y="default", f="default")
    node.vars("facts", f="fact")
    assert node.debug("{{ x }} {{ f }}").result["msg"] == "default fact"
    node.vars("play_vars", x="play", f="play")
    assert node.debug("{{ x }} {{ f }}").result["msg"] == "play play"  # host facts rank below play vars
    assert node.debug("{{ x }}", vars={"x": "task"}).result["msg"] == "task"
    node.vars("include_vars", x="included")
    assert node.debug("{{ x }}", vars={"x": "task"}).result["msg"] == "included"
    node.run("ansible.builtin.set_fact", {"x": "fact"})
    assert node.debug("{{ x }}").result["msg"] == "fact"
    node.vars("extra_vars", x="extra")
    node.run("ansible.builtin.set_fact", {"x": "fact again"})
    assert node.debug("{{ x }} {{ y }}").result["msg"] == "extra default"


def test_task_vars_stay_with_their_job(node):
    assert node.debug("{{ t }}", vars={"t": "{{ 1 + 1 }}"}).result["msg"] == 2
    assert node.debug("{{ t | default('gone') }}").result["msg"] == "gone"
    assert "t" not in node.args


def test_args_hold_the_effective_templated_values(node, component):
    node.cache["args"] = {"kernel": "6.1"}  # set by RUN --stdout-arg kernel
    node.vars(a="{{ b }}-{{ kernel }}", b=2, later="{{ not_yet }}")
    assert node.args == {"kernel": "6.1", "a": "2-6.1", "b": 2}
    node.run("ansible.builtin.set_fact", {"not_yet": "now"})
    assert node.args["later"] == "now"
    node.vars("extra_vars", b=3)
    assert node.args["a"] == "3-6.1" and node.args["b"] == 3
    # a built-in job renders the same value Ansible would
    assert ComponentBase().blueprinter("{{ a }}", node.args) == (True, "3-6.1")
    # an ARG job may overwrite an arg the runtime wrote; the runtime's own variables still rank above it
    node.cache["args"] = dict(node.args, b=9)
    assert node.debug("{{ a }} {{ b }}").result["msg"] == "3-6.1 3"
    assert node.args["b"] == 9


def test_include_vars_file_data_and_name(node, tmp_path):
    path = tmp_path / "vars.yml"
    path.write_text("iv1: \"{{ b }}-x\"\niv2:\n  k: \"{{ lst | sum }}\"\n")
    node.vars(b=2, lst=[1, 2, 3])
    outcome = node.run("ansible.builtin.include_vars", {"file": str(path)}, register="r")
    assert outcome.result["ansible_included_var_files"] == [str(path)]
    assert node.debug("{{ iv1 }} {{ iv2.k }}").result["msg"] == "2-x 6"
    node.vars(b=5)
    assert node.debug("{{ iv1 }}").result["msg"] == "5-x"  # templated on use, like vars files
    assert node.args["r"]["ansible_facts"] == {"iv1": "5-x", "iv2": {"k": 6}}
    node.run("ansible.builtin.include_vars", {"data": {"inline": "{{ b }}"}, "name": "ns"})
    assert node.debug("{{ ns.inline }}").result["msg"] == 5
    missing = node.run("ansible.builtin.include_vars", {"file": str(tmp_path / "nope.yml")}, ignore_errors=True)
    assert missing.status == "ignored" and "Could not load" in missing.result["msg"]


def test_set_fact_validation(node):
    outcome = node.run("ansible.builtin.set_fact", {"bad name": 1}, ignore_errors=True)
    assert outcome.result["msg"] == "Task failed: Invalid variable name 'bad name'."
    outcome = node.run("ansible.builtin.set_fact", {"cacheable": True}, ignore_errors=True)
    assert "No key/value pairs" in outcome.result["msg"]


# -- results, retries, failure -------------------------------------------------------------

def test_failed_when_changed_when_and_their_errors(node):
    node.run("ansible.builtin.debug", {"msg": "x"}, failed_when=True, changed_when=True, ignore_errors=True,
             register="r")
    assert node.tm["layers"]["set_fact"]["r"] == {
        "msg": "x", "failed": True, "changed": True, "failed_when_result": True}
    node.run("ansible.builtin.debug", {"msg": "x"}, failed_when="nope.x", ignore_errors=True, register="r2")
    registered = node.tm["layers"]["set_fact"]["r2"]
    assert registered["failed"] is True and "'nope' is undefined" in registered["failed_when_result"]


def test_until_retries_and_attempts(node):
    node.debug("x", register="r", until="r.attempts >= 2", retries=3, delay=0)
    assert node.tm["layers"]["set_fact"]["r"]["attempts"] == 2
    outcome = node.debug("x", register="r", until=False, retries=2, delay=0, ignore_errors=True)
    registered = node.tm["layers"]["set_fact"]["r"]
    assert outcome.status == "ignored"
    assert registered["attempts"] == 2 and registered["failed"] is True  # 3 runs, as ansible-core counts


def test_failure_marks_the_host_failed(node):
    node.vars(x=1)
    failed = node.run("ansible.builtin.fail", {"msg": "boom {{ x }}"}, register="r", source="roles/r/tasks/main.yml:7")
    assert (failed.ok, failed.status, failed.stderr) == (False, "failed", "boom 1")
    assert node.tm["failed"]["source"] == "roles/r/tasks/main.yml:7"
    assert node.tm["layers"]["set_fact"]["r"] == {"failed": True, "msg": "boom 1", "changed": False}
    later = node.debug("never", register="never")
    assert later.ok is False and later.stderr == "skipped: host failed at roles/r/tasks/main.yml:7"
    assert "never" not in node.tm["layers"]["set_fact"]


def test_ignored_failure_keeps_the_host(node):
    outcome = node.run("ansible.builtin.fail", {}, ignore_errors="{{ true }}")
    assert (outcome.ok, outcome.status, outcome.stderr) == (True, "ignored", "Failed as requested from task")
    assert node.tm["failed"] is None
    assert node.debug("still here").ok


def test_assert(node):
    node.vars(b=2, conditions=["b == 2", "b > 1"])
    assert node.run("ansible.builtin.assert", {"that": ["b == 2"], "success_msg": "yes {{ b }}"}).result["msg"] \
        == "yes 2"
    assert node.run("ansible.builtin.assert", {"that": "{{ conditions }}"}).status == "ok"
    outcome = node.run("ansible.builtin.assert", {"that": ["b == 2", "b == 3"], "fail_msg": "no {{ b }}"},
                       ignore_errors=True)
    assert outcome.result == {"failed": True, "evaluated_to": False, "assertion": "b == 3", "msg": "no 2",
                              "changed": False}


def test_meta_and_debug_verbosity(node):
    assert node.run("ansible.builtin.debug", {"msg": "x", "verbosity": 1}).status == "skipped"
    assert node.run("ansible.builtin.meta", {"_raw_params": "noop"}).ok
    node.run("ansible.builtin.setup", {"filter": ["ansible_hostname"]})
    assert "ansible_hostname" in node.tm["layers"]["facts"]
    node.run("ansible.builtin.meta", {"_raw_params": "clear_facts"})
    assert node.debug("{{ ansible_hostname | default('none') }}").result["msg"] == "none"
    outcome = node.run("ansible.builtin.meta", {"_raw_params": "refresh_inventory"}, ignore_errors=True)
    assert "not supported on the node" in outcome.result["msg"]


def test_end_play_skips_the_rest_of_that_play_only(node):
    node.run("ansible.builtin.meta", {"_raw_params": "end_host"}, when="true", parent_id="play-1")
    rest = node.debug("x", parent_id="play-1")
    assert (rest.ok, rest.status) == (True, "skipped") and "play ended" in rest.msg
    assert node.debug("x", parent_id="play-2").status == "ok"
    node.run("tm.end_play", {}, parent_id="play-2")
    assert node.debug("x", parent_id="play-2").status == "skipped"


# -- loops ---------------------------------------------------------------------------------

def test_loop_control(node):
    node.vars(lst=["a", "b"])
    node.debug("{{ it }}{{ i }}", loop="{{ lst }}", register="r",
               loop_control={"loop_var": "it", "index_var": "i", "extended": True})
    results = node.tm["layers"]["set_fact"]["r"]["results"]
    assert [r["msg"] for r in results] == ["a0", "b1"]
    assert results[0]["ansible_loop"] == {"index": 1, "index0": 0, "first": True, "last": False, "length": 2,
                                          "revindex": 2, "revindex0": 1, "allitems": ["a", "b"], "nextitem": "b"}
    assert results[1]["ansible_loop"]["previtem"] == "a"
    assert (results[0]["it"], results[0]["i"], results[0]["ansible_index_var"]) == ("a", 0, "i")


def test_loop_item_sees_previous_result_and_failures_aggregate(node):
    outcome = node.debug("{{ item }}", loop=[1, 2, 3], register="r", failed_when="item == 2", ignore_errors=True)
    registered = node.tm["layers"]["set_fact"]["r"]
    assert registered["failed"] is True and registered["msg"] == "One or more items failed"
    assert [r["failed"] for r in registered["results"]] == [False, True, False]
    assert outcome.status == "ignored"
    node.debug("{{ r.item | default('none') }}", loop=[1, 2], register="r")
    assert [x["msg"] for x in node.tm["layers"]["set_fact"]["r"]["results"]] == ["none", 1]


def test_loop_errors(node):
    outcome = node.debug("x", loop="{{ undefined_list }}", when=False, register="r")
    assert outcome.status == "skipped"
    outcome = node.debug("x", loop="{{ undefined_list }}", ignore_errors=True)
    assert "undefined_list" in outcome.result["msg"]
    outcome = node.debug("x", loop="{{ 'text' }}", ignore_errors=True)
    assert "must resolve to a 'list'" in outcome.result["msg"]
    node.debug("x", loop=[], register="r")
    assert node.tm["layers"]["set_fact"]["r"] == {
        "changed": False, "skipped": True, "skipped_reason": "No items in the list", "results": []}


def test_with_first_found_searches_the_node(node, tmp_path):
    (tmp_path / "b.yml").write_text("x: 1\n")
    outcome = node.debug("{{ item }}", loop_with="first_found", register="r",
                         loop=["{{ undefined_name }}.yml", str(tmp_path / "a.yml"), str(tmp_path / "b.yml")])
    assert outcome.result["results"][0]["item"] == str(tmp_path / "b.yml")
    outcome = node.debug("{{ item }}", loop_with="first_found",
                         loop=[{"files": ["a.yml", "c.yml"], "paths": [str(tmp_path)], "skip": True}])
    assert outcome.status == "skipped"


# -- handlers and blocks ---------------------------------------------------------------------

def test_handlers_run_once_when_notified(node):
    node.debug("unchanged", notify=["restart"])
    assert node.tm["notified"] == []
    assert node.debug("h", handler={"names": ["restart", "topic"]}).status == "skipped"
    node.debug("changed", changed_when=True, notify=["topic"])
    node.run("ansible.builtin.debug", {"msg": "failed"}, changed_when=True, failed_when=True, ignore_errors=True,
             notify=["other"])
    assert node.tm["notified"] == ["topic"]  # a failed task notifies nothing
    assert node.run("tm.flush_handlers", {}).result["msg"] == "notified handlers: topic"
    assert node.debug("h", handler={"names": ["restart", "topic"]}).status == "ok"
    assert node.debug("h", handler={"names": ["restart", "topic"]}).status == "skipped"


def test_failure_in_block_without_rescue_lets_always_run(node):
    block = {"id": "b1", "section": "block", "always": True}
    failed = node.run("ansible.builtin.fail", {"msg": "x"}, blocks=[block])
    assert (failed.ok, failed.status) == (True, "failed")  # Directord must reach the always section
    skipped = node.debug("rest of block", blocks=[block])
    assert (skipped.ok, skipped.status) == (True, "skipped")
    assert node.debug("cleanup", blocks=[dict(block, section="always")]).status == "ok"
    after = node.debug("after the block")
    assert after.ok is False and "host failed" in after.stderr


def test_rescue_clears_the_failure(node):
    block = {"id": "b1", "section": "block", "rescue": True}
    assert node.run("ansible.builtin.fail", {"msg": "oops"}, blocks=[block], name="the failing one").status == "rescued"
    rescue = node.debug("{{ ansible_failed_result.msg }} in {{ ansible_failed_task.name }}",
                        blocks=[dict(block, section="rescue")])
    assert rescue.result["msg"] == "oops in the failing one"
    assert node.tm["failed"] is None
    assert node.debug("after").ok


def test_no_log_hides_values_but_registers_them(node):
    node.vars(secret="hunter2")
    outcome = node.debug("{{ secret }}", no_log=True, register="r")
    assert "hunter2" not in json.dumps(outcome.raw)
    assert outcome.result["censored"].startswith("the output has been hidden")
    assert node.tm["layers"]["set_fact"]["r"]["msg"] == "hunter2"
    failed = node.run("ansible.builtin.fail", {"msg": "{{ secret }}"}, no_log="{{ true }}", ignore_errors=True)
    assert "hunter2" not in json.dumps(failed.raw)
    looped = node.debug("{{ item }}", loop=["{{ secret }}"], no_log=True)
    assert "hunter2" not in json.dumps(looped.raw)
    assert looped.result["results"] == [{"changed": False, "censored": looped.result["censored"]}]


# -- what ports receive ----------------------------------------------------------------------

def test_ports_get_templated_params_and_context(node, component, tmp_path):
    name = probe(component)
    template = tmp_path / "t.j2"
    template.write_text("#jinja2: trim_blocks: False\n{% if true %}\n{{ a }}-{{ extra }}\n{% endif %}\n")
    node.vars(user="stack", a="{{ 1 + 1 }}")
    outcome = node.run(name, {"p": "{{ a }}", "gone": "{{ x | default(omit) }}", "change": True, "src": str(template)},
                       become_user="{{ user }}", check_mode="{{ true }}",
                       environment=[{"A": "1"}, {"B": "{{ a }}"}])
    result = outcome.result
    assert result["params"]["p"] == 2 and "gone" not in result["params"]
    assert (result["check_mode"], result["become_user"], result["environment"]) == (True, "stack", {"A": "1", "B": 2})
    assert result["rendered"] == "\n2-E\n"  # what the template module writes
    # as ansible-core: the keyword does not set ansible_check_mode (only --check does)
    assert node.debug("{{ ansible_check_mode }}", check_mode=True).result["msg"] is False
    assert node.debug("{{ ansible_check_mode }}").result["msg"] is False
    assert outcome.status == "changed"


def test_port_failures_become_failed_results(node, component):
    def failing(params, ctx):
        raise component.ModuleFailed("port says no", rc=3)

    def crashing(params, ctx):
        raise RuntimeError("bug")

    component.MODULES["test.failing"] = failing
    component.MODULES["test.crashing"] = crashing
    outcome = node.run("test.failing", {}, ignore_errors=True)
    assert outcome.result == {"rc": 3, "failed": True, "msg": "port says no", "changed": False}
    outcome = node.run("test.crashing", {}, ignore_errors=True)
    assert "RuntimeError: bug" in outcome.result["msg"] and "Traceback" in outcome.result["exception"]


@pytest.mark.skipif("ansible.builtin.command" not in runtime.SUPPORTED_MODULES(), reason="no command port")
def test_command_port_gets_environment(node):
    outcome = node.run("ansible.builtin.command", {"cmd": "printenv TM_TEST"}, environment={"TM_TEST": "{{ 40 + 2 }}"},
                       register="r")
    assert outcome.result["stdout"] == "42"
    assert node.debug("{{ r.stdout_lines }}").result["msg"] == ["42"]


def _batch_job(component, tasks, value=None):
    comp = component.Component()
    comp.verb = "TASK"
    data = {"verb": "TASK"}
    value = value or ["--timeout", str(600 * len(tasks))] + [t["module"] for t in tasks]
    data.update(comp.server(exec_array=value, data=data, arg_vars={"tasks": tasks}))
    return json.loads(json.dumps(data))


def test_a_batch_runs_its_tasks_in_order_as_consecutive_jobs_would(node, component):
    tasks = [
        {"module": "ansible.builtin.set_fact", "source": "b.yml:1", "args": {"x": "{{ 40 + 1 }}"}},
        {"module": "ansible.builtin.fail", "source": "b.yml:2", "args": {"msg": "boom"}},
        {"module": "ansible.builtin.set_fact", "source": "b.yml:3", "args": {"y": 2}},
    ]
    job = dict(_batch_job(component, tasks), job_id="batch-1", parent_id="play-1")
    comp = component.Component()
    comp.driver = types.SimpleNamespace(identity="node-0")
    stdout, stderr, ok, info = comp.client(cache=node.cache, job=job)
    assert not ok and "boom" in stderr
    assert [doc["status"] for doc in json.loads(stdout)] == ["ok", "failed", "skipped"]
    assert node.args["x"] == 41 and "y" not in node.args
    # the next job sees the failed host, exactly as after three separate jobs
    assert node.debug("after").status == "skipped"


def test_a_batch_must_name_its_modules(component):
    tasks = [{"module": "ansible.builtin.debug", "source": "b.yml:1", "args": {"msg": "a"}},
             {"module": "ansible.builtin.debug", "source": "b.yml:2", "args": {"msg": "b"}}]
    with pytest.raises(SystemExit, match="does not name the tasks' modules"):
        _batch_job(component, tasks, value=["ansible.builtin.debug"])
    with pytest.raises(SystemExit, match="tasks"):
        _batch_job(component, [], value=["x"])


def test_async_times_out_and_async_status_returns_the_result(node):
    slow = node.run("ansible.builtin.command", {"cmd": "sleep 5"}, **{"async": 1, "poll": 2},
                    ignore_errors=True)
    assert slow.status == "ignored"
    assert slow.result["msg"] == "async task did not complete within the requested time - 1s"
    started = node.run("ansible.builtin.command", {"cmd": "echo done"}, register="job",
                       **{"async": 30, "poll": 0})
    assert started.ok and started.result["ansible_job_id"]
    # poll: 0 registers the async wrapper's answer, as ansible-core does
    assert (started.result["started"], started.result["finished"], started.result["changed"]) == (True, False, True)
    assert "stdout" not in started.result
    status = node.run("ansible.builtin.async_status", {"jid": "{{ job.ansible_job_id }}"}, register="st",
                      until="st is finished", retries=3, delay=0)
    assert status.result.get("finished") is True and status.result.get("stdout") == "done", status.raw
    node.run("ansible.builtin.async_status", {"jid": "{{ job.ansible_job_id }}", "mode": "cleanup"})
    gone = node.run("ansible.builtin.async_status", {"jid": "{{ job.ansible_job_id }}"}, ignore_errors=True)
    assert gone.result["msg"] == "could not find job"


# -- filters and tests against ansible-core's own ----------------------------------------------

FILTER_CASES = [
    ("bool", "yes", ()), ("bool", "Off", ()), ("bool", 1, ()), ("bool", True, ()), ("bool", "maybe", ()),
    ("ternary", True, ("a", "b")), ("ternary", None, ("a", "b", "n")), ("ternary", 0, ("a", "b")),
    ("to_json", {"b": [1, "x"], "a": None}, ()), ("to_nice_json", {"b": 1, "a": [1, 2]}, ()),
    ("from_json", '{"a": [1, 2.5, null]}', ()),
    ("to_yaml", {"a": [1, "b"], "c": "multi\nline"}, ()), ("to_nice_yaml", {"a": {"b": [1, 2]}}, ()),
    ("from_yaml", "a: [1, yes, '2']\nb: ~", ()),
    ("combine", {"a": {"x": 1}, "l": [1]}, ({"a": {"y": 2}, "l": [2]},)),
    ("dict2items", {"a": 1, "b": 2}, ()), ("items2dict", [{"key": "a", "value": 1}], ()),
    ("regex_replace", "Hello World", ("(?i)world", "There")),
    ("regex_search", "key=value; other=x", (r"(\w+)=(\w+)", "\\2", "\\1")),
    ("regex_search", "nothing", ("x(y)",)),
    ("regex_findall", "a1 b22 c333", (r"\d+",)),
    ("regex_escape", "a.b*c[d]", ()), ("regex_escape", "a.b*c[d]", ("posix_basic",)),
    ("b64encode", "héllo", ()), ("b64decode", "aMOpbGxv", ()),
    ("basename", "/a/b/c.txt", ()), ("dirname", "/a/b/c.txt", ()), ("expanduser", "~/x", ()),
    ("realpath", "/usr/../etc/./hostname", ()), ("quote", "it's $HOME", ()), ("quote", None, ()),
    ("mandatory", "set", ()), ("flatten", [1, [2, [3, None, [4]]], "null"], ()), ("flatten", [1, [2, [3]]], (1,)),
    ("unique", ["a", "A", "b", "a"], ()), ("unique", [{"a": 1}, {"a": 1}], ()),
    ("union", [1, 2], ([2, 3],)), ("intersect", [1, 2, 3], ([2, 3, 4],)),
    ("difference", [1, 2, 3], ([2],)), ("symmetric_difference", [1, 2], ([2, 3],)),
    ("union", [{"a": 1}], ([{"b": 2}],)),
    ("zip", [1, 2], (["a", "b"],)), ("zip_longest", [1, 2], (["a"],)),
    ("subelements", [{"n": 1, "g": ["x", "y"]}], ("g",)),
    ("hash", "abc", ("sha256",)), ("checksum", "abc", ()), ("md5", "abc", ()), ("sha1", "abc", ()),
    ("type_debug", {"a": 1}, ()), ("type_debug", "s", ()), ("type_debug", None, ()),
    ("strftime", "%Y-%m-%d %H:%M", (86400 * 365, True)),
    ("to_uuid", "host-0", ()), ("path_join", ["/etc", "x", "y.conf"], ()), ("splitext", "a/b.tar.gz", ()),
    ("extract", 1, (["a", "b", "c"],)), ("split", "a,b", (",",)), ("product", [1, 2], (["a"],)),
    ("log", 100, (10,)), ("pow", 2, (3,)), ("root", 27, (3,)),
]


@pytest.mark.parametrize("name, value, args", FILTER_CASES, ids=lambda v: repr(v)[:30])
def test_filter_matches_ansible(component, name, value, args):
    ansible_filter = ANSIBLE_FILTERS[name]
    if getattr(ansible_filter, "jinja_pass_arg", None) is not None:
        expected = ansible_filter(jinja2.Environment(), value, *args)
    else:
        expected = ansible_filter(value, *args)
    templar = component.Templar(component.Vars([({"v": value, "args": list(args)}, False)]))
    ours = templar.evaluate("v | %s(*args)" % name)
    normalise = lambda v: json.loads(json.dumps(component.finalize(v) if not isinstance(v, str) else v))
    assert normalise(ours) == normalise(expected)


@pytest.mark.parametrize("expression, expected", [
    ("[3, 1, 2] | min", 1), ("[3, 1, 2] | max", 3), ("[{'a': 2}, {'a': 1}] | min(attribute='a')", {"a": 1}),
    ("{'a': {'x': [1]}} | combine({'a': {'x': [2]}}, recursive=True, list_merge='append')", {"a": {"x": [1, 2]}}),
    ("[{'a': 1}, {'b': 2}] | combine", {"a": 1, "b": 2}),
    ("undefined_thing | default('d')", "d"), ("'' | default('d', true)", "d"), ("'' | d('d')", ""),
    ("'1.10.0' is version('1.9', '>')", True), ("'1.2' is version('1.2.0', 'eq', strict=True)", True),
    ("'2.0.0a1' is version('2.0.0', '<', version_type='strict')", True),
    ("'8.2.1' | version_compare('8.10', 'lt')", True),
])
def test_filter_expressions(component, expression, expected):
    assert component.Templar(component.Vars([])).evaluate(expression) == expected


def test_filter_errors_match_ansible(component):
    templar = component.Templar(component.Vars([]))
    with pytest.raises(component.TemplateError, match="Mandatory variable 'nope' not defined."):
        templar.evaluate("nope | mandatory")
    with pytest.raises(component.TemplateError, match="should match 2 times"):
        templar.evaluate("'aaa' | regex_replace('a', 'b', mandatory_count=2)")
    with pytest.raises(component.TemplateError, match="Version comparison failed"):
        templar.evaluate("'1.x' is version('1.0', '>', strict=True)")


TEST_CASES = [
    ("succeeded", {"failed": False}, ()), ("success", {}, ()), ("failed", {"failed": True}, ()),
    ("failure", {"failed": 0}, ()), ("changed", {"results": [{"changed": False}, {"changed": True}]}, ()),
    ("changed", {"changed": False}, ()), ("skipped", {"skipped": True}, ()),
    ("match", "abc", ("b",)), ("search", "abc", ("b",)), ("regex", "ABC", ("b",)),
    ("regex", "a\nb", ("^b",)), ("file", "/etc/hostname", ()), ("directory", "/etc", ()),
    ("exists", "/nonexistent", ()), ("link", "/proc/self", ()), ("abs", "a/b", ()), ("is_abs", "/a", ()),
    ("subset", [1], ([1, 2],)), ("superset", [1], ([1, 2],)), ("contains", [1, 2], (2,)),
    ("any", [0, 1], ()), ("all", [0, 1], ()), ("truthy", "no", ()), ("falsy", "", ()),
    ("version", "1.0.0", ("1.0", "eq")), ("version", "2.1", ("2.10", "<")), ("version_compare", "1.0", ("1.0", "!=")),
]


@pytest.mark.parametrize("name, value, args", TEST_CASES, ids=lambda v: repr(v)[:30])
def test_test_matches_ansible(component, name, value, args):
    expected = ANSIBLE_TESTS[name](value, *args)
    templar = component.Templar(component.Vars([({"v": value, "args": list(args)}, False)]))
    assert templar.evaluate("v is %s(*args)" % name) is expected


def test_truthy_convert_bool_and_type_tests(component):
    templar = component.Templar(component.Vars([({"v": "no"}, False)]))
    assert templar.evaluate("v is truthy(convert_bool=True)") is ANSIBLE_TESTS["truthy"]("no", convert_bool=True)
    assert templar.evaluate("[v is string, 1 is number, {} is mapping, [1] is sequence, v is sequence]") == \
        [True, True, True, True, True]


# -- ansible-core as the reference -----------------------------------------------------------

PLAY_VARS = {
    "lst": [1, 2, 3], "a": "{{ b }}", "b": 2, "d": {"k1": "v1", "k2": "v2"}, "s": "yes",
    "users": [{"name": "u1", "groups": ["g1", "g2"]}, {"name": "u2", "groups": []}],
    "nested": {"x": "{{ b * 10 }}", "bad": "{{ nope }}"},
}


def _scenario(vars_file):
    def debug(n, msg, **kw):
        return dict(kw, name="t%d" % n, module="ansible.builtin.debug", args={"msg": msg}, register="r%d" % n)

    def task(n, module, args, **kw):
        return dict(kw, name="t%d" % n, module=module, args=args, register="r%d" % n)

    return [
        debug(1, "{{ a }}"),
        debug(2, "x{{ item }}", loop="{{ lst }}", when="item > 1"),
        task(3, "ansible.builtin.fail", {"msg": "boom {{ b }}"}, ignore_errors=True),
        task(4, "ansible.builtin.set_fact", {"f1": "{{ lst | map('string') | list }}", "f2": "{{ '{{ b }}' }}"}),
        task(5, "ansible.builtin.assert", {"that": ["b == 2", "lst | length == 3"]}),
        task(6, "ansible.builtin.assert", {"that": ["b == 3"], "fail_msg": "nope {{ b }}"}, ignore_errors=True),
        debug(7, "x", until="r7.attempts is defined and r7.attempts >= 2", retries=3, delay=0),
        debug(8, "x", until=False, retries=1, delay=0, ignore_errors=True),
        debug(9, "x", failed_when=True, changed_when=True, ignore_errors=True),
        debug(10, "{{ it.0 }}-{{ it.1 }}", loop="{{ lst | zip(['a', 'b', 'c']) | list }}",
              loop_control={"index_var": "i", "extended": True, "loop_var": "it"}),
        debug(11, "{{ item.key }}={{ item.value }}", loop_with="dict", loop="{{ d }}"),
        debug(12, "{{ item }}", loop_with="together", loop=[[1, 2], ["a"]]),
        debug(13, "{{ item }}", loop_with="nested", loop=[[1, 2], ["a", "b"]]),
        debug(14, "{{ item }}", loop_with="indexed_items", loop=["a", "b"]),
        debug(15, "{{ item }}", loop_with="sequence", loop="start=2 end=8 stride=3 format=n%02d"),
        debug(16, "{{ item.0.name }}:{{ item.1 }}", loop_with="subelements", loop=["{{ users }}", "groups"]),
        debug(17, "{{ item }}", loop_with="items", loop=[1, [2, [3]], "{{ lst }}"]),
        debug(18, "{{ item }}", loop=[]),
        debug(19, "{{ item }}", loop="{{ undefined_list }}", when=False),
        task(20, "ansible.builtin.debug", {"var": "nested"}),
        debug(21, "{{ nested.x }} {{ nested.bad | default('dflt') }} {{ nope.x is defined }}"),
        debug(22, "{{ nested.bad }}", ignore_errors=True),
        debug(23, "{{ x | default(omit) }}"),
        debug(24, "{{ 'a.b' | regex_replace('(\\w)\\.(\\w)', '\\2.\\1') }}"),
        task(25, "ansible.builtin.set_fact", {"lf": "{{ item }}"}, loop=[1, 2]),
        debug(26, "{{ lf }} {{ f2 }}"),
        debug(27, "{{ tv }}", vars={"tv": "{{ b + 1 }}"}),
        debug(28, "{{ f1 }}", vars={"f1": "shadowed by set_fact"}),
        debug(29, "hi", when=["b == 2", "b == '{{ b }}' | int", "{{ lst | length == 3 }}"]),
        debug(30, "{{ item }}", loop="{{ lst }}", failed_when="item == 2", ignore_errors=True),
        debug(31, "{{ item }}", loop="{{ lst }}", changed_when="item == 2"),
        debug(32, "x", when="nope_undefined", ignore_errors=True),
        task(33, "ansible.builtin.set_fact", {"bad name": 1}, ignore_errors=True),
        task(34, "ansible.builtin.debug", {"msg": "x", "verbosity": 2}),
        debug(35, "{{ item }}", loop="{{ lst }}", loop_control={"label": "{{ item.nope }}"}, ignore_errors=True),
        debug(36, "{{ lookup('vars', 'b') }} {{ query('dict', d) | length }} {{ lookup('items', [1, 2]) }}"),
        debug(37, "secret {{ b }}", no_log=True),
        debug(38, "{{ item }}", loop="{{ lst }}", when="item > 10"),
        task(39, "ansible.builtin.include_vars", {"file": str(vars_file)}),
        debug(40, "{{ iv1 }} {{ iv2.k }}"),
        task(41, "ansible.builtin.include_vars", {"file": str(vars_file), "name": "ns"}),
        debug(42, "{{ ns.iv2 }}"),
        debug(43, "{{ s }}", when="s", ignore_errors=True),
    ]


def _block_scenario():
    """Ansible's play (block form) and the same tasks as TASK jobs (flattened, as the converter emits)."""
    def dbg(name, msg, **kw):
        return dict(kw, name=name, module="ansible.builtin.debug", args={"msg": msg})

    def fail(name, msg, **kw):
        return dict(kw, name=name, module="ansible.builtin.fail", args={"msg": msg})

    def blk(id_, section, **flags):
        return dict(flags, id=id_, section=section)

    b1, b2, b2i, b3, b4 = (dict(rescue=True, always=True), dict(rescue=True), dict(always=True), dict(always=True),
                           dict(rescue=True, always=True))
    jobs = [
        dbg("b1.t1", "one", blocks=[blk("b1", "block", **b1)]),
        fail("b1.fail", "inner {{ x }}", blocks=[blk("b1", "block", **b1)]),
        dbg("b1.after", "never", blocks=[blk("b1", "block", **b1)]),
        dbg("b1.r1", "{{ ansible_failed_result.msg }} {{ ansible_failed_task.name }}", register="rr",
            blocks=[blk("b1", "rescue", **b1)]),
        dbg("b1.a1", "always", blocks=[blk("b1", "always", **b1)]),
        dbg("after_b1", "notify", changed_when=True, notify=["h1"]),
        dict(name="flush", module="ansible.builtin.meta", args={"_raw_params": "flush_handlers"}),
        dbg("h1", "handler", handler={"names": ["h1"]}),
        dbg("h2", "not notified", handler={"names": ["h2"]}),
        fail("b2.inner.fail", "deep", blocks=[blk("b2", "block", **b2), blk("b2i", "block", **b2i)]),
        dbg("b2.inner.always", "inner-always", blocks=[blk("b2", "block", **b2), blk("b2i", "always", **b2i)]),
        dbg("b2.after_inner", "never", blocks=[blk("b2", "block", **b2)]),
        dbg("b2.rescue", "rescued {{ ansible_failed_result.msg }}", blocks=[blk("b2", "rescue", **b2)]),
        dbg("b4.ok", "fine", blocks=[blk("b4", "block", **b4)]),
        dbg("b4.rescue", "not needed", blocks=[blk("b4", "rescue", **b4)]),
        dbg("b4.always", "a", blocks=[blk("b4", "always", **b4)]),
        fail("b3.fail", "fatal", blocks=[blk("b3", "block", **b3)]),
        dbg("b3.always", "cleanup", blocks=[blk("b3", "always", **b3)]),
        dbg("never", "never"),
        dbg("h1", "handler", handler={"names": ["h1"]}),
        dbg("h2", "not notified", handler={"names": ["h2"]}),
    ]

    def plain(name):
        job = next(j for j in jobs if j["name"] == name)
        keep = {k: v for k, v in job.items() if k not in ("module", "args", "blocks", "handler")}
        return dict(keep, **{job["module"]: job["args"]})

    tasks = [
        {"name": "b1", "block": [plain("b1.t1"), plain("b1.fail"), plain("b1.after")],
         "rescue": [plain("b1.r1")], "always": [plain("b1.a1")]},
        plain("after_b1"),
        {"name": "flush", "meta": "flush_handlers"},
        {"name": "b2", "block": [{"name": "b2.inner", "block": [plain("b2.inner.fail")],
                                  "always": [plain("b2.inner.always")]}, plain("b2.after_inner")],
         "rescue": [plain("b2.rescue")]},
        {"name": "b4", "block": [plain("b4.ok")], "rescue": [plain("b4.rescue")], "always": [plain("b4.always")]},
        {"name": "b3", "block": [plain("b3.fail")], "always": [plain("b3.always")]},
        plain("never"),
    ]
    play = {"name": "blocks", "hosts": "localhost", "gather_facts": False, "vars": {"x": 1}, "tasks": tasks,
            "handlers": [plain("h1"), plain("h2")]}
    return play, jobs


def _as_ansible_task(task):
    out = {k: v for k, v in task.items() if k not in ("module", "args", "loop", "loop_with")}
    out[task["module"]] = task["args"]
    if "loop_with" in task:
        out["with_" + task["loop_with"]] = task["loop"]
    elif "loop" in task:
        out["loop"] = task["loop"]
    return out


FACTS = ["hostname", "fqdn", "nodename", "domain", "distribution", "distribution_version",
         "distribution_major_version", "os_family", "system", "architecture", "kernel", "machine",
         "processor_count", "processor_cores", "processor_threads_per_core", "processor_vcpus", "processor_nproc",
         "memtotal_mb", "default_ipv4", "all_ipv4_addresses", "user_id", "python_version", "selinux"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One ansible-playbook run: facts, the registered scenario values, the block play's statuses."""
    tmp = tmp_path_factory.mktemp("reference")
    vars_file = tmp / "vars.yml"
    vars_file.write_text("iv1: \"{{ b }}-x\"\niv2:\n  k: \"{{ lst | sum }}\"\n")
    scenario = _scenario(vars_file)
    registered = [t["register"] for t in scenario]
    dump = tmp / "registered.json"
    facts_dump = tmp / "facts.json"
    block_play, block_jobs = _block_scenario()
    plays = [
        {"hosts": "localhost", "gather_facts": False, "tasks": [
            {"ansible.builtin.setup": {}, "register": "facts"},
            {"ansible.builtin.copy": {"dest": str(facts_dump), "content": "{{ facts.ansible_facts | to_json }}"}}]},
        {"hosts": "localhost", "gather_facts": False, "vars": PLAY_VARS,
         "tasks": [_as_ansible_task(t) for t in scenario] + [
             {"ansible.builtin.copy": {"dest": str(dump), "content": "{{ __dump | to_json }}"},
              "vars": {"__dump": {name: "{{ %s }}" % name for name in registered}}}]},
        block_play,
    ]
    playbook = tmp / "playbook.yml"
    playbook.write_text(yaml.safe_dump(plays))
    result = run_playbook(playbook)
    assert result.json is not None, result.summary()
    block_results = [t for t in result.task_results if t["play"] == "blocks"]
    return {"scenario": scenario, "registered": json.loads(dump.read_text()),
            "facts": json.loads(facts_dump.read_text()), "block_jobs": block_jobs,
            "block_statuses": [(t["task"], t["status"], t["result"].get("msg")) for t in block_results]}


def _comparable(value):
    """Drop what the runtime does not reproduce: ansible's traceback placeholder, its warnings
    and deprecation notices (the runtime warns only where debug shows undefined values)."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k not in ("exception", "warnings", "deprecations")}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def test_registered_values_match_ansible(reference, node):
    node.vars(**PLAY_VARS)
    for task in reference["scenario"]:
        node.run(task["module"], task["args"], **{k: v for k, v in task.items() if k not in ("module", "args")})
    mismatches = []
    for name, expected in reference["registered"].items():
        ours = _comparable(json.loads(json.dumps(node.args.get(name, "<missing>"), default=str)))
        expected = _comparable(expected)
        if name == "r43":  # the origin ansible names (file:line of the value) is not known on the node
            expected["msg"] = expected["msg"].split(" at '")[0]
            ours["msg"] = ours["msg"].split(" in '")[0]
        if ours != expected:
            mismatches.append("%s\n  ansible: %s\n  runtime: %s" % (name, json.dumps(expected, sort_keys=True),
                                                                    json.dumps(ours, sort_keys=True)))
    assert not mismatches, "\n".join(mismatches)
    assert len(reference["registered"]) == len(reference["scenario"])


def test_blocks_and_handlers_follow_ansible(reference, node):
    node.vars(x=1)
    ran, outcomes = [], []
    for job in reference["block_jobs"]:
        outcome = node.run(job["module"], job["args"], **{k: v for k, v in job.items() if k not in ("module", "args")})
        outcomes.append((job["name"], outcome.ok))
        if outcome.status == "skipped" and (outcome.msg or "").startswith("skipped:"):
            continue  # gated: Ansible never starts such a task
        if job["module"] != "ansible.builtin.meta":
            ran.append((job["name"], {"rescued": "failed"}.get(outcome.status, outcome.status),
                        (outcome.result or {}).get("msg")))
    assert ran == reference["block_statuses"]
    # Directord stops nothing until the host really failed: only the jobs after b3 fail
    assert [name for name, ok in outcomes if not ok] == ["never", "h1", "h2"]


def test_facts_match_ansible_setup(reference, node):
    outcome = node.run("ansible.builtin.setup", {}, register="facts")
    ours = outcome.result["ansible_facts"]
    expected = reference["facts"]
    for fact in FACTS:
        assert ours["ansible_" + fact] == expected["ansible_" + fact], fact
    assert ours["ansible_env"]["HOME"] == expected["ansible_env"]["HOME"]
    assert set(ours["ansible_date_time"]) == set(expected["ansible_date_time"])
    # the facts layer has them both top-level and under ansible_facts, as Ansible injects them
    assert node.debug("{{ ansible_facts.hostname == ansible_hostname }}").result["msg"] is True
    assert node.args["ansible_facts"]["distribution"] == expected["ansible_distribution"]


# -- through a real Directord ---------------------------------------------------------------

@pytest.mark.directord
def test_task_jobs_in_a_real_directord(directord_cluster_factory, tmp_path):
    components = tmp_path / "components"
    components.mkdir()
    (components / "task.py").write_text(runtime.build_component())
    cluster = directord_cluster_factory(identities=("node-0",), components_dir=components)
    out = cluster.client_workdirs["node-0"] / "out.txt"

    def task(module, args, **keys):
        return {"TASK": module, "vars": {"task": dict(keys, module=module, args=args, source="site.yml:1")}}

    result = cluster.orchestrate([{"name": "play", "jobs": [
        task("tm.vars", {"layer": "play_vars", "vars": {"greeting": "{{ word | upper }}", "word": "hi"}}),
        task("ansible.builtin.set_fact", {"n": "{{ [1, 2, 3] | sum }}"}),
        {"RUN": "echo {{ greeting }}-{{ n }} > %s" % out},
        task("ansible.builtin.fail", {"msg": "ignored"}, ignore_errors=True),
        task("ansible.builtin.assert", {"that": ["n == 6", "greeting == 'HI'"]}),
    ]}])
    result.assert_ok()
    assert out.read_text().strip() == "HI-6"
    failing = cluster.orchestrate([{"name": "failing play", "jobs": [
        task("ansible.builtin.fail", {"msg": "stop here"}),
        task("ansible.builtin.debug", {"msg": "never"}),
    ]}])
    assert not failing.ok
    assert "stop here" in json.dumps(failing.jobs[0].stderr)


# -- found by the differential fixtures ------------------------------------------------------

def test_every_handler_listening_to_a_topic_runs(node):
    node.debug("changed", changed_when=True, notify=["restart things"])
    assert node.debug("second", handler={"names": ["second", "restart things"]}).status == "ok"
    assert node.debug("third", handler={"names": ["third", "restart things"]}).status == "ok"
    # each ran for that notification; a new one runs them again
    assert node.debug("second", handler={"names": ["second", "restart things"]}).status == "skipped"
    node.debug("changed", changed_when=True, notify=["third"])
    assert node.debug("second", handler={"names": ["second", "restart things"]}).status == "skipped"
    assert node.debug("third", handler={"names": ["third", "restart things"]}).status == "ok"


def test_a_new_play_clears_play_scoped_layers(node):
    node.vars(only_first="x")
    node.vars("role_vars", from_role="r")
    node.run("ansible.builtin.set_fact", {"kept": "k"})
    outcome = node.run("tm.vars", {"layer": "play_vars", "vars": {"second": 2},
                                   "clear": ["role_defaults", "play_vars", "play_vars_files", "role_vars"]})
    assert outcome.ok, outcome.raw
    shown = node.debug("{{ only_first | default('gone') }} {{ from_role | default('gone') }} {{ kept }} {{ second }}")
    assert shown.result["msg"] == "gone gone k 2"


def test_include_vars_of_a_templated_name_picks_the_inlined_file(node):
    node.vars(flavour="b")
    candidates = {"flavour-a.yml": ["/p/vars/flavour-a.yml", {"setting": "a"}],
                  "flavour-b.yml": ["/p/vars/flavour-b.yml", {"setting": "{{ flavour }}-b"}]}
    outcome = node.run("ansible.builtin.include_vars", {"file": "flavour-{{ flavour }}.yml",
                                                        "_candidates": candidates}, register="r")
    assert outcome.ok, outcome.raw
    assert node.debug("{{ setting }} {{ r.ansible_included_var_files }}").result["msg"] == \
        "b-b ['/p/vars/flavour-b.yml']"
    node.vars(flavour="c")
    missing = node.run("ansible.builtin.include_vars", {"file": "flavour-{{ flavour }}.yml",
                                                        "_candidates": candidates}, ignore_errors=True)
    assert missing.status == "ignored" and "flavour-c.yml" in missing.result["msg"]
