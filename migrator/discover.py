"""Find what to convert under the paths given on the command line.

A PATH is a roles directory (each child a role), one role, a playbook, a
directory of playbooks, or a tree holding roles/ and playbooks/ side by side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import yamlio
from .model import realpath

YAML_SUFFIXES = (".yml", ".yaml")
IMPORT_PLAYBOOK_KEYS = ("import_playbook", "ansible.builtin.import_playbook", "ansible.legacy.import_playbook")

# Directories that hold test scaffolding, not content to convert.
SKIPPED_DIRS = frozenset({"molecule", "tests", ".git", "__pycache__", "group_vars", "host_vars"})


@dataclass
class Inputs:
    roles: list[Path] = field(default_factory=list)
    roles_dirs: list[Path] = field(default_factory=list)  # for role lookup
    playbooks: list[tuple[Path, Path]] = field(default_factory=list)  # (file, base dir for its key)
    tht: list[tuple[Path, Path]] = field(default_factory=list)  # THT Heat templates (file, base dir for its key)
    problems: list[tuple[Path, str]] = field(default_factory=list)


def discover(paths: list[Path]) -> Inputs:
    found = Inputs()
    for path in paths:
        _discover(path, found, explicit=True)
    # Stable order, no duplicates, whatever order the paths came in.
    found.roles = sorted(dict.fromkeys(realpath(p) for p in found.roles))
    found.roles_dirs = list(dict.fromkeys(realpath(p) for p in found.roles_dirs))
    found.playbooks = sorted(dict.fromkeys((realpath(f), realpath(b)) for f, b in found.playbooks))
    found.tht = sorted(dict.fromkeys((realpath(f), realpath(b)) for f, b in found.tht))
    return found


def _discover(path: Path, found: Inputs, explicit: bool) -> None:
    if not path.exists():
        found.problems.append((path, "no such file or directory"))
    elif path.is_file():
        if explicit and is_template_file(path):
            found.tht.append((path, path.parent))
        elif _is_playbook_file(path) or explicit:
            found.playbooks.append((path, path.parent))
    elif is_role_dir(path) and not _holds_playbooks(path):
        found.roles.append(path)
        found.roles_dirs.append(path.parent)
    elif path.is_dir():
        children = sorted(p for p in path.iterdir() if p.name not in SKIPPED_DIRS and not p.name.startswith("."))
        role_children = [c for c in children if is_role_dir(c)]
        if role_children:
            found.roles.extend(role_children)
            found.roles_dirs.append(path)
        for child in children:
            if child.is_file() and child.suffix in YAML_SUFFIXES and _is_playbook_file(child):
                found.playbooks.append((child, path))
            elif child.is_dir() and child not in role_children and child.name in ("roles", "playbooks"):
                _discover(child, found, explicit=False)
        if explicit and not role_children and not any(b == path for _, b in found.playbooks) \
                and not any(c.name in ("roles", "playbooks") for c in children):
            # a THT tree (deployment/ or a part of it): its Heat templates, at any depth
            templates = find_templates(path)
            found.tht.extend((t, path.parent) for t in templates)
            if not templates:
                found.problems.append((path, "no role, playbook or Heat template found here"))


def _holds_playbooks(path: Path) -> bool:
    """A playbook directory may have tasks/ beside its playbooks: not a role."""
    return any(child.is_file() and _is_playbook_file(child) for child in path.iterdir())


def _is_playbook_file(path: Path) -> bool:
    if path.suffix not in YAML_SUFFIXES:
        return False
    try:
        return looks_like_playbook(yamlio.load_file(path))
    except yamlio.YamlError:
        # A broken file in a playbook directory is still reported: the
        # loader will say what is wrong with it, at file:line.
        return path.parent.name != "tasks"


def is_role_dir(path: Path) -> bool:
    return path.is_dir() and any((path / d).is_dir() for d in ("tasks", "handlers", "meta"))


def looks_like_playbook(data: Any) -> bool:
    """A list of plays: each has hosts or imports a playbook."""
    if not isinstance(data, list) or not data:
        return False
    return all(isinstance(item, dict) and ("hosts" in item or any(k in item for k in IMPORT_PLAYBOOK_KEYS))
               for item in data)


# -- tripleo-heat-templates: which files are Heat templates, and what rendering a
# *.j2.yaml reads besides it (found here, without tht.py and its Jinja, so that a
# re-run whose inputs are unchanged never imports them)

HEADER_MARK = re.compile(r"^heat_template_version\s*:", re.M)
# process-templates.py's defaults (-r, -n), relative to the THT root.
ROLES_DATA = "roles_data.yaml"
NETWORK_DATA = "network-data-samples/default-network-isolation.yaml"


def is_template_file(path: Path) -> bool:
    """A Heat template: a YAML file with heat_template_version at the top level."""
    if not path.is_file() or not path.name.endswith((".yaml", ".yml")):
        return False
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            text = handle.read(1 << 16)
    except OSError:
        return False
    return bool(HEADER_MARK.search(text))


def find_templates(directory: Path) -> list[Path]:
    """Heat templates below directory, sorted; hidden directories skipped."""
    found = []
    for path in sorted(directory.rglob("*.y*ml")):
        if any(part.startswith(".") for part in path.relative_to(directory).parts):
            continue
        if is_template_file(path):
            found.append(path)
    return found


def tht_root(path: Path) -> Path | None:
    for parent in realpath(path).parents:
        if (parent / ROLES_DATA).is_file():
            return parent
    return None


def render_inputs(templates: list[Path]) -> list[Path]:
    """The files rendering these templates reads besides them (roles and network data)."""
    found: dict[Path, None] = {}
    for path in templates:
        root = tht_root(path) if path.name.endswith(".j2.yaml") else None
        if root is not None:
            found.update({root / ROLES_DATA: None, root / NETWORK_DATA: None})
    return [p for p in found if p.is_file()]
