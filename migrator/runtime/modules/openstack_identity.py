"""openstack.cloud identity (Keystone) modules, as in openstack.cloud 2.5.0 (the `ansible` 12.3.0 package).

Ported: identity_domain, identity_domain_info, identity_role, identity_user,
identity_user_info, project, role_assignment, catalog_service, endpoint - the
modules tripleo-ansible's tripleo_keystone_resources role calls.

Like the modules, the ports talk to Keystone through openstacksdk on the node
(imported at run time: it is no dependency of Directord; without it a task fails
with the module's own "openstacksdk is required for this module"). Everything the
modules share comes from the collection's OpenStackModule: the common options
(cloud as a clouds.yaml name or a dict, auth, auth_type, region_name, interface,
validate_certs, ca_cert, client_cert, client_key, api_timeout, wait, timeout,
sdk_log_path, sdk_log_level), the connection, SDK errors turned into failures
with `extra_data`, and AnsibleModule's masking of no_log values (`auth`,
`client_key`, a user's `password`) in whatever the result holds. The task's
environment applies to openstacksdk's configuration (OS_CLOUD,
OS_CLIENT_CONFIG_FILE, OS_* variables): it is set in this process while the port
runs, as Ansible sets it for the module's process.

Change detection, check mode and result keys (`domain`, `role`, `user`, `project`,
`service`, `endpoint` as openstacksdk's to_dict(computed=False) gives them,
`domains`, `users`) follow each module; identity_user does not support check mode
(the task is skipped, as Ansible skips it).
"""

import contextlib
import importlib
import json
import os
import re
import traceback

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip

_OPENSTACK_IDENTITY_MIN_SDK = "1.0.0"

# openstack.cloud's openstack_full_argument_spec
_OPENSTACK_IDENTITY_COMMON_SPEC = {
    "cloud": {"type": "raw"},
    "auth_type": {"type": "str"},
    "auth": {"type": "dict", "no_log": True},
    "region_name": {"type": "str"},
    "validate_certs": {"type": "bool", "aliases": ["verify"]},
    "ca_cert": {"type": "str", "aliases": ["cacert"]},
    "client_cert": {"type": "str", "aliases": ["cert"]},
    "client_key": {"type": "str", "no_log": True, "aliases": ["key"]},
    "wait": {"type": "bool", "default": True},
    "timeout": {"type": "int", "default": 180},
    "api_timeout": {"type": "int"},
    "interface": {"type": "str", "default": "public", "choices": ["public", "internal", "admin"],
                  "aliases": ["endpoint_type"]},
    "sdk_log_path": {"type": "str"},
    "sdk_log_level": {"type": "str", "default": "INFO", "choices": ["INFO", "DEBUG"]},
}

_OPENSTACK_IDENTITY_STATE = {"type": "str", "default": "present", "choices": ["absent", "present"]}

