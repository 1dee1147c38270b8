"""Multi-host conversion: `convert --inventory`, play host patterns -> targets,
run_once -> --run-once, delegate_to -> assign, serial/any_errors_fatal findings;
proven on a real Directord server with three clients of distinct identities."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from migrator.inventory import Inventory, InventoryError

REPO = Path(__file__).resolve().parent.parent
NODES = ("ctl-0", "ctl-1", "cmp-0")

TRIPLEO_INVENTORY = """\
Undercloud:
  hosts:
    undercloud:
      ansible_connection: local
  vars:
    tripleo_role_name: Undercloud
Controller:
  hosts:
    ctl-0:
      ansible_host: 192.168.24.10
    ctl-1: {}
  vars:
    tripleo_role_name: Controller
    bootstrap: "{{ lookup('pipe', 'touch /tmp/tm-never-evaluated') }}"
Compute:
  hosts:
    cmp-0: {}
  vars:
    tripleo_role_name: Compute
overcloud:
  children:
    Controller: {}
    Compute: {}
allovercloud:
  children:
    overcloud: {}
keystone:
  children:
    Controller: {}
"""

INI_INVENTORY = """\
[controllers]
ctl-[0:1]

[computes]
cmp-0 ansible_host=10.0.0.5

[overcloud:children]
controllers
computes

[controllers:vars]
x={{ lookup('pipe', 'touch /tmp/tm-never-evaluated') }}
"""

# Every task writes a marker into the working directory of the node it runs on
# (each client runs in its own directory, workdir-<identity>), holding that name.
SITE = """\
- name: everywhere
  hosts: overcloud
  gather_facts: false
  serial: 1
  any_errors_fatal: true
  tasks:
    - name: mark all
      shell: basename "$PWD" > all.mark
- name: controllers
  hosts: "{{ target | default('Controller') }}"
  gather_facts: false
  tasks:
    - name: mark controller
      shell: basename "$PWD" > controller.mark
    - name: once
      shell: basename "$PWD" > once.mark
      run_once: true
    - name: delegated
      shell: basename "$PWD" > delegated.mark
      delegate_to: cmp-0
      run_once: true
    - name: once, in the TASK runtime
      shell: basename "$PWD" > once-task.mark
      when: inventory_hostname is defined
      run_once: true
    - name: delegated, in the TASK runtime
      shell: basename "$PWD" > delegated-task.mark
      when: inventory_hostname is defined
      delegate_to: ctl-1
- name: not controllers
  hosts: overcloud:!Controller
  gather_facts: false
  tasks:
    - name: mark compute
      shell: basename "$PWD" > compute.mark
- name: intersection
  hosts: overcloud:&keystone
  gather_facts: false
  tasks:
    - name: mark keystone
      shell: basename "$PWD" > keystone.mark
- name: glob and subscript
  hosts: ctl-*:cmp-0[0]
  gather_facts: false
  tasks:
    - name: mark glob
      shell: basename "$PWD" > glob.mark
- name: union with a comma
  hosts: ctl-1,cmp-0
  gather_facts: false
  tasks:
    - name: mark union
      shell: basename "$PWD" > union.mark
- name: nothing
  hosts: nomatch
  gather_facts: false
  tasks:
    - name: never
      shell: basename "$PWD" > never.mark
