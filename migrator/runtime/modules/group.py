"""ansible.builtin.group (Linux, groupadd/groupmod/groupdel; local=true is not ported)."""

import grp

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_bin_path, common_run, common_validate  # tm:strip

_GROUP_SPEC = {
    "state": {"default": "present", "choices": ["absent", "present"]},
    "name": {"required": True},
    "force": {"type": "bool", "default": False},
    "gid": {"type": "int"},
    "system": {"type": "bool", "default": False},
    "local": {"type": "bool", "default": False},
    "non_unique": {"type": "bool", "default": False},
    "gid_min": {"type": "int"},
    "gid_max": {"type": "int"},
}


def _group_info(name):
    try:
        return grp.getgrnam(name)
    except KeyError:
        return None


@module("ansible.builtin.group", "ansible.legacy.group")
def group_module(params, ctx):
    p = common_validate("ansible.builtin.group", params, _GROUP_SPEC, ctx,
                        required_if=[["non_unique", True, ["gid"]]])
    if p["force"] and p["local"]:
        raise ModuleFailed("force is not a valid option for local, force=True and local=True "
                           "are mutually exclusive")
    if p["local"]:
        raise ModuleFailed("local=true (lgroupadd and friends) is not supported by "
                           "tripleo-migrate's group port")
    name = p["name"]
    result = {"name": name, "state": p["state"]}
    rc, out, err = None, "", ""
    info = _group_info(name)
    if p["state"] == "absent":
        if info:
            if ctx.check_mode:
                return {"changed": True}
            cmd = [common_bin_path("groupdel", ctx, required=True)]
            if p["force"]:
                cmd.append("-f")
            rc, out, err = common_run(ctx, cmd + [name])
            if rc != 0:
                raise ModuleFailed(err, name=name)
    elif not info:
        if ctx.check_mode:
            return {"changed": True}
        cmd = [common_bin_path("groupadd", ctx, required=True)]
        if p["gid"] is not None:
            cmd += ["-g", str(p["gid"])] + (["-o"] if p["non_unique"] else [])
        if p["system"]:
            cmd.append("-r")
        for key, option in (("gid_min", "GID_MIN"), ("gid_max", "GID_MAX")):
            if p[key] is not None:
                cmd += ["-K", "%s=%s" % (option, p[key])]
        rc, out, err = common_run(ctx, cmd + [name])
    elif p["gid"] is not None and info.gr_gid != p["gid"]:
        cmd = [common_bin_path("groupmod", ctx, required=True), "-g", str(p["gid"])]
        if p["non_unique"]:
            cmd.append("-o")
        rc, out, err = (0, "", "") if ctx.check_mode else common_run(ctx, cmd + [name])
    if rc is not None and rc != 0:
        raise ModuleFailed(err, name=name)

    result["changed"] = rc is not None
    if out:
        result["stdout"] = out
    if err:
        result["stderr"] = err
    info = _group_info(name)
    if info:
        result["system"] = p["system"]
        result["gid"] = info.gr_gid
    return result
