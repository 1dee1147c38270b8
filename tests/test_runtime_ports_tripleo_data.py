"""tripleo-ansible's data and node-file ports against the real modules (tests/test_runtime_ports_more.py's style).

Each case runs twice on identical inputs: once by the real module (or action plugin) from the
cached tripleo-ansible 6.0.0 tree through ansible-playbook -c local (ANSIBLE_LIBRARY,
ANSIBLE_MODULE_UTILS, ANSIBLE_ACTION_PLUGINS as tests/support/corpus.py ansible_env sets
them; openstack.cloud from the `ansible` package), once by the port, each on its own copy of
the case's tree; results and trees must agree.

- tripleo_baremetal_expand_roles, tripleo_unmanaged_populate_environment and
  tripleo_generate_inventory_network_config: pure data, all real. The expand module imports
  metalsmith (and openstacksdk) through module_utils/baremetal_deploy.py: the real metalsmith
  2.5.0 from the package index is installed once into the test cache (pip --target) and put
  on the module's PYTHONPATH; jsonschema is the venv's. The port needs neither.
- tripleo_ovs_upgrade: rpm, dnf and ovs-vsctl are fakes (first on PATH, found through the real
  `env`) that answer from the case's fake.json and record their calls there.
- container_puppet_config writes under /var/lib/tripleo-config, and container_systemd under
  /etc/systemd/system, fixed paths: the real side runs each case in its own mount namespace
  (`unshare -m`, root) with the case's varlib/ bound on /var/lib and unitdir/ on
  /etc/systemd/system; the port's module-level path constants point at the same places of its
  own tree. container_systemd's systemctl is a fake that keeps unit states in fake.json and
  records its calls. ansible-core 2.19 no longer renders template text that a plugin reads
  itself unless it is marked trusted (data tagging), so the real plugin runs through a
  subclass whose only change marks the unit template trusted, as every ansible-core before
  2.19 treated it; the port gets the template as the converter passes it (`_unit_template`).
  The port's 5 s between service retries is set to 0 (the real plugin waits).
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap

import pytest
from test_runtime_modules import ANSIBLE_PLAYBOOK, D, DIR, RECORD_CALLBACK, make_tree
from test_runtime_ports import FAKE, compared, normalise
from test_runtime_ports_more import age, case

from migrator.runtime.api import MODULES, ModuleFailed
from migrator.runtime.core import RuntimeContext
from migrator.runtime.modules import (  # noqa: F401  (importing registers the ports)
    container_puppet_config, container_systemd, tripleo_baremetal_expand_roles,
    tripleo_generate_inventory_network_config, tripleo_ovs_upgrade, tripleo_unmanaged_populate_environment)
from migrator.runtime.templating import Templar, Vars

# Its real side runs every case once per session (a session fixture): on one xdist worker only
pytestmark = pytest.mark.xdist_group("runtime_ports_tripleo_data")

NO_URL = "http://unused"
FAKES = "@FAKES@"
METALSMITH = "@METALSMITH@"
METALSMITH_VERSION = "metalsmith==2.5.0"


def tcase(id, module, args, tree=None, check=False, fake=None, env=None, ignore=(), vars=None,
          namespace=False):
    """case() plus task vars and, for modules with fixed paths, a mount namespace of their own."""
    param = case(id, module, args, tree, check=check, fake=fake, env=env, ignore=ignore)
    param.values[0].update(vars=dict(vars or {}), namespace=namespace)
    return param


def fake_tool(body):
    return FAKE.format(python=sys.executable, body=textwrap.dedent(body))


FAKE_BODIES = {
    # units: {name: {ActiveState, Result, UnitFileState}}; unknown tripleo_* units are loaded,
    # inactive and disabled
    "systemctl": '''
args = [a for a in sys.argv[1:] if a not in ("-l", "--no-block")]
units = state.setdefault("units", {})
def unit(name):
    return units.setdefault(name, {"ActiveState": "inactive", "Result": "success", "UnitFileState": "disabled"})
verb = args[0] if args else ""
if verb == "show":
    name = args[1].strip("'")
    if name.startswith("tripleo_"):
        u = unit(name)
        print("Id=%s\\nLoadState=loaded\\nActiveState=%s\\nResult=%s\\nUnitFileState=%s"
              % (name, u["ActiveState"], u["Result"], u["UnitFileState"]))
    else:
        print("Id=%s\\nLoadState=not-found\\nActiveState=inactive\\nResult=success" % name)
elif verb == "is-enabled":
    u = unit(args[1].strip("'"))
    print(u["UnitFileState"])
    rc = 0 if u["UnitFileState"] == "enabled" else 1
elif verb in ("start", "restart"):
    unit(args[1].strip("'"))["ActiveState"] = "active"
elif verb == "stop":
    unit(args[1].strip("'"))["ActiveState"] = "inactive"
elif verb in ("enable", "disable"):
    unit(args[1].strip("'"))["UnitFileState"] = verb + "d"
''',
    # installed: rpm -qa lines; info: rpm -qi NAME -> version; scripts: rpm -q --scripts output
    "rpm": '''
import fnmatch
args = sys.argv[1:]
installed = state.setdefault("installed", [])
if state.get("rpm_rc"):
    sys.stderr.write("error: rpmdb open failed\\n"); rc = state["rpm_rc"]
elif args == ["-qa"]:
    print("\\n".join(installed))
elif args[0] == "-qa":
    print("\\n".join(p for p in installed if fnmatch.fnmatch(p, args[1])))
elif args[0] == "-qi":
    version = state.get("info", {}).get(args[1])
    if version:
        print("Name        : %s\\nVersion     : %s\\nRelease     : 1.el9" % (args[1], version))
    else:
        print("package %s is not installed" % args[1]); rc = 1
elif args[:2] == ["-q", "--scripts"]:
    print(state.get("scripts", ""))
elif args[0] == "-e":
    names = [a for a in args[1:] if not a.startswith("-")]
    state["installed"] = [p for p in installed if p not in names]
''',
    # dnf_info: what `dnf info -q NAME` prints
    "dnf": '''
args = sys.argv[1:]
if args[:2] == ["info", "-q"]:
    print(state.get("dnf_info", {}).get(args[2], ""))
elif args[:2] == ["upgrade", "-y"]:
    print("Upgraded: %s" % args[2])
    state.setdefault("installed", []).append(args[2] + "-new")
''',
    "ovs-vsctl": '''
rc = state.get("ovs_vsctl_rc", 0)
if rc:
    sys.stderr.write("ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed\\n")
''',
}
FAKE_ENV = {"PATH": FAKES + ":" + os.environ.get("PATH", "/usr/bin:/bin"), "FAKE_STATE": D + "/fake.json"}


# ---------------------------------------------------------------------------
# tripleo_baremetal_expand_roles (cli-overcloud-node-provision.yaml / -unprovision.yaml)

EXPAND = "tripleo_baremetal_expand_roles"
MS_ENV = {"PYTHONPATH": METALSMITH}
# tripleo-ansible's own docs and tests (tests/plugins/module_utils/test_baremetal_deploy.py)
DEPLOYMENT = [
    {"name": "Controller", "count": 3, "hostname_format": "overcloud-controller-%index%",
     "defaults": {"profile": "control", "networks": [{"network": "external", "subnet": "external_subnet"},
                                                       {"network": "internal_api", "subnet": "internal_api_subnet01"}],
                  "network_config": {"template": "templates/multiple_nics/multiple_nics_dvr.j2",
                                     "default_route_network": ["external"]}},
     "instances": [{"hostname": "overcloud-controller-0", "name": "node00"},
                   {"hostname": "overcloud-controller-1", "name": "node01",
                    "networks": [{"network": "external", "fixed_ip": "10.0.0.11"}]}]},
    {"name": "Compute", "count": 2,
     "defaults": {"networks": [{"network": "internal_api", "subnet": "internal_api_subnet02"}],
                  "config_drive": {"cloud_config": {"ntp": {"enabled": True}}, "meta_data": {"foo": "bar"}}},
     "instances": [{"hostname": "overcloud-novacompute-0", "name": "node04", "traits": ["CUSTOM_GPU"],
                    "config_drive": {"meta_data": {"foo": "baz"}}}]},
    {"name": "CephStorage", "count": 0},
]
UNPROVISION = [
    {"name": "Controller", "count": 2,
     "instances": [{"hostname": "overcloud-controller-0", "name": "node00"},
                   {"hostname": "overcloud-controller-1", "name": "node01", "provisioned": False},
                   {"hostname": "overcloud-controller-2", "name": "node02"}]},
    {"name": "Compute", "count": 1, "instances": [{"hostname": "overcloud-novacompute-0", "provisioned": False},
                                                  {"hostname": "overcloud-novacompute-1"}]},
]
PRE_PROVISIONED = [
    {"name": "Controller", "count": 1,
     "instances": [{"hostname": "controller-0", "managed": False,
                    "networks": [{"network": "ctlplane", "fixed_ip": "192.168.24.10"}]}]},
    {"name": "Compute", "count": 1,
     "instances": [{"hostname": "compute-0", "managed": False, "management_ip": "192.168.24.20"}]},
]
FILE_IMAGE = {"href": "file:///var/lib/ironic/images/overcloud-full.raw",
              "kernel": "file:///var/lib/ironic/images/overcloud-full.vmlinuz",
              "ramdisk": "file:///var/lib/ironic/images/overcloud-full.initrd"}
PROVISION_ARGS = {"state": "present", "stack_name": "overcloud", "ssh_public_keys": "ssh-rsa AAAA stack@undercloud",
                  "user_name": "heat-admin"}
EXPAND_CASES = [
    tcase("expand-provision", EXPAND, dict(PROVISION_ARGS, baremetal_deployment=DEPLOYMENT,
                                           default_image={"href": "overcloud-full"}), env=MS_ENV),
    tcase("expand-provision-file-image", EXPAND, dict(PROVISION_ARGS, baremetal_deployment=DEPLOYMENT,
                                                      default_image=FILE_IMAGE), env=MS_ENV),
    tcase("expand-defaults", EXPAND, {"baremetal_deployment": [{"name": "Controller", "count": 3},
                                                               {"name": "Compute", "count": 2}]}, env=MS_ENV),
    tcase("expand-unprovision-absent", EXPAND, {"baremetal_deployment": UNPROVISION, "stack_name": "overcloud",
                                                "state": "absent"}, env=MS_ENV),
    tcase("expand-unprovision-all", EXPAND, {"baremetal_deployment": UNPROVISION, "stack_name": "overcloud",
                                             "state": "all"}, env=MS_ENV),
    tcase("expand-pre-provisioned", EXPAND, {"baremetal_deployment": PRE_PROVISIONED}, env=MS_ENV),
    tcase("expand-http-image-checksum", EXPAND, {"baremetal_deployment": [{"name": "Compute"}],
                                                 "default_image": {"href": "https://images/o.raw",
                                                                   "checksum": "https://images/o.raw.sha256"}},
          env=MS_ENV),
    tcase("expand-fail-http-no-checksum", EXPAND, {"baremetal_deployment": [{"name": "Compute"}],
                                                   "default_image": {"href": "https://images/o.qcow2"}}, env=MS_ENV),
    tcase("expand-fail-glance-kernel", EXPAND, {"baremetal_deployment": [{"name": "Compute"}],
                                                "default_image": {"href": "overcloud-full", "kernel": "k"}},
          env=MS_ENV),
    tcase("expand-fail-count-type", EXPAND, {"baremetal_deployment": [{"name": "Compute", "count": "two"}]},
          env=MS_ENV),
    tcase("expand-fail-unknown-role-key", EXPAND, {"baremetal_deployment": [{"name": "Compute", "flavor": "x"}]},
          env=MS_ENV),
    tcase("expand-fail-defaults-schema", EXPAND, {"baremetal_deployment": [
        {"name": "Compute", "defaults": {"root_size_gb": 2, "nics": [{"network": "ctlplane"}]}}]}, env=MS_ENV),
    tcase("expand-fail-instance-schema", EXPAND, {"baremetal_deployment": [
        {"name": "Compute", "instances": [{"hostname": "c", "bogus": 1}]}]}, env=MS_ENV),
    tcase("expand-fail-too-many-instances", EXPAND, {"baremetal_deployment": [
        {"name": "Compute", "count": 1, "instances": [{"hostname": "c-0"}, {"hostname": "c-1"}]}]}, env=MS_ENV),
    tcase("expand-fail-hostname-in-defaults", EXPAND, {"baremetal_deployment": [
        {"name": "Compute", "defaults": {"hostname": "compute"}}]}, env=MS_ENV),
    tcase("expand-fail-hostname-too-short", EXPAND, {"baremetal_deployment": [
        {"name": "Compute", "instances": [{"hostname": "c"}]}]}, env=MS_ENV),
    tcase("expand-fail-duplicate-hostname", EXPAND, {"baremetal_deployment": [
        {"name": "Controller", "count": 1, "instances": [{"hostname": "dup"}]},
        {"name": "Compute", "count": 1, "instances": [{"hostname": "dup"}]}]}, env=MS_ENV),
    tcase("expand-fail-unmanaged-no-ip", EXPAND, {"baremetal_deployment": [
        {"name": "Compute", "instances": [{"hostname": "c-0", "managed": False}]}]}, env=MS_ENV),
    tcase("expand-fail-no-name", EXPAND, {"baremetal_deployment": [{"count": 1}]}, env=MS_ENV),
    tcase("expand-fail-state-choice", EXPAND, {"baremetal_deployment": [], "state": "gone"}, env=MS_ENV),
    tcase("expand-check-mode", EXPAND, {"baremetal_deployment": DEPLOYMENT}, check=True, env=MS_ENV),
]

# ---------------------------------------------------------------------------
# tripleo_unmanaged_populate_environment (cli-overcloud-node-provision.yaml:170)

UNMANAGED = "tripleo_unmanaged_populate_environment"
NODE_PORT_MAP = {
    "controller-0": {"ctlplane": {"ip_address": "192.168.24.10", "ip_subnet": "192.168.24.10/24",
                                  "ip_address_uri": "192.168.24.10"},
                     "internal_api": {"ip_address": "172.17.0.10", "ip_subnet": "172.17.0.10/24",
                                      "ip_address_uri": "172.17.0.10"}},
    "compute-0": {"ctlplane": {"ip_address": "192.168.24.20", "ip_subnet": "192.168.24.20/24",
                               "ip_address_uri": "192.168.24.20"}},
}
HEAT_ENV = {"parameter_defaults": {"FooParam": "foo", "DeployedServerPortMap": {
    "instance3-ctlplane": {"fixed_ips": [{"ip_address": "192.168.24.3"}]}}},
    "resource_registry": {"OS::Fake::Resource": "/path/to/fake/resource.yaml"}}
PRE = [{"hostname": "controller-0", "managed": False,
        "networks": [{"network": "ctlplane", "fixed_ip": "192.168.24.10"}]},
       {"hostname": "compute-0", "managed": False, "management_ip": "192.168.24.20"},
       {"hostname": "overcloud-novacompute-5"}]
UNMANAGED_CASES = [
    tcase("unmanaged-populate", UNMANAGED, {"environment": HEAT_ENV, "instances": PRE,
                                            "node_port_map": NODE_PORT_MAP}),
    tcase("unmanaged-empty-env", UNMANAGED, {"instances": PRE[:1], "node_port_map": NODE_PORT_MAP,
                                             "ctlplane_network": "internal_api"}),
    tcase("unmanaged-none-unmanaged", UNMANAGED, {"instances": PRE[2:], "environment": HEAT_ENV}),
    tcase("unmanaged-cloud-options", UNMANAGED, {"instances": [], "cloud": "undercloud", "interface": "internal",
                                                 "timeout": "60"}),
    tcase("unmanaged-fail-missing-port", UNMANAGED, {"instances": PRE, "node_port_map": {}}),
    tcase("unmanaged-fail-no-instances", UNMANAGED, {"environment": HEAT_ENV}),
    tcase("unmanaged-fail-unknown-option", UNMANAGED, {"instances": [], "stack": "overcloud"}),
    tcase("unmanaged-check-mode", UNMANAGED, {"instances": PRE, "node_port_map": NODE_PORT_MAP}, check=True),
]

# ---------------------------------------------------------------------------
# tripleo_generate_inventory_network_config (cli-overcloud-node-provision.yaml:199)

NETCONFIG = "tripleo_generate_inventory_network_config"
EXPANDED = [  # what tripleo_baremetal_expand_roles returns, abridged
    {"hostname": "overcloud-controller-0", "name": "node00", "image": {"href": "overcloud-full"},
     "networks": [{"network": "ctlplane", "vif": True}, {"network": "external", "subnet": "external_subnet"}],
     "network_config": {"template": "templates/multiple_nics/multiple_nics_dvr.j2",
                        "default_route_network": ["external"], "bond_interface_ovs_options": "bond_mode=balance-slb",
                        "net_config_data_lookup": {"node00": {"nic1": "eth0"}}},
     "nics": [{"network": "ctlplane"}], "config_drive": {"meta_data": {"instance-type": "Controller"}}},
    {"hostname": "Overcloud-Novacompute-0", "image": {"href": "overcloud-full"},
     "networks": [{"network": "ctlplane", "vif": True}]},
    {"hostname": "overcloud-novacompute-1", "provisioned": False},
]
ROLE_MAP = {"overcloud-controller-0": "Controller", "Overcloud-Novacompute-0": "Compute",
            "overcloud-novacompute-1": "Compute", "overcloud-cephstorage-0": "CephStorage"}
NETCONFIG_CASES = [
    tcase("netconfig-generate", NETCONFIG, {"instances": EXPANDED, "hostname_role_map": ROLE_MAP}),
    tcase("netconfig-full-options", NETCONFIG, {"instances": [{"hostname": "h-0", "network_config": {
        "template": "t.j2", "physical_bridge_name": "br-x", "public_interface_name": "nic2",
        "network_config_update": True, "networks_skip_config": ["storage"], "dns_search_domains": ["a.com"],
        "num_dpdk_interface_rx_queues": 4}}], "hostname_role_map": {"h-0": "Networker"}}),
    tcase("netconfig-fail-unmapped-host", NETCONFIG, {"instances": EXPANDED, "hostname_role_map": {}},
          ignore=("error",)),
    tcase("netconfig-fail-no-map", NETCONFIG, {"instances": EXPANDED}, ignore=("error",)),
    tcase("netconfig-check-mode", NETCONFIG, {"instances": EXPANDED, "hostname_role_map": ROLE_MAP}, check=True),
]

# ---------------------------------------------------------------------------
# tripleo_ovs_upgrade (roles/tripleo_packages/tasks/update_ovs.yml:17)

OVS = "tripleo_ovs_upgrade"
LAYERED = {"installed": ["kernel-5.14.0-1.el9.x86_64", "openvswitch2.15-2.15.0-119.el9fdp.x86_64",
                         "openvswitch-selinux-extra-policy-1.0-28.el9fdp.noarch",
                         "rhosp-openvswitch-2.15-4.el9ost.noarch"],
           "info": {"rhosp-openvswitch": "2.15", "openvswitch2.15-2.15.0": "2.15.0"},
           "dnf_info": {"rhosp-openvswitch": "Installed Packages\nName         : rhosp-openvswitch\n"
                                             "Version      : 2.15\n\nAvailable Packages\n"
                                             "Name         : rhosp-openvswitch\nVersion      : 3.1\n"}}
SAME = dict(LAYERED, dnf_info={"rhosp-openvswitch": "Installed Packages\nVersion      : 2.15\n"})
OLD_OVS = dict(LAYERED, installed=["openvswitch2.11-2.11.0-50.el8fdp.x86_64", "rhosp-openvswitch-2.11-1.noarch"],
               info={"rhosp-openvswitch": "2.11", "openvswitch2.11-2.11.0": "2.11.0"}, ovs_vsctl_rc=1)
PLAIN = {"installed": ["openvswitch-2.11.0-1.el7.x86_64", "openvswitch-selinux-policy-1.0.noarch"],
         "scripts": "postuninstall scriptlet (using /bin/sh):\nsystemctl try-restart openvswitch.service\n"}
OVS_CASES = [
    tcase("ovs-layered-upgrade", OVS, [{}, {}], fake=LAYERED, env=FAKE_ENV),
    tcase("ovs-layered-2.11-openflow", OVS, {}, fake=OLD_OVS, env=FAKE_ENV),
    tcase("ovs-layered-same-version", OVS, {}, fake=SAME, env=FAKE_ENV),
    tcase("ovs-layered-no-coming-version", OVS, {}, fake=dict(LAYERED, dnf_info={}), env=FAKE_ENV),
    tcase("ovs-plain", OVS, {}, fake=PLAIN, env=FAKE_ENV),
    tcase("ovs-none", OVS, {}, fake={"installed": ["kernel-5.14.0-1.el9.x86_64"]}, env=FAKE_ENV),
    tcase("ovs-crash-no-current-version", OVS, {}, fake=dict(LAYERED, info={"rhosp-openvswitch": "2.15"}),
          env=FAKE_ENV),
    tcase("ovs-fail-rpm", OVS, {}, fake={"rpm_rc": 1}, env=FAKE_ENV),
    tcase("ovs-fail-debug-option", OVS, {"debug": True}, fake=LAYERED, env=FAKE_ENV),
    tcase("ovs-check-mode", OVS, {}, fake=LAYERED, env=FAKE_ENV, check=True),
]

# ---------------------------------------------------------------------------
# container_puppet_config (roles/tripleo_container_manage/tasks/puppet_config.yml:17, and the
# step runs of deploy-steps that generate the configs)

CPC = "container_puppet_config"
PUPPET = [
    {"config_volume": "heat_api", "puppet_tags": "heat_config,file,concat,file_line",
     "step_config": "include tripleo::profile::base::heat::api\n", "config_image": "quay.io/tripleo/heat-api:17",
     "volumes": ["/etc/hosts:/etc/hosts:ro"]},
    {"config_volume": "heat_api", "puppet_tags": "heat_config", "step_config": "include tripleo::profile::base::heat",
     "config_image": "quay.io/tripleo/heat-engine:17", "volumes": ["/var/lib/heat:/var/lib/heat:rw"]},
    {"config_volume": "keystone", "puppet_tags": "keystone_config,keystone_domain_config",
     "step_config": "include tripleo::profile::base::keystone", "config_image": "quay.io/tripleo/keystone:17",
     "privileged": False, "volumes": "/etc/keystone:/etc/keystone:ro", "ipc": "host"},
    {"config_volume": "", "puppet_tags": "ignored"},
    {"config_volume": "crond", "step_config": "include tripleo::profile::base::logging::logrotate",
     "config_image": "quay.io/tripleo/cron:17"},
]
STARTUP = "varlib/tripleo-config/container-startup-config/"
HAPROXY = {"image": "quay.io/tripleo/haproxy:17", "net": "host",
           "volumes": ["/etc/hosts:/etc/hosts:ro", D + "/config-data/puppet-generated/haproxy:/var/lib/kolla/src:ro",
                       D + "/config-data/puppet-generated/haproxy/etc/haproxy:/etc/haproxy:ro"]}
KEYSTONE = {"image": "quay.io/tripleo/keystone:17", "environment": {"KOLLA_CONFIG_STRATEGY": "COPY_ALWAYS",
                                                                     "TRIPLEO_CONFIG_HASH": "old"},
            "volumes": [D + "/config-data/puppet-generated/keystone:/var/lib/kolla/src:ro",
                        D + "/config-data/keystone/etc/keystone:/etc/keystone:ro"]}
CPC_TREE = {
    "container-puppet.json": json.dumps(PUPPET),
    "config-data/puppet-generated/haproxy.md5sum": "a1b2\n",
    "config-data/puppet-generated/keystone.md5sum": "c3d4\n",
    "config-data/keystone.md5sum": "e5f6\n",
    STARTUP + "step_1/haproxy.json": json.dumps(HAPROXY),
    STARTUP + "step_3/keystone.json": json.dumps(KEYSTONE),
    STARTUP + "step_3/memcached.json": json.dumps({"image": "m", "volumes": ["/var/lib/memcached:/m:rw"]}),
    STARTUP + "step_3/hashed-keystone.json": "{}",
    "varlib/tripleo-config/container-startup-config-step_1.json": "{}",
    "varlib/tripleo-config/container-puppet-config/step_1/stale.json": "{}",
}
CPC_ARGS = {"step": 1, "puppet_config": D + "/container-puppet.json", "short_hostname": "controller-0",
            "update_config_hash_only": False, "config_vol_prefix": D + "/config-data"}
HASH_ONLY = {"update_config_hash_only": True, "config_vol_prefix": D + "/config-data"}
CPC_CASES = [
    tcase("cpc-step1", CPC, CPC_ARGS, CPC_TREE, namespace=True),
    tcase("cpc-step3-options", CPC, dict(CPC_ARGS, step=3, net_host=False, check_mode=True, no_archive=False,
                                         debug=True), CPC_TREE, namespace=True),
    tcase("cpc-hash-only", CPC, [HASH_ONLY, HASH_ONLY], CPC_TREE, namespace=True),
    tcase("cpc-no-startup-configs", CPC, HASH_ONLY, {"config-data": DIR}, namespace=True),
    tcase("cpc-ansible-check-mode", CPC, CPC_ARGS, CPC_TREE, check=True, namespace=True),
    tcase("cpc-fail-config-base", CPC, HASH_ONLY, {STARTUP + "step_2/x.json": json.dumps(
        {"volumes": [D + "/config-data-other/x:/x:ro"]})}, namespace=True),
    tcase("cpc-crash-no-puppet-config", CPC, dict(CPC_ARGS, puppet_config=D + "/missing.json"), CPC_TREE,
          namespace=True),
    tcase("cpc-fail-unknown-option", CPC, dict(HASH_ONLY, steps=2), CPC_TREE, namespace=True),
]

# ---------------------------------------------------------------------------
# container_systemd (roles/tripleo_container_manage/tasks/create.yml:37)

SYSTEMD = "container_systemd"
CONTAINERS = [
    {"keystone": {"image": "quay.io/tripleo/keystone:17", "restart": "always", "depends_on": ["memcached.service"],
                  "reload_signal": "SIGUSR1", "stop_grace_period": 25,
                  "systemd_exec_flags": {"TimeoutStartSec": 120, "LimitNOFILE": 65536}}},
    {"memcached": {"image": "quay.io/tripleo/memcached:17", "restart": "always", "no_reload": True,
                   "pre_stop_exec": "/usr/bin/flush", "kill_mode": "mixed"}},
]
HEALTHCHECKS = {"unitdir/tripleo_keystone_healthcheck.timer": "[Timer]\n",
                "unitdir/tripleo_keystone_healthcheck.service": "[Service]\n",
                "unitdir/tripleo_keystone.requires/x.service": "", "unitdir/other.service": "[Unit]\n"}
SYSTEMD_ARGS = {"container_config": CONTAINERS, "debug": False, "systemd_healthchecks": True}
SYSTEMD_CASES = [
    tcase("systemd-create-then-idempotent", SYSTEMD, [SYSTEMD_ARGS, SYSTEMD_ARGS], {"unitdir": DIR},
          fake={}, env=FAKE_ENV, namespace=True),
    tcase("systemd-healthcheck-cleanup", SYSTEMD, SYSTEMD_ARGS, HEALTHCHECKS, fake={}, env=FAKE_ENV,
          namespace=True),
    tcase("systemd-healthchecks-disabled", SYSTEMD, dict(SYSTEMD_ARGS, systemd_healthchecks=False), HEALTHCHECKS,
          fake={}, env=FAKE_ENV, namespace=True),
    tcase("systemd-drop-in-running", SYSTEMD, {"container_config": CONTAINERS[:1]}, {"unitdir": DIR},
          fake={"units": {"tripleo_keystone.service": {"ActiveState": "active", "Result": "success",
                                                       "UnitFileState": "enabled"}}},
          env=FAKE_ENV, vars={"podman_drop_in": True}, namespace=True),
    tcase("systemd-check-mode", SYSTEMD, SYSTEMD_ARGS, HEALTHCHECKS, fake={}, env=FAKE_ENV, check=True,
          namespace=True),
    tcase("systemd-fail-never-success", SYSTEMD, {"container_config": CONTAINERS[1:]}, {"unitdir": DIR},
          fake={"units": {"tripleo_memcached.service": {"ActiveState": "failed", "Result": "exit-code",
                                                        "UnitFileState": "enabled"}}},
          env=FAKE_ENV, namespace=True),
    tcase("systemd-fail-missing-config", SYSTEMD, {"debug": True}, {"unitdir": DIR}, fake={}, env=FAKE_ENV,
          namespace=True),
    tcase("systemd-fail-unknown-option", SYSTEMD, dict(SYSTEMD_ARGS, concurrency=2), {"unitdir": DIR}, fake={},
          env=FAKE_ENV, namespace=True),
]

CASES = EXPAND_CASES + UNMANAGED_CASES + NETCONFIG_CASES + OVS_CASES + CPC_CASES + SYSTEMD_CASES
TEST = "test_port_matches_real_tripleo_data["
MOUNTS = (("varlib", "/var/lib"), ("unitdir", "/etc/systemd/system"))
UNIT_TEMPLATE = "roles/tripleo_container_manage/templates/systemd-service.j2"
TRUSTED_SHIM = '''
"""The real container_systemd action plugin, its unit template marked trusted (ansible-core 2.19)."""
import importlib.util
import os

from ansible.template import trust_as_template

_spec = importlib.util.spec_from_file_location("_tm_real_container_systemd", os.environ["TM_CONTAINER_SYSTEMD"])
_real = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_real)


class ActionModule(_real.ActionModule):
    def _get_unit_template(self):
        return trust_as_template(super()._get_unit_template())
'''


def namespace_usable():
    try:
        return os.geteuid() == 0 and subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount --bind /tmp /mnt"], capture_output=True).returncode == 0
    except OSError:
        return False


NAMESPACES = namespace_usable()
CASES = [p if not p.values[0]["namespace"] or NAMESPACES else pytest.param(
    *p.values, id=p.id, marks=pytest.mark.skip(reason="needs root and unshare -m (mount namespaces)"))
    for p in CASES]


def substitute(value, case_dir, fakes_dir, metalsmith=""):
    text = json.dumps(value).replace(D, str(case_dir)).replace(FAKES, str(fakes_dir))
    return json.loads(text.replace(METALSMITH, str(metalsmith)))


def prepare_case(spec, case_dir):
    """The case's tree with @D@ in file contents made the case's directory, old time stamps."""
    make_tree(case_dir, spec["tree"])
    for name in spec["tree"]:
        path = case_dir / name
        if path.is_file() and D.encode() in path.read_bytes():
            path.write_text(path.read_text().replace(D, str(case_dir)))
    age(case_dir)


@pytest.fixture(scope="session")
def metalsmith_path():
    """metalsmith (with openstacksdk) from the package index, installed once into the test cache."""
    from support.corpus import built_dir
    return built_dir("pip-target-" + METALSMITH_VERSION.replace("==", "-"), lambda tmp: [
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(tmp), METALSMITH_VERSION]])


@pytest.fixture(scope="session")
def data_fakes(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fakes")
    for name, body in FAKE_BODIES.items():
        tool = directory / name
        tool.write_text(fake_tool(body))
        tool.chmod(0o755)
    return directory


def start_playbook(cases, root, fakes_dir, metalsmith, extra_env, namespace):
    """ansible-playbook on the cases; with namespace, in a mount namespace of its own where each
    case's directories are bound in place (over the previous case's) before its steps run."""
    tasks = []
    for param in cases:
        spec = param.values[0]
        case_dir = root / param.id
        prepare_case(spec, case_dir)
        env = substitute(spec["env"], case_dir, fakes_dir, metalsmith)
        if namespace:
            binds = []
            for rel, target in MOUNTS:
                (case_dir / rel).mkdir(exist_ok=True)
                binds.append("mount --bind %s %s" % (shlex.quote(str(case_dir / rel)), target))
            tasks.append({"name": "mount for " + param.id, "ansible.builtin.command": {
                "argv": ["sh", "-c", " && ".join(binds)]}})
        for index, args in enumerate(spec["steps"]):
            task = {"name": "%s#%d" % (param.id, index), "ignore_errors": True, "check_mode": spec["check"],
                    spec["module"]: substitute(args, case_dir, fakes_dir, metalsmith)}
            if env:
                task["environment"] = env
            if spec["vars"]:
                task["vars"] = spec["vars"]
            tasks.append(task)
    playbook = root / "playbook.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    (root / "callbacks").mkdir()
    (root / "callbacks" / "record.py").write_text(RECORD_CALLBACK)
    (root / "templates").mkdir()  # the plugin looks for templates/systemd-service.j2 by the playbook
    shutil.copy(extra_env["TM_UNIT_TEMPLATE"], root / "templates" / "systemd-service.j2")
    record = root / "record.json"
    env = dict(os.environ)
    env.update(extra_env, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_STDOUT_CALLBACK="record",
               ANSIBLE_CALLBACK_PLUGINS=str(root / "callbacks"), RECORD_FILE=str(record),
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_PIPELINING="1")
    command = [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook),
               "-e", "ansible_python_interpreter=" + sys.executable]
    if namespace:
        command = ["unshare", "-m", "--propagation", "private"] + command
    proc = subprocess.Popen(command, env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, record


def snapshot(case_dir):
    from test_runtime_ports import tree_snapshot
    found = tree_snapshot(case_dir)
    for rel, entry in found.items():
        if rel == "fake.json":  # the fakes' state, calls included; time stamps vary
            entry.pop("mtime", None)
    return found


@pytest.fixture(scope="session")
def data_runs(request, tmp_path_factory, data_fakes, metalsmith_path):
    """What the real modules did, per selected case: {id: {"results", "dir", "tree"}}."""
    from support.corpus import ansible_extras, tripleo_ansible_tree
    ids = {item.callspec.id for item in request.session.items if item.name.startswith(TEST)}
    chosen = [p for p in CASES if p.id in ids and not p.marks]
    tree = tripleo_ansible_tree()
    plugins = tree / "ansible_plugins"
    library = tmp_path_factory.mktemp("library")  # `#!/usr/bin/python` (see test_runtime_ports_more)
    for source in (plugins / "modules").glob("*.py"):
        text = source.read_text()
        if text.startswith("#!/usr/bin/env python"):
            text = "#!/usr/bin/python" + text[text.index("\n"):]
        (library / source.name).write_text(text)
    shim = tmp_path_factory.mktemp("action")
    (shim / "container_systemd.py").write_text(TRUSTED_SHIM)
    extra_env = {"ANSIBLE_COLLECTIONS_PATH": str(ansible_extras().collections_path),
                 "ANSIBLE_LIBRARY": str(library),
                 "ANSIBLE_MODULE_UTILS": str(plugins / "module_utils"),
                 "ANSIBLE_ACTION_PLUGINS": os.pathsep.join([str(shim), str(plugins / "action")]),
                 "TM_CONTAINER_SYSTEMD": str(plugins / "action" / "container_systemd.py"),
                 "TM_UNIT_TEMPLATE": str(tree / UNIT_TEMPLATE)}
    plain = [p for p in chosen if not p.values[0]["namespace"]]
    bound = [p for p in chosen if p.values[0]["namespace"]]
    groups = [(plain[i::3], False) for i in range(3)] + [(bound[i::3], True) for i in range(3)]
    started = []
    for group, namespace in groups:
        if group:
            root = tmp_path_factory.mktemp("real")
            started.append((group, root) + start_playbook(group, root, data_fakes, metalsmith_path, extra_env,
                                                          namespace))
    runs = {}
    for group, root, proc, record in started:
        output = proc.communicate()[0]
        assert record.exists(), output
        results = json.loads(record.read_text())
        for param in group:
            steps = range(len(param.values[0]["steps"]))
            runs[param.id] = {"results": [results["%s#%d" % (param.id, i)] for i in steps],
                              "dir": root / param.id, "tree": snapshot(root / param.id)}
    return runs


def sorted_sets(result):
    """role_net_map's lists come from sets: their order is arbitrary in the module."""
    if isinstance(result.get("role_net_map"), dict):
        result["role_net_map"] = {k: sorted(v) for k, v in result["role_net_map"].items()}
    return result


