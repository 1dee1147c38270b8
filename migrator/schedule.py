"""Which process converts which unit: keep a role and the playbooks that run it together.

Each process keeps its own caches (loaded YAML, Jinja analyses, staged files), so a
role whose playbooks are split between the two processes is loaded and analysed
twice. The plan below gives each process a queue of units whose roles overlap as
little as possible with the other's, balanced by an estimate of their cost; a
process whose queue runs dry takes the next (largest) unit of the other's, so both
end on small units and a wrong estimate costs balance only a little (pipeline._Units).
The plan only moves work between
processes: results are merged in unit order, so output does not depend on it.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import yamlio
from .discover import IMPORT_PLAYBOOK_KEYS

_ROLE_ACTIONS = frozenset(f"{prefix}{verb}_role" for prefix in ("", "ansible.builtin.", "ansible.legacy.")
                          for verb in ("import", "include"))


def plan(units: list[tuple[str, Path, Path | None]], sides: int = 2) -> list[list[int]]:
    """Unit indices per process, each queue largest first.

    A unit costs its translation (its size, and that of every role it runs:
    a playbook's roles are converted inline) plus the loading of the roles its
    process has not loaded yet; each unit, largest first, goes where the total
    stays least.
    """
    role_size = {path.name: _tree_size(path) for kind, path, _ in units if kind == "role"}
    loads = [0] * sides
    placed: dict[str, set[int]] = {}
    queues: list[list[tuple[int, int]]] = [[] for _ in range(sides)]  # (estimate, index)

    sized = []
    for index, (kind, path, _) in enumerate(units):
        if kind != "role":
            size, named = _playbook_closure(path)
            roles = sorted(r for r in named if r in role_size)
            sized.append((size + sum(role_size[r] for r in roles), index, roles))
    for estimate, index, roles in sorted(sized, reverse=True):
        cost = [loads[s] + estimate + sum(role_size[r] for r in roles if s not in placed.get(r, ()))
                for s in range(sides)]
        side = min(range(sides), key=lambda s: (cost[s], s))
        loads[side] = cost[side]
        for role in roles:
            placed.setdefault(role, set()).add(side)
        queues[side].append((estimate, index))
    roles_units = sorted(((role_size[path.name], index, path.name) for index, (kind, path, _) in enumerate(units)
                          if kind == "role"), reverse=True)
    for size, index, name in roles_units:
        where = placed.get(name) or range(sides)
        side = min(where, key=lambda s: (loads[s], s))
        loads[side] += size if side in placed.get(name, ()) else 2 * size
        queues[side].append((size, index))
    return [[index for _, index in sorted(queue, key=lambda q: (-q[0], q[1]))] for queue in queues]


def _playbook_closure(playbook: Path) -> tuple[int, set[str]]:
    """Bytes and role names of a playbook and of those it imports (import_playbook with
    a literal name): converting it converts them all."""
    size, names = 0, set()
    todo, seen = [playbook], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        size += _size(path)
        try:
            data = yamlio.load_file(path)
        except yamlio.YamlError:
            continue
        names |= _roles_named(data)
        for item in data if isinstance(data, list) else []:
            for key in IMPORT_PLAYBOOK_KEYS if isinstance(item, dict) else ():
                target = item.get(key)
                if isinstance(target, str) and "{" not in target:
                    todo.append(path.parent / target)
    return size, names


def _roles_named(data) -> set[str]:
    """Role names a playbook's YAML runs (roles:, import_role, include_role)."""
    names: set[str] = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if key == "roles" and isinstance(value, list):
                    for role in value:
                        name = role.get("role", role.get("name")) if isinstance(role, dict) else role
                        if isinstance(name, str):
                            names.add(name.rsplit(".", 1)[-1].rsplit("/", 1)[-1])
                elif key in _ROLE_ACTIONS and isinstance(value, dict) and isinstance(value.get("name"), str):
                    names.add(value["name"].rsplit(".", 1)[-1].rsplit("/", 1)[-1])
                elif isinstance(value, (list, dict)):
                    stack.append(value)
    return names


def _tree_size(role: Path) -> int:
    """Bytes of a role's task and handler files: what converting it costs, roughly."""
    total = 1
    for sub in ("tasks", "handlers"):
        try:
            with os.scandir(role / sub) as entries:
                total += sum(e.stat().st_size for e in entries if e.name.endswith((".yml", ".yaml")))
        except OSError:
            pass
    return total


def _size(path: Path) -> int:
    try:
        return path.stat().st_size or 1
    except OSError:
        return 1
