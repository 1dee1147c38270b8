"""config_template (openstack ansible-config-template 2.1.1) against the real action plugin.

Real: the action plugin and its module stub, from the `ansible-config-template==2.1.1`
package that tests/support/corpus.py ansible_extras() installs (ANSIBLE_ACTION_PLUGINS,
ANSIBLE_LIBRARY), run by ansible-playbook -c local. The plugin does not load under the
project's ansible-core 2.19 (it patches AnsibleDumper.__bases__, a function there), so the
real side runs ansible-core 2.18, the last release it works with, installed from the
package index into a venv of its own under the corpus cache (built once, a few seconds).
The templates of the four corpus tasks (tripleo_cephadm's ceph.conf.j2 and idmap.conf.j2,
tripleo_config's ini-config.j2 and json-config.j2) come from the cached tripleo-ansible
6.0.0 tree. Nothing is faked: the copy module writes the case's own tree on both sides.

Each case runs once through the plugin (all cases in one playbook, one play whose vars both
sides share) and once through the port with the TASK runtime's own templar (Ansible's
filters), each on its own copy of the case's tree; results and trees must agree.

The last test converts the corpus: the four config_template tasks become TASK jobs
(`component`) and the controller templates they name are shipped into OUT.
"""

import hashlib
import json
import os
import subprocess
import sys

import pytest
from test_runtime_modules import D, RECORD_CALLBACK
from test_runtime_ports import compared, normalise, substitute
from test_runtime_ports_more import NO_URL, case, prepare, snapshot

from migrator.runtime.api import MODULES, ModuleFailed
from migrator.runtime.core import RuntimeContext
from migrator.runtime.modules import config_template  # noqa: F401  (importing registers the port)
from migrator.runtime.templating import Templar, Vars
from support.corpus import BuildError, CorpusError, ansible_extras, tripleo_ansible_tree, venv_dir

# Its real side runs every case once per session (a session fixture): on one xdist worker only
pytestmark = pytest.mark.xdist_group("runtime_ports_config_template")

CT = "config_template"
CT_CORE = "ansible-core==2.18.19"  # the newest ansible-core the plugin loads under
TEST = "test_config_template_matches_real_plugin"

# the play's vars (both sides): what the corpus templates read
CT_VARS = {
    "tripleo_cephadm_fsid": "4b5c8c0a-ff60-454b-a1b4-9747aa737d19",
    "tripleo_cephadm_first_mon_ip": "192.168.24.10",
    "ceph_conf_overrides": {"global": {"osd_pool_default_size": 1, "ms_bind_ipv6": "false"},
                            "osd": {"osd_memory_target": 4294967296}, "rgw_keystone_url": "http://ks"},
    "ct_name": "alpha",
    "ct_hosts": ["h1", "h2"],
}


def _corpus_templates():
    tree = tripleo_ansible_tree() / "roles"
    return {name: (tree / rel).read_text() for name, rel in {
        "ceph.conf.j2": "tripleo_cephadm/templates/ceph.conf.j2",
        "idmap.conf.j2": "tripleo_cephadm/templates/idmap.conf.j2",
        "ini-config.j2": "tripleo_config/templates/ini-config.j2",
        "json-config.j2": "tripleo_config/templates/json-config.j2"}.items()}


try:
    TEMPLATES = _corpus_templates()
except (CorpusError, OSError):  # no corpus cache: those cases are skipped
    TEMPLATES = {}

QUIRKS_INI = """\
; before any section: lost
top = lost too
[DEFAULT]
#debug = false
verbose = 1 ; inline comment
quoted = ""
blank_value =
color: blue;green

[alpha]
key = one
key = two
key = one
valueless
#commented = x
multi = first
  second

[beta]
name = {{ ct_name }}
"""

NOVA_CONF = """\
[DEFAULT]
state_path = /var/lib/nova
#debug = false
debug = false
[libvirt]
virt_type = kvm
[oslo_messaging_notifications]
driver = noop
"""

YAML_SRC = """\
# {{ ansible_managed }}
name: {{ ct_name }}
hosts:
{% for h in ct_hosts %}
  - {{ h }}
{% endfor %}
nested:
  list: [1, 2]
  text: keep
"""

