"""The metalsmith-backed baremetal modules: tripleo-ansible 6.0.0's tripleo_baremetal_check_existing
and tripleo_baremetal_populate_environment (module_utils/baremetal_deploy.py's check_existing and
populate_environment), and metalsmith 2.5.0's own metalsmith_instances (reserve, provision,
unprovision), which tripleo-ansible's cli-overcloud-node-(un)provision playbooks call.

These modules are glue around the metalsmith library (its Provisioner: allocations, deployment,
instance lookup) and openstacksdk. The ports are the same glue, with the same calls in the same order:
like the modules they import metalsmith and openstacksdk on the node at run time (neither is a
dependency of Directord; the node needs what the module needs: metalsmith, which brings
openstacksdk). metalsmith keeps class-level caches (allocations, networks) that live as long as the
process: the module's process is new for every task, so the ports empty them before each run.

What the modules take from elsewhere comes from the other ports: the old-style openstack.cloud
module_utils and AnsibleModule's handling (tripleo_baremetal.py's `_baremetal_run`,
`_baremetal_connect`), and baremetal_deploy.py's instance validation (jsonschema and metalsmith's
image source checks, tripleo_baremetal_expand_roles.py's `_bmd_validate_instances`).
metalsmith_instances' `logging` result is what metalsmith logged (at the task's log_level) while
the port ran.
"""

import contextlib
import importlib
import io
import logging
import os
from concurrent import futures

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.tripleo_baremetal import (  # tm:strip
    _BAREMETAL_COMMON_SPEC, _BaremetalExit, _BaremetalFail, _baremetal_connect, _baremetal_run)  # tm:strip
from migrator.runtime.modules.tripleo_baremetal_expand_roles import (  # tm:strip
    _BMD_INSTANCES_SCHEMA, _bmd_validate_instances)  # tm:strip

_METALSMITH_SPECS = {
    "tripleo_baremetal_check_existing": {
        "instances": {"required": True, "type": "list", "elements": "dict"},
    },
    "tripleo_baremetal_populate_environment": {
        "instances": {"required": True, "type": "list", "elements": "dict"},
        "environment": {"type": "dict", "default": {}},
        "ctlplane_network": {"default": "ctlplane"},
        "templates": {"type": "path", "default": "/usr/share/openstack-tripleo-heat-templates"},
    },
    # metalsmith_instances' DOCUMENTATION (its suboptions are no AnsibleModule key: not validated)
    "metalsmith_instances": {
        "instances": {"type": "list", "default": [], "elements": "dict"},
        "clean_up": {"default": True, "type": "bool"},
        "state": {"default": "present", "choices": ["present", "absent", "reserved"]},
        "wait": {"type": "bool", "default": False},
        "timeout": {"type": "int", "default": 3600},
        "concurrency": {"type": "int", "default": 0},
        "log_level": {"default": "info", "choices": ["debug", "info", "warning", "error"]},
    },
}


class _MetalsmithDeployError(Exception):
    """baremetal_deploy.BaremetalDeployException."""


def _metalsmith_run(name, params, ctx, body):
    """The module imports metalsmith first (a crash without it), then is an AnsibleModule."""
    _metalsmith_import()
    return _baremetal_run(name, params, ctx, body, spec=dict(_BAREMETAL_COMMON_SPEC, **_METALSMITH_SPECS[name]))


def _metalsmith_import():
    """(metalsmith, openstack): the module fails to import without them (a module crash)."""
    try:
        metalsmith = importlib.import_module("metalsmith")
        importlib.import_module("metalsmith.instance_config")
        importlib.import_module("metalsmith.sources")
        importlib.import_module("metalsmith.exceptions")
    except ImportError as ex:
        raise ModuleFailed("Task failed: Module failed: %s" % ex) from None
    # the module's process is new for every task: so are these caches
    metalsmith.Provisioner.allocations_cache = dict()
    metalsmith.Instance.network_cache = dict()
    return metalsmith, importlib.import_module("openstack")


def _metalsmith_provisioner(p):
    """openstack_cloud_from_module and metalsmith.Provisioner(cloud_region=cloud.config)."""
    metalsmith, _ = _metalsmith_import()
    sdk, cloud = _baremetal_connect(p)
    return metalsmith, sdk, cloud, metalsmith.Provisioner(cloud_region=cloud.config)


# ---------------------------------------------------------------------------
# module_utils/baremetal_deploy.py


