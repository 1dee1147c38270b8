"""Controller-side files that a task names with a template, shipped so the node can choose.

Ansible finds `include_vars: "{{ item }}"` with `with_first_found`, and a templated
copy/template `src` such as `templates/{{ item }}.j2`, on its controller, by
ansible-core's search path (DataLoader.path_dwim_relative_stack over the task's
ansible_search_path: the role, the task file's directory, the playbook's directory;
each first with the action's subdirectory, vars/, templates/ or files/). A converted
job runs on the node, which has none of those files. So the converter ships every file
in those directories that the name could render to (a template part standing for any
text without a '/') and the task's `search` key tells the runtime where each shipped
file sits on the node and in which order Ansible would look (filters.search_shipped).

A rendered name that no shipped pattern foresaw (an absolute controller path, a '..')
fails the task loudly on the node; it is never taken for "not found".

A name that may name any file on the controller (`{{ x }}`, `{{ playbook_dir }}/a`,
`/etc/{{ x }}`: anywhere()) is resolved at run time instead, when the caller asks for it
(ship(..., at_run_time=True)): the controller of a Directord run is the Directord server,
so an absolute path the name renders to is read from the server by the TASK component
(search `server`); for a relative one, the search path's <subdir>/ directories are shipped
whole (search `trees`), and the node follows ansible-core's order among them, failing on
a place the converter did not ship (filters.search_shipped).
"""

from __future__ import annotations

import copy
import dataclasses
import glob
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .jobs import NODE_STAGE_DIR, source_token
from .model import Job, realpath

if TYPE_CHECKING:  # pragma: no cover
    from .translate import Converter, Scope

_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_ROLE_PATH = re.compile(r"^\{\{\s*role_path\s*\}\}")
_GATED = False  # see search_dirs


@dataclass
class Shipment:
    search: dict[str, Any]  # the task's `search` key
    jobs: list[Job] = field(default_factory=list)  # stage the files on the node, before the task
    names: list[str] = field(default_factory=list)  # the names, `{{ role_path }}` made the node's
    warning: str | None = None  # a run-time resolution: what the report says about it


def name_pattern(text: str) -> tuple[str, str]:
    """(glob, regex) for every name `text` can render to; a template part is any text without '/'."""
    globbed, regex, last = [], [], 0
    for match in _EXPRESSION.finditer(text):
        literal = text[last:match.start()]
        globbed += [glob.escape(literal), "*"]
        regex += [re.escape(literal), "[^/]*"]
        last = match.end()
    globbed.append(glob.escape(text[last:]))
    regex.append(re.escape(text[last:]))
    return "".join(globbed), "".join(regex)


def unknowable(name: str) -> str | None:
    """Why the files a templated name may render to cannot be known, or None.

    A name whose first path component is one template (`{{ x }}`, `{{ playbook_dir }}/a`)
    may name any path on the controller; `{{ x }}-{{ y }}.yml`, `templates/{{ item }}.j2`
    and `{{ role_path }}/files/{{ item }}` stay inside the search path's directories.
    """
    parts = name.split("/")
    if ".." in parts:
        return f"{name!r} climbs out of its directory with '..'"
    if _ROLE_PATH.match(name):
        return None if _ROLE_PATH.sub("", name, count=1).startswith("/") else f"{name!r} is not under role_path"
    if name.startswith(("/", "~")):
        return f"{name!r} is an absolute path on Ansible's controller"
    if _EXPRESSION.fullmatch(parts[0].strip()):
        return f"{name!r} starts with a template ({parts[0].strip()}) that may name any path on Ansible's controller"
    return None


def anywhere(name: str) -> bool:
    """A templated name that may render to any path on the controller: an absolute one, or one
    whose first component is a single template (never one with '..', never role_path's)."""
    parts = name.split("/")
    if ".." in parts or _ROLE_PATH.match(name):
        return False
    return name.startswith(("/", "~")) or bool(_EXPRESSION.fullmatch(parts[0].strip()))


def search_dirs(scope: "Scope", subdir: str) -> list[tuple[Path, bool]]:
    """ansible-core's path_dwim_relative_stack order for a role or playbook task:
    [(directory, gated)], a gated one skipped when the name already starts with subdir/.

    ansible-core 2.19 means to skip `<path>/<subdir>` for a name that starts with subdir/,
    but compares the name's bytes with the subdir's str, so it never skips: neither do we
    (`templates/{{ item }}.j2` is looked for in templates/templates/ first, as there)."""
    paths: list[Path] = []
    if scope.role is not None:
        paths.append(scope.role.path)
    task_dir = scope.file.parent if scope.file is not None else scope.base_dir
    if task_dir not in paths:
        paths.append(task_dir)
    entries: list[tuple[Path, bool]] = []
    for path in paths:
        if scope.role is not None and path.parent.name == "tasks":
            entries += [(path.parent.parent / subdir, False), (path.parent, False)]
        entries += [(path / subdir, _GATED), (path, False)]
    basedir = scope.play_dir if scope.play_dir is not None else (None if scope.role else scope.base_dir)
    if basedir is not None:
        entries += [(basedir / subdir, _GATED), (basedir, False)]
    return list(dict.fromkeys(entries))


