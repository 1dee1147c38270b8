"""task-core output: OUT/task-core/services/*.yaml, roles.yaml, inventory.yaml.

One service per converted role (THT services join as units with deploy steps).
Each service's tasks use the `directord` driver; their `jobs` are the jobs the
role's orchestration has, less its meta dependencies, which become graph edges
instead (task-core orders services; Ansible inlined dependencies).

Graph rules task-core 0.2.1 does not check itself (docs task-core.md), which
`check_graph` enforces on everything written here:
- at most one name in a task's `provides`; every provided name unique;
- every required name provided by a service that runs on some host;
- no cycle.

Names: service `<unit>` provides `<unit>` from its last task. A unit with deploy
steps (`ServiceUnit.steps`, or JobGroups carrying a `step` attribute) gets one
task per step, `<unit>-step<N>` providing `<unit>.step<N>`, which requires the
barrier of the step before; the barrier service `deploy-steps` has one task per
step, `step<N>`, providing `deploy-step<N>` once every unit's step N is done.

Hosts: with --inventory, a host's task-core role is its TripleO role
(`tripleo_role_name`) or the first group that lists it; a service runs on the
hosts of the plays that run its role (play `roles:`, or include/import_role of
its main tasks), with the role's meta dependencies. Without an inventory, each
role unit is a task-core role with one sample host named after it, holding its
service and the services it requires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .model import JobGroup, Orchestration

BARRIER_SERVICE = "deploy-steps"
SERVICE_VERSION = "1.0.0"
_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]")


@dataclass
class ServiceUnit:
    """One task-core service before writing."""

    name: str  # the unit's name (a role name, a THT service path)
    source: str  # where it came from, for the file's header
    orchestration: Orchestration  # its jobs, without meta dependencies
    requires: list[tuple[str, str]] = field(default_factory=list)  # (unit name, why)
    steps: dict[int, Orchestration] | None = None  # THT: the jobs of each deploy step
    notes: list[str] = field(default_factory=list)  # comments for the file header
    hosts_group: str | None = None  # THT: the inventory group named after the service (TripleO makes one)


# THT task lists that make up a deployment, in the order they run: host prep first (as step 0).
DEPLOY_KEYS = ("host_prep_tasks", "deploy_steps_tasks")


def tht_units(files) -> list[ServiceUnit]:
    """One service per THT template, from the orchestration items tht.py made (one per
    deploy step, `Orchestration.step`, `Orchestration.tht`): host_prep_tasks as step 0,
    deploy_steps_tasks at their steps. Other lists (upgrade, update, external, ...) are
    other workflows than a deployment: named in the header, not in the graph."""
    templates: dict[str, dict[str, Any]] = {}
    for output in files:
        for orch in output.orchestrations:
            origin = getattr(orch, "tht", None)
            if origin is None:
                continue
            rel = output.path.removeprefix("tht/").rsplit("/", 1)[0]
            entry = templates.setdefault(rel, {"origin": origin, "items": [], "other": []})
            if origin.key in DEPLOY_KEYS:
                entry["items"].append((DEPLOY_KEYS.index(origin.key), origin.key, orch))
            elif origin.key not in entry["other"]:
                entry["other"].append(origin.key)
    units = []
    for rel, entry in templates.items():
        if not entry["items"]:
            continue
        origin = entry["origin"]
        steps: dict[int, Orchestration] = {}
        notes = []
        for _, key, orch in sorted(entry["items"], key=lambda item: item[0]):
            step = 0 if key == "host_prep_tasks" or orch.step is None else int(orch.step)
            if key != "host_prep_tasks" and orch.step is None:
                notes.append(f"{key} is not ordered by deploy step: it runs with step 0")
            steps.setdefault(step, Orchestration(name=f"{rel} step {step}")).groups.extend(orch.groups)
        if entry["other"]:
            notes.append("not part of the deployment graph: " + ", ".join(entry["other"]))
        if origin.service:
            notes.append(f"service_name {origin.service}: runs on the inventory group of that name")
        name = "tht." + re.sub(r"(\.j2)?\.ya?ml$", "", rel).replace("/", ".")
        units.append(ServiceUnit(name, origin.template, Orchestration(name=name), steps=steps, notes=notes,
                                 hosts_group=origin.service))
    return units


@dataclass
class PlayRun:
    """Which role units one play runs in full, and on which inventory hosts."""

    source: str
    targets: list[str] | None  # None: not resolved (no inventory, or a templated pattern)
    roles: list[str]
    notes: list[str] = field(default_factory=list)  # for roles.yaml's header


def service_id(name: str) -> str:
    """A service/task id task-core's schema accepts (`^[a-zA-Z0-9.\\-_]+$`)."""
    return _NAME_BAD.sub("_", name) or "service"