_OPENSTACK_IDENTITY_SPECS = {
    "identity_domain": {
        "description": {"type": "str"},
        "is_enabled": {"type": "bool", "aliases": ["enabled"]},
        "name": {"type": "str", "required": True},
        "state": _OPENSTACK_IDENTITY_STATE,
    },
    "identity_domain_info": {
        "filters": {"type": "dict"},
        "name": {"type": "str"},
    },
    "identity_role": {
        "description": {"type": "str"},
        "domain_id": {"type": "str"},
        "name": {"type": "str", "required": True},
        "state": _OPENSTACK_IDENTITY_STATE,
    },
    "identity_user": {
        "default_project": {"type": "str"},
        "description": {"type": "str"},
        "domain": {"type": "str"},
        "email": {"type": "str"},
        "is_enabled": {"type": "bool", "default": True, "aliases": ["enabled"]},
        "name": {"type": "str", "required": True},
        "password": {"type": "str", "no_log": True},
        "state": _OPENSTACK_IDENTITY_STATE,
        "update_password": {"type": "str", "default": "on_create", "choices": ["always", "on_create"]},
    },
    "identity_user_info": {
        "domain": {"type": "str"},
        "filters": {"type": "dict"},
        "name": {"type": "str"},
    },
    "project": {
        "description": {"type": "str"},
        "domain": {"type": "str", "aliases": ["domain_id"]},
        "extra_specs": {"type": "dict", "aliases": ["properties"]},
        "is_enabled": {"type": "bool", "aliases": ["enabled"]},
        "name": {"type": "str", "required": True},
        "state": _OPENSTACK_IDENTITY_STATE,
    },
    "role_assignment": {
        "domain": {"type": "str"},
        "group": {"type": "str"},
        "group_domain": {"type": "str"},
        "project": {"type": "str"},
        "project_domain": {"type": "str"},
        "role": {"type": "str", "required": True},
        "role_domain": {"type": "str"},
        "state": _OPENSTACK_IDENTITY_STATE,
        "system": {"type": "str"},
        "user": {"type": "str"},
        "user_domain": {"type": "str"},
    },
    "catalog_service": {
        "description": {"type": "str"},
        "is_enabled": {"type": "bool", "aliases": ["enabled"]},
        "name": {"type": "str", "required": True},
        "type": {"type": "str", "required": True, "aliases": ["service_type"]},
        "state": _OPENSTACK_IDENTITY_STATE,
    },
    "endpoint": {
        "service": {"type": "str", "required": True},
        "endpoint_interface": {"type": "str", "required": True, "choices": ["admin", "public", "internal"]},
        "url": {"type": "str", "required": True},
        "region": {"type": "str"},
        "enabled": {"type": "bool", "default": True},
        "state": _OPENSTACK_IDENTITY_STATE,
    },
}

_OPENSTACK_IDENTITY_CHECKS = {
    "role_assignment": {
        "required_one_of": [("user", "group"), ("domain", "project", "system")],
        "mutually_exclusive": [("user", "group"), ("project", "system")],
    },
}

# AnsibleModule's PASSWORD_MATCH: options that look like passwords but are not no_log get a warning
_OPENSTACK_IDENTITY_PASSWORD_MATCH = re.compile(
    r"^(?:.+[-_\s])?pass(?:[-_\s]?(?:word|phrase|wrd|wd)?)(?:[-_\s].+)?$", re.I)


class _OpenstackIdentityExit(Exception):
    """The module's exit_json: leaves the port with a result."""

    def __init__(self, **result):
        super().__init__("exit")
        self.result = result


class _OpenstackIdentityFail(Exception):
    """The module's fail_json (masked like its results)."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.result = dict(result, msg=msg)


# ---------------------------------------------------------------------------
# what OpenStackModule and AnsibleModule do around every module


def _openstack_identity_strings(value):
    """ansible.module_utils.common.parameters._return_datastructure_name."""
    if isinstance(value, (str, bytes)):
        if value:
            yield value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _openstack_identity_strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _openstack_identity_strings(item)
    elif value is None or isinstance(value, bool):
        return
    elif isinstance(value, (int, float)):
        yield str(value)


def _openstack_identity_mask(value, secrets):
    """ansible.module_utils.common.parameters.remove_values (no_log values out of a result)."""
    if isinstance(value, str):
        if value in secrets:
            return "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        for secret in secrets:
            value = value.replace(secret, "*" * 8)
        return value
    if value is True or value is False or value is None:
        return value
    if isinstance(value, dict):
        return {k: _openstack_identity_mask(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_openstack_identity_mask(v, secrets) for v in value]
    if isinstance(value, (int, float)):
        text = str(value)
        if text in secrets or any(secret in text for secret in secrets):
            return "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    return value


def _openstack_identity_json(value):
    """What the module's JSON output turns an SDK dict into."""
    return json.loads(json.dumps(value, default=str))


