"""--bridge: tasks with no translation run their original Ansible module on the node.

A role with a custom module in its library/ (no port, no translation) is
converted with and without --bridge; the bridged output passes Directord's
parsers and runs on a real Directord node, where ansible-core runs the module
shipped beside the orchestration, with the task's when/register/ignore_errors.
"""

import json
import os

import pytest
import yaml
from support.job_check import validate_orchestrations

from migrator.pipeline import Options, run
from migrator.runtime.api import MODULES, ModuleContext, ModuleFailed
from migrator.runtime.modules import bridge  # noqa: F401  (registers tm.bridge)

# a custom module: writes `content` to `path`, reports whether that changed it
TM_TOUCH = '''#!/usr/bin/python
DOCUMENTATION = """
module: tm_touch
short_description: write a file
options:
  path: {type: path, required: true}
  content: {type: str, default: ""}
"""
import os
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True),
                                              content=dict(type="str", default="")),
                           supports_check_mode=True)
    path, content = module.params["path"], module.params["content"]
    if content == "fail":
        module.fail_json(msg="asked to fail: " + path)
    old = open(path).read() if os.path.exists(path) else None
    if old != content and not module.check_mode:
        with open(path, "w") as stream:
            stream.write(content)
    module.exit_json(changed=old != content, path=path, content=content,
                     env=os.environ.get("TM_BRIDGE_TEST"))


main()
'''

TASKS = """\
- name: touch it
  tm_touch:
    path: "{{ dest }}/touched.txt"
    content: "hello {{ who }} {{ '{{' }} raw {{ '}}' }}"
  register: touched
  environment:
    TM_BRIDGE_TEST: "from-env"
- name: not when false
  tm_touch:
    path: "{{ dest }}/never.txt"
  when: who == "nobody"
- name: again, unchanged
  tm_touch:
    path: "{{ dest }}/touched.txt"
    content: "{{ touched.content }}"
  register: again
- name: a failure, ignored
  tm_touch:
    path: "{{ dest }}/x"
    content: fail
  register: failed_touch
  ignore_errors: true
- name: fetch stays a stub (its effect is on the controller)
  fetch:
    src: /etc/hostname
    dest: /tmp/
  when: false
- name: what the registered results said
  copy:
    dest: "{{ dest }}/seen.json"
    content: "{{ {'changed': touched.changed, 'content': touched.content, 'env': touched.env,
                 'again': again.changed, 'failed': failed_touch.failed, 'msg': failed_touch.msg} | to_json }}"
"""


def make_tree(root, dest):
    role = root / "roles" / "demo"
    (role / "tasks").mkdir(parents=True)
    (role / "library").mkdir()
    (role / "library" / "tm_touch.py").write_text(TM_TOUCH)
    (role / "tasks" / "main.yml").write_text(TASKS)
    (role / "defaults").mkdir()
    (role / "defaults" / "main.yml").write_text("who: world\ndest: %s\n" % dest)
    return root / "roles"


def convert(tmp_path, bridge, dest="/nowhere"):
    roles = make_tree(tmp_path / "in", dest)
    out = tmp_path / "out"
    result = run(Options(paths=[roles], out=out, bridge=bridge))
    return out, result.report


def by_name(report):
    return {task["name"]: task for task in report["tasks"]}


def test_without_bridge_the_custom_module_is_a_stub(tmp_path):
    out, report = convert(tmp_path, bridge=False)
    assert by_name(report)["touch it"]["outcome"] == "stub"
    assert (out / "components" / "stub_tm_touch.py").is_file()
    assert not (out / "roles" / "demo" / "library").exists()


