"""openvswitch.openvswitch.openvswitch_db, as in openvswitch.openvswitch 2.1.x.

Through the ovs-vsctl CLI with the module's own command lines
(`ovs-vsctl -t TIMEOUT list|get|set|remove TABLE RECORD ...`) and its change
detection (the column read with `list`, map values compared as text).

One deliberate difference: in check mode the module, having built commands
it does not run, reads the output of a command that never ran and crashes
(UnboundLocalError); the port reports changed with the commands and no
`output` instead.
"""

import re

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_bin_path, common_run, common_validate  # tm:strip

_OPENVSWITCH_DB_SPEC = {
    "state": {"default": "present", "choices": ["present", "absent", "read"]},
    "table": {"required": True},
    "record": {"required": True},
    "col": {"required": True},
    "key": {},
    "value": {"type": "str"},
    "timeout": {"default": 5, "type": "int"},
    "database_socket": {},
}

_OPENVSWITCH_DB_NON_EMPTY_MAP = re.compile(r"{.+}")
_OPENVSWITCH_DB_MAP = re.compile(r"{.*}")


def _openvswitch_db_run(ctx, command):
    """run_command(command, check_rc=True)."""
    rc, out, err = common_run(ctx, command)
    if rc != 0:
        raise ModuleFailed(err.rstrip(), cmd=command, rc=rc, stdout=out, stderr=err)
    return out


def _openvswitch_db_have(p, ctx):
    """map_config_to_obj: the column as `ovs-vsctl list` shows it."""
    out = _openvswitch_db_run(ctx, "%(ovs-vsctl)s -t %(timeout)s list %(table)s %(record)s" % p)
    match = re.search(r"^" + p["col"] + r"(\s+):(\s+)(.*)$", out, re.M)
    if match is None:
        # the module dereferences the missing match and crashes; say why instead
        raise ModuleFailed("column %s not found in %s %s" % (p["col"], p["table"], p["record"]))
    col_value = match.group(3)
    has_key = p["key"] is not None
    is_map = _OPENVSWITCH_DB_MAP.match(col_value)
    if is_map and not has_key and p["state"] != "read":
        raise ModuleFailed("missing required arguments: key for map type of column")
    col_value_to_dict = {}
    if _OPENVSWITCH_DB_NON_EMPTY_MAP.match(col_value):
        for kv in col_value[1:-1].split(", "):
            k, v = kv.split("=", 1)
            col_value_to_dict[k.strip()] = v.strip('"')
    obj = {"table": p["table"], "record": p["record"], "col": p["col"]}
    if has_key and is_map:
        if p["key"] in col_value_to_dict:
            obj["key"] = p["key"]
            obj["value"] = col_value_to_dict[p["key"]]
    else:
        obj["value"] = str(col_value.strip())
    return obj


def _openvswitch_db_commands(want, have, p):
    """map_obj_to_commands."""
    if p["state"] == "absent":
        if "key" in have:
            command = "%(ovs-vsctl)s -t %(timeout)s remove %(table)s %(record)s %(col)s %(key)s"
            if p.get("value"):
                command += "=%(value)s"
            return [command % p]
        if p["key"] is None:
            return ["%(ovs-vsctl)s -t %(timeout)s remove %(table)s %(record)s %(col)s" % p]
        return []
    if p["state"] == "read":
        if p["key"] is None:
            return ["%(ovs-vsctl)s -t %(timeout)s get %(table)s %(record)s %(col)s" % p]
        return ["%(ovs-vsctl)s -t %(timeout)s get %(table)s %(record)s %(col)s:%(key)s" % p]
    if want == have:
        return []
    if p["key"] is None:
        return ["%(ovs-vsctl)s -t %(timeout)s set %(table)s %(record)s %(col)s=%(value)s" % p]
    return ["%(ovs-vsctl)s -t %(timeout)s set %(table)s %(record)s %(col)s:%(key)s=%(value)s" % p]


@module("openvswitch.openvswitch.openvswitch_db")
def openvswitch_db_module(params, ctx):
    p = common_validate("openvswitch.openvswitch.openvswitch_db", params,
                        _OPENVSWITCH_DB_SPEC, ctx)
    result = {"changed": False}
    p["ovs-vsctl"] = common_bin_path("ovs-vsctl", ctx, required=True)
    if p["database_socket"]:
        p["ovs-vsctl"] += " --db=" + p["database_socket"]
    if p["state"] == "present" and not p["value"]:
        raise ModuleFailed("missing required argument value for state: present")

    if p["value"] in ("True", "False"):
        p["value"] = p["value"].lower()
    want = {"table": p["table"], "record": p["record"], "col": p["col"], "value": p["value"]}
    if p["key"] is not None:
        want["key"] = p["key"]
    have = _openvswitch_db_have(p, ctx)

    commands = _openvswitch_db_commands(want, have, p)
    result["commands"] = commands
    if commands:
        result["changed"] = True
        if ctx.check_mode:
            return result
        out = ""
        for command in commands:
            out = _openvswitch_db_run(ctx, command)
        output = {}
        if _OPENVSWITCH_DB_NON_EMPTY_MAP.match(out):
            for kv in re.split(r", ", out[1:-1]):
                k, v = re.split(r"=", kv, maxsplit=1)
                output[re.search(r"\w*", k).group(0)] = re.search(r"\d*", v).group(0)
        else:
            name = p["key"] if p["key"] is not None else p["col"]
            output[name] = re.search(r"\w*", out).group(0)
        result["output"] = output
    return result

