"""migrator.taskargs splits a task as ansible-core's ModuleArgsParser does, without importing it
for the common shapes: held equal on every task of the real corpus and on generated tasks."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleError
from ansible.module_utils.common.sentinel import Sentinel
from ansible.parsing.mod_args import ModuleArgsParser
from ansible.playbook.block import Block
from ansible.playbook.handler import Handler
from ansible.playbook.task import Task
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import taskargs, yamlio


def ansible_split(task):
    """ModuleArgsParser's answer, or ("error", message)."""
    try:
        action, args, delegate_to = ModuleArgsParser(dict(task)).parse(skip_action_validation=True)
    except AnsibleError as exc:
        return "error", exc.message
    except Exception as exc:  # garbage input: what the loader reports as "cannot parse task"
        return "crash", type(exc).__name__
    return action, args, None if delegate_to is Sentinel else delegate_to


def our_split(task):
    try:
        return taskargs.parse(dict(task))
    except taskargs.ActionError as exc:
        return "error", str(exc)
    except Exception as exc:
        return "crash", type(exc).__name__


def test_keyword_sets_are_ansible_cores():
    assert taskargs.TASK_ATTRIBUTES == frozenset(Task.fattributes)
    assert taskargs.HANDLER_ATTRIBUTES == frozenset(Handler.fattributes)
    assert taskargs.BLOCK_ATTRIBUTES == frozenset(Block.fattributes)
    from ansible import constants

    assert taskargs.FREEFORM_ACTIONS == frozenset(constants.MODULE_REQUIRE_ARGS)


def _tasks(items):
    """Every task mapping in a task list or a play list, blocks and plays opened."""
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if "block" in item:
            for section in ("block", "rescue", "always"):
                yield from _tasks(item.get(section))
        elif any(k in item for k in ("hosts", "import_playbook", "ansible.builtin.import_playbook")):
            for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                yield from _tasks(item.get(section))
        else:
            yield item


@pytest.mark.corpus
def test_every_corpus_task_splits_as_ansible_splits_it():
    from support.corpus import tripleo_ansible_tree

    tree = tripleo_ansible_tree()
    files = sorted(tree.glob("roles/*/tasks/**/*.y*ml")) + sorted(tree.glob("roles/*/handlers/**/*.y*ml")) \
        + sorted(tree.glob("playbooks/*.y*ml"))
    seen = common = 0
    for path in files:
        try:
            data = yamlio.load_file(path)
        except yamlio.YamlError:
            continue
        for task in _tasks(data):
            seen += 1
            common += taskargs._common_shape(dict(task)) is not None
            assert our_split(task) == ansible_split(task), f"{path}: {task}"
    assert seen > 2000
    assert common == seen  # every corpus task takes the path that needs no ModuleArgsParser


keys = st.sampled_from(["command", "shell", "ansible.builtin.copy", "file", "debug", "name", "when", "args",
                        "action", "local_action", "delegate_to", "with_items", "loop", "register", "static",
                        "listen", "_ansible_x", "vars"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                    st.text(st.sampled_from("ab =\"'{}\\_-:/\n"), max_size=12),
                    st.sampled_from(["echo hi", "src=a dest=b", "chdir=/tmp ls", "a='b c' d=e", "_ansible_x=1",
                                     "{{ x }}", "copy src=a", "shell echo hi", "x=1 y"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=2), st.dictionaries(st.sampled_from(["a", "_ansible_q", "src", "module", "args"]),
                                                 inner, max_size=2)), max_leaves=4)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, values, min_size=1, max_size=4))
def test_generated_tasks_split_as_ansible_splits_them(task):
    assert our_split(task) == ansible_split(task)
