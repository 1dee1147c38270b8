"""Which process converts which unit: keep a role and the playbooks that run it together.

Each process keeps its own caches (loaded YAML, Jinja analyses, staged files), so a
role whose playbooks are split between the two processes is loaded and analysed
twice. The plan below gives each process a queue of units whose roles overlap as
little as possible with the other's, balanced by an estimate of their size; a
process whose queue runs dry takes the smallest units from the end of the other's,
so a wrong estimate costs balance only a little. The plan only moves work between
processes: results are merged in unit order, so output does not depend on it.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import yamlio

_ROLE_ACTIONS = frozenset(f"{prefix}{verb}_role" for prefix in ("", "ansible.builtin.", "ansible.legacy.")
                          for verb in ("import", "include"))


def plan(units: list[tuple[str, Path, Path | None]], sides: int = 2) -> list[list[int]]:
    """Unit indices per process, each queue largest first."""
    role_size = {path.name: _tree_size(path) for kind, path, _ in units if kind == "role"}
    loads = [0] * sides
    placed: dict[str, set[int]] = {}
    queues: list[list[tuple[int, int]]] = [[] for _ in range(sides)]  # (estimate, index)

    playbooks = [(i, path) for i, (kind, path, _) in enumerate(units) if kind != "role"]
    sized = []
    for index, path in playbooks:
        roles = sorted(r for r in _roles_named(path) if r in role_size)
        sized.append((_size(path) + sum(role_size[r] for r in roles), index, roles))
    for estimate, index, roles in sorted(sized, reverse=True):
        # the side that would load the least it has not loaded yet
        cost = [loads[s] + sum(role_size[r] for r in roles if s not in placed.get(r, ())) for s in range(sides)]
        side = min(range(sides), key=lambda s: (cost[s], s))
        loads[side] = cost[side]
        for role in roles:
            placed.setdefault(role, set()).add(side)
        queues[side].append((estimate, index))
    for index, (kind, path, _) in enumerate(units):
        if kind != "role":
            continue
        where = placed.get(path.name) or range(sides)
        side = min(where, key=lambda s: (loads[s], s))
        if side not in placed.get(path.name, ()):
            loads[side] += role_size[path.name]
        queues[side].append((role_size[path.name], index))
    return [[index for _, index in sorted(queue, key=lambda q: (-q[0], q[1]))] for queue in queues]


def _roles_named(playbook: Path) -> set[str]:
    """Role names a playbook runs (roles:, import_role, include_role), read from its YAML."""
    try:
        data = yamlio.load_file(playbook)
    except yamlio.YamlError:
        return set()
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