CEPH = {"src": D + "/ceph.conf.j2", "dest": D + "/etc/ceph.conf", "owner": "root", "group": "root",
        "mode": "0644", "config_type": "ini",
        "config_overrides": {"global": {"osd_pool_default_size": 3, "mon host": "[v2:1.2.3.4:3300]"},
                             "mgr": {"mgr/cephadm/use_repo_digest": False}}}
IDMAP = {"src": D + "/idmap.conf.j2", "dest": D + "/etc/idmap.conf", "owner": "root", "group": "root",
         "mode": "0644", "config_type": "ini",
         "config_overrides": {"General": {"Domain": "example.org"}, "Mapping": {"Nobody-User": "nobody"}}}
QUIRKS = {"src": D + "/q.ini.j2", "dest": D + "/q.ini", "config_type": "ini", "config_overrides": {
    "DEFAULT": {"debug": True, "verbose": 2, "quoted": "again"},
    "top_level": "into DEFAULT",
    "top_list": ["a", 1, "b"],
    "alpha": {"key": "three", "multi_str": {"x": None, "y": None, "a": ""}, "list": ["l1", "l2"],
              "mapping": {"k": "v"}, "empty": {}},
    "gamma": {"new": "section", "int": 5}}}
NOVA = {"remote_src": True, "src": D + "/nova/nova.conf", "dest": D + "/nova/nova.conf", "config_type": "ini",
        "config_overrides": {"DEFAULT": {"debug": True, "my_ip": "10.0.0.5"},
                             "libvirt": {"virt_type": "qemu", "cpu_mode": "none"},
                             "placement": {"region_name": "regionOne"}}}
CLOUDS = {"remote_src": True, "src": D + "/clouds.yaml", "dest": D + "/clouds.yaml", "config_type": "yaml",
          "mode": "0600", "config_overrides": {"clouds": {"overcloud": {
              "auth": {"auth_url": "http://ks:5000", "password": "secret", "project_name": "admin",
                       "username": "admin"},
              "identity_api_version": "3", "region_name": "regionOne"}}}}
DOCKER = {"src": D + "/json-config.j2", "dest": D + "/etc/daemon.json", "config_type": "json",
          "owner": "root", "group": "root", "mode": "0644", "config_overrides": {"storage-driver": "vfs"}}
YAML = {"src": D + "/y.yaml.j2", "dest": D + "/y.yaml", "config_type": "yaml", "config_overrides": {
    "hosts": ["h3"], "nested": {"list": [3], "text": "a\nb", "csv": "x, y,z"}, "plain": "one\ntwo",
    "flag": True, "number": 7}}

