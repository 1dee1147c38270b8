"""tripleo-ansible's Ironic node modules: os_baremetal_clean_node, os_baremetal_provide_node and
os_tripleo_baremetal_node_introspection (tripleo-ansible 6.0.0, ansible_plugins/modules/).

Like the modules, the ports drive Ironic through openstacksdk on the node (imported at run time:
it is no dependency of Directord; without it a task fails with the module's own "openstacksdk is
required for this module"), with the same calls in the same order and the same thread pools. What
the modules take from elsewhere is carried here (`_baremetal_*`):

- openstack.cloud's old-style module_utils (openstack_full_argument_spec, openstack_module_kwargs,
  openstack_cloud_from_module): the common options, the module's DOCUMENTATION options over them
  (their `timeout` default replaces the common 180), the minimum SDK version (StrictVersion against
  1.0.0), a `cloud` dict or name, connection errors as failures;
- AnsibleModule: validation, no check mode support (the task is skipped), no_log values (`auth`,
  `client_key`) masked in results, results passed through remove_values and JSON (an SDK resource
  in a result is rebuilt as the module's remove_values rebuilds it), an exception the module does
  not catch reported as Ansible reports a module crash.

The task's environment applies to openstacksdk's configuration (OS_CLOUD, OS_CLIENT_CONFIG_FILE,
OS_* variables): it is set in this process while the port runs, as Ansible sets it for the module's
process. The modules' own quirks are kept: cleaning reports "%s nodes" with the count of
`node_uuid` only, providing works on a set of the names (arbitrary order), introspection files
every result under the last node of its loop.
"""

import contextlib
import importlib
import io
import logging
import re
import traceback
from concurrent import futures

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip
from migrator.runtime.modules.openstack_identity import (  # tm:strip
    _openstack_identity_environ, _openstack_identity_json, _openstack_identity_strings)  # tm:strip

_BAREMETAL_MIN_SDK = "1.0.0"

