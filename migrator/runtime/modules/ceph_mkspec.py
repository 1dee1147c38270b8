"""ceph_mkspec (tripleo-ansible): build a cephadm daemon spec; with apply, render it to
render_path/<service_type> and run `ceph orch apply --in-file` on it (inside the
CEPH_CONTAINER_IMAGE container with CEPH_CONTAINER_BINARY when that is set, as
tripleo's ca_common does).

Behaviour kept from the module: service_id is always the service_type (the module
reads the wrong parameter), `changed` is False after an apply and True without one,
check mode changes nothing and reports an empty command result.
"""

import datetime
import ipaddress
import os

import yaml

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_run, common_validate  # tm:strip

_CEPH_MKSPEC_SPEC = {
    "cluster": {"type": "str", "default": "ceph"},
    "service_type": {"type": "str", "required": True,
                     "choices": ["host", "mon", "osd", "mds", "rgw", "nfs", "node-exporter", "prometheus",
                                 "alertmanager", "grafana", "rbd-mirror", "ingress"]},
    "service_id": {"type": "str"},
    "service_name": {"type": "str"},
    "hosts": {"type": "list"},
    "host_pattern": {"type": "str"},
    "networks": {"type": "list"},
    "labels": {"type": "list"},
    "spec": {"type": "dict"},
    "extra": {"type": "dict"},
    "render_path": {"type": "str"},
    "apply": {"type": "bool", "default": False},
}
# tripleo's module_utils/ceph_spec.py
_CEPH_MKSPEC_ALLOWED_SPEC_KEYS = {
    "rgw": ["rgw_frontend_port", "rgw_frontend_type", "rgw_realm", "rgw_zone", "rgw_ip_address",
            "rgw_frontend_ssl_certificate", "ssl"],
    "nfs": ["namespace", "pool"],
    "ingress": ["backend_service", "frontend_port", "monitor_port", "virtual_ip",
                "virtual_interface_networks", "ssl_cert"],
}
_CEPH_MKSPEC_ALLOWED_EXTRA_KEYS = {}


class _CephMkspecCrash(Exception):
    """What the module raises: Ansible reports it as a module failure."""


def _ceph_mkspec_keys_valid(daemon_type, keys, allowed):
    if daemon_type not in allowed:
        return True
    return all(key in allowed[daemon_type] for key in keys)


def _ceph_mkspec_daemon_spec(daemon_type, daemon_id, daemon_name, hosts, pattern, networks, spec, labels,
                             extra):
    """CephDaemonSpec(...).make_daemon_spec()"""
    if hosts:
        placement = {"placement": {"hosts": hosts}}
    elif pattern:
        placement = {"placement": {"host_pattern": pattern}}
    elif labels:  # CephPlacementSpec keeps labels only when there are some
        placement = {"placement": {"labels": labels}}
    else:
        placement = {}
    template = {"service_type": daemon_type, "service_name": daemon_name, "service_id": daemon_id}
    network_part = {}
    if networks:
        for network in networks:
            try:
                ipaddress.ip_network(network)
            except ValueError as ex:
                raise _CephMkspecCrash("Cannot parse network %s: %s" % (network, ex)) from ex
        network_part = {"networks": networks}
    if not _ceph_mkspec_keys_valid(daemon_type, extra.keys(), _CEPH_MKSPEC_ALLOWED_EXTRA_KEYS):
        raise _CephMkspecCrash("Fatal: the spec should be composed by only allowed keywords")
    spec_part = {}
    if spec:
        if not _ceph_mkspec_keys_valid(daemon_type, spec.keys(), _CEPH_MKSPEC_ALLOWED_SPEC_KEYS):
            raise _CephMkspecCrash("Fatal: the spec should be composed by only allowed keywords")
        kept = {key: value for key, value in spec.items() if value}
        for key, value in kept.items():
            if "port" in key:
                try:
                    kept[key] = int(value)
                except (TypeError, ValueError) as ex:
                    raise _CephMkspecCrash(str(ex)) from ex
        spec_part = {"spec": kept}
    return dict(template, **network_part, **extra, **placement, **spec_part)


class _CephMkspecDumper(yaml.SafeDumper):
    """The module's SafeDumper: multi-line strings as literal blocks."""


def _ceph_mkspec_str(dumper, data):
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return yaml.SafeDumper.represent_str(dumper, data)


_CephMkspecDumper.add_representer(str, _ceph_mkspec_str)


def _ceph_mkspec_env(ctx, name):
    """os.getenv in the module's process: the node's environment plus the task's."""
    if name in ctx.environment:
        return str(ctx.environment[name])
    return os.environ.get(name)


@module("ceph_mkspec", "ansible.legacy.ceph_mkspec")
def ceph_mkspec_module(params, ctx):
    p = common_validate("ceph_mkspec", params, _CEPH_MKSPEC_SPEC, ctx,
                        required_if=[["apply", True, ["render_path"]]])
    if ctx.check_mode:
        return {"changed": False, "stdout": "", "stderr": "", "rc": 0, "start": "", "end": "", "delta": ""}
    start = datetime.datetime.now()
    service_type = p["service_type"]
    service_id = service_type  # sic: the module reads service_type for service_id
    service_name = p["service_name"] or "%s.%s" % (service_type, service_id)
    try:
        spec = _ceph_mkspec_daemon_spec(service_type, service_id, service_name, p["hosts"], p["host_pattern"],
                                        p["networks"] or [], dict(p["spec"] or {}), p["labels"] or [],
                                        dict(p["extra"] or {}))
        if not p["apply"]:
            return {"changed": True, "result": spec}
        image = _ceph_mkspec_env(ctx, "CEPH_CONTAINER_IMAGE")
        path = "%s/%s" % (p["render_path"], service_type)
        try:
            with open(path, "w") as stream:
                stream.write("---\n")
                stream.write(yaml.dump(spec, Dumper=_CephMkspecDumper, indent=2))
        except OSError as ex:
            raise _CephMkspecCrash(str(ex)) from ex
    except _CephMkspecCrash as ex:
        raise ModuleFailed("Task failed: Module failed: %s" % ex) from ex
    if image:
        cmd = [_ceph_mkspec_env(ctx, "CEPH_CONTAINER_BINARY"), "run", "--rm", "--net=host",
               "-v", "/etc/ceph:/etc/ceph:z", "-v", "/var/lib/ceph/:/var/lib/ceph/:z",
               "-v", "/var/log/ceph/:/var/log/ceph/:z"]
        if path:
            cmd += ["-v", "%s:%s:z" % (path, path)]
        cmd += ["--entrypoint=ceph", image]
    else:
        cmd = ["ceph"]
    cluster = p["cluster"]
    cmd += ["-n", "client.admin", "-k", "/etc/ceph/%s.client.admin.keyring" % cluster, "--cluster", cluster,
            "orch", "apply", "--in-file", path]
    rc, out, err = common_run(ctx, cmd)
    end = datetime.datetime.now()
    return {"cmd": cmd, "start": str(start), "end": str(end), "delta": str(end - start), "rc": rc,
            "stdout": out.rstrip("\r\n"), "stderr": err.rstrip("\r\n"), "changed": False}
