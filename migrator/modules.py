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
    text = _runtime_yml()
    start = text.index("\n  modules:\n")
    end = text.index("\n  module_utils:\n", start)
    routes = {short: target for short, target in _ROUTE.findall(text[start:end])}
    for short, target in builtin_action_redirects().items():
        routes.setdefault(short, target)
    return routes


@functools.lru_cache(maxsize=1)
def builtin_action_redirects() -> dict[str, str]:
    """Short action names that ansible-core redirects to another ansible.builtin action.

    A task's action resolves through the action plugins first: ansible-core 2.17
    dropped the yum module, and its routing table sends the `yum` action to
    ansible.builtin.dnf (action section, not modules), so `yum:` runs dnf.
    Only redirects into ansible.builtin are taken: the action section also
    routes network platform names, which no task uses as a module.
    """
    text = _runtime_yml()
    start = text.index("\n  action:\n")
    end = text.index("\n  become:\n", start)
    return {short: target for short, target in _ROUTE.findall(text[start:end])
            if target.startswith("ansible.builtin.")}


@functools.lru_cache(maxsize=1)
def _runtime_yml() -> str:
    return (_ANSIBLE_DIR / "config" / "ansible_builtin_runtime.yml").read_text()


def resolve(name: str, custom: frozenset[str] = frozenset()) -> tuple[str, str | None]:
    """Return (fqcn, warning) for a module name as written in a task.

    The warning says why a written FQCN was corrected (a wrong FQCN such as
    ansible.builtin.seboolean runs in no Ansible, but its meaning is plain).
    """
    if name.startswith(("ansible.builtin.", "ansible.legacy.")):
        short = name.split(".", 2)[2]
        if short in builtin_names():
            return f"ansible.builtin.{short}", None
        if short in builtin_action_redirects():  # ansible.builtin.yum: ansible-core's own redirect
            return builtin_action_redirects()[short], None
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


# Role-local modules that are copies of a collection module the TASK runtime ports.
# tripleo-ansible ships openvswitch_db in roles/tripleo_ovs_dpdk/library/: an older copy of
# openvswitch.openvswitch's module (the same ovs-vsctl command lines and change detection,
# without the later `database_socket` option and `state: read`). A task naming it runs the
# port only when the copy's DOCUMENTATION declares nothing the port would treat differently
# (role_local_port); otherwise the task keeps its stub and the finding says why.
# short name -> (the port's FQCN, module holding the port's argument spec, its name)
ROLE_LOCAL_PORTS = {
    "openvswitch_db": ("openvswitch.openvswitch.openvswitch_db",
                       "migrator.runtime.modules.openvswitch_db", "_OPENVSWITCH_DB_SPEC"),
}


@functools.lru_cache(maxsize=None)
def role_local_port(name: str, path: Path, shown: str) -> tuple[str | None, str]:
    """(the port's FQCN or None, why) for the role-local module `name` at `path`
    (`shown` is how messages name the file).

    The module's DOCUMENTATION is read statically (never imported). It matches the
    port when every option it declares is one of the port's with the same required
    flag, default, choices (its own a subset of the port's), aliases and, where it
    states one, type; and every option the port requires is among them. The port
    may take more options: a task written for the role-local module does not use them.
    """
    if name not in ROLE_LOCAL_PORTS:
        return None, f"{name} has no runtime port"
    import importlib

    from . import stubs

    fqcn, holder, attribute = ROLE_LOCAL_PORTS[name]
    spec = getattr(importlib.import_module(holder), attribute)
    where = shown
    try:
        doc, _line = stubs._documentation(path, "DOCUMENTATION")
    except Exception as exc:  # unreadable: keep the stub, which says so too
        return None, f"the DOCUMENTATION of {where} cannot be read statically ({exc}); not mapped to {fqcn}"
    options = doc.get("options") if isinstance(doc, dict) else None
    if not isinstance(options, dict):
        return None, f"the DOCUMENTATION of {where} declares no options; not mapped to {fqcn}"
    problems = []
    for option, raw in sorted(options.items(), key=lambda kv: str(kv[0])):
        raw = raw if isinstance(raw, dict) else {}
        port = spec.get(option)
        if port is None:
            problems.append(f"option {option!r} is not one of the port's")
            continue
        if _truthy(raw.get("required", False)) != bool(port.get("required", False)):
            problems.append(f"option {option!r} differs in required")
        if not _same(raw.get("default"), port.get("default")):
            problems.append(f"option {option!r} defaults to {raw.get('default')!r}, the port to {port.get('default')!r}")
        if port.get("choices") is not None and not (
                isinstance(raw.get("choices"), list) and set(map(str, raw["choices"])) <= set(map(str, port["choices"]))):
            problems.append(f"option {option!r} allows {raw.get('choices')!r}, the port only {port['choices']!r}")
        if "type" in raw and str(raw["type"]) != port.get("type", "str"):
            problems.append(f"option {option!r} is a {raw['type']}, the port's a {port.get('type', 'str')}")
        if set(map(str, _listed(raw.get("aliases")))) - set(port.get("aliases", ())):
            problems.append(f"option {option!r} has aliases the port lacks")
    problems += [f"the port requires {option!r}, which it does not declare"
                 for option, port in sorted(spec.items()) if port.get("required") and option not in options]
    if problems:
        return None, f"role-local module {where} is not run as {fqcn}: " + "; ".join(problems)
    return fqcn, (f"role-local module {where} declares the options of {fqcn}; "
                  "the task runs the runtime's port of it")


def _truthy(value: object) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on", "y", "t")


def _same(a: object, b: object) -> bool:
    return a == b or (a is not None and b is not None and str(a) == str(b))


def _listed(value: object) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
