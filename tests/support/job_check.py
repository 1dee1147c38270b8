"""Offline validation of Directord 0.12.0 orchestration files.

Every job is parsed by the very component Directord would use at submit time
(``directord.mixin.Mixin.format_action`` runs ``component.server()`` inside
``directord orchestrate``), so an argparse error, an unknown verb, a missing
ADD/COPY source or a non-JSON-serialisable job is found without a server.

Public API::

    validate_orchestrations(path_or_list, component_dirs=(), cwd=None) -> list[str]
    check_orchestrations(path_or_list, component_dirs=(), cwd=None) -> list[JobError]
    load_component(verb, component_dirs=()) -> Component instance (or raises LookupError)

``path_or_list`` is a file path, a directory (every ``*.yaml``/``*.yml`` in it,
sorted, not recursive), a list of such paths, or already-loaded orchestration
data (a list of dicts).

Component lookup mirrors ``directord.component_import`` but is hermetic:
built-in ``directord.components.builtin_<verb>`` first, then ``<verb>.py`` in each
of ``component_dirs`` (our OUT/components), then Directord's contrib components in
``<sys.prefix>/share/directord/components``.  ``/etc/directord/components`` is
deliberately *not* searched: whatever a previous run left there must not make a
bad file pass.

What this does NOT catch (see docs directord.md): flag hijacking
(``RUN: curl --retry 5``), whitespace collapsing, undefined Jinja names, ADD
--blueprint without cached args.  It does flag a RUN whose command is empty after
option parsing, and a job whose submitted JSON exceeds the server's single 400 KiB
socket read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import io
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Iterable, Sequence

import yaml

# Keys Directord reads from an orchestration item (directord/mixin.py).
ORCHESTRATION_KEYS = {"jobs", "targets", "assign", "async", "name", "vars"}
# Keys Directord pops from a job before taking the single remaining VERB key.
JOB_META_KEYS = {"name", "assign", "vars"}
# server.run_socket_server() does one conn.recv(409600): a bigger job is truncated
# and the server's socket thread dies on the JSON error.
MAX_JOB_BYTES = 409600


@dataclasses.dataclass(frozen=True)
class JobError:
    file: str  # path, or "<data>" for in-memory orchestrations
    orchestration: int  # index of the orchestration item in the file
    job: int | None  # index in its jobs list (None: the orchestration itself)
    verb: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: orchestration[{self.orchestration}]"
        if self.job is not None:
            where += f".jobs[{self.job}]"
        if self.verb:
            where += f" {self.verb}"
        return f"{where}: {self.message}"


# --------------------------------------------------------------------------- loading

_module_cache: dict[tuple[str, int, int], object] = {}
_module_counter = itertools.count()


def _contrib_dir() -> Path:
    return Path(sys.prefix) / "share" / "directord" / "components"


def _load_module_from_path(path: Path):
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    mod = _module_cache.get(key)
    if mod is None:
        name = f"_tm_jobcheck_{path.stem}_{next(_module_counter)}"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod  # dataclasses & co. need it during exec
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        _module_cache[key] = mod
    return mod


def _find_component_module(verb: str, component_dirs: Sequence[os.PathLike | str]):
    """Return (module, origin) for VERB, following Directord's lookup order."""

    lower = verb.lower()
    try:
        mod = importlib.import_module(f"directord.components.builtin_{lower}")
        return mod, "built-in"
    except ImportError:
        pass
    searched = []
    for d in [*component_dirs, _contrib_dir()]:
        path = Path(d) / f"{lower}.py"
        searched.append(str(path))
        if path.is_file():
            return _load_module_from_path(path), str(path)
    raise LookupError(f"unknown verb (no built-in, searched {searched})")


def load_component(verb: str, component_dirs: Sequence[os.PathLike | str] = ()):
    """A fresh Component instance for VERB (raises LookupError / import errors)."""

    mod, _ = _find_component_module(verb, component_dirs)
    comp = mod.Component()
    comp.verb = verb
    return comp


# --------------------------------------------------------------------------- input


def _expand_paths(items: Iterable) -> list[Path]:
    out = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.suffix in (".yaml", ".yml") and q.is_file()))
        else:
            out.append(p)
    return out


def _sources(path_or_list) -> list[tuple[str, object, str | None]]:
    """[(label, loaded data, load error)]"""

    if isinstance(path_or_list, (str, os.PathLike)):
        paths = _expand_paths([path_or_list])
    elif isinstance(path_or_list, (list, tuple)) and path_or_list and all(
        isinstance(i, (str, os.PathLike)) for i in path_or_list
    ):
        paths = _expand_paths(path_or_list)
    else:
        return [("<data>", path_or_list, None)]
    out = []
    for p in paths:
        try:
            with open(p) as f:
                out.append((str(p), yaml.safe_load(f), None))  # Directord uses safe_load
        except Exception as e:  # unreadable or invalid YAML
            out.append((str(p), None, f"cannot load: {type(e).__name__}: {e}"))
    return out


# --------------------------------------------------------------------------- checks


