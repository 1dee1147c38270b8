"""tripleo_baremetal_expand_roles (tripleo-ansible): expand a baremetal deployment description
(roles with count, defaults and instances) into the list of instances to provision or
unprovision, the partial heat environment, the role -> networks map and the hostname -> role map.

The module's work is tripleo-ansible's module_utils/baremetal_deploy.py `expand()`: pure data,
validated with jsonschema and metalsmith's image source detection. The port carries both
(`_BMD_*`: the schemas as the module declares them, a validator for the keywords they use with
jsonschema 4's messages and best_match choice, metalsmith.sources.detect's checks), so the node
needs neither; the module itself fails to import without metalsmith and jsonschema.
"""

import copy
import heapq
import pprint
import textwrap

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_BMD_EXPAND_SPEC = {
    "stack_name": {"default": "overcloud"},
    "state": {"default": "present", "choices": ["present", "absent", "all"]},
    "baremetal_deployment": {"type": "list", "elements": "dict"},
    "default_network": {"type": "list", "default": [{"network": "ctlplane", "vif": True}]},
    "default_image": {"type": "dict", "default": {"href": "overcloud-full"}},
    "ssh_public_keys": {"type": "str"},
    "user_name": {"type": "str"},
}

# the JSON schemas of module_utils/baremetal_deploy.py (same keys, same order: messages show them)
_BMD_IMAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "href": {"type": "string"},
        "checksum": {"type": "string"},
        "kernel": {"type": "string"},
        "ramdisk": {"type": "string"},
    },
    "required": ["href"],
    "additionalProperties": False,
}
_BMD_NIC_SCHEMA = {
    "type": "object",
    "properties": {
        "network": {"type": "string"},
        "port": {"type": "string"},
        "fixed_ip": {"type": "string"},
        "subnet": {"type": "string"},
    },
    "additionalProperties": False,
}
_BMD_NETWORK_CONFIG_SCHEMA = {
    "type": "object",
    "properties": {
        "template": {"type": "string"},
        "physical_bridge_name": {"type": "string"},
        "public_interface_name": {"type": "string"},
        "network_config_update": {"type": "boolean"},
        "net_config_data_lookup": {"type": "object"},
        "default_route_network": {"type": "array", "items": {"type": "string"}},
        "networks_skip_config": {"type": "array", "items": {"type": "string"}},
        "dns_search_domains": {"type": "string"},
        "bond_interface_ovs_options": {"type": "string"},
        "num_dpdk_interface_rx_queues": {"type": "integer"},
    },
    "additionalProperties": False,
}
_BMD_NETWORK_SCHEMA = {
    "type": "object",
    "properties": {
        "network": {"type": "string"},
        "port": {"type": "string"},
        "fixed_ip": {"type": "string"},
        "subnet": {"type": "string"},
        "vif": {"type": "boolean"},
    },
    "additionalProperties": False,
}
_BMD_CONFIG_DRIVE_SCHEMA = {
    "type": "object",
    "properties": {"cloud_config": {"type": "object"}, "meta_data": {"type": "object"}},
    "additionalProperties": False,
}
_BMD_INSTANCE_SCHEMA = {
    "type": "object",
    "properties": {
        "capabilities": {"type": "object"},
        "conductor_group": {"type": "string"},
        "config_drive": _BMD_CONFIG_DRIVE_SCHEMA,
        "hostname": {"type": "string", "minLength": 2, "maxLength": 255},
        "image": _BMD_IMAGE_SCHEMA,
        "name": {"type": "string"},
        "netboot": {"type": "boolean"},
        "nics": {"type": "array", "items": _BMD_NIC_SCHEMA},
        "network_config": _BMD_NETWORK_CONFIG_SCHEMA,
        "networks": {"type": "array", "items": _BMD_NETWORK_SCHEMA},
        "passwordless_sudo": {"type": "boolean"},
        "profile": {"type": "string"},
        "provisioned": {"type": "boolean"},
        "resource_class": {"type": "string"},
        "root_size_gb": {"type": "integer", "minimum": 4},
        "ssh_public_keys": {"type": "string"},
        "swap_size_mb": {"type": "integer", "minimum": 64},
        "traits": {"type": "array", "items": {"type": "string"}},
        "user_name": {"type": "string"},
        "managed": {"type": "boolean"},
        "management_ip": {"type": "string"},
    },
    "additionalProperties": False,
}
_BMD_INSTANCES_SCHEMA = {"type": "array", "items": _BMD_INSTANCE_SCHEMA}
_BMD_NO_NICS = copy.deepcopy(_BMD_INSTANCE_SCHEMA)
_BMD_NO_NETWORKS = copy.deepcopy(_BMD_INSTANCE_SCHEMA)
del _BMD_NO_NICS["properties"]["nics"]
del _BMD_NO_NETWORKS["properties"]["networks"]
_BMD_ROLE_DEFAULTS_SCHEMA = {"anyOf": [_BMD_NO_NICS, _BMD_NO_NETWORKS]}
_BMD_INSTANCES_INPUT_SCHEMA = {"type": "array", "items": {"anyOf": [_BMD_NO_NICS, _BMD_NO_NETWORKS]}}
_BMD_ROLE_PLAYBOOKS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"playbook": {"type": "string"}, "extra_vars": {"type": "object"}},
        "additionalProperties": False,
        "required": ["playbook"],
    },
}
_BMD_ROLES_INPUT_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "hostname_format": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "defaults": _BMD_ROLE_DEFAULTS_SCHEMA,
            "instances": _BMD_INSTANCES_INPUT_SCHEMA,
            "ansible_playbooks": _BMD_ROLE_PLAYBOOKS_SCHEMA,
        },
        "additionalProperties": False,
        "required": ["name"],
    },
}