def sample_host(name: str) -> str:
    """A sample host name for a role (inventory schema: `^[a-z0-9\\-.]+$`)."""
    return (re.sub(r"[^a-z0-9.-]", "-", name.lower()).strip("-.") or "host") + "-0"


# --------------------------------------------------------------------------- building


@dataclass
class Plan:
    """Everything OUT/task-core holds, as data."""

    services: dict[str, dict[str, Any]]  # service id -> service document
    headers: dict[str, list[str]]  # service id -> comment lines
    roles: dict[str, dict[str, list[str]]]
    inventory: dict[str, dict[str, dict[str, str]]]
    notes: list[str]  # for roles.yaml's header
    groups: dict[tuple[str, str], list[JobGroup]] = field(default_factory=dict)  # (service, task) -> provenance


def plan(units: list[ServiceUnit], plays: list[PlayRun], edges: Iterable[tuple[str, str, str]],
         inventory=None) -> Plan:
    """Services, roles and hosts for the converted units.

    edges: (from unit, to unit, why) found while converting (include_role/import_role).
    inventory: a migrator.inventory.Inventory, or None.
    """
    notes: list[str] = []
    by_name: dict[str, ServiceUnit] = {}
    ids: dict[str, str] = {}
    for unit in units:
        if unit.name in by_name:
            notes.append(f"{unit.source}: a second unit named {unit.name}: left out")
            continue
        by_name[unit.name] = unit
        sid = service_id(unit.name)
        while sid in ids.values() or sid == BARRIER_SERVICE:
            sid += "_"
        ids[unit.name] = sid

    # dependency edges between units (meta dependencies first, then include edges)
    requires: dict[str, list[tuple[str, str]]] = {name: [] for name in by_name}
    for unit in by_name.values():
        for dep, why in unit.requires:
            if dep in by_name and dep != unit.name and dep not in [d for d, _ in requires[unit.name]]:
                requires[unit.name].append((dep, why))
            elif dep not in by_name:
                unit.notes.append(f"{why} {dep} is not a converted unit: no edge")
    include_edges = sorted(set(edges))
    for src, dst, why in include_edges:
        if src in by_name and dst in by_name and src != dst and dst not in [d for d, _ in requires[src]]:
            requires[src].append((dst, why))

    # hosts: which units run where
    hosts_of: dict[str, list[str]] = {name: [] for name in by_name}
    host_role: dict[str, str] = {}
    for play in plays:
        notes.extend(n for n in play.notes if n not in notes)
    if inventory is not None:
        for unit in by_name.values():  # THT services: TripleO's inventory has a group per service
            if unit.hosts_group:
                hosts_of[unit.name].extend(inventory.resolve(unit.hosts_group).targets or [])
        for play in plays:
            if play.targets is None and play.roles:
                notes.append(f"{play.source}: hosts not resolved against the inventory; "
                             f"its roles ({', '.join(play.roles)}) are assigned to no host")
                continue
            if play.targets is None:
                continue
            for role in play.roles:
                if role not in by_name:
                    notes.append(f"{play.source}: role {role} is not a converted unit: not assigned")
                    continue
                for host in play.targets:
                    if host not in hosts_of[role]:
                        hosts_of[role].append(host)
        for host in inventory.hosts:
            host_role[host] = inventory.role_of(host)
    else:
        sample: dict[str, str] = {}
        for name in by_name:
            host = sample_host(name)
            while host in host_role:  # two names that read alike (a_b, a-b)
                host = host.removesuffix("-0") + "x-0"
            sample[name] = host
            hosts_of[name].append(host)
            host_role[host] = _unique_role(name, host_role.values())
    # a unit runs wherever a unit requiring it through a meta dependency runs (Ansible runs
    # dependencies first on the same hosts); include edges only order, their jobs are inline
    changed = True
    while changed:
        changed = False
        for name in sorted(by_name):
            for dep, why in requires[name]:
                if why != "meta dependency":
                    continue
                for host in hosts_of[name]:
                    if host not in hosts_of[dep]:
                        hosts_of[dep].append(host)
                        changed = True
    if inventory is None:  # each sample role also needs whatever its service requires, transitively
        for name in by_name:
            closure, todo = [], [name]
            while todo:
                current = todo.pop(0)
                for dep, _ in requires[current]:
                    if dep not in closure and dep != name:
                        closure.append(dep)
                        todo.append(dep)
            for dep in closure:
                if sample[name] not in hosts_of[dep]:
                    hosts_of[dep].append(sample[name])
    from .inventory import TASKCORE_HOST

    invalid = [host for host in host_role if not TASKCORE_HOST.match(host)]
    for host in invalid:  # task-core's inventory schema refuses the name: the host is left out
        notes.append(f"host {host} is not a valid task-core host name (lowercase letters, digits, '-', '.'): "
                     "left out of inventory.yaml")
        del host_role[host]
    for name in by_name:
        hosts_of[name] = [h for h in hosts_of[name] if h in host_role]
    running = {name for name in by_name if hosts_of[name]}

    # requirements on units that run nowhere cannot be met: drop them (noted), then cycles
    for name in sorted(by_name):
        kept = []
        for dep, why in requires[name]:
            if dep not in running and name in running:
                by_name[name].notes.append(f"{why} {dep} runs on no host: no edge")
            else:
                kept.append((dep, why))
        requires[name] = kept
    for name in sorted(by_name):  # between two stepped units the deploy steps order them (an edge could close a cycle)
        if _steps(by_name[name]):
            for dep, why in [r for r in requires[name] if _steps(by_name[r[0]])]:
                by_name[name].notes.append(f"{why} {dep}: both have deploy steps, which order them: no edge")
                requires[name].remove((dep, why))
    _break_cycles(requires, by_name)

    services: dict[str, dict[str, Any]] = {}
    headers: dict[str, list[str]] = {}
    groups: dict[tuple[str, str], list[JobGroup]] = {}
    steps_used: set[int] = set()
    for name, unit in by_name.items():
        steps = _steps(unit)
        if steps:
            steps_used.update(steps)
    barrier_steps = sorted(steps_used)
    for name, unit in sorted(by_name.items(), key=lambda item: ids[item[0]]):
        sid = ids[name]
        deps = [ids[d] for d, _ in requires[name]]
        steps = _steps(unit)
        tasks: list[dict[str, Any]] = []
        if not steps:
            tasks.append(_task("run", [sid], deps, unit.orchestration.jobs))
            groups[(sid, "run")] = unit.orchestration.groups
        else:
            ordered = sorted(steps)
            for index, step in enumerate(ordered):
                needs = list(deps) if index == 0 else [f"{sid}.step{ordered[index - 1]}"]
                before = [s for s in barrier_steps if s < step]
                if before:
                    needs.append(f"deploy-step{before[-1]}")
                provides = [sid] if index == len(ordered) - 1 else [f"{sid}.step{step}"]
                tasks.append(_task(f"step{step}", provides, needs, steps[step].jobs))
                groups[(sid, f"step{step}")] = steps[step].groups
        services[sid] = {"id": sid, "type": "service", "version": SERVICE_VERSION, "tasks": tasks}
        header = [f"task-core service {sid}, from {unit.source}"]
        header += [f"after {ids[d]} ({why})" for d, why in requires[name]]
        header += unit.notes
        headers[sid] = header
    if barrier_steps:
        btasks = []
        for index, step in enumerate(barrier_steps):
            needs = [f"deploy-step{barrier_steps[index - 1]}"] if index else []
            for name, unit in sorted(by_name.items(), key=lambda item: ids[item[0]]):
                unit_steps = _steps(unit)
                if step in unit_steps and name in running:
                    last = max(unit_steps)
                    needs.append(ids[name] if step == last else f"{ids[name]}.step{step}")
            btasks.append({"id": f"step{step}", "driver": "print", "message": f"deploy step {step} done",
                           "provides": [f"deploy-step{step}"], "requires": needs})
        services[BARRIER_SERVICE] = {"id": BARRIER_SERVICE, "type": "service", "version": SERVICE_VERSION,
                                     "tasks": btasks}
        headers[BARRIER_SERVICE] = ["TripleO deploy steps: one barrier task per step, done when every "
                                    "service's tasks of that step are"]

    # roles.yaml and inventory.yaml
    role_services: dict[str, list[str]] = {}
    for name in sorted(by_name, key=lambda n: ids[n]):
        for host in hosts_of[name]:
            role = host_role.get(host)
            if role is None:
                continue
            role_services.setdefault(role, [])
            if ids[name] not in role_services[role]:
                role_services[role].append(ids[name])
    # hosts of one role must all run the same services: a role's services run on all of them
    role_hosts: dict[str, list[str]] = {}
    for host, role in host_role.items():
        role_hosts.setdefault(role, []).append(host)
    for role, members in role_hosts.items():
        for sid in role_services.get(role, []):
            name = next(n for n, i in ids.items() if i == sid)
            missing = [h for h in members if h not in hosts_of[name]]
            if missing:
                notes.append(f"service {sid} runs on every {role} host, also {', '.join(missing)}, "
                             "which no play gives it")
    if barrier_steps:
        for role in role_hosts:
            role_services.setdefault(role, []).append(BARRIER_SERVICE)
    unassigned = [ids[n] for n in sorted(by_name, key=lambda n: ids[n]) if n not in running]
    if unassigned:
        notes.append("services on no host (no converted play runs them): " + ", ".join(unassigned))
    roles = {role: {"services": role_services.get(role, [])} for role in sorted(role_hosts)}
    hosts: dict[str, dict[str, str]] = {}
    for host in sorted(host_role) if inventory is None else list(host_role):
        hosts[host] = {"role": host_role[host]}
    return Plan(services, headers, roles, {"hosts": hosts}, notes, groups)


