"""The Neutron-backed ports (tripleo_network.py, openstack_network.py) against the real modules and a
real neutron-server.

What is real:
- Neutron itself: `neutron` 29.0.0 from the package index, its dependencies pinned by
  tests/support/neutron-constraints.txt, installed once into its own venv under the cache dir (like
  test_runtime_ports_keystone.py's Keystone), served on 127.0.0.1 by wsgiref (neutron.server's
  api_server, the app neutron-api serves) in a process this file starts and stops by its PID:
  the ML2 plugin (flat, vlan, geneve and vxlan type drivers, vxlan for project networks, the
  port_security and dns extension drivers with a dns_domain, so that ports keep their dns_name; no
  mechanism driver: ports stay unbound, as no agent runs), the segments and router service
  plugins, sqlite (the schema made once from Neutron's models, as its own unit tests make it,
  kept beside the venv; each server runs on a copy),
  `auth_strategy = noauth` (openstacksdk's `auth_type: none` with the server as endpoint) and the
  oslo.messaging `fake:` transport (no broker; nothing listens for the notifications).
  Two servers run: one for the real modules, one for the ports.
- The modules: tripleo-ansible 6.0.0's, from the cached tree (ANSIBLE_LIBRARY/ANSIBLE_MODULE_UTILS),
  and openstack.cloud 2.5.0 from the `ansible` package, run by ansible-playbook -c local with this
  venv's openstacksdk and jsonschema, and metalsmith 2.5.0 (installed without its dependencies into
  the cache dir: tripleo_overcloud_network_ports imports it); the ports use the same openstacksdk in
  this process. The `cloud` comes from OS_CLOUD and OS_CLIENT_CONFIG_FILE in the task's environment,
  as tripleo's playbooks give it.

- For the metalsmith path of tripleo_overcloud_network_ports (`provisioned_instances`): one real
  Ironic (tests/support/ironic.py: all-in-one, fake-hardware, noop network, sqlite, noauth) that
  both sides read, with deployed nodes; metalsmith finds a node's NICs as the Neutron ports bound
  to it (binding:host_id), which the test makes on both Neutron servers before the cases run.
  Without Ironic (it cannot be installed) only the cases that need it are skipped.
Nothing is faked.

Each case works on resources named after its id (`@P@`): its networks, subnets and segments, its
stack (the ports' `tripleo_stack_name` tag), its security group (made before the tests on both
servers, with a `ctlplane` network and subnet and a network without tripleo tags); the cases that
use the OVN MAC address network (one per deployment) run in order in one group.

Compared: every step's result and the files the modules write (ids, times and the servers' ports
normalised; addresses and MAC addresses Neutron picked are named after the port that got them,
from listings of the ports taken after every step), then Neutron's state as the API lists it
(networks, subnets, segments, ports, security group rules) restricted to the case's own resources.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from test_runtime_modules import ANSIBLE_PLAYBOOK, RECORD_CALLBACK, Context
from test_runtime_ports import compared
from test_runtime_ports_keystone import free_port

from migrator.runtime.api import MODULES, ModuleFailed
from migrator.runtime.modules import openstack_network, tripleo_network  # noqa: F401  (registers the ports)

# one worker runs every case (the real modules' playbooks cover all the selected cases at once)
pytestmark = pytest.mark.xdist_group("neutron")

NEUTRON_PACKAGES = ("neutron==29.0.0",)
CONSTRAINTS = Path(__file__).parent / "support" / "neutron-constraints.txt"
METALSMITH = "metalsmith==2.5.0"
CLOUD = "overcloud"
P = "@P@"  # the case's id, in names
D = "@D@"  # the case's directory (files the modules write)
PARALLEL = 3

# ---------------------------------------------------------------------------
# Neutron


def built_dir(name, commands):
    """support.corpus.built_dir, skipping the test when the build fails."""
    from support.corpus import BuildError, built_dir as build
    try:
        return build(name, commands)
    except BuildError as exc:
        pytest.skip(str(exc))


def neutron_venv():
    """Neutron in a venv under the cache dir (about a minute and 350 MB the first time), with its
    database schema (made from Neutron's models) beside it."""
    digest = hashlib.sha256(("\n".join(NEUTRON_PACKAGES) + CONSTRAINTS.read_text()).encode()).hexdigest()[:12]

    def commands(tmp):
        python = str(tmp / "venv" / "bin" / "python")
        return ([sys.executable, "-m", "venv", str(tmp / "venv")],
                [python, "-m", "pip", "install", "--quiet", "-c", str(CONSTRAINTS), *NEUTRON_PACKAGES],
                [python, "-c", MKDB, "sqlite:///" + str(tmp / "neutron.db")])

    return built_dir("neutron-" + digest, commands)


def metalsmith_target():
    return built_dir("pip-target-nodeps-" + METALSMITH.replace("==", "-"), lambda tmp: [
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(tmp), METALSMITH]])


MKDB = """
import sys
from sqlalchemy import create_engine
from neutron.db.migration.models import head
head.get_metadata().create_all(create_engine(sys.argv[1]))
"""
# the venv was built elsewhere and renamed: run its python, not its scripts
SERVE = """
import os, sys
os.environ["OS_NEUTRON_CONFIG_DIR"] = os.path.dirname(sys.argv[1])
os.environ["OS_NEUTRON_CONFIG_FILES"] = os.path.basename(sys.argv[1])
port = int(sys.argv[2])
sys.argv = sys.argv[:1]
from wsgiref.simple_server import WSGIRequestHandler, make_server
from neutron import server
from neutron.server import api
application = server.boot_server(api.api_server, prog="neutron-api")
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass
make_server("127.0.0.1", port, application, handler_class=Quiet).serve_forever()
"""
CONF = """[DEFAULT]
core_plugin = ml2
service_plugins = segments,router
auth_strategy = noauth
transport_url = fake:/
api_paste_config = {venv}/etc/neutron/api-paste.ini
state_path = {d}/state
dns_domain = example.org.
log_file = {d}/neutron.log
[database]
connection = sqlite:///{d}/neutron.db
[oslo_concurrency]
lock_path = {d}/lock
[ml2]
type_drivers = flat,vlan,geneve,vxlan
project_network_types = vxlan
mechanism_drivers =
extension_drivers = port_security,dns
[ml2_type_flat]
flat_networks = *
[ml2_type_vlan]
network_vlan_ranges = datacentre:1:1000
[ml2_type_vxlan]
vni_ranges = 1:1000
[ml2_type_geneve]
vni_ranges = 1:1000
"""


