"""ansible.builtin.command (and the shared code of ansible.builtin.shell)."""

import datetime
import glob
import os
import shlex

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_add_lines, common_run, common_validate)  # tm:strip

_COMMAND_SPEC = {
    "_raw_params": {},
    "_uses_shell": {"type": "bool", "default": False},
    "cmd": {},
    "argv": {"type": "list", "elements": "str"},
    "chdir": {"type": "path"},
    "executable": {},
    "expand_argument_vars": {"type": "bool", "default": True},
    "creates": {"type": "path"},
    "removes": {"type": "path"},
    "stdin": {},
    "stdin_add_newline": {"type": "bool", "default": True},
    "strip_empty_ends": {"type": "bool", "default": True},
}


@module("ansible.builtin.command", "ansible.legacy.command")
def command_module(params, ctx):
    return command_execute("ansible.legacy.command", params, ctx)


def command_execute(name, params, ctx):
    """The command module's main(); shell passes _uses_shell=True."""
    p = common_validate(name, params, _COMMAND_SPEC, ctx,
                        required_one_of=[["_raw_params", "cmd", "argv"]],
                        mutually_exclusive=[["_raw_params", "cmd", "argv"]])
    shell = p["_uses_shell"]
    executable = p["executable"]
    args = p["_raw_params"] or p["cmd"]
    creates, removes, chdir = p["creates"], p["removes"], p["chdir"]
    r = {"changed": False, "stdout": "", "stderr": "", "rc": None, "cmd": None,
         "start": None, "end": None, "delta": None, "msg": ""}

    if not shell and executable:
        ctx.warn("As of Ansible 2.4, the parameter 'executable' is no longer supported with the "
                 "'command' module. Not using '%s'." % executable)
        executable = None
    if not shell and args:
        args = shlex.split(args)
    args = args or p["argv"]
    if isinstance(args, list):
        args = [str(arg) for arg in args]
    r["cmd"] = args

    if chdir and not os.path.isdir(chdir):
        r["msg"] = "Unable to change directory before execution."
        raise ModuleFailed(r.pop("msg"), **common_add_lines(r))

    def exists(pattern):
        # The module chdirs first, so relative patterns are relative to chdir.
        return glob.glob(os.path.join(chdir, pattern) if chdir else pattern)

    shoulda = "Would" if ctx.check_mode else "Did"
    if creates and exists(creates):
        r["msg"] = "%s not run command since '%s' exists" % (shoulda, creates)
        r["stdout"] = "skipped, since %s exists" % creates
        r["rc"] = 0
    if not r["msg"] and removes and not exists(removes):
        r["msg"] = "%s not run command since '%s' does not exist" % (shoulda, removes)
        r["stdout"] = "skipped, since %s does not exist" % removes
        r["rc"] = 0
    if r["msg"]:
        return common_add_lines(r)

    r["changed"] = True
    if not ctx.check_mode:
        start = datetime.datetime.now()
        try:
            r["rc"], r["stdout"], r["stderr"] = common_run(
                ctx, args, data=p["stdin"], binary_data=not p["stdin_add_newline"], cwd=chdir,
                expand=p["expand_argument_vars"], use_unsafe_shell=shell, executable=executable)
        except ModuleFailed as ex:
            ex.result["changed"] = False
            common_add_lines(ex.result)
            raise
        end = datetime.datetime.now()
        r.update(start=str(start), end=str(end), delta=str(end - start))
    else:
        r["rc"] = 0
        r["msg"] = "Command would have run if not in check mode"
        if creates is None and removes is None:
            r["skipped"] = True
            r["changed"] = False

    if p["strip_empty_ends"]:
        r["stdout"] = r["stdout"].rstrip("\r\n")
        r["stderr"] = r["stderr"].rstrip("\r\n")
    common_add_lines(r)
    if r["rc"] != 0:
        r.pop("msg")
        raise ModuleFailed("non-zero return code", **r)
    return r