"""

# marker -> the nodes it must be on (and on no other)
EXPECTED = {
    "all.mark": {"ctl-0", "ctl-1", "cmp-0"},
    "controller.mark": {"ctl-0", "ctl-1"},
    "once.mark": {"ctl-0"},  # run_once: the first host of the play, as Ansible picks it
    "delegated.mark": {"cmp-0"},
    "once-task.mark": {"ctl-0"},
    "delegated-task.mark": {"ctl-1"},
    "compute.mark": {"cmp-0"},
    "keystone.mark": {"ctl-0", "ctl-1"},
    "glob.mark": {"ctl-0", "ctl-1", "cmp-0"},
    "union.mark": {"ctl-1", "cmp-0"},
    "never.mark": set(),
}


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))
    return root


def _three_node_inventory() -> str:
    return "\n".join(TRIPLEO_INVENTORY.split("\n")[6:])  # without the Undercloud group


# --------------------------------------------------------------------------- inventories


def test_tripleo_yaml_inventory_patterns_and_roles(tmp_path):
    inventory = Inventory(write(tmp_path, {"inv.yaml": TRIPLEO_INVENTORY}) / "inv.yaml")
    assert inventory.hosts == ["undercloud", "ctl-0", "ctl-1", "cmp-0"]
    resolve = lambda p: inventory.resolve(p).targets  # noqa: E731
    assert resolve("all") == ["undercloud", "ctl-0", "ctl-1", "cmp-0"]
    assert resolve("overcloud") == ["ctl-0", "ctl-1", "cmp-0"]
    assert resolve("allovercloud:!Compute") == ["ctl-0", "ctl-1"]
    assert resolve("overcloud:&keystone") == ["ctl-0", "ctl-1"]
    assert resolve("Compute:Controller") == ["cmp-0", "ctl-0", "ctl-1"]
    assert resolve(["Compute", "keystone"]) == ["cmp-0", "ctl-0", "ctl-1"]
    assert resolve("ctl-*") == ["ctl-0", "ctl-1"]
    assert resolve("Controller[1]") == ["ctl-1"]
    assert resolve("~c(tl|mp)-0") == ["ctl-0", "cmp-0"]
    # implicit localhost is the inventory's local-connection host (TripleO's undercloud)
    local = inventory.resolve("localhost")
    assert local.targets == ["undercloud"] and local.notes[0][0] == "info"
    nothing = inventory.resolve("nomatch")
    assert nothing.targets == [] and "matches no inventory host" in nothing.notes[0][1]
    # the one templated form read statically: {{ var | default('x') }}, -e var=... first
    assert inventory.resolve("{{ tripleo_target_host | default('Compute') }}").targets == ["cmp-0"]
    assert inventory.resolve("{{ tripleo_target_host | default('Compute') }}",
                             {"tripleo_target_host": "keystone"}).targets == ["ctl-0", "ctl-1"]
    assert inventory.resolve("{{ primary_role_name | default([]) }}:{{ deploy_target_host | default('overcloud') }}"
                             ).targets == ["ctl-0", "ctl-1", "cmp-0"]
    templated = inventory.resolve("{{ groups['Controller'] | first }}")
    assert templated.targets is None and templated.notes[0][0] == "warning"
    assert [inventory.role_of(h) for h in inventory.hosts] == ["Undercloud", "Controller", "Controller", "Compute"]
    # nothing was evaluated: the lookup in the group vars stayed text
    assert not Path("/tmp/tm-never-evaluated").exists()


def test_ini_inventory_ranges_children_and_roles(tmp_path):
    inventory = Inventory(write(tmp_path, {"hosts": INI_INVENTORY}) / "hosts")
    assert inventory.hosts == ["ctl-0", "ctl-1", "cmp-0"]
    assert inventory.resolve("overcloud:!computes").targets == ["ctl-0", "ctl-1"]
    assert [inventory.role_of(h) for h in inventory.hosts] == ["controllers", "controllers", "computes"]
    implicit = inventory.resolve("localhost")
    assert implicit.targets == [] and "Ansible's controller" in implicit.notes[0][1]
    assert not Path("/tmp/tm-never-evaluated").exists()


@pytest.mark.parametrize("name, text, line, message", [
    ("bad.yaml", "Controller:\n  hosts:\n    a: [\n", 4, "invalid YAML"),
    ("plugin.yaml", "plugin: openstack.cloud.openstack\n", 1, "plugin configuration"),
    ("bad.ini", "[g]\nh1\n[g:vars]\nnot a pair\n", 4, "key=value"),
    ("empty.yaml", "all:\n  vars:\n    x: 1\n", 1, "no hosts"),
])
def test_bad_inventory_is_one_line_at_file_line(tmp_path, name, text, line, message):
    write(tmp_path, {name: text, "playbooks/p.yml": "- hosts: all\n  tasks:\n    - command: 'true'\n"})
    with pytest.raises(InventoryError) as caught:
        Inventory(tmp_path / name, name)
    assert caught.value.line == line and message in caught.value.message
    result = run_cli("convert", "playbooks", "-o", "out", "--inventory", name, "--quiet", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{name}:{line}: error: "), result.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- conversion


def _convert(tmp_path: Path, inventory: str, *extra: str) -> Path:
    write(tmp_path, {"playbooks/site.yml": SITE, "inventory.yaml": inventory})
    result = run_cli("convert", "playbooks", "-o", "out", "--inventory", "inventory.yaml", "--quiet", *extra,
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / "out"


def test_hosts_become_targets_run_once_and_assign(tmp_path):
    out = _convert(tmp_path, _three_node_inventory())
    plays = yaml.safe_load((out / "playbooks" / "site.yaml").read_text())
    targets = {p["name"]: p.get("targets") for p in plays}
    assert targets == {
        "everywhere": ["ctl-0", "ctl-1", "cmp-0"], "controllers": ["ctl-0", "ctl-1"],
        "not controllers": ["cmp-0"], "intersection": ["ctl-0", "ctl-1"],
        "glob and subscript": ["ctl-0", "ctl-1", "cmp-0"], "union with a comma": ["ctl-1", "cmp-0"],
        "nothing": [],
    }
    nothing = next(p for p in plays if p["name"] == "nothing")
    assert nothing["jobs"] == []  # empty targets would mean every node: the play is dropped
    once = next(j for p in plays for j in p["jobs"] if "once.mark" in str(j.get("RUN", "")))
    assert once["RUN"].startswith("--run-once ") and "assign" not in once
    delegated = next(j for p in plays for j in p["jobs"] if "delegated.mark" in str(j.get("RUN", "")))
    assert delegated["assign"] == ["cmp-0"] and delegated["RUN"].startswith("--run-once ")
    # the same through the TASK runtime (a `when` needs it): Directord's own --run-once flag
    # on the job, which TASK's parser takes as the common flag it is
    task_once = next(j for p in plays for j in p["jobs"] if "once-task.mark" in json.dumps(j))
    assert task_once["TASK"] == "ansible.builtin.shell --run-once"
    task_delegated = next(j for p in plays for j in p["jobs"] if "delegated-task.mark" in json.dumps(j))
    assert task_delegated["assign"] == ["ctl-1"]
    # every job passes Directord's own parsers
    from support.job_check import validate_orchestrations

    assert validate_orchestrations(out / "playbooks", component_dirs=[out / "components"], cwd=out) == []

    report = json.loads((out / "report.json").read_text())
    findings = {t["name"]: {(f["what"], f["severity"]) for f in t["findings"]} for t in report["tasks"]}
    assert {("serial", "warning"), ("any_errors_fatal", "warning")} <= findings["mark all"]
    assert ("hosts", "info") in findings["mark controller"]  # read as 'Controller'
    assert ("hosts", "warning") in findings["never"]
    assert not any(w == "serial" for w, _ in findings["mark controller"])
    # delegate_to without run_once: once on the delegate, not once per play host, and said so
    assert ("delegate_to", "warning") in findings["delegated, in the TASK runtime"]
    assert ("delegate_to", "warning") not in findings["delegated"]  # run_once: same as Ansible


def test_templated_hosts_follow_extra_vars(tmp_path):
    out = _convert(tmp_path, _three_node_inventory(), "-e", "target=Compute")
    plays = yaml.safe_load((out / "playbooks" / "site.yaml").read_text())
    assert next(p for p in plays if p["name"] == "controllers")["targets"] == ["cmp-0"]


def test_without_inventory_no_targets(tmp_path):
    write(tmp_path, {"playbooks/site.yml": SITE})
    result = run_cli("convert", "playbooks", "-o", "out", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plays = yaml.safe_load((tmp_path / "out" / "playbooks" / "site.yaml").read_text())
    assert all("targets" not in p for p in plays) and all(p["jobs"] for p in plays)


# --------------------------------------------------------------------------- a real 3-node Directord


@pytest.mark.directord
def test_each_job_lands_on_its_nodes_and_nowhere_else(tmp_path, directord_cluster_factory):
    out = _convert(tmp_path, _three_node_inventory())
    cluster = directord_cluster_factory(identities=NODES, components_dir=out / "components")
    result = cluster.orchestrate([out / "playbooks" / "site.yaml"], cwd=out, timeout=240)
    result.assert_ok()
    found: dict[str, set[str]] = {name: set() for name in EXPECTED}
    for node in NODES:
        workdir = cluster.client_workdirs[node]
        for marker in workdir.glob("*.mark"):
            # each marker holds the name of the node's own directory: written there, by that node
            assert marker.read_text().strip() == workdir.name == f"workdir-{node}"
            found.setdefault(marker.name, set()).add(node)
    assert found == EXPECTED
    # the same through the job records: every job ran on exactly the nodes it names
    for job in result.jobs:
        assert set(job.success) == set(job.nodes), job.describe()


def test_play_keywords_reach_role_tasks_reported_by_their_role(tmp_path):
    """A role task is reported once (by its role); the plays that run it add their findings."""
    write(tmp_path, {
        "roles/r1/tasks/main.yml": "- name: in role\n  command: 'true'\n",
        "playbooks/p.yml": "- hosts: Compute\n  serial: 1\n  gather_facts: false\n  roles: [r1]\n"
                           "- hosts: overcloud\n  any_errors_fatal: true\n  gather_facts: false\n  roles: [r1]\n",
        "inventory.yaml": _three_node_inventory(),
    })
    result = run_cli("convert", "roles", "playbooks", "-o", "out", "--inventory", "inventory.yaml", "--quiet",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (task,) = [t for t in report["tasks"] if t["name"] == "in role"]
    assert task["output"] == "roles/r1/orchestration.yaml"
    assert {f["what"] for f in task["findings"]} == {"serial", "any_errors_fatal"}


def test_playbooks_without_roles_write_no_task_core_files(tmp_path):
    out = _convert(tmp_path, _three_node_inventory())
    assert not (out / "task-core").exists()  # no service: an empty roles file would not even validate