# openstack.cloud's openstack_full_argument_spec (module_utils/openstack.py)
_BAREMETAL_COMMON_SPEC = {
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

# each module's DOCUMENTATION options, as yaml.safe_load gives them (descriptions left out)
_BAREMETAL_SPECS = {
    "os_baremetal_clean_node": {
        "node_uuid": {"type": "list", "required": False, "default": []},
        "node_name": {"type": "list", "required": False, "default": []},
        "clean_steps": {"type": "list", "required": True},
        "timeout": {"type": "int", "required": False, "default": 1800},
        "quiet": {"type": "bool", "default": False},
        "max_retries": {"type": "int", "required": False, "default": 0},
        "concurrency": {"type": "int", "required": False, "default": 20},
        "raid_config": {"type": "dict", "required": False},
    },
    "os_baremetal_provide_node": {
        "node_uuid": {"type": "list", "required": False, "default": []},
        "node_name": {"type": "list", "required": False, "default": []},
        "timeout": {"type": "int", "required": False, "default": 1800},
        "quiet": {"type": "bool", "default": False},
        "failfast": {"type": "bool", "default": True},
        "wait_for_bridge_mappings": {"type": "bool", "default": False},
    },
    "os_tripleo_baremetal_node_introspection": {
        "node_uuids": {"type": "list", "required": True},
        "concurrency": {"type": "int", "default": 20},
        "max_retries": {"type": "int", "default": 2},
        "node_timeout": {"type": "int", "default": 1200},
        "retry_timeout": {"type": "int", "default": 120},
        "quiet": {"type": "bool", "default": False},
        "log_level": {"default": "info", "choices": ["debug", "info", "warning", "error"]},
    },
}

# AnsibleModule's PASSWORD_MATCH: options that look like passwords but are not no_log get a warning
_BAREMETAL_PASSWORD_MATCH = re.compile(r"^(?:.+[-_\s])?pass(?:[-_\s]?(?:word|phrase|wrd|wd)?)(?:[-_\s].+)?$", re.I)


class _BaremetalExit(Exception):
    """AnsibleModule.exit_json: leaves the module with a result (failed=True fails the task)."""

    def __init__(self, **result):
        super().__init__("exit")
        self.result = result


class _BaremetalFail(Exception):
    """AnsibleModule.fail_json."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.result = dict(result, msg=msg)


# ---------------------------------------------------------------------------
# what AnsibleModule and openstack.cloud's module_utils do around the modules


def _baremetal_mask(value, secrets):
    """ansible.module_utils.common.parameters.remove_values.

    A mapping is rebuilt as the same type (an openstacksdk resource becomes a new resource of its
    class holding its items), as remove_values does, before the result becomes JSON.
    """
    if isinstance(value, str):
        if value in secrets:
            return "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        for secret in secrets:
            value = value.replace(secret, "*" * 8)
        return value
    if value is True or value is False or value is None:
        return value
    if isinstance(value, dict):
        rebuilt = type(value)() if type(value) is not dict else {}
        for key, item in list(value.items()):
            rebuilt[_baremetal_mask(key, secrets)] = _baremetal_mask(item, secrets)
        return rebuilt
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_baremetal_mask(v, secrets) for v in value) if not isinstance(value, list) else \
            [_baremetal_mask(v, secrets) for v in value]
    if isinstance(value, (int, float)):
        text = str(value)
        if text in secrets or any(secret in text for secret in secrets):
            return "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    return value


def _baremetal_strict_version(text):
    """distutils' StrictVersion, as the collection vendors it: (major, minor, patch) or ValueError."""
    match = re.match(r"^(\d+)\.(\d+)(\.(\d+))?([ab](\d+))?$", str(text), re.VERBOSE | re.ASCII)
    if not match:
        raise ValueError("invalid version number '%s'" % text)
    major, minor, patch = match.group(1, 2, 4)
    return (int(major), int(minor), int(patch or 0))


def _baremetal_connect(p):
    """openstack_cloud_from_module: (sdk, connection)."""
    try:
        sdk = importlib.import_module("openstack")
    except ImportError:
        raise _BaremetalFail("openstacksdk is required for this module") from None
    version = sdk.version.__version__
    if _baremetal_strict_version(version) < _baremetal_strict_version(_BAREMETAL_MIN_SDK):
        raise _BaremetalFail(
            "Incompatible openstacksdk library found: Version MUST be >={0} and <=None, but {1} is "
            "smaller than minimum version {0}.".format(_BAREMETAL_MIN_SDK, version))
    cloud = p.pop("cloud", None)
    try:
        if isinstance(cloud, dict):
            for key in ("auth", "region_name", "validate_certs", "ca_cert", "client_cert", "client_key",
                        "api_timeout", "auth_type"):
                if p[key] is not None:
                    raise _BaremetalFail(
                        "A cloud config dict was provided to the cloud parameter but also a value was "
                        "provided for {0}. If a cloud config dict is provided, {0} should be "
                        "excluded.".format(key))
            if p["interface"] != "public":
                raise _BaremetalFail(
                    "A cloud config dict was provided to the cloud parameter but also a value was provided "
                    "for interface. If a cloud config dict is provided, interface should be excluded.")
            return sdk, sdk.connect(**cloud)
        return sdk, sdk.connect(
            cloud=cloud, auth_type=p["auth_type"], auth=p["auth"], region_name=p["region_name"],
            verify=p["validate_certs"], cacert=p["ca_cert"], key=p["client_key"], cert=p["client_cert"],
            api_timeout=p["api_timeout"], interface=p["interface"])
    except sdk.exceptions.SDKException as ex:
        raise _BaremetalFail(str(ex)) from None


def _baremetal_run(name, params, ctx, body, spec=None, common=True):
    """Validate, skip in check mode, run body(p, ctx) in the task's environment; the masked result.

    body raises _BaremetalExit/_BaremetalFail as the module exits; any other exception is a crash.
    """
    spec = spec or (dict(_BAREMETAL_COMMON_SPEC, **_BAREMETAL_SPECS[name]) if common else _BAREMETAL_SPECS[name])
    p = common_validate(name, params, spec, ctx)
    if ctx.check_mode:
        return {"changed": False, "skipped": True, "msg": "remote module (%s) does not support check mode" % name}
    secrets = set()
    for key, option in spec.items():
        if option.get("no_log") and p.get(key):
            secrets.update(_openstack_identity_strings(p[key]))
    secrets = sorted(secrets, key=len, reverse=True)
    for key, option in spec.items():  # AnsibleModule._log_invocation
        if option.get("no_log") is None and _BAREMETAL_PASSWORD_MATCH.search(key):
            ctx.warn("Module did not set no_log for %s" % key)
    try:
        with _openstack_identity_environ(ctx):
            try:
                body(p, ctx)
            except (_BaremetalExit, _BaremetalFail, ModuleFailed):
                raise
            except Exception as ex:
                # an exception the module does not catch: Ansible reports the module's crash
                raise ModuleFailed("Task failed: Module failed: %s" % ex,
                                   exception=traceback.format_exc()) from None
            result = {"changed": False}
    except _BaremetalExit as done:
        result = done.result
    except _BaremetalFail as ex:
        failed = _openstack_identity_json(_baremetal_mask(dict(ex.result, changed=ex.result.get("changed", False)), secrets))
        raise ModuleFailed(failed.pop("msg"), **failed) from None
    result = _openstack_identity_json(_baremetal_mask(dict(result), secrets))
    result.setdefault("changed", False)
    if result.get("failed"):
        raise ModuleFailed(result.pop("msg", ""), **{k: v for k, v in result.items() if k != "failed"})
    result.pop("failed", None)
    return result


# ---------------------------------------------------------------------------
# os_baremetal_clean_node


def _baremetal_parallel_cleaning(conn, p):
    exceptions = importlib.import_module("openstack.exceptions")
    client = conn.baremetal
    node_timeout = p["timeout"]
    nodes = p["node_uuid"] + p["node_name"]
    clean_steps = p["clean_steps"]
    result = {}

    if p["raid_config"]:
        for node in nodes:
            try:
                node_info = client.update_node(node, target_raid_config=p["raid_config"])
                result.update({node: {
                    "msg": "Setting the raid configuration for node {} succeeded.".format(node),
                    "failed": False,
                    "info": node_info,
                }})
            except exceptions.BadRequestException as e:
                result.update({node: {
                    "msg": "Setting raid configuration for node {} failed. Error: {}".format(node, str(e)),
                    "failed": True,
                    "error": str(e),
                    "info": {},
                }})
                nodes.pop(nodes.index(node))  # as the module does, while iterating

    workers = min(len(nodes), p["concurrency"]) or 1
    with futures.ThreadPoolExecutor(max_workers=workers) as executor:
        future_to_build = {
            executor.submit(client.set_node_provision_state, node, "clean", clean_steps=clean_steps,
                            wait=True): node for node in nodes
        }
        done, not_done = futures.wait(future_to_build, timeout=node_timeout,
                                      return_when=futures.ALL_COMPLETED)

    nodes_wait = []
    for job in done:
        if job.exception():
            result.update({future_to_build[job]: {
                "msg": "Cleaning failed for node {}: {}".format(future_to_build[job], str(job.exception())),
                "failed": True,
                "info": {},
            }})
        else:
            nodes_wait.append(future_to_build[job])
    else:
        if not_done:
            for job in not_done:
                result.update({future_to_build[job]: {
                    "msg": "Cleaning incomplete for node {}".format(future_to_build[job]),
                    "failed": True,
                    "info": {},
                }})

    nodes_to_delete = []
    for node in nodes_wait:
        node_info = client.get_node(node, fields=["provision_state", "last_error"]).to_dict()
        state = node_info["provision_state"]
        if state == "manageable":
            nodes_to_delete.append(node)
            result.update({node: {
                "msg": "Successful cleaning for node %s" % node,
                "failed": False,
                "error": "",
                "info": node_info,
            }})
        elif state not in ["manageable", "cleaning", "clean wait", "available"]:
            nodes_to_delete.append(node)
            result.update({node: {
                "msg": "Failed cleaning for node %s: %s" % (node, node_info["last_error"] or "state %s" % state),
                "failed": True,
                "info": node_info,
            }})

    for node in nodes_to_delete:
        nodes_wait.remove(node)

    if nodes_wait:
        for node in nodes_wait:
            node_info = client.get_node(node, fields=["provision_state", "last_error"]).to_dict()
            state = node_info["provision_state"]
            result.update({node: {
                "msg": "Timeout exceeded for node %s: node is in state %s" % (node, state),
                "failed": True,
                "info": node_info,
            }})

    return result


def _baremetal_clean_main(p, ctx):
    if not p["node_uuid"] and not p["node_name"]:
        raise _BaremetalFail("Provide either UUID or names of nodes!")
    sdk, cloud = _baremetal_connect(p)
    try:
        result = _baremetal_parallel_cleaning(cloud, p)
        module_results = {"changed": True}
        failed_nodes = [k for k, v in result.items() if v["failed"]]
        passed_nodes = [k for k, v in result.items() if not v["failed"]]
        infos = [{k: v["info"]} for k, v in result.items()]
        all_errors = "\n".join([v["msg"] for k, v in result.items() if v["failed"]])
        failed = len(failed_nodes)
        if failed > 0:
            message = "Cleaning completed with failures. %s node(s) failed.Errors: %s" % (failed, all_errors)
            module_results.update({"failed": True})
        else:
            message = "Cleaning completed successfully: %s nodes" % len(p["node_uuid"])
        module_results.update({
            "baremetal_data": infos if not p["quiet"] else {},
            "failed_nodes": failed_nodes,
            "passed_nodes": passed_nodes,
            "msg": message,
        })
        raise _BaremetalExit(**module_results)
    except sdk.exceptions.SDKException as e:
        raise _BaremetalFail(str(e)) from None


@module("os_baremetal_clean_node", "ansible.legacy.os_baremetal_clean_node")
def os_baremetal_clean_node_module(params, ctx):
    return _baremetal_run("os_baremetal_clean_node", params, ctx, _baremetal_clean_main)


# ---------------------------------------------------------------------------
# os_baremetal_provide_node


def _baremetal_get_info_nodes(nodes_wait, msg, result, client):
    for node in nodes_wait:
        node_info = client.get_node(node, fields=["provision_state", "last_error"]).to_dict()
        state = node_info["provision_state"]
        if state == "available":
            result.update({node: {
                "msg": "Successful providing for node %s" % node,
                "failed": False,
                "error": "",
                "info": node_info,
            }})
        else:
            result.update({node: {
                "msg": "Failed providing for node %s: %s" % (node, node_info["last_error"] or "state %s" % state),
                "failed": True,
                "info": node_info,
            }})
    return result, msg


def _baremetal_wait_for_unlocked(client, node, timeout):
    utils = importlib.import_module("openstack.utils")
    timeout_msg = "Timeout waiting for node %s to be unlocked" % node
    for _count in utils.iterate_timeout(timeout, timeout_msg):
        node_info = client.get_node(node, fields=["reservation"]).to_dict()
        if node_info["reservation"] is None:
            return


def _baremetal_wait_for_bridge_mapping(conn, node):
    utils = importlib.import_module("openstack.utils")
    client = conn.network
    # the module looks the Neutron agents up by the node's UUID (tripleo bug 1966155)
    node_id = conn.baremetal.find_node(node, ignore_missing=False).id
    timeout_msg = ("Timeout waiting for node %s to have bridge_mappings set in the ironic-neutron-agent entry"
                   % node)
    timeout = 60  # default agent polling period is 30s
    for _count in utils.iterate_timeout(timeout, timeout_msg):
        agents = list(client.agents(host=node_id, binary="ironic-neutron-agent"))
        if agents:
            if agents[0].configuration.get("bridge_mappings"):
                return


def _baremetal_parallel_providing(conn, p):
    exceptions = importlib.import_module("openstack.exceptions")
    client = conn.baremetal
    node_timeout = p["timeout"]
    nodes = list(set(p["node_uuid"] + p["node_name"]))
    result = {}
    nodes_wait = nodes[:]
    for node in nodes:
        try:
            _baremetal_wait_for_unlocked(client, node, node_timeout)
            if p["wait_for_bridge_mappings"]:
                _baremetal_wait_for_bridge_mapping(conn, node)
            client.set_node_provision_state(node, "provide", wait=False)
        except Exception as e:
            nodes_wait.remove(node)
            result.update({node: {
                "msg": "Can not start providing for node %s: %s" % (node, str(e)),
                "failed": True,
                "info": {},
            }})
            if p["failfast"]:
                return _baremetal_get_info_nodes(nodes_wait, msg="Failed providing nodes because of: %s" % str(e),
                                                 result=result, client=client)
    try:
        client.wait_for_nodes_provision_state(nodes=nodes_wait, expected_state="available",
                                              timeout=node_timeout, abort_on_failed_state=p["failfast"])
    except exceptions.ResourceFailure as e:
        return _baremetal_get_info_nodes(nodes_wait, msg="Failed providing nodes because of failure: %s" % str(e),
                                         result=result, client=client)
    except exceptions.ResourceTimeout as e:
        return _baremetal_get_info_nodes(nodes_wait, msg="Failed providing nodes because of timeout: %s" % str(e),
                                         result=result, client=client)
    else:
        return _baremetal_get_info_nodes(nodes_wait, msg="", result=result, client=client)


def _baremetal_provide_main(p, ctx):
    if not p["node_uuid"] and not p["node_name"]:
        raise _BaremetalFail("Provide either UUID or names of nodes!")
    sdk, cloud = _baremetal_connect(p)
    try:
        result, msg = _baremetal_parallel_providing(cloud, p)
        module_results = {"changed": True}
        failed_nodes = [k for k, v in result.items() if v["failed"]]
        passed_nodes = [k for k, v in result.items() if not v["failed"]]
        infos = [{k: v["info"]} for k, v in result.items()]
        all_errors = "\n".join([msg] + [v["msg"] for k, v in result.items() if v["failed"]])
        failed = len(failed_nodes)
        if failed > 0:
            message = "Providing completed with failures. %s node(s) failed.Errors: %s" % (failed, all_errors)
            module_results.update({"failed": True})
        else:
            message = "Providing completed successfully: %s nodes" % len(p["node_uuid"])
        module_results.update({
            "baremetal_data": infos if not p["quiet"] else {},
            "failed_nodes": failed_nodes,
            "passed_nodes": passed_nodes,
            "msg": message,
        })
        raise _BaremetalExit(**module_results)
    except sdk.exceptions.SDKException as e:
        raise _BaremetalFail(str(e)) from None


@module("os_baremetal_provide_node", "ansible.legacy.os_baremetal_provide_node")
def os_baremetal_provide_node_module(params, ctx):
    return _baremetal_run("os_baremetal_provide_node", params, ctx, _baremetal_provide_main)


# ---------------------------------------------------------------------------
# os_tripleo_baremetal_node_introspection

_BAREMETAL_INTROSPECTION_LOG = "os_tripleo_baremetal_node_introspection"
_BAREMETAL_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
                         "error": logging.ERROR}


