"""tripleo_os_net_config_mappings (tripleo-ansible): the os-net-config interface mapping of
the first node (group) in net_config_data_lookup that matches this node, by one of
its MAC addresses (/sys/class/net) or by a DMI string (`dmidecode --string`)."""

import copy
import os

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_OS_NET_CONFIG_MAPPINGS_SPEC = {"net_config_data_lookup": {"type": "dict"}}


def _os_net_config_macs():
    found = []
    for name in os.listdir("/sys/class/net/"):
        if name in ("lo", "vnet") or not os.path.isdir("/sys/class/net/{}/".format(name)):
            continue
        with open("/sys/class/net/{}/address".format(name)) as stream:
            found.append(stream.read().strip().lower())
    return [mac for mac in found if mac]


def _os_net_config_mapping(data, ctx):
    macs = _os_net_config_macs()
    for node in data:
        mapping = copy.deepcopy(data[node])
        mapping.pop("dmiString", None)
        mapping.pop("id", None)
        lowered = {key: value.lower() for key, value in mapping.items()}
        if any(value in macs for value in lowered.values()):
            return {"interface_mapping": lowered}
        if "dmiString" in data[node] and "id" in data[node]:
            _, out, _ = ctx.run(["dmidecode", "--string", data[node]["dmiString"]])
            if data[node].get("id").lower() == out.rstrip().lower():
                return {"interface_mapping": lowered}
    return None


@module("tripleo_os_net_config_mappings", "ansible.legacy.tripleo_os_net_config_mappings")
def tripleo_os_net_config_mappings_module(params, ctx):
    data = common_validate("tripleo_os_net_config_mappings", params, _OS_NET_CONFIG_MAPPINGS_SPEC,
                           ctx)["net_config_data_lookup"]
    if ctx.check_mode:
        return {"changed": False, "skipped": True,
                "msg": "remote module (tripleo_os_net_config_mappings) does not support check mode"}
    mapping = None
    if isinstance(data, dict) and data:
        try:
            mapping = _os_net_config_mapping(data, ctx)
        except Exception as ex:  # the module crashes: a value that is no string, no dmidecode
            raise ModuleFailed("Task failed: Module failed: %s" % ex) from ex
    return {"changed": bool(mapping), "mapping": mapping}