# ---------------------------------------------------------------------------
# jsonschema (Draft 2020-12) for the keywords above, with jsonschema 4's messages


class _BmdSchemaError(Exception):
    """jsonschema.ValidationError: str() is jsonschema's verbose form."""

    def __init__(self, message, keyword, schema, instance, context=()):
        super().__init__(message)
        self.message = message
        self.keyword = keyword
        self.schema = schema
        self.instance = instance
        self.path = []  # instance path, relative to the parent error (anyOf)
        self.schema_path = [keyword]
        self.context = list(context)

    def __str__(self):
        def index(word, parts):
            return word + "".join("[%r]" % part for part in parts)

        def pretty(thing):
            return textwrap.indent(pprint.pformat(thing, width=72, sort_dicts=False), " " * 4).lstrip()

        return "%s\n\nFailed validating %r in %s:\n    %s\n\nOn %s:\n    %s" % (
            self.message, self.keyword, index("schema", self.schema_path[:-1]), pretty(self.schema),
            index("instance", self.path), pretty(self.instance))


def _bmd_is_type(value, kind):
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return False


def _bmd_descend(instance, schema, path=None, schema_path=None):
    for error in _bmd_iter_errors(instance, schema):
        if path is not None:
            error.path.insert(0, path)
        if schema_path is not None:
            error.schema_path.insert(0, schema_path)
        yield error


def _bmd_iter_errors(instance, schema):
    for keyword, value in schema.items():
        for error in _bmd_keyword(keyword, value, instance, schema):
            yield error


def _bmd_keyword(keyword, value, instance, schema):
    def fail(message, context=()):
        return _BmdSchemaError(message, keyword, schema, instance, context)

    if keyword == "type":
        if not _bmd_is_type(instance, value):
            yield fail("%r is not of type %r" % (instance, value))
    elif keyword == "properties" and isinstance(instance, dict):
        for name, sub in value.items():
            if name in instance:
                for error in _bmd_descend(instance[name], sub, path=name, schema_path=name):
                    error.schema_path.insert(0, keyword)
                    yield error
    elif keyword == "additionalProperties" and isinstance(instance, dict) and value is False:
        extras = sorted({k for k in instance if k not in schema.get("properties", {})}, key=str)
        if extras:
            yield fail("Additional properties are not allowed (%s %s unexpected)" % (
                ", ".join(repr(e) for e in extras), "was" if len(extras) == 1 else "were"))
    elif keyword == "required" and isinstance(instance, dict):
        for name in value:
            if name not in instance:
                yield fail("%r is a required property" % name)
    elif keyword == "items" and isinstance(instance, list):
        for position, item in enumerate(instance):
            for error in _bmd_descend(item, value, path=position):
                error.schema_path.insert(0, keyword)
                yield error
    elif keyword == "anyOf":
        found = []
        for position, sub in enumerate(value):
            errors = list(_bmd_descend(instance, sub, schema_path=position))
            if not errors:
                break
            found.extend(errors)
        else:
            yield fail("%r is not valid under any of the given schemas" % (instance,), found)
    elif keyword == "minimum" and _bmd_is_type(instance, "number"):
        if instance < value:
            yield fail("%r is less than the minimum of %r" % (instance, value))
    elif keyword == "minLength" and isinstance(instance, str) and len(instance) < value:
        yield fail("%r %s" % (instance, "should be non-empty" if value == 1 else "is too short"))
    elif keyword == "maxLength" and isinstance(instance, str) and len(instance) > value:
        yield fail("%r %s" % (instance, "is expected to be empty" if value == 0 else "is too long"))


