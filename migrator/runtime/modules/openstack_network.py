"""openstack.cloud network modules, as in openstack.cloud 2.5.0 (the `ansible` package): port and
security_group_rule (tripleo-ansible's designate_bind_config calls `os_port`, octavia_overcloud_config
`openstack.cloud.security_group_rule`).

Like the modules, the ports talk to Neutron through openstacksdk on the node, imported at run time,
and share OpenStackModule's behaviour with the identity ports (openstack_identity.py: common options,
connection, SDK errors as failures with `extra_data`, no_log masking, the task's environment while
openstacksdk reads its configuration). Both support check mode. Results carry `port` and `rule` as
openstacksdk's to_dict(computed=False) gives them.
"""

import traceback

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip
from migrator.runtime.modules.openstack_identity import (  # tm:strip
    _OPENSTACK_IDENTITY_COMMON_SPEC, _OpenstackIdentityExit, _OpenstackIdentityFail,  # tm:strip
    _openstack_identity_connect, _openstack_identity_environ, _openstack_identity_json,  # tm:strip
    _openstack_identity_mask, _openstack_identity_strings)  # tm:strip

_OPENSTACK_NETWORK_STATE = {"type": "str", "default": "present", "choices": ["absent", "present"]}
_OPENSTACK_NETWORK_PORT_SPEC = {
    "allowed_address_pairs": {"type": "list", "elements": "dict"},
    "binding_profile": {"type": "dict"},
    "binding_vnic_type": {"type": "str", "choices": ["normal", "direct", "direct-physical", "macvtap",
                                                     "baremetal", "virtio-forwarder"], "aliases": ["vnic_type"]},
    "description": {"type": "str"},
    "device_id": {"type": "str"},
    "device_owner": {"type": "str"},
    "dns_domain": {"type": "str"},
    "dns_name": {"type": "str"},
    "extra_dhcp_opts": {"type": "list", "elements": "dict"},
    "fixed_ips": {"type": "list", "elements": "dict"},
    "is_admin_state_up": {"type": "bool", "aliases": ["admin_state_up"]},
    "mac_address": {"type": "str"},
    "name": {"type": "str", "required": True},
    "network": {"type": "str"},
    "no_security_groups": {"type": "bool", "default": False},
    "is_port_security_enabled": {"type": "bool", "aliases": ["port_security_enabled"]},
    "security_groups": {"type": "list", "elements": "str"},
    "state": _OPENSTACK_NETWORK_STATE,
}
_OPENSTACK_NETWORK_PORT_CHECKS = {
    "mutually_exclusive": [("no_security_groups", "security_groups")],
    "required_if": [("state", "present", ("network",))],
}
_OPENSTACK_NETWORK_RULE_SPEC = {
    "description": {"type": "str"},
    "direction": {"type": "str", "default": "ingress", "choices": ["egress", "ingress"]},
    "ether_type": {"type": "str", "default": "IPv4", "choices": ["IPv4", "IPv6"], "aliases": ["ethertype"]},
    "port_range_max": {"type": "int"},
    "port_range_min": {"type": "int"},
    "project": {"type": "str"},
    "protocol": {"type": "str"},
    "remote_group": {"type": "str"},
    "remote_ip_prefix": {"type": "str"},
    "security_group": {"type": "str", "required": True},
    "state": _OPENSTACK_NETWORK_STATE,
}
_OPENSTACK_NETWORK_RULE_CHECKS = {"mutually_exclusive": [("remote_ip_prefix", "remote_group")]}


