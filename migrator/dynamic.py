"""Includes that Ansible resolves at run time: a loop over a run-time value, a templated name.

`include_tasks: x.yml` with `loop: "{{ groups['ceph_nfs'] }}"` cannot be unrolled at
conversion. The included file's tasks are converted once, as TASK specs, into the
include's own job (`module: ansible.builtin.include_tasks`, `include: {name: [spec, ...]}`);
the runtime (core.run_task) evaluates the include's loop and `when` per item, as
ansible-core does, then runs the file's tasks once per item that passed, with the item
(loop_var, index_var, ansible_loop) and the include's vars as the tasks' parents' vars.
A templated name (`tripleo_{{ tripleo_container_cli }}_container_rm.yml`) carries every task
file it could render to; the node takes the one it does render to.

As in ansible-core, the include's own keywords (when, become, ...) apply to the include
only; its `apply` keywords and its parents' reach the included tasks.

Everything inside must run in the TASK runtime: a task that needs another job (a static
`delegate_to`, `run_once`, a bridge) makes the include unsupported, with the reason.
Files a task stages on the node (copy/template src) are staged before the include's job.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import jinja
from .model import Finding, Job, Orchestration, Outcome, Severity, realpath

if TYPE_CHECKING:  # pragma: no cover
    from .model import Node, Task
    from .translate import Converter, Scope

INCLUDE_MODULE = "ansible.builtin.include_tasks"
# Directord gives each job one timeout; a loop runs an unknown number of tasks
INCLUDE_TIMEOUT = 86400
_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


def candidate_files(converter: "Converter", name: str, scope: "Scope") -> dict[str, Path]:
    """Task files a templated include name can render to: {name as rendered: file}; none
    for a name that may name any file (`{{ x }}`, an absolute path: shipping.unknowable)."""
    from .shipping import unknowable

    if unknowable(name) or "role_path" in name:  # role_path: an absolute path, not among these bases
        return {}
    pattern = "".join(glob.escape(part) if i % 2 == 0 else "*"
                      for i, part in enumerate(_split(name)))
    regex = re.compile("".join(re.escape(part) if i % 2 == 0 else "[^/]*" for i, part in enumerate(_split(name))))
    found: dict[str, Path] = {}
    bases = ([scope.role.path / "tasks"] if scope.role is not None else []) + [scope.base_dir] \
        + ([scope.file.parent] if scope.file is not None else [])  # as Converter._task_file_candidates
    for base in bases:
        for match in sorted(glob.glob(glob.escape(str(base)) + "/" + pattern)):
            rel = os.path.relpath(match, base)
            real = realpath(Path(match))
            if regex.fullmatch(rel) and real.is_file() and converter.inside_input(real):
                found.setdefault(rel, real)
    return found


def _split(text: str) -> list[str]:
    """Literal and template parts, alternating (literal first)."""
    parts, last = [], 0
    for match in _EXPRESSION.finditer(text):
        parts += [text[last:match.start()], match.group(0)]
        last = match.end()
    return parts + [text[last:]]


def include(converter: "Converter", orch: Orchestration, task: "Task", scope: "Scope", output: str,
            handlers: list[tuple["Node", "Scope"]], name: str, files: dict[str, Path],
            findings: list[Finding]) -> None:
    """Emit the include's job, its files' tasks inside (see the module docstring)."""
    from .translate import MAX_INCLUDE_DEPTH, _role_key

    apply = task.args.get("apply") if isinstance(task.args.get("apply"), dict) else {}
    # ansible-core skips a dynamic include when its tasks inherit keywords: they get the
    # include's parents' (still in scope) and `apply`; its vars come through the job's frame
    inner_scope = scope.but(vars=(), dynamic=True).with_keywords(apply)
    results_before, pending_before = set(converter.out.results), len(converter._pending)
    included: dict[str, list[dict[str, Any]]] = {}
    staging: list[Job] = []
    problems: list[str] = []
    for rel, path in sorted(files.items()):
        if str(path) in scope.stack or len(scope.stack) > MAX_INCLUDE_DEPTH:
            converter.project.error(task.source, f"include cycle: {rel} includes itself")
            problems.append(f"include cycle through {rel}")
            continue
        role = scope.role
        tf = converter.project.task_file(path, role, _role_key(role, path) if role and path.is_relative_to(role.path)
                                         else converter._key(path))
        inner = Orchestration(name=orch.name)
        converter._emit_nodes(inner, tf.nodes, inner_scope.but(stack=scope.stack + (str(path),), file=path),
                              output, handlers)
        specs = []
        for group in inner.groups:
            for job in group.jobs:
                if _nestable(job):
                    specs.append(job.vars["task"])
                elif job.verb in ("COPY", "WORKDIR") and not job.assign:
                    # a controller file staged on the node (a src, a bridged module): the task itself
                    # is a TASK (no native jobs in a dynamic scope), so these only stage, whatever the item
                    staging.append(job)
                else:
                    problems.append(f"{group.source} needs a {job.verb} job of its own"
                                    + (f" (on {', '.join(job.assign)})" if job.assign else "")
                                    + (" (run_once)" if "--run-once" in job.value else ""))
        included[rel] = specs
    if problems:
        # its tasks are reported where their own file is converted, not as run here
        for task_id in set(converter.out.results) - results_before:
            del converter.out.results[task_id]
        del converter._pending[pending_before:]
        converter._unsupported(orch, task, scope, output,
                               "the included tasks cannot all run inside the include's job: " + "; ".join(problems[:3]),
                               record_error=False)
        return
    args = {"file": name}
    spec = converter._task_spec(task, scope, args)
    spec["module"] = INCLUDE_MODULE
    spec["include"] = included
    converter.out.components.add("TASK")
    job = Job("TASK", f"--timeout {INCLUDE_TIMEOUT} {INCLUDE_MODULE}", vars={"task": spec})
    dropped = [k for k in ("delegate_to", "run_once") if k in task.keywords]
    notes = list(findings)
    if dropped:
        notes.append(Finding(dropped[0], Severity.WARNING,
                             f"{' and '.join(dropped)} on a dynamic include is not carried: the include runs "
                             "on the play's targets"))
    if len(files) > 1:
        notes.append(Finding("file", Severity.INFO,
                             f"templated name {name!r}: carries {', '.join(sorted(files))}; the node takes the one "
                             "the name renders to"))
    converter._record(task, Outcome.COMPONENT, staging + [job], output, notes)
    from .model import JobGroup

    orch.groups.append(JobGroup(task.source, task.label, staging + [job]))


def _nestable(job: Job) -> bool:
    """A plain TASK job of one task: what the include's job can run per item."""
    if job.verb != "TASK" or job.assign or not isinstance(job.vars, dict) or set(job.vars) != {"task"}:
        return False
    module = job.vars["task"]["module"]
    # a nested dynamic include's job carries its own timeout, which the outer job's covers
    return job.value == module or job.value == f"--timeout {INCLUDE_TIMEOUT} {INCLUDE_MODULE}" == f"--timeout {INCLUDE_TIMEOUT} {module}"


def stub_spec(task: "Task", scope: "Scope", spec_of) -> dict[str, Any]:
    """Inside a dynamic include, a stub is a failing task: it fails loudly, as the stub
    component would, when the task would run (its when, blocks and handler still gate it)."""
    spec = spec_of(task, scope, {"msg": _raw_text(f"not implemented: {task.module} from {task.source}")})
    kept = {k: spec[k] for k in ("source", "name", "when", "vars", "blocks", "handler") if k in spec}
    if "loop" in spec:  # its when may name the loop variable
        kept.pop("when", None)
    return dict(kept, module="ansible.builtin.fail", args=spec["args"])


def _raw_text(text: str) -> str:
    if jinja.is_template(text):
        return "{% raw %}" + text.replace("{% endraw %}", "") + "{% endraw %}"
    return text
