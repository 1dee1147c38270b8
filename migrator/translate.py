"""Translate loaded roles and playbooks into orchestrations.

One shared mechanism lowers task keywords for every module:
- keywords that only shape the conversion (name, tags, delegate_to, run_once)
  are applied here;
- keywords with run-time meaning (when, loop, register, failed_when, ...)
  send the task to the TASK runtime component, which carries them out the
  way Ansible does (docs/runtime.md);
- otherwise a module's native translator may give built-in jobs.
Includes and imports are expanded inline, so each orchestration runs alone.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from . import dynamic, jinja, runtime_support, stubs, yamlio
from .bridge import bridge_group
from .jobs import NODE_STAGE_DIR
from .loader import ImportPlaybook, Play, Playbook, Project, Role, RoleRef
from .model import (Block, Finding, Job, JobGroup, Node, Orchestration, Outcome, Severity, Source, Task,
                    TaskResult, realpath)
from .batching import batch_task_jobs
from .taskcore import PlayRun, ServiceUnit, tht_units
from .translators import NATIVE, PREPARE, load_all

# Keywords the runtime must carry out on the node.
RUNTIME_KEYWORDS = frozenset({
    "when", "loop", "loop_control", "register", "failed_when", "changed_when", "until",
    "retries", "delay", "ignore_errors", "environment", "vars", "notify", "check_mode",
    "no_log", "async", "poll", "become_user",
})
# Keywords with no effect on what a host ends up with.
NO_EFFECT_KEYWORDS = frozenset({
    "name", "tags", "debugger", "collections", "throttle", "timeout", "connection",
    "remote_user", "port", "become", "become_method", "become_flags", "become_exe",
    "any_errors_fatal", "ignore_unreachable", "module_defaults", "listen", "delegate_facts",
    "diff",  # only changes what Ansible prints
})
# Block/play keywords that tasks inherit.
INHERITED = ("become", "become_user", "environment", "no_log", "ignore_errors", "check_mode",
             "delegate_to", "run_once", "any_errors_fatal", "diff", "tags",
             "serial", "max_fail_percentage")  # the last two: play keywords, for their findings

INCLUDE_TASKS = {"ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "ansible.builtin.include"}
INCLUDE_ROLE = {"ansible.builtin.include_role", "ansible.builtin.import_role"}
IMPORT_PLAYBOOK = "ansible.builtin.import_playbook"
FLUSH_HANDLERS = "flush_handlers"
# Modules that only make sense on Ansible's controller.
UNSUPPORTED = {
    "ansible.builtin.add_host": "changes Ansible's in-memory inventory; Directord targets are fixed per orchestration",
    "ansible.builtin.group_by": "creates Ansible inventory groups at run time; Directord has no groups",
}
MAX_INCLUDE_DEPTH = 64
LOCALHOST = frozenset({"localhost", "127.0.0.1", "::1"})
PLAY_SCOPED_LAYERS = ("role_defaults", "play_vars", "play_vars_files", "role_vars")


@dataclass(frozen=True)
class Scope:
    """What a task inherits from the blocks, includes, roles and play around it."""

    base_dir: Path  # where relative task files resolve
    role: Role | None = None
    when: tuple[Any, ...] = ()
    vars: tuple[tuple[str, Any], ...] = ()
    keywords: tuple[tuple[str, Any], ...] = ()
    blocks: tuple[tuple[tuple[str, Any], ...], ...] = ()
    stack: tuple[str, ...] = ()  # include chain, for cycle detection
    file: Path | None = None  # the task file being expanded (relative includes)
    handler: tuple[str, ...] | None = None  # names + listen topics when a handler
    play_dir: Path | None = None  # the playbook's directory: Ansible's last-resort search path
    # inside a file included at run time (a loop, a templated name): every task must become
    # a TASK spec that the include job runs per item (dynamic.py)
    dynamic: bool = False

    def but(self, **changes: Any) -> "Scope":
        """dataclasses.replace(self, **changes) without its per-call field checks and
        __init__: a conversion makes thousands of scopes."""
        assert changes.keys() <= _SCOPE_FIELDS, changes.keys() - _SCOPE_FIELDS
        new = object.__new__(Scope)
        new.__dict__.update(self.__dict__, **changes)
        return new

    def with_keywords(self, keywords: dict[str, Any]) -> "Scope":
        merged = dict(self.keywords)
        merged.update({k: keywords[k] for k in INHERITED if k in keywords})
        if self.keywords and keywords.get("environment") is not None and dict(self.keywords).get("environment"):
            # environments add up, outer first (ansible-core extends the parents' list)
            merged["environment"] = _as_list(dict(self.keywords)["environment"]) + _as_list(keywords["environment"])
        when = self.when + tuple(_as_list(keywords.get("when")))
        variables = dict(self.vars)
        if isinstance(keywords.get("vars"), dict):
            variables.update(keywords["vars"])
        return self.but(keywords=tuple(sorted(merged.items())), when=when, vars=tuple(sorted(variables.items())))


_SCOPE_FIELDS = frozenset(f.name for f in fields(Scope))

# Findings about the play a task runs in: a task reported once gets those of every play that runs it.
PLAY_FINDINGS = frozenset({"hosts", "serial", "any_errors_fatal", "max_fail_percentage"})


def _add_play_findings(result: TaskResult, findings: list[Finding]) -> None:
    extra = [f for f in findings if f.what in PLAY_FINDINGS and f not in result.findings]
    if extra:
        result.findings = result.findings + extra


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass
class OutputFile:
    path: str  # relative to OUT
    orchestrations: list[Orchestration]
    header: str = ""  # more lines for the file's header comment (THT: parameters, steps)


@dataclass
class Conversion:
    """What converting one unit (a role or a playbook) produced; units merge in order."""

    files: list[OutputFile] = field(default_factory=list)
    staged: dict[str, Path] = field(default_factory=dict)  # OUT-relative -> input file
    results: dict[str, TaskResult] = field(default_factory=dict)
    components: set[str] = field(default_factory=set)  # component verbs used
    # verb -> (module, the library/ of the role that first used it)
    stubs: dict[str, tuple[str, list[Path]]] = field(default_factory=dict)
    # task-core (taskcore.py): one service per role unit, the plays' role runs, include edges
    services: list[ServiceUnit] = field(default_factory=list)
    plays: list[PlayRun] = field(default_factory=list)
    edges: set[tuple[str, str, str]] = field(default_factory=set)  # (role, included role, why)

    def merge(self, later: "Conversion") -> None:
        """Add a later unit's output: a task reached by several units is reported
        by the first, as when one process converts every unit in order."""
        self.files.extend(later.files)
        for rel, source in later.staged.items():
            self.staged.setdefault(rel, source)
        for task_id, result in later.results.items():
            first = self.results.setdefault(task_id, result)
            if first is not result:  # a role task a play also runs: that play's keywords count too
                _add_play_findings(first, result.findings)
        self.components |= later.components
        for verb, first in later.stubs.items():
            self.stubs.setdefault(verb, first)
        self.services.extend(later.services)
        self.plays.extend(later.plays)
        self.edges |= later.edges


class TaskContext:
    """What a translator may use for one task."""

    def __init__(self, converter: "Converter", task: Task, scope: Scope, output: str):
        self.converter = converter
        self.task = task
        self.scope = scope
        self.output = output
        self.findings: list[Finding] = []

    @property
    def role(self) -> Role | None:
        return self.scope.role

    def finding(self, what: str, severity: Severity, message: str) -> None:
        self.findings.append(Finding(what, severity, message))

    def stage(self, src: str, kind: str) -> str | None:
        """Copy a controller-side file (kind: files|templates) into OUT.

        Returns the OUT-relative path, or None (with a finding) when the
        file is missing or lies outside the input tree.
        """
        return self.converter.stage(src, kind, self.scope, self)


class Converter:
    def __init__(self, project: Project, *, skip_unsupported: bool = False,
                 extra_vars: dict[str, Any] | None = None, tags: set[str] | None = None,
                 skip_tags: set[str] | None = None, input_roots: list[Path] | None = None,
                 batch: bool = True, inventory=None, bridge: bool = False):
        load_all()
        self.bridge = bridge  # --bridge: tasks with no translation run their Ansible module (bridge.py)
        self.inventory = inventory  # migrator.inventory.Inventory: play hosts become targets
        self.project = project
        self.batch = batch  # consecutive TASK jobs become one (batching.py)
        self.skip_unsupported = skip_unsupported
        self.extra_vars = extra_vars or {}
        self.tags = tags or set()
        self.skip_tags = skip_tags or set()
        self.input_roots = [realpath(p) for p in (input_roots or [])]
        # inside_input runs once per file a templated name may ship: string prefixes, not PurePath math
        self._root_prefixes = tuple(str(root).rstrip("/") + "/" for root in self.input_roots)
        self.out = Conversion()
        self._pending: list[TaskResult] = []  # playbook results waiting for their output path
        self._supported = frozenset(runtime_support.supported_modules())
        self._split: tuple[Orchestration, Path] | None = None  # convert_role: where its dependencies end
        self._split_at = 0
        self._play_roles: list[str] | None = None  # roles a play runs in full (task-core hosts)
        self._play_findings: list[Finding] = []  # play keywords not carried, for each of its tasks
        self._play_notes: list[str] = []  # what task-core's services do not carry of the play's role runs
        # Caches for the run: every playbook that runs a role ships and checks its files again
        self._checked_templates: set[Path] = set()
        self._task_syntax: dict[int, tuple[Task, list[str]]] = {}  # id(task): (task, problems)
        self.ship_matches: dict[tuple[str, str], tuple] = {}  # shipping._matches
        self.shipments: dict[tuple, tuple] = {}  # shipping.ship

    # -- entry points ---------------------------------------------------

    def convert_unit(self, kind: str, path: Path, base: Path | None = None) -> Conversion:
        """Convert one role or playbook into a Conversion of its own.

        Units share nothing but the (read-only) Project, so they can be
        converted in any process and merged in unit order (Conversion.merge).
        """
        self.out = Conversion()
        self._pending = []
        if kind == "role":
            self.convert_role(path)
        elif kind == "tht":
            from . import tht

            tht.convert(self, path, base)
        else:
            self.convert_playbook(path, base)
        if self.batch:
            made: dict = {}  # a service shares its role file's merged jobs
            for output in self.out.files:
                for orch in output.orchestrations:
                    batch_task_jobs(orch, made=made)
            for service in self.out.services:
                batch_task_jobs(service.orchestration, made=made)
        if kind == "tht":  # its items, one per deploy step, are a task-core service too
            self.out.services.extend(tht_units(self.out.files))
        return self.out

    def convert_role(self, role_path: Path) -> None:
        role = self.project.role(role_path)
        base = Path("roles") / role.name
        main = _main_task_file(role)
        handlers = _main_handlers(role)
        if main or handlers or not role.task_files:
            output = str(base / "orchestration.yaml")
            orch = Orchestration(name=f"role {role.name}")
            self._split, self._split_at = (orch, role.path), 0
            self._run_role(orch, role, RoleRef(role.name, {}, {}, Source(self.project.display(role.path), 1)),
                           Scope(base_dir=role.path), output, main, handlers, set())
            self._split = None
            self._flush(orch, output)
            self.out.files.append(OutputFile(output, [orch]))
            self._service(role, orch, self._split_at)
        # Every task file is converted: one that the role's own main and handlers
        # do not reach gets an orchestration of its own (other roles reach it with tasks_from).
        for path in role.task_files + role.handler_files:
            tf = self.project.task_file(path, role, _role_key(role, path))
            if any(n for n in tf.nodes if isinstance(n, (Task, Block)) and self._reported(n)):
                continue
            rel = path.relative_to(role.path)
            output = str(base / rel.parent / (path.stem + ".yaml"))
            orch = Orchestration(name=f"role {role.name} {rel}")
            scope = Scope(base_dir=role.path, role=role, file=path, stack=(str(path),))
            self._role_vars(orch, role, scope, output)
            self._emit_nodes(orch, tf.nodes, scope, output, as_handlers=rel.parts[0] == "handlers")
            self._flush(orch, output)
            self.out.files.append(OutputFile(output, [orch]))

    def convert_playbook(self, path: Path, base: Path, stack: tuple[str, ...] = (),
                         inherited: dict[str, Any] | None = None) -> list[Orchestration]:
        key = "playbooks/" + str(path.relative_to(base)) if path.is_relative_to(base) else path.name
        pb = self.project.playbook(path, key)
        if pb is None:
            return []
        stack = stack + (str(realpath(path)),)
        orchestrations: list[Orchestration] = []
        for item in pb.items:
            if isinstance(item, ImportPlaybook):
                orchestrations.extend(self._import_playbook(pb, item, stack, inherited or {}))
            else:
                orchestrations.append(self._play(pb, item, inherited or {}))
        if len(stack) == 1:
            output = str(Path("playbooks") / Path(key).relative_to("playbooks").with_suffix(".yaml")) \
                if key.startswith("playbooks/") else str(Path("playbooks") / Path(key).with_suffix(".yaml"))
            self._relocate(output)
            self.out.files.append(OutputFile(output, orchestrations))
        return orchestrations

    def _service(self, role: Role, orch: Orchestration, split: int) -> None:
        """The role's task-core service: its orchestration less its meta dependencies,
        which become edges; a dependency with parameters stays inline (the service
        of that role runs without them)."""
        requires, inline = [], False
        for dep_name, params, _ in role.dependencies:
            dep_path = self.project.find_role(dep_name, role.path.parent)
            if dep_path is None:
                continue
            if params:
                inline = True
            requires.append((self.project.role(dep_path).name, "meta dependency"))
        groups = orch.groups if inline else orch.groups[split:]
        notes = (["its meta dependencies have parameters: their jobs stay inline"] if inline else [])
        self.out.services.append(ServiceUnit(role.name, self.project.display(role.path),
                                             Orchestration(name=orch.name, groups=list(groups)),
                                             requires=requires, notes=notes))

    # -- playbooks ------------------------------------------------------

    def _import_playbook(self, pb: Playbook, item: ImportPlaybook, stack: tuple[str, ...],
                         inherited: dict[str, Any]) -> list[Orchestration]:
        if jinja.is_template(item.target):
            self.project.error(item.source, f"import_playbook of a templated name {item.target!r} cannot be resolved")
            return []
        target = realpath(pb.path.parent / item.target)
        if str(target) in stack:
            self.project.error(item.source, f"import_playbook cycle: {item.target} imports itself")
            return []
        if not target.is_file():
            self.project.error(item.source, f"imported playbook not found: {item.target}")
            return []
        if not self.inside_input(target):
            self.project.error(item.source, f"imported playbook lies outside the input tree: {item.target}")
            return []
        # The import's when and vars apply to every play it brings in.
        keywords = dict(inherited)
        keywords["when"] = _as_list(inherited.get("when")) + _as_list(item.keywords.get("when"))
        keywords["vars"] = dict(inherited.get("vars") or {}, **(item.keywords.get("vars") or {}))
        return self.convert_playbook(target, pb.path.parent, stack, keywords)

    def _play(self, pb: Playbook, play: Play, inherited: dict[str, Any]) -> Orchestration:
        output = _PENDING
        orch = Orchestration(name=play.name)
        outer = self._play_findings, self._play_roles, self._play_notes
        self._play_findings, self._play_roles, self._play_notes = [], [], []
        try:
            self._play_body(pb, play, inherited, orch, output)
        finally:
            self._play_findings, self._play_roles, self._play_notes = outer
        return orch

    def _play_hosts(self, play: Play, orch: Orchestration) -> bool:
        """With --inventory, the play's hosts become the orchestration's targets.
        False when they select no host (Ansible skips the play)."""
        if self.inventory is None:
            return True
        hosts = play.hosts
        resolution = self.inventory.resolve(hosts, self.extra_vars)
        for severity, message in resolution.notes:
            self._play_findings.append(Finding("hosts", Severity(severity), f"play {play.source}: {message}"))
        orch.targets = resolution.targets
        return resolution.targets != []

    def _play_body(self, pb: Playbook, play: Play, inherited: dict[str, Any], orch: Orchestration,
                   output: str) -> None:
        runs = self._play_hosts(play, orch)
        scope = Scope(base_dir=pb.path.parent, file=pb.path, play_dir=pb.path.parent)
        scope = scope.with_keywords({"when": inherited.get("when")}).with_keywords(play.keywords)
        scope = scope.but(vars=())  # play vars are a layer, not task vars
        # play-scoped layers start empty in every play (set_fact, include_vars and facts stay);
        # playbook_dir, a magic variable, is the playbook's directory on this controller (docs/runtime.md)
        self._vars_job(orch, "play_vars", {**(inherited.get("vars") or {}), **play.vars,
                                               "playbook_dir": _raw_text(os.path.abspath(pb.path.parent))},
                       play.source, output, clear=PLAY_SCOPED_LAYERS)
        for entry in play.vars_files:
            self._vars_file(orch, pb, entry, play.source, output)
        if self.extra_vars:
            self._vars_job(orch, "extra_vars", self.extra_vars, play.source, output)
        if play.keywords.get("gather_facts", True) not in (False, "false", "no", "False"):
            self._gather_facts(orch, play, output)
        handlers: list[tuple[Node, Scope]] = [(n, scope) for n in play.handlers]
        self._emit_nodes(orch, play.pre_tasks, scope, output, handlers=handlers)
        self._flush_handlers(orch, handlers, output)
        seen_roles: set[str] = set()
        for ref in play.roles:
            path = self.project.find_role(ref.name, pb.path.parent)
            if path is None:
                self.project.error(ref.source, f"role not found: {ref.name}")
                continue
            role = self.project.role(path)
            role_scope = scope.with_keywords(ref.keywords)
            self._run_role(orch, role, ref, role_scope, output, _main_task_file(role), _main_handlers(role),
                           seen_roles, handlers=handlers)
        self._emit_nodes(orch, play.tasks, scope, output, handlers=handlers)
        self._flush_handlers(orch, handlers, output)
        self._emit_nodes(orch, play.post_tasks, scope, output, handlers=handlers)
        self._flush_handlers(orch, handlers, output)
        if not runs:  # no host: the play's jobs are dropped (empty targets would mean every node)
            orch.groups = []
        self.out.plays.append(PlayRun(str(play.source), orch.targets, list(self._play_roles or []),
                                      list(self._play_notes)))

    def _gather_facts(self, orch: Orchestration, play: Play, output: str) -> None:
        task = {"module": "ansible.builtin.setup", "source": str(play.source), "name": "Gathering Facts", "args": {}}
        orch.groups.append(JobGroup(play.source, "Gathering Facts", [self._task_job(task)]))

    def _vars_file(self, orch: Orchestration, pb: Playbook, entry: Any, source: Source, output: str) -> None:
        candidates = entry if isinstance(entry, list) else [entry]
        for candidate in candidates:
            if not isinstance(candidate, str) or jinja.is_template(candidate):
                self.project.error(source, f"vars_files entry {candidate!r} is templated; cannot be read at conversion")
                return
            path = realpath(pb.path.parent / candidate)
            if path.is_file() and self.inside_input(path):
                data = self.project.load_vars_file(path)
                if data is not None:
                    self._vars_job(orch, "play_vars_files", data, source, output)
                return
        self.project.error(source, f"vars_files not found: {entry!r}")

    # -- roles ----------------------------------------------------------

    def _run_role(self, orch: Orchestration, role: Role, ref: RoleRef, scope: Scope, output: str,
                  tasks_file: Path | None, handlers_file: Path | None, seen: set[str],
                  handlers: list[tuple[Node, Scope]] | None = None, tasks_from: str | None = None) -> None:
        """Run a role as Ansible does: dependencies first, then its tasks."""
        own_handlers = handlers if handlers is not None else []
        if str(role.path) in scope.stack:
            self.project.error(ref.source, f"role dependency cycle: {' -> '.join(Path(s).name for s in scope.stack + (str(role.path),))}")
            return
        scope = scope.but(stack=scope.stack + (str(role.path),))
        for dep_name, params, dep_source in role.dependencies:
            dep_path = self.project.find_role(dep_name, role.path.parent)
            if dep_path is None:
                self.project.error(dep_source, f"role dependency not found: {dep_name}")
                continue
            dep = self.project.role(dep_path)
            key = f"{dep.path}|{sorted(map(str, params.items()))}"
            if key in seen:  # a dependency runs once per play, unless its params differ
                continue
            seen.add(key)
            dep_keywords = {k: v for k, v in params.items() if k in ("when", "tags", "become", "vars")}
            dep_params = {k: v for k, v in params.items() if k not in dep_keywords}
            self._run_role(orch, dep, RoleRef(dep_name, dep_params, dep_keywords, dep_source),
                           scope.with_keywords(dep_keywords), output, _main_task_file(dep), _main_handlers(dep),
                           seen, handlers=own_handlers)
        if self._split == (orch, role.path) and len(scope.stack) == 1:
            self._split_at = len(orch.groups)  # the unit role's own jobs start here
        if self._play_roles is not None and tasks_file is not None and tasks_file == _main_task_file(role) \
                and role.name not in self._play_roles:
            self._play_roles.append(role.name)  # the play runs this role in full on its hosts
            given = sorted(k for k in ("when", "vars") if ref.keywords.get(k)) + (["parameters"] if ref.params else [])
            if given:  # task-core runs the role's service as the role unit converted it
                self._play_notes.append(f"{ref.source}: role {role.name} is given {', '.join(given)} here; "
                                        "its task-core service runs without them")
        # Role params are scoped to the role's tasks, as in Ansible, not a global layer.
        role_scope = scope.with_keywords(ref.keywords).with_keywords({"vars": ref.params}).but(
            role=role, base_dir=role.path)
        self._role_vars(orch, role, role_scope, output)
        if handlers_file is not None:
            tf = self.project.task_file(handlers_file, role, _role_key(role, handlers_file))
            own_handlers.extend((n, role_scope.but(file=handlers_file)) for n in tf.nodes)
        if tasks_file is not None:
            tf = self.project.task_file(tasks_file, role, _role_key(role, tasks_file))
            self._emit_nodes(orch, tf.nodes, role_scope.but(file=tasks_file), output, handlers=own_handlers)
        if handlers is None:
            self._flush_handlers(orch, own_handlers, output)

    def _role_vars(self, orch: Orchestration, role: Role, scope: Scope, output: str) -> None:
        source = Source(self.project.display(role.path), 1)
        if role.defaults:
            self._vars_job(orch, "role_defaults", role.defaults, role.vars_source.get("defaults", source), output)
        if role.vars:
            self._vars_job(orch, "role_vars", role.vars, role.vars_source.get("vars", source), output)

    def _vars_job(self, orch: Orchestration, layer: str, values: dict[str, Any], source: Source, output: str,
                  clear: tuple[str, ...] = ()) -> None:
        if not values and not clear:
            return
        task = {"module": "tm.vars", "source": str(source), "args": {"layer": layer, "vars": yamlio.plain(values)}}
        if clear:
            task["args"]["clear"] = list(clear)
        orch.groups.append(JobGroup(source, f"{layer.replace('_', ' ')}", [self._task_job(task)]))

    # -- nodes ----------------------------------------------------------

    def _emit_nodes(self, orch: Orchestration, nodes: list[Node], scope: Scope, output: str,
                    handlers: list[tuple[Node, Scope]] | None = None, as_handlers: bool = False) -> None:
        handlers = handlers if handlers is not None else []
        for node in nodes:
            if as_handlers:
                names = _handler_names(node)
                self._emit_node(orch, node, scope.but(handler=names), output, handlers)
            else:
                self._emit_node(orch, node, scope, output, handlers)

    def _emit_node(self, orch: Orchestration, node: Node, scope: Scope, output: str,
                   handlers: list[tuple[Node, Scope]]) -> None:
        if isinstance(node, Block):
            self._emit_block(orch, node, scope, output, handlers)
            return
        task = node
        if not self._selected(task, scope):
            return
        if task.module in INCLUDE_TASKS:
            self._include_tasks(orch, task, scope, output, handlers)
        elif task.module in INCLUDE_ROLE:
            self._include_role(orch, task, scope, output, handlers)
        elif task.module == "ansible.builtin.meta" and _raw(task) == FLUSH_HANDLERS:
            self._record(task, Outcome.LOWERED, [], output, [])
            self._flush_handlers(orch, handlers, output)
        else:
            group = self._translate(task, scope, output)
            if group is not None:
                orch.groups.append(group)

    def _emit_block(self, orch: Orchestration, block: Block, scope: Scope, output: str,
                    handlers: list[tuple[Node, Scope]]) -> None:
        inner = scope.with_keywords(block.keywords)
        if block.rescue or block.always:
            block_id = hashlib.sha1(f"{block.source}".encode()).hexdigest()[:8]
            has_rescue = bool(block.rescue)
            for section, nodes in (("block", block.block), ("rescue", block.rescue), ("always", block.always)):
                frame = (("id", block_id), ("section", section), ("rescue", has_rescue))
                section_scope = inner.but(blocks=inner.blocks + (frame,))
                for node in nodes:
                    self._emit_node(orch, node, section_scope, output, handlers)
        else:
            for node in block.block:
                self._emit_node(orch, node, inner, output, handlers)

    def _selected(self, task: Task, scope: Scope) -> bool:
        """--tags / --skip-tags, applied at conversion as ansible-playbook would."""
        if not self.tags and not self.skip_tags:
            return True
        tags = set(map(str, _as_list(dict(scope.keywords).get("tags")) + _as_list(task.keywords.get("tags"))))
        if "always" in tags and "always" not in self.skip_tags:
            return not (tags & self.skip_tags - {"always"})
        if self.tags and not (tags & self.tags or ("all" in self.tags and "never" not in tags)):
            return False
        return not (tags & self.skip_tags)

    # -- includes -------------------------------------------------------

    def _include_tasks(self, orch: Orchestration, task: Task, scope: Scope, output: str,
                       handlers: list[tuple[Node, Scope]]) -> None:
        name = task.args.get("file") or task.args.get("_raw_params")
        findings: list[Finding] = list(task.findings)  # load-time ones (duplicate keys, THT's Heat values)
        if isinstance(name, str) and jinja.is_template(name) and task.module != "ansible.builtin.import_tasks":
            files = dynamic.candidate_files(self, name, scope)
            if files:  # resolved on the node, among the task files the name can render to
                dynamic.include(self, orch, task, scope, output, handlers, name, files, findings)
                return
        if not isinstance(name, str) or jinja.is_template(name):
            self._unsupported(orch, task, scope, output,
                              f"include of a templated file name {name!r} cannot be resolved at conversion")
            return
        path = self._find_task_file(name, scope)
        if path is None:
            outside = any(realpath(c).is_file() for c in self._task_file_candidates(name, scope))
            problem = (f"included task file lies outside the input tree, not read: {name}" if outside
                       else f"included task file not found: {name}")
            self.project.error(task.source, problem)
            self._unsupported(orch, task, scope, output, problem, record_error=False)
            return
        if str(path) in scope.stack or len(scope.stack) > MAX_INCLUDE_DEPTH:
            self.project.error(task.source, f"include cycle: {name} includes itself")
            self._unsupported(orch, task, scope, output, f"include cycle through {name}", record_error=False)
            return
        role = scope.role
        tf = self.project.task_file(path, role, _role_key(role, path) if role and path.is_relative_to(role.path)
                                    else self._key(path))
        loop_items = self._static_loop(task)
        if loop_items is None and task.module == "ansible.builtin.import_tasks":
            self._unsupported(orch, task, scope, output, "import_tasks cannot loop (Ansible refuses it)")
            return
        if loop_items is None:  # the loop runs on the node, the file's tasks per item
            dynamic.include(self, orch, task, scope, output, handlers, name, {name: path}, findings)
            return
        keywords = {k: v for k, v in task.keywords.items() if k not in ("loop", "loop_control") and not k.startswith("with_")}
        once = self._include_when_once(orch, task, scope, loop_items)
        if once is not None:
            keywords["when"] = once
        self._record(task, Outcome.LOWERED, [orch.groups[-1].jobs[0]] if once else [], output, findings)
        for item in loop_items:
            inner = scope.with_keywords(keywords)
            if item is not _NO_LOOP:
                loop_var = (task.keywords.get("loop_control") or {}).get("loop_var", "item")
                inner = inner.but(vars=tuple(sorted(dict(inner.vars, **{loop_var: item}).items())))
            inner = inner.but(stack=inner.stack + (str(path),), file=path)
            self._emit_nodes(orch, tf.nodes, inner, output, handlers)

    def _include_when_once(self, orch: Orchestration, task: Task, scope: Scope, loop_items: list[Any]) -> list[str] | None:
        """The own `when` of include_tasks/include_role is evaluated once, when the include runs
        (import_tasks/import_role copy it onto every task instead). Expanded inline, the tasks
        would re-evaluate it each, and differ once one of them changes what it reads: so a TASK
        job evaluates it once into a hidden fact, and the included tasks test that. Returns
        their `when`, or None to keep it."""
        own = _as_list(task.keywords.get("when"))
        if task.module not in ("ansible.builtin.include_tasks", "ansible.builtin.include_role") \
                or not own or loop_items != [_NO_LOOP]:
            return None
        if not all(isinstance(c, str) and c.strip() and not jinja.is_template(c) for c in own):
            return None  # booleans and "{{ }}" conditions: left as they are
        flag = "tm_include_when_" + hashlib.sha256(task.id.encode()).hexdigest()[:12]
        condition = " and ".join(f"({c})" for c in own)
        spec = self._task_spec(replace(task, module="ansible.builtin.set_fact", keywords={}), scope,
                               {flag: "{{ " + condition + " }}"})
        spec["name"] = f"the include's when, evaluated once: {condition}"[:200]
        if isinstance(task.keywords.get("vars"), dict):  # the include's vars are in scope for its when
            spec["vars"] = yamlio.plain(dict(spec.get("vars") or {}, **task.keywords["vars"]))
        orch.groups.append(JobGroup(task.source, task.label, [self._task_job(spec)]))
        return [f"{flag} | bool"]

    def _static_loop(self, task: Task) -> list[Any] | None:
        loop = task.keywords.get("loop")
        with_items = [k for k in task.keywords if k.startswith("with_")]
        if loop is None and not with_items:
            return [_NO_LOOP]
        value = loop if loop is not None else task.keywords[with_items[0]]
        if with_items and with_items[0] not in ("with_items", "with_list"):
            return None
        if isinstance(value, list) and not any(jinja.is_template(v) for v in jinja.walk_strings(value)):
            if with_items and with_items[0] == "with_items":
                flat: list[Any] = []
                for v in value:
                    flat.extend(v if isinstance(v, list) else [v])
                return flat
            return value
        return None

    def _include_role(self, orch: Orchestration, task: Task, scope: Scope, output: str,
                      handlers: list[tuple[Node, Scope]]) -> None:
        name = task.args.get("name") or task.args.get("role")
        if not isinstance(name, str) or jinja.is_template(name):
            self._unsupported(orch, task, scope, output, f"role name {name!r} is templated; cannot be resolved")
            return
        near = scope.role.path.parent if scope.role else scope.base_dir
        path = self.project.find_role(name, near)
        if path is None:
            self.project.error(task.source, f"role not found: {name}")
            self._unsupported(orch, task, scope, output, f"role not found: {name}", record_error=False)
            return
        role = self.project.role(path)
        tasks_from = task.args.get("tasks_from", "main")
        handlers_from = task.args.get("handlers_from", "main")
        tasks_file = role.file("tasks", str(tasks_from))
        if tasks_file is None and tasks_from != "main":
            self.project.error(task.source, f"role {name} has no tasks file {tasks_from}")
        handlers_file = role.file("handlers", str(handlers_from))
        if self._static_loop(task) != [_NO_LOOP]:
            self._unsupported(orch, task, scope, output, "include_role with a loop is not expanded yet")
            return
        keywords = dict(task.keywords)
        once = self._include_when_once(orch, task, scope, [_NO_LOOP])
        if once is not None:
            keywords["when"] = once
        if isinstance(task.args.get("apply"), dict):
            apply = dict(task.args["apply"])
            if "when" in apply and "when" in keywords:  # both hold for every task of the role
                keywords["when"] = _as_list(keywords["when"]) + _as_list(apply.pop("when"))
            keywords.update(apply)
        self._record(task, Outcome.LOWERED, [orch.groups[-1].jobs[0]] if once else [], output, list(task.findings))
        params = {k: v for k, v in task.args.items()
                  if k not in ("name", "role", "tasks_from", "handlers_from", "vars_from", "defaults_from",
                               "apply", "public", "allow_duplicates", "rolespec_validate")}
        if isinstance(keywords.get("vars"), dict):
            params = dict(keywords.pop("vars"), **params)
        ref = RoleRef(name, params, {k: v for k, v in keywords.items() if k != "vars"}, task.source)
        if scope.role is not None and scope.role.name != role.name:
            self.out.edges.add((scope.role.name, role.name, task.module.rsplit(".", 1)[-1]))
        self._run_role(orch, role, ref, scope, output, tasks_file, handlers_file, set(), handlers=handlers)

    def _find_task_file(self, name: str, scope: Scope) -> Path | None:
        for candidate in self._task_file_candidates(name, scope):
            candidate = realpath(candidate)
            if candidate.is_file() and self.inside_input(candidate):
                return candidate
        return None

    @staticmethod
    def _task_file_candidates(name: str, scope: Scope) -> list[Path]:
        candidates = []
        if scope.role is not None:
            candidates.append(scope.role.path / "tasks" / name)
        candidates.append(scope.base_dir / name)
        if scope.file is not None:
            candidates.append(scope.file.parent / name)
        return candidates

    # -- handlers -------------------------------------------------------

    def _flush_handlers(self, orch: Orchestration, handlers: list[tuple[Node, Scope]], output: str) -> None:
        for node, scope in handlers:
            self._emit_node(orch, node, scope.but(handler=_handler_names(node)), output, [])

    def _flush(self, orch: Orchestration, output: str) -> None:
        """Nothing pending: handlers are flushed where the play ends."""

    # -- one task -------------------------------------------------------

    def _translate(self, task: Task, scope: Scope, output: str) -> JobGroup | None:
        ctx = TaskContext(self, task, scope, output)
        keywords = dict(scope.keywords)
        keywords.update(task.keywords)
        findings = list(task.findings)
        for problem in self._syntax_problems(task):
            # Ansible fails this task when it runs; the input is broken now
            self.project.error(task.source, problem)
            findings.append(Finding("jinja", Severity.ERROR, problem))
        if task.module in UNSUPPORTED:
            return self._unsupported_group(task, scope, output, UNSUPPORTED[task.module])
        for name in _controller_lookups(task):
            problem = (f"lookup {name!r} reads Ansible's controller; the node has no such lookup, "
                       "so the task fails there when it renders it")
            findings.append(Finding("lookup", Severity.ERROR, problem))
        runtime_needed = self._runtime_keywords(task, scope)
        outcome: Outcome
        if not runtime_needed and task.module in NATIVE and not _unsafe_templates(task.args):
            result = NATIVE[task.module](task, ctx)
            if result is not None:
                jobs = self._apply_conversion_keywords(result.jobs, keywords, ctx)
                findings += ctx.findings + result.findings
                self._record(task, result.outcome, jobs, output, findings)
                return JobGroup(task.source, task.label, jobs)
        ctx.findings.clear()
        if keywords.get("async") and str(keywords.get("poll", 15)) == "0":
            ctx.finding("async", Severity.WARNING,
                        "async with poll: 0 runs to completion before the next task starts "
                        "(Directord runs a node's jobs one at a time); async_status finds its result")
        if task.module in self._supported:
            prepared = PREPARE[task.module](task, ctx) if task.module in PREPARE else None
            if prepared is None or prepared.args is not None:
                args = prepared.args if prepared else task.args
                spec = self._task_spec(task, scope, args)
                spec.update(prepared.spec if prepared else {})
                jobs = (prepared.jobs_before if prepared else []) + [self._task_job(spec)]
                jobs = self._apply_conversion_keywords(jobs, keywords, ctx)
                findings += ctx.findings + (prepared.findings if prepared else [])
                outcome = Outcome.COMPONENT
                self._record(task, outcome, jobs, output, findings)
                return JobGroup(task.source, task.label, jobs)
            findings += ctx.findings + prepared.findings
            reason = "; ".join(f.message for f in prepared.findings if f.severity == Severity.ERROR) or "cannot be prepared"
            return self._unsupported_group(task, scope, output, reason, findings)
        if self.bridge:
            return bridge_group(self, task, scope, output, keywords, findings, ctx)
        return self._stub_group(task, scope, output, keywords, findings, ctx)

    def _runtime_keywords(self, task: Task, scope: Scope) -> list[str]:
        found = [k for k in task.keywords if k in RUNTIME_KEYWORDS or k.startswith("with_")]
        inherited = dict(scope.keywords)
        found += [k for k in ("environment", "no_log", "ignore_errors", "check_mode", "become_user")
                  if inherited.get(k) not in (None, False, {}, "root")]
        if scope.when:
            found.append("when")
        if scope.vars:
            found.append("vars")
        if scope.blocks:
            found.append("block")
        if scope.handler is not None:
            found.append("handler")
        if scope.dynamic:
            found.append("include")  # the task runs inside its include's TASK job
        return found

    def _apply_conversion_keywords(self, jobs: list[Job], keywords: dict[str, Any], ctx: TaskContext) -> list[Job]:
        """run_once and delegate_to shape where jobs run, not what they do; the play
        keywords Directord has no equivalent for are reported on every task."""
        run_once = keywords.get("run_once") in (True, "true", "yes", "True")
        delegate = keywords.get("delegate_to")
        is_local = isinstance(delegate, str) and delegate in LOCALHOST  # (a list or mapping is no host)
        local = self.inventory.resolve(delegate).targets if self.inventory is not None and is_local else None
        if is_local and not local:
            # Ansible's controller is no Directord node: a node identity "localhost" never exists
            ctx.finding("delegate_to", Severity.WARNING,
                        f"delegate_to {delegate} (Ansible's controller) has no Directord node; "
                        "the job runs on the play's targets instead")
        elif delegate is not None:
            if isinstance(delegate, str) and not jinja.is_template(delegate):
                node = local[0] if local else delegate
                for job in jobs:
                    job.assign = [node]
                if local:
                    ctx.finding("delegate_to", Severity.INFO,
                                f"delegate_to {delegate} runs on {node}, the inventory's local-connection host")
                elif self.inventory is not None and not self.inventory.has_host(delegate):
                    ctx.finding("delegate_to", Severity.WARNING,
                                f"delegate_to {delegate} is not an inventory host: Directord fails the job "
                                "(unknown target) unless a node has that identity")
                if not run_once:
                    ctx.finding("delegate_to", Severity.WARNING,
                                f"delegate_to {delegate}: the job runs once on {node} (Directord assign), "
                                "not once for each host of the play with that host's variables")
            else:
                ctx.finding("delegate_to", Severity.WARNING,
                            f"delegate_to {delegate!r} is templated; the job runs on the play's targets")
        if run_once:
            for job in jobs:
                job.value = ("--run-once " + job.value).strip() if job.verb != "TASK" else job.value + " --run-once"
            if keywords.get("register") or ctx.task.module == "ansible.builtin.set_fact":
                ctx.finding("run_once", Severity.WARNING,
                            "run_once: Directord runs the job on the first target only (--run-once) and the "
                            "other nodes do not get its registered result or facts, as Ansible gives them")
        serial = keywords.get("serial")
        if serial not in (None, 0, "0", [], "100%"):
            ctx.finding("serial", Severity.WARNING,
                        f"play serial {serial!r} is not carried: each job runs on every target at once, "
                        "not in batches of hosts")
        if keywords.get("max_fail_percentage") is not None:
            ctx.finding("max_fail_percentage", Severity.WARNING,
                        "play max_fail_percentage is not carried: a node's failure never stops the others")
        if keywords.get("any_errors_fatal") in (True, "true", "yes", "True"):
            ctx.finding("any_errors_fatal", Severity.WARNING,
                        "any_errors_fatal is not carried: a failure on one node does not stop the other "
                        "nodes' jobs (a task-core service does stop the graph when one of its jobs fails)")
        ctx.findings.extend(f for f in self._play_findings if f not in ctx.findings)
        return jobs

    def _task_spec(self, task: Task, scope: Scope, args: dict[str, Any]) -> dict[str, Any]:
        keywords = dict(scope.keywords)
        keywords.update(task.keywords)
        spec: dict[str, Any] = {"module": task.module, "source": str(task.source)}
        if task.name:
            spec["name"] = task.name
        spec["args"] = yamlio.plain(args)
        when = list(scope.when) + _as_list(task.keywords.get("when"))
        if when:
            spec["when"] = yamlio.plain(when)
        loop_keys = [k for k in task.keywords if k.startswith("with_")]
        if "loop" in task.keywords:
            spec["loop"] = yamlio.plain(task.keywords["loop"])
        elif loop_keys:
            spec["loop"] = yamlio.plain(task.keywords[loop_keys[0]])
            spec["loop_with"] = loop_keys[0][len("with_"):]
        variables = dict(scope.vars)
        if isinstance(task.keywords.get("vars"), dict):
            variables.update(task.keywords["vars"])
        if variables:
            spec["vars"] = yamlio.plain(variables)
        for key in ("loop_control", "register", "until", "retries", "delay", "ignore_errors", "environment",
                    "no_log", "check_mode", "become_user", "async", "poll"):
            if key in keywords and keywords[key] is not None:
                spec[key] = yamlio.plain(keywords[key])
        inherited_env = dict(scope.keywords).get("environment")
        if inherited_env and task.keywords.get("environment") is not None:
            # the task's environment adds to the blocks' and play's, which come first
            spec["environment"] = yamlio.plain(_as_list(inherited_env) + _as_list(task.keywords["environment"]))
        for key in ("failed_when", "changed_when"):
            if key in task.keywords:
                spec[key] = yamlio.plain(_as_list(task.keywords[key]))
        if "notify" in task.keywords:
            spec["notify"] = [str(n) for n in _as_list(task.keywords["notify"])]
        if scope.handler is not None:
            spec["handler"] = {"names": list(scope.handler)}
        if scope.blocks:
            spec["blocks"] = [dict(frame) for frame in scope.blocks]
        return spec

    def _task_job(self, spec: dict[str, Any]) -> Job:
        self.out.components.add("TASK")
        return Job("TASK", spec["module"], vars={"task": spec})

    # -- stubs and unsupported ------------------------------------------

    def _stub_group(self, task: Task, scope: Scope, output: str, keywords: dict[str, Any],
                    findings: list[Finding], ctx: TaskContext) -> JobGroup:
        verb = stub_verb(task.module)
        if scope.dynamic:  # inside a dynamic include's job: a task that fails with "not implemented"
            job = self._task_job(dynamic.stub_spec(task, scope, self._task_spec))
            findings = findings + ctx.findings + [Finding(
                "module", Severity.ERROR,
                f"no translation for {task.module}: inside a dynamic include it is a task that fails with "
                "'not implemented' (no stub component)")]
            self._record(task, Outcome.STUB, [job], output, findings)
            return JobGroup(task.source, task.label, [job])
        library = [scope.role.path / "library"] if scope.role else []
        self.out.stubs.setdefault(verb, (task.module, library))
        value, job_vars = stubs.stub_job(verb, task.module, yamlio.plain(task.args), str(task.source))
        job = Job(verb, value, vars=job_vars)
        jobs = self._apply_conversion_keywords([job], keywords, ctx)
        findings = findings + ctx.findings + [Finding(
            "module", Severity.ERROR,
            f"no translation for {task.module}: generated stub component {verb} fails with 'not implemented'")]
        self._record(task, Outcome.STUB, jobs, output, findings)
        return JobGroup(task.source, task.label, jobs)

    def _unsupported_group(self, task: Task, scope: Scope, output: str, reason: str,
                           findings: list[Finding] | None = None) -> JobGroup | None:
        findings = list(findings if findings is not None else task.findings)
        if not any(f.severity == Severity.ERROR and f.message in reason for f in findings):
            findings.append(Finding("module", Severity.ERROR, f"unsupported: {reason}"))
        jobs: list[Job] = []
        if not self.skip_unsupported:
            spec = {"module": "ansible.builtin.fail", "source": str(task.source), "name": task.label,
                    "args": {"msg": _raw_text(f"unsupported: {task.module} from {task.source}: {reason}")}}
            jobs = [self._task_job(spec)]
        self._record(task, Outcome.UNSUPPORTED, jobs, output, findings)
        return JobGroup(task.source, task.label, jobs) if jobs else None

    def _unsupported(self, orch: Orchestration, task: Task, scope: Scope, output: str, reason: str,
                     record_error: bool = True) -> None:
        group = self._unsupported_group(task, scope, output, reason)
        if group is not None:
            orch.groups.append(group)

    # -- bookkeeping ----------------------------------------------------

    def _record(self, task: Task, outcome: Outcome, jobs: list[Job], output: str, findings: list[Finding]) -> None:
        if task.id in self.out.results:
            _add_play_findings(self.out.results[task.id], findings)
            return
        unique = list(dict.fromkeys(findings))
        result = TaskResult(task, outcome, [j.verb for j in jobs], output, unique)
        self.out.results[task.id] = result
        if output == _PENDING:
            self._pending.append(result)

    def _reported(self, node: Node) -> bool:
        if isinstance(node, Task):
            return node.id in self.out.results
        return any(self._reported(n) for n in node.block + node.rescue + node.always)

    def _relocate(self, output: str) -> None:
        """Playbook results learn their output file once it is known."""
        for result in self._pending:
            result.output = output
        self._pending.clear()

    def _key(self, path: Path) -> str:
        for root in self.input_roots:
            if path.is_relative_to(root):
                return str(path.relative_to(root))
        return path.name

    def inside_input(self, path: Path) -> bool:
        if not self._root_prefixes:
            return True
        return (str(path) + "/").startswith(self._root_prefixes)

    # -- files ----------------------------------------------------------

    def stage(self, src: str, kind: str, scope: Scope, ctx: TaskContext) -> str | None:
        if scope.role is not None:  # the one variable a src path may use that is known now
            src = _ROLE_PATH.sub(lambda _: str(scope.role.path), src)
        if jinja.is_template(src):
            ctx.finding("src", Severity.ERROR, f"src {src!r} is templated; the file cannot be found at conversion")
            return None
        search = []
        if os.path.isabs(src):
            search.append(Path(src))
        else:
            if scope.role is not None:
                search += [scope.role.path / kind / src, scope.role.path / src]
            search += [scope.base_dir / kind / src, scope.base_dir / src]
        for candidate in search:
            real = realpath(candidate)
            if not self.inside_input(real):
                ctx.finding("src", Severity.ERROR, f"src {src!r} lies outside the input tree; not copied")
                return None
            if real.is_file():
                if kind == "templates":
                    self._check_template(real)
                if scope.role is not None and real.is_relative_to(scope.role.path):
                    rel = Path("roles") / scope.role.name / real.relative_to(scope.role.path)
                else:
                    rel = Path("playbooks") / self._key(real)
                self.out.staged[str(rel)] = real
                return str(rel)
            if real.is_dir():
                if kind != "files":
                    ctx.finding("src", Severity.ERROR, f"src {src!r} is a directory, not a template")
                    return None
                return self._stage_tree(real, scope, ctx, src)
        ctx.finding("src", Severity.ERROR, f"src file not found: {src}")
        return None

    def _stage_tree(self, real: Path, scope: Scope, ctx: TaskContext, src: str) -> str | None:
        """Stage every file below a directory src (copy follows links, as local_follow does).

        Returns the directory's OUT-relative path; staged_tree() lists what is in it."""
        if scope.role is not None and real.is_relative_to(scope.role.path):
            base = Path("roles") / scope.role.name / real.relative_to(scope.role.path)
        else:
            base = Path("playbooks") / self._key(real)
        for dirpath, dirnames, filenames in os.walk(real, followlinks=True):
            dirnames.sort()
            for name in sorted(filenames):
                path = realpath(Path(dirpath) / name)
                if not self.inside_input(path):
                    ctx.finding("src", Severity.ERROR, f"{src!r} holds {name!r}, which lies outside the input tree")
                    return None
                if path.is_file():
                    self.out.staged[str(base / Path(dirpath, name).relative_to(real))] = path
        return str(base)

    def _syntax_problems(self, task: Task) -> list[str]:
        """The task's Jinja syntax errors, found once: a role's tasks are translated again
        for every playbook and role that runs it."""
        known = self._task_syntax.get(id(task))
        if known is None or known[0] is not task:
            known = self._task_syntax[id(task)] = (task, jinja.syntax_problems(task.args, task.keywords))
        return known[1]

    def _check_template(self, path: Path) -> None:
        """Report a template's Jinja syntax error once: every playbook that runs the role stages it again."""
        if path in self._checked_templates:
            return
        self._checked_templates.add(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.project.error(Source(self.project.display(path), 1), f"cannot read the template: {exc}")
            return
        problem = jinja.template_problem(text)
        if problem:
            self.project.error(Source(self.project.display(path), problem[0]), problem[1])

    def node_stage_path(self, out_rel: str) -> str:
        return f"{NODE_STAGE_DIR}/{out_rel}"


_PENDING = "<pending>"
_ROLE_PATH = re.compile(r"\{\{\s*role_path\s*\}\}")


class _NoLoop:
    def __repr__(self) -> str:
        return "<no loop>"


_NO_LOOP = _NoLoop()


_LOOKUP_CALL = re.compile(r"\b(?:lookup|query|q)\(\s*['\"]([\w.]+)['\"]")


def _controller_lookups(task: Task) -> list[str]:
    """lookup()/query() calls in a task that the node cannot run (they need the controller)."""
    found = []
    for text in jinja.walk_strings([task.args, task.keywords]):
        if "(" not in text or not ("lookup" in text or "query" in text or "q(" in text):
            continue
        for name in _LOOKUP_CALL.findall(text):
            short = name.rsplit(".", 1)[-1] if name.startswith("ansible.builtin.") else name
            if short not in runtime_support.node_lookups() and name not in found:
                found.append(name)
    return found


def stub_verb(module: str) -> str:
    """STUB_<SHORT NAME>: Directord imports `<verb lower>.py`, so ASCII letters, digits and
    '_' only; a name that needed other characters replaced gets a digest of itself, so two
    such names never share a stub."""
    short = module.rsplit(".", 1)[-1]
    clean = "".join(c if c.isascii() and c.isalnum() else "_" for c in short)
    if clean != short.replace("-", "_") or not short:
        clean += "_" + hashlib.sha256(short.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return "STUB_" + clean.upper()


def _raw_text(text: str) -> str:
    """Text the runtime will template, kept literal."""
    if jinja.is_template(text):
        return "{% raw %}" + text.replace("{% endraw %}", "") + "{% endraw %}"
    return text


def _raw(task: Task) -> str:
    return str(task.args.get("_raw_params", "")).strip()


def _unsafe_templates(args: Any) -> bool:
    """`!unsafe` text that looks like Jinja: built-ins would render it, the runtime does not
    (yamlio.plain hands it over as an expression that yields the text itself)."""
    return any(isinstance(text, yamlio.UnsafeStr) and jinja.is_template(text) for text in jinja.walk_strings(args))


def _handler_names(node: Node) -> tuple[str, ...]:
    if isinstance(node, Task):
        # a nameless handler answers to its action, as Ansible's Task.get_name() gives it
        names = [node.name if node.name else node.action]
        names += [str(x) for x in _as_list(node.keywords.get("listen"))]
        return tuple(names)
    if node.name:
        return (str(node.name),)
    # a nameless block: what its handlers answer to
    return tuple(dict.fromkeys(name for inner in node.block + node.rescue + node.always
                               for name in _handler_names(inner)))


def _main_task_file(role: Role) -> Path | None:
    return role.file("tasks", "main")


def _main_handlers(role: Role) -> Path | None:
    return role.file("handlers", "main")




def _role_key(role: Role | None, path: Path) -> str:
    if role is None:
        return path.name
    return _role_file_key(role.name, role.path, path)


@functools.lru_cache(maxsize=65536)
def _role_file_key(name: str, role_path: Path, path: Path) -> str:
    return f"roles/{name}/{path.relative_to(role_path)}"