def _bmd_relevance(error):
    # jsonschema.exceptions.relevance: shallow first, earlier siblings, anyOf weak, type matches
    matches = _bmd_is_type(error.instance, error.schema["type"]) if "type" in error.schema else False
    return (-len(error.path), list(error.path), error.keyword not in ("anyOf", "oneOf"), False, not matches)


def _bmd_validate(instance, schema):
    """jsonschema.validate: raise the best match of the errors."""
    best = None
    for error in _bmd_iter_errors(instance, schema):
        if best is None or _bmd_relevance(error) > _bmd_relevance(best):
            best = error
    if best is None:
        return
    while best.context:
        smallest = heapq.nsmallest(2, best.context, key=_bmd_relevance)
        if len(smallest) == 2 and _bmd_relevance(smallest[0]) == _bmd_relevance(smallest[1]):
            break
        best = smallest[0]
    raise best


# ---------------------------------------------------------------------------
# module_utils/baremetal_deploy.py


def _bmd_link_type(link):
    if link is None:
        return None
    if link.startswith("http://") or link.startswith("https://"):
        return "http"
    if link.startswith("file://"):
        return "file"
    return "glance"


def _bmd_detect_source(image, kernel=None, ramdisk=None, checksum=None):
    """metalsmith.sources.detect: only its checks (the source objects are not used)."""
    image_type = _bmd_link_type(image)
    checksum_type = _bmd_link_type(checksum)
    if image_type == "glance":
        if kernel or ramdisk or checksum:
            raise ValueError("kernel, image and checksum cannot be provided for Glance images")
        return
    kernel_type, ramdisk_type = _bmd_link_type(kernel), _bmd_link_type(ramdisk)
    if image_type == "http" and not checksum:
        raise ValueError("checksum is required for HTTP images")
    if image_type == "file":
        if kernel_type not in (None, "file") or ramdisk_type not in (None, "file"):
            raise ValueError("kernel and ramdisk can only be files for file images")
        if kernel or ramdisk:  # FilePartitionImage prefixes both locations
            kernel.startswith("file://")
            ramdisk.startswith("file://")
        return
    if kernel_type not in (None, "http") or ramdisk_type not in (None, "http") or checksum_type == "file":
        raise ValueError("kernal, ramdisk and checksum can only be HTTP links for HTTP images")
    image.endswith(".raw")
    if not checksum:  # HttpImage wants exactly one of checksum and checksum_url
        raise TypeError("Exactly one of checksum and checksum_url has to be specified")


def _bmd_validate_instances(instances, schema):
    _bmd_validate(instances, schema)
    hostnames, names, fixed_ips = set(), set(), set()
    for inst in instances:
        name = inst.get("hostname", inst.get("name"))
        image = inst.get("image", {})
        _bmd_detect_source(image.get("href"), kernel=image.get("kernel"), ramdisk=image.get("ramdisk"),
                           checksum=image.get("checksum"))
        if inst.get("hostname"):
            if inst["hostname"] in hostnames:
                raise ValueError("Hostname %s is used more than once" % inst["hostname"])
            hostnames.add(inst["hostname"])
        if inst.get("name"):
            if inst["name"] in names:
                raise ValueError("Node %s is requested more than once" % inst["name"])
            names.add(inst["name"])
        inst_ips = {net["fixed_ip"] for net in inst.get("networks", []) if net.get("fixed_ip")}
        # as in the module, fixed_ips is never filled: repeated addresses pass
        if inst_ips.intersection(fixed_ips):
            raise ValueError("One or more IP address %s for Node %s is requested more than once"
                             % (", ".join(inst_ips.intersection(fixed_ips)), name))
        if not inst.get("managed", True):
            if not inst_ips and not inst.get("management_ip"):
                raise ValueError("Node %s that is managed: false requires either a fixed IP address, "
                                 "or a management ip address" % name)


