"""Read an Ansible inventory statically and resolve play host patterns against it.

`convert --inventory FILE` takes an INI or YAML inventory (TripleO's
tripleo-ansible-inventory.yaml included). It is read with ansible-core's own
`ini` and `yaml` inventory plugins, called directly: they only parse (values
stay the strings written, nothing is templated, no lookup or script runs). The
plugin loader, `auto`, `script` and the constructed plugins are never used.

Patterns are resolved by ansible-core's InventoryManager on that data, so
`all`, `a:b`, `a,b`, `a:&b`, `a:!b`, globs, `~regex` and `group[0]`/`[1:]`
subscripts mean exactly what they mean to ansible-playbook. Inventory host
names are Directord node identities.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCALHOST = frozenset({"localhost", "127.0.0.1", "::1"})
# `{{ name }}` or `{{ name | default('literal') }}`: the one templated form a play's
# hosts is resolved from (-e name=..., else the literal); anything else is not evaluated.
_SIMPLE_TEMPLATE = re.compile(
    r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*default\(\s*(?:'([^']*)'|\"([^\"]*)\"|(\[\]))\s*\)\s*)?\}\}")
# task-core's schemas (share/task-core/schema/inventory.yaml, roles.yaml)
TASKCORE_HOST = re.compile(r"^[a-z0-9\-.]+$")
_ROLE_BAD = re.compile(r"[^A-Za-z0-9_\-. ]")


class InventoryError(Exception):
    """The inventory cannot be read; str() is `file:line: message`."""

    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


@dataclass
class Resolution:
    """What a play's `hosts:` became."""

    targets: list[str] | None  # None: not resolved (every node)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (severity, message)


class Inventory:
    """A parsed inventory: hosts in file order, their groups and a task-core role each."""

    def __init__(self, path: Path, display: str | None = None):
        self.path = path
        self.display = display or str(path)
        self._manager = _load(path, self.display)
        data = self._manager._inventory  # InventoryData, filled by the plugin
        self.hosts: list[str] = [str(name) for name in data.hosts]  # plain str, not ansible's tagged ones
        self._data = data

    # -- patterns -------------------------------------------------------

    def resolve(self, pattern: Any, extra_vars: dict[str, Any] | None = None) -> Resolution:
        """Inventory host names a play's `hosts:` selects, in Ansible's order."""
        notes: list[tuple[str, str]] = []
        if isinstance(pattern, list):
            if not all(isinstance(p, str) for p in pattern):
                return Resolution(None, [("warning", f"hosts {pattern!r} is not a list of patterns; "
                                                      "the play runs on every node")])
            pattern = ",".join(pattern)
        if pattern is None or not isinstance(pattern, str) or not pattern.strip():
            return Resolution(None, [("warning", "the play names no hosts; it runs on every node")])
        text = pattern
        if "{{" in text or "{%" in text:
            substituted = _substitute(text, extra_vars or {})
            if substituted is None:
                return Resolution(None, [("warning", f"hosts {pattern!r} is templated and cannot be resolved "
                                                      "at conversion; the play runs on every node")])
            notes.append(("info", f"hosts {pattern!r} read as {substituted!r}"))
            text = substituted
        if not text.strip():
            return Resolution([], notes + [("warning", f"hosts {pattern!r} selects no host; the play does not run")])
        from ansible import constants

        constants.HOST_PATTERN_MISMATCH = "ignore"  # a pattern that matches nothing is reported below
        try:
            hosts = self._manager.get_hosts(text)
        except Exception as exc:  # AnsibleError on a bad pattern
            return Resolution(None, notes + [("warning", f"hosts {text!r}: {_first_line(str(exc))}; "
                                                         "the play runs on every node")])
        names: list[str] = []
        implicit = [str(h.name) for h in hosts if getattr(h, "implicit", False)]
        for host in hosts:
            if not getattr(host, "implicit", False) and str(host.name) not in names:
                names.append(str(host.name))
        if implicit:
            local = [h for h in self.hosts if self._host_vars(h).get("ansible_connection") == "local"]
            if local:
                notes.append(("info", f"{', '.join(implicit)} (Ansible's controller) is the inventory's "
                                      f"ansible_connection=local host {', '.join(local)}"))
                names.extend(h for h in local if h not in names)
            else:
                notes.append(("warning", f"{', '.join(implicit)} is Ansible's controller, not an inventory host; "
                                         "it has no Directord node and is left out"))
        if not names:
            notes.append(("warning", f"hosts {pattern!r} matches no inventory host; the play does not run"))
        return Resolution(names, notes)

    def has_host(self, name: str) -> bool:
        return name in self._data.hosts

    # -- roles ------------------------------------------------------------

    def role_of(self, host: str) -> str:
        """The task-core role of a host: TripleO's tripleo_role_name, else the
        first group that lists the host itself (file order), else Ungrouped."""
        name = self._host_vars(host).get("tripleo_role_name")
        if not (isinstance(name, str) and name.strip() and "{" not in name):
            name = next((str(g) for g, group in self._data.groups.items()
                         if g not in ("all", "ungrouped") and any(h.name == host for h in group.hosts)),
                        "Ungrouped")
        return taskcore_role_name(str(name)[:])

    def _host_vars(self, host: str) -> dict[str, Any]:
        from ansible.inventory.helpers import get_group_vars

        item = self._data.hosts[host]
        merged = dict(get_group_vars(item.get_groups()))
        merged.update(item.get_vars())
        return merged


