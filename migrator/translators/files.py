"""file, copy and template.

Built-ins are used only where their effect is Ansible's on a node:
- WORKDIR makes parents with the default mode, while Ansible gives created
  parents the task's mode, so `state: directory` with a mode (or owner)
  goes to the runtime;
- COPY takes a file source and a file destination; directory sources,
  `dest` ending in `/`, backup, validate and the like go to the runtime.
Controller-side sources (copy src, template src) are copied into OUT and,
for the runtime, staged on the node first.
"""

from __future__ import annotations

import re

from .. import jinja
from ..jobs import NODE_STAGE_DIR, octal_mode, path_token, source_token
from ..model import Job, Outcome, Severity
from . import Native, Prepared, native, prepare

_COPY_NATIVE_ARGS = {"src", "dest", "mode", "owner", "group"}


def _owner(args: dict) -> str | None:
    """--chown value, '' when no owner is set, None when not expressible."""
    owner, group = args.get("owner"), args.get("group")
    if owner is None and group is None:
        return ""
    if group is not None and owner is None:
        return None  # COPY's --chown needs a user
    parts = [str(owner)] + ([str(group)] if group is not None else [])
    if any(jinja.is_template(p) or not path_token(p) or ":" in p for p in parts):
        return None
    return ":".join(parts)


def _path(value) -> tuple[str, bool] | None:
    """A path as one job token, and whether it is rendered on the node."""
    if not isinstance(value, str):
        return None
    if not jinja.is_template(value):
        return (value, False) if path_token(value) else None
    token = jinja.compact(value)
    if token is None or not jinja.usage(token).plain_safe or path_token(token) is None:
        return None
    return token, True


def _cache_flag(templated: bool) -> list[str]:
    # Directord caches a job by its unrendered text: a job whose meaning
    # depends on variables must not be skipped on a re-run.
    return ["--skip-cache"] if templated else []


@native("ansible.builtin.file")
def file(task, ctx):
    args = task.args
    found = _path(args.get("path", args.get("dest", args.get("name"))))
    state = args.get("state")
    if found is None or set(args) - {"path", "dest", "name", "state"}:
        return None
    path, templated = found
    if state == "directory":
        return Native([Job("WORKDIR", " ".join(_cache_flag(templated) + [path]))])
    if state == "absent" and (path.startswith("/") or path.startswith("{{")):
        # Ansible's absent removes files, links and whole trees alike.
        return Native([Job("RUN", " ".join(_cache_flag(templated) + ["rm", "-rf", path]))])
    return None


@native("ansible.builtin.copy")
def copy(task, ctx):
    args = task.args
    if set(args) - _COPY_NATIVE_ARGS or "src" not in args:
        return None
    src, found = args.get("src"), _path(args.get("dest"))
    if not isinstance(src, str) or found is None or src.endswith("/") or found[0].endswith("/"):
        return None
    dest, templated = found
    if not (dest.startswith("/") or dest.startswith("{{")):
        return None
    flags = _cache_flag(templated)
    if "mode" in args:
        mode = octal_mode(args["mode"])
        if mode is None:
            return None
        flags.append(f"--chmod {mode}")
    owner = _owner(args)
    if owner is None:
        return None
    if owner:
        flags.append(f"--chown {owner}")
    staged = ctx.stage(src, "files")
    if staged is None or source_token(staged) is None or staged not in ctx.converter.out.staged:
        return None  # a directory src goes to the runtime
    jobs = [Job("COPY", " ".join(flags + [staged, dest]))]
    # COPY leaves a destination whose content already matches untouched, mode and owner
    # included (builtin_copy returns before its chmod/chown); Ansible still sets them
    fix = _cache_flag(templated)
    if "mode" in args:
        jobs.append(Job("RUN", " ".join(fix + ["chmod", octal_mode(args["mode"]), dest])))
    if owner:
        jobs.append(Job("RUN", " ".join(fix + ["chown", owner, dest])))
    return Native(jobs, Outcome.LOWERED if len(jobs) > 1 else Outcome.NATIVE)


