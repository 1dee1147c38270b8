"""ansible.builtin.systemd_service (alias systemd), and service on systemd hosts."""

import glob
import os

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_bin_path, common_run, common_validate  # tm:strip

_SYSTEMD_SPEC = {
    "name": {"aliases": ["service", "unit"]},
    "state": {"choices": ["reloaded", "restarted", "started", "stopped"]},
    "enabled": {"type": "bool"},
    "force": {"type": "bool"},
    "masked": {"type": "bool"},
    "daemon_reload": {"type": "bool", "default": False, "aliases": ["daemon-reload"]},
    "daemon_reexec": {"type": "bool", "default": False, "aliases": ["daemon-reexec"]},
    "scope": {"default": "system", "choices": ["system", "user", "global"]},
    "no_block": {"type": "bool", "default": False},
}

# what the service action plugin drops (with a warning) before calling systemd
_SYSTEMD_SERVICE_UNUSED = ("pattern", "runlevel", "sleep", "arguments", "args")

_SYSTEMD_ENABLED_STATES = ("enabled", "enabled-runtime", "linked", "linked-runtime", "masked",
                           "masked-runtime", "static", "indirect", "disabled", "generated",
                           "transient")


def _systemd_parse_show(lines):
    """systemctl show output; only Exec* values may span lines ({ ... })."""
    parsed, multival, key = {}, [], None
    for line in lines:
        if key is None:
            if "=" in line:
                key, value = line.split("=", 1)
                if key.startswith("Exec") and value.lstrip().startswith("{") \
                        and not value.rstrip().endswith("}"):
                    multival.append(value)
                    continue
                parsed[key] = value.strip()
                key = None
        else:
            multival.append(line)
            if line.rstrip().endswith("}"):
                parsed[key] = "\n".join(multival).strip()
                multival, key = [], None
    return parsed


def _systemd_request_ignored(out):
    return "=" not in out and ("ignoring request" in out or "ignoring command" in out)


def _systemd_is_chroot():
    if os.environ.get("debian_chroot"):
        return True
    try:
        mine, init = os.stat("/"), os.stat("/proc/1/root/.")
        return (mine.st_ino, mine.st_dev) != (init.st_ino, init.st_dev)
    except OSError:
        return os.stat("/").st_ino != 2


def _systemd_sysv_is_enabled(name):
    if not os.path.isdir("/etc/rc0.d/"):
        return bool(glob.glob("/etc/init.d/rc?.d/S??%s" % name))
    return bool(glob.glob("/etc/rc?.d/S??%s" % name))


@module("ansible.builtin.systemd_service", "ansible.builtin.systemd",
        "ansible.legacy.systemd_service", "ansible.legacy.systemd")
def systemd_module(params, ctx):
    return systemd_run("ansible.builtin.systemd_service", params, ctx)


@module("ansible.builtin.service", "ansible.legacy.service")
def service_module(params, ctx):
    """The service action plugin on a systemd host: the systemd module, minus sysv options."""
    params = dict(params)
    use = str(params.pop("use", "auto")).lower()
    if use not in ("auto", "systemd"):
        raise ModuleFailed("service: use=%s is not supported here; this port drives systemd only"
                           % use)
    for unused in _SYSTEMD_SERVICE_UNUSED:
        if unused in params:
            del params[unused]
            ctx.warn('Ignoring "%s" as it is not used in "systemd"' % unused)
    return systemd_run("ansible.legacy.systemd", params, ctx)


