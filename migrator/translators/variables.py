"""include_vars: controller-side files are read at conversion and inlined.

Ansible reads include_vars files on the controller, so the node never has
them; the runtime gets the data itself (`args.data`) and sets the layer.
"""

from __future__ import annotations


from .. import jinja, yamlio
from ..model import Finding, Severity, realpath
from . import Prepared, prepare


@prepare("ansible.builtin.include_vars")
def include_vars(task, ctx):
    args = dict(task.args)
    name = args.pop("file", None) or args.pop("_raw_params", None)
    if "dir" in args:
        return Prepared(None, findings=[Finding("dir", Severity.ERROR, "include_vars dir= is not carried yet")])
    loops = [k for k in task.keywords if k == "loop" or k.startswith("with_")]
    if not isinstance(name, str) or jinja.is_template(name) or loops:
        return Prepared(None, findings=[Finding(
            "file", Severity.ERROR, f"include_vars of {name!r} depends on run-time values; not carried yet")])
    scope = ctx.scope
    candidates = []
    if scope.role is not None:
        candidates += [scope.role.path / "vars" / name, scope.role.path / name]
    candidates += [scope.base_dir / "vars" / name, scope.base_dir / name]
    for candidate in candidates:
        real = realpath(candidate)
        if real.is_file():
            if not ctx.converter.inside_input(real):
                break
            data = ctx.converter.project.load_vars_file(real)
            if data is None:
                return Prepared(None, findings=[Finding("file", Severity.ERROR, f"cannot read {name}")])
            args["data"] = yamlio.plain(data)
            return Prepared(args)
    return Prepared(None, findings=[Finding("file", Severity.ERROR, f"include_vars file not found: {name}")])
