"""ansible.posix.selinux, as in ansible.posix 2.x: SELinux mode and policy.

The module asks libselinux (through its Python binding, in the module's own,
fresh process) whether SELinux is enabled, which policy runs (libselinux reads
SELINUXTYPE from /etc/selinux/config once per process, with its own built-in
default) and whether it enforces; it sets the running mode with
security_setenforce. The port asks the same questions in a fresh child of the
node's Python, so a config changed by an earlier task is seen as the module
sees it: through the `selinux` binding when that Python has it, otherwise
through libselinux.so.1 itself (the module would respawn under a Python that
has the binding); without libselinux it fails as the module does.

The config file (`configfile`) is rewritten the module's way: SELINUX= and
SELINUXTYPE= lines replaced, or appended when missing; `update_kernel_param`
drives `grubby` as the module does.
"""

import json
import os
import platform
import re
import sys
import tempfile

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_atomic_move, common_bin_path, common_run, common_validate)  # tm:strip

_SELINUX_SPEC = {
    "policy": {"type": "str"},
    "state": {"type": "str", "required": True, "choices": ["enforcing", "permissive", "disabled"]},
    "configfile": {"type": "str", "default": "/etc/selinux/config", "aliases": ["conf", "file"]},
    "update_kernel_param": {"type": "bool", "default": False},
}

# run as `python -c`: argv[1] is "query" or "setenforce", argv[2] the mode for setenforce
_SELINUX_PROBE = r"""
import json, sys
try:
    import selinux
    lib = None
except ImportError:
    import ctypes
    try:
        lib = ctypes.CDLL("libselinux.so.1", use_errno=True)
    except OSError:
        print(json.dumps({"missing": True}))
        sys.exit(0)
if sys.argv[1] == "setenforce":
    (lib or selinux).security_setenforce(int(sys.argv[2]))
    print(json.dumps({}))
    sys.exit(0)
if lib is None:
    enabled = selinux.is_selinux_enabled()
    policy = selinux.selinux_getpolicytype()[1]
    enforce = selinux.security_getenforce() if enabled else None
else:
    enabled = lib.is_selinux_enabled()
    name = ctypes.c_char_p()
    policy = name.value.decode() if lib.selinux_getpolicytype(ctypes.byref(name)) >= 0 and name.value else None
    enforce = lib.security_getenforce() if enabled else None
print(json.dumps({"enabled": enabled, "policy": policy, "enforce": enforce}))
"""


def _selinux_probe(ctx, *args):
    rc, out, err = ctx.run([sys.executable, "-c", _SELINUX_PROBE] + list(args))
    try:
        answer = json.loads(out)
    except ValueError:
        raise ModuleFailed("MODULE FAILURE: libselinux failed: %s" % (err or out).strip(), rc=rc,
                           module_stdout=out, module_stderr=err) from None
    if answer.get("missing"):
        raise ModuleFailed(
            "Failed to import the required Python library (libselinux-python) on %s's Python %s. "
            "Please read the module documentation and install it in the appropriate location. If the "
            "required library is installed, but Ansible is using the wrong Python interpreter, please "
            "consult the documentation on ansible_python_interpreter" % (platform.node(), sys.executable))
    return answer


def _selinux_file_lines(path):
    """get_file_lines(path, strip=False)."""
    if not (os.path.exists(path) and os.access(path, os.R_OK)):
        return []
    try:
        with open(path) as stream:
            data = stream.read()
    except OSError:
        return []
    return data.splitlines() if data else []


def _selinux_config_value(path, key):
    for line in _selinux_file_lines(path):
        if re.match(r"^%s=.*$" % key, line):
            return line.split("=")[1].strip()
    return None


def _selinux_set_config(path, key, value, ctx):
    wanted = "%s=%s" % (key, value)
    fd, tmp = tempfile.mkstemp()
    found = False
    with os.fdopen(fd, "w") as stream:
        for line in _selinux_file_lines(path):
            if re.match(r"^%s=.*$" % key, line):
                found = True
            stream.write(re.sub(r"^%s=.*" % key, wanted, line) + "\n")
        if not found:
            stream.write(wanted + "\n")
    common_atomic_move(tmp, path, ctx)