def systemd_run(name, params, ctx):
    p = common_validate(name, params, _SYSTEMD_SPEC, ctx,
                        required_one_of=[["state", "enabled", "masked", "daemon_reload",
                                          "daemon_reexec"]],
                        required_by={"state": ("name",), "enabled": ("name",),
                                     "masked": ("name",)})
    unit = p["name"]
    if unit is not None:
        for globpattern in ("*", "?", "["):
            if globpattern in unit:
                raise ModuleFailed("This module does not currently support using glob patterns, "
                                   "found '%s' in service name: %s" % (globpattern, unit))
    systemctl = common_bin_path("systemctl", ctx, required=True)
    if p["scope"] != "system":
        systemctl += " --%s" % p["scope"]
    if p["no_block"]:
        systemctl += " --no-block"
    if p["force"]:
        systemctl += " --force"
    offline = _systemd_is_chroot() or os.environ.get("SYSTEMD_OFFLINE") == "1"

    env = {}
    if os.getenv("XDG_RUNTIME_DIR") is None:  # for --user; the module sets it the same way
        env["XDG_RUNTIME_DIR"] = "/run/user/%s" % os.geteuid()

    def run(command):
        return common_run(ctx, command, environ_update=env)

    result = {"name": unit, "changed": False, "status": {}}
    for wanted, verb in ((p["daemon_reload"], "daemon-reload"),
                         (p["daemon_reexec"], "daemon-reexec")):
        if wanted and not ctx.check_mode:
            rc, _, err = run("%s %s" % (systemctl, verb))
            if rc != 0:
                if not offline:
                    raise ModuleFailed("failure %d during %s: %s" % (rc, verb, err))
                ctx.warn("%s failed, but target is a chroot or systemd is offline. Continuing. "
                         "Error was: %d / %s" % (verb, rc, err))
    if not unit:
        return result

    is_initd = os.path.exists(unit if unit.startswith("/") else "/etc/init.d/%s" % unit)
    is_systemd = False
    rc, out, err = run("%s show '%s'" % (systemctl, unit))
    if rc == 0 and not (_systemd_request_ignored(out) or _systemd_request_ignored(err)):
        if out:
            result["status"] = _systemd_parse_show(out.split("\n"))
            load_state = result["status"].get("LoadState")
            is_systemd = load_state is not None and load_state != "not-found"
            if is_systemd and load_state != "masked" and "LoadError" in result["status"]:
                raise ModuleFailed("Error loading unit file '%s': %s"
                                   % (unit, result["status"]["LoadError"]))
    elif err and rc == 1 and "Failed to parse bus message" in err:
        result["status"] = _systemd_parse_show(out.split("\n"))
        unit_base, sep, _ = unit.partition("@")
        unit_search = unit_base + sep
        rc, out, err = run("%s list-unit-files '%s*'" % (systemctl, unit_search))
        is_systemd = unit_search in out
        rc, out, err = run("%s is-active '%s'" % (systemctl, unit))
        result["status"]["ActiveState"] = out.rstrip("\n")
    else:
        rc, out, err = run("%s is-enabled '%s'" % (systemctl, unit))
        if out.strip() in _SYSTEMD_ENABLED_STATES:
            is_systemd = True
        else:
            rc, out, err = run("%s list-unit-files '%s'" % (systemctl, unit))
            if rc == 0:
                is_systemd = True
            else:
                rc, out, err = run(systemctl)
                if rc != 0:
                    raise ModuleFailed(err or out, rc=rc, stdout=out, stderr=err,
                                       cmd=systemctl)
    found = is_systemd or is_initd
    if is_initd and not is_systemd:
        ctx.warn("The service (%s) is actually an init script but the system is managed by "
                 "systemd" % unit)

    def fail_if_missing():
        if not found:
            raise ModuleFailed("Could not find the requested service %s: host" % unit)

    if p["masked"] is not None:
        rc, out, err = run("%s is-enabled '%s'" % (systemctl, unit))
        masked = out.strip() == "masked"
        if masked != p["masked"]:
            result["changed"] = True
            action = "mask" if p["masked"] else "unmask"
            if not ctx.check_mode:
                rc, out, err = run("%s %s '%s'" % (systemctl, action, unit))
                if rc != 0:
                    fail_if_missing()
                    raise ModuleFailed("Failed to %s the service (%s): %s"
                                       % (action, unit, err.strip()))

    if p["enabled"] is not None:
        action = "enable" if p["enabled"] else "disable"
        fail_if_missing()
        enabled = False
        rc, out, err = run("%s is-enabled '%s' -l" % (systemctl, unit))
        if rc == 0:
            # enabled-runtime, indirect and alias units get (re-)enabled anyway
            enabled = out.rstrip() not in ("enabled-runtime", "indirect", "alias")
        elif rc == 1 and p["scope"] == "system" and is_initd \
                and not out.strip().endswith("disabled") and _systemd_sysv_is_enabled(unit):
            enabled = True
        result["enabled"] = enabled
        if enabled != p["enabled"]:
            result["changed"] = True
            if not ctx.check_mode:
                rc, out, err = run("%s %s '%s'" % (systemctl, action, unit))
                if rc != 0:
                    raise ModuleFailed("Unable to %s service %s: %s" % (action, unit, out + err))
            result["enabled"] = not enabled

    if p["state"] is not None:
        fail_if_missing()
        result["state"] = p["state"]
        status = result["status"]
        if "ActiveState" in status:
            running = status["ActiveState"] in ("active", "activating")
            action = None
            if p["state"] == "started":
                action = None if running else "start"
            elif p["state"] == "stopped":
                action = "stop" if running or status["ActiveState"] == "deactivating" else None
            else:
                action = p["state"][:-2] if running else "start"  # restart / reload
                result["state"] = "started"
            if action:
                result["changed"] = True
                if not ctx.check_mode:
                    rc, out, err = run("%s %s '%s'" % (systemctl, action, unit))
                    if rc != 0:
                        raise ModuleFailed("Unable to %s service %s: %s" % (action, unit, err))
        elif offline:
            ctx.warn("Target is a chroot or systemd is offline. This can lead to false positives "
                     "or prevent the init system tools from working.")
        else:
            raise ModuleFailed("Service is in unknown state", status=status)
    return result