class Neutron:
    """One neutron-server on a copy of the empty database."""

    def __init__(self, venv, root, port):
        self.root, self.port, self.url = root, port, "http://127.0.0.1:%d" % port
        for sub in ("state", "lock"):
            (root / sub).mkdir(parents=True)
        shutil.copy(venv / "neutron.db", root / "neutron.db")
        (root / "neutron.conf").write_text(CONF.format(d=root, venv=venv / "venv"))
        (root / "serve.py").write_text(SERVE)
        self.clouds = root / "clouds.yaml"
        self.baremetal(None)
        self.env = {"OS_CLIENT_CONFIG_FILE": str(self.clouds), "OS_CLOUD": CLOUD}
        self.log = open(root / "serve.log", "w")
        self.proc = subprocess.Popen([str(venv / "venv" / "bin" / "python"), str(root / "serve.py"),
                                      str(root / "neutron.conf"), str(port)], stdout=self.log, stderr=subprocess.STDOUT)
        self.addresses = {}  # case id -> {address or MAC address Neutron picked: its token}

    def baremetal(self, url):
        """The cloud, reaching Ironic at url too."""
        cloud = {"auth_type": "none", "auth": {"endpoint": self.url}, "network_endpoint_override": self.url + "/",
                 "region_name": "regionOne"}
        if url:
            cloud["baremetal_endpoint_override"] = url
        self.clouds.write_text(json.dumps({"clouds": {CLOUD: cloud}}))

    def wait(self):
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("neutron-server exited: %s" % (self.root / "neutron.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(self.url + "/v2.0/networks", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("neutron-server did not answer on %s" % self.url)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def connect(self):
        import openstack
        return openstack.connect(auth_type="none", auth={"endpoint": self.url},
                                 network_endpoint_override=self.url + "/", region_name="regionOne")

    def get(self, path):
        with urllib.request.urlopen(self.url + "/v2.0/" + path, timeout=30) as answer:
            return json.load(answer)

    def seed(self):
        """What the cases find made: the ctlplane network, a network without tripleo tags, security groups."""
        conn = self.connect()
        try:
            net = conn.network.create_network(name="ctlplane", dns_domain="ctlplane.example.tld.", mtu=1500,
                                              **{"provider:network_type": "flat",
                                                 "provider:physical_network": "ctlplane"})
            conn.network.create_subnet(name="ctlplane-subnet", network_id=net.id, ip_version=4, enable_dhcp=False,
                                       cidr="192.168.24.0/24", gateway_ip="192.168.24.1",
                                       allocation_pools=[{"start": "192.168.24.100", "end": "192.168.24.200"}])
            plain = conn.network.create_network(name="untagged-net")
            conn.network.create_subnet(name="untagged-subnet", network_id=plain.id, ip_version=4,
                                       cidr="10.99.0.0/24", enable_dhcp=False)
            for case_id in SECURITY_GROUP_CASES:
                conn.network.create_security_group(name=case_id + "-sg", description="made by the test")
            for case_id, nodes in METAL_CASES.items():  # the NICs of the deployed nodes, as metalsmith made them
                metal = conn.network.create_network(name=case_id + "-metal", **{
                    "provider:network_type": "flat", "provider:physical_network": case_id + "-metal"})
                conn.network.set_tags(metal, ["tripleo_network_name=Metal"])
                subnet = conn.network.create_subnet(name=case_id + "-metal-subnet", network_id=metal.id,
                                                    ip_version=4, cidr="10.98.0.0/24", enable_dhcp=False)
                for index, (uuid, hostname) in enumerate(nodes.items()):
                    conn.network.create_port(name="%s-nic%d" % (case_id, index), network_id=metal.id,
                                             binding_host_id=uuid, fixed_ips=[{"subnet_id": subnet.id}])
        finally:
            conn.close()

    def snapshot(self, case_id, ports=None):
        """Name the addresses and MAC addresses of the case's ports after the port (the cases' networks
        use the same ranges, so each case has its own names)."""
        names = self.addresses.setdefault(case_id, {})
        for port in self.get("ports")["ports"] if ports is None else ports:
            if not (port["name"].startswith(case_id) or port["dns_name"].startswith(case_id) or
                    "tripleo_stack_name=" + case_id in port["tags"]):
                continue
            owner = port["name"] or port["dns_name"] or port["id"]
            names.setdefault(port["mac_address"], "@MAC:%s@" % owner)
            for fixed in port["fixed_ips"]:
                names.setdefault(fixed["ip_address"], "@IP:%s@" % owner)


# the record callback, also listing Neutron's ports after every task
RECORDED = "        self.results[result.task.get_name()] = dict(result.result, **extra)"
SNAPSHOT_CALLBACK = RECORD_CALLBACK.replace(RECORDED, """\
        self.results[result.task.get_name()] = dict(result.result, **extra)
        import urllib.request
        with urllib.request.urlopen(os.environ["NEUTRON_URL"] + "/v2.0/ports", timeout=30) as answer:
            self.ports.append([result.task.get_name(), json.load(answer)["ports"]])""").replace("""\
        self.results = {}
""", """\
        self.results = {}
        self.ports = []
""").replace("json.dump(self.results, out, default=str)",
             "json.dump({'results': self.results, 'ports': self.ports}, out, default=str)")
assert "self.ports.append" in SNAPSHOT_CALLBACK and "'ports': self.ports" in SNAPSHOT_CALLBACK


def deploy_nodes(ironic, nodes):
    """Nodes {uuid: hostname} deployed (fake-hardware) with an allocation named after the host."""
    from support.ironic import FAKE_INTERFACES
    conn = ironic.connect()
    for uuid, hostname in nodes.items():
        node = conn.baremetal.create_node(id=uuid, driver="fake-hardware", resource_class="baremetal",
                                          **{"%s_interface" % i: "fake" for i in FAKE_INTERFACES})
        conn.baremetal.set_node_power_state(node, "power off", wait=True, timeout=60)
        for verb in ("manage", "provide"):
            node = conn.baremetal.set_node_provision_state(node, verb, wait=True, timeout=60)
        made = conn.baremetal.create_allocation(name=hostname, resource_class="baremetal", candidate_nodes=[uuid])
        conn.baremetal.wait_for_allocation(made, timeout=60)
        node = conn.baremetal.update_node(uuid, instance_info={
            "image_source": "http://127.0.0.1:9/overcloud-full.raw", "image_checksum": "0" * 64,
            "display_name": hostname})
        conn.baremetal.set_node_provision_state(node, "active", wait=True, timeout=60)


@pytest.fixture(scope="session")
def neutrons(tmp_path_factory):
    """{"real": Neutron, "port": Neutron}, seeded alike, and "ironic": the Ironic both read (or None)."""
    pytest.importorskip("openstack", reason="needs openstacksdk (the test extra)")
    from support.ironic import IronicServer, Unavailable, ironic_venv
    venv = neutron_venv()
    root = tmp_path_factory.mktemp("neutron")
    servers, ironic = {}, None
    try:
        try:
            ironic = IronicServer(ironic_venv() / "venv" / "bin" / "python", root / "ironic")
        except Unavailable:
            pass
        for side in ("real", "port"):
            servers[side] = Neutron(venv, root / side, free_port())
        for server in servers.values():
            server.wait().seed()
        if ironic is not None:
            ironic.wait()
            deploy_nodes(ironic, {uuid: host for nodes in METAL_CASES.values() for uuid, host in nodes.items()})
            for server in servers.values():
                server.baremetal(ironic.url)
        yield dict(servers, ironic=ironic)
    finally:
        for server in servers.values():
            server.stop()
        if ironic is not None:
            ironic.stop()


# ---------------------------------------------------------------------------
# cases


def step(module, args, check=False):
    return {"module": module, "args": args, "check": check}


def case(id, steps, group=None, files=()):
    """steps: step()s run one after the other; group: cases of one group run in order in one playbook;
    files: paths under the case's directory whose content is compared."""
    return pytest.param(dict(steps=steps, group=group, files=tuple(files)), id=id)


CN, UN, NPE = "tripleo_composable_network", "tripleo_unprovision_network", "tripleo_network_populate_environment"
VP, VPE = "tripleo_overcloud_network_vip_provision", "tripleo_overcloud_network_vip_populate_environment"
NP, NPP = "tripleo_overcloud_network_ports", "tripleo_network_ports_populate_environment"
SV, OVN = "tripleo_service_vip", "tripleo_ovn_mac_addresses"
PORT, RULE = "openstack.cloud.port", "openstack.cloud.security_group_rule"


def net(name, subnets, **extra):
    """A network_data v2 entry for the case: name P+name, name_lower lower(P)+name lower."""
    data = {"name": P + name, "subnets": {P + k: v for k, v in subnets.items()}}
    data.update(extra)
    return data


def v4(third, **extra):
    return dict({"ip_subnet": "172.%d.0.0/24" % third}, **extra)


# the networks of the VIP and port cases (each case its own copies, named after it)
NET_A = net("Internal", {"a1": v4(31, vlan=20, allocation_pools=[{"start": "172.31.0.10", "end": "172.31.0.90"}])},
            name_lower=P + "internal", vip=True)
NET_B = net("Storage", {"b1": v4(32), "b2": v4(33, gateway_ip="172.33.0.254",
                                               allocation_pools=[{"start": "172.33.0.100", "end": "172.33.0.200"}],
                                               routes=[{"destination": "172.32.0.0/24", "nexthop": "172.33.0.254"}])},
            name_lower=P + "storage", mtu=1400)
MAKE_NETS = [step(CN, {"net_data": NET_A, "idx": 1}), step(CN, {"net_data": NET_B, "idx": 2})]

CN_FULL = net("Tenant", {
    "t1": v4(20, gateway_ip="172.20.0.254", allocation_pools=[{"start": "172.20.0.10", "end": "172.20.0.250"}],
             routes=[{"destination": "172.21.0.0/24", "nexthop": "172.20.0.254"}], vlan=50),
    "t2": v4(21, vlan=51, physical_network="tenantleaf"),
}, name_lower=P + "tenant", dns_domain="tenant.example.tld.", mtu=1442, vip=True, service_net_map_replace="tenantx",
    admin_state_up=True)
CN_CHANGED = dict(CN_FULL, mtu=1500, dns_domain="other.example.tld.", subnets={
    P + "t1": v4(20, gateway_ip="172.20.0.1", allocation_pools=[{"start": "172.20.0.100", "end": "172.20.0.200"}],
                 vlan=60, enable_dhcp=False),
    P + "t2": v4(21, vlan=51, physical_network="tenantleaf"),
    P + "t3": v4(22)})
CN_V6 = net("Ext6", {
    "e1": {"ipv6_subnet": "2001:db8:a::/64", "gateway_ipv6": "2001:db8:a::1",
           "ipv6_allocation_pools": [{"start": "2001:db8:a::10", "end": "2001:db8:a::ff"}],
           "routes_ipv6": [{"destination": "2001:db8:b::/64", "nexthop": "2001:db8:a::1"}],
           "ipv6_address_mode": "dhcpv6-stateful", "ipv6_ra_mode": "dhcpv6-stateful", "enable_dhcp": True},
    "e2": {"ip_subnet": "172.22.0.0/24", "ipv6_subnet": "2001:db8:c::/64"},
}, ipv6=True)

NETWORK_CASES = [
    case("cn-lifecycle", [
        step(CN, {"net_data": CN_FULL, "idx": 3}), step(CN, {"net_data": CN_FULL, "idx": 3}),
        step(CN, {"net_data": CN_CHANGED, "idx": 4}), step(CN, {"net_data": CN_CHANGED, "idx": 4}, check=True),
        step(NPE, {"net_data": [CN_CHANGED], "templates": "/srv/tht"}),
        step(UN, {"net_data": CN_FULL}),  # t3 stays: the network cannot go
        step(UN, {"net_data": CN_CHANGED}), step(UN, {"net_data": CN_CHANGED})]),
    case("cn-defaults-v6", [  # no name_lower: the name lowered; the domain from ctlplane's
        step(CN, {"net_data": net("Plain", {"p1": v4(23)}), "idx": 5}),
        step(CN, {"net_data": CN_V6, "idx": 6}), step(CN, {"net_data": CN_V6, "idx": 6}),
        step(NPE, {"net_data": [net("Plain", {}), CN_V6, dict(net("Plain", {}), name_lower="nope")]}),
        step(NPE, {"net_data": [dict(CN_V6, ipv6=False), net("Plain", {})]})]),
    case("cn-read-only", [
        step(CN, {"net_data": net("Ro", {"r1": v4(24)}), "idx": 7}),
        step(CN, {"net_data": net("Ro", {"r1": v4(25)}), "idx": 7}),  # another cidr
        step(CN, {"net_data": net("Ro", {"r1": v4(24, physical_network="elsewhere")}), "idx": 7}),
        step(CN, {"net_data": net("Ro", {"r1": v4(24)}, ipv6=True), "idx": 7})]),
    case("cn-invalid", [
        step(CN, {"net_data": net("Bad", {"x1": {"ip_subnet": "300.1.0.0/24", "vlan": 5000}}), "idx": 8}),
        step(CN, {"net_data": {"name": "x", "subnets": {}, "colour": "blue", "dns_domain": "a..b"}, "idx": 8}),
        step(CN, {"net_data": {"subnets": {"s": {"ipv6_subnet": "10.0.0.0/8"}}}}),
        step(UN, {"net_data": {"name": "x"}}), step(CN, {"idx": 1}), step(NPE, {"net_data": [{"name": "nope"}]}),
        step(CN, {"net_data": net("Bad", {}), "idx": 8, "default_network": "x"}),
        step(CN, {"net_data": net("Bad", {}), "idx": "eight"})]),
]

CTL_IP = "192.168.24.%d"
VIP_CASES = [
    case("vip-lifecycle", MAKE_NETS + [
        step(VP, {"stack_name": P, "vip_data": [
            {"network": P + "internal"}, {"network": P + "storage", "subnet": P + "b2", "dns_name": "oc"},
            {"network": "ctlplane", "ip_address": CTL_IP % 10}]}),
        step(VPE, {"stack_name": P, "vip_data": [{"network": P + "internal"}, {"network": P + "storage"},
                                                 {"network": "ctlplane"}], "templates": "/srv/tht"}),
        step(VP, {"stack_name": P, "vip_data": [
            {"network": P + "internal", "name": "renamed_vip"}, {"network": P + "storage", "subnet": P + "b2"},
            {"network": "ctlplane", "ip_address": CTL_IP % 11, "name": "ctl_vip"}], "concurrency": 1}),
        step(VP, {"stack_name": P, "vip_data": [{"network": P + "storage", "ip_address": "172.32.0.50"}]}),
        step(VPE, {"stack_name": P, "vip_data": [{"network": P + "storage"}]}),
        step(VPE, {"stack_name": P, "vip_data": [{"network": P + "internal"}]}),
        step(VP, {"stack_name": P})]),
    case("vip-errors", MAKE_NETS + [
        step(VP, {"stack_name": P, "vip_data": [{"network": "nope"}]}),
        step(VP, {"stack_name": P, "vip_data": [{"network": P + "storage", "subnet": "nope"}]}),
        step(VP, {"stack_name": P, "vip_data": [{"network": P + "storage"}, {"network": P + "internal"}]}),
        step(VP, {"stack_name": P, "vip_data": [{"network": P + "internal", "ip_address": "10.0.0.1"}]}),
        step(VPE, {"stack_name": P, "vip_data": [{"network": P + "internal"}]}),
        step(VP, {"stack_name": P, "vip_data": "x"}),
        step(VPE, {"stack_name": P})]),
]

HOST_C, HOST_N = P + "-Ctrl-0", P + "-cmp-0"
INSTANCES = [
    {"hostname": HOST_C, "name": "Controller", "networks": [
        {"network": "ctlplane", "vif": True}, {"network": P + "internal"},
        {"network": P + "storage", "subnet": P + "b1"}]},
    {"hostname": HOST_N, "name": "Compute", "networks": [{"network": P + "internal"}]},
]
ROLES = {HOST_C: "Controller", HOST_N: "Compute"}
INSTANCES_2 = [
    {"hostname": HOST_C, "name": "Controller", "network_config": {"default_route_network": [P + "internal"]},
     "networks": [{"network": P + "internal", "fixed_ip": "172.31.0.200"}]},
    {"hostname": HOST_N, "name": "Compute", "networks": [
        {"network": P + "internal"}, {"network": P + "storage", "subnet": P + "b2", "port": P + "-pre"}]},
]
ROLE_NET_MAP = {"Controller": ["ctlplane", P + "internal", P + "storage"], "Compute": [P + "internal"]}
PORT_CASES = [
    case("ports-lifecycle", MAKE_NETS + [
        step(NP, {"stack_name": P, "instances": INSTANCES, "hostname_role_map": ROLES}),
        step(NP, {"stack_name": P, "instances": INSTANCES, "hostname_role_map": ROLES, "concurrency": 1}),
        step(NPP, {"environment": {"resource_registry": {"OS::X": "x.yaml"}}, "role_net_map": ROLE_NET_MAP,
                   "node_port_map": {"h": {"n": {"ip_address": "1.2.3.4"}}}, "templates": "/srv/tht"}),
        step(PORT, {"name": P + "-pre", "network": P + "storage", "fixed_ips": [{"ip_address": "172.32.0.77"}],
                    "no_security_groups": True}),
        step(NP, {"stack_name": P, "instances": INSTANCES_2, "state": "present",
                  "hostname_role_map": {HOST_C: "Controller", HOST_N: "Storage"}}),
        step(NP, {"stack_name": P, "instances": INSTANCES[1:], "state": "absent"}),
        step(NP, {"stack_name": P, "instances": INSTANCES, "state": "absent"}),
        step(NP, {"stack_name": P, "instances": [], "hostname_role_map": ROLES})]),
    case("ports-errors", MAKE_NETS + [
        step(NP, {"stack_name": P, "instances": [{"hostname": "h", "networks": [{"network": "nope"}]}],
                  "hostname_role_map": {"h": "R"}}),
        step(NP, {"stack_name": P, "instances": [{"hostname": P + "h", "networks": [{"network": P + "storage"}]}],
                  "hostname_role_map": {P + "h": "R"}}),
        step(NP, {"stack_name": P, "instances": [
            {"hostname": P + "h", "networks": [{"network": P + "storage", "subnet": "nope"}]}],
            "hostname_role_map": {P + "h": "R"}}),
        step(NP, {"stack_name": P, "instances": [
            {"hostname": P + "h", "networks": [{"network": P + "storage", "port": "nope"}]}],
            "hostname_role_map": {P + "h": "R"}}),
        step(NP, {"stack_name": P, "instances": [{"hostname": P + "h", "networks": []}]}),
        step(NP, {"stack_name": P, "instances": [{"hostname": P + "h", "networks": []}], "state": "gone"}),
        step(NP, {"stack_name": P}),
        step(NPP, {"role_net_map": {"R": ["nope"]}}), step(NPP, {"role_net_map": {"R": ["untagged-net"]}}),
        step(NPP, {"role_net_map": {"R": ["ctlplane"]}, "templates": "~/tht"})]),
]

# the metalsmith path: instances metalsmith deployed (one real Ironic node each), their NICs bound to them
METAL_CASES = {"ports-metalsmith": {"0b0f0000-0000-4000-8000-000000000001": "ports-metalsmith-ctrl-0",
                                    "0b0f0000-0000-4000-8000-000000000002": "ports-metalsmith-cmp-0"}}
M_C, M_N = "0b0f0000-0000-4000-8000-000000000001", "0b0f0000-0000-4000-8000-000000000002"
M_HOSTS = [{"hostname": P + "-ctrl-0", "id": M_C}, {"hostname": P + "-cmp-0", "id": M_N}]
M_INSTANCES = [
    {"hostname": P + "-ctrl-0", "name": "Controller", "networks": [
        {"network": P + "-metal", "vif": True}, {"network": P + "internal"}]},
    {"hostname": P + "-cmp-0", "name": "Compute", "network_config": {"default_route_network": [P + "-metal"]},
     "networks": [{"network": P + "-metal", "vif": True}, {"network": P + "storage", "subnet": P + "b1"}]},
]
M_ROLES = {P + "-ctrl-0": "Controller", P + "-cmp-0": "Compute"}
METAL_PORT_CASES = [
    case("ports-metalsmith", MAKE_NETS + [
        step(NP, {"stack_name": P, "instances": M_INSTANCES, "provisioned_instances": M_HOSTS,
                  "hostname_role_map": M_ROLES}),
        step(NP, {"stack_name": P, "instances": M_INSTANCES, "provisioned_instances": M_HOSTS,
                  "hostname_role_map": dict(M_ROLES, **{P + "-cmp-0": "ComputeHCI"}), "concurrency": 1}),
        step(NP, {"stack_name": P, "instances": M_INSTANCES[:1], "provisioned_instances": M_HOSTS[:1],
                  "hostname_role_map": M_ROLES, "state": "absent"}),
        step(NP, {"stack_name": P, "instances": M_INSTANCES, "provisioned_instances": [
            {"hostname": P + "-cmp-0", "id": "0b0f0000-0000-4000-8000-0000000000ff"}],
            "hostname_role_map": M_ROLES})]),
]

SVC = P + "redis"
SERVICE_VIP_CASES = [
    case("service-vip-lifecycle", MAKE_NETS + [
        step(SV, {"stack_name": P, "service_name": SVC, "network": P + "internal",
                  "fixed_ips": [{"subnet": P + "a1"}], "render_path": D + "/vips.yaml"}),
        step(SV, {"stack_name": P, "service_name": SVC, "network": P + "internal",
                  "fixed_ips": [{"subnet": P + "a1"}], "render_path": D + "/vips.yaml"}),
        step(SV, {"stack_name": P, "service_name": P + "ovndbs", "network": P + "storage",
                  "fixed_ips": [{"ip_address": "172.33.0.20"}, {"subnet": P + "b2"}], "playbook_dir": D}),
        step(SV, {"stack_name": P, "service_name": "nn", "network": "nonet",
                  "fixed_ips": [{"ip_address": "192.0.2.5", "use_neutron": False}], "render_path": D + "/vips.yaml"}),
        step(VP, {"stack_name": P, "vip_data": [{"network": "ctlplane", "ip_address": CTL_IP % 20}]}),
        step(SV, {"stack_name": P, "service_name": "ctl", "network": "ctlplane",
                  "fixed_ips": [{"subnet": "ctlplane-subnet"}], "render_path": D + "/vips.yaml"}),
        step(SV, {"stack_name": P, "service_name": "fallback", "network": "nonet",
                  "fixed_ips": [{"subnet": "x"}], "render_path": D + "/vips.yaml"}),
        step(SV, {"stack_name": P, "service_name": SVC, "state": "absent"}),
        step(SV, {"stack_name": P, "state": "absent"})], files=("vips.yaml", "service_vip_vars.yaml")),
    case("service-vip-errors", MAKE_NETS + [
        step(SV, {"stack_name": P, "service_name": "a", "network": P + "internal", "fixed_ips": [{"subnet": "x"}]}),
        step(SV, {"stack_name": P, "network": P + "internal", "render_path": D + "/v.yaml"}),
        step(SV, {"stack_name": P, "service_name": "b", "network": "nonet", "fixed_ips": [{"subnet": "x"}],
                  "render_path": D + "/v.yaml"}),
        step(SV, {"stack_name": P, "service_name": "c", "network": P + "internal", "fixed_ips": [{"subnet": "x"}],
                  "render_path": D + "/v.yaml"}),
        step(SV, {"stack_name": P, "service_name": "d", "network": P + "internal", "fixed_ips": [],
                  "render_path": D + "/v.yaml"}),
        step(SV, {"stack_name": P, "service_name": "e", "network": P + "internal",
                  "fixed_ips": [{"subnet": "x", "use_neutron": False}], "render_path": D + "/v.yaml"}),
        step(SV, {"stack_name": P, "service_name": "f", "network": P + "internal",
                  "fixed_ips": [{"ip_address": "1.2.3.4", "use_neutron": False}], "playbook_dir": D + "/nope"}),
        step(SV, {"stack_name": P, "service_name": "g", "network": P + "internal",
                  "fixed_ips": [{"ip_address": "1.2.3.4", "use_neutron": False}], "render_path": D}),
        step(SV, {"stack_name": P, "service_name": "h", "network": P + "internal", "render_path": D + "/v.yaml"}),
        step(SV, {"stack_name": P, "service_name": "h", "state": "maybe"})], files=("v.yaml",)),
]

MAPPINGS = "datacentre:br-ex, tenant:br-tenant"
OVN_CASES = [  # the OVN MAC address network is one for every stack: the group runs in order
    case("ovn-macs", [
        step(OVN, {"stack_name": P, "server_resource_names": [P + "-c0", P + "-c1"],
                   "ovn_bridge_mappings": ["datacentre:br-ex"], "playbook_dir": D}),
        step(OVN, {"stack_name": P, "server_resource_names": [P + "-c0", P + "-c1"],
                   "ovn_bridge_mappings": MAPPINGS, "playbook_dir": D, "ovn_static_bridge_mac_mappings": {}}),
        step(OVN, {"stack_name": P, "server_resource_names": [P + "-c1"], "ovn_bridge_mappings": MAPPINGS,
                   "playbook_dir": D, "concurrency": 1}),
        step(OVN, {"stack_name": P})], group="ovn", files=("ovn_bridge_mac_address_vars.yaml",)),
    case("ovn-static", [
        step(OVN, {"stack_name": P, "server_resource_names": [P + "-c0"], "ovn_bridge_mappings": MAPPINGS,
                   "playbook_dir": D, "ovn_static_bridge_mac_mappings": {
                       P + "-c0": {"datacentre": "00:00:5e:00:53:00"}}}),
        step(OVN, {"stack_name": P, "server_resource_names": [P + "-c0"], "ovn_bridge_mappings": MAPPINGS,
                   "playbook_dir": D + "/nope"}),
        step(OVN, {"stack_name": P, "server_resource_names": [P + "-c0"], "ovn_bridge_mappings": MAPPINGS,
                   "ovn_static_bridge_mac_mappings": {"x": {}}}),
        step(OVN, {"stack_name": P, "server_resource_names": [], "playbook_dir": D + "/nope"})],
        group="ovn", files=("ovn_bridge_mac_address_vars.yaml",)),
]

PORT_NET = net("Ports", {"q1": v4(40)}, name_lower=P + "ports")
PA = {"name": P + "-port", "network": P + "ports"}
OS_PORT_CASES = [
    case("os-port-lifecycle", [step(CN, {"net_data": PORT_NET, "idx": 1}),
                     step(PORT, dict(PA, fixed_ips=[{"ip_address": "172.40.0.5"}], no_security_groups=True,
                                     state="present"), check=True),
                     step(PORT, dict(PA, fixed_ips=[{"ip_address": "172.40.0.5"}], no_security_groups=True,
                                     state="present")),
                     step(PORT, dict(PA, fixed_ips=[{"ip_address": "172.40.0.5"}], no_security_groups=True)),
                     step(PORT, dict(PA, description="d", admin_state_up=False), check=True),
                     step(PORT, dict(PA, description="d", admin_state_up=False, dns_name="h")),
                     step("os_port", dict(PA, name=P + "-dyn", no_security_groups=True)),
                     step(PORT, dict(PA, state="absent"), check=True), step(PORT, dict(PA, state="absent")),
                     step(PORT, dict(PA, state="absent")), step(PORT, {"name": P + "-dyn", "state": "absent"})]),
    case("os-port-errors", [step(CN, {"net_data": PORT_NET, "idx": 1}),
                            step(PORT, {"name": P + "-x"}), step(PORT, dict(PA, network="nope")),
                            step(PORT, dict(PA, no_security_groups=True, security_groups=["default"])),
                            step(PORT, dict(PA, security_groups=["nope"])),
                            step(PORT, dict(PA, fixed_ips=[{"ip_address": "10.9.9.9"}])),
                            step(PORT, dict(PA, cloud="nope"))]),
]

SG = P + "-sg"
R = {"security_group": SG, "protocol": "tcp", "port_range_min": 514, "port_range_max": 514,
     "remote_ip_prefix": "0.0.0.0/0"}
RULE_CASES = [
    case("sg-rule-lifecycle", [
        step(RULE, R, check=True), step(RULE, R), step(RULE, R), step(RULE, dict(R, protocol="udp")),
        step(RULE, {"security_group": SG, "protocol": "icmp", "port_range_min": -1, "port_range_max": -1,
                    "ethertype": "IPv6", "direction": "egress", "description": "ping"}),
        step(RULE, {"security_group": SG, "protocol": "tcp", "port_range_min": 1, "port_range_max": 65535}),
        step(RULE, {"security_group": SG, "protocol": "tcp"}),
        step(RULE, {"security_group": SG, "protocol": "any"}),
        step(RULE, dict(R, state="absent"), check=True), step(RULE, dict(R, state="absent")),
        step(RULE, dict(R, state="absent"))]),
    case("sg-rule-errors", [
        step(RULE, dict(R, security_group="nope")), step(RULE, dict(R, remote_group=SG)),
        step(RULE, dict(R, port_range_min=600, port_range_max=500)), step(RULE, {"protocol": "tcp"}),
        step(RULE, dict(R, remote_group="nope", remote_ip_prefix=None))]),
]
SECURITY_GROUP_CASES = ("sg-rule-lifecycle", "sg-rule-errors")

CASES = (NETWORK_CASES + VIP_CASES + PORT_CASES + METAL_PORT_CASES + SERVICE_VIP_CASES + OVN_CASES + OS_PORT_CASES +
         RULE_CASES)
TEST = "test_neutron_port_matches_real_module["
# a case owns what starts with its id: no id may start another
assert not [a.id for a in CASES for b in CASES if a is not b and b.id.startswith(a.id)]


def substitute(value, case_id, case_dir):
    """@P@ in names; lowered where Neutron or the module lowers (name_lower, dns names)."""
    return json.loads(json.dumps(value).replace(D, str(case_dir)).replace(P, case_id))


def chunks(cases):
    groups = {}
    for param in cases:
        groups.setdefault(param.values[0]["group"], []).append(param)
    free = groups.pop(None, [])
    out = list(groups.values())
    out += [free[index::PARALLEL] for index in range(PARALLEL)]
    return [chunk for chunk in out if chunk]


def run_playbook(chunk, root, server, extra_env):
    tasks = []
    for param in chunk:
        case_dir = root / param.id
        case_dir.mkdir(parents=True)
        for index, s in enumerate(param.values[0]["steps"]):
            tasks.append({"name": "%s#%d" % (param.id, index), "ignore_errors": True, "check_mode": s["check"],
                          "no_log": False, "environment": server.env,
                          s["module"]: substitute(s["args"], param.id, case_dir)})
    playbook = root / ("playbook-%s.yml" % chunk[0].id)
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    callbacks = root / ("callbacks-%s" % chunk[0].id)
    callbacks.mkdir()
    (callbacks / "record.py").write_text(SNAPSHOT_CALLBACK)
    record = root / ("record-%s.json" % chunk[0].id)
    env = dict(extra_env, ANSIBLE_STDOUT_CALLBACK="record", ANSIBLE_CALLBACK_PLUGINS=str(callbacks),
               RECORD_FILE=str(record), NEUTRON_URL=server.url, ANSIBLE_DEPRECATION_WARNINGS="0",
               ANSIBLE_PIPELINING="1")
    proc = subprocess.Popen([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook),
                             "-e", "ansible_python_interpreter=" + sys.executable],
                            env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, record


# ---------------------------------------------------------------------------
# normalising and reading Neutron back

UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ?\b")
REQUEST_ID = re.compile(r"req-[0-9a-f-]{36}")
HOST = re.compile(r"\bhost-(\d{1,3}(?:-\d{1,3}){3})\b")
ADDRESS = re.compile(r"(?<![\w:.])(?:[0-9a-f]{2}(?::[0-9a-f]{2}){5}|\d{1,3}(?:\.\d{1,3}){3}|"
                     r"[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7})(?![\w:.])")


def normalise(value, server, case_id, case_dir, given, addresses=True):
    """given: the addresses the case's arguments ask for (kept as they are); addresses: name the ones
    Neutron picked after their port."""
    if isinstance(value, str):
        value = value.replace(str(case_dir), "@D@").replace("127.0.0.1:%d" % server.port, "@NEUTRON@")
        value = REQUEST_ID.sub("req-@REQ@", TIME.sub("@TIME@", UUID.sub("@ID@", value)))
        if not addresses:
            return value

        def token(address):
            return address if address in given else server.addresses.get(case_id, {}).get(address, address)

        # Neutron's dns_assignment names a port without dns_name after its address
        value = HOST.sub(lambda m: "host-" + token(m.group(1).replace("-", ".")), value)
        return ADDRESS.sub(lambda m: token(m.group(0)), value)
    if isinstance(value, list):
        return [normalise(item, server, case_id, case_dir, given, addresses) for item in value]
    if isinstance(value, dict):
        return {normalise(k, server, case_id, case_dir, given, addresses):
                normalise(v, server, case_id, case_dir, given, addresses)
                for k, v in value.items()}
    return value


def neutron_state(server):
    """Networks, subnets, segments, ports and security group rules as the API lists them, by name."""
    networks = server.get("networks")["networks"]
    subnets = server.get("subnets")["subnets"]
    segments = server.get("segments")["segments"]
    ports = server.get("ports")["ports"]
    groups = server.get("security-groups")["security_groups"]
    names = {item["id"]: item["name"] for item in networks + subnets + groups}
    names.update({s["id"]: "segment:%s/%s" % (s["name"], s["physical_network"]) for s in segments})
    drop = ("id", "created_at", "updated_at", "revision_number", "project_id", "tenant_id", "network_id",
            "subnet_id", "subnets", "segment_id", "security_group_id", "security_groups", "remote_group_id",
            "status", "standard_attr_id", "availability_zone_hints", "availability_zones", "ipv4_address_scope",
            "ipv6_address_scope", "subnetpool_id", "provider:segmentation_id")

    def entry(item):
        out = {k: v for k, v in item.items() if k not in drop}
        for key in ("network_id", "segment_id", "security_group_id", "remote_group_id"):
            if item.get(key):
                out[key[:-3]] = names.get(item[key], item[key])
        if "subnets" in item:
            out["subnets"] = sorted(names.get(i, i) for i in item["subnets"])
        if "security_groups" in item:
            out["security_groups"] = sorted(names.get(i, i) for i in item["security_groups"])
        if "fixed_ips" in item:
            out["fixed_ips"] = sorted([names.get(f["subnet_id"]), f["ip_address"]] for f in item["fixed_ips"])
        if "tags" in item:
            out["tags"] = sorted(item["tags"])
        return out

    return {
        "network": {n["name"]: entry(n) for n in networks},
        "subnet": {"%s/%s" % (names[s["network_id"]], s["name"]): entry(s) for s in subnets},
        "segment": sorted([names[s["network_id"]], s["name"], s["physical_network"], s["network_type"]]
                          for s in segments),
        "port": {"%s/%s/%s" % (names[p["network_id"]], p["name"], p["dns_name"]): entry(p) for p in ports},
        "rule": sorted(json.dumps(entry(r), sort_keys=True) for g in groups for r in g["security_group_rules"]),
    }


def case_state(state, case_id, server, case_dir, given):
    """What belongs to the case: names and tags carrying its id (the ctlplane VIPs by their stack tag)."""
    def mine(key, item):
        return key.startswith(case_id) or "tripleo_stack_name=" + case_id in item.get("tags", ())

    out = {kind: {k: v for k, v in items.items() if mine(k, v)} for kind, items in state.items()
           if isinstance(items, dict)}
    out["segment"] = [s for s in state["segment"] if s[0].startswith(case_id)]
    out["rule"] = [r for r in state["rule"] if json.loads(r).get("security_group") == case_id + "-sg"]
    # addresses a port got are named after it in ports only: an allocation pool's bound stays a bound
    return {kind: normalise(items, server, case_id, case_dir, given, addresses=kind == "port")
            for kind, items in out.items()}


def given_addresses(spec, case_id):
    """The addresses the case asks ports to have (fixed_ips' ip_address, the instances' fixed_ip)."""
    found = set()

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("ip_address", "fixed_ip") and isinstance(item, str):
                    found.add(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk([s["args"] for s in spec["steps"]])
    return found


def read_files(case_dir, names):
    out = {}
    for name in names:
        path = case_dir / name
        out[name] = yaml.safe_load(path.read_text()) if path.is_file() else None
    return out


# ---------------------------------------------------------------------------
# the test


@pytest.fixture(scope="session")
def neutron_runs(request, tmp_path_factory, neutrons):
    """What the real modules did, per selected case: {id: (results, case dir)}, and Neutron's state after."""
    from support.corpus import ansible_env, ansible_extras, tripleo_ansible_tree
    ids = {item.callspec.id for item in request.session.items if item.name.startswith(TEST)}
    chosen = [p for p in CASES if p.id in ids and (neutrons["ironic"] or p.id not in METAL_CASES)]
    server = neutrons["real"]
    env = ansible_env(tripleo_ansible_tree(), ansible_extras())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(metalsmith_target()), env.get("PYTHONPATH")]))
    root = tmp_path_factory.mktemp("neutron-real")
    started = [(chunk,) + run_playbook(chunk, root, server, env) for chunk in chunks(chosen)]
    runs = {}
    for chunk, proc, record in started:
        output = proc.communicate()[0]
        assert record.exists(), output
        recorded = json.loads(record.read_text())
        for task, listing in recorded["ports"]:
            server.snapshot(task.rpartition("#")[0], listing)
        for param in chunk:
            runs[param.id] = ([recorded["results"]["%s#%d" % (param.id, i)]
                               for i in range(len(param.values[0]["steps"]))], root / param.id)
    return runs, neutron_state(server)


