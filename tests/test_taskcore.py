"""task-core output (OUT/task-core): services, roles.yaml, inventory.yaml; the
`graph` command; deploy-step barriers; and a converted service set run by
task-core 0.2.1 itself against a real three-node Directord."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from migrator import taskcore
from migrator.model import Job, JobGroup, Orchestration, Source
from support.job_check import validate_orchestrations

REPO = Path(__file__).resolve().parent.parent
NODES = ("ctl-0", "ctl-1", "cmp-0")

INVENTORY = """\
Controller:
  hosts:
    ctl-0: {}
    ctl-1: {}
  vars:
    tripleo_role_name: Controller
Compute:
  hosts:
    cmp-0: {}
  vars:
    tripleo_role_name: Compute
overcloud:
  children:
    Controller: {}
    Compute: {}
"""


def tree(root: Path, log: Path) -> Path:
    """Roles with a meta dependency (app -> base), an include_role edge (web -> base,
    tasks_from), an include cycle (loop_a <-> loop_b) and a playbook mapping them to hosts.
    Every task appends `<what> <node>` to one log all nodes share (they run on this machine)."""
    def mark(what: str) -> str:
        return f'echo "{what} $(basename "$PWD" | sed s/^workdir-//)" >> {log}'

    files = {
        "roles/base/tasks/main.yml": f"- name: base\n  shell: {mark('base')}\n",
        "roles/base/tasks/version.yml": f"- name: base version\n  shell: {mark('base-version')}\n",
        "roles/app/meta/main.yml": "dependencies:\n  - base\n",
        "roles/app/tasks/main.yml": f"- name: app\n  shell: {mark('app')}\n",
        "roles/web/tasks/main.yml": f"""\
            - name: web
              shell: {mark('web')}
            - name: base version, inline
              include_role:
                name: base
                tasks_from: version
            """,
        "roles/db/tasks/main.yml": f"- name: db\n  shell: {mark('db')}\n",
        "roles/loop_a/tasks/main.yml": "- include_role:\n    name: loop_b\n    tasks_from: other\n",
        "roles/loop_a/tasks/other.yml": "- command: 'true'\n",
        "roles/loop_b/tasks/main.yml": "- include_role:\n    name: loop_a\n    tasks_from: other\n",
        "roles/loop_b/tasks/other.yml": "- command: 'true'\n",
        "playbooks/site.yml": """\
            - hosts: Controller
              gather_facts: false
              roles: [app]
            - hosts: Compute
              gather_facts: false
              roles: [web]
            - hosts: overcloud
              gather_facts: false
              roles:
                - role: db
                  db_port: 5432
            """,
        "inventory.yaml": INVENTORY + "foo:\n  children:\n    overcloud: {}\n",
        "deployment/foo.yaml": f"""\
            heat_template_version: wallaby
            outputs:
              role_data:
                value:
                  service_name: foo
                  host_prep_tasks:
                    - name: prep
                      shell: {mark('prep')}
                  deploy_steps_tasks:
                    - name: step one
                      when: step|int == 1
                      shell: {mark('step1')}
                    - name: step three
                      when: step|int == 3
                      shell: {mark('step3')}
            """,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def convert(root: Path, *extra: str, paths: tuple[str, ...] = ("roles", "playbooks")) -> Path:
    result = subprocess.run([sys.executable, "-m", "migrator", "convert", *paths, "-o", "out",
                             "--quiet", *extra], cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return root / "out"


def load_out(out: Path):
    return taskcore.load(out)


def validate_with_task_core(out: Path) -> None:
    """task-core's own schemas, then its graph builder (TaskManager.create_flow, taskflow)."""
    from task_core.manager import TaskManager
    from task_core.schema import InventorySchemaValidator, RolesSchemaValidator, ServiceSchemaValidator

    base = out / "task-core"
    schema_dir = Path(sys.prefix) / "share" / "task-core" / "schema"
    assert (schema_dir / "service.yaml").is_file()
    for path in sorted((base / "services").glob("*.yaml")):
        ServiceSchemaValidator.instance().validate(yaml.safe_load(path.read_text()))
    RolesSchemaValidator.instance().validate(yaml.safe_load((base / "roles.yaml").read_text()))
    InventorySchemaValidator.instance().validate(yaml.safe_load((base / "inventory.yaml").read_text()))
    flow = TaskManager(str(base / "services"), str(base / "inventory.yaml"), str(base / "roles.yaml")).create_flow()
    return flow


