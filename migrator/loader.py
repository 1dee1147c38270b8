"""Load roles, task files and playbooks into the model, with file:line.

Loading is lazy and cached by real path: a task file reached from two places
is one TaskFile (its tasks are reported once). Every problem becomes a
LoadError or a Finding; nothing here raises on bad input, and nothing in the
input is evaluated (taskargs only splits arguments).
"""

from __future__ import annotations

import hashlib
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import modules, taskargs, yamlio
from .discover import IMPORT_PLAYBOOK_KEYS, YAML_SUFFIXES, is_role_dir, looks_like_playbook
from .model import Block, Finding, LoadError, Node, Severity, Source, Task, realpath

TASK_KEYWORDS = taskargs.HANDLER_ATTRIBUTES | {"local_action"}  # (listen: a handler's)
BLOCK_KEYWORDS = taskargs.BLOCK_ATTRIBUTES
# Keywords that real input sometimes mis-indents into the module arguments.
_MISPLACED = frozenset({"register", "ignore_errors", "when", "become", "notify", "tags",
                        "loop", "changed_when", "failed_when", "no_log", "delegate_to"})


@dataclass
class TaskFile:
    path: Path
    display: str  # path shown to the user (relative to the working directory)
    key: str  # stable name for ids: roles/<role>/tasks/x.yml or playbooks/x.yml
    role: str | None
    nodes: list[Node] = field(default_factory=list)
    error: LoadError | None = None


@dataclass
class Role:
    name: str
    path: Path
    defaults: dict[str, Any] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    vars_source: dict[str, Source] = field(default_factory=dict)  # layer -> file
    dependencies: list[tuple[str, dict[str, Any], Source]] = field(default_factory=list)
    task_files: list[Path] = field(default_factory=list)  # tasks/**.yml, sorted
    handler_files: list[Path] = field(default_factory=list)
    library: frozenset[str] = frozenset()
    _found: dict[tuple[str, str], Path | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    def file(self, kind: str, name: str) -> Path | None:
        """tasks/NAME or handlers/NAME as Ansible finds it (NAME, NAME.yml, NAME.yaml); looked
        up once per run: a role is run by many plays."""
        key = (kind, name)
        if key not in self._found:
            base = self.path / kind
            self._found[key] = next((candidate for candidate in (base / name, *(base / f"{name}{s}" for s in YAML_SUFFIXES))
                                     if candidate.is_file()), None)
        return self._found[key]


@dataclass
class RoleRef:
    name: str
    params: dict[str, Any]
    keywords: dict[str, Any]  # when, tags, become, vars...
    source: Source


@dataclass
class Play:
    source: Source
    name: str
    hosts: Any
    keywords: dict[str, Any]
    vars: dict[str, Any]
    vars_files: list[Any]
    roles: list[RoleRef]
    pre_tasks: list[Node]
    tasks: list[Node]
    post_tasks: list[Node]
    handlers: list[Node]


@dataclass
class ImportPlaybook:
    source: Source
    target: str
    keywords: dict[str, Any]


@dataclass
class Playbook:
    path: Path
    display: str
    key: str
    items: list[Play | ImportPlaybook] = field(default_factory=list)


@functools.lru_cache(maxsize=65536)
def display_path(path: Path, cwd: Path) -> str:
    """Paths as linters show them: relative to where the command ran (asked for the same
    files thousands of times in a run)."""
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return os.path.relpath(path, cwd)


def yaml_files(directory: Path) -> list[Path]:
    """YAML files below a directory, sorted, without following symlink loops."""
    found = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / f for f in files if f.endswith(YAML_SUFFIXES))
    return sorted(found)


