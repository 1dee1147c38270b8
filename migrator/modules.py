"""Resolve the module names tasks use to fully qualified names (FQCN).

Resolution never imports a module. Sources, in order:
1. ansible-core's own modules and action plugins (ansible.builtin.*);
2. ansible-core's routing table (config/ansible_builtin_runtime.yml), which
   knows where every short name that moved to a collection went
   (ini_file -> community.general.ini_file), so collection modules resolve
   even when the collection is not installed;
3. a short table for collections that never were in Ansible (containers.podman);
4. custom modules found in the module paths (a role's library/, tripleo's
   ansible_plugins/modules): they keep their short name.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import ansible

_ANSIBLE_DIR = Path(ansible.__file__).parent

# Task keywords that look like actions but are handled by Ansible itself.
BUILTIN_TASKS = frozenset({
    "include_tasks", "import_tasks", "include_role", "import_role",
    "import_playbook", "include_vars", "include", "meta", "set_fact",
    "add_host", "group_by", "debug", "setup",
})

# tripleo-ansible ships a `package` action plugin that shadows the builtin;
# it wraps the same module, so it counts as ansible.builtin.package.
SHADOWED_BY_TRIPLEO = {"package": "ansible.builtin.package"}


# Collections that never lived in Ansible itself are absent from its routing
# table; TripleO calls their modules by short name.
COLLECTION_MODULES = {
    f"podman_{name}": f"containers.podman.podman_{name}"
    for name in ("container", "container_info", "containers", "container_exec", "export", "generate_systemd",
                 "image", "image_info", "import", "load", "login", "login_info", "logout", "network",
                 "network_info", "play", "pod", "pod_info", "prune", "runlabel", "save", "secret",
                 "secret_info", "tag", "volume", "volume_info")
}


@functools.lru_cache(maxsize=1)
def builtin_names() -> frozenset[str]:
    names = {p.stem for p in (_ANSIBLE_DIR / "modules").glob("*.py") if p.stem != "__init__"}
    names |= {p.stem for p in (_ANSIBLE_DIR / "plugins" / "action").glob("*.py") if p.stem != "__init__"}
    names |= BUILTIN_TASKS
    return frozenset(names)


_ROUTE = re.compile(r"^    ([\w.]+):\n      redirect: ([\w.]+)$", re.M)


@functools.lru_cache(maxsize=1)
def routing() -> dict[str, str]:
    """Short module name -> FQCN, from ansible-core's routing table.

    The file is ~10k lines of YAML (0.2 s to load); the modules section has
    one fixed shape, so a regex over that section is exact and 20x faster.
    """
    text = (_ANSIBLE_DIR / "config" / "ansible_builtin_runtime.yml").read_text()
    start = text.index("\n  modules:\n")
    end = text.index("\n  module_utils:\n", start)
    return {short: target for short, target in _ROUTE.findall(text[start:end])}


def resolve(name: str, custom: frozenset[str] = frozenset()) -> tuple[str, str | None]:
    """Return (fqcn, warning) for a module name as written in a task.

    The warning says why a written FQCN was corrected (a wrong FQCN such as
    ansible.builtin.seboolean runs in no Ansible, but its meaning is plain).
    """
    if name.startswith(("ansible.builtin.", "ansible.legacy.")):
        short = name.split(".", 2)[2]
        if short in builtin_names():
            return f"ansible.builtin.{short}", None
        if short in routing():
            target = routing()[short]
            return target, f"{name} is not an ansible.builtin module; read as {target}"
        return name, f"{name} is not an ansible.builtin module"
    if "." in name:
        return name, None
    if name in SHADOWED_BY_TRIPLEO:
        return SHADOWED_BY_TRIPLEO[name], None
    if name in custom:
        return name, None
    if name in builtin_names():
        return f"ansible.builtin.{name}", None
    if name in routing():
        return routing()[name], None
    if name in COLLECTION_MODULES:
        return COLLECTION_MODULES[name], None
    return name, None


def short_name(fqcn: str) -> str:
    return fqcn.rsplit(".", 1)[-1]
