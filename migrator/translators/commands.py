"""command and shell: RUN when the command survives Directord's parser."""

from __future__ import annotations

import shlex

from .. import jinja
from ..jobs import argv_to_shell, inline_command, shell_word
from ..model import Job, Outcome
from . import Native, native

# Arguments a RUN job can carry; any other sends the task to the runtime.
_RUN_ARGS = {"_raw_params", "cmd", "chdir", "creates", "removes"}


def _guarded(command: str, args: dict) -> tuple[str, bool] | None:
    """Lower chdir/creates/removes to the shell steps Ansible's checks are.

    Ansible changes directory first, then tests creates/removes (relative to
    it), and a skipped task succeeds: `if ...; then cmd; fi` exits 0.
    """
    tests = []
    for key, test in (("creates", "! test -e"), ("removes", "test -e")):
        value = args.get(key)
        if value is not None:
            if not isinstance(value, str) or jinja.is_template(value) or any(c in value for c in "*?["):
                return None  # Ansible globs these and renders them alone; the runtime does too
            tests.append(f"{test} {shell_word(value)}")
    if tests:
        command = "if " + " && ".join(tests) + f"; then {command}; fi"
    chdir = args.get("chdir")
    if chdir is not None:
        if not isinstance(chdir, str) or jinja.is_template(chdir):
            return None
        command = f"cd {shell_word(chdir)} || exit 1; {command}"
    return command, bool(tests or chdir is not None)


def _run(command: str | None, args: dict) -> Native | None:
    if command is None or not command.strip():
        return None
    guarded = _guarded(command, args)
    if guarded is None:
        return None
    text, lowered = guarded
    usage = jinja.usage(text)
    if not usage.plain_safe:
        return None
    value = inline_command(text)
    if value is None:
        return None
    # A rendered command's result depends on run-time values: never reuse a
    # cached success for it (Directord keys its cache on the unrendered job).
    if usage.templated:
        value = "--skip-cache " + value
    return Native([Job("RUN", value)], Outcome.LOWERED if lowered else Outcome.NATIVE)


@native("ansible.builtin.shell")
def shell(task, ctx):
    if set(task.args) - _RUN_ARGS:
        return None
    command = task.args.get("_raw_params", task.args.get("cmd"))
    return _run(command if isinstance(command, str) else None, task.args)


@native("ansible.builtin.command")
def command(task, ctx):
    if set(task.args) - _RUN_ARGS:
        return None
    raw = task.args.get("_raw_params", task.args.get("cmd"))
    if not isinstance(raw, str) or jinja.is_template(raw):
        # Ansible splits the *rendered* string without a shell; only the
        # runtime can do that with the same result.
        return None
    try:
        argv = shlex.split(raw)
    except ValueError:
        return None
    return _run(argv_to_shell(argv), task.args)
