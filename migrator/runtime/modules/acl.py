"""ansible.posix.acl (Linux): POSIX ACLs through getfacl/setfacl, NFSv4 ACLs through
nfs4_getfacl/nfs4_setfacl, exactly the commands the module builds.

Whether a change is needed is asked of `setfacl --test`, as the module does.
"""

import os
import shlex

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_bin_path, common_run, common_validate  # tm:strip

_ACL_SPEC = {
    "path": {"type": "path", "required": True, "aliases": ["name"]},
    "entry": {"type": "str"},
    "entity": {"type": "str", "default": ""},
    "etype": {"type": "str", "choices": ["group", "mask", "other", "user"]},
    "permissions": {"type": "str"},
    "state": {"type": "str", "default": "query", "choices": ["absent", "present", "query"]},
    "follow": {"type": "bool", "default": True},
    "default": {"type": "bool", "default": False},
    "recursive": {"type": "bool", "default": False, "aliases": ["recurse"]},
    "recalculate_mask": {"type": "str", "default": "default", "choices": ["default", "mask", "no_mask"]},
    "use_nfsv4_acls": {"type": "bool", "default": False},
}


def _acl_split_entry(entry):
    parts = entry.split(":")
    default = None
    if entry.lower().startswith("d"):
        default = True
        parts.pop(0)
    if len(parts) == 2:
        parts.append(None)
    if len(parts) != 3:  # the module's unpacking raises here
        raise ModuleFailed("ValueError: too many values to unpack (expected 3)" if len(parts) > 3 else
                           "ValueError: not enough values to unpack (expected 3, got %d)" % len(parts))
    etype, entity, permissions = parts
    etype = etype.lower()
    for prefix, name in (("u", "user"), ("g", "group"), ("m", "mask"), ("o", "other")):
        if etype.startswith(prefix):
            etype = name
            break
    else:
        etype = None
    return default, etype, entity, permissions


def _acl_build_entry(etype, entity, permissions=None, nfsv4=False):
    if nfsv4:
        return ":".join(["A", "g" if etype == "group" else "", entity, permissions + "tcy"])
    if permissions:
        return etype + ":" + entity + ":" + permissions
    return etype + ":" + entity


def _acl_command(ctx, mode, p, default, entry=""):
    nfsv4 = p["use_nfsv4_acls"]
    if mode in ("set", "rm"):
        cmd = [common_bin_path("nfs4_setfacl" if nfsv4 else "setfacl", ctx, required=True)]
        cmd += ["-a" if nfsv4 and mode == "set" else "-m" if mode == "set" else "-x", entry]
    else:
        if nfsv4:
            cmd = [common_bin_path("nfs4_getfacl", ctx, required=True)]
        else:
            cmd = [common_bin_path("getfacl", ctx, required=True), "--absolute-names"]
        cmd.append("--omit-header")
    if p["recursive"] and not nfsv4:
        cmd.append("--recursive")
    if mode in ("set", "rm") and p["recalculate_mask"] == "mask":
        cmd.append("--mask")
    elif mode in ("set", "rm") and p["recalculate_mask"] == "no_mask":
        cmd.append("--no-mask")
    if not p["follow"] and not nfsv4:
        cmd.append("--physical")
    if default:
        cmd.insert(1, "-d")
    cmd.append(p["path"])
    return cmd


def _acl_run(ctx, cmd, check_rc=True):
    rc, out, err = common_run(ctx, cmd)
    if rc != 0 and check_rc:
        raise ModuleFailed(err.rstrip(), cmd=" ".join(shlex.quote(a) for a in cmd), rc=rc,
                           stdout=out, stderr=err)
    lines = [line.strip() for line in out.splitlines() if not line.startswith("#")]
    if lines and not lines[-1].split():
        return lines[:-1]
    return lines


def _acl_changed(ctx, cmd, entry, nfsv4):
    cmd = cmd[:1] + ["--test"] + cmd[1:]
    counter = 0
    for line in _acl_run(ctx, cmd):
        if line.endswith("*,*") and not nfsv4:
            return False
        if nfsv4 and entry == line:
            counter += 1
    return counter != 2


@module("ansible.posix.acl")
def acl_module(params, ctx):
    p = common_validate("ansible.posix.acl", params, _ACL_SPEC, ctx)
    path, entry, entity, etype = p["path"], p["entry"], p["entity"], p["etype"]
    permissions, state, default, nfsv4 = p["permissions"], p["state"], p["default"], p["use_nfsv4_acls"]
    if not os.path.exists(path):
        raise ModuleFailed("Path not found or not accessible.")
    if state == "query":
        if p["recursive"]:
            raise ModuleFailed("'recursive' MUST NOT be set when 'state=query'.")
        if p["recalculate_mask"] in ("mask", "no_mask"):
            raise ModuleFailed("'recalculate_mask' MUST NOT be set to 'mask' or 'no_mask' when 'state=query'.")
    if not entry:
        if state == "absent" and permissions and not nfsv4:
            raise ModuleFailed("'permissions' MUST NOT be set when 'state=absent'.")
        if state == "absent" and not entity:
            raise ModuleFailed("'entity' MUST be set when 'state=absent'.")
        if state in ("present", "absent") and not etype:
            raise ModuleFailed("'etype' MUST be set when 'state=%s'." % state)
    if entry:
        if etype or entity or permissions:
            raise ModuleFailed("'entry' MUST NOT be set when 'entity', 'etype' or 'permissions' are set.")
        if state == "present" and entry.count(":") not in (2, 3):
            raise ModuleFailed("'entry' MUST have 3 or 4 sections divided by ':' when 'state=present'.")
        if state == "absent" and entry.count(":") not in (1, 2):
            raise ModuleFailed("'entry' MUST have 2 or 3 sections divided by ':' when 'state=absent'.")
        if state == "query":
            raise ModuleFailed("'entry' MUST NOT be set when 'state=query'.")
        default_flag, etype, entity, permissions = _acl_split_entry(entry)
        if default_flag is not None:
            default = default_flag
    changed = False
    msg = "current acl"
    if state == "present":
        entry = _acl_build_entry(etype, entity, permissions, nfsv4)
        command = _acl_command(ctx, "set", p, default, entry)
        changed = _acl_changed(ctx, command, entry, nfsv4)
        if changed and not ctx.check_mode:
            _acl_run(ctx, command)
        msg = "%s is present" % entry
    elif state == "absent":
        # the module passes use_nfsv4_acls where the permissions go for POSIX ACLs
        entry = _acl_build_entry(etype, entity, permissions if nfsv4 else nfsv4, nfsv4)
        command = _acl_command(ctx, "rm", p, default, entry)
        changed = _acl_changed(ctx, command, entry, nfsv4)
        if changed and not ctx.check_mode:
            _acl_run(ctx, command, check_rc=False)
        msg = "%s is absent" % entry
    acl = _acl_run(ctx, _acl_command(ctx, "get", p, default))
    return {"changed": changed, "msg": msg, "acl": acl}