CORPUS = dict(TEMPLATES)
CASES = [
    # ini: the corpus templates and override shapes, then the reader's and writer's quirks
    case("ct-ini-ceph", CT, [CEPH] * 2, CORPUS),
    case("ct-ini-idmap", CT, [IDMAP] * 2, dict(CORPUS, etc={"dir": True})),
    case("ct-ini-tripleo-config", CT, [{
        "src": D + "/ini-config.j2", "dest": D + "/out.ini", "config_type": "ini", "owner": "root",
        "group": "root", "mode": 0o644, "config_overrides": {"DEFAULT": {"a": 1}, "s": {"b": "c"}}}] * 2,
        CORPUS),
    case("ct-ini-quirks", CT, [QUIRKS] * 2, {"q.ini.j2": QUIRKS_INI}),
    case("ct-ini-default-section", CT, [dict(QUIRKS, default_section="beta", ignore_none_type=False)] * 2,
         {"q.ini.j2": QUIRKS_INI}),
    case("ct-ini-nova-remote-src", CT, [NOVA] * 2, {"nova/nova.conf": NOVA_CONF}),
    case("ct-ini-content", CT, [{"content": "[a]\nb = {{ ct_name }}\n", "dest": D + "/c.ini",
                                 "config_type": "ini", "config_overrides": {"a": {"c": "d"}}}] * 2),
    case("ct-ini-no-overrides-backup", CT, [{"src": D + "/q.ini.j2", "dest": D + "/q.ini", "config_type": "ini",
                                             "backup": True}] * 2,
         {"q.ini.j2": QUIRKS_INI, "q.ini": "[old]\nx = 1\n"}),
    case("ct-ini-check", CT, [CEPH], dict(CORPUS, etc={"dir": True}, **{"etc/ceph.conf": "[global]\n"}),
         check=True),
    # json and yaml
    case("ct-json-docker", CT, [DOCKER] * 2, dict(CORPUS, etc={"dir": True})),
    case("ct-json-docker-existing", CT, [dict(DOCKER, remote_src=True, src=D + "/etc/daemon.json")] * 2,
         {"etc/daemon.json": '{"debug": true, "storage-opts": ["a"]}\n'}),
    case("ct-json-content-merge", CT, [
        {"content": {"a": [1], "b": {"c": 1}}, "dest": D + "/m.json", "config_type": "json",
         "config_overrides": {"a": [2], "b": {"d": "x,y"}, "e": "p\nq"}},
        {"content": {"a": [1], "b": {"c": 1}}, "dest": D + "/m.json", "config_type": "json",
         "list_extend": True, "config_overrides": {"a": [2], "top": {"n": 1}}}]),
    case("ct-yaml-clouds-remote-src", CT, [CLOUDS] * 2, {"clouds.yaml": "---\nclouds: {}\n"}),
    case("ct-yaml-merge", CT, [YAML] * 2, {"y.yaml.j2": YAML_SRC}),
    case("ct-yaml-extend-multilines", CT, [dict(YAML, dest=D + "/y2.yaml", list_extend=True,
                                                yml_multilines=True)] * 2, {"y.yaml.j2": YAML_SRC}),
    case("ct-yaml-check", CT, [dict(YAML, dest=D + "/y.yaml")], {"y.yaml.j2": YAML_SRC, "y.yaml": "x: 1\n"},
         check=True),
    # options
    case("ct-delimiters", CT, [{"content": "", "src": D + "/d.j2", "dest": D + "/d.ini", "config_type": "ini",
                                "variable_start_string": "[[", "variable_end_string": "]]",
                                "config_overrides": {}}],
         {"d.j2": "[s]\nname = [[ ct_name ]]\nkeep = {{ not rendered }}\n"}),
    case("ct-render-false", CT, [{"src": D + "/d.j2", "dest": D + "/d.ini", "config_type": "ini",
                                  "render_template": False, "config_overrides": {"s": {"k": "v"}}}],
         {"d.j2": "[s]\nkeep = {{ not rendered }}\n"}),
    case("ct-dest-dir", CT, [{"src": D + "/d.j2", "dest": D + "/out/", "config_type": "ini",
                              "config_overrides": {"s": {"k": "v"}}, "mode": "0600"}] * 2,
         {"d.j2": "[s]\nname = {{ ct_name }}\n", "out": {"dir": True}}),
    # failures
    case("ct-fail-config-type", CT, {"src": D + "/d.j2", "dest": D + "/x", "config_type": "toml"},
         {"d.j2": ""}),
    case("ct-fail-no-type", CT, {"src": D + "/d.j2", "dest": D + "/x"}, {"d.j2": ""}),
    case("ct-fail-missing-src", CT, {"src": D + "/nope.j2", "dest": D + "/x", "config_type": "ini"}),
    case("ct-fail-missing-remote-src", CT, {"src": D + "/nope", "dest": D + "/x", "config_type": "ini",
                                            "remote_src": True}),
    case("ct-fail-no-dest", CT, {"src": D + "/d.j2", "config_type": "ini"}, {"d.j2": ""}),
    case("ct-fail-empty-content", CT, {"content": "", "dest": D + "/x", "config_type": "ini"}),
    case("ct-no-src-no-content", CT, [{"dest": D + "/x.ini", "config_type": "ini"},
                                      {"dest": D + "/x.json", "config_type": "json"}]),
    case("ct-fail-bad-json", CT, {"content": "{not json", "dest": D + "/x", "config_type": "json"}),
    case("ct-fail-yaml-null-override", CT, {"content": "a: 1\n", "dest": D + "/x", "config_type": "yaml",
                                            "config_overrides": {"b": None}}),
    case("ct-fail-default-comment-twice", CT, {"content": "[DEFAULT]\n#foo = 1\n#foo_bar = 2\n", "dest": D + "/x",
                                               "config_type": "ini", "config_overrides": {"DEFAULT": {"foo": 1}}}),
    case("ct-fail-ini-overrides-text", CT, {"content": "[a]\n", "dest": D + "/x", "config_type": "ini",
                                            "config_overrides": "a=b"}),
    # ansible-core 2.18 names the module "(copy)" in this message, 2.19 (the copy port's
    # reference) "(ansible.legacy.copy)"
    case("ct-fail-copy-option", CT, {"content": "[a]\n", "dest": D + "/x", "config_type": "ini",
                                     "trim_blocks": True}, ignore=("msg",)),
    case("ct-fail-dest-dir-missing", CT, {"content": "[a]\n", "dest": D + "/no/such/x", "config_type": "ini"}),
]
if not TEMPLATES:
    CASES = [pytest.param(*p.values, id=p.id, marks=pytest.mark.skip(reason="no tripleo-ansible corpus cache"))
             if "ceph" in p.id or "idmap" in p.id or "docker" in p.id or "tripleo-config" in p.id else p
             for p in CASES]


