"""ansible.builtin.shell: the command module with _uses_shell, as its action plugin does."""

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.command import command_execute  # tm:strip


@module("ansible.builtin.shell", "ansible.legacy.shell")
def shell_module(params, ctx):
    if "expand_argument_vars" in params:
        raise ModuleFailed("Unsupported parameters for (ansible.builtin.shell) module: "
                           "expand_argument_vars")
    return command_execute("ansible.legacy.command", dict(params, _uses_shell=True), ctx)