def taskcore_role_name(name: str) -> str:
    """A name task-core's roles schema accepts (alphanumeric first, two characters or more)."""
    cleaned = _ROLE_BAD.sub("_", name.strip()) or "Role"
    if not cleaned[0].isalnum():
        cleaned = "R" + cleaned
    return cleaned if len(cleaned) > 1 else cleaned + "_"


def _substitute(text: str, extra_vars: dict[str, Any]) -> str | None:
    """Replace the simple `{{ var | default('x') }}` forms; None when another form is left."""
    def one(match: re.Match) -> str:
        name = match.group(1)
        if name in extra_vars:
            value = extra_vars[name]
            return ",".join(map(str, value)) if isinstance(value, list) else str(value)
        if match.group(4) is not None:  # default([]): nothing
            return ""
        default = match.group(2) if match.group(2) is not None else match.group(3)
        if default is None:
            raise KeyError(name)
        return default

    try:
        result = _SIMPLE_TEMPLATE.sub(one, text)
    except KeyError:
        return None
    if "{{" in result or "{%" in result:
        return None
    # `{{ a | default([]) }}:b` leaves an empty term: drop it
    return re.sub(r"^[:,]+|[:,]+$", "", re.sub(r"([:,])[:,]+", r"\1", result.strip()))


def _first_line(text: str) -> str:
    return " ".join(text.strip().splitlines()[0].split()) if text.strip() else "error"


def _load(path: Path, display: str):
    if not path.is_file():
        raise InventoryError(display, 1, "no such inventory file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(display, 1, f"cannot read the inventory: {exc}") from None
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    loader = DataLoader()
    manager = InventoryManager(loader, sources=[], parse=False)
    if _looks_like_yaml(path, text):
        _check_yaml(text, display)
        from ansible.plugins.inventory.yaml import InventoryModule
    else:
        from ansible.plugins.inventory.ini import InventoryModule
    plugin = InventoryModule()
    try:
        plugin.parse(manager._inventory, loader, os.path.abspath(path), cache=False)
        manager._inventory.reconcile_inventory()
    except AnsibleError as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, AnsibleError) else exc
        message = _first_line(getattr(cause, "message", None) or str(cause))
        line = getattr(getattr(cause, "obj", None), "line_num", None) or _line_of(text, message)
        raise InventoryError(display, line, message) from None
    if not manager._inventory.hosts:
        raise InventoryError(display, 1, "the inventory lists no hosts")
    return manager


def _line_of(text: str, message: str) -> int:
    """The line an INI parser message quotes (`got: LINE`, `'LINE'`), else 1."""
    quoted = re.search(r"got: (.+)$", message) or re.search(r"'([^']+)'", message)
    if quoted:
        fragment = quoted.group(1).strip()
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip() == fragment or (len(fragment) > 2 and fragment in line):
                return number
    return 1


def _looks_like_yaml(path: Path, text: str) -> bool:
    if path.suffix in (".yml", ".yaml", ".json"):
        return True
    if path.suffix in (".ini", ".cfg"):
        return False
    first = next((line for line in text.splitlines() if line.strip() and not line.lstrip().startswith(("#", ";"))), "")
    return not first.lstrip().startswith("[") and re.match(r"^[^=\s]+:\s*(#.*)?$", first.rstrip()) is not None


def _check_yaml(text: str, display: str) -> None:
    """YAML syntax errors at their line, before ansible's less precise message."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InventoryError(display, (mark.line + 1) if mark else 1,
                             f"invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if isinstance(data, dict) and "plugin" in data:
        raise InventoryError(display, 1, "an inventory plugin configuration, not an inventory: "
                                         "plugins are not run; give the inventory it generates")
