"""ceph_spec_bootstrap (tripleo-ansible): write a cephadm spec file (hosts with their labels,
then mon/mgr/osd services) from the TripleO inventory, metalsmith's deployed-servers
file and roles_data, or for a standalone node.

As in the module: check mode still writes the file, a host's labels are deduplicated
(the module's order is arbitrary, the port keeps first appearance), validation
problems are reported with failed and every message joined.
"""

import os
import re
import socket

import yaml

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.ceph_mkspec import _CephMkspecCrash, _ceph_mkspec_daemon_spec  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_CEPH_SPEC_BOOTSTRAP_SPEC = {
    "deployed_metalsmith": {"type": "str"},
    "tripleo_ansible_inventory": {"type": "str"},
    "new_ceph_spec": {"type": "str"},
    "ceph_service_types": {"type": "list"},
    "tripleo_roles": {"type": "str"},
    "osd_spec": {"type": "dict"},
    "fqdn": {"type": "bool"},
    "crush_hierarchy": {"type": "dict"},
    "standalone": {"type": "bool"},
    "mon_ip": {},
    "method": {"type": "str", "choices": ["deployed_metalsmith", "tripleo_ansible_inventory", "both"]},
}
_CEPH_SPEC_SERVICE_MAP = {"CephMon": ["mon"], "CephMgr": ["mgr"], "CephOSD": ["osd"]}
_CEPH_SPEC_CRUSH_KEYS = ("osd", "host", "chassis", "rack", "row", "pdu", "pod", "room", "datacenter", "zone",
                         "region", "root")


def _ceph_spec_yaml(path):
    with open(path) as stream:
        return yaml.safe_load(stream)


def _ceph_spec_inventory_hosts(inventory, roles, fqdn):
    found = {}
    for key in inventory:
        if key in roles:
            if "children" in inventory[key] and "hosts" not in inventory[key]:
                key = list(inventory[key]["children"])[0]
            if "hosts" in inventory[key]:
                for host, data in inventory[key]["hosts"].items():
                    found[data["canonical_hostname"] if fqdn else host] = data["ansible_host"]
    return found


def _ceph_spec_deployed_hosts(path):
    metal = _ceph_spec_yaml(path)
    try:
        found = {}
        for host, data in metal["parameter_defaults"]["DeployedServerPortMap"].items():
            try:
                address = data["fixed_ips"][0]["ip_address"]
            except Exception:
                raise RuntimeError("The DeployedServerPortMap is missing the first fixed_ip in the data file: "
                                   "{}".format(path))
            found[host.replace("-ctlplane", "")] = address
        return found
    except Exception:
        raise RuntimeError("The DeployedServerPortMap is not defined in data file: {}".format(path))


def _ceph_spec_inventory_roles(inventory, roles, fqdn):
    found = {}
    for key in inventory:
        if key in roles:
            found[key] = [data["canonical_hostname"] if fqdn else host
                          for host, data in inventory[key]["hosts"].items()]
    return found


def _ceph_spec_deployed_roles(path, roles):
    metal = _ceph_spec_yaml(path)
    found = {}
    try:
        names = metal["parameter_defaults"]["HostnameMap"]
        for role in roles:
            for item in metal["parameter_defaults"]:
                if item == role + "HostnameFormat":
                    pattern = re.compile(metal["parameter_defaults"][item].replace("%stackname%", ".*")
                                         .replace("-%index%", ""))
                    matching = [names[host] for host in names if pattern.match(host)]
            found[role] = matching  # as in the module: an earlier role's hosts, or an error, when unset
    except Exception:
        raise RuntimeError("The expected HostnameMap and RoleHostnameFormat are not defined in data file: "
                           "{}".format(path))
    return found


def _ceph_spec_inventory_services(inventory):
    inverse = {ceph: tripleo for tripleo, cephs in _CEPH_SPEC_SERVICE_MAP.items() for ceph in cephs}
    found = {}
    for key in inventory:
        renamed = key.replace("ceph_", "")
        if renamed in inverse:
            for role in inventory[key]["children"].keys():
                found.setdefault(role, []).append(inverse[renamed])
    return found


def _ceph_spec_roles_services(path):
    roles = _ceph_spec_yaml(path)
    found = {}
    try:
        for role in roles:
            services = []
            for service in role["ServicesDefault"]:
                short = service.replace("OS::TripleO::Services::", "")
                if short in _CEPH_SPEC_SERVICE_MAP:
                    services.append(short)
                found[role["name"]] = services
    except Exception:
        raise RuntimeError("Unable to extract the name or ServicesDefault list from data file: {}".format(path))
    return found


def _ceph_spec_labels(hosts, services, roles_hosts, types):
    labels = {}
    for host in hosts:
        labels[host] = []
        for role, members in roles_hosts.items():
            if host in members:
                for tripleo in services[role]:
                    for ceph in _CEPH_SPEC_SERVICE_MAP[tripleo]:
                        if ceph in types:
                            labels[host].append(ceph)
                        if ceph == "mon":
                            labels[host].append("_admin")
    return labels