def _openstack_network_run(name, spec, checks, params, ctx, body):
    """OpenStackModule around body(p, conn, ctx) (openstack_identity.py's run, for these specs)."""
    spec = dict(_OPENSTACK_IDENTITY_COMMON_SPEC, **spec)
    p = common_validate(name, params, spec, ctx, **checks)
    secrets = set()
    for key, option in spec.items():
        if option.get("no_log") and p.get(key):
            secrets.update(_openstack_identity_strings(p[key]))
    secrets = sorted(secrets, key=len, reverse=True)
    sdk = None
    try:
        with _openstack_identity_environ(ctx):
            sdk, conn = _openstack_identity_connect(p)
            try:
                result = body(p, conn, ctx)
            except _OpenstackIdentityExit as done:
                result = done.result
            except sdk.exceptions.SDKException as ex:
                raise _OpenstackIdentityFail(str(ex), extra_data={
                    "data": getattr(ex, "extra_data", "None"),
                    "details": getattr(ex, "details", "None"),
                    "response": getattr(getattr(ex, "response", ""), "text", "None")}) from None
    except _OpenstackIdentityFail as ex:
        failed = _openstack_identity_mask(_openstack_identity_json(dict(ex.result, changed=False)), secrets)
        raise ModuleFailed(failed.pop("msg"), **failed) from None
    except ModuleFailed:
        raise
    except Exception as ex:
        raise ModuleFailed("Task failed: Module failed: %s" % ex, exception=traceback.format_exc()) from None
    result = dict(result or {"changed": False})
    result.setdefault("changed", False)
    return _openstack_identity_mask(_openstack_identity_json(result), secrets)


# ---------------------------------------------------------------------------
# port


def _openstack_network_security_group_ids(p, conn):
    if p["no_security_groups"]:
        return []
    if p["security_groups"] is not None:
        return [conn.network.find_security_group(name_or_id, ignore_missing=False).id
                for name_or_id in p["security_groups"]]
    return None


def _openstack_network_port_update(p, conn, port):
    attributes = dict((k, p[k]) for k in ["binding_host_id", "binding_vnic_type", "data_plane_status",
                                          "description", "device_id", "device_owner", "is_admin_state_up",
                                          "is_port_security_enabled", "mac_address", "numa_affinity_policy"]
                      if k in p and p[k] is not None and p[k] != port[k])
    for k in ["binding_profile", "allowed_address_pairs", "extra_dhcp_opts", "fixed_ips"]:
        if p[k] is None:
            continue
        if (p[k] or port[k]) and p[k] != port[k]:
            attributes[k] = p[k]
    security_group_ids = _openstack_network_security_group_ids(p, conn)
    if security_group_ids is not None and set(security_group_ids) != set(port["security_group_ids"]):
        attributes["security_group_ids"] = security_group_ids
    if conn.has_service("dns") and conn.network.find_extension("dns-integration"):
        attributes.update(dict((k, p[k]) for k in ["dns_name", "dns_domain"]
                               if p[k] is not None and p[k] != port[k]))
    return {"port_attributes": attributes} if attributes else {}


def _openstack_network_port(p, conn, ctx):
    state = p["state"]
    network = None
    if p["network"]:
        network = conn.network.find_network(p["network"], ignore_missing=False)
    port = conn.network.find_port(p["name"], **(dict(network_id=network.id) if network else dict()))
    if ctx.check_mode:
        if state == "present":
            return {"changed": not port or bool(_openstack_network_port_update(p, conn, port))}
        return {"changed": bool(port)}
    if state == "present" and not port:
        args = {"network_id": network.id}
        security_group_ids = _openstack_network_security_group_ids(p, conn)
        if security_group_ids is not None:
            args["security_group_ids"] = security_group_ids
        for k in ["allowed_address_pairs", "binding_profile", "binding_vnic_type", "device_id", "device_owner",
                  "description", "extra_dhcp_opts", "is_admin_state_up", "mac_address",
                  "is_port_security_enabled", "fixed_ips", "name"]:
            if p[k] is not None:
                args[k] = p[k]
        if conn.has_service("dns") and conn.network.find_extension("dns-integration"):
            for k in ["dns_domain", "dns_name"]:
                if p[k] is not None:
                    args[k] = p[k]
        port = conn.network.create_port(**args)
        return {"changed": True, "port": port.to_dict(computed=False)}
    if state == "present":
        update = _openstack_network_port_update(p, conn, port)
        if update.get("port_attributes"):
            port = conn.network.update_port(port, **update["port_attributes"])
        return {"changed": bool(update), "port": port.to_dict(computed=False)}
    if port:
        conn.network.delete_port(port.id)
        return {"changed": True}
    return {"changed": False}