def comparable(result, server, case_id, case_dir, given):
    result = normalise(compared(dict(result), ()), server, case_id, case_dir, given)
    result.setdefault("changed", False)
    if result.get("failed") is False:  # ansible-core drops failed: false from a result
        del result["failed"]
    if str(result.get("msg", "")).startswith("Failed schema validation"):
        # jsonschema reports additionalProperties in the order of a set of strings: random per process
        result["msg"] = sorted(result["msg"].split("\n\n"))
    return result


@pytest.mark.parametrize("spec", CASES)
def test_neutron_port_matches_real_module(spec, request, neutron_runs, neutrons, tmp_path, monkeypatch):
    case_id = request.node.callspec.id
    if case_id in METAL_CASES:
        if not neutrons["ironic"]:
            pytest.skip("Ironic cannot be installed here")
        monkeypatch.syspath_prepend(str(metalsmith_target()))  # the port imports metalsmith on the node
    runs, real_state = neutron_runs
    ran, real_dir = runs[case_id]
    server, real = neutrons["port"], neutrons["real"]
    given = given_addresses(spec, case_id)
    case_dir = tmp_path / case_id
    case_dir.mkdir()
    ctx = Context(environment=server.env)
    got_all = []
    for s in spec["steps"]:
        ctx.check_mode, ctx.warnings = s["check"], []
        try:
            got = MODULES[s["module"]](substitute(s["args"], case_id, case_dir), ctx)
        except ModuleFailed as ex:
            got = ex.result
        server.snapshot(case_id)
        got_all.append(got)
    for index, (s, got, expected) in enumerate(zip(spec["steps"], got_all, ran)):
        assert comparable(got, server, case_id, case_dir, given) == \
            comparable(expected, real, case_id, real_dir, given), \
            "step %d: %s %s" % (index, s["module"], s["args"])
    assert normalise(read_files(case_dir, spec["files"]), server, case_id, case_dir, given) == \
        normalise(read_files(real_dir, spec["files"]), real, case_id, real_dir, given)
    assert case_state(neutron_state(server), case_id, server, case_dir, given) == \
        case_state(real_state, case_id, real, real_dir, given)