def _selinux_kernel_enabled(grubby, ctx):
    if grubby is None:
        raise ModuleFailed("'grubby' command not found on host",
                           details="In order to update the kernel command lineenabled/disabled "
                                   "setting, the grubby packageneeds to be present on the system.")
    rc, out, _ = common_run(ctx, [grubby, "--info=ALL"])
    if rc != 0:
        raise ModuleFailed("unable to run grubby")
    all_enabled = all_disabled = True
    for line in out.split("\n"):
        found = re.match('^args="(.*)"$', line)
        if found is None:
            continue
        if "selinux=0" in found.group(1).split(" "):
            all_enabled = False
        else:
            all_disabled = False
    if all_enabled == all_disabled:
        return None  # inconsistent: the module forces an update
    return all_enabled


@module("ansible.posix.selinux")
def selinux_module(params, ctx):
    p = common_validate("ansible.posix.selinux", params, _SELINUX_SPEC, ctx)
    configfile, policy, state = p["configfile"], p.get("policy"), p["state"]
    runtime = _selinux_probe(ctx, "query")
    runtime_enabled, runtime_policy = runtime["enabled"], runtime["policy"]
    runtime_state = "disabled"
    if runtime_enabled:
        runtime_state = "enforcing" if runtime["enforce"] else "permissive"
    if not os.path.isfile(configfile):
        raise ModuleFailed("Unable to find file %s" % configfile,
                           details="Please install SELinux-policy package, if this package is not "
                                   "installed previously.")
    config_policy = _selinux_config_value(configfile, "SELINUXTYPE")
    config_state = _selinux_config_value(configfile, "SELINUX")
    grubby = kernel_enabled = None
    if p["update_kernel_param"]:
        grubby = common_bin_path("grubby", ctx)
        kernel_enabled = _selinux_kernel_enabled(grubby, ctx)
    if state != "disabled":
        if not policy:
            raise ModuleFailed("Policy is required if state is not 'disabled'")
    elif not policy:
        policy = config_policy

    changed, msgs, reboot_required = False, [], False
    if policy != runtime_policy:
        if ctx.check_mode:
            return {"changed": True}
        msgs.append("Running SELinux policy changed from '%s' to '%s'" % (runtime_policy, policy))
        changed = True
    if policy != config_policy:
        if ctx.check_mode:
            return {"changed": True}
        if not os.path.exists("/etc/selinux/%s/policy" % policy):
            raise ModuleFailed("Policy %s does not exist in /etc/selinux/" % policy)
        _selinux_set_config(configfile, "SELINUXTYPE", policy, ctx)
        msgs.append("SELinux policy configuration in '%s' changed from '%s' to '%s'"
                    % (configfile, config_policy, policy))
        changed = True
    if state != runtime_state:
        if runtime_enabled:
            if state == "disabled":
                if runtime_state != "permissive":
                    if not ctx.check_mode:
                        _selinux_probe(ctx, "setenforce", "0")
                    ctx.warn("SELinux state temporarily changed from '%s' to 'permissive'. State "
                             "change will take effect next reboot." % runtime_state)
                    changed = True
                else:
                    ctx.warn("SELinux state change will take effect next reboot")
                reboot_required = True
            else:
                if not ctx.check_mode:
                    _selinux_probe(ctx, "setenforce", "1" if state == "enforcing" else "0")
                msgs.append("SELinux state changed from '%s' to '%s'" % (runtime_state, state))
                changed = True
        else:
            ctx.warn("Reboot is required to set SELinux state to '%s'" % state)
            reboot_required = True
    if state != config_state:
        if not ctx.check_mode:
            _selinux_set_config(configfile, "SELINUX", state, ctx)
        msgs.append("Config SELinux state changed from '%s' to '%s'" % (config_state, state))
        changed = True
    wanted_enabled = state in ("enforcing", "permissive")
    if p["update_kernel_param"] and kernel_enabled != wanted_enabled:
        if not ctx.check_mode:
            rc, _, _ = common_run(ctx, [grubby, "--update-kernel=ALL",
                                        "--remove-args" if wanted_enabled else "--args", "selinux=0"])
            if rc != 0:
                raise ModuleFailed("unable to remove selinux=0 from kernel config" if wanted_enabled
                                   else "unable to add selinux=0 to kernel config")
        states = ("disabled", "enabled") if wanted_enabled else ("enabled", "disabled")
        if kernel_enabled is None:
            states = ("<inconsistent>", states[1])
        msgs.append("Kernel SELinux state changed from '%s' to '%s'" % states)
        changed = True
    return {"changed": changed, "msg": ", ".join(msgs), "configfile": configfile, "policy": policy,
            "state": state, "reboot_required": reboot_required}