def ship(converter: "Converter", scope: "Scope", names: list[str], subdir: str,
         dirs_too: bool = False, usable=None, at_run_time: bool = False) -> Shipment | str:
    """Ship what `names` (templates) can name in the task's search path; a reason when not.

    at_run_time: one name that may name any controller path (anywhere()) is resolved on the
    node (_run_time_shipment) instead of being refused.

    usable(path) -> bool picks the files worth shipping (include_vars: variables files); the
    others are listed in `unusable`: a task whose name picks one fails on the node, as it
    fails in Ansible, instead of shipping every task file and playbook the name could match.

    Worked out once per run for each name and search path (every playbook that runs a role
    ships its files again), then staged into the unit being converted.
    """
    key = (tuple(names), subdir, dirs_too, usable, at_run_time, scope.role.path if scope.role else None,
           scope.role.name if scope.role else None, scope.file, scope.base_dir, scope.play_dir)
    found = converter.shipments.get(key)
    if found is None:
        if at_run_time and len(names) == 1 and anywhere(names[0]):
            found = _run_time_shipment(converter, scope, names[0], subdir, dirs_too, usable)
        else:
            found = _shipment(converter, scope, names, subdir, dirs_too, usable)
        converter.shipments[key] = found
    shipment, files = found
    if isinstance(shipment, str):
        return shipment
    for out_rel, real in files:
        converter.out.staged.setdefault(out_rel, real)
    return Shipment(copy.deepcopy(shipment.search), [dataclasses.replace(job) for job in shipment.jobs],
                    list(shipment.names), shipment.warning)


def _shipment(converter: "Converter", scope: "Scope", names: list[str], subdir: str,
              dirs_too: bool, usable) -> tuple[Shipment | str, list[tuple[str, Path]]]:
    """ship()'s work: the Shipment (or the reason) and the files to stage, (OUT-relative, controller)."""
    for name in names:
        problem = unknowable(name)
        if problem:
            return problem, []
    entries = [(d, gated, _out_rel(converter, scope, d)) for d, gated in search_dirs(scope, subdir)]
    files: dict[str, Path] = {}  # OUT-relative -> controller file
    shipped: set[str] = set()  # node paths, directories of a copy src too
    unusable: set[str] = set()
    patterns: list[str] = []
    rewritten: list[str] = []
    for name in names:
        if _ROLE_PATH.match(name) and scope.role is not None:
            rest = _ROLE_PATH.sub("", name, count=1)
            role_rel = _out_rel(converter, scope, scope.role.path)
            glob_rest, regex_rest = name_pattern(rest)
            node_role = _node(role_rel)
            patterns.append(re.escape(node_role) + regex_rest)
            rewritten.append(node_role + rest)
            roots = [(scope.role.path, role_rel, glob.escape(str(scope.role.path)) + glob_rest)]
        elif _ROLE_PATH.match(name):
            return f"{name!r} uses role_path outside a role", []
        else:
            globbed, regex = name_pattern(name)
            patterns.append(regex)
            rewritten.append(name)
            roots = [(d, rel, glob.escape(str(d)) + "/" + globbed) for d, _, rel in entries if rel is not None]
        for directory, rel, pattern in roots:
            for below, real, kind in _matches(converter, pattern, str(directory)):
                if not converter.inside_input(real):
                    continue
                out_rel = os.path.normpath(f"{rel}/{below}")
                if kind == "file" and usable is not None and not usable(real):
                    unusable.add(_node(out_rel))
                    shipped.add(_node(out_rel))
                elif kind == "file":
                    files[out_rel] = real
                    shipped.add(_node(out_rel))
                elif kind == "dir" and dirs_too:
                    tree = _tree(converter, real, out_rel)
                    if tree is None:
                        continue
                    files.update(tree)
                    shipped.add(_node(out_rel))
    jobs = _jobs(files)
    if isinstance(jobs, str):
        return jobs, []
    search = {"subdir": subdir,
              "dirs": [[_node(rel), gated] for _, gated, rel in entries if rel is not None],
              "files": sorted(shipped), "patterns": patterns}
    if unusable:
        search["unusable"] = sorted(unusable)
    return Shipment(search, jobs, rewritten), sorted(files.items())