@contextlib.contextmanager
def _openstack_identity_environ(ctx):
    """The task's environment in os.environ while openstacksdk reads its configuration.

    openstacksdk adds OS_CLIENT_CONFIG_FILE to the front of its module-wide list of clouds.yaml
    files and never takes it out: in a module's own process that is harmless, but the Directord
    client runs every task in one process, where the next task without that variable would read
    this task's clouds.yaml. The lists are put back as they were.
    """
    saved = {}
    for key, value in ctx.environment.items():
        saved[key] = os.environ.get(key)
        os.environ[key] = str(value)
    try:
        loader = importlib.import_module("openstack.config.loader")
    except ImportError:  # the module reports the missing SDK itself
        loader = None
    files = [(name, list(getattr(loader, name))) for name in ("CONFIG_FILES", "SECURE_FILES", "VENDOR_FILES")
             if isinstance(getattr(loader, name, None), list)]
    try:
        yield
    finally:
        for name, paths in files:
            getattr(loader, name)[:] = paths
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _openstack_identity_version(text):
    parts = []
    for piece in str(text).split("."):
        match = re.match(r"\d+", piece)
        parts.append(int(match.group(0)) if match else 0)
    return tuple(parts + [0] * (3 - len(parts)))


def _openstack_identity_connect(p):
    """OpenStackModule.openstack_cloud_from_module: (sdk, connection)."""
    try:
        sdk = importlib.import_module("openstack")
    except ImportError:
        raise _OpenstackIdentityFail("openstacksdk is required for this module") from None
    version = sdk.version.__version__
    if _openstack_identity_version(version) < _openstack_identity_version(_OPENSTACK_IDENTITY_MIN_SDK):
        raise _OpenstackIdentityFail(
            "Incompatible openstacksdk library found: Version MUST be >={0} and <=None, but {1} is "
            "smaller than minimum version {0}.".format(_OPENSTACK_IDENTITY_MIN_SDK, version))
    cloud = p.pop("cloud", None)
    if isinstance(cloud, dict):
        for key in ("auth", "region_name", "validate_certs", "ca_cert", "client_cert", "client_key",
                    "api_timeout", "auth_type"):
            if p[key] is not None:
                raise _OpenstackIdentityFail(
                    "A cloud config dict was provided to the cloud parameter but also a value was "
                    "provided for {0}. If a cloud config dict is provided, {0} should be "
                    "excluded.".format(key))
        if p["interface"] != "public":
            raise _OpenstackIdentityFail(
                "A cloud config dict was provided to the cloud parameter but also a value was provided "
                "for interface. If a cloud config dict is provided, interface should be excluded.")
        config = cloud
    else:
        config = dict(cloud=cloud, auth_type=p["auth_type"], auth=p["auth"],
                      region_name=p["region_name"], verify=p["validate_certs"], cacert=p["ca_cert"],
                      key=p["client_key"], cert=p["client_cert"], api_timeout=p["api_timeout"],
                      interface=p["interface"])
    try:
        conn = sdk.connect(**config)
    except sdk.exceptions.SDKException as ex:
        raise _OpenstackIdentityFail(str(ex)) from None
    if p.get("sdk_log_path") is not None:
        debug = p["sdk_log_level"] == "DEBUG"
        sdk.enable_logging(debug=debug, http_debug=debug, path=p["sdk_log_path"])
    return sdk, conn