def _metalsmith_check_existing(instances, provisioner, baremetal, metalsmith, sdk):
    import collections
    _bmd_validate_instances(instances, _BMD_INSTANCES_SCHEMA)
    not_found = []
    found = []
    unmanaged = []
    existing_by_hostname = collections.defaultdict(list)
    existing_by_name = collections.defaultdict(list)
    if baremetal:
        for node in baremetal.nodes(associated=True, fields=["uuid", "name", "instance_info"]):
            existing_by_name[node.name].append(node.id)
            display_name = node.instance_info.get("display_name")
            if display_name:
                existing_by_hostname[display_name].append(node.id)

    for request in instances:
        hostname = request["hostname"]
        name = request.get("name")
        hostname_matches = len(existing_by_hostname[hostname])
        name_matches = name and len(existing_by_name[name]) or 0
        if hostname_matches == 0:
            if name_matches == 0:
                ident = hostname  # there may be an allocation with that name
            elif name_matches == 1:
                ident = name
            else:
                raise _MetalsmithDeployError(
                    "There is more than one existing node with name=%s. Replace this name with a specific node "
                    "uuid to match the desired instance." % hostname)
        elif hostname_matches == 1:
            ident = existing_by_hostname[hostname][0]
        else:
            raise _MetalsmithDeployError(
                "There is more than one existing instance with instance_info.display_name=%s. Replace this "
                "hostname with a specific node uuid to match the desired instance." % hostname)

        if not request.get("managed", True):
            unmanaged.append(request)
            continue
        elif not baremetal:
            raise _MetalsmithDeployError(
                "Instance %s is not specified as pre-provisioned (managed: False), and no connection to the "
                "baremetal service was provided." % ident)

        try:
            instance = provisioner.show_instance(ident)
        except (sdk.exceptions.ResourceNotFound, metalsmith.exceptions.Error):
            not_found.append(request)
        except Exception as exc:
            raise _MetalsmithDeployError("%s. %s: %s" % (
                "Failed to request instance information for %s" % ident, type(exc).__name__, exc))
        else:
            if (not instance.allocation and instance.state == metalsmith.InstanceState.ACTIVE
                    and "name" in request):
                try:
                    baremetal.get_allocation(request["hostname"])
                    raise _MetalsmithDeployError(
                        "An allocation with the requested hostname %s already exists. Refusing to proceed to "
                        "avoid confusing results. Please either change the node name or use a different hostname"
                        % request["hostname"])
                except sdk.exceptions.ResourceNotFound:
                    pass
                # an existing node without an allocation record gets one, without allocating
                baremetal.create_allocation(resource_class=request.get("resource_class", "baremetal"),
                                            name=request["hostname"], node=request["name"])
                instance = provisioner.show_instance(instance.uuid)  # tripleo bug 1929555

            # metalsmith can match instances by node names: a safeguard against conflicts
            if instance.hostname and instance.hostname != request["hostname"]:
                try:
                    allocation = baremetal.get_allocation(request["hostname"])
                    node = baremetal.get_node(allocation.node_id)
                    if node.instance_info.get("display_name") != request["hostname"]:
                        raise _MetalsmithDeployError(
                            "Requested hostname %s was not found, but the deployed node %s has a matching name. "
                            "Refusing to proceed to avoid confusing results. Please either rename the node or "
                            "use a different hostname" % (request["hostname"], instance.uuid))
                except sdk.exceptions.ResourceNotFound:
                    continue
            found.append(instance)

    return found, not_found, unmanaged


def _metalsmith_nics_to_port_map(nics, connection):
    port_map = {}
    for nic in nics:
        for ip in nic.fixed_ips:
            net_name = getattr(nic.network, "name", None) or nic.network.id
            subnet = connection.network.get_subnet(ip["subnet_id"])
            net_info = port_map.setdefault(net_name, {"network": nic.network.to_dict(), "fixed_ips": [],
                                                      "subnets": []})
            net_info["fixed_ips"].append({"ip_address": ip["ip_address"]})
            net_info["subnets"].append(subnet.to_dict())
    return port_map


def _metalsmith_populate_environment(instance_uuids, provisioner, environment, ctlplane_network, templates):
    resource_registry = environment.setdefault("resource_registry", {})
    resource_registry.setdefault("OS::TripleO::DeployedServer::ControlPlanePort",
                                 os.path.join(templates, "deployed-server/deployed-neutron-port.yaml"))
    port_map = environment.setdefault("parameter_defaults", {}).setdefault("DeployedServerPortMap", {})
    for uuid in instance_uuids:
        instance = provisioner.show_instance(uuid)
        nets = _metalsmith_nics_to_port_map(instance.nics(), provisioner.connection)
        ctlplane_net = nets.get(ctlplane_network)
        if not ctlplane_net:
            continue
        ctlplane = {"fixed_ips": ctlplane_net.get("fixed_ips", [])}
        port_map["%s-%s" % (instance.hostname.lower(), ctlplane_network)] = ctlplane
    return environment


