"""ansible.posix.sysctl, as in ansible.posix 2.2.0 (its Linux code paths)."""

import os
import re
import tempfile

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_atomic_move, common_bin_path, common_run, common_validate)  # tm:strip

_SYSCTL_SPEC = {
    "name": {"aliases": ["key"], "required": True},
    "value": {"aliases": ["val"]},
    "state": {"default": "present", "choices": ["present", "absent"]},
    "reload": {"type": "bool", "default": True},
    "sysctl_set": {"type": "bool", "default": False},
    "ignoreerrors": {"type": "bool", "default": False},
    "sysctl_file": {"type": "path", "default": "/etc/sysctl.conf"},
}

# sysctl's stderr decides failure, so it must speak English.
_SYSCTL_LANG = {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}


def _sysctl_parse_value(value):
    if value is None:
        return ""
    if value.lower() in ("y", "yes", "on", "1", "true", "t"):
        return "1"
    if value.lower() in ("n", "no", "off", "0", "false", "f"):
        return "0"
    return value.strip()


def _sysctl_values_equal(a, b):
    """Whitespace-separated fields compared one by one."""
    if a is None or b is None:
        return False
    return a.split() == b.split()


def _sysctl_stderr_failed(err):
    # sysctl may exit 0 and still have failed to set the key.
    return re.search(r'^sysctl: setting key "[^"]+": (Invalid argument|Read-only file system)$',
                     err, re.MULTILINE) is not None


@module("ansible.posix.sysctl")
def sysctl_module(params, ctx):
    p = common_validate("ansible.posix.sysctl", params, _SYSCTL_SPEC, ctx,
                        required_if=[("state", "present", ["value"])])
    if p["name"] is None:
        raise ModuleFailed("name cannot be None")
    if p["state"] == "present" and p["value"] is None:
        raise ModuleFailed("value cannot be None")
    if p["name"] == "":
        raise ModuleFailed("name cannot be blank")
    if p["state"] == "present" and p["value"] == "":
        raise ModuleFailed("value cannot be blank")

    sysctl_cmd = common_bin_path("sysctl", ctx, required=True)
    name = p["name"].strip()
    value = _sysctl_parse_value(p["value"])
    state, sysctl_file = p["state"], p["sysctl_file"]

    rc, out, _ = common_run(ctx, "%s -e -n %s" % (sysctl_cmd, name), environ_update=_SYSCTL_LANG)
    proc_value = out if rc == 0 else None

    file_lines, file_values = [], {}
    if os.path.isfile(sysctl_file):
        try:
            with open(sysctl_file) as stream:
                lines = stream.readlines()
        except OSError as ex:
            raise ModuleFailed("Failed to open %s: %s" % (sysctl_file, ex)) from ex
        for line in lines:
            line = line.strip()
            file_lines.append(line)
            if not line or line.startswith(("#", ";")) or "=" not in line:
                continue
            key, val = line.split("=", 1)
            file_values[key.strip()] = val.strip()
    file_values.setdefault(name, None)

    # the file rewritten: first occurrence of each key kept, ours updated/removed/appended
    fixed_lines, checked = [], []
    for line in file_lines:
        if not line.strip() or line.strip().startswith(("#", ";")) or "=" not in line:
            fixed_lines.append(line)
            continue
        key, val = line.strip().split("=", 1)
        key, val = key.strip(), val.strip()
        if key in checked:
            continue
        checked.append(key)
        if key != name:
            fixed_lines.append("%s=%s\n" % (key, val))
        elif state == "present":
            fixed_lines.append("%s=%s\n" % (key, value))
    if name not in checked and state == "present":
        fixed_lines.append("%s=%s\n" % (name, value))

    changed = write_file = set_proc = False
    current = file_values[name]
    if current is None and state == "present":
        changed = write_file = True
    elif current is None and state == "absent":
        changed = False
    elif current and state == "absent":
        changed = write_file = True
    elif current != value:
        changed = write_file = True
    elif p["reload"]:
        # the file is right: reload only if the kernel disagrees
        changed = proc_value is None or not _sysctl_values_equal(proc_value, value)
    if p["sysctl_set"] and state == "present":
        if proc_value is None:
            changed = True
        elif not _sysctl_values_equal(proc_value, value):
            changed = set_proc = True

    if not ctx.check_mode:
        if set_proc:
            _sysctl_set(sysctl_cmd, name, value, p["ignoreerrors"], ctx)
        if write_file:
            real = os.path.realpath(sysctl_file)
            fd, tmp_path = tempfile.mkstemp(".conf", ".ansible_m_sysctl_", os.path.dirname(real))
            with os.fdopen(fd, "w") as stream:
                for line in fixed_lines:
                    stream.write(line.strip() + "\n")
            common_atomic_move(tmp_path, real, ctx)
        if changed and p["reload"]:
            args = [sysctl_cmd, "-p", sysctl_file]
            if p["ignoreerrors"]:
                args.insert(1, "-e")
            rc, out, err = common_run(ctx, args, environ_update=_SYSCTL_LANG)
            if rc != 0 or _sysctl_stderr_failed(err):
                raise ModuleFailed("Failed to reload sysctl: %s" % out + err)
    return {"changed": changed}


def _sysctl_set(sysctl_cmd, token, value, ignoreerrors, ctx):
    if len(value.split()) > 0:
        value = '"' + value + '"'
    command = "%s %s -w %s=%s" % (sysctl_cmd, "-e" if ignoreerrors else "", token, value)
    rc, out, err = common_run(ctx, command, environ_update=_SYSCTL_LANG)
    if rc != 0 or _sysctl_stderr_failed(err):
        raise ModuleFailed("setting %s failed: %s" % (token, out + err))
