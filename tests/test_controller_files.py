"""A controller path that is templated as a whole, resolved when the task runs.

`copy: src: "{{ some_file }}"`, `template: src: "{{ playbook_dir }}/x.j2"`, `include_vars:
"{{ vars_file }}"` name a file on Ansible's controller that only the run knows. With
Directord the controller is the Directord server: the converter ships the search path's
files/, templates/ or vars/ directories whole (for a relative name) and the TASK component,
on the node, reads an absolute name from the Directord server with builtin_copy's transfer
protocol (migrator/shipping.py, filters.search_shipped, core._find_shipped, component.py).

The converter side and the node's resolution of relative names are checked here without a
server; the run itself against a real Directord server and client on 127.0.0.1 (zeromq),
next to ansible-playbook on the same playbook (migrator.verify), with the server's log
showing it sent each absolute file to the job that asked for it.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from migrator.pipeline import Options, run
from migrator.runtime.filters import FilterError, search_shipped
from test_runtime_core import Node, component  # noqa: F401  (component is a fixture)

STAGE = "/var/lib/tripleo-migrate/stage"


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


# the role every case uses: each templated name may render to any path on the controller
ROLE = {
    "roles/r/defaults/main.yml": """\
        bridge_name: br-ex
        """,
    "roles/r/tasks/main.yml": """\
        - name: copy a controller file named by a variable
          copy:
            src: "{{ spec_file }}"
            dest: "{{ sandbox }}/spec.yaml"
            mode: "0640"
        - name: template a controller template named by a variable
          template:
            src: "{{ net_template }}"
            dest: "{{ sandbox }}/net.conf"
        - name: load a controller variables file named by a variable
          include_vars: "{{ vars_file }}"
          register: loaded
        - name: what it loaded, and from where
          copy:
            content: "{{ fsid }} {{ loaded.ansible_included_var_files | map('basename') | list }}\\n"
            dest: "{{ sandbox }}/loaded.txt"
        - name: a file beside the playbook
          copy:
            src: "{{ playbook_dir }}/data/pb.txt"
            dest: "{{ sandbox }}/pb.txt"
        - import_tasks: relative.yml
        """,
    "roles/r/tasks/relative.yml": """\
        - name: relative names, resolved among the role's shipped directories
          template:
            src: "{{ rel_template }}"
            dest: "{{ sandbox }}/rel.conf"
        - copy:
            src: "{{ rel_file }}"
            dest: "{{ sandbox }}/"
        - include_vars: "{{ rel_vars }}"
        - copy:
            content: "{{ extra_loaded }}\\n"
            dest: "{{ sandbox }}/extra.txt"
        """,
    "roles/r/templates/sub/t.j2": "relative {{ bridge_name }}\n",
    "roles/r/templates/top.j2": "top {{ bridge_name }}\n",
    "roles/r/files/f.conf": "shipped file\n",
    "roles/r/files/d/inner.conf": "inner\n",
    "roles/r/vars/extra.yml": "extra_loaded: yes\n",
    "roles/r/vars/list.yml": "- not a mapping\n",
    "roles/r/notes.txt": "in the role, outside every search tree\n",
}


def _tasks(report) -> dict:
    return {(t["file"].split("roles/", 1)[-1], t["line"]): t for t in report["tasks"]}


def _task_jobs(out: Path, rel: str) -> list[dict]:
    """The tasks of every TASK job in an orchestration file, in order."""
    found = []
    for orchestration in yaml.safe_load((out / rel).read_text()):
        for job in orchestration["jobs"]:
            if "TASK" in job:
                found += job["vars"]["tasks"] if "tasks" in job["vars"] else [job["vars"]["task"]]
    return found


# -- the converter ----------------------------------------------------------------------------

def test_fully_templated_controller_paths_run_as_components_with_a_warning(tmp_path):
    _write(tmp_path, ROLE)
    result = run(Options(paths=[tmp_path / "roles"], out=tmp_path / "out"))
    tasks = _tasks(result.report)
    for line, arg in ((1, "src"), (6, "src"), (10, "file"), (17, "src")):
        task = tasks[("r/tasks/main.yml", line)]
        assert task["outcome"] == "component", task
        warnings = [f["message"] for f in task["findings"] if f["severity"] == "warning"]
        assert any("is read from the Directord server at run time" in w for w in warnings), task
        assert not [f for f in task["findings"] if f["severity"] == "error"], task
    # a role converted on its own has no playbook: the report says what playbook_dir is then
    assert any("playbook_dir is undefined where no playbook runs the role" in f["message"]
               for f in tasks[("r/tasks/main.yml", 17)]["findings"])

    specs = {spec["source"].split("roles/", 1)[-1]: spec
             for spec in _task_jobs(tmp_path / "out", "roles/r/orchestration.yaml")}
    copy_search = specs["r/tasks/main.yml:1"]["search"]
    role = f"{STAGE}/roles/r"
    assert copy_search["server"] is True and copy_search["arg"] == "src"
    assert copy_search["trees"] == [f"{role}/files", f"{role}/tasks/files"]
    # files/ whole, its directories too (a copy src may name one); nothing from outside it
    assert copy_search["files"] == [f"{role}/files", f"{role}/files/d", f"{role}/files/d/inner.conf",
                                    f"{role}/files/f.conf"]
    assert [d for d, _ in copy_search["dirs"]] == [f"{role}/files", role, f"{role}/tasks/files", f"{role}/tasks"]
    template_search = specs["r/tasks/main.yml:6"]["search"]
    assert template_search["files"] == [f"{role}/templates/sub/t.j2", f"{role}/templates/top.j2"]
    vars_search = specs["r/tasks/main.yml:10"]["search"]
    assert vars_search["arg"] == "file" and specs["r/tasks/main.yml:10"]["args"] == {"file": "{{ vars_file }}"}
    assert vars_search["unusable"] == [f"{role}/vars/list.yml"]  # listed, not shipped: Ansible fails on it
    # shipped into OUT (and by COPY jobs); the role's other files are not
    out_role = tmp_path / "out" / "roles" / "r"
    assert sorted(str(p.relative_to(out_role)) for p in out_role.rglob("*") if p.is_file()
                  and p.suffix != ".yaml") == ["files/d/inner.conf", "files/f.conf", "templates/sub/t.j2",
                                                "templates/top.j2", "vars/extra.yml"]


def test_names_that_still_cannot_be_carried(tmp_path):
    _write(tmp_path, {
        "roles/r/tasks/main.yml": """\
            - name: climbs out
              template:
                src: "../{{ x }}"
                dest: /tmp/x
            - name: first_found names stay among their patterns
              include_vars: "{{ item }}"
              with_first_found: ["{{ x }}"]
            """,
    })
    tasks = _tasks(run(Options(paths=[tmp_path / "roles"], out=tmp_path / "out")).report)
    assert tasks[("r/tasks/main.yml", 1)]["outcome"] == "unsupported"
    assert tasks[("r/tasks/main.yml", 5)]["outcome"] == "unsupported"


def test_a_playbook_defines_playbook_dir_as_its_directory(tmp_path):
    _write(tmp_path / "pb", dict(ROLE, **{"site.yml": """\
        - hosts: all
          gather_facts: false
          roles: [r]
        """}))
    result = run(Options(paths=[tmp_path / "pb" / "site.yml"], out=tmp_path / "out"))
    play_vars = [t for t in _task_jobs(tmp_path / "out", "playbooks/site.yaml")
                 if t["module"] == "tm.vars" and t["args"]["layer"] == "play_vars"]
    assert play_vars[0]["args"]["vars"]["playbook_dir"] == str(tmp_path / "pb")
    task = _tasks(result.report)[("r/tasks/main.yml", 17)]
    assert any("playbook_dir is the playbook's directory at conversion" in f["message"] for f in task["findings"])


# -- the node's resolution of relative names ---------------------------------------------------

def _tree_search(root: Path, **more) -> dict:
    role = root / "roles" / "r"
    return dict({"subdir": "templates", "arg": "src", "server": True, "patterns": [],
                 "dirs": [[str(role / "templates"), False], [str(role), False],
                          [str(role / "tasks" / "templates"), False], [str(role / "tasks"), False]],
                 "trees": [str(role / "tasks" / "templates"), str(role / "templates")],
                 "files": [str(role / "templates" / "sub" / "t.j2"), str(role / "templates" / "top.j2")]}, **more)


def test_relative_names_follow_ansibles_order_among_the_shipped_trees(tmp_path):
    search, role = _tree_search(tmp_path), tmp_path / "roles" / "r"
    assert search_shipped("top.j2", search) == str(role / "templates" / "top.j2")
    assert search_shipped("sub/t.j2", search) == str(role / "templates" / "sub" / "t.j2")
    # as tripleo_network_config's default names its template: found from the role's own directory,
    # once templates/templates/... is known to be absent (it would be shipped if it existed)
    assert search_shipped("templates/sub/t.j2", search) == str(role / "templates" / "sub" / "t.j2")
    # absent from the first tree: Ansible looks next in the role's directory, which was not shipped
    with pytest.raises(FilterError, match=re.escape(f"would look for it next at {role}/nowhere.j2")):
        search_shipped("nowhere.j2", search)
    with pytest.raises(FilterError, match="read from the Directord server"):
        search_shipped("/etc/passwd", search)


def test_without_a_server_the_node_fails_an_absolute_name_and_resolves_a_relative_one(
        component, tmp_path):  # noqa: F811
    node = Node(component, tmp_path / "cache")
    role = tmp_path / "roles" / "r"
    (role / "templates" / "sub").mkdir(parents=True)
    (role / "templates" / "sub" / "t.j2").write_text("relative {{ word }}\n")
    search = _tree_search(tmp_path)
    outcome = node.run("ansible.builtin.template", {"src": "{{ name }}", "dest": str(tmp_path / "out.conf")},
                       vars={"name": "templates/sub/t.j2", "word": "ok"}, search=search)
    assert outcome.ok, outcome.raw
    assert (tmp_path / "out.conf").read_text() == "relative ok\n"
    outcome = node.run("ansible.builtin.template", {"src": "{{ name }}", "dest": str(tmp_path / "x.conf")},
                       vars={"name": "nowhere.j2"}, search=search)
    assert not outcome.ok and "Ansible would look for it next at %s/nowhere.j2" % role in outcome.result["msg"]
    node = Node(component, tmp_path / "cache-2")  # the failure above ended the host's play
    outcome = node.run("ansible.builtin.template", {"src": "{{ name }}", "dest": str(tmp_path / "y.conf")},
                       vars={"name": str(role / "templates" / "sub" / "t.j2")}, search=search)
    # the node never reads the controller's path itself, even where it exists
    assert not outcome.ok and "read from the Directord server, and this run has no connection to one" \
        in outcome.result["msg"], outcome.raw
    assert not (tmp_path / "y.conf").exists()


# -- a real Directord server and client ---------------------------------------------------------

def _playbook(tmp_path: Path) -> tuple[Path, Path]:
    """The role above in a playbook; the absolute files live in a controller directory outside
    the converted tree (never shipped), and beside the playbook (data/, not a search tree)."""
    controller = tmp_path / "controller"
    _write(controller, {
        "spec.yaml": "spec: from the controller\n",
        "net.j2": "bridge {{ bridge_name }} on {{ inventory_hostname | length > 0 }}\n",
        "ceph.yml": "fsid: 4b5c8c0a\n",
    })
    _write(tmp_path / "pb", dict(ROLE, **{
        "data/pb.txt": "beside the playbook\n",
        "site.yml": """\
            - hosts: all
              gather_facts: false
              roles: [r]
            """,
    }))
    return tmp_path / "pb" / "site.yml", controller


def _extra(controller: Path) -> dict:
    return {"spec_file": str(controller / "spec.yaml"), "net_template": str(controller / "net.j2"),
            "vars_file": str(controller / "ceph.yml"), "rel_template": "templates/sub/t.j2",
            "rel_file": "d", "rel_vars": "extra.yml"}


def _served(cluster, path: str) -> list[str]:
    """Job ids the server's log shows it sent `path` to (server.py's transfer_start answer)."""
    log = (cluster.log_dir / "server.log").read_text()
    return re.findall(r"Job \[ (\S+) \] file transfer for \[ %s \] starting" % re.escape(path), log)


@pytest.mark.directord
def test_directord_reads_controller_files_from_its_server_as_ansible_reads_its_controller(
        tmp_path, clean_directord_node):
    from migrator.verify import verify_playbook

    playbook, controller = _playbook(tmp_path / "input")
    outcome = verify_playbook(playbook, tmp_path / "run", clean_directord_node, extra_vars=_extra(controller))
    assert outcome.ok, outcome.summary()
    box = tmp_path / "run" / "directord"
    assert (box / "spec.yaml").read_text() == "spec: from the controller\n"
    assert (box / "net.conf").read_text() == "bridge br-ex on True\n"
    assert (box / "loaded.txt").read_text() == "4b5c8c0a ['ceph.yml']\n"  # the controller's path, as Ansible has it
    assert (box / "pb.txt").read_text() == "beside the playbook\n"
    assert (box / "rel.conf").read_text() == "relative br-ex\n" and (box / "d" / "inner.conf").is_file()
    assert (box / "extra.txt").read_text().strip() == "True"  # byte for byte as Ansible wrote it (verify)

    # each absolute file went from the server to a TASK job of the run; none was shipped in OUT
    task_jobs = {job.job_id for job in outcome.directord.jobs if job.verb == "TASK"}
    for path in (controller / "spec.yaml", controller / "net.j2", controller / "ceph.yml",
                 playbook.parent / "data" / "pb.txt"):
        served = _served(clean_directord_node, str(path))
        assert served and set(served) <= task_jobs, (path, served, clean_directord_node.log_tails())
    out = tmp_path / "run" / "out"
    assert not [p for p in out.rglob("*") if p.name in ("spec.yaml", "net.j2", "ceph.yml", "pb.txt")]


@pytest.mark.directord
def test_a_name_ansible_cannot_find_fails_on_the_node_naming_where(tmp_path, clean_directord_node):
    from migrator.verify.ansible_run import run_playbook

    root = tmp_path / "input"
    _write(root / "pb", {
        "roles/r/templates/t.j2": "t\n",
        "roles/r/tasks/main.yml": """\
            - name: relative, in no candidate directory
              template:
                src: "{{ missing_rel }}"
                dest: "{{ sandbox }}/rel.conf"
              ignore_errors: true
              register: rel
            - name: absolute, not on the controller
              copy:
                src: "{{ missing_abs }}"
                dest: "{{ sandbox }}/abs.conf"
              ignore_errors: true
              register: abs
            - name: both failed
              copy:
                content: "{{ rel.failed }} {{ abs.failed }}\\n{{ rel.msg }}\\n{{ abs.msg }}\\n"
                dest: "{{ sandbox }}/failures.txt"
            """,
        "site.yml": """\
            - hosts: all
              gather_facts: false
              roles: [r]
            """,
    })
    missing = str(root / "controller" / "absent.conf")
    extra = {"missing_rel": "nowhere.j2", "missing_abs": missing}
    ansible_box, box = tmp_path / "ansible", tmp_path / "directord"
    ansible_box.mkdir()
    box.mkdir()
    ansible = run_playbook(root / "pb" / "site.yml", extra_vars=dict(extra, sandbox=str(ansible_box)),
                           cwd=root / "pb")
    assert ansible.ok, ansible.summary()
    ansible_said = (ansible_box / "failures.txt").read_text()
    assert ansible_said.splitlines()[0] == "True True"
    assert "Could not find or access 'nowhere.j2'" in ansible_said and f"Could not find or access '{missing}'" \
        in ansible_said
    run(Options(paths=[root / "pb" / "site.yml"], out=tmp_path / "out", extra_vars=dict(extra, sandbox=str(box))))
    out = tmp_path / "out"
    orchestrated = clean_directord_node.orchestrate([out / "playbooks" / "site.yaml"], cwd=out,
                                                    components_dir=out / "components")
    assert orchestrated.ok, orchestrated.summary()
    failed, rel_msg, abs_msg = (box / "failures.txt").read_text().splitlines()
    assert failed == "True True"  # as in Ansible
    assert "'nowhere.j2' is in none of the shipped templates directories" in rel_msg
    assert f"would look for it next at {STAGE}/roles/r/nowhere.j2" in rel_msg
    assert abs_msg == (f"Task failed: Could not find or access '{missing}' on the Directord server: "
                       f"Transfer failed: File [ {missing} ] was not found")
    assert _served(clean_directord_node, missing) == []  # the server looked and refused, logging it
    assert f"File was not found. File path [ {missing} ]" in (clean_directord_node.log_dir / "server.log").read_text()