class Project:
    """Everything loaded for one conversion, and where to find more."""

    def __init__(self, cwd: Path, roles_path: list[Path], module_paths: list[Path]):
        self.cwd = cwd
        self.roles_path = roles_path
        self.module_paths = module_paths
        self.errors: list[LoadError] = []
        self._task_files: dict[Path, TaskFile] = {}
        self._roles: dict[Path, Role] = {}
        self._custom_modules: frozenset[str] | None = None

    # -- errors ---------------------------------------------------------

    def error(self, source: Source, message: str) -> LoadError:
        err = LoadError(source, message)
        self.errors.append(err)
        return err

    def display(self, path: Path) -> str:
        return display_path(path, self.cwd)

    # -- modules --------------------------------------------------------

    def custom_modules(self) -> frozenset[str]:
        if self._custom_modules is None:
            names = set()
            for directory in self.module_paths:
                if directory.is_dir():
                    names.update(p.stem for p in directory.glob("*.py") if p.stem != "__init__")
            self._custom_modules = frozenset(names)
        return self._custom_modules

    def find_module_file(self, name: str, role: Role | None) -> Path | None:
        dirs = ([role.path / "library"] if role else []) + self.module_paths
        for directory in dirs:
            candidate = directory / f"{name}.py"
            if candidate.is_file():
                return candidate
        return None

    # -- roles ----------------------------------------------------------

    def find_role(self, name: str, near: Path | None = None) -> Path | None:
        """Look a role up as architecture.md orders it."""
        if os.sep in name or name.startswith("."):
            base = near if near else self.cwd
            candidate = realpath(base / name)
            return candidate if is_role_dir(candidate) else None
        search = list(self.roles_path)
        if near is not None:
            search += [near / "roles", near.parent / "roles"]
        for candidate_name in dict.fromkeys([name, name.rsplit(".", 1)[-1]]):
            for directory in search:
                candidate = directory / candidate_name
                if is_role_dir(candidate):
                    return realpath(candidate)
        return None

    def role(self, path: Path) -> Role:
        path = realpath(path)
        if path not in self._roles:
            self._roles[path] = self._load_role(path)
        return self._roles[path]

    def _load_role(self, path: Path) -> Role:
        role = Role(name=path.name, path=path)
        role.defaults = self._load_vars_dir(path / "defaults", role, "defaults")
        role.vars = self._load_vars_dir(path / "vars", role, "vars")
        role.task_files = yaml_files(path / "tasks") if (path / "tasks").is_dir() else []
        role.handler_files = yaml_files(path / "handlers") if (path / "handlers").is_dir() else []
        library = path / "library"
        if library.is_dir():
            role.library = frozenset(p.stem for p in library.glob("*.py"))
        meta = self._main_file(path / "meta")
        if meta:
            role.dependencies = self._load_dependencies(meta)
        return role

    @staticmethod
    def _main_file(directory: Path) -> Path | None:
        for suffix in ("main.yml", "main.yaml", "main"):
            if (directory / suffix).is_file():
                return directory / suffix
        return None

    def _load_vars_dir(self, directory: Path, role: Role, layer: str) -> dict[str, Any]:
        """defaults/main.yml, or every file of defaults/main/ in order."""
        files: list[Path] = []
        main = self._main_file(directory)
        if main:
            files = [main]
        elif (directory / "main").is_dir():
            files = yaml_files(directory / "main")
        merged: dict[str, Any] = {}
        for file in files:
            data = self.load_vars_file(file)
            if data is not None:
                merged.update(data)
                role.vars_source[layer] = Source(self.display(file), 1)
        return merged

    def load_vars_file(self, path: Path) -> dict[str, Any] | None:
        try:
            data = yamlio.load_file(path)
        except yamlio.YamlError as exc:
            self.error(Source(self.display(path), exc.line), str(exc))
            return None
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.error(Source(self.display(path), 1), f"variables file must be a mapping, not {yamlio.kind(data)}")
            return None
        return data

    def _load_dependencies(self, meta: Path) -> list[tuple[str, dict[str, Any], Source]]:
        try:
            data = yamlio.load_file(meta)
        except yamlio.YamlError as exc:
            self.error(Source(self.display(meta), exc.line), str(exc))
            return []
        if not isinstance(data, dict):
            return []
        listed = data.get("dependencies") or []
        if not isinstance(listed, list):
            self.error(Source(self.display(meta), getattr(data, "line", 1) or 1),
                       f"dependencies must be a list, not {yamlio.kind(listed)}")
            return []
        deps = []
        for item in listed:
            line = getattr(item, "line", getattr(data, "line", 1))
            source = Source(self.display(meta), line)
            if isinstance(item, str):
                deps.append((item, {}, source))
            elif isinstance(item, dict) and (item.get("role") or item.get("name")):
                name = str(item.get("role") or item.get("name"))
                params = {k: v for k, v in item.items() if k not in ("role", "name")}
                deps.append((name, params, source))
            else:
                self.error(source, f"role dependency must name a role: {item!r}")
        return deps

    # -- task files -----------------------------------------------------

    def task_file(self, path: Path, role: Role | None, key: str) -> TaskFile:
        real = realpath(path)
        if real in self._task_files:
            return self._task_files[real]
        tf = TaskFile(path=path, display=self.display(path), key=key, role=role.name if role else None)
        self._task_files[real] = tf
        try:
            data = yamlio.load_file(path)
        except yamlio.YamlError as exc:
            tf.error = self.error(Source(tf.display, exc.line), str(exc))
            return tf
        if data is None:
            return tf
        if not isinstance(data, list):
            tf.error = self.error(Source(tf.display, getattr(data, "line", 1) or 1),
                                  f"a task list must be a YAML list, not {yamlio.kind(data)}")
            return tf
        tf.nodes = load_nodes(data, tf, self, role, counter={})
        return tf

    def task_files_loaded(self) -> list[TaskFile]:
        return list(self._task_files.values())

    # -- playbooks ------------------------------------------------------

    def playbook(self, path: Path, key: str) -> Playbook | None:
        display = self.display(path)
        try:
            data = yamlio.load_file(path)
        except yamlio.YamlError as exc:
            self.error(Source(display, exc.line), str(exc))
            return None
        if not looks_like_playbook(data):
            self.error(Source(display, 1), "not a playbook (a list of plays with hosts or import_playbook)")
            return None
        pb = Playbook(path=path, display=display, key=key)
        tf = TaskFile(path=path, display=display, key=key, role=None)
        self._task_files[realpath(path)] = tf
        counter: dict = {}
        for item in data:
            source = Source(display, getattr(item, "line", 1))
            import_target = _first(item, IMPORT_PLAYBOOK_KEYS)
            if import_target is not None:
                target, extra = _split_import_playbook(import_target)
                keywords = {k: v for k, v in item.items() if k not in _IMPORT_KEYS}
                if extra:
                    keywords.setdefault("vars", {}).update(extra)
                pb.items.append(ImportPlaybook(source, target, keywords))
                continue
            plays_nodes = {}
            for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                value = item.get(section) or []
                if not isinstance(value, list):
                    self.error(Source(display, getattr(value, "line", source.line) or source.line),
                               f"play {section} must be a list")
                    value = []
                plays_nodes[section] = load_nodes(value, tf, self, None, counter)
            roles = []
            listed = item.get("roles") or []
            if not isinstance(listed, list):
                self.error(Source(display, source.line), f"play roles must be a list, not {yamlio.kind(listed)}")
                listed = []
            for ref in listed:
                ref_source = Source(display, getattr(ref, "line", source.line) or source.line)
                if isinstance(ref, str):
                    roles.append(RoleRef(ref, {}, {}, ref_source))
                elif isinstance(ref, dict) and (ref.get("role") or ref.get("name")):
                    name = str(ref.get("role") or ref.get("name"))
                    keywords = {k: v for k, v in ref.items() if k in TASK_KEYWORDS and k != "name"}
                    params = {k: v for k, v in ref.items() if k not in keywords and k not in ("role", "name")}
                    roles.append(RoleRef(name, params, keywords, ref_source))
                else:
                    self.error(ref_source, f"a play role must name a role: {ref!r}")
            keywords = {k: v for k, v in item.items() if k not in _PLAY_SECTIONS}
            vars_files = item.get("vars_files") or []
            pb.items.append(Play(
                source=source,
                name=str(item.get("name") or item.get("hosts") or "play"),
                hosts=item.get("hosts"),
                keywords=keywords,
                vars=item.get("vars") if isinstance(item.get("vars"), dict) else {},
                vars_files=vars_files if isinstance(vars_files, list) else [vars_files],
                roles=roles,
                pre_tasks=plays_nodes["pre_tasks"],
                tasks=plays_nodes["tasks"],
                post_tasks=plays_nodes["post_tasks"],
                handlers=plays_nodes["handlers"],
            ))
        tf.nodes = [n for p in pb.items if isinstance(p, Play)
                    for n in p.pre_tasks + p.tasks + p.post_tasks + p.handlers]
        return pb


