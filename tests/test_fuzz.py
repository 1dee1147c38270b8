"""Fuzzing the converter with generated task lists.

Hypothesis generates task lists: real and unknown module names (short, FQCN, odd), free-form
and mapping arguments, the task keywords (when, loop, with_*, register, block/rescue/always,
notify, tags, vars, become, delegate_to, no_log, until, ...), nesting, and odd scalars where
Ansible wants something else (None, ints, floats, bools, lists for mappings, deep nesting).
Each example is written as a role (tasks/ and handlers/ files, defaults) and a playbook that
uses the role and holds tasks of its own, and converted in-process (pipeline.run, what the
CLI calls; the CLI maps `no_input` to exit 2, and 0 otherwise without a gate). Asserted:

- no exception escapes and no "internal error" is reported (a bug of ours becomes one);
- `no_input` only when nothing was readable (never here: the playbook always parses);
- every generated job passes Directord's own parsers (tests/support/job_check.py);
- every task is in the report once (unique ids, one entry per file:line), and every
  generated task item is in the report or named by an error at its file (and line).

Time is bounded: at most FUZZ_EXAMPLES examples (default 120) and FUZZ_BUDGET seconds
(default 40); the seed comes from FUZZ_SEED or is random, and a failure prints
`fuzz seed: N (rerun: FUZZ_SEED=N pytest tests/test_fuzz.py)`.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from migrator.pipeline import Options, run
from tests.support.job_check import validate_orchestrations

FUZZ_SEED = int(os.environ.get("FUZZ_SEED") or random.SystemRandom().randrange(1 << 32))
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))
BUDGET = float(os.environ.get("FUZZ_BUDGET", "40"))
# Shrinking a failure ignores the wall budget (one took 370 s): in CI the seed is the
# reproducer; FUZZ_SHRINK=1 shrinks it to a minimal example on a developer's machine.
PHASES = tuple(Phase) if os.environ.get("FUZZ_SHRINK") else (Phase.explicit, Phase.reuse, Phase.generate)

MODULES = [
    "shell", "command", "copy", "file", "template", "debug", "set_fact", "service", "systemd", "dnf",
    "package", "lineinfile", "stat", "fail", "assert", "pause", "wait_for", "include_vars", "setup",
    "meta", "include_tasks", "import_tasks", "include_role", "import_role", "add_host", "group_by",
    "ansible.builtin.shell", "ansible.builtin.copy", "ansible.builtin.file", "ansible.legacy.command",
    "community.general.ini_file", "containers.podman.podman_container", "tripleo_container_manage",
    "frobnicate", "x.y.z", "my-module", "Shell", "ping", "raw", "script", "get_url", "uri", "user",
    "group", "mount", "sysctl", "cron", "async_status", "local_action", "action",
]
KEYWORDS = ["when", "loop", "with_items", "with_dict", "with_together", "with_sequence", "register",
            "notify", "tags", "vars", "become", "become_user", "delegate_to", "run_once", "no_log",
            "until", "retries", "delay", "ignore_errors", "failed_when", "changed_when", "environment",
            "loop_control", "check_mode", "async", "poll", "name", "listen", "args", "any_errors_fatal"]
WORDS = ["x", "item", "/tmp/a b", "{{ x }}", "{{ item }}", "{{ undefined | default(1) }}", "{{ broken",
         "a=b c=d", "chdir=/tmp echo hi", "main.yml", "other.yml", "missing.yml", "role_a", "nope",
         "flush_handlers", "end_play", "--retry 5", "$HOME", "x is defined", "h1", "", " "]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
    st.sampled_from(WORDS), st.text(max_size=12),
)


def values(depth: int = 3):
    if depth == 0:
        return scalars
    inner = values(depth - 1)
    return st.one_of(scalars, st.lists(inner, max_size=3),
                     st.dictionaries(st.one_of(st.sampled_from(WORDS + KEYWORDS), st.text(max_size=6)),
                                     inner, max_size=3))


def _args():
    return st.one_of(
        st.sampled_from(WORDS),  # free-form
        st.dictionaries(st.sampled_from(["cmd", "msg", "path", "dest", "src", "content", "state", "name",
                                         "file", "that", "var", "_raw_params", "mode", "argv", "key"]),
                        values(2), max_size=4),
        values(2),  # odd scalars and lists where a mapping belongs
    )


@st.composite
def task(draw, depth: int):
    kind = draw(st.sampled_from(["task"] * 6 + ["block"] * (2 if depth else 0) + ["odd"]))
    if kind == "odd":
        return draw(values(1))
    item: dict = {}
    if kind == "block":
        item["block"] = draw(st.one_of(st.lists(task(depth - 1), max_size=3), values(1)))
        for section in ("rescue", "always"):
            if draw(st.booleans()):
                item[section] = draw(st.lists(task(depth - 1), max_size=2))
    else:
        for _ in range(draw(st.integers(1, 2) if draw(st.integers(0, 9)) == 0 else st.just(1))):
            item[draw(st.sampled_from(MODULES))] = draw(_args())
    for keyword in draw(st.lists(st.sampled_from(KEYWORDS), max_size=4, unique=True)):
        item[keyword] = draw(values(2))
    return item


task_lists = st.one_of(st.lists(task(3), max_size=6), values(1))


def _item_lines(path: Path) -> list[int]:
    """1-based lines of the top-level task items of a task file, or of a playbook's
    plays' task lists (PyYAML's own composer, not the converter's loader)."""
    try:
        node = yaml.compose(path.read_text())
    except yaml.YAMLError:
        return []
    if not isinstance(node, yaml.SequenceNode):
        return []
    if path.parent.name == "playbooks":
        lists = [value for play in node.value if isinstance(play, yaml.MappingNode)
                 for key, value in play.value if isinstance(key, yaml.ScalarNode) and key.value == "tasks"]
        return [line for seq in lists if isinstance(seq, yaml.SequenceNode) for line in _task_lines(seq)]
    return _task_lines(node)