# ansible-core 2.18's TaskResult keeps the result and the task private
RECORD_CALLBACK_218 = RECORD_CALLBACK.replace(
    "self.results[result.task.get_name()] = dict(result.result, **extra)",
    "self.results[result._task.get_name()] = dict(result._result, **extra)")
assert RECORD_CALLBACK_218 != RECORD_CALLBACK


def ansible_218():
    """bin/ of a venv holding CT_CORE, built once under the corpus cache."""
    try:
        return venv_dir("ansible-core-" + hashlib.sha256(CT_CORE.encode()).hexdigest()[:12], CT_CORE) / "venv" / "bin"
    except BuildError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def plugin_runs(request, tmp_path_factory):
    """What the real plugin did, per selected case: {id: {"results", "dir", "tree"}}."""
    ids = {item.callspec.id for item in request.session.items if item.name.startswith(TEST)}
    chosen = [p for p in CASES if p.id in ids and not p.marks]
    if not chosen:
        return {}
    bin_dir = ansible_218()
    extras = ansible_extras()
    started = []
    for chunk in (chosen[0::2], chosen[1::2]):  # two playbooks at once
        if chunk:
            root = tmp_path_factory.mktemp("real")
            started.append((chunk, root) + _start_playbook(chunk, root, bin_dir, extras))
    runs = {}
    for chunk, root, proc, record in started:
        output = proc.communicate()[0]
        assert record.exists(), output[-5000:]
        results = json.loads(record.read_text())
        assert "%s#0" % chunk[0].id in results, output[-5000:]
        for param in chunk:
            steps = range(len(param.values[0]["steps"]))
            runs[param.id] = {"results": [results["%s#%d" % (param.id, i)] for i in steps],
                              "dir": root / param.id, "tree": snapshot(root / param.id)}
    return runs


