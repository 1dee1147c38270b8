"""The translator registry: one place that maps modules to Directord forms.

A translator module declares, per Ansible module, at most two functions:

- ``@native("ansible.builtin.copy")``: return a ``Native`` (built-in jobs with
  the task's exact effect) or None when this task cannot be expressed so.
  Called only for tasks without run-time keywords (when, register, ...).
- ``@prepare("ansible.builtin.copy")``: adapt the arguments for the TASK
  runtime component, e.g. stage a controller-side ``src`` file on the node.

Keyword lowering, writing and reporting never know about individual modules.
Custom translators come from the ``tripleo_migrate.translators`` entry-point
group: importing the entry point registers its functions.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import pkgutil
import sys
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..model import Finding, Job, Outcome

if TYPE_CHECKING:  # pragma: no cover
    from ..translate import TaskContext
    from ..model import Task


@dataclass
class Native:
    jobs: list[Job]
    outcome: Outcome = Outcome.NATIVE
    findings: list[Finding] = field(default_factory=list)


@dataclass
class Prepared:
    args: dict[str, Any]
    jobs_before: list[Job] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)  # more task keys for the runtime (`search`)


NativeFn = Callable[["Task", "TaskContext"], "Native | None"]
PrepareFn = Callable[["Task", "TaskContext"], "Prepared"]

NATIVE: dict[str, NativeFn] = {}
PREPARE: dict[str, PrepareFn] = {}


def native(*modules: str):
    def register(func: NativeFn) -> NativeFn:
        for name in modules:
            NATIVE[name] = func
        return func

    return register


def prepare(*modules: str):
    def register(func: PrepareFn) -> PrepareFn:
        for name in modules:
            PREPARE[name] = func
        return func

    return register


_loaded = False
ENTRY_POINT_GROUP = "tripleo_migrate.translators"


class TranslatorPluginError(Exception):
    """A custom translator (entry point) could not be imported; one line for the user."""


def load_all() -> None:
    """Import every translator module once (they self-register)."""
    global _loaded
    if _loaded:
        return
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        importlib.import_module(f"{__name__}.{info.name}")
    for entry in plugin_entry_points():
        try:
            entry.load()
        except Exception as exc:  # someone else's code: one line naming it, not a traceback
            message = " ".join(str(exc).split()) or "(no message)"
            raise TranslatorPluginError(
                f"{_where(exc)}translator plugin {entry.name} = {entry.value} (entry point group "
                f"{ENTRY_POINT_GROUP}) failed to load: {type(exc).__name__}: {message}") from None
    _loaded = True


def plugin_entry_points() -> list:
    """The group's entry points (importlib.metadata.EntryPoint), sorted.

    importlib.metadata takes ~25 ms to import and scan every installed
    distribution, and almost no installation declares the group: it is asked
    only when some metadata directory on sys.path has an entry_points.txt that
    names the group (or the path holds something this scan cannot read)."""
    if not _group_named_on_path():
        return []
    from importlib.metadata import entry_points

    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value))


def _group_named_on_path() -> bool:
    finders = [f for f in sys.meta_path if hasattr(f, "find_distributions")]
    if finders != [importlib.machinery.PathFinder]:  # another source of distributions
        return True
    for entry in sys.path:
        directory = entry or "."
        try:
            with os.scandir(directory) as found:
                names = [e.name for e in found if e.name.endswith((".dist-info", ".egg-info"))]
        except NotADirectoryError:  # a zip archive: importlib.metadata reads it
            return True
        except OSError:
            continue
        for name in names:
            try:
                with open(os.path.join(directory, name, "entry_points.txt"), "rb") as handle:
                    if ENTRY_POINT_GROUP.encode() in handle.read():
                        return True
            except OSError:  # none, or an egg-info file
                continue
    return False


def _where(exc: BaseException) -> str:
    """'file:line: ' of the plugin code that raised (a SyntaxError's own place), or ''."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno or 1}: "
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if not f.filename.startswith("<frozen ") and "importlib" not in f.filename
            and f.filename != __file__]
    return f"{ours[-1].filename}:{ours[-1].lineno}: " if ours else ""
