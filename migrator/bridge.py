"""--bridge: a task with no translation and no port runs its Ansible module on the node.

Instead of a stub, the task becomes a TASK job of the runtime's `tm.bridge`
pseudo-module (migrator/runtime/modules/bridge.py): the TASK runtime carries the
task's keywords (when, loop, register, ...) as for any port, then runs the
original module once with ansible-core on the node. A custom module (a role's
library/, --module-path) is copied into OUT and shipped to the node by a
WORKDIR + COPY pair before the task. The outcome is `bridge`: it works, but keeps
an Ansible dependency on the node, so it never counts as translated.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from . import yamlio
from .model import Finding, JobGroup, Job, Outcome, Severity

NODE_BRIDGE_DIR = "/var/lib/tripleo-migrate/bridge"
_MODULE_UTILS_IMPORT = re.compile(
    r"^\s*(?:from\s+ansible\.module_utils\.([\w.]+)\s+import|import\s+ansible\.module_utils\.([\w.]+))", re.M)


def _core_module_utils() -> Path:
    import ansible.module_utils

    return Path(ansible.module_utils.__file__).parent


def _unshipped_module_utils(path: Path) -> list[str]:
    """module_utils a custom module imports that ansible-core does not have (the bridge ships none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    base = _core_module_utils()
    missing = []
    for match in _MODULE_UTILS_IMPORT.finditer(text):
        name = match.group(1) or match.group(2)
        parts = name.split(".")
        if not any((base.joinpath(*parts[:n]).with_suffix(".py")).is_file() or base.joinpath(*parts[:n]).is_dir()
                   for n in range(len(parts), 0, -1)):
            if name not in missing:
                missing.append(name)
    return missing


# action plugins whose effect is on Ansible's controller: run on the node they would succeed and do
# something else, so they stay stubs (fail loudly) even with --bridge
CONTROLLER_SIDE = {
    "ansible.builtin.fetch": "fetch copies a file to Ansible's controller; run on the node it would copy "
                             "the file onto the node itself (Directord 0.12 has no way to send a file back "
                             "to the server)",
    "ansible.posix.synchronize": "synchronize runs rsync from Ansible's controller",
}


def bridge_group(converter, task, scope, output: str, keywords: dict[str, Any], findings: list[Finding],
                 ctx) -> JobGroup:
    module = task.module
    if module in CONTROLLER_SIDE:
        note = Finding("module", Severity.ERROR, f"not bridged: {CONTROLLER_SIDE[module]}")
        return converter._stub_group(task, scope, output, keywords, findings + [note], ctx)
    jobs: list[Job] = []
    notes: list[Finding] = []
    library = None
    custom = "." not in module or module.startswith("ansible.legacy.")
    path = converter.project.find_module_file(module.rsplit(".", 1)[-1], scope.role) if custom else None
    if path is not None:
        if scope.role is not None and path.parent == scope.role.path / "library":
            rel = f"roles/{scope.role.name}/library/{path.name}"
        else:
            rel = f"library/{path.name}"
        converter.out.staged.setdefault(rel, path)
        library = f"{NODE_BRIDGE_DIR}/{rel.rsplit('/', 1)[0]}"
        jobs += [Job("WORKDIR", library), Job("COPY", f"{rel} {library}/{path.name}")]
        missing = _unshipped_module_utils(path)
        if missing:
            notes.append(Finding("module", Severity.WARNING,
                                 f"bridge: {path.name} imports module_utils {', '.join(missing)}, which the node "
                                 "must have (only the module file is shipped)"))
        needs = "ansible-core on the node"
    elif "." in module and not module.startswith(("ansible.builtin.", "ansible.legacy.")):
        needs = "ansible-core and the collection " + ".".join(module.split(".")[:2]) + " on the node"
    else:
        needs = "ansible-core on the node"
    spec = converter._task_spec(task, scope, task.args)
    bridged = {"module": module, "args": spec["args"]}
    if library:
        bridged["library"] = library
    spec["module"] = "tm.bridge"
    spec["args"] = yamlio.plain(bridged)
    jobs.append(converter._task_job(spec))
    jobs = converter._apply_conversion_keywords(jobs, keywords, ctx)
    findings = findings + ctx.findings + notes + [Finding(
        "module", Severity.WARNING,
        f"bridge: no translation for {module}; ansible-core runs the module on the node (needs {needs})")]
    converter._record(task, Outcome.BRIDGE, jobs, output, findings)
    return JobGroup(task.source, task.label, jobs)