def flow_edges(flow) -> set[tuple[str, str]]:
    return {(a.name, b.name) for a, b, _ in flow.iter_links()}


def test_services_roles_inventory_from_an_inventory(tmp_path):
    out = convert(tree(tmp_path, tmp_path / "order.log"), "--inventory", "inventory.yaml")
    services, roles, inventory = load_out(out)
    assert sorted(services) == ["app", "base", "db", "loop_a", "loop_b", "web"]
    assert inventory == {"hosts": {"ctl-0": {"role": "Controller"}, "ctl-1": {"role": "Controller"},
                                   "cmp-0": {"role": "Compute"}}}
    # base runs where app runs (its meta dependency); web's include of base only orders
    assert roles == {"Compute": {"services": ["db", "web"]}, "Controller": {"services": ["app", "base", "db"]}}
    task = lambda sid: services[sid]["tasks"][0]  # noqa: E731
    assert task("app")["requires"] == ["base"] and task("app")["provides"] == ["app"]
    assert task("web")["requires"] == ["base"]
    # meta dependency jobs are an edge, not inline; include_role jobs stay inline
    assert [next(iter(j.values())) for j in task("app")["jobs"]] == [
        'echo "app $(basename "$PWD" | sed s/^workdir-//)" >> ' + str(tmp_path / "order.log")]
    assert any("base-version" in str(j) for j in task("web")["jobs"])
    # each job led by its source task, as in orchestration files
    assert "  # roles/app/tasks/main.yml:1 app\n  - RUN: " in (out / "task-core" / "services" / "app.yaml").read_text()
    # the include cycle loop_a <-> loop_b loses one edge, and says so
    assert sorted([task("loop_a")["requires"], task("loop_b")["requires"]]) == [[], ["loop_b"]]
    assert "would close the cycle" in (out / "task-core" / "services" / "loop_b.yaml").read_text()
    # what a play gives a role is not in the role's service: said where the roles are
    assert "playbooks/site.yml:10: role db is given parameters here; its task-core service runs without them" \
        in (out / "task-core" / "roles.yaml").read_text()
    assert taskcore.check_graph(services, roles, inventory) == []
    flow = validate_with_task_core(out)
    assert {("base-run", "app-run"), ("base-run", "web-run")} <= flow_edges(flow)
    for sid, service in services.items():
        for t in service["tasks"]:
            assert validate_orchestrations([{"jobs": t["jobs"]}], component_dirs=[out / "components"], cwd=out) == []


def test_without_inventory_one_sample_host_per_role(tmp_path):
    out = convert(tree(tmp_path, tmp_path / "order.log"))
    services, roles, inventory = load_out(out)
    assert inventory["hosts"]["app-0"] == {"role": "app"} and len(inventory["hosts"]) == 6
    assert roles["app"] == {"services": ["app", "base"]}  # a host of role app runs what app requires
    assert roles["web"] == {"services": ["base", "web"]}
    assert roles["db"] == {"services": ["db"]}
    assert taskcore.check_graph(services, roles, inventory) == []
    validate_with_task_core(out)