def _bmd_validate_roles(roles):
    _bmd_validate(roles, _BMD_ROLES_INPUT_SCHEMA)
    for item in roles:
        count = item.get("count", 1)
        instances = [i for i in item.get("instances", []) if i.get("provisioned", True)]
        name = item.get("name")
        if len(instances) > count:
            raise ValueError("%s: number of instance entries %s cannot be greater than count %s"
                             % (name, len(instances), count))
        defaults = item.get("defaults", {})
        for key in ("hostname", "name", "provisioned"):
            if key in defaults:
                raise ValueError("%s: cannot specify %s in defaults" % (name, key))
        if "instances" in item:
            _bmd_validate_instances(item["instances"], _BMD_INSTANCES_INPUT_SCHEMA)


def _bmd_hostname_format(hostname_format, role_name):
    if not hostname_format:
        hostname_format = "%%stackname%%-%s-%%index%%" % (
            "novacompute" if role_name == "Compute" else role_name.lower())
    return hostname_format


def _bmd_hostname(hostname_format, index, stack):
    return hostname_format.replace("%index%", str(index)).replace("%stackname%", stack)


def _bmd_merge_instance_defaults(defaults, inst):
    """merge_config_drive_defaults, merge_networks_defaults, merge_network_config_defaults."""
    d_drive, i_drive = defaults.get("config_drive", {}), inst.get("config_drive", {})
    for key in ("cloud_config", "meta_data"):
        merged = dict(d_drive.get(key, {}))
        merged.update(i_drive.get(key, {}))
        if merged:
            i_drive[key] = merged
    if i_drive:
        inst["config_drive"] = i_drive
    d_networks, i_networks = defaults.get("networks", []), inst.get("networks", [])
    if d_networks:
        have = {x["network"]: x for x in i_networks}
        for key, net in {x["network"]: x for x in d_networks}.items():
            if key not in have:
                i_networks.append(net)
        if i_networks:
            inst["networks"] = i_networks
    d_config, i_config = defaults.get("network_config", {}), inst.get("network_config", {})
    if d_config:
        for key, value in d_config.items():
            i_config.setdefault(key, value)


