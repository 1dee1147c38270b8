"""include_vars: controller-side files are read at conversion and inlined.

Ansible reads include_vars files on the controller, so the node never has
them; the runtime gets the data itself (`args.data`) and sets the layer.
"""

from __future__ import annotations

import functools
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
    if loops == ["with_first_found"] and isinstance(name, str):
        return _first_found(task, ctx, args, name)
    if not isinstance(name, str) or loops:
        return Prepared(None, findings=[Finding(
            "file", Severity.ERROR, f"include_vars of {name!r} depends on run-time values; not carried yet")])
    scope = ctx.scope
    bases = []
    if scope.role is not None:
        bases += [scope.role.path / "vars", scope.role.path]
    bases += [scope.base_dir / "vars", scope.base_dir]
    if jinja.is_template(name):
        from ..shipping import anywhere

        if anywhere(name):
            return _at_run_time(ctx, args, name)
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


def _at_run_time(ctx, args, name):
    """A name that may name any controller file (`{{ some_vars_file }}`): resolved on the node
    as a templated copy src is (shipping.py): an absolute path is read from the Directord
    server, a relative name among the search path's vars/ files, shipped whole."""
    from ..shipping import ship

    shipment = ship(ctx.converter, ctx.scope, [name], "vars", usable=_variables_file, at_run_time=True)
    if isinstance(shipment, str):
        return Prepared(None, findings=[Finding("file", Severity.ERROR, f"include_vars of {name!r}: {shipment}")])
    return Prepared(dict(args, file=name), jobs_before=shipment.jobs,
                    findings=[Finding("file", Severity.WARNING, shipment.warning)],
                    spec={"search": dict(shipment.search, arg="file")})


def _first_found(task, ctx, args, name):
    """`include_vars: "{{ item }}"` over `with_first_found`: Ansible's lookup searches the
    controller (the role's vars/, ...); the candidate files are shipped to the node, where
    the runtime resolves first_found among them in Ansible's order and loads the winner
    into the include_vars layer (shipping.py)."""
    from ..shipping import ship

    names = _first_found_names(task.keywords["with_first_found"])
    if names is None:
        return Prepared(None, findings=[Finding(
            "with_first_found", Severity.ERROR,
            "with_first_found terms are templated as a whole; the candidate files cannot be known at conversion")])
    if not jinja.is_template(name) or name.strip() not in ("{{ item }}", "{{item}}"):
        return Prepared(None, findings=[Finding(
            "file", Severity.ERROR, f"include_vars of {name!r} over with_first_found is not carried yet")])
    shipment = ship(ctx.converter, ctx.scope, names, "vars", usable=_variables_file)
    if isinstance(shipment, str):
        return Prepared(None, findings=[Finding("with_first_found", Severity.ERROR,
                                                f"cannot ship the candidate files: {shipment}")])
    return Prepared(dict(args, file=name), jobs_before=shipment.jobs, spec={"search": shipment.search})


def _first_found_names(terms):
    """Every candidate name the terms can give (files joined to paths), or None when unknowable."""
    names = []
    for term in terms if isinstance(terms, list) else [terms]:
        if isinstance(term, str):
            if jinja.is_template(term) and term.strip().startswith("{{") and term.strip().endswith("}}") \
                    and term.count("{{") == 1:
                return None  # "{{ list_var }}" may be a whole list of names
            names.append(term)
        elif isinstance(term, dict):
            files = _split(term.get("files", []), ",;")
            paths = _split(term.get("paths", []), ",:;")
            if files is None or paths is None:
                return None
            names += [f"{p.rstrip('/')}/{f}" for p in paths for f in files] if paths else files
        elif isinstance(term, list):
            nested = _first_found_names(term)
            if nested is None:
                return None
            names += nested
        else:
            return None
    return names


def _split(value, separators):
    """first_found's splitting of files/paths on separators; None for a template giving a list."""
    out = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, str):
            return None
        if jinja.is_template(item):
            if any(sep in _EXPRESSION.sub("", item) for sep in separators):
                return None  # a separator outside the template: splitting would cut differently
            out.append(item)
        else:
            out += [part for part in re.split("[%s]" % re.escape(separators), item) if part]
    return out


@functools.lru_cache(maxsize=None)
def _variables_file(path: Path) -> bool:
    """A file include_vars can load: YAML holding a mapping (or nothing)."""
    try:
        data = yamlio.load_file(path)
    except Exception:
        return False
    return data is None or isinstance(data, dict)