def test_bridge_conversion(tmp_path):
    out, report = convert(tmp_path, bridge=True)
    tasks = by_name(report)
    bridged = [name for name, task in tasks.items() if task["outcome"] == "bridge"]
    assert bridged == ["touch it", "not when false", "again, unchanged", "a failure, ignored"]
    # bridge never counts as translated
    assert report["summary"]["outcomes"]["bridge"] == 4
    assert report["summary"]["coverage"] == round(100 / 6, 1)
    fetch = tasks["fetch stays a stub (its effect is on the controller)"]
    assert fetch["outcome"] == "stub"
    assert any(f["message"].startswith("not bridged: fetch copies a file") for f in fetch["findings"])
    assert tasks["touch it"]["jobs"] == ["WORKDIR", "COPY", "TASK"]
    assert any(f["severity"] == "warning" and f["message"].startswith("bridge: no translation for tm_touch")
               for f in tasks["touch it"]["findings"])
    # the module file ships beside the orchestration; no stub component
    assert (out / "roles" / "demo" / "library" / "tm_touch.py").read_text() == TM_TOUCH
    assert sorted(p.name for p in (out / "components").iterdir()) == ["stub_fetch.py", "task.py"]
    jobs = yaml.safe_load((out / "roles" / "demo" / "orchestration.yaml").read_text())[0]["jobs"]
    node_dir = "/var/lib/tripleo-migrate/bridge/roles/demo/library"
    assert next(iter(jobs[0])) == "TASK" and jobs[0]["vars"]["task"]["module"] == "tm.vars"  # defaults
    assert jobs[1:3] == [{"WORKDIR": node_dir},
                        {"COPY": "roles/demo/library/tm_touch.py %s/tm_touch.py" % node_dir}]
    task = next(job for job in jobs if "TASK" in job and job["TASK"] != "tm.vars")["vars"]["task"]
    assert task["module"] == "tm.bridge" and task["register"] == "touched"
    assert task["args"] == {"module": "tm_touch", "library": node_dir, "args": {
        "path": "{{ dest }}/touched.txt", "content": "hello {{ who }} {{ '{{' }} raw {{ '}}' }}"}}
    assert validate_orchestrations([out / "roles" / "demo" / "orchestration.yaml"],
                                   component_dirs=[out / "components"], cwd=out) == []
    md = (out / "report.md").read_text()
    assert "Bridged (`--bridge`): 4 tasks" in md


def test_bridge_port_runs_the_module_with_ansible_core(tmp_path):
    """The pseudo-module alone: ansible-core runs the module once, arguments untemplated."""
    library = tmp_path / "library"
    library.mkdir()
    (library / "tm_touch.py").write_text(TM_TOUCH)
    port = MODULES["tm.bridge"]
    target = str(tmp_path / "f")
    args = {"module": "tm_touch", "library": str(library), "args": {"path": target, "content": "{{ x }}"}}
    ctx = ModuleContext(check_mode=True)
    assert port(args, ctx)["changed"] is True and not os.path.exists(target)  # check mode
    ctx = ModuleContext(environment={"TM_BRIDGE_TEST": "e"})
    result = port(args, ctx)
    assert (result["changed"], result["content"], result["env"]) == (True, "{{ x }}", "e")
    assert open(target).read() == "{{ x }}"
    with pytest.raises(ModuleFailed) as failed:  # the module's own failure, as Ansible reports it
        port(dict(args, args={"content": "x"}), ModuleContext())
    assert failed.value.result["msg"] == "missing required arguments: path"
    with pytest.raises(ModuleFailed) as failed:
        port({"module": "tm_no_such_module", "args": {}}, ModuleContext())
    assert "couldn't resolve module/action 'tm_no_such_module'" in failed.value.result["stderr"]


@pytest.mark.directord
def test_bridge_runs_on_a_real_directord_node(tmp_path, directord_cluster_factory):
    dest = tmp_path / "node"
    dest.mkdir()
    out, report = convert(tmp_path, bridge=True, dest=dest)
    cluster = directord_cluster_factory(components_dir=out / "components")
    result = cluster.orchestrate([out / "roles" / "demo" / "orchestration.yaml"], cwd=out, timeout=240)
    # the one failure is the fetch stub (a stub runs whatever the `when`); the rest ran
    assert not result.timed_out and [job.verb for job in result.failed_jobs] == ["STUB_FETCH"], result.summary()
    assert (dest / "touched.txt").read_text() == "hello world {{ raw }}"
    assert not (dest / "never.txt").exists()
    assert json.loads((dest / "seen.json").read_text()) == {
        "changed": True, "content": "hello world {{ raw }}", "env": "from-env", "again": False,
        "failed": True, "msg": "asked to fail: %s/x" % dest}
    # the module file went to the node through the COPY job
    shipped = "/var/lib/tripleo-migrate/bridge/roles/demo/library/tm_touch.py"
    assert open(shipped).read() == TM_TOUCH
