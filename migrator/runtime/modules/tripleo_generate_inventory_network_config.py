"""tripleo_generate_inventory_network_config (tripleo-ansible): the per-role inventory of
network config host vars (tripleo_network_config role names) for the provisioned instances.

Pure data. The argument spec is openstack.cloud's openstack_full_argument_spec plus the
module's options; as in the module, the options' `suboptions` are documentation only
(AnsibleModule ignores them) and their defaults fill each host's network_config. On an error
the module returns its traceback in `error`; the port returns its own.
"""

import copy
import traceback

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip
from migrator.runtime.modules.tripleo_unmanaged_populate_environment import (  # tm:strip
    UNMANAGED_POPULATE_OPENSTACK_SPEC)  # tm:strip

# the module's options; the openstack ones are added at run time (another file of the
# assembled component defines them, maybe later)
_INVENTORY_NETCONFIG_OPTIONS = {
    "instances": {"type": "list", "elements": "dict"},
    "hostname_role_map": {"type": "dict"},
}

# the network_config suboptions' defaults, in the module's DOCUMENTATION order
_INVENTORY_NETCONFIG_DEFAULTS = (
    ("default_route_network", ["ctlplane"]),
    ("template", "templates/net_config_bridge.j2"),
    ("dns_search_domains", []),
    ("physical_bridge_name", "br-ex"),
    ("public_interface_name", "nic1"),
    ("network_config_update", False),
    ("networks_skip_config", []),
    ("num_dpdk_interface_rx_queues", 1),
)

_INVENTORY_NETCONFIG_NAMES = {
    "template": "tripleo_network_config_template",
    "physical_bridge_name": "neutron_physical_bridge_name",
    "public_interface_name": "neutron_public_interface_name",
    "network_config_update": "tripleo_network_config_update",
    "net_config_data_lookup": "tripleo_network_config_os_net_config_mappings",
}


def _inventory_netconfig(inventory, instances, hostname_role_map):
    roles = set(hostname_role_map.values())
    for role in roles:
        inventory.setdefault(role, {}).setdefault("hosts", {})
        inventory[role].setdefault("vars", {})["tripleo_network_config_hide_sensitive_logs"] = False
    for instance in instances:
        if not instance.get("provisioned", True):
            continue
        hostname = instance["hostname"]
        role = hostname_role_map[hostname]
        host = inventory[role]["hosts"].setdefault(hostname.lower(), {})
        network_config = instance.get("network_config", {})
        for key, default in _INVENTORY_NETCONFIG_DEFAULTS:
            network_config.setdefault(key, copy.deepcopy(default))
        for key, value in list(network_config.items()):
            if key in _INVENTORY_NETCONFIG_NAMES:
                network_config.setdefault(_INVENTORY_NETCONFIG_NAMES[key], value)
                network_config.pop(key)
        host.update(network_config)
    for role in roles:
        if not inventory[role]["hosts"]:
            del inventory[role]


@module("tripleo_generate_inventory_network_config", "ansible.legacy.tripleo_generate_inventory_network_config")
def tripleo_generate_inventory_network_config_module(params, ctx):
    p = common_validate("tripleo_generate_inventory_network_config", params,
                        copy.deepcopy(dict(UNMANAGED_POPULATE_OPENSTACK_SPEC, **_INVENTORY_NETCONFIG_OPTIONS)), ctx)
    if ctx.check_mode:
        return {"changed": False, "skipped": True,
                "msg": "remote module (tripleo_generate_inventory_network_config) does not support check mode"}
    result = {"success": False, "changed": False, "error": "", "config": {}}
    try:
        _inventory_netconfig(result["config"], p["instances"], p["hostname_role_map"])
        result["changed"] = True
    except Exception as ex:  # the module reports the traceback's last line
        result["error"] = traceback.format_exc()
        raise ModuleFailed("Error generating ansible inventory network config: %s"
                           % result["error"].split("\n")[-2], **result) from ex
    result["success"] = True
    return result