def _run_time_shipment(converter: "Converter", scope: "Scope", name: str, subdir: str, dirs_too: bool,
                       usable) -> tuple[Shipment | str, list[tuple[str, Path]]]:
    """ship() for a name that may name any controller file: the TASK component reads an
    absolute path it renders to from the Directord server (`server`); a relative one is
    looked for in ansible-core's order, among the search path's <subdir>/ directories,
    shipped whole (`trees`: a path below one that is not shipped is known to be absent),
    and fails where Ansible would look in a place not shipped (the role's own directory...)."""
    entries = [(d, gated, _out_rel(converter, scope, d)) for d, gated in search_dirs(scope, subdir)]
    outside = [str(d) for d, _, rel in entries if rel is None]
    if outside:
        return f"{name!r} would be searched in {', '.join(outside)}, outside the input tree", []
    files: dict[str, Path] = {}
    shipped: set[str] = set()
    unusable: set[str] = set()
    trees = [rel for d, _, rel in entries if d.name == subdir]
    for directory, rel in [(d, rel) for d, _, rel in entries if d.name == subdir]:
        real_dir = realpath(directory)
        if not real_dir.is_dir():
            continue  # a tree with nothing in it: every name below it is absent
        for dirpath, dirnames, filenames in os.walk(real_dir, followlinks=True):
            dirnames.sort()
            below = os.path.relpath(dirpath, real_dir)
            if dirs_too:
                shipped.add(_node(os.path.normpath(f"{rel}/{below}")))
            for file_name in sorted(filenames):
                real = realpath(Path(dirpath) / file_name)
                out_rel = os.path.normpath(f"{rel}/{below}/{file_name}")
                if not converter.inside_input(real):
                    return f"{directory} holds {out_rel!r}, which lies outside the input tree", []
                if not real.is_file():
                    continue
                if usable is not None and not usable(real):
                    unusable.add(_node(out_rel))
                else:
                    files[out_rel] = real
                shipped.add(_node(out_rel))
    jobs = _jobs(files)
    if isinstance(jobs, str):
        return jobs, []
    search = {"subdir": subdir, "dirs": [[_node(rel), gated] for _, gated, rel in entries],
              "files": sorted(shipped), "patterns": [], "trees": sorted({_node(rel) for rel in trees}),
              "server": True}
    if unusable:
        search["unusable"] = sorted(unusable)
    warning = (f"{name!r} may name any file on Ansible's controller, which is the Directord server here: "
               f"an absolute path it renders to is read from the Directord server at run time (it must exist "
               f"there, readable by the server); a relative one is looked for among the search path's "
               f"{subdir}/ files, shipped with the task, and fails the task when Ansible would look for it "
               f"anywhere else")
    if "playbook_dir" in name:
        warning += ("; playbook_dir is the playbook's directory at conversion" if scope.play_dir is not None
                    else "; playbook_dir is undefined where no playbook runs the role unless a variable sets it")
    return Shipment(search, jobs, [name], warning), sorted(files.items())


def _jobs(files: dict[str, Path]) -> list[Job] | str:
    """WORKDIR and COPY jobs that stage files (OUT-relative -> controller) on the node."""
    jobs: list[Job] = []
    made: set[str] = set()
    for out_rel, real in sorted(files.items()):
        token = source_token(out_rel)
        if token is None:
            return f"the shipped file {out_rel!r} cannot be carried by COPY"
        target = _node(out_rel)
        parent = target.rsplit("/", 1)[0]
        if parent not in made:  # COPY does not create directories
            jobs.append(Job("WORKDIR", parent))
            made.add(parent)
        jobs.append(Job("COPY", f"--skip-cache --chmod {_mode(real)} {token} {target}"))
    return jobs


def _matches(converter: "Converter", pattern: str, directory: str) -> tuple[tuple[str, Path, str | None], ...]:
    """(path below directory, real path, "file"/"dir"/None) per glob match, sorted.

    Cached for the run (on the converter): every playbook that runs a role ships the same
    candidates again, and a playbook directory alone holds dozens of files `*.yml` matches."""
    cache = converter.ship_matches  # a directory's matches serve several names and search paths
    if (pattern, directory) in cache:
        return cache[pattern, directory]
    found = []
    for match in sorted(glob.glob(pattern, include_hidden=True)):
        logical = os.path.normpath(match)
        real = realpath(Path(logical))
        kind = "file" if real.is_file() else "dir" if real.is_dir() else None
        found.append((os.path.relpath(logical, directory), real, kind))
    cache[pattern, directory] = tuple(found)
    return cache[pattern, directory]


def _tree(converter: "Converter", real: Path, out_rel: str) -> dict[str, Path] | None:
    found = {}
    for dirpath, dirnames, filenames in os.walk(real, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            path = realpath(Path(dirpath) / name)
            if not converter.inside_input(path):
                return None
            if path.is_file():
                found[os.path.normpath(f"{out_rel}/{Path(dirpath, name).relative_to(real)}")] = path
    return found


def _out_rel(converter: "Converter", scope: "Scope", directory: Path) -> str | None:
    """Where a controller directory goes in OUT (as Converter.stage places files), or None outside the input."""
    directory = Path(os.path.normpath(directory))
    if not converter.inside_input(realpath(directory)):
        return None
    if scope.role is not None and directory.is_relative_to(scope.role.path):
        return os.path.normpath(f"roles/{scope.role.name}/{directory.relative_to(scope.role.path)}")
    for root in converter.input_roots:
        if directory.is_relative_to(root):
            return os.path.normpath(f"playbooks/{directory.relative_to(root)}")
    return None if converter.input_roots else os.path.normpath(f"playbooks/{directory.name}")


def _node(out_rel: str) -> str:
    return os.path.normpath(f"{NODE_STAGE_DIR}/{out_rel}")


def _mode(path: Path) -> str:
    return f"0{stat.S_IMODE(os.stat(path).st_mode):o}"