def _unique_role(name: str, taken) -> str:
    from .inventory import taskcore_role_name

    role = taskcore_role_name(name)
    while role in taken:
        role += "_"
    return role


def _steps(unit: ServiceUnit) -> dict[int, Orchestration]:
    """The unit's jobs by deploy step: ServiceUnit.steps, or JobGroups that carry a
    `step` (groups without one run before the first step, as step 0)."""
    if unit.steps:
        return dict(unit.steps)
    groups = unit.orchestration.groups
    if not any(getattr(g, "step", None) is not None for g in groups):
        return {}
    steps: dict[int, Orchestration] = {}
    for group in groups:
        step = getattr(group, "step", None)
        step = int(step) if step is not None else 0
        steps.setdefault(step, Orchestration(name=f"{unit.name} step {step}")).groups.append(group)
    return steps


def _task(task_id: str, provides: list[str], requires: list[str], jobs) -> dict[str, Any]:
    return {"id": task_id, "driver": "directord", "provides": list(provides), "requires": list(requires),
            "jobs": [job.as_dict() for job in jobs]}


def _break_cycles(requires: dict[str, list[tuple[str, str]]], units: dict[str, ServiceUnit]) -> None:
    """Drop include edges that close a cycle (their jobs are inline anyway), in a stable order."""
    while True:
        cycle = _find_cycle({n: [d for d, _ in deps] for n, deps in requires.items()})
        if not cycle:
            return
        # the last include edge on the cycle goes; a cycle of meta dependencies only loses its last edge
        pairs = list(zip(cycle, cycle[1:]))
        why = {(a, b): w for a, deps in requires.items() for b, w in deps}
        drop = next((p for p in reversed(pairs) if why[p] != "meta dependency"), pairs[-1])
        requires[drop[0]] = [(d, w) for d, w in requires[drop[0]] if d != drop[1]]
        units[drop[0]].notes.append(f"{why[drop]} {drop[1]} would close the cycle "
                                    f"{' -> '.join(cycle)}: no edge")


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle as [a, b, ..., a], or None; deterministic."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt in graph and not state.get(nxt):
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if not state.get(node):
            found = visit(node)
            if found:
                return found
    return None


