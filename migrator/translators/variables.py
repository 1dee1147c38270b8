"""include_vars: controller-side files are read at conversion and inlined.

Ansible reads include_vars files on the controller, so the node never has
them; the runtime gets the data itself (`args.data`) and sets the layer.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

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
    if not isinstance(name, str) or loops:
        return Prepared(None, findings=[Finding(
            "file", Severity.ERROR, f"include_vars of {name!r} depends on run-time values; not carried yet")])
    scope = ctx.scope
    bases = []
    if scope.role is not None:
        bases += [scope.role.path / "vars", scope.role.path]
    bases += [scope.base_dir / "vars", scope.base_dir]
    if jinja.is_template(name):
        return _templated(task, ctx, args, name, bases)
    candidates = [base / name for base in bases]
    for candidate in candidates:
        real = realpath(candidate)
        if real.is_file():
            if not ctx.converter.inside_input(real):
                break
            data = ctx.converter.project.load_vars_file(real)
            if data is None:
                return Prepared(None, findings=[Finding("file", Severity.ERROR, f"cannot read {name}")])
            args["data"] = yamlio.plain(data)
            args["_path"] = str(real)  # what ansible_included_var_files reports
            return Prepared(args)
    return Prepared(None, findings=[Finding("file", Severity.ERROR, f"include_vars file not found: {name}")])


_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def _templated(task, ctx, args, name, bases):
    """A templated file name: every file the name could render to is inlined, keyed by
    the name it answers to; the runtime renders `file` and takes the first search hit."""
    pattern = _EXPRESSION.sub("*", name)
    if "*" not in pattern or pattern.startswith("/") or ".." in pattern.split("/"):
        return Prepared(None, findings=[Finding(
            "file", Severity.ERROR, f"include_vars of {name!r} cannot be resolved at conversion")])
    candidates: dict[str, object] = {}
    for base in bases:
        for path in sorted(glob.glob(str(glob.escape(str(base))) + "/" + pattern)):
            real = realpath(path)
            if not real.is_file() or not ctx.converter.inside_input(real):
                continue
            data = ctx.converter.project.load_vars_file(real)
            if data is not None:
                candidates.setdefault(str(Path(path).relative_to(base)), [str(real), yamlio.plain(data)])
    if not candidates:
        return Prepared(None, findings=[Finding(
            "file", Severity.ERROR, f"no file matches the templated include_vars name {name!r}")])
    args["file"] = name
    args["_candidates"] = candidates
    return Prepared(args)
