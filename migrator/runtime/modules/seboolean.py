"""ansible.posix.seboolean, as in ansible.posix 2.x, through getsebool/setsebool/semanage.

The module talks to libselinux and libsemanage through their Python bindings,
which a node's Python need not have; the port drives the CLIs those bindings
back (libselinux-utils, policycoreutils, always on a RHEL node) with the same
decisions:

- persistent: compare the policy's persistent value (`semanage boolean -l`,
  the second field of "(active , persistent)") and change it with
  `setsebool -P`, which also sets the running value, as the module does;
- otherwise, when SELinux is enabled: compare the running value
  (`getsebool NAME`) and set it with `setsebool NAME on|off`.

"SELinux enabled" is `selinuxenabled`'s answer when that program exists, else
libselinux's is_selinux_enabled(). Name substitution (booleans.subs) is left
to the CLIs, which apply it themselves.
"""

import re

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_bin_path, common_run, common_selinux_enabled, common_validate)  # tm:strip

_SEBOOLEAN_SPEC = {
    "ignore_selinux_state": {"type": "bool", "default": False},
    "name": {"type": "str", "required": True},
    "persistent": {"type": "bool", "default": False},
    "state": {"type": "bool", "required": True},
}


def seboolean_selinux_enabled(ctx):
    """selinux.is_selinux_enabled(), answered by `selinuxenabled` when installed."""
    selinuxenabled = common_bin_path("selinuxenabled", ctx)
    if selinuxenabled:
        return common_run(ctx, [selinuxenabled])[0] == 0
    return common_selinux_enabled()


def _seboolean_active(name, ctx):
    getsebool = common_bin_path("getsebool", ctx)
    rc, out, _ = common_run(ctx, [getsebool, name]) if getsebool else (1, "", "")
    found = re.match(r"^\S+ --> (on|off)", out)
    if rc != 0 or not found:
        raise ModuleFailed("Failed to determine current state for boolean %s" % name)
    return found.group(1) == "on"


def _seboolean_persistent(name, ctx):
    semanage = common_bin_path("semanage", ctx)
    if not semanage:
        raise ModuleFailed("Failed to manage policy for boolean %s: semanage is not installed"
                           % name)
    rc, out, err = common_run(ctx, [semanage, "boolean", "-l", "-n"])
    if rc != 0:
        raise ModuleFailed("Failed to manage policy for boolean %s: %s" % (name, err.strip()))
    for line in out.splitlines():
        found = re.match(r"^(\S+)\s+\(\s*(on|off)\s*,\s*(on|off)\s*\)", line)
        if found and found.group(1) == name:
            return found.group(3) == "on"
    raise ModuleFailed("SELinux boolean %s is not defined in persistent policy" % name)


def _seboolean_set(name, state, persistent, ctx):
    setsebool = common_bin_path("setsebool", ctx)
    command = [setsebool or "setsebool"] + (["-P"] if persistent else []) + [
        name, "on" if state else "off"]
    rc, out, err = common_run(ctx, command) if setsebool else (127, "", "")
    if rc != 0:
        if persistent:
            raise ModuleFailed("Failed to manage policy for boolean %s: %s" % (
                name, (err or out).strip()))
        raise ModuleFailed("Failed to set boolean %s to %s" % (name, 1 if state else 0))


@module("ansible.posix.seboolean")
def seboolean_module(params, ctx):
    p = common_validate("ansible.posix.seboolean", params, _SEBOOLEAN_SPEC, ctx)
    enabled = seboolean_selinux_enabled(ctx)
    if not p["ignore_selinux_state"] and not enabled:
        raise ModuleFailed("SELinux is disabled on this host.")
    name, persistent, state = p["name"], p["persistent"], p["state"]
    result = {"name": name, "persistent": persistent, "state": state}
    changed = False
    if persistent:
        if _seboolean_persistent(name, ctx) != state:
            changed = True
            if not ctx.check_mode:
                _seboolean_set(name, state, True, ctx)
    elif enabled:
        if _seboolean_active(name, ctx) != state:
            changed = True
            if not ctx.check_mode:
                _seboolean_set(name, state, False, ctx)
    result["changed"] = changed
    return result