# --------------------------------------------------------------------------- checks


def check_graph(services: dict[str, dict[str, Any]], roles: dict[str, Any] | None = None,
                inventory: dict[str, Any] | None = None) -> list[str]:
    """Problems task-core itself does not report: names provided twice or more than
    once per task, requirements nobody provides (or only a service on no host), cycles."""
    problems: list[str] = []
    provider: dict[str, str] = {}
    running = None
    if roles is not None and inventory is not None:
        host_roles = {h.get("role") for h in (inventory.get("hosts") or {}).values()}
        running = {s for role, data in roles.items() if role in host_roles for s in data.get("services", [])}
    for sid, service in services.items():
        for task in service.get("tasks", []):
            provides = task.get("provides", [])
            if len(provides) > 1:
                problems.append(f"{sid}/{task['id']}: provides {len(provides)} names; task-core takes one")
            for name in provides:
                if name in provider:
                    problems.append(f"{sid}/{task['id']}: {name} is already provided by {provider[name]}")
                else:
                    provider[name] = f"{sid}/{task['id']}"
    edges: dict[str, list[str]] = {}
    for sid, service in services.items():
        for task in service.get("tasks", []):
            node = f"{sid}/{task['id']}"
            edges.setdefault(node, [])
            for name in task.get("requires", []):
                if name not in provider:
                    problems.append(f"{node}: requires {name}, which no task provides")
                    continue
                other = provider[name]
                if running is not None and sid in running and other.split("/")[0] not in running:
                    problems.append(f"{node}: requires {name}, whose service runs on no host")
                edges[node].append(other)
    cycle = _find_cycle(edges)
    if cycle:
        problems.append("dependency cycle: " + " -> ".join(cycle))
    return problems