def _openstack_identity_run(name, params, ctx, body, check_mode=True):
    """Validate, connect, run the module's body(p, sdk, conn, ctx); masked result or ModuleFailed."""
    fqcn = "openstack.cloud." + name
    spec = dict(_OPENSTACK_IDENTITY_COMMON_SPEC, **_OPENSTACK_IDENTITY_SPECS[name])
    p = common_validate(name, params, spec, ctx, **_OPENSTACK_IDENTITY_CHECKS.get(name, {}))
    if not check_mode and ctx.check_mode:
        return {"changed": False, "skipped": True,
                "msg": "remote module (%s) does not support check mode" % fqcn}
    secrets = set()
    for key, option in spec.items():
        if option.get("no_log") and p.get(key):
            secrets.update(_openstack_identity_strings(p[key]))
    secrets = sorted(secrets, key=len, reverse=True)
    for key, option in spec.items():  # AnsibleModule._log_invocation
        if option.get("no_log") is None and _OPENSTACK_IDENTITY_PASSWORD_MATCH.search(key):
            ctx.warn("Module did not set no_log for %s" % key)
    sdk = None
    try:
        with _openstack_identity_environ(ctx):
            sdk, conn = _openstack_identity_connect(p)
            try:
                result = body(p, sdk, conn, ctx)
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
        # an exception the module does not catch: Ansible reports the module's crash
        raise ModuleFailed("Task failed: Module failed: %s" % ex,
                           exception=traceback.format_exc()) from None
    result = dict(result or {"changed": False})
    result.setdefault("changed", False)
    return _openstack_identity_mask(_openstack_identity_json(result), secrets)


# ---------------------------------------------------------------------------
# module_utils/resource.py's StateMachine, as the domain, role and user modules use it


class _OpenstackIdentitySimulated(dict):
    def to_dict(self, *args, **kwargs):
        return self


