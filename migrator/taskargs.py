"""A task's action and arguments, as ansible-core's ModuleArgsParser splits them.

Importing ModuleArgsParser pulls in ansible.constants, the plugin loaders and the
vault (about a tenth of a second, a tenth of a whole cold conversion), so the
shapes nearly every task has (`module: {mapping}`, `module: free form`, no
`action:`) are split here, the same way, and anything else goes to ansible-core.
tests/test_taskargs.py holds both equal on the whole corpus and on generated tasks,
and the keyword sets below equal to ansible-core's own.
"""

from __future__ import annotations

from typing import Any

# ansible.playbook.task.Task.fattributes: what in a task is a keyword, not the action
TASK_ATTRIBUTES = frozenset((
    "action", "any_errors_fatal", "args", "async", "async_val", "become", "become_exe", "become_flags",
    "become_method", "become_user", "changed_when", "check_mode", "collections", "connection", "debugger",
    "delay", "delegate_facts", "delegate_to", "diff", "environment", "failed_when", "ignore_errors",
    "ignore_unreachable", "loop", "loop_control", "loop_with", "module_defaults", "name", "no_log", "notify",
    "poll", "port", "register", "remote_user", "retries", "run_once", "tags", "throttle", "timeout", "until",
    "vars", "when",
))
HANDLER_ATTRIBUTES = TASK_ATTRIBUTES | {"listen"}  # ansible.playbook.handler.Handler.fattributes
# ansible.playbook.block.Block.fattributes
BLOCK_ATTRIBUTES = frozenset((
    "always", "any_errors_fatal", "become", "become_exe", "become_flags", "become_method", "become_user",
    "block", "check_mode", "collections", "connection", "debugger", "delegate_facts", "delegate_to", "diff",
    "environment", "ignore_errors", "ignore_unreachable", "module_defaults", "name", "no_log", "notify",
    "port", "remote_user", "rescue", "run_once", "tags", "throttle", "timeout", "vars", "when",
))
# what ModuleArgsParser does not take for the action: its _task_attrs
_NOT_ACTIONS = HANDLER_ATTRIBUTES | {"local_action", "static"}
# ansible.constants.MODULE_REQUIRE_ARGS: free-form strings kept whole as _raw_params
FREEFORM_ACTIONS = frozenset(
    prefix + name for name in ("command", "raw", "script", "shell", "win_command", "win_shell")
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
) | {"ansible.windows.win_command", "ansible.windows.win_shell"}


class ActionError(ValueError):
    """Ansible refuses the task's action or arguments (its message)."""


def parse(task: dict[str, Any]) -> tuple[str, dict[str, Any] | None, Any]:
    """(action, args, delegate_to) as `ModuleArgsParser(task).parse(skip_action_validation=True)`
    returns them (delegate_to None when the task has none). Raises ActionError where
    Ansible raises AnsibleError, anything else where ModuleArgsParser breaks on garbage."""
    try:
        return _common_shape(task) or _ansible_parse(task)
    except Exception as exc:
        from ansible.errors import AnsibleError

        if isinstance(exc, AnsibleError):
            raise ActionError(exc.message) from None
        raise


def _ansible_parse(task: dict[str, Any]) -> tuple[str, dict[str, Any] | None, Any]:
    from ansible.module_utils.common.sentinel import Sentinel
    from ansible.parsing.mod_args import ModuleArgsParser

    action, args, delegate_to = ModuleArgsParser(task).parse(skip_action_validation=True)
    return action, args, None if delegate_to is Sentinel else delegate_to


def _common_shape(task: dict[str, Any]) -> tuple[str, dict[str, Any], Any] | None:
    """The split of a task with one action: a key whose value is a mapping, a string
    or nothing, or an `action:`/`local_action:` string; `args:` absent or a mapping.
    None for any other shape (ModuleArgsParser then decides)."""
    extra = task.get("args", {})
    if not isinstance(extra, dict):
        return None  # a templated `args:` string, or one Ansible refuses or ignores
    candidates = [k for k in task if k not in _NOT_ACTIONS and not (isinstance(k, str) and k.startswith("with_"))]
    delegate_to = task.get("delegate_to")
    old_style = [k for k in ("action", "local_action") if k in task]
    if old_style:
        value = task[old_style[0]]
        if candidates or len(old_style) > 1 or not isinstance(value, str):
            return None
        from ansible.parsing.splitter import parse_kv, split_args

        tokens = split_args(value)
        action = tokens[0].strip()
        parsed = parse_kv(" ".join(tokens[1:]), check_raw=action in FREEFORM_ACTIONS)
        if "args" in parsed:
            return None  # `args=` inside the string: merged in, as ModuleArgsParser knows how
        if old_style[0] == "local_action":
            delegate_to = "localhost"
    elif len(candidates) == 1 and isinstance(candidates[0], str):
        action = candidates[0]
        value = task[action]
        if isinstance(value, dict):
            parsed = value
        elif isinstance(value, str):
            from ansible.parsing.splitter import parse_kv

            parsed = parse_kv(value, check_raw=action in FREEFORM_ACTIONS)
        elif value is None:
            parsed = {}
        else:
            return None
    else:
        return None
    if action not in FREEFORM_ACTIONS and any(str(k).startswith("_ansible_") for k in parsed):
        return None  # Ansible's error, in Ansible's words
    args = dict(extra)
    args.update(parsed)
    return action, args, delegate_to