def task_graph(services: dict[str, dict[str, Any]]) -> tuple[dict[tuple[str, str], list[tuple[str, str]]],
                                                            dict[tuple[str, str], str]]:
    """Tasks -> the tasks they wait for, and a label for each (the service's name when it
    has one task, `service task` when it has several, e.g. one per deploy step)."""
    provider = {name: (sid, t["id"]) for sid, s in services.items() for t in s.get("tasks", [])
                for name in t.get("provides", [])}
    needs: dict[tuple[str, str], list[tuple[str, str]]] = {}
    labels: dict[tuple[str, str], str] = {}
    for sid, service in sorted(services.items()):
        tasks = service.get("tasks", [])
        for task in tasks:
            node = (sid, task["id"])
            labels[node] = sid if len(tasks) == 1 else f"{sid} {task['id']}"
            needs[node] = sorted({provider[r] for r in task.get("requires", []) if r in provider} - {node})
    return needs, labels


def order(services: dict[str, dict[str, Any]]) -> list[list[tuple[str, str]]]:
    """Tasks in waves: each wave needs only tasks of earlier waves (a cycle ends the order:
    its tasks come last, together; check_graph names it)."""
    needs, _ = task_graph(services)
    waves: list[list[tuple[str, str]]] = []
    done: set[tuple[str, str]] = set()
    while len(done) < len(needs):
        wave = sorted(n for n, deps in needs.items() if n not in done and all(d in done for d in deps))
        if not wave:
            wave = sorted(n for n in needs if n not in done)
        waves.append(wave)
        done.update(wave)
    return waves


# --------------------------------------------------------------------------- writing


def render(result: Plan) -> dict[str, str]:
    """OUT-relative path -> text."""
    from .writer import dump_yaml

    files: dict[str, str] = {}
    for sid, service in sorted(result.services.items()):
        header = "".join(f"# {' '.join(line.split())}\n" for line in result.headers.get(sid, []))
        files[f"task-core/services/{sid}.yaml"] = header + _service_text(service, result.groups, sid)
    notes = "".join(f"# {' '.join(line.split())}\n" for line in result.notes)
    files["task-core/roles.yaml"] = ("# task-core roles: the services each host role runs\n" + notes
                                     + dump_yaml(result.roles or {}))
    files["task-core/inventory.yaml"] = ("# task-core inventory: host names are Directord node identities\n"
                                         + dump_yaml(result.inventory))
    files["task-core/graph.dot"] = dot(result.services, result.roles, result.inventory)
    return files


