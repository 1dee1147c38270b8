"""The contract between the node-side runtime and the module ports.

Everything under migrator/runtime/ runs on a Directord *node*, inside the
TASK component that tripleo-migrate ships into OUT/components/. It is
assembled into one self-contained file (Directord transfers only the
component file itself), so code here may import only the standard library,
jinja2 and yaml (Directord's own dependencies), never ansible or migrator.*
outside migrator.runtime.

A module port is one function in migrator/runtime/modules/<name>.py:

    from migrator.runtime.api import ModuleContext, ModuleFailed, module  # tm:strip

    @module("ansible.builtin.lineinfile")
    def lineinfile(params, ctx):
        ...
        return {"changed": True, "msg": "line added"}

- params: the task's arguments, already templated on the node, with the
  Ansible names; defaults are the port's business (as in the module).
- return: the Ansible result dict (changed, msg, rc, stdout, ...);
  raise ModuleFailed(msg, **result) to fail the way the module fails.
- Lines ending in "# tm:strip" are dropped when the component is assembled.
"""

import os
import subprocess

MODULES = {}


def module(*names):
    """Register a port under one or more fully qualified module names."""

    def register(func):
        for name in names:
            MODULES[name] = func
        return func

    return register


class ModuleFailed(Exception):
    """A module failure, carrying the Ansible result fields."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.result = dict(result, failed=True, msg=msg)


class ModuleContext:
    """What a port may use besides its params.

    The runtime core subclasses this to add templating against the node's
    variables; ports and their tests only rely on what is defined here.
    """

    def __init__(self, check_mode=False, diff=False, environment=None,
                 become_user=None, stage_dir="/var/lib/tripleo-migrate/stage",
                 variables=None, timeout=None):
        self.check_mode = check_mode
        self.diff = diff
        self.environment = dict(environment or {})
        self.become_user = become_user
        self.stage_dir = stage_dir
        self.vars = dict(variables or {})
        self.warnings = []
        self.timeout = timeout  # seconds a command may run (the task's `async`)

    def warn(self, message):
        self.warnings.append(message)

    def render(self, text, extra_vars=None):
        """Render a template string with Ansible's Jinja flavour.

        The base context has no variables engine; the runtime core overrides
        this. Returning the text untouched would hide a missing engine, so
        refuse instead.
        """
        raise NotImplementedError("templating needs the runtime core")

    def run(self, command, shell=False, cwd=None, stdin=None, env=None,
            executable=None):
        """Run a command on the node; return (rc, stdout, stderr) as text.

        command is an argv list, or a string when shell=True. The task's
        environment and become_user apply.
        """
        full_env = dict(os.environ)
        full_env.update({k: str(v) for k, v in self.environment.items()})
        if env:
            full_env.update({k: str(v) for k, v in env.items()})
        if self.become_user and self.become_user != "root":
            if shell:
                command = ["runuser", "-u", self.become_user, "--",
                           executable or "/bin/sh", "-c", command]
                shell = False
            else:
                command = ["runuser", "-u", self.become_user, "--"] + list(command)
        elif shell:
            command = [executable or "/bin/sh", "-c", command]
            shell = False
        try:
            proc = subprocess.run(
                command,
                cwd=cwd,
                env=full_env,
                input=stdin.encode() if isinstance(stdin, str) else stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                check=False,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired:
            raise ModuleFailed("async task did not complete within the requested time - %ss"
                               % self.timeout, finished=1, started=1) from None
        return (
            proc.returncode,
            proc.stdout.decode("utf-8", "surrogateescape"),
            proc.stderr.decode("utf-8", "surrogateescape"),
        )
