"""package, dnf and yum: DNF when the names are plain and the state is simple."""

from __future__ import annotations

import re

from .. import jinja
from ..model import Job
from . import Native, native

_STATES = {None: "", "present": "", "installed": "", "latest": "--latest", "absent": "--absent", "removed": "--absent"}
_NAME = re.compile(r"^[A-Za-z0-9_.+:@*-][A-Za-z0-9_.+:@*<>=-]*$")


@native("ansible.builtin.package", "ansible.builtin.dnf", "ansible.builtin.yum")
def package(task, ctx):
    args = task.args
    if set(args) - {"name", "pkg", "state", "use"} or args.get("use") not in (None, "auto", "dnf", "yum"):
        return None
    names = args.get("name", args.get("pkg"))
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    if not isinstance(names, list) or not names:
        return None
    if any(not isinstance(n, str) or jinja.is_template(n) or not _NAME.match(n) or n.startswith("-") for n in names):
        return None
    state = args.get("state")
    if state not in _STATES:
        return None
    flag = _STATES[state]
    return Native([Job("DNF", " ".join(([flag] if flag else []) + names))])