def _ceph_spec_specs(hosts, labels, types, osd_spec=None, crush=None):
    specs = []
    crush = crush or {}
    for host, address in hosts.items():
        if labels[host]:
            spec = {"service_type": "host", "addr": address, "hostname": host}
            spec["labels"] = list(dict.fromkeys(labels[host]))
            location = crush.get(host)
            if location and isinstance(location, dict):
                if any(key not in _CEPH_SPEC_CRUSH_KEYS for key in location):
                    raise RuntimeError("Fatal: the spec should be composed by only allowed keywords")
                spec["location"] = location
            specs.append(spec)
    for service in types:
        members = [host for host, found in labels.items() if service in found]
        if service in ("mon", "mgr"):
            spec = _ceph_mkspec_daemon_spec(service, service, service, members, "", None, {}, [], {})
        if service == "osd":
            extra = osd_spec or {"data_devices": {"all": True}}
            spec = _ceph_mkspec_daemon_spec(service, "default_drive_group", "osd.default_drive_group", members,
                                            "", None, {}, [], dict(extra))
        specs.append(spec)
    return specs


def _ceph_spec_render(specs, path):
    with open(path, "w") as stream:
        for spec in specs:
            stream.write("---\n")
            stream.write(yaml.dump(spec))


@module("ceph_spec_bootstrap", "ansible.legacy.ceph_spec_bootstrap")
def ceph_spec_bootstrap_module(params, ctx):
    p = common_validate("ceph_spec_bootstrap", params, _CEPH_SPEC_BOOTSTRAP_SPEC, ctx)
    try:
        return _ceph_spec_bootstrap(p)
    except (_CephMkspecCrash, RuntimeError, OSError, KeyError, TypeError, AttributeError, yaml.YAMLError) as ex:
        raise ModuleFailed("Task failed: Module failed: %s" % (
            "'%s'" % ex.args[0] if isinstance(ex, KeyError) else ex)) from ex


def _ceph_spec_bootstrap(p):
    result = {"changed": False, "msg": "", "specs": []}  # ansible-core drops the module's failed: false
    types = p["ceph_service_types"] if p["ceph_service_types"] is not None else ["mon", "mgr", "osd"]
    spec_path = p["new_ceph_spec"] if p["new_ceph_spec"] is not None else "/home/stack/ceph_spec.yaml"
    roles_file = p["tripleo_roles"] if p["tripleo_roles"] is not None else \
        "/usr/share/openstack-tripleo-heat-templates/roles_data.yaml"
    osd_spec = p["osd_spec"] if p["osd_spec"] is not None else {}
    fqdn = bool(p["fqdn"])
    crush = p["crush_hierarchy"] if p["crush_hierarchy"] is not None else {}
    metal, inventory_file, method = p["deployed_metalsmith"], p["tripleo_ansible_inventory"], p["method"]
    if p["standalone"]:
        host = socket.gethostname()
        specs = _ceph_spec_specs({host: p["mon_ip"] if p["mon_ip"] is not None else ""},
                                 {host: ["osd", "mon", "mgr", "_admin"]}, ["osd", "mon", "mgr"], osd_spec)
        _ceph_spec_render(specs, spec_path)
        result["specs"] = specs
        return result
    if not method:
        if not (metal or inventory_file):
            raise ModuleFailed("The tripleo_ansible_inventory or deployed_metalsmith parameter is required.",
                               changed=False, specs=[])
        if not metal and inventory_file:
            method = "tripleo_ansible_inventory"
        elif metal and not inventory_file:
            method = "deployed_metalsmith"
        else:
            method = "both"
    result["method"] = method
    required = {"tripleo_ansible_inventory": [inventory_file], "deployed_metalsmith": [metal, roles_file],
                "both": [inventory_file, metal, roles_file]}[method]
    errors = []
    for path in required:
        if not os.path.isfile(path):
            errors.append(str(path) + " is not a valid file.")
    directory = os.path.dirname(spec_path)
    if not os.path.isdir(directory):
        errors.append(str(directory) + " is not a valid directory.")
    supported = [ceph for cephs in _CEPH_SPEC_SERVICE_MAP.values() for ceph in cephs]
    for service in types:
        if service not in supported:
            errors.append("'" + str(service) + "' must be one of " + str(supported))
    if method != "tripleo_ansible_inventory" and fqdn:
        errors.append("The fqdn option may only be true when using tripleo_ansible_inventory")
    if errors:
        raise ModuleFailed("  ".join(errors), changed=False, specs=[], method=method)
    if method == "deployed_metalsmith":
        services = _ceph_spec_roles_services(roles_file)
        roles_hosts = _ceph_spec_deployed_roles(metal, services.keys())
        hosts = _ceph_spec_deployed_hosts(metal)
    elif method == "tripleo_ansible_inventory":
        inventory = _ceph_spec_yaml(inventory_file)
        services = _ceph_spec_inventory_services(inventory)
        roles_hosts = _ceph_spec_inventory_roles(inventory, services.keys(), fqdn)
        hosts = _ceph_spec_inventory_hosts(inventory, services.keys(), fqdn)
    else:
        services = _ceph_spec_roles_services(roles_file)
        roles_hosts = _ceph_spec_deployed_roles(metal, services.keys())
        hosts = _ceph_spec_inventory_hosts(_ceph_spec_yaml(inventory_file), services.keys(), fqdn)
    labels = _ceph_spec_labels(hosts, services, roles_hosts, types)
    specs = _ceph_spec_specs(hosts, labels, types, osd_spec, crush)
    _ceph_spec_render(specs, spec_path)
    result["specs"] = specs
    return result
