"""Role-local modules run as the runtime's port of the module they copy.

tripleo-ansible ships its own openvswitch_db in roles/tripleo_ovs_dpdk/library/ (27
tasks). The converter reads that file's DOCUMENTATION statically and, since its options
are the port's, runs those tasks with the port of openvswitch.openvswitch.openvswitch_db
(migrator/modules.py role_local_port). Proven here by running a role that carries
tripleo-ansible's very file (taken from the cached sdist at test time) under
ansible-playbook and, converted, on a real Directord node, each against its own
ovsdb-server/ovs-vswitchd; the tree each leaves (what the module reported and the
database afterwards) must be the same.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import textwrap
from pathlib import Path

import pytest
from test_runtime_ports import Ovs

from migrator import modules
from migrator.verify import verify_playbook
from support.corpus import tripleo_ansible_tree

LIBRARY = Path("roles/tripleo_ovs_dpdk/library/openvswitch_db.py")
PORT = "openvswitch.openvswitch.openvswitch_db"

TASKS = """\
- name: Set a key of a map column (as tripleo_ovs_dpdk does)
  openvswitch_db:
    table: Bridge
    record: br-tm
    col: other_config
    key: tm-key
    value: "on"
  register: set_key

- name: The same again changes nothing
  openvswitch_db:
    table: Bridge
    record: br-tm
    col: other_config
    key: tm-key
    value: "on"
  register: set_again

- name: A plain column
  openvswitch_db:
    table: Bridge
    record: br-tm
    col: fail_mode
    value: secure
    timeout: 10
  register: set_plain

- name: Remove a key
  openvswitch_db:
    state: absent
    table: Bridge
    record: br-tm
    col: other_config
    key: keep
  register: removed

- name: Read the database back
  command: ovs-vsctl get Bridge br-tm other_config fail_mode
  register: got

- name: Write what happened
  copy:
    content: |
      {{ set_key.changed }} {{ set_key.commands }}
      {{ set_again.changed }} {{ set_again.commands }}
      {{ set_plain.changed }} {{ set_plain.commands }}
      {{ removed.changed }} {{ removed.commands }}
      {{ got.stdout }}
    dest: "{{ sandbox }}/ovs.txt"
"""

PLAYBOOK = """\
- name: tripleo-ansible's role-local openvswitch_db
  hosts: all
  gather_facts: false
  environment:
    OVS_RUNDIR: "{{ sandbox }}-ovs"  # each side talks to its own database
  roles:
    - role: ovs_local
"""


def _role_with_tripleo_module(base: Path) -> Path:
    playbook = base / "play" / "ovs.yml"
    role = playbook.parent / "roles" / "ovs_local"
    (role / "library").mkdir(parents=True)
    (role / "tasks").mkdir()
    shutil.copy(tripleo_ansible_tree() / LIBRARY, role / "library" / "openvswitch_db.py")
    (role / "tasks" / "main.yml").write_text(TASKS)
    playbook.write_text(PLAYBOOK)
    return playbook


def test_tripleo_openvswitch_db_declares_the_ports_options():
    path = tripleo_ansible_tree() / LIBRARY
    port, why = modules.role_local_port("openvswitch_db", path, "x/openvswitch_db.py")
    assert port == PORT, why


def test_a_role_local_module_with_other_options_keeps_its_stub(tmp_path):
    module = tmp_path / "openvswitch_db.py"
    module.write_text(textwrap.dedent('''\
        DOCUMENTATION = """
        module: openvswitch_db
        options:
          table: {required: true}
          record: {required: true}
          col: {required: true}
          bridge_mode: {required: false}
          state: {default: present, choices: [present, absent, latest]}
          timeout: {default: 30}
        """
        '''))
    port, why = modules.role_local_port("openvswitch_db", module, "x/openvswitch_db.py")
    assert port is None
    assert "'bridge_mode' is not one of the port's" in why
    assert "'latest'" in why and "defaults to 30" in why


@pytest.mark.directord
@pytest.mark.skipif(not shutil.which("ovsdb-server"), reason="needs openvswitch-switch "
                    "(apt-get install -y openvswitch-switch)")
def test_tripleo_openvswitch_db_does_on_directord_what_it_does_in_ansible(clean_directord_node):
    base = Path(tempfile.mkdtemp(prefix="tm-ovs-", dir="/tmp"))  # unix socket paths must stay short
    instances = [Ovs(base / "run" / "ansible-ovs"), Ovs(base / "run" / "directord-ovs")]
    try:
        playbook = _role_with_tripleo_module(base)
        for ovs in instances:
            ovs.start()
        outcome = verify_playbook(playbook, base / "run", clean_directord_node)
        assert outcome.ok, outcome.summary()
        # the commands name ovs-vsctl by its full path, which depends on the machine
        written = re.sub(r"'/\S+/ovs-vsctl ", "'", (base / "run" / "directord" / "ovs.txt").read_text()).splitlines()
        assert written[0] == "True ['-t 5 set Bridge br-tm other_config:tm-key=on']", written
        assert written[1] == "False []", written
        assert written[2] == "True ['-t 10 set Bridge br-tm fail_mode=secure']", written
        assert written[3] == "True ['-t 5 remove Bridge br-tm other_config keep']", written
        assert written[4] == '{tm-key=on}', written
        assert written[5] == "secure", written
    finally:
        for ovs in instances:
            ovs.stop()
        shutil.rmtree(base, ignore_errors=True)
