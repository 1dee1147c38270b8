"""--overrides FILE: hand-written Directord jobs in place of a translation.

The file is YAML, a mapping whose keys are task ids (report.json's "id") or
module FQCNs, and whose values are the replacement jobs: a list of Directord
jobs (or one job), each a mapping with one VERB key and optional name, vars
and assign, as in an orchestration's jobs:

    ansible.builtin.add_host:
      - RUN: "echo added a host by hand"
    4c8888045ec0:
      - DNF: "--latest httpd"
        name: install httpd

A task id wins over its module. Every place a matched task's jobs appear in
OUT is replaced (its keywords such as when or loop are not re-applied: the
override is taken as written); its outcome becomes native, and its findings
become its load-time ones plus "overridden by FILE". A task id that names no
task of the conversion is an error (FILE:LINE, nothing is written): it is a
typo or a stale id. A module that no task uses is a warning. Quote task ids
in the file (an id of digits alone would read as a number).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import yamlio
from .batching import batch_task_jobs
from .model import Finding, Job, JobGroup, Outcome, Severity, Source

_VERB = re.compile(r"^[A-Z][A-Z0-9_]*$")
TASK_ID = re.compile(r"^[0-9a-f]{12}$")  # loader._task_id: 12 hex digits
_JOB_KEYS = ("name", "vars", "assign")


class OverridesError(Exception):
    """The overrides file cannot be used; the message is one line for the user."""


@dataclass
class Overrides:
    display: str  # the file as the user named it
    jobs: dict[str, list[Job]]
    lines: dict[str, int]  # where each key is written

    def lookup(self, task_id: str, module: str) -> tuple[str, list[Job]] | None:
        for key in (task_id, module):
            if key in self.jobs:
                return key, self.jobs[key]
        return None


def load(path: Path) -> Overrides:
    if not path.is_file():
        raise OverridesError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        data = yamlio.load_file(path)
    except yamlio.YamlError as exc:
        raise OverridesError(f"{path}:{exc.line}: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise OverridesError(f"{path}:{getattr(data, 'line', 0) or 1}: overrides must be a mapping of task id "
                             "or module to jobs")
    key_lines = _key_lines(path)
    jobs: dict[str, list[Job]] = {}
    lines: dict[str, int] = {}
    for index, (key, value) in enumerate(data.items()):
        line = key_lines[index] if index < len(key_lines) else getattr(data, "line", 0) or 1
        where = f"{path}:{line}"
        if not isinstance(key, str) or not key:
            raise OverridesError(f"{where}: {key!r}: a key must be a task id or a module name "
                                 "(quote ids that look like numbers)")
        items = value if isinstance(value, list) else [value]
        if not items:
            raise OverridesError(f"{where}: {key}: no jobs given")
        jobs[key] = [_job(yamlio.plain(item), key, f"{path}:{getattr(item, 'line', 0) or line}") for item in items]
        lines[key] = line
    return Overrides(str(path), jobs, lines)


def _key_lines(path: Path) -> list[int]:
    """The line of each top-level key, in order (the loaded mapping knows only its values' lines)."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    return [key.start_mark.line + 1 for key, _ in node.value]


def _job(item: Any, key: str, where: str) -> Job:
    if not isinstance(item, dict):
        raise OverridesError(f"{where}: {key}: a job must be a mapping like {{RUN: 'command'}}")
    verbs = [k for k in item if k not in _JOB_KEYS]
    if len(verbs) != 1 or not isinstance(verbs[0], str) or not _VERB.match(verbs[0]):
        raise OverridesError(f"{where}: {key}: a job needs exactly one upper-case VERB key, got {sorted(map(str, item))}")
    verb = verbs[0]
    value = item[verb]
    if isinstance(value, (dict, list)):
        raise OverridesError(f"{where}: {key}: {verb} takes a string")
    job_vars = item.get("vars")
    if job_vars is not None and not isinstance(job_vars, dict):
        raise OverridesError(f"{where}: {key}: vars must be a mapping")
    assign = item.get("assign")
    if assign is not None:
        assign = [str(a) for a in (assign if isinstance(assign, list) else [assign])]
    name = item.get("name")
    return Job(verb, "" if value is None else str(value), vars=job_vars, name=None if name is None else str(name),
               assign=assign)


def apply(conversion, overrides: Overrides) -> None:
    """Replace the jobs of matched tasks in one unit's Conversion (before it is written)."""
    by_source = {result.task.source: result for result in conversion.results.values()}

    def match(source: Source, label: str):
        result = by_source.get(source)
        if result is None or result.task.label != label:
            return None  # not a task's jobs (vars layers, facts)
        found = overrides.lookup(result.task.id, result.task.module)
        return (result, found) if found else None

    replaced: dict[str, str] = {}  # task id -> override key
    services = [service.orchestration for service in getattr(conversion, "services", [])]  # task-core's too
    for orchestrations in [output.orchestrations for output in conversion.files] + [services]:
        for orch in orchestrations:
            hit = any(match(source, label) for group in orch.groups
                      for source, label in [(group.source, group.label)] + list(group.also))
            if not hit:
                continue
            batched = any(group.also for group in orch.groups)
            orch.groups = [part for group in orch.groups for part in _unbatched(group)]
            for group in orch.groups:
                found = match(group.source, group.label)
                if found is None:
                    continue
                result, (key, jobs) = found
                group.jobs = [copy.deepcopy(job) for job in jobs]
                replaced[result.task.id] = key
            if batched:  # as if the override had been there before batching
                batch_task_jobs(orch)
    for task_id, key in replaced.items():
        result = conversion.results[task_id]
        result.outcome = Outcome.NATIVE
        result.jobs = [job.verb for job in overrides.jobs[key]]
        result.findings = list(dict.fromkeys(list(result.task.findings) + [
            Finding("override", Severity.INFO, f"overridden by {overrides.display} ({key})")]))
    for result in conversion.results.values():
        if result.task.id in replaced:
            continue
        found = overrides.lookup(result.task.id, result.task.module)
        if found is not None:
            result.findings = result.findings + [Finding(
                "override", Severity.WARNING,
                f"override {found[0]} from {overrides.display} not applied: the task has no jobs of its own here")]
    # Stubs and the runtime component only for jobs that are still there.
    verbs = {job.verb for output in conversion.files for orch in output.orchestrations for job in orch.jobs}
    conversion.stubs = {verb: v for verb, v in conversion.stubs.items() if verb in verbs}
    conversion.components = {verb for verb in conversion.components if verb in verbs}


def _unbatched(group: JobGroup) -> list[JobGroup]:
    """A group that batching.py merged, split back into one group per task."""
    if not group.also:
        return [group]
    members = [(group.source, group.label)] + list(group.also)
    by_source = {str(source): index for index, (source, _) in enumerate(members)}
    parts: list[list[Job]] = [[] for _ in members]
    current = 0
    for job in group.jobs:
        specs = (job.vars or {}).get("tasks") if job.verb == "TASK" else None
        if not isinstance(specs, list):
            parts[current].append(job)
            continue
        for spec in specs:
            current = by_source.get(str(spec.get("source")), current)
            parts[current].append(Job("TASK", spec["module"], vars={"task": spec}))
    return [JobGroup(source, label, jobs) for (source, label), jobs in zip(members, parts)]


def check(overrides: Overrides | None, report: dict[str, Any]) -> list[str]:
    """After a conversion: raise OverridesError for a task id that names no
    task; return a warning line (FILE:LINE: warning: ...) per module key that
    no task uses."""
    if overrides is None:
        return []
    ids = {t["id"] for t in report["tasks"]}
    modules = {t["module"] for t in report["tasks"]}
    warnings = []
    for key, line in overrides.lines.items():
        where = f"{overrides.display}:{line}"
        if TASK_ID.match(key):
            if key not in ids:
                raise OverridesError(f"{where}: unknown task id {key!r}: no task of this conversion has it "
                                     "(see the ids in report.json)")
        elif key not in modules:
            warnings.append(f"{where}: warning: override {key!r} matches no task id or module of this conversion")
    return warnings