def test_graph_command_prints_order_and_writes_dot(tmp_path):
    out = convert(tree(tmp_path, tmp_path / "order.log"), "--inventory", "inventory.yaml")
    (out / "task-core" / "graph.dot").unlink()
    result = subprocess.run([sys.executable, "-m", "migrator", "graph", "out"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("6 services, 2 roles, 3 hosts")
    position = {line.split(".", 1)[1].split(";")[0].split()[0]: line for line in lines[1:]}
    assert position["app"].strip().startswith("2.") and "after base" in position["app"]
    assert position["base"].strip().startswith("1.") and "on Controller" in position["base"]
    assert position["web"].strip().startswith("2.") and "on Compute" in position["web"]
    assert "on no host" in position["loop_a"]
    dot = (out / "task-core" / "graph.dot").read_text()
    assert dot.startswith("digraph services {") and '"base" -> "app";' in dot and '"base" -> "web";' in dot
    # written by convert and by graph alike
    assert dot == taskcore.dot(*load_out(out))
    if any(Path(p, "dot").is_file() for p in os.environ.get("PATH", "").split(os.pathsep)):
        assert "<svg" in (out / "task-core" / "graph.svg").read_text()
    else:
        assert "Graphviz dot not found" in result.stderr and not (out / "task-core" / "graph.svg").exists()
    missing = subprocess.run([sys.executable, "-m", "migrator", "graph", "nothing-here"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and missing.stderr.startswith("error: ")


def _units_with_steps(stepped_by_attribute: bool):
    def orch(name: str, *commands: str, step: int | None = None) -> Orchestration:
        groups = [JobGroup(Source("x.yaml", i + 1), c, [Job("RUN", f"echo {c}")]) for i, c in enumerate(commands)]
        if step is not None:
            for group in groups:
                group.step = step  # the THT loader's deploy step on a JobGroup
        return Orchestration(name=name, groups=groups)

    keystone_steps = {1: orch("k1", "keystone-db"), 3: orch("k3", "keystone-bootstrap")}
    mysql_steps = {1: orch("m1", "mysql-init"), 2: orch("m2", "mysql-start")}
    if stepped_by_attribute:
        keystone = taskcore.ServiceUnit("tht/keystone", "deployment/keystone.yaml", Orchestration(
            "keystone", groups=orch("", "keystone-db", step=1).groups + orch("", "keystone-bootstrap", step=3).groups))
    else:
        keystone = taskcore.ServiceUnit("tht/keystone", "deployment/keystone.yaml", Orchestration("keystone"),
                                        steps=keystone_steps)
    mysql = taskcore.ServiceUnit("tht/mysql", "deployment/mysql.yaml", Orchestration("mysql"), steps=mysql_steps)
    plain = taskcore.ServiceUnit("base", "roles/base", orch("base", "base"))
    keystone.requires += [("base", "meta dependency"), ("tht/mysql", "include_role")]
    return [keystone, mysql, plain]


@pytest.mark.parametrize("by_attribute", [False, True])
def test_deploy_steps_become_barrier_tasks(tmp_path, by_attribute):
    plan = taskcore.plan(_units_with_steps(by_attribute), [], set(), None)
    services = plan.services
    barrier = services[taskcore.BARRIER_SERVICE]["tasks"]
    assert [(t["id"], t["provides"], sorted(t["requires"])) for t in barrier] == [
        ("step1", ["deploy-step1"], ["tht_keystone.step1", "tht_mysql.step1"]),
        ("step2", ["deploy-step2"], ["deploy-step1", "tht_mysql"]),
        ("step3", ["deploy-step3"], ["deploy-step2", "tht_keystone"]),
    ]
    keystone = {t["id"]: t for t in services["tht_keystone"]["tasks"]}
    assert keystone["step1"]["requires"] == ["base"] and keystone["step1"]["provides"] == ["tht_keystone.step1"]
    assert keystone["step3"]["requires"] == ["tht_keystone.step1", "deploy-step2"]
    assert keystone["step3"]["provides"] == ["tht_keystone"]
    # between two stepped services the steps order them: an edge could close a cycle with a barrier
    assert "include_role tht/mysql: both have deploy steps, which order them: no edge" in plan.headers["tht_keystone"]
    assert taskcore.check_graph(services, plan.roles, plan.inventory) == []
    # task-core's schemas and graph builder accept it, with the barrier between the steps
    for rel, text in taskcore.render(plan).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
        if rel.startswith("task-core/services/"):  # the commented text reads back as the planned document
            assert yaml.safe_load(text) == services[rel.rsplit("/", 1)[1].removesuffix(".yaml")]
    flow = validate_with_task_core(tmp_path)
    edges = flow_edges(flow)
    assert ("tht_keystone-step1", "deploy-steps-step1") in edges
    assert ("deploy-steps-step2", "tht_keystone-step3") in edges
    assert ("tht_mysql-step2", "deploy-steps-step2") in edges


def test_check_graph_finds_what_task_core_does_not():
    def service(sid, *tasks):
        return {"id": sid, "type": "service", "version": "1", "tasks": [
            {"id": t, "driver": "print", "message": t, "provides": p, "requires": r} for t, p, r in tasks]}

    services = {"a": service("a", ("t1", ["x", "y"], ["z"]), ("t2", ["w"], ["v"])),
                "b": service("b", ("t", ["x"], []), ("u", ["v"], ["w"]))}
    problems = taskcore.check_graph(services)
    assert "a/t1: provides 2 names; task-core takes one" in problems
    assert "b/t: x is already provided by a/t1" in problems
    assert "a/t1: requires z, which no task provides" in problems
    assert any(p.startswith("dependency cycle: ") for p in problems)
    roles = {"R1": {"services": ["a"]}, "R2": {"services": ["b"]}}
    only_a = taskcore.check_graph({"a": services["a"]} | {"b": service("b", ("u", ["v"], []))}, roles,
                                  {"hosts": {"h-0": {"role": "R1"}}})
    assert "a/t2: requires v, whose service runs on no host" in only_a


@pytest.mark.directord
def test_task_core_runs_the_converted_services_in_order(tmp_path, directord_cluster_factory):
    log = tmp_path / "order.log"
    out = convert(tree(tmp_path, log), "--inventory", "inventory.yaml",
                  paths=("roles", "playbooks", "deployment/foo.yaml"))
    cluster = directord_cluster_factory(identities=NODES, components_dir=out / "components")
    base = out / "task-core"
    run = subprocess.run([cluster.python, "-m", "migrator.verify.taskcore_run", "--socket-path", cluster.socket_path,
                          "-s", str(base / "services"), "-i", str(base / "inventory.yaml"),
                          "-r", str(base / "roles.yaml")],
                         cwd=out, capture_output=True, text=True, timeout=240,
                         env=dict(cluster.env, PYTHONPATH=str(REPO)))
    assert run.returncode == 0, run.stderr[-4000:]
    entries = [tuple(line.split()) for line in log.read_text().splitlines()]
    ran = {}
    for what, node in entries:
        ran.setdefault(what, set()).add(node)
    # each service on the hosts of its role, and nowhere else
    everywhere = {"ctl-0", "ctl-1", "cmp-0"}
    assert ran == {"base": {"ctl-0", "ctl-1"}, "app": {"ctl-0", "ctl-1"}, "web": {"cmp-0"},
                   "base-version": {"cmp-0"}, "db": everywhere,
                   "prep": everywhere, "step1": everywhere, "step3": everywhere}
    # dependency order: base done everywhere before app or web starts anywhere
    index = lambda what: [i for i, (w, _) in enumerate(entries) if w == what]  # noqa: E731
    assert max(index("base")) < min(index("app"))
    assert max(index("base")) < min(index("web"))
    # deploy steps: every node finished a step before any node starts the next
    assert max(index("prep")) < min(index("step1")) and max(index("step1")) < min(index("step3"))


THT_TEMPLATE = """\
heat_template_version: wallaby
description: a service with deploy steps
outputs:
  role_data:
    value:
      service_name: foo
      host_prep_tasks:
        - name: prep
          command: 'true'
      deploy_steps_tasks:
        - name: first
          when: step|int == 1
          command: 'true'
        - name: third
          when: step|int == 3
          command: 'true'
      upgrade_tasks:
        - name: upgrade
          command: 'true'
"""


def test_tht_deploy_steps_become_a_stepped_service(tmp_path):
    """A THT template converted by tht.py: host prep is step 0, each deploy step one task,
    barriers between the steps; other lists stay out of the deployment graph."""
    (tmp_path / "deployment").mkdir()
    (tmp_path / "deployment" / "foo.yaml").write_text(THT_TEMPLATE)
    (tmp_path / "inventory.yaml").write_text(INVENTORY + "foo:\n  children:\n    Compute: {}\n")
    result = subprocess.run([sys.executable, "-m", "migrator", "convert", "deployment/foo.yaml", "-o", "out",
                             "--inventory", "inventory.yaml", "--quiet"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    services, roles, inventory = load_out(out)
    foo = services["tht.deployment.foo"]
    assert [(t["id"], t["provides"]) for t in foo["tasks"]] == [
        ("step0", ["tht.deployment.foo.step0"]), ("step1", ["tht.deployment.foo.step1"]),
        ("step3", ["tht.deployment.foo"])]
    assert foo["tasks"][2]["requires"] == ["tht.deployment.foo.step1", "deploy-step1"]
    assert [t["provides"] for t in services[taskcore.BARRIER_SERVICE]["tasks"]] == [
        ["deploy-step0"], ["deploy-step1"], ["deploy-step3"]]
    text = (out / "task-core" / "services" / "tht.deployment.foo.yaml").read_text()
    assert "not part of the deployment graph: upgrade_tasks" in text
    # it runs on the inventory group named after its service_name; the barrier on every role
    assert roles == {"Compute": {"services": ["tht.deployment.foo", "deploy-steps"]},
                     "Controller": {"services": ["deploy-steps"]}}
    assert taskcore.check_graph(services, roles, inventory) == []
    flow = validate_with_task_core(out)
    assert ("deploy-steps-step1", "tht.deployment.foo-step3") in flow_edges(flow)


TRIPLEO_INVENTORY = INVENTORY.replace("overcloud:\n", """\
Undercloud:
  hosts:
    undercloud:
      ansible_connection: local
  vars:
    tripleo_role_name: Undercloud
overcloud:
""") + """\
allovercloud:
  children:
    overcloud: {}
keystone:
  children:
    Controller: {}
ceph_mon:
  children:
    Controller: {}
octavia_nodes:
  children:
    Controller: {}
"""


@pytest.mark.corpus
def test_real_tripleo_ansible_gives_a_sound_task_core_graph(tmp_path):
    """tripleo-ansible 6.0.0 with a TripleO-style inventory: task-core's schemas and graph
    builder accept the output, and check_graph finds nothing."""
    from support.corpus import CorpusError, tripleo_ansible_tree

    try:
        tree = tripleo_ansible_tree()
    except CorpusError as exc:
        pytest.skip(f"corpus not available: {exc}")
    (tmp_path / "inventory.yaml").write_text(TRIPLEO_INVENTORY)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "migrator", "convert", "roles", "playbooks", "-o", str(out),
                             "--inventory", str(tmp_path / "inventory.yaml"), "--quiet"],
                            cwd=tree, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    services, roles, inventory = load_out(out)
    # one service per role that has an orchestration (roles with only tasks_from files have none)
    assert set(services) == {p.parent.name for p in (out / "roles").glob("*/orchestration.yaml")}
    assert len(services) > 70
    assert set(roles) == {"Undercloud", "Controller", "Compute"}
    assert "tripleo_container_standalone" in roles["Controller"]["services"]
    assert taskcore.check_graph(services, roles, inventory) == []
    flow = validate_with_task_core(out)
    assert len(list(flow.iter_links())) > 0


def test_hosts_task_core_refuses_are_left_out_with_a_note(tmp_path):
    """Inventory names task-core's schema refuses (capitals, underscores) leave the graph sound."""
    root = tree(tmp_path, tmp_path / "order.log")
    (root / "inventory.yaml").write_text(INVENTORY.replace("ctl-0", "Ctl_0").replace("cmp-0", "CMP_0"))
    out = convert(root, "--inventory", "inventory.yaml")
    services, roles, inventory = load_out(out)
    assert inventory == {"hosts": {"ctl-1": {"role": "Controller"}}}
    text = (out / "task-core" / "roles.yaml").read_text()
    assert "host Ctl_0 is not a valid task-core host name" in text and "host CMP_0" in text
    assert taskcore.check_graph(services, roles, inventory) == []
    # web runs on no host now: its include edge to base is kept only for ordering, base still runs
    validate_with_task_core(out)
    # the orchestrations still target the inventory names, which are Directord identities
    plays = yaml.safe_load((out / "playbooks" / "site.yaml").read_text())
    assert plays[0]["targets"] == ["Ctl_0", "ctl-1"]