# ---------------------------------------------------------------------------
# tripleo_baremetal_check_existing


def _metalsmith_check_existing_main(p, ctx):
    metalsmith, sdk, cloud, provisioner = _metalsmith_provisioner(p)
    keystoneauth1 = importlib.import_module("keystoneauth1")
    importlib.import_module("keystoneauth1.exceptions")
    try:
        msg = ""
        try:
            baremetal = cloud.baremetal
        except keystoneauth1.exceptions.catalog.EndpointNotFound as exc:
            msg += str(exc)
            baremetal = None
        found, not_found, pre_provisioned = _metalsmith_check_existing(
            instances=p["instances"], provisioner=provisioner, baremetal=baremetal, metalsmith=metalsmith, sdk=sdk)
        if found:
            msg += "Found existing instances: %s. " % ", ".join([i.uuid for i in found])
        if not_found:
            msg += "Instance(s) %s do not exist. " % ", ".join(r["hostname"] for r in not_found)
        if pre_provisioned:
            msg += "Instance(s) %s are pre-provisioned. " % ", ".join(r["hostname"] for r in pre_provisioned)
        instances = [{"name": i.node.name or i.uuid, "hostname": i.hostname, "id": i.uuid} for i in found]
        result = dict(changed=False, msg=msg, instances=instances, not_found=not_found,
                      pre_provisioned=pre_provisioned)
    except Exception as e:
        raise _BaremetalFail(str(e)) from None
    raise _BaremetalExit(**result)


@module("tripleo_baremetal_check_existing", "ansible.legacy.tripleo_baremetal_check_existing")
def tripleo_baremetal_check_existing_module(params, ctx):
    return _metalsmith_run("tripleo_baremetal_check_existing", params, ctx, _metalsmith_check_existing_main)


# ---------------------------------------------------------------------------
# tripleo_baremetal_populate_environment


def _metalsmith_populate_environment_main(p, ctx):
    metalsmith, sdk, cloud, provisioner = _metalsmith_provisioner(p)
    instance_uuids = [i["id"] for i in p["instances"]]
    try:
        env = _metalsmith_populate_environment(instance_uuids=instance_uuids, provisioner=provisioner,
                                               environment=p["environment"], ctlplane_network=p["ctlplane_network"],
                                               templates=p["templates"])
    except Exception as e:
        raise _BaremetalFail(str(e)) from None
    raise _BaremetalExit(changed=False, environment=env)


@module("tripleo_baremetal_populate_environment", "ansible.legacy.tripleo_baremetal_populate_environment")
def tripleo_baremetal_populate_environment_module(params, ctx):
    return _metalsmith_run("tripleo_baremetal_populate_environment", params, ctx,
                           _metalsmith_populate_environment_main)


# ---------------------------------------------------------------------------
# metalsmith_instances

_METALSMITH_LOG_MAP = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
                       "error": logging.ERROR}


@contextlib.contextmanager
def _metalsmith_logging(log_level):
    """The module's _configure_logging for the `metalsmith` logger (a StringIO handler at log_level),
    undone afterwards; the root logger of this process is left alone."""
    logger = logging.getLogger("metalsmith")
    saved = logger.level
    log_stream = io.StringIO()
    handler = logging.StreamHandler(log_stream)
    logger.setLevel(_METALSMITH_LOG_MAP[log_level])
    logger.addHandler(handler)
    try:
        yield log_stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)


def _metalsmith_get_source(metalsmith, instance):
    image = instance.get("image")
    return metalsmith.sources.detect(image=image.get("href"), kernel=image.get("kernel"),
                                     ramdisk=image.get("ramdisk"), checksum=image.get("checksum"))


def _metalsmith_reserve(provisioner, instances, clean_up):
    nodes = []
    for instance in instances:
        candidates = instance.get("candidates", [])
        if instance.get("name") is not None:
            candidates.append(instance["name"])
        if not candidates:
            candidates = None
        try:
            node = provisioner.reserve_node(
                hostname=instance.get("hostname"), resource_class=instance.get("resource_class", "baremetal"),
                capabilities=instance.get("capabilities"), candidates=candidates, traits=instance.get("traits"),
                conductor_group=instance.get("conductor_group")),
            if isinstance(node, tuple):
                node = node[0]
            nodes.append(node)
            instance["name"] = node.id  # the later provision step reads it
        except Exception as exc:
            if clean_up:
                _metalsmith_release_nodes(provisioner, [i.id for i in nodes])
            raise exc
    return len(nodes) > 0, nodes