def _service_text(service: dict[str, Any], groups: dict[tuple[str, str], list[JobGroup]], sid: str) -> str:
    """A service as YAML, each job led by the source task it came from (as in orchestrations)."""
    from .writer import _comment, _job_text, dump_yaml

    head = {k: v for k, v in service.items() if k != "tasks"}
    lines = dump_yaml(head).splitlines() + ["tasks:"]
    for task in service["tasks"]:
        lines += dump_yaml([{k: v for k, v in task.items() if k != "jobs"}]).splitlines()
        task_groups = groups.get((sid, task["id"]))
        if "jobs" not in task:
            continue
        if not task["jobs"]:
            lines.append("  jobs: []")
            continue
        lines.append("  jobs:")
        if task_groups is None:
            lines += ["  " + line for line in dump_yaml(task["jobs"]).splitlines()]
            continue
        for group in task_groups:
            if group.jobs:
                lines += [f"  # {source} {_comment(label)}" for source, label in [(group.source, group.label)]
                          + list(group.also)]
            lines += [_job_text(job) for job in group.jobs]
    return "\n".join(lines) + "\n"


def dot(services: dict[str, dict[str, Any]], roles: dict[str, Any] | None = None,
        inventory: dict[str, Any] | None = None) -> str:
    """The graph in Graphviz DOT: one node per task (per service when it has one task),
    labelled with the roles whose hosts run it; an edge from each task to those waiting for it."""
    where = _where(roles or {}, inventory or {})
    needs, labels = task_graph(services)
    lines = ["digraph services {", "  rankdir=LR;", "  node [shape=box];"]
    for node in sorted(needs):
        hosts = f"[{', '.join(where[node[0]])}]" if where.get(node[0]) else "[no host]"
        lines.append(f"  {_dot_id(labels[node])} [label={_dot_id(labels[node] + chr(92) + 'n' + hosts)}];")
    for node in sorted(needs):
        for dep in needs[node]:
            lines.append(f"  {_dot_id(labels[dep])} -> {_dot_id(labels[node])};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _where(roles: dict[str, Any], inventory: dict[str, Any]) -> dict[str, list[str]]:
    """service -> the roles (with hosts) that run it."""
    hosts = inventory.get("hosts") or {}
    host_roles = sorted({h.get("role") for h in hosts.values() if isinstance(h, dict) and h.get("role")})
    where: dict[str, list[str]] = {}
    for role in host_roles:
        for sid in (roles.get(role) or {}).get("services", []):
            where.setdefault(sid, []).append(role)
    return where


def _dot_id(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- reading OUT back


class GraphError(Exception):
    """OUT holds no readable task-core output; the message is for the user."""


def load(out) -> tuple[dict[str, dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """services, roles and inventory from OUT/task-core."""
    from pathlib import Path

    import yaml

    base = Path(out) / "task-core"
    services_dir = base / "services"
    if not services_dir.is_dir():
        raise GraphError(f"{services_dir}: no task-core services here (convert writes them)")
    services: dict[str, dict[str, Any]] = {}
    for path in sorted(services_dir.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise GraphError(f"{path}: cannot read: {' '.join(str(exc).split())}") from None
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not isinstance(data.get("tasks"), list):
            raise GraphError(f"{path}: not a task-core service (id and tasks)")
        services[data["id"]] = data
    documents = []
    for name in ("roles.yaml", "inventory.yaml"):
        try:
            data = yaml.safe_load((base / name).read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            data = {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise GraphError(f"{base / name}: cannot read: {' '.join(str(exc).split())}") from None
        documents.append(data if isinstance(data, dict) else {})
    return services, documents[0], documents[1]


def describe(services: dict[str, dict[str, Any]], roles: dict[str, Any], inventory: dict[str, Any]) -> str:
    """The order as text: waves of tasks (a service with one task by its name), each with
    what it waits for and the roles whose hosts run it."""
    hosts = inventory.get("hosts") or {}
    where = _where(roles, inventory)
    needs, labels = task_graph(services)
    lines = [f"{len(services)} services, {len(roles)} roles, {len(hosts)} hosts; in order "
             f"(each starts when those it follows are done):"]
    for index, wave in enumerate(order(services), 1):
        for node in wave:
            after = f" after {', '.join(labels[d] for d in needs[node])}" if needs[node] else ""
            on = f" on {', '.join(where[node[0]])}" if where.get(node[0]) else " on no host (skipped)"
            lines.append(f"{index:3}. {labels[node]}{after};{on}")
    return "\n".join(lines) + "\n"
