"""tripleo_unmanaged_populate_environment (tripleo-ansible): add the control plane port of each
unmanaged (pre-provisioned, `managed: false`) instance to the heat environment's
DeployedServerPortMap, from the node port map of tripleo_overcloud_network_ports.

Pure data. The argument spec is openstack.cloud's openstack_full_argument_spec plus the
module's options, as in the module (the cloud options are accepted and unused).
"""

import copy

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

# openstack.cloud's module_utils/openstack.py openstack_full_argument_spec (2.x)
UNMANAGED_POPULATE_OPENSTACK_SPEC = {
    "cloud": {"type": "raw"},
    "auth_type": {},
    "auth": {"type": "dict", "no_log": True},
    "region_name": {},
    "validate_certs": {"type": "bool", "aliases": ["verify"]},
    "ca_cert": {"aliases": ["cacert"]},
    "client_cert": {"aliases": ["cert"]},
    "client_key": {"no_log": True, "aliases": ["key"]},
    "wait": {"default": True, "type": "bool"},
    "timeout": {"default": 180, "type": "int"},
    "api_timeout": {"type": "int"},
    "interface": {"default": "public", "choices": ["public", "internal", "admin"], "aliases": ["endpoint_type"]},
    "sdk_log_path": {},
    "sdk_log_level": {"default": "INFO", "choices": ["INFO", "DEBUG"]},
}

_UNMANAGED_POPULATE_SPEC = dict(UNMANAGED_POPULATE_OPENSTACK_SPEC, **{
    "environment": {"type": "dict", "default": {}},
    "instances": {"type": "list", "elements": "dict", "required": True},
    "node_port_map": {"type": "dict", "default": {}},
    "ctlplane_network": {"type": "str", "default": "ctlplane"},
})


@module("tripleo_unmanaged_populate_environment", "ansible.legacy.tripleo_unmanaged_populate_environment")
def tripleo_unmanaged_populate_environment_module(params, ctx):
    p = common_validate("tripleo_unmanaged_populate_environment", params,
                        copy.deepcopy(_UNMANAGED_POPULATE_SPEC), ctx)
    if ctx.check_mode:
        return {"changed": False, "skipped": True,
                "msg": "remote module (tripleo_unmanaged_populate_environment) does not support check mode"}
    environment = p["environment"]
    result = {"success": False, "changed": False, "error": "", "environment": environment}
    try:
        port_map = environment.setdefault("parameter_defaults", {}).setdefault("DeployedServerPortMap", {})
        network = p["ctlplane_network"]
        for instance in p["instances"]:
            if instance.get("managed", True):
                continue
            hostname = instance["hostname"]
            address = p["node_port_map"][hostname][network]["ip_address"]
            port_map["%s-%s" % (hostname, network)] = {"fixed_ips": [{"ip_address": address}]}
    except Exception as ex:  # the module reports any error by its text
        result["error"] = str(ex)
        raise ModuleFailed("Error overcloud network provision failed!", **result) from ex
    result["success"] = True
    return result