@pytest.mark.parametrize("spec", CASES)
def test_port_matches_real_tripleo_data(spec, request, data_runs, data_fakes, metalsmith_path, tmp_path,
                                        monkeypatch):
    from support.corpus import tripleo_ansible_tree
    ran = data_runs[request.node.callspec.id]
    case_dir = tmp_path / "case"
    prepare_case(spec, case_dir)
    varlib, unitdir = case_dir / "varlib", case_dir / "unitdir"
    monkeypatch.setattr(container_puppet_config, "CPC_PUPPET_CONFIG",
                        str(varlib / "tripleo-config" / "container-puppet-config"))
    monkeypatch.setattr(container_puppet_config, "CPC_STARTUP_CONFIG",
                        str(varlib / "tripleo-config" / "container-startup-config"))
    monkeypatch.setattr(container_systemd, "CONTAINER_SYSTEMD_UNIT_DIR", str(unitdir))
    monkeypatch.setattr(container_systemd, "CONTAINER_SYSTEMD_RETRY", (5, 0))
    if spec["namespace"]:
        for rel, _ in MOUNTS:
            (case_dir / rel).mkdir(exist_ok=True)
    env = substitute(spec["env"], case_dir, data_fakes, metalsmith_path)
    ctx = RuntimeContext(Templar(Vars([(spec["vars"], False)])), check_mode=spec["check"], environment=env)
    for index, args in enumerate(spec["steps"]):
        ctx.warnings = []
        params = substitute(args, case_dir, data_fakes, metalsmith_path)
        if spec["module"] == SYSTEMD:
            params["_unit_template"] = str(tripleo_ansible_tree() / UNIT_TEMPLATE)
        try:
            got = MODULES[spec["module"]](params, ctx)
        except ModuleFailed as ex:
            got = ex.result
        got = sorted_sets(normalise(compared(dict(got), spec["ignore"]), case_dir, NO_URL))
        expected = sorted_sets(normalise(compared(ran["results"][index], spec["ignore"]), ran["dir"], NO_URL))
        got.setdefault("changed", False)
        expected.setdefault("changed", False)
        assert got == expected, "step %d" % index
        warned = normalise([w.replace(str(varlib), "/var/lib") for w in ctx.warnings], case_dir, NO_URL)
        assert warned == normalise(ran["results"][index].get("warnings", []), ran["dir"], NO_URL), "step %d" % index
    assert snapshot(case_dir) == ran["tree"]


