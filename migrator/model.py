"""The neutral model every stage speaks: source positions, tasks, jobs, outcomes.

Flow: discover -> load (this model, with file:line) -> translate -> write -> report.
"""

from __future__ import annotations

import enum
import functools
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def realpath(path: str | os.PathLike) -> Path:
    """Path.resolve() that never raises: a symlink loop resolves to itself
    (pathlib raises RuntimeError on loops; reading the file then reports it).
    Cached by absolute path: a relative one means another file after a chdir."""
    return _realpath(os.path.abspath(os.fspath(path)))


@functools.lru_cache(maxsize=65536)
def _realpath(path: str) -> Path:
    # one conversion resolves the same role and task paths thousands of times
    return Path(_real(path))


@functools.lru_cache(maxsize=65536)
def _real(path: str) -> str:
    """os.path.realpath of an absolute, normalized path, with one lstat for its last
    component: the directories above are resolved once each (os.path.realpath would
    lstat every component of every file, and a conversion resolves thousands of files
    in a few hundred directories)."""
    parent, name = os.path.split(path)
    if not name:  # the root
        return path
    candidate = os.path.join(_real(parent), name)
    try:
        is_link = stat.S_ISLNK(os.lstat(candidate).st_mode)
    except OSError:  # missing, or a symlink loop above: kept as it is, as realpath keeps it
        return candidate
    return os.path.realpath(candidate) if is_link else candidate


class Outcome(str, enum.Enum):
    """What became of one source task (architecture.md's vocabulary)."""

    NATIVE = "native"
    LOWERED = "lowered"
    COMPONENT = "component"
    BRIDGE = "bridge"
    STUB = "stub"
    UNSUPPORTED = "unsupported"

    @property
    def translated(self) -> bool:
        return self in (Outcome.NATIVE, Outcome.LOWERED, Outcome.COMPONENT)


class Severity(str, enum.Enum):
    INFO = "info"  # no effect on hosts (tags, names)
    WARNING = "warning"  # behaviour may differ
    ERROR = "error"  # not translated


@dataclass(frozen=True, order=True)
class Source:
    """A position in an input file; path is as shown to the user."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Finding:
    what: str  # the keyword, argument or construct concerned
    severity: Severity
    message: str


@dataclass
class Task:
    """One leaf task definition, normalized by ModuleArgsParser."""

    source: Source
    name: str | None
    action: str  # as written (short name, FQCN or alias)
    module: str  # resolved FQCN
    args: dict[str, Any]
    keywords: dict[str, Any]  # when, loop, register, ... (task keywords)
    role: str | None = None
    id: str = ""  # stable id, set by the loader
    findings: list[Finding] = field(default_factory=list)  # load-time findings

    @property
    def label(self) -> str:
        return self.name or self.module


@dataclass
class Block:
    source: Source
    keywords: dict[str, Any]
    block: list["Node"]
    rescue: list["Node"]
    always: list["Node"]
    name: str | None = None


Node = Task | Block


@dataclass
class LoadError:
    """A piece of input that could not be read: reported, never raised."""

    source: Source
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass
class Job:
    """One Directord job: VERB: "string", plus optional vars/name/assign."""

    verb: str
    value: str
    vars: dict[str, Any] | None = None
    name: str | None = None
    assign: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        job: dict[str, Any] = {self.verb: self.value}
        if self.name:
            job["name"] = self.name
        if self.assign:
            job["assign"] = list(self.assign)
        if self.vars:
            job["vars"] = self.vars
        return job


@dataclass
class JobGroup:
    """The jobs one source task became, with provenance for the comment."""

    source: Source
    label: str
    jobs: list[Job]
    also: list[tuple[Source, str]] = field(default_factory=list)  # tasks batched into these jobs


@dataclass(frozen=True)
class ThtOrigin:
    """Where a THT task list comes from (migrator/tht.py), for writers that order services."""

    template: str  # the deployment template, as the user sees its path
    key: str  # the list: deploy_steps_tasks, host_prep_tasks, upgrade_tasks, ...
    service: str | None  # role_data's service_name, when literal
    parameters: tuple[str, ...] = ()  # Heat parameters its tasks read as Jinja variables
    unresolved: tuple[str, ...] = ()  # heat_* variables standing for Heat values with no static meaning


@dataclass
class Orchestration:
    """One item of an orchestration file (a play, a role run)."""

    name: str
    groups: list[JobGroup] = field(default_factory=list)
    targets: list[str] | None = None
    # THT deploy step this item runs at (its tasks were gated on `step|int == N`; ungated
    # tasks of the list are repeated in every step's item). None: not ordered by step.
    step: int | None = None
    tht: ThtOrigin | None = None  # set for items converted from a THT task list

    @property
    def jobs(self) -> list[Job]:
        return [job for group in self.groups for job in group.jobs]


@dataclass
class TaskResult:
    """The report entry of one source task definition."""

    task: Task
    outcome: Outcome
    jobs: list[str]  # verbs, in order
    output: str  # OUT-relative file that holds its jobs (first place)
    findings: list[Finding]
