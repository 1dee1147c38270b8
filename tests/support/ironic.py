"""A real Ironic for tests: the `ironic` package from the package index in a venv under the cache dir,
served all-in-one (API and conductor in one process, `rpc_transport = none`) on 127.0.0.1 with
sqlite, `auth_strategy = noauth`, the fake-hardware type with its fake interfaces and the noop
network interface: no agents, no BMC, no Neutron, no Glance, no Keystone.

sqlite: Ironic retries most writes that find the database locked, but not all (an allocation's
update is not retried, and the allocation then stays `allocating`, which metalsmith waits for
without end; WAL mode makes such failures more frequent, not less): the power state sync that
writes every node's state periodically is off, make_nodes makes allocations one at a time, and a
test should give each process that writes in parallel with others a server of its own.

IronicServer starts one server on a copy of a schema made once (`ironic-dbsync create_schema`),
stops it by its PID (its own process group), writes a clouds.yaml whose cloud `CLOUD` reaches it
(`auth_type: none`, `baremetal_endpoint_override`) and makes nodes with fixed UUIDs in a given
state (make_nodes), so that two servers can be given the same nodes.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from concurrent import futures
from pathlib import Path

IRONIC_PACKAGES = ("ironic==39.0.0",)
CLOUD = "undercloud"
FAKE_INTERFACES = ("bios", "boot", "console", "deploy", "firmware", "inspect", "management", "power", "raid",
                   "rescue", "vendor")

CONF = """[DEFAULT]
auth_strategy = noauth
rpc_transport = none
host = tm-ironic
enabled_hardware_types = fake-hardware
enabled_bios_interfaces = fake,no-bios
enabled_boot_interfaces = fake
enabled_console_interfaces = fake,no-console
enabled_deploy_interfaces = fake
enabled_firmware_interfaces = fake,no-firmware
enabled_inspect_interfaces = fake,no-inspect
enabled_management_interfaces = fake
enabled_network_interfaces = noop
enabled_power_interfaces = fake
enabled_raid_interfaces = fake,no-raid
enabled_rescue_interfaces = fake,no-rescue
enabled_storage_interfaces = noop
enabled_vendor_interfaces = fake,no-vendor
default_network_interface = noop
log_file = {d}/ironic.log
use_stderr = false
[api]
host_ip = 127.0.0.1
port = {port}
[database]
connection = sqlite:///{d}/ironic.db
[dhcp]
dhcp_provider = none
[conductor]
sync_power_state_interval = 0
"""

SCHEMA = "create_schema, rollback journal"  # what schema() makes (its cache key, with CONF)

# the venv was built elsewhere and renamed: its scripts' #! lines are stale, its python is not
SERVE = "import sys; from ironic.command.singleprocess import main; sys.argv[0] = 'ironic'; sys.exit(main())"


class Unavailable(Exception):
    """Ironic cannot be installed here (the message says why)."""


def ironic_venv():
    """A venv under the cache dir with Ironic (about a minute and 200 MB the first time)."""
    from support.corpus import BuildError, venv_dir
    name = "ironic-" + hashlib.sha256("\n".join(IRONIC_PACKAGES).encode()).hexdigest()[:12]
    try:
        return venv_dir(name, *IRONIC_PACKAGES)
    except BuildError as ex:
        raise Unavailable(str(ex)) from None


MAKE_SCHEMA = """
import os, sys
directory, conf_text = sys.argv[1], sys.argv[2]
conf = os.path.join(directory, "ironic.conf")
with open(conf, "w") as out:
    out.write(conf_text)
sys.argv = ["ironic-dbsync", "--config-file", conf, "create_schema"]
from ironic.command.dbsync import main
main()
for name in ("ironic.conf", "ironic.log"):
    if os.path.exists(os.path.join(directory, name)):
        os.remove(os.path.join(directory, name))