def _task_lines(node: yaml.SequenceNode) -> list[int]:
    return [child.start_mark.line + 1 for child in node.value
            if isinstance(child, yaml.MappingNode) and not any(
                isinstance(k, yaml.ScalarNode) and k.value in ("block", "rescue", "always") for k, _ in child.value)]


def _dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=False, width=1 << 20)


def _write_tree(root: Path, main, other, handlers, play_tasks, defaults) -> list[Path]:
    role = root / "roles" / "role_a"
    files = {role / "tasks" / "main.yml": main, role / "tasks" / "other.yml": other,
             role / "handlers" / "main.yml": handlers}
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dump(data))
    (role / "defaults").mkdir()
    (role / "defaults" / "main.yml").write_text(_dump(defaults))
    playbook = root / "playbooks" / "site.yml"
    playbook.parent.mkdir()
    play = {"hosts": "all", "gather_facts": False, "roles": ["role_a"], "tasks": play_tasks,
            "handlers": [{"name": "h1", "debug": {"msg": "handled"}}]}
    playbook.write_text(_dump([play]))
    return [*files, playbook]


class _Budget:
    def __init__(self):
        self.deadline = None
        self.examples = 0
        self.failing = False


_budget = _Budget()


@seed(FUZZ_SEED)
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(main=task_lists, other=task_lists, handlers=task_lists, play_tasks=task_lists,
       defaults=st.one_of(st.dictionaries(st.sampled_from(["x", "item", "a b", "1"]), values(2), max_size=3),
                          values(1)))
def _converts_cleanly(tmp_root: Path, main, other, handlers, play_tasks, defaults):
    if time.monotonic() > _budget.deadline and not _budget.failing:
        return  # the wall budget is spent: the remaining examples are not run
    _budget.examples += 1
    try:
        _check(tmp_root, main, other, handlers, play_tasks, defaults)
    except BaseException:
        _budget.failing = True
        raise


def _check(tmp_root: Path, main, other, handlers, play_tasks, defaults):
    case = tmp_root / f"case-{_budget.examples}"
    case.mkdir()
    written = _write_tree(case, main, other, handlers, play_tasks, defaults)
    out = case / "out"
    cwd = os.getcwd()
    os.chdir(case)
    try:
        result = run(Options(paths=[Path("roles"), Path("playbooks")], out=Path("out")))
    finally:
        os.chdir(cwd)
    report = result.report
    internal = [e for e in report["errors"] if "internal error" in e["message"]]
    assert not internal, internal
    assert not result.no_input

    orchestrations = sorted(p for sub in ("roles", "playbooks") for p in (out / sub).rglob("*.yaml"))
    problems = validate_orchestrations(orchestrations, [out / "components"], cwd=out) if orchestrations else []
    assert problems == [], problems

    ids = [t["id"] for t in report["tasks"]]
    assert len(ids) == len(set(ids)), "a task id is reported twice"
    places = [(t["file"], t["line"]) for t in report["tasks"]]
    assert len(places) == len(set(places)), "a file:line is reported twice"
    tasks_at = set(places)
    errors_in = {e["file"] for e in report["errors"]}
    errors_at = {(e["file"], e["line"]) for e in report["errors"]}
    for path in written:
        rel = path.relative_to(case).as_posix()
        for line in _item_lines(path):
            accounted = (rel, line) in tasks_at or (rel, line) in errors_at or rel in errors_in
            assert accounted, f"{rel}:{line}: generated task neither reported nor named by an error"


def test_generated_task_lists_convert_cleanly(tmp_path):
    _budget.deadline = time.monotonic() + BUDGET
    _budget.examples = 0
    _budget.failing = False
    try:
        _converts_cleanly(tmp_path)
    except BaseException as exc:
        line = f"fuzz seed: {FUZZ_SEED} (rerun: FUZZ_SEED={FUZZ_SEED} pytest tests/test_fuzz.py)"
        print(line, file=sys.stderr)
        print(line)
        if hasattr(exc, "add_note"):
            exc.add_note(line)
        raise
    print(f"fuzz: {_budget.examples} examples, seed {FUZZ_SEED}")
    assert _budget.examples >= 10, f"only {_budget.examples} examples ran within {BUDGET}s"