def _openstack_identity_is_equal(a, b):
    def freeze(o):
        if isinstance(o, dict):
            return frozenset((k, freeze(v)) for k, v in o.items())
        if isinstance(o, list):
            return tuple(freeze(v) for v in o)
        return o
    if (a is None) != (b is None):
        return False
    if a is None:
        return True
    if isinstance(a, list) and isinstance(b, list):
        return freeze(a) == freeze(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and freeze(a) == freeze(b)
    return a == b


def _openstack_identity_build_update(conn, type_name, resource, attributes, non_updateable):
    current = getattr(conn.identity, "get_" + type_name)(resource["id"])
    keys = set(attributes) - set(non_updateable or [])
    changes = {k: attributes[k] for k in keys if not _openstack_identity_is_equal(attributes[k], current[k])}
    return {"resource_attributes": changes} if changes else {}


def _openstack_identity_state_machine(conn, type_name, attributes, state, check_mode, find,
                                      non_updateable=None, delete=None, before_update=None):
    """StateMachine.__call__ with wait=False: (resource or None, changed)."""
    resource = find(attributes)
    if state == "present" and resource:
        if before_update:
            before_update(attributes)
        update = _openstack_identity_build_update(conn, type_name, resource, attributes, non_updateable)
        changes = update.get("resource_attributes")
        if check_mode:
            for key, value in (changes or {}).items():
                resource[key] = value
        elif changes:
            resource = getattr(conn.identity, "update_" + type_name)(resource["id"], **changes)
        return resource, bool(update)
    if state == "present":
        if check_mode:
            return _OpenstackIdentitySimulated(attributes), True
        return getattr(conn.identity, "create_" + type_name)(**attributes), True
    if resource:
        if not check_mode:
            (delete or getattr(conn.identity, "delete_" + type_name))(resource["id"])
        return None, True
    return None, False


def _openstack_identity_attributes(p, keys):
    return {k: p[k] for k in keys if p[k] is not None}


def _openstack_identity_exit(changed, key, resource):
    if resource is None:
        raise _OpenstackIdentityExit(changed=changed)
    raise _OpenstackIdentityExit(**{"changed": changed, key: resource.to_dict(computed=False)})


# ---------------------------------------------------------------------------
# the modules


def _openstack_identity_domain(p, sdk, conn, ctx):
    attributes = _openstack_identity_attributes(p, ["description", "is_enabled", "name"])
    # a domain must be disabled before it can be deleted: the cloud layer's delete_domain does that
    domain, changed = _openstack_identity_state_machine(
        conn, "domain", attributes, p["state"], ctx.check_mode,
        find=lambda a: conn.identity.find_domain(a["name"]),
        delete=lambda domain_id: conn.delete_domain(domain_id))
    _openstack_identity_exit(changed, "domain", domain)


@module("openstack.cloud.identity_domain")
def openstack_identity_domain_module(params, ctx):
    return _openstack_identity_run("identity_domain", params, ctx, _openstack_identity_domain)


def _openstack_identity_domain_info(p, sdk, conn, ctx):
    kwargs = {}
    if p["name"] is not None:
        kwargs["name_or_id"] = p["name"]
    if p["filters"] is not None:
        kwargs["filters"] = p["filters"]
    return {"changed": False,
            "domains": [d.to_dict(computed=False) for d in conn.search_domains(**kwargs)]}


@module("openstack.cloud.identity_domain_info")
def openstack_identity_domain_info_module(params, ctx):
    return _openstack_identity_run("identity_domain_info", params, ctx, _openstack_identity_domain_info)


def _openstack_identity_role(p, sdk, conn, ctx):
    attributes = _openstack_identity_attributes(p, ["description", "domain_id", "name"])

    def find(a):
        kwargs = {"domain_id": a["domain_id"]} if a.get("domain_id") is not None else {}
        return conn.identity.find_role(a["name"], **kwargs)

    role, changed = _openstack_identity_state_machine(
        conn, "role", attributes, p["state"], ctx.check_mode, find=find, non_updateable=["domain_id"])
    _openstack_identity_exit(changed, "role", role)


@module("openstack.cloud.identity_role")
def openstack_identity_role_module(params, ctx):
    return _openstack_identity_run("identity_role", params, ctx, _openstack_identity_role)


def _openstack_identity_user(p, sdk, conn, ctx):
    attributes = _openstack_identity_attributes(p, ["description", "email", "is_enabled", "name", "password"])
    if p["domain"] is not None:
        attributes["domain_id"] = conn.identity.find_domain(p["domain"], ignore_missing=False).id
    if p["default_project"] is not None:
        kwargs = {"domain_id": attributes["domain_id"]} if attributes.get("domain_id") is not None else {}
        attributes["default_project_id"] = conn.identity.find_project(
            p["default_project"], ignore_missing=False, **kwargs).id

    def find(a):
        kwargs = {"domain_id": a["domain_id"]} if a.get("domain_id") is not None else {}
        return conn.identity.find_user(a["name"], **kwargs)

    def before_update(a):
        if p["update_password"] == "always" and "password" not in a:
            raise _OpenstackIdentityFail("update_password is 'always' but password is missing")
        if p["update_password"] == "on_create":
            a.pop("password", None)

    user, changed = _openstack_identity_state_machine(
        conn, "user", attributes, p["state"], False, find=find, non_updateable=["domain_id"],
        before_update=before_update)
    _openstack_identity_exit(changed, "user", user)


@module("openstack.cloud.identity_user")
def openstack_identity_user_module(params, ctx):
    return _openstack_identity_run("identity_user", params, ctx, _openstack_identity_user, check_mode=False)


def _openstack_identity_user_info(p, sdk, conn, ctx):
    kwargs = {}
    if p["domain"]:
        domain = conn.identity.find_domain(p["domain"])
        if domain is None:
            return {"changed": False, "groups": []}  # sic: the module's key
        kwargs["domain_id"] = domain["id"]
    return {"changed": False,
            "users": [u.to_dict(computed=False) for u in conn.search_users(p["name"], p["filters"] or {},
                                                                            **kwargs)]}


@module("openstack.cloud.identity_user_info")
def openstack_identity_user_info_module(params, ctx):
    return _openstack_identity_run("identity_user_info", params, ctx, _openstack_identity_user_info)


def _openstack_identity_project_update(p, project):
    attributes = {k: p[k] for k in ("description", "is_enabled")
                  if p[k] is not None and p[k] != project[k]}
    if p["extra_specs"]:
        duplicate = set(attributes) & set(p["extra_specs"])
        if duplicate:
            raise ValueError("Duplicate key(s) in extra_specs: {0}".format(", ".join(list(duplicate))))
        for key, value in p["extra_specs"].items():
            if value != project[key]:
                attributes[key] = value
    return attributes


def _openstack_identity_project(p, sdk, conn, ctx):
    kwargs = {}
    if p["domain"] is not None:
        kwargs["domain_id"] = conn.identity.find_domain(p["domain"], ignore_missing=False).id
    project = conn.identity.find_project(name_or_id=p["name"], **kwargs)
    state = p["state"]
    if ctx.check_mode:
        if state == "present":
            return {"changed": not project or bool(_openstack_identity_project_update(p, project))}
        return {"changed": bool(project)}
    if state == "present" and not project:
        create = _openstack_identity_attributes(p, ["description", "is_enabled", "name"])
        if p["domain"] is not None:
            create["domain_id"] = conn.identity.find_domain(p["domain"], ignore_missing=False).id
        if p["extra_specs"]:
            duplicate = set(create) & set(p["extra_specs"])
            if duplicate:
                raise ValueError("Duplicate key(s) in extra_specs: {0}".format(", ".join(list(duplicate))))
            create = dict(create, **p["extra_specs"])
        project = conn.identity.create_project(**create)
        return {"changed": True, "project": project.to_dict(computed=False)}
    if state == "present":
        attributes = _openstack_identity_project_update(p, project)
        if attributes:
            project = conn.identity.update_project(project.id, **attributes)
        return {"changed": bool(attributes), "project": project.to_dict(computed=False)}
    if project:
        conn.identity.delete_project(project.id)
        return {"changed": True}
    return {"changed": False}


@module("openstack.cloud.project")
def openstack_identity_project_module(params, ctx):
    return _openstack_identity_run("project", params, ctx, _openstack_identity_project)


def _openstack_identity_role_assignment(p, sdk, conn, ctx):
    def domain_filter(name_or_id):
        if name_or_id is not None:
            return {"domain_id": conn.identity.find_domain(name_or_id, ignore_missing=False)["id"]}
        return {}

    filters, group_find, project_find, user_find = {}, {}, {}, {}
    role = conn.identity.find_role(p["role"], ignore_missing=False, **domain_filter(p["role_domain"]))
    filters["role_id"] = role["id"]
    if p["domain"] is not None:
        domain = conn.identity.find_domain(p["domain"], ignore_missing=False)
        filters["scope_domain_id"] = domain["id"]
        group_find["domain_id"] = project_find["domain_id"] = user_find["domain_id"] = domain["id"]
    user = group = None
    if p["user"] is not None:
        user_find.update(domain_filter(p["user_domain"]))
        user = conn.identity.find_user(p["user"], ignore_missing=False, **user_find)
        filters["user_id"] = user["id"]
    if p["group"] is not None:
        group_find.update(domain_filter(p["group_domain"]))
        group = conn.identity.find_group(p["group"], ignore_missing=False, **group_find)
        filters["group_id"] = group["id"]
    if p["system"] is not None and "scope_domain_id" not in filters:
        filters["scope.system"] = p["system"]  # domain has precedence over system
    if p["project"] is not None:
        project_find.update(domain_filter(p["project_domain"]))
        project = conn.identity.find_project(p["project"], ignore_missing=False, **project_find)
        filters["scope_project_id"] = project["id"]
        filters.pop("scope_domain_id", None)  # project has precedence over domain and system
        filters.pop("scope.system", None)
    assignments = list(conn.identity.role_assignments(**filters))
    state = p["state"]
    if ctx.check_mode:
        # as the module computes it: with state absent, the assignments themselves when there are any
        return {"changed": (state == "present" and not assignments) or (state == "absent" and assignments)}
    if not ((state == "present" and not assignments) or (state == "absent" and assignments)):
        return {"changed": False}
    verb = "assign" if state == "present" else "unassign"
    link = "to" if state == "present" else "from"
    who = "user" if user is not None else "group"
    if "scope_domain_id" in filters:
        getattr(conn.identity, "%s_domain_role_%s_%s" % (verb, link, who))(
            filters["scope_domain_id"], user if user is not None else group, role)
    elif "scope_project_id" in filters:
        getattr(conn.identity, "%s_project_role_%s_%s" % (verb, link, who))(
            filters["scope_project_id"], user if user is not None else group, role)
    elif "scope.system" in filters:
        getattr(conn.identity, "%s_system_role_%s_%s" % (verb, link, who))(
            user if user is not None else group, role, filters["scope.system"])
    return {"changed": True}


@module("openstack.cloud.role_assignment")
def openstack_identity_role_assignment_module(params, ctx):
    return _openstack_identity_run("role_assignment", params, ctx, _openstack_identity_role_assignment)


def _openstack_identity_service_update(p, service):
    wrong = [k for k in ["name"] if p[k] is not None and p[k] != service[k]]
    if wrong:
        raise _OpenstackIdentityFail("Cannot update parameters {0}".format(wrong))
    return {k: p[k] for k in ("description", "is_enabled", "type") if p[k] is not None and p[k] != service[k]}


def _openstack_identity_service(p, sdk, conn, ctx):
    matches = list(conn.identity.services(name=p["name"], type=p["type"]))
    if len(matches) > 1:
        raise _OpenstackIdentityFail("Found more a single service matching the given parameters.")
    service = matches[0] if matches else None
    state = p["state"]
    if ctx.check_mode:
        if state == "present":
            return {"changed": not service or bool(_openstack_identity_service_update(p, service))}
        return {"changed": bool(service)}
    if state == "present" and not service:
        service = conn.identity.create_service(
            **_openstack_identity_attributes(p, ["description", "is_enabled", "name", "type"]))
        return {"changed": True, "service": service.to_dict(computed=False)}
    if state == "present":
        attributes = _openstack_identity_service_update(p, service)
        if attributes:
            service = conn.identity.update_service(service.id, **attributes)
        return {"changed": bool(attributes), "service": service.to_dict(computed=False)}
    if service:
        conn.identity.delete_service(service.id)
        return {"changed": True}
    return {"changed": False}


@module("openstack.cloud.catalog_service")
def openstack_identity_catalog_service_module(params, ctx):
    return _openstack_identity_run("catalog_service", params, ctx, _openstack_identity_service)


def _openstack_identity_endpoint(p, sdk, conn, ctx):
    name, interface, url, region = p["service"], p["endpoint_interface"], p["url"], p["region"]
    state = p["state"]
    service = conn.identity.find_service(name)
    if service is None:
        if state == "absent":
            return {"changed": False}
        raise _OpenstackIdentityFail("Service %s does not exist" % name)
    filters = {"service_id": service.id, "interface": interface}
    if region:
        filters["region_id"] = region
    endpoints = list(conn.identity.endpoints(**filters))
    if len(endpoints) > 1:
        raise _OpenstackIdentityFail("Service %s, interface %s and region %s are not unique"
                                     % (name, interface, region))
    endpoint = endpoints[0] if endpoints else None

    def needs_update(found):
        return found.is_enabled != p["enabled"] or found.url != url

    if ctx.check_mode:
        if state == "absent":
            return {"changed": bool(endpoint)}
        return {"changed": endpoint is None or needs_update(endpoint)}
    if state == "present":
        changed = False
        if not endpoint:
            endpoint = conn.identity.create_endpoint(url=url, interface=interface, service_id=service.id,
                                                     enabled=p["enabled"], region_id=region)
            changed = True
        elif needs_update(endpoint):
            endpoint = conn.identity.update_endpoint(endpoint.id, url=url, enabled=p["enabled"])
            changed = True
        return {"changed": changed, "endpoint": endpoint.to_dict(computed=False)}
    if endpoint:
        conn.identity.delete_endpoint(endpoint.id)
        return {"changed": True}
    return {"changed": False}


@module("openstack.cloud.endpoint")
def openstack_identity_endpoint_module(params, ctx):
    return _openstack_identity_run("endpoint", params, ctx, _openstack_identity_endpoint)