def _metalsmith_release_nodes(provisioner, node_ids):
    for node in node_ids:
        try:
            provisioner.unprovision_node(node)
        except Exception:
            pass


def _metalsmith_provision_instance(metalsmith, provisioner, instance, nodes, timeout, wait):
    name = instance.get("name")
    image = _metalsmith_get_source(metalsmith, instance)
    ssh_keys = instance.get("ssh_public_keys")
    config_drive = instance.get("config_drive", {})
    cloud_config = config_drive.get("cloud_config")
    meta_data = config_drive.get("meta_data")
    config = metalsmith.instance_config.CloudInitConfig(ssh_keys=ssh_keys, user_data=cloud_config,
                                                        meta_data=meta_data)
    if instance.get("user_name"):
        config.add_user(instance.get("user_name"), admin=True, sudo=instance.get("passwordless_sudo", True))
    node = provisioner.provision_node(
        name, config=config, hostname=instance.get("hostname"), image=image, nics=instance.get("nics"),
        root_size_gb=instance.get("root_size_gb"), swap_size_mb=instance.get("swap_size_mb"),
        netboot=instance.get("netboot", False))
    nodes.append(node)
    if wait:
        provisioner.wait_for_provisioning([node.uuid], timeout=timeout)


def _metalsmith_provision(metalsmith, provisioner, instances, timeout, concurrency, clean_up, wait):
    if not instances:
        return False, []
    _metalsmith_reserve(provisioner, [i for i in instances if not i.get("name")], clean_up)
    nodes = []
    if concurrency < 1:  # no limit: a worker for every instance
        concurrency = len(instances)
    if concurrency < len(instances):
        wait = True
    provision_jobs = []
    exceptions = []
    with futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        for i in instances:
            provision_jobs.append(pool.submit(_metalsmith_provision_instance, metalsmith, provisioner, i, nodes,
                                              timeout, wait))
    for job in futures.as_completed(provision_jobs):
        e = job.exception()
        if e:
            exceptions.append(e)
            if clean_up:
                for other in provision_jobs:
                    other.cancel()
                _metalsmith_release_nodes(provisioner, [i.uuid for i in nodes])
                nodes = []
    if exceptions:
        raise exceptions[0]
    return len(nodes) > 0, nodes


def _metalsmith_unprovision(provisioner, instances, sdk):
    connection = provisioner.connection
    for instance in instances:
        hostname = instance.get("hostname")
        node = None
        if hostname:
            try:
                allocation = connection.baremetal.get_allocation(hostname)
                node = connection.baremetal.get_node(allocation.node_id)
            except sdk.exceptions.ResourceNotFound:
                pass  # no allocation for this hostname: look the node name up
        name = instance.get("name")
        if not node and name:
            try:
                node = connection.baremetal.get_node(name)
            except sdk.exceptions.ResourceNotFound:
                pass  # no such node: nothing to unprovision
        if node:
            provisioner.unprovision_node(node)
    return True


def _metalsmith_instances_main(p, ctx):
    metalsmith, sdk = _metalsmith_import()
    with _metalsmith_logging(p["log_level"]) as log_stream:
        try:
            sdk, cloud = _baremetal_connect(p)
            provisioner = metalsmith.Provisioner(cloud_region=cloud.config)
            instances = p["instances"]
            state = p["state"]
            if state == "present":
                changed, nodes = _metalsmith_provision(metalsmith, provisioner, instances, p["timeout"],
                                                       p["concurrency"], p["clean_up"], p["wait"])
                instances = [{"name": i.node.name or i.uuid, "hostname": i.hostname, "id": i.uuid} for i in nodes]
                result = dict(changed=changed, msg="{} instances provisioned".format(len(nodes)),
                              instances=instances, logging=log_stream.getvalue())
            elif state == "reserved":
                changed, nodes = _metalsmith_reserve(provisioner, instances, p["clean_up"])
                result = dict(changed=changed, msg="{} instances reserved".format(len(nodes)),
                              ids=[node.id for node in nodes], instances=instances, logging=log_stream.getvalue())
            else:
                changed = _metalsmith_unprovision(provisioner, instances, sdk)
                result = dict(changed=changed, msg="{} nodes unprovisioned".format(len(instances)),
                              logging=log_stream.getvalue())
        except _BaremetalFail:
            raise
        except Exception as e:
            raise _BaremetalFail(str(e), logging=log_stream.getvalue()) from None
    raise _BaremetalExit(**result)


@module("metalsmith_instances", "ansible.legacy.metalsmith_instances")
def metalsmith_instances_module(params, ctx):
    return _metalsmith_run("metalsmith_instances", params, ctx, _metalsmith_instances_main)