def _bmd_expand(roles, stack_name, expand_provisioned=True, default_image=None, default_network=None,
                user_name=None, ssh_public_keys=None):
    for role in roles:
        defaults = role.setdefault("defaults", {})
        if default_image:
            defaults.setdefault("image", default_image)
        if ssh_public_keys:
            defaults.setdefault("ssh_public_keys", ssh_public_keys)
        if user_name:
            defaults.setdefault("user_name", user_name)
        if default_network:
            networks = defaults.setdefault("networks", [])
            networks.extend([x for x in default_network if x not in networks])
        if "profile" in defaults:
            defaults.setdefault("capabilities", {}).setdefault("profile", defaults["profile"])
            del defaults["profile"]
        meta_data = defaults.setdefault("config_drive", {}).setdefault("meta_data", {})
        meta_data["instance-type"] = role["name"]
        for inst in role.get("instances", []):
            _bmd_merge_instance_defaults(defaults, inst)
            for key, value in defaults.items():
                if key != "config_drive":
                    inst.setdefault(key, copy.deepcopy(value))
            if "hostname" not in inst and "name" in inst:
                inst["hostname"] = inst["name"]

    _bmd_validate_roles(roles)

    instances = []
    hostname_map = {}
    parameter_defaults = {"HostnameMap": hostname_map}
    role_net_map = {}
    hostname_role_map = {}
    for role in roles:
        name = role["name"]
        role_net_map.setdefault(name, set())
        hostname_format = _bmd_hostname_format(role.get("hostname_format"), name)
        count = role.get("count", 1)
        unprovisioned = []
        potential = {}
        for index in range(count + len(role.get("instances", []))):
            potential[_bmd_hostname(hostname_format, index, stack_name)] = index
        role_instances = []
        for instance in role.get("instances", []):
            inst = dict(instance)
            if inst.get("hostname") in potential:
                hostname_map[inst["hostname"]] = inst["hostname"]
            role_instances.append(inst)
        while len([i for i in role_instances if i.get("provisioned", True)]) < count:
            role_instances.append(dict(role["defaults"]))
        parameter_defaults["%sHostnameFormat" % name] = hostname_format

        index = 0
        for inst in role_instances:
            provisioned = inst.get("provisioned", True)
            gen_name = None
            hostname = inst.get("hostname")
            if hostname not in hostname_map:
                while not gen_name or gen_name in hostname_map:
                    gen_name = _bmd_hostname(hostname_format, index, stack_name)
                    index += 1
                inst.setdefault("hostname", gen_name)
                hostname = inst.get("hostname")
                hostname_map[gen_name] = inst["hostname"]
            if not provisioned:
                if gen_name:
                    unprovisioned.append(potential[gen_name])
                elif hostname in potential:
                    unprovisioned.append(potential[hostname])
            vif_networks = [x for x in copy.deepcopy(inst.get("networks", [])) if x.get("vif")]
            if vif_networks:
                for net in vif_networks:
                    net.pop("vif", None)
                inst.setdefault("nics", vif_networks)
            if "profile" in inst:
                inst.setdefault("capabilities", {})["profile"] = inst["profile"]
                del inst["profile"]
        if unprovisioned:
            parameter_defaults["%sRemovalPolicies" % name] = [{"resource_list": unprovisioned}]

        provisioned_count = 0
        for inst in role_instances:
            provisioned = inst.pop("provisioned", True)
            if provisioned:
                provisioned_count += 1
            if provisioned == expand_provisioned:
                instances.append(inst)
                role_net_map[name].update([x["network"] for x in inst.get("networks", [])])
                hostname_role_map[inst["hostname"]] = name
        parameter_defaults["%sCount" % name] = provisioned_count

    _bmd_validate_instances(instances, _BMD_INSTANCES_SCHEMA)
    env = {"parameter_defaults": parameter_defaults} if expand_provisioned else {}
    return instances, env, role_net_map, hostname_role_map


def _bmd_jsonable(value):
    """What the module's JSON result holds: sets become lists (their order is arbitrary in the
    module; sorted here)."""
    if isinstance(value, dict):
        return {k: _bmd_jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, (list, tuple)):
        return [_bmd_jsonable(v) for v in value]
    return value


@module("tripleo_baremetal_expand_roles", "ansible.legacy.tripleo_baremetal_expand_roles")
def tripleo_baremetal_expand_roles_module(params, ctx):
    p = common_validate("tripleo_baremetal_expand_roles", params, _BMD_EXPAND_SPEC, ctx)
    if ctx.check_mode:
        return {"changed": False, "skipped": True,
                "msg": "remote module (tripleo_baremetal_expand_roles) does not support check mode"}
    state = p["state"]
    try:
        if state in ("present", "all"):
            present, env, role_net_map, hostname_role_map = _bmd_expand(
                p["baremetal_deployment"], p["stack_name"], expand_provisioned=True,
                default_image=p["default_image"], default_network=p["default_network"],
                user_name=p["user_name"], ssh_public_keys=p["ssh_public_keys"])
        if state in ("absent", "all"):
            absent = _bmd_expand(p["baremetal_deployment"], p["stack_name"], expand_provisioned=False,
                                 default_image=p["default_image"])[0]
            env, role_net_map, hostname_role_map = {}, {}, {}
        instances = {"present": lambda: present, "absent": lambda: absent,
                     "all": lambda: present + absent}[state]()
    except Exception as ex:  # the module reports any error by its text
        raise ModuleFailed(str(ex)) from ex
    return _bmd_jsonable({
        "changed": True,
        "msg": "Expanded to %d instances" % len(instances),
        "instances": instances,
        "environment": env,
        "role_net_map": role_net_map,
        "hostname_role_map": hostname_role_map,
    })