def _start_playbook(chunk, root, bin_dir, extras):
    tasks = []
    for param in chunk:
        spec = param.values[0]
        case_dir = root / param.id
        prepare(spec, case_dir)
        for index, args in enumerate(spec["steps"]):
            tasks.append({"name": "%s#%d" % (param.id, index), "ignore_errors": True,
                          "check_mode": spec["check"], CT: substitute(args, case_dir, NO_URL, "")})
    playbook = root / "playbook.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "vars": CT_VARS,
                                     "tasks": tasks}]))
    (root / "callbacks").mkdir()
    (root / "callbacks" / "record.py").write_text(RECORD_CALLBACK_218)
    record = root / "record.json"
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_STDOUT_CALLBACK="record",
               ANSIBLE_CALLBACK_PLUGINS=str(root / "callbacks"), RECORD_FILE=str(record),
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_PIPELINING="1",
               ANSIBLE_ACTION_PLUGINS=str(extras.action_path), ANSIBLE_LIBRARY=str(extras.modules_path),
               ANSIBLE_PYTHON_INTERPRETER=str(bin_dir / "python"))
    # the venv was built elsewhere and renamed: its scripts' #! lines name the old place
    proc = subprocess.Popen([str(bin_dir / "python"), str(bin_dir / "ansible-playbook"), "-i", "localhost,",
                             "-c", "local", str(playbook)],
                            env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, record


@pytest.mark.parametrize("spec", CASES)
def test_config_template_matches_real_plugin(spec, request, plugin_runs, tmp_path):
    ran = plugin_runs[request.node.callspec.id]
    case_dir = tmp_path / "case"
    prepare(spec, case_dir)
    for index, args in enumerate(spec["steps"]):
        ctx = RuntimeContext(Templar(Vars([(dict(CT_VARS), False)])), check_mode=spec["check"])
        try:
            # the core templates a task's arguments before the port sees them
            params = ctx.templar.template(substitute(args, case_dir, NO_URL, ""))
            got = MODULES[spec["module"]](params, ctx)
        except ModuleFailed as ex:
            got = ex.result
        got = normalise(compared(dict(got), spec["ignore"]), case_dir, NO_URL)
        expected = normalise(compared(ran["results"][index], spec["ignore"]), ran["dir"], NO_URL)
        got.setdefault("changed", False)
        expected.setdefault("changed", False)
        assert got == expected, "step %d" % index
    assert snapshot(case_dir) == ran["tree"]


# ---------------------------------------------------------------------------
# the converter: the corpus tasks become TASK jobs, their controller templates shipped

CORPUS_TASKS = {
    # source: (the controller template shipped into OUT, or None) and the src the TASK job gets
    "roles/tripleo_cephadm/tasks/pre.yaml:137": ("roles/tripleo_cephadm/templates/ceph.conf.j2", None),
    "roles/tripleo_cephadm/tasks/ganesha/start_nfs.yaml:70": ("roles/tripleo_cephadm/templates/idmap.conf.j2",
                                                             None),
    # src and remote_src both templated: src is read on the node
    "roles/tripleo_config/tasks/main.yml:24": (None, "{{ tripleo_config_src }}"),
    # remote_src: true
    "roles/tripleo_nova_compute/tasks/configure.yml:125": (
        None, "{{ tripleo_nova_compute_config_dir }}/etc/nova/nova.conf"),
}


def _walk(value):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def test_corpus_config_template_tasks_convert_as_component(tmp_path):
    import yaml

    from migrator.jobs import NODE_STAGE_DIR

    try:
        tree = tripleo_ansible_tree()
    except CorpusError as exc:
        pytest.skip("corpus not available: %s" % exc)
    out = tmp_path / "out"
    roles = sorted({"roles/" + source.split("/")[1] for source in CORPUS_TASKS})
    proc = subprocess.run([sys.executable, "-m", "migrator", "convert", *roles, "-o", str(out), "--quiet"],
                          cwd=tree, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    rows = {"%s:%d" % (t["file"], t["line"]): t for t in report["tasks"] if t["module"] == CT}
    assert set(rows) == set(CORPUS_TASKS)
    assert {source: row["outcome"] for source, row in rows.items()} == dict.fromkeys(CORPUS_TASKS, "component")
    assert [f["what"] for f in rows["roles/tripleo_config/tasks/main.yml:24"]["findings"]] == ["remote_src"]

    specs, copies = {}, []
    for path in out.rglob("*.yaml"):
        if path.parent.name == "components" or not path.is_file():
            continue
        for node in _walk(yaml.safe_load(path.read_text())):
            if node.get("module") == CT and node.get("source") in CORPUS_TASKS:
                specs.setdefault(node["source"], node)
            if isinstance(node.get("COPY"), str):
                copies.append(node["COPY"].split()[-2:])
    assert set(specs) == set(CORPUS_TASKS)
    for source, (shipped, as_written) in CORPUS_TASKS.items():
        args = specs[source]["args"]
        if shipped is None:
            assert args["src"] == as_written
            assert "search" not in specs[source]
            continue
        node_path = "%s/%s" % (NODE_STAGE_DIR, shipped)
        assert args["src"] == node_path
        assert [shipped, node_path] in copies  # the COPY job that stages it, from OUT
        assert (out / shipped).read_bytes() == (tree / shipped).read_bytes()


def test_unshipped_controller_src_fails_loudly(tmp_path):
    """A relative src with remote_src false reaches the node only when the converter could not ship
    it (tripleo_config's templated remote_src): the port names it instead of searching the node."""
    ctx = RuntimeContext(Templar(Vars([(dict(CT_VARS), False)])))
    with pytest.raises(ModuleFailed) as failed:
        MODULES[CT]({"src": "ini-config.j2", "dest": str(tmp_path / "x"), "config_type": "ini",
                     "remote_src": False}, ctx)
    assert failed.value.result["msg"].startswith("Could not find or access 'ini-config.j2' on the Ansible "
                                                 "Controller")
    assert not (tmp_path / "x").exists()


def test_port_survives_assembly():
    from migrator import runtime

    source = runtime.build_component(check=True)
    assert "# tm-source: migrator/runtime/modules/config_template.py" in source