"""


def schema(python):
    """An empty Ironic database (create_schema), made once in the cache dir."""
    from support.corpus import built_dir
    venv = python.parent.parent.parent
    name = "%s-schema-%s" % (venv.name, hashlib.sha256((CONF + SCHEMA).encode()).hexdigest()[:12])
    return built_dir(name, lambda tmp: [[str(python), "-c", MAKE_SCHEMA, str(tmp), CONF.format(d=tmp, port=1)]]) \
        / "ironic.db"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class IronicServer:
    """One all-in-one Ironic on a copy of the empty schema, in a process group of its own."""

    def __init__(self, python, root):
        self.root, self.port = Path(root), free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.root.mkdir(parents=True)
        shutil.copy(schema(python), self.root / "ironic.db")
        (self.root / "ironic.conf").write_text(CONF.format(d=self.root, port=self.port))
        self.clouds = self.root / "clouds.yaml"
        self.clouds.write_text(json.dumps({"clouds": {CLOUD: {
            "auth_type": "none", "baremetal_endpoint_override": self.url}}}))
        self.log = open(self.root / "serve.log", "w")
        self.proc = subprocess.Popen([str(python), "-c", SERVE, "--config-file", str(self.root / "ironic.conf")],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def with_network(self, cloud, url):
        """A second cloud in the clouds.yaml, reaching Ironic and the Neutron at url."""
        clouds = json.loads(self.clouds.read_text())
        clouds["clouds"][cloud] = dict(clouds["clouds"][CLOUD], network_endpoint_override=url + "/",
                                       region_name="regionOne")
        self.clouds.write_text(json.dumps(clouds))

    @property
    def environment(self):
        """What a task's environment holds to reach this server as tripleo-ansible's playbooks do."""
        return {"OS_CLIENT_CONFIG_FILE": str(self.clouds), "OS_CLOUD": CLOUD}

    def wait(self, timeout=120):
        """Until the API answers and the conductor has registered the fake-hardware type."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ironic exited: %s" % self.logs())
            try:
                with urllib.request.urlopen(self.url + "/v1/drivers", timeout=2) as answer:
                    if answer.status == 200 and json.load(answer)["drivers"]:
                        return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("ironic did not answer on %s: %s" % (self.url, self.logs()))

    def logs(self):
        text = ""
        for name in ("serve.log", "ironic.log"):
            path = self.root / name
            if path.exists():
                text += path.read_text(errors="replace")[-3000:]
        return text

    def terminate(self):
        """SIGTERM to its process group (the server's PID), without waiting (stop waits)."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def stop(self):
        """SIGTERM to its process group (the server's PID), SIGKILL after 5 s."""
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.log.close()

    def connect(self):
        import openstack
        return openstack.connect(auth_type="none", baremetal_endpoint_override=self.url)


IMAGE = {"image_source": "http://127.0.0.1:9/overcloud-full.raw", "image_checksum": "0" * 64}


def make_nodes(server, nodes):
    """Nodes {uuid: {"name", "state", "resource_class", "properties", "traits", ...}} on the server.

    state: enroll, manageable (power off, managed), available (then provided: fake cleaning) or
    active (deployed by the fake deploy interface with an HTTP image; "hostname" names its allocation
    and instance_info's display_name, "allocation": False deploys it without an allocation and with
    the node's UUID as instance UUID, as nodes deployed before allocations existed), each with every
    fake interface: created one at a time, moved to their states in parallel, deployed one at a time.
    """
    conn = server.connect()

    def create(uuid, spec):
        spec = dict(spec)
        for key in ("state", "traits", "hostname", "allocation"):
            spec.pop(key, None)
        node = conn.baremetal.create_node(
            id=uuid, driver="fake-hardware", resource_class=spec.pop("resource_class", "baremetal"),
            **dict({"%s_interface" % i: "fake" for i in FAKE_INTERFACES}, **spec))
        if nodes[uuid].get("traits"):  # not retried by Ironic when sqlite is locked: one at a time
            conn.baremetal.set_node_traits(node, nodes[uuid]["traits"])

    def wait(uuid, field, value):
        """Until the node's field has the value (openstacksdk's waits poll every 2 s: 0.2 s here)."""
        deadline = time.time() + 60
        while True:
            node = conn.baremetal.get_node(uuid, fields=["uuid", field, "last_error", "target_provision_state"])
            if getattr(node, field) == value and not node.target_provision_state:
                return node
            assert time.time() < deadline and "failed" not in str(node.provision_state), (
                "node %s: %s is %s, not %s (%s)" % (uuid, field, getattr(node, field), value, node.last_error))
            time.sleep(0.2)

    def make(uuid, spec):
        state = spec.get("state", "available")
        if state == "enroll":
            return
        conn.baremetal.set_node_power_state(uuid, "power off")
        wait(uuid, "power_state", "power off")
        conn.baremetal.set_node_provision_state(uuid, "manage")
        wait(uuid, "provision_state", "manageable")
        if state in ("available", "active"):
            conn.baremetal.set_node_provision_state(uuid, "provide")
            wait(uuid, "provision_state", "available")

    def deploy(uuid, spec):
        hostname = spec.get("hostname")
        if spec.get("allocation", True):
            for attempt in range(3):  # an allocation Ironic could not save (sqlite) fails: make it again
                made = conn.baremetal.create_allocation(name=hostname, resource_class=spec.get("resource_class",
                                                                                                "baremetal"),
                                                        candidate_nodes=[uuid])
                deadline = time.time() + 60
                while made.state == "allocating" and time.time() < deadline:
                    time.sleep(0.2)
                    made = conn.baremetal.get_allocation(made.id)
                if made.state == "active" or attempt == 2:
                    assert made.state == "active", made.last_error
                    break
                conn.baremetal.delete_allocation(made)
        info = dict(IMAGE, display_name=hostname) if hostname else dict(IMAGE)
        # without an allocation, an instance UUID (the node's) says the node is in use, as Nova set it
        extra = {} if spec.get("allocation", True) else {"instance_id": uuid}
        conn.baremetal.update_node(uuid, instance_info=info, **extra)
        conn.baremetal.set_node_provision_state(uuid, "active")
        wait(uuid, "provision_state", "active")

    for uuid, spec in nodes.items():
        create(uuid, spec)
    with futures.ThreadPoolExecutor(max_workers=8) as pool:
        for job in [pool.submit(make, uuid, spec) for uuid, spec in nodes.items()]:
            job.result()
    for uuid, spec in nodes.items():  # one at a time: allocations and sqlite (see above)
        if spec.get("state") == "active":
            deploy(uuid, spec)


STABLE_STATES = frozenset(["enroll", "manageable", "available", "active", "clean failed", "deploy failed",
                           "inspect failed", "error", "rescue", "rescue failed", "unrescue failed", "adopt failed",
                           "service failed"])


def settle(server, uuids, timeout=60):
    """Wait until none of the nodes is on its way to another provision state (an unprovisioned node
    goes on cleaning after the module returned) and none is locked; bounded by timeout."""
    conn = server.connect()
    deadline = time.time() + timeout
    while True:
        busy = [node.id for node in conn.baremetal.nodes(fields=["uuid", "provision_state", "reservation"])
                if node.id in uuids and (node.provision_state not in STABLE_STATES or node.reservation)]
        if not busy or time.time() > deadline:
            return busy
        time.sleep(0.3)