def _stage_on_node(task, ctx, kind: str) -> Prepared:
    """Ship a controller-side src to the node; the runtime reads it there."""
    args = dict(task.args)
    if kind == "files" and (args.get("remote_src") in (True, "yes", "true", "True") or "src" not in args):
        return Prepared(args)
    src = args.get("src")
    if not isinstance(src, str):
        return Prepared(None, findings=[_error("src", f"src must be a path, not {src!r}")])
    if jinja.is_template(_ROLE_PATH.sub("", src)):  # role_path alone is known now (Converter.stage)
        return _ship_templated_src(ctx, kind, args, src)
    staged = ctx.stage(src, kind)
    if staged is None:
        return Prepared(None, findings=list(ctx.findings))
    node_path = f"{NODE_STAGE_DIR}/{staged}"
    everything = ctx.converter.out.staged
    if staged in everything:
        files = {staged: everything[staged]}
    else:  # a directory: every file below it (a trailing slash on src keeps rsync's meaning)
        files = {rel: path for rel, path in sorted(everything.items()) if rel.startswith(staged + "/")}
    jobs = [Job("WORKDIR", node_path)] if staged not in everything else []
    made = {node_path}
    for rel, path in files.items():
        token = source_token(rel)
        if token is None:
            return Prepared(None, findings=[_error("src", f"src path {rel!r} cannot be carried by COPY")])
        target = f"{NODE_STAGE_DIR}/{rel}"
        parent = target.rsplit("/", 1)[0]
        if parent not in made:  # COPY does not create directories
            jobs.append(Job("WORKDIR", parent))
            made.add(parent)
        # Directord writes a new file with the default mode: keep the source's (mode: preserve)
        jobs.append(Job("COPY", f"--skip-cache --chmod {_source_mode(path)} {token} {target}"))
    args["src"] = node_path + ("/" if staged not in everything and src.endswith("/") else "")
    if args.get("mode") == "preserve" and staged in everything:
        # preserve means the controller file's mode, known now (the staged copy may be stale)
        args["mode"] = _source_mode(files[staged])
    return Prepared(args, jobs_before=jobs)


def _source_mode(path) -> str:
    import os
    import stat

    return f"0{stat.S_IMODE(os.stat(path).st_mode):o}"


def _error(what, message):
    from ..model import Finding

    return Finding(what, Severity.ERROR, message)


@prepare("ansible.builtin.copy")
def copy_prepare(task, ctx):
    return _stage_on_node(task, ctx, "files")


@prepare("ansible.builtin.template")
def template_prepare(task, ctx):
    return _stage_on_node(task, ctx, "templates")


_ROLE_PATH = re.compile(r"\{\{\s*role_path\s*\}\}")


# -- config_template (openstack ansible-config-template): a template unless remote_src --------

_TRUTHY = frozenset(("y", "yes", "on", "1", "true", "t", "1.0"))


@prepare("config_template", "ansible.legacy.config_template", "openstack.config_template.config_template")
def config_template_prepare(task, ctx):
    """Its `src` is a controller template found as template's is (the plugin looks in templates/
    first), so it is shipped the same way; with remote_src (read non-strictly, as the plugin
    does) src is a file on the node, and `content` needs nothing. A templated remote_src is
    known only on the node: src is then not shipped, and if it renders false the node has no
    controller file to read (the task fails there, naming src)."""
    from ..model import Finding

    args = task.args
    remote = args.get("remote_src", False)
    if "src" not in args or remote is True or str(remote).strip().lower() in _TRUTHY:
        return Prepared(dict(args))
    if isinstance(remote, str) and jinja.is_template(remote):
        return Prepared(dict(args), findings=[Finding(
            "remote_src", Severity.WARNING,
            f"remote_src {remote!r} is known only on the node: src {args['src']!r} is read there; "
            "when remote_src renders false, the controller file it names is not shipped and the task fails")])
    return _stage_on_node(task, ctx, "templates")


def _ship_templated_src(ctx, kind: str, args: dict, src: str) -> Prepared:
    """A templated src (`templates/{{ item }}.j2`, `{{ role_path }}/files/{{ item }}`): every
    file of the task's search path it can name is shipped to the node, which resolves the
    rendered name among them in Ansible's order (shipping.py); a src that may name any
    path on the controller (`{{ some_path }}`) is resolved at run time: an absolute path is
    read from the Directord server, a warning says so."""
    from ..model import Finding
    from ..shipping import ship

    shipment = ship(ctx.converter, ctx.scope, [src], kind, dirs_too=kind == "files", at_run_time=True)
    if isinstance(shipment, str):
        return Prepared(None, findings=[_error("src", f"src {src!r} is templated; the file cannot be found at "
                                                      f"conversion: {shipment}")])
    if not shipment.search["files"] and not shipment.warning:
        return Prepared(None, findings=[_error("src", f"no file in the task's search path matches the templated "
                                                      f"src {src!r}")])
    args["src"] = shipment.names[0]
    findings = [Finding("src", Severity.WARNING, shipment.warning)] if shipment.warning else []
    return Prepared(args, jobs_before=shipment.jobs, findings=findings,
                    spec={"search": dict(shipment.search, arg="src")})