_IMPORT_KEYS = frozenset(IMPORT_PLAYBOOK_KEYS) | {"name"}
_PLAY_SECTIONS = {"name", "hosts", "vars", "vars_files", "roles", "pre_tasks", "tasks", "post_tasks", "handlers"}


def _first(mapping: dict, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in mapping:
            return mapping[key]
    return None


def _split_import_playbook(value: Any) -> tuple[str, dict[str, str]]:
    """`import_playbook: file k=v` (legacy, ansible-core 2.19 rejects it)."""
    text = str(value).strip()
    parts = text.split()
    extra = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    return (parts[0] if parts else text), extra


def _task_id(tf: TaskFile, module: str, name: str | None, counter: dict) -> str:
    """An id that survives line shifts and edits of other tasks."""
    base = (tf.key, module, name or "")
    counter[base] = counter.get(base, 0) + 1
    digest = hashlib.sha1("\0".join(base + (str(counter[base]),)).encode()).hexdigest()
    return digest[:12]


def load_nodes(data: list, tf: TaskFile, project: Project, role: Role | None, counter: dict) -> list[Node]:
    nodes: list[Node] = []
    lines = getattr(data, "item_lines", None) or [0] * len(data)
    for item, line in zip(data, lines):
        node = load_node(item, tf, project, role, counter, line)
        if node is not None:
            nodes.append(node)
    return nodes


def load_node(item: Any, tf: TaskFile, project: Project, role: Role | None, counter: dict,
              line: int = 0) -> Node | None:
    line = getattr(item, "line", 0) or line or _parent_line(tf)
    source = Source(tf.display, line)
    if not isinstance(item, dict):
        project.error(source, f"a task must be a mapping, not {yamlio.kind(item)}: {_short(item)}")
        return None
    dup_findings = [Finding(key, Severity.WARNING, f"duplicate key {key!r} at line {dup_line}; Ansible keeps the last one")
                    for key, dup_line in getattr(item, "duplicates", [])]
    if "block" in item:
        def section(name: str) -> list[Node]:
            value = item.get(name) or []
            if not isinstance(value, list):
                project.error(source, f"block {name} must be a list")
                return []
            return load_nodes(value, tf, project, role, counter)

        unknown = [k for k in item if k not in BLOCK_KEYWORDS]
        if unknown:
            project.error(source, f"unknown block keyword(s): {', '.join(map(str, unknown))}")
        keywords = {k: v for k, v in item.items() if k in BLOCK_KEYWORDS and k not in ("block", "rescue", "always", "name")}
        return Block(source, keywords, section("block"), section("rescue"), section("always"),
                     name=str(item["name"]) if item.get("name") else None)
    return load_task(item, source, tf, project, role, counter, dup_findings)


def _parent_line(tf: TaskFile) -> int:
    return 1


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# loop_control keys the TASK runtime carries out (migrator/runtime/core.py LOOP_CONTROL_KEYS)
_LOOP_CONTROL_KEYS = frozenset(("loop_var", "index_var", "label", "extended", "extended_allitems", "pause"))


def load_task(item: dict, source: Source, tf: TaskFile, project: Project, role: Role | None,
              counter: dict, findings: list[Finding]) -> Task | None:
    try:
        action, args, delegate_to = taskargs.parse(dict(item))
    except taskargs.ActionError as exc:
        project.error(source, _first_line(str(exc)))
        return None
    except Exception as exc:  # ModuleArgsParser on garbage: never a traceback
        project.error(source, f"cannot parse task: {_first_line(str(exc))}")
        return None
    findings = list(findings)
    custom = project.custom_modules() | (role.library if role else frozenset())
    module, warning = modules.resolve(action, custom)
    if warning:
        findings.append(Finding("module", Severity.WARNING, warning))
    id_module = module  # the task's id stays that of the role-local module it names
    if role is not None and module in role.library and module in modules.ROLE_LOCAL_PORTS:
        library_file = role.path / "library" / f"{module}.py"
        port, why = modules.role_local_port(module, library_file, project.display(library_file))
        if port is not None:
            module = port
        findings.append(Finding("module", Severity.INFO if port else Severity.WARNING, why))
    args = dict(args or {})
    if any(isinstance(v, yamlio.UnsafeStr) for k, v in item.items()
           if k not in TASK_KEYWORDS or k in ("action", "local_action")):
        # a !unsafe free-form string: its pieces stay unsafe, as in Ansible
        args = {k: yamlio.UnsafeStr(v) if isinstance(v, str) else v for k, v in args.items()}
    for key in sorted(_MISPLACED & set(args)):
        if key in ("when", "tags") and module.endswith(".assert"):
            continue
        findings.append(Finding(key, Severity.WARNING,
                                f"task keyword {key!r} is inside the module arguments (mis-indented); "
                                "Ansible passes it to the module, which rejects it"))
    keywords = {k: v for k, v in item.items() if (k in TASK_KEYWORDS or k.startswith("with_"))
                and k not in ("action", "local_action", "args", "name")}
    loop_control = keywords.get("loop_control")
    if loop_control is not None and not isinstance(loop_control, dict):
        # Ansible refuses the play when it loads it; here the task loses the keyword
        project.error(source, f"loop_control must be a mapping, not {yamlio.kind(loop_control)}")
        del keywords["loop_control"]
    elif loop_control:
        unknown = sorted(set(map(str, loop_control)) - _LOOP_CONTROL_KEYS)
        if unknown:  # Ansible refuses the play; break_when the node runtime does not have
            project.error(source, f"loop_control key(s) not carried: {', '.join(unknown)}")
            keywords["loop_control"] = {k: v for k, v in loop_control.items() if k in _LOOP_CONTROL_KEYS}
    if "local_action" in item:
        keywords["delegate_to"] = "localhost"
    elif delegate_to is not None and isinstance(delegate_to, str):
        keywords["delegate_to"] = delegate_to
    name = item.get("name")
    task = Task(
        source=source,
        name=str(name) if name is not None else None,
        action=action,
        module=module,
        args=args,
        keywords=keywords,
        role=role.name if role else None,
        findings=findings,
    )
    task.id = _task_id(tf, id_module, task.name, counter)
    return task


_WS = re.compile(r"\s+")


def _first_line(message: str) -> str:
    return _WS.sub(" ", message.strip().splitlines()[0] if message.strip() else "error")