@contextlib.contextmanager
def _baremetal_introspection_logging(log_level):
    """The module's _configure_logging (logging.basicConfig on the module's fresh root logger with one
    StringIO handler), undone afterwards: this process's logging stays as it was."""
    log_stream = io.StringIO()
    handler = logging.StreamHandler(log_stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    pool = logging.getLogger("urllib3.connectionpool")
    saved = (root.level, pool.level)
    root.addHandler(handler)
    root.setLevel(_BAREMETAL_LOG_LEVELS[log_level])
    pool.setLevel(logging.CRITICAL)
    try:
        yield log_stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        pool.setLevel(saved[1])


def _baremetal_prepare_for_attempt(cloud, node, node_timeout, retry_timeout):
    log = logging.getLogger(_BAREMETAL_INTROSPECTION_LOG)
    if node.provision_state not in ("manageable", "inspect failed"):
        try:
            log.info('Node in state "%s", calling abort: %s', node.provision_state, node.id)
            node = cloud.baremetal.set_node_provision_state(node, "abort", wait=True, timeout=node_timeout)
        except Exception as e:
            log.warning("Abort introspection of node %s failed: %s", node.id, str(e))
    if node.power_state != "power off":
        try:
            log.info("Power off node: %s", node.id)
            cloud.baremetal.set_node_power_state(node, "power off", wait=True, timeout=node_timeout)
        except Exception as e:
            log.warning("Power off of node %s failed: %s", node.id, str(e))
    if node.reservation:
        try:
            node = cloud.baremetal.wait_for_node_reservation(node, timeout=retry_timeout)
        except Exception as e:
            log.warning("Waiting for node unlock %s failed: %s", node.id, str(e))
    return node


def _baremetal_introspect_node(cloud, node_uuid, node_timeout, retry_timeout, max_retries, fetch_data):
    log = logging.getLogger(_BAREMETAL_INTROSPECTION_LOG)
    last_error = None
    attempt = 0
    status = ""
    while attempt <= max_retries:
        attempt += 1
        node = cloud.baremetal.get_node(node_uuid)
        log.info("Preparing for attempt %s for node: %s", attempt, node_uuid)
        node = _baremetal_prepare_for_attempt(cloud, node, node_timeout, retry_timeout)
        try:
            log.info("Introspecting node: %s", node_uuid)
            node = cloud.baremetal.set_node_provision_state(node, "inspect", wait=True, timeout=node_timeout)
            if node.power_state != "power off":
                log.info("Power off node: %s", node_uuid)
                cloud.baremetal.set_node_power_state(node, "power off", wait=True, timeout=node_timeout)
            if fetch_data:
                log.info("Fetching introspection data: %s", node_uuid)
                status = cloud.baremetal_introspection.get_introspection_data(node_uuid)
            log.info("Introspecting node complete: %s", node_uuid)
            return {"status": status, "failed": False, "error": None}
        except Exception as e:
            last_error = str(e)
            log.error("Introspection of node %s failed on attempt %s: %s", node_uuid, attempt, last_error)
    message = "unknown error"
    try:
        node = cloud.baremetal.get_node(node_uuid)
        message = node.last_error
        status = node.provision_state
    except Exception:
        if last_error:
            message = last_error
    return {"error": "Error for introspection node %s on attempt %s: %s " % (node_uuid, attempt, message),
            "failed": True, "status": status}


def _baremetal_introspect(cloud, node_uuids, node_timeout, retry_timeout, max_retries, concurrency, fetch_data):
    log = logging.getLogger(_BAREMETAL_INTROSPECTION_LOG)
    result = {}
    if not node_uuids:
        return result
    introspect_jobs = []
    with futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        for node_uuid in node_uuids:
            introspect_jobs.append(pool.submit(_baremetal_introspect_node, cloud, node_uuid, node_timeout,
                                               retry_timeout, max_retries, fetch_data))
    for job in futures.as_completed(introspect_jobs):
        e = job.exception()
        # as in the module: every result goes under the loop's last node_uuid
        if e:
            result[node_uuid] = {"error": str(e), "failed": True, "status": "failed"}
            log.error("Unexpected error: %s", e)
        else:
            result[node_uuid] = job.result()
    return result


def _baremetal_introspection_main(p, ctx):
    with _baremetal_introspection_logging(p["log_level"]) as log_stream:
        sdk, cloud = _baremetal_connect(p)
        quiet = p["quiet"]
        failed_nodes = []
        passed_nodes = []
        try:
            result = _baremetal_introspect(cloud, node_uuids=p["node_uuids"], node_timeout=p["node_timeout"],
                                           retry_timeout=p["retry_timeout"], max_retries=p["max_retries"],
                                           concurrency=p["concurrency"], fetch_data=not quiet)
        except Exception as e:
            logging.getLogger(_BAREMETAL_INTROSPECTION_LOG).error("Unexpected error: %s", e)
            raise _BaremetalFail(str(e), failed_nodes=p["node_uuids"], passed_nodes=[],
                                 logging=log_stream.getvalue().split("\n")) from None
        res = result  # the module rebinds `result` in this loop
        for node_uuid, res in result.items():
            if res["failed"]:
                failed_nodes.append(node_uuid)
            else:
                passed_nodes.append(node_uuid)
        failed = len(failed_nodes)
        if failed > 0:
            message = "Introspection completed with failures. %s node(s) failed." % failed
        else:
            message = "Introspection completed successfully: %s nodes" % len(passed_nodes)
        # the module's exit_json: `result` is the last one of the loop above, as in the module
        raise _BaremetalExit(changed=True, failed=failed > 0, introspection_data=res if not quiet else {},
                             failed_nodes=failed_nodes, passed_nodes=passed_nodes, msg=message,
                             logging=log_stream.getvalue().split("\n"))


@module("os_tripleo_baremetal_node_introspection", "ansible.legacy.os_tripleo_baremetal_node_introspection")
def os_tripleo_baremetal_node_introspection_module(params, ctx):
    return _baremetal_run("os_tripleo_baremetal_node_introspection", params, ctx, _baremetal_introspection_main)