def _capture_exit_message(exc: SystemExit, stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    # argparse: "usage: ...\n<prog>: error: <message>"
    errors = [line for line in lines if ": error: " in line]
    if errors:
        return "argument error: " + errors[-1].split(": error: ", 1)[1]
    if isinstance(exc.code, str):  # raise SystemExit("message")
        return f"SystemExit: {exc.code}"
    if lines:
        return f"SystemExit({exc.code}): {lines[-1]}"
    return f"SystemExit({exc.code})"


def _check_job_with_component(verb: str, value: str, arg_vars, component_dirs, cwd) -> str | None:
    try:
        comp = load_component(verb, component_dirs)
    except LookupError as e:
        return str(e)
    except BaseException as e:  # broken component file: SyntaxError, ImportError, SystemExit...
        return f"cannot load component: {type(e).__name__}: {e}"

    data = {"verb": verb}
    out, err = io.StringIO(), io.StringIO()
    old_cwd = os.getcwd() if cwd is not None else None
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            ret = comp.server(exec_array=[value], data=data, arg_vars=arg_vars)
    except SystemExit as e:
        return _capture_exit_message(e, err.getvalue() + out.getvalue())
    except BaseException as e:  # noqa: BLE001 - anything would abort `orchestrate`
        return f"{type(e).__name__}: {e}"
    finally:
        if old_cwd is not None:
            os.chdir(old_cwd)

    if not isinstance(ret, dict):
        # format_action does data.update(component.server(...)).
        return f"component server() returned {type(ret).__name__}, not a dict"
    data.update(ret)
    known = comp.known_args
    data["timeout"] = getattr(known, "timeout", 600)
    data["run_once"] = getattr(known, "run_once", False)
    try:
        encoded = json.dumps(data)
    except (TypeError, ValueError) as e:
        return f"job data is not JSON-serialisable: {e}"
    if len(encoded) > MAX_JOB_BYTES:
        return f"job is {len(encoded)} bytes as JSON; the server reads at most {MAX_JOB_BYTES}"
    if verb == "RUN" and not str(data.get("command", "")).strip():
        return "RUN has no command left after option parsing"
    return None


def _check_orchestration(label, index, orch, component_dirs, cwd) -> list[JobError]:
    errors: list[JobError] = []

    def err(job, verb, msg):
        errors.append(JobError(label, index, job, verb, msg))

    if not isinstance(orch, dict):
        err(None, None, f"orchestration must be a mapping, got {type(orch).__name__}")
        return errors
    unknown = set(orch) - ORCHESTRATION_KEYS
    if unknown:
        err(None, None, f"unknown orchestration keys {sorted(unknown)}")
    for key in ("targets", "assign"):
        if key in orch and not (
            isinstance(orch[key], list) and all(isinstance(t, str) for t in orch[key])
        ):
            err(None, None, f"{key!r} must be a list of node names")
    if "name" in orch and not isinstance(orch["name"], str):
        err(None, None, "'name' must be a string")
    if "async" in orch and not isinstance(orch["async"], (bool, str)):
        err(None, None, "'async' must be a boolean")
    jobs = orch.get("jobs")
    if not isinstance(jobs, list):
        err(None, None, "'jobs' is required and must be a list")
        return errors

    for j, job in enumerate(jobs):
        if not isinstance(job, dict):
            err(j, None, f"job must be a mapping, got {type(job).__name__}")
            continue
        verbs = [k for k in job if k not in JOB_META_KEYS]
        if len(verbs) != 1:
            err(j, None, f"job must have exactly one VERB key besides {sorted(JOB_META_KEYS)}, got {verbs}")
            continue
        verb = verbs[0]
        value = job[verb]
        bad = False
        if not isinstance(verb, str) or verb != verb.upper() or not verb.strip():
            err(j, str(verb), "verb must be an UPPERCASE string")
            bad = True
        if not isinstance(value, str):
            err(j, str(verb), f"value must be a string, got {type(value).__name__}")
            bad = True
        if "name" in job and not isinstance(job["name"], str):
            err(j, str(verb), "job 'name' must be a string")
            bad = True
        if "assign" in job and not (
            isinstance(job["assign"], list) and all(isinstance(t, str) for t in job["assign"])
        ):
            err(j, str(verb), "job 'assign' must be a list of node names")
            bad = True
        arg_vars = job.get("vars")
        if arg_vars is not None:
            if not isinstance(arg_vars, dict):
                err(j, str(verb), "job 'vars' must be a mapping")
                bad = True
            else:
                try:
                    json.dumps(arg_vars)
                except (TypeError, ValueError) as e:
                    err(j, str(verb), f"job 'vars' is not JSON-serialisable: {e}")
                    bad = True
        if bad:
            continue
        msg = _check_job_with_component(verb, value, arg_vars, component_dirs, cwd)
        if msg:
            err(j, verb, msg)
    return errors


def check_orchestrations(
    path_or_list,
    component_dirs: Sequence[os.PathLike | str] = (),
    cwd: os.PathLike | str | None = None,
) -> list[JobError]:
    """Structured variant of validate_orchestrations().

    cwd: directory ADD/COPY source globs are resolved against (where
    ``directord orchestrate`` would run); default: the current directory.
    """

    errors: list[JobError] = []
    for label, data, load_error in _sources(path_or_list):
        if load_error:
            errors.append(JobError(label, 0, None, None, load_error))
            continue
        if not isinstance(data, list):
            errors.append(
                JobError(label, 0, None, None, f"file must hold a YAML list of orchestrations, got {type(data).__name__}")
            )
            continue
        for i, orch in enumerate(data):
            errors.extend(_check_orchestration(label, i, orch, list(component_dirs), cwd))
    return errors


def validate_orchestrations(
    path_or_list,
    component_dirs: Sequence[os.PathLike | str] = (),
    cwd: os.PathLike | str | None = None,
) -> list[str]:
    """One human-readable error string per bad job/orchestration; [] when all is valid."""

    return [str(e) for e in check_orchestrations(path_or_list, component_dirs, cwd)]