# ---------------------------------------------------------------------------
# container_systemd as converted: the assembled component, the corpus task's templated
# arguments and the `search` key the converter's prepare gives it (the shipped template)


def test_container_systemd_through_component(tmp_path, data_fakes):
    import importlib.util

    import migrator.runtime as runtime
    from support.corpus import tripleo_ansible_tree
    from test_runtime_core import Node

    path = tmp_path / "task.py"
    path.write_text(runtime.build_component())
    spec = importlib.util.spec_from_file_location("tm_tripleo_data_component", path)
    component = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(component)
    component.CONTAINER_SYSTEMD_UNIT_DIR = str(tmp_path / "unitdir")
    (tmp_path / "unitdir").mkdir()
    shipped = tmp_path / "stage" / "roles" / "tripleo_container_manage" / "templates" / "systemd-service.j2"
    shipped.parent.mkdir(parents=True)
    shutil.copy(tripleo_ansible_tree() / UNIT_TEMPLATE, shipped)
    node = Node(component, tmp_path / "cache")
    node.vars(all_containers_hash={"keystone": CONTAINERS[0]["keystone"], "nova_db_sync": {"image": "n"}},
              tripleo_container_manage_debug=False, tripleo_container_manage_healthcheck_disabled=False,
              podman_drop_in=True)
    outcome = node.run(SYSTEMD, {
        "container_config": "{{ container_config }}", "debug": "{{ tripleo_container_manage_debug | bool }}",
        "systemd_healthchecks": "{{ (not tripleo_container_manage_healthcheck_disabled | bool) }}",
        "_unit_template": "systemd-service.j2"},
        vars={"container_config": "{{ [{'keystone': all_containers_hash.keystone}] }}"},
        environment={"PATH": "%s:%s" % (data_fakes, os.environ["PATH"]), "FAKE_STATE": str(tmp_path / "fake.json")},
        search={"subdir": "templates", "dirs": [[str(shipped.parent.parent / "templates"), False],
                                                [str(shipped.parent.parent), False]],
                "files": [str(shipped)], "patterns": ["systemd\\-service\\.j2"], "arg": "_unit_template"},
        register="units")
    assert outcome.ok, outcome.raw
    assert outcome.result["restarted"] == ["tripleo_keystone.service"]
    unit = (tmp_path / "unitdir" / "tripleo_keystone.service").read_text()
    assert "ExecStart=/usr/libexec/tripleo-start-podman-container keystone\n" in unit
    assert "ExecReload=/usr/bin/podman kill --signal USR1 keystone\n" in unit
    assert "TimeoutStopSec=50\nKillMode=control-group\n" in unit
    assert "TimeoutStartSec=120\nLimitNOFILE=65536\n[Install]\n" in unit