@module("openstack.cloud.port", "os_port")
def openstack_network_port_module(params, ctx):
    return _openstack_network_run("port", _OPENSTACK_NETWORK_PORT_SPEC, _OPENSTACK_NETWORK_PORT_CHECKS, params, ctx,
                                  _openstack_network_port)


# ---------------------------------------------------------------------------
# security_group_rule


def _openstack_network_rule_prototype(p, conn):
    filters = {}
    prototype = dict((k, p[k]) for k in ["description", "direction", "remote_ip_prefix"] if p[k] is not None)
    if p["project"] is not None:
        project = conn.identity.find_project(p["project"], ignore_missing=False)
        filters = {"project_id": project.id}
        prototype["project_id"] = project.id
    security_group = conn.network.find_security_group(p["security_group"], ignore_missing=False, **filters)
    prototype["security_group_id"] = security_group.id
    if p["remote_group"] is not None:
        remote_group = conn.network.find_security_group(p["remote_group"], ignore_missing=False)
        prototype["remote_group_id"] = remote_group.id
    if p["ether_type"] is not None:
        prototype["ether_type"] = p["ether_type"]
    protocol = p["protocol"]
    if protocol is not None and protocol not in ["any", "0"]:
        prototype["protocol"] = protocol
    port_range_max, port_range_min = p["port_range_max"], p["port_range_min"]
    if protocol in ["icmp", "ipv6-icmp", "tcp", "udp"]:
        if port_range_max is not None and int(port_range_max) != -1:
            prototype["port_range_max"] = int(port_range_max)
        if port_range_min is not None and int(port_range_min) != -1:
            prototype["port_range_min"] = int(port_range_min)
    elif protocol in ["any", "0"]:
        pass
    else:
        if port_range_max is not None:
            prototype["port_range_max"] = int(port_range_max)
        if port_range_min is not None:
            prototype["port_range_min"] = int(port_range_min)
    return prototype


def _openstack_network_rule_find(p, conn):
    prototype = _openstack_network_rule_prototype(p, conn)
    security_group = conn.network.get_security_group(prototype["security_group_id"])
    if "ether_type" in prototype:
        prototype["ethertype"] = prototype.pop("ether_type")
    if "protocol" in prototype and prototype["protocol"] in ["tcp", "udp"]:
        if "port_range_max" in prototype and prototype["port_range_max"] in [-1, 65535]:
            prototype.pop("port_range_max")
        if "port_range_min" in prototype and prototype["port_range_min"] in [-1, 1]:
            prototype.pop("port_range_min")
    matches = [r for r in security_group.security_group_rules
               if all(r[k] == prototype[k] for k in prototype.keys())]
    if len(matches) > 1:
        raise _OpenstackIdentityFail("Found more a single matching security group rule which match the given "
                                     "parameters.")
    if len(matches) == 1:
        return conn.network.get_security_group_rule(matches[0]["id"])
    return None


def _openstack_network_rule(p, conn, ctx):
    state = p["state"]
    rule = _openstack_network_rule_find(p, conn)
    if ctx.check_mode:
        return {"changed": (state == "present" and not rule) or (state == "absent" and bool(rule))}
    if state == "present" and not rule:
        rule = conn.network.create_security_group_rule(**_openstack_network_rule_prototype(p, conn))
        return {"changed": True, "rule": rule.to_dict(computed=False)}
    if state == "present":
        return {"changed": False, "rule": rule.to_dict(computed=False)}
    if rule:
        conn.network.delete_security_group_rule(rule.id)
        return {"changed": True}
    return {"changed": False}


@module("openstack.cloud.security_group_rule", "os_security_group_rule")
def openstack_network_security_group_rule_module(params, ctx):
    return _openstack_network_run("security_group_rule", _OPENSTACK_NETWORK_RULE_SPEC,
                                  _OPENSTACK_NETWORK_RULE_CHECKS, params, ctx, _openstack_network_rule)
