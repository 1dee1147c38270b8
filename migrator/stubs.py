"""Stub components for modules tripleo-migrate cannot translate.

A stub is a Directord component generated from the module's DOCUMENTATION. Its
flags let a job carry the task's arguments into the job data (where a reviewer,
and whoever implements the module later, can read them), and its client()
always fails with "not implemented: <module> (from <file:line>)".

DOCUMENTATION is read statically (ast + YAML): module code never runs.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ansible
import yaml
from ansible.module_utils.parsing.convert_bool import boolean

from migrator.model import LoadError, Source

# Flags of Directord 0.12.0's ComponentBase.args(), by dest (the tests check this
# list against Directord). A module option with one of these names would be taken
# for Directord's flag, or, given through vars, overwrite it (a `timeout` option
# would become the job's timeout), so such an option travels in vars as
# "<name>_". The same goes for the var that carries the task's file:line.
DIRECTORD_DESTS = ("exec_help", "force_lock", "run_once", "skip_cache", "stderr_arg", "stdout_arg", "timeout")
SOURCE_VAR = "tm_source"
RESERVED = frozenset(DIRECTORD_DESTS + (SOURCE_VAR,))

# Flag types for Ansible option types; list and dict options get no flag (a
# flag value is one whitespace-free token) and come through vars only. Every
# other type (str, path, raw, jsonarg, ...) is read as text.
_FLAG_TYPES = {"bool": "ansible_bool", "int": "ansible_int", "float": "ansible_float"}
_VARS_ONLY_TYPES = frozenset({"list", "dict"})

_FLAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_JINJA = ("{{", "{%", "{#")

_ANSIBLE_DIR = Path(ansible.__file__).parent
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # YAML 1.1, as Ansible reads docs


@dataclass(frozen=True)
class ModuleDoc:
    """The parts of a module's DOCUMENTATION a stub needs.

    options maps each option name to {type, required, default, choices, aliases,
    elements, description}; type defaults to "str" as in Ansible, description is
    one string. missing_fragments names doc fragments that could not be read
    statically (only ansible-core's own are): their options are not listed.
    """

    name: str
    short_description: str
    options: dict[str, dict[str, Any]]
    source: Source  # the DOCUMENTATION assignment
    missing_fragments: tuple[str, ...] = ()


class _DocError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def read_module_doc(path: Path, errors: list[LoadError] | None = None) -> ModuleDoc | None:
    """Read a module file's DOCUMENTATION without importing or running it.

    Returns None when it cannot be read, appending the reason (file:line) to errors.
    """
    path = Path(path)
    return _read_module_doc(path, path.as_posix(), errors)


def find_module_doc(name: str, module_dirs: list[Path], errors: list[LoadError] | None = None) -> ModuleDoc | None:
    """Find and read the DOCUMENTATION of the module a task names.

    A short name (or ansible.legacy.X) is looked for as <name>.py in module_dirs,
    in order, then among ansible-core's modules, as Ansible resolves it;
    ansible.builtin.X only among ansible-core's. Modules of other collections are
    not looked for. None without an error means not found; None with an error
    appended means found but unreadable.
    """
    short = name.rsplit(".", 1)[-1]
    if not short.isidentifier():  # a name from a task, never a path
        return None
    custom = "." not in name or name.startswith("ansible.legacy.")
    for path in [Path(d) / f"{short}.py" for d in module_dirs] if custom else []:
        if path.is_file():
            return _read_module_doc(path, path.as_posix(), errors)
    builtin = _ANSIBLE_DIR / "modules" / f"{short}.py"
    if (custom or name.startswith("ansible.builtin.")) and builtin.is_file():
        # Shown relative to site-packages: output must not depend on the machine.
        return _read_module_doc(builtin, f"ansible/modules/{short}.py", errors)
    return None


def _read_module_doc(path: Path, shown: str, errors: list[LoadError] | None) -> ModuleDoc | None:
    try:
        doc, line = _documentation(path, "DOCUMENTATION")
        options = _options(doc.get("options"), line)
        options, missing = _merge_fragments(options, doc.get("extends_documentation_fragment"))
    except _DocError as exc:
        if errors is not None:
            errors.append(LoadError(Source(shown, exc.line), exc.message))
        return None
    return ModuleDoc(
        name=path.stem,  # the name Ansible resolves, whatever the doc's `module:` says
        short_description=_one_line(str(doc.get("short_description") or "")),
        options=options,
        source=Source(shown, line),
        missing_fragments=missing,
    )


def _documentation(path: Path, var: str, class_name: str | None = None) -> tuple[dict, int]:
    """The YAML mapping assigned to `var` (in `class_name`'s body if given), and its line.

    Not ansible.parsing.plugin_docs.read_docstring, although it is static too: it
    also parses RETURN (three tripleo-ansible modules would lose their options to a
    broken RETURN), needs absolute paths in 2.19, prints warnings on stderr and
    returns Ansible-tagged types.
    """
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise _DocError(1, f"cannot read the module: {exc.strerror or exc}") from exc
    body = None if class_name else _assignment_alone(source, var)
    if body is None:
        try:
            body = ast.parse(source, filename=str(path)).body
        except (SyntaxError, ValueError, RecursionError) as exc:
            message = getattr(exc, "msg", None) or str(exc)
            raise _DocError(getattr(exc, "lineno", None) or 1, f"not valid Python: {_one_line(message)}") from exc
    if class_name:
        classes = [s for s in body if isinstance(s, ast.ClassDef) and s.name == class_name]
        if not classes:
            raise _DocError(1, f"no class {class_name}")
        body = classes[-1].body
    assignments = [
        stmt
        for stmt in body
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == var for t in stmt.targets)
    ]
    if not assignments:
        raise _DocError(1, f"no {var} in the module")
    stmt = assignments[-1]  # the last assignment wins, as when Python runs the file
    try:
        value = ast.literal_eval(stmt.value)
    except (ValueError, TypeError, SyntaxError, RecursionError) as exc:
        message = f"{var} is not a literal: it would take running the module to know it"
        raise _DocError(stmt.lineno, message) from exc
    if isinstance(value, str):
        try:
            value = yaml.load(value, Loader=_YAML_LOADER)
        except yaml.MarkedYAMLError as exc:
            # The string starts on the line of its opening quotes.
            line = stmt.value.lineno + exc.problem_mark.line if exc.problem_mark else stmt.lineno
            raise _DocError(line, f"{var} is not valid YAML: {exc.problem or exc.context}") from exc
        except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as exc:
            # ValueError/OverflowError: a scalar YAML resolves but cannot build (a date 2022-13-45).
            raise _DocError(stmt.lineno, f"{var} is not valid YAML: {_one_line(str(exc))}") from exc
    if not isinstance(value, dict):
        raise _DocError(stmt.lineno, f"{var} is not a mapping")
    return value, stmt.lineno


def _assignment_alone(source: bytes, var: str) -> list[ast.stmt] | None:
    """The last top-level `var = ...` statement, parsed on its own (with its real
    line number), or None to parse the whole module.

    A module is mostly code; parsing only the assignment is what makes rendering
    a hundred stubs cheap. Anything unusual falls back to the full parse.
    """
    starts = [m.start() for m in re.finditer(rb"^" + re.escape(var.encode()) + rb"\s*=", source, re.M)]
    if not starts:
        return None
    start = starts[-1]
    line = source.count(b"\n", 0, start)
    try:
        # the statement ends at the first logical NEWLINE; the string is one token
        tokens = tokenize.tokenize(io.BytesIO(source[start:]).readline)
        end = next(t for t in tokens if t.type in (tokenize.NEWLINE, tokenize.ENDMARKER)).end
        text = b"".join(source[start:].splitlines(keepends=True)[:end[0]])
        body = ast.parse(b"\n" * line + text).body
    except (SyntaxError, ValueError, RecursionError, StopIteration, tokenize.TokenError):
        return None
    if len(body) != 1 or not isinstance(body[0], ast.Assign):
        return None
    return body


def _options(raw: Any, line: int) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _DocError(line, "DOCUMENTATION options is not a mapping")
    options = {}
    for name, spec in raw.items():
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            raise _DocError(line, f"DOCUMENTATION option {name!r} is not a mapping")
        options[str(name)] = spec
    return options


def _normalized(spec: dict) -> dict[str, Any]:
    description = spec.get("description") or ""
    if isinstance(description, list):
        description = " ".join(str(part) for part in description)
    aliases = spec.get("aliases") or []
    choices = spec.get("choices")
    return {
        "type": str(spec.get("type") or "str"),
        "required": boolean(spec.get("required", False), strict=False),
        "default": spec.get("default"),
        # Docs may give choices as {value: description}.
        "choices": list(choices) if isinstance(choices, (list, dict)) else None,
        "aliases": [str(a) for a in aliases] if isinstance(aliases, list) else [str(aliases)],
        "elements": str(spec["elements"]) if spec.get("elements") else None,
        "description": _one_line(str(description)),
    }


def _merge_fragments(options: dict[str, dict], refs: Any) -> tuple[dict[str, dict[str, Any]], tuple[str, ...]]:
    """Options with those of ansible-core's doc fragments merged in, as Ansible's
    add_fragments does (the module's own fields win), and the fragments not found."""
    if isinstance(refs, str):
        refs = refs.split(",")
    elif not isinstance(refs, list):
        refs = [] if refs is None else [refs]
    merged: dict[str, dict] = {}
    missing = []
    for ref in [str(r).strip() for r in refs]:
        fragment = _builtin_fragment_options(ref)
        if fragment is None:
            missing.append(ref)
        for name, spec in (fragment or {}).items():
            merged[name] = {**merged.get(name, {}), **spec}
    for name, spec in options.items():
        merged[name] = {**merged.get(name, {}), **spec}
    return {name: _normalized(merged[name]) for name in sorted(merged)}, tuple(missing)


def _builtin_fragment_options(ref: str) -> dict[str, dict] | None:
    """Options of an ansible-core doc fragment ("files", "ansible.builtin.files",
    "action_common_attributes.flow"), read statically; None if not one of them."""
    slug = ref.removeprefix("ansible.builtin.").removeprefix("ansible.legacy.")
    fragments = _ANSIBLE_DIR / "plugins" / "doc_fragments"
    # As Ansible does: the whole slug names a fragment, else its last part names a variable.
    name, var = slug, "DOCUMENTATION"
    if not (fragments / f"{slug}.py").is_file() and "." in slug:
        name, var = slug.rsplit(".", 1)
        var = var.upper()
    if "." in name or not (fragments / f"{name}.py").is_file():
        return None
    try:
        doc, line = _documentation(fragments / f"{name}.py", var, class_name="ModuleDocFragment")
        return _options(doc.get("options"), line)
    except _DocError:
        return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------
# The job that calls a stub


def stub_job(verb: str, module_name: str, args: dict[str, Any], source: str) -> tuple[str, dict[str, Any]]:
    """The job string and vars that call the stub `verb` for a task of `module_name`.

    A scalar whose text is one whitespace-free token, holds no Jinja and does not
    start with "-" goes as `--name value`; everything else (lists, dicts, None,
    text with spaces or Jinja, values that could be read as a flag) goes through
    vars under its wire name, as does any name that is not a plain identifier.
    Directord splits a job string on whitespace and lets any token equal to a flag
    take effect wherever it stands; vars keep a value whole. vars[SOURCE_VAR] is
    the task's file:line, which the stub's failure message names.
    """
    _check_verb(verb)
    if not isinstance(args, dict):
        raise TypeError(f"{module_name}: module arguments must be a mapping, not {type(args).__name__}")
    flags = []
    job_vars: dict[str, Any] = {SOURCE_VAR: source}
    for name in sorted(args, key=str):
        value = args[name]
        if _flag_safe(name, value):
            flags += [_flag(name), str(value)]
        else:
            job_vars[_wire_name(name)] = value
    return " ".join(flags), job_vars


def _flag_safe(name: Any, value: Any) -> bool:
    if not _flaggable(name) or not isinstance(value, (str, int, float)):  # bool is an int
        return False
    text = str(value)
    # text.split() is exactly how Directord tokenizes a job string.
    return text.split() == [text] and not text.startswith("-") and not any(j in text for j in _JINJA)


def _flaggable(name: Any) -> bool:
    return isinstance(name, str) and bool(_FLAG_NAME.fullmatch(name)) and name not in RESERVED


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _wire_name(name: Any) -> Any:
    """The argparse dest / vars key of an option."""
    return f"{name}_" if name in RESERVED else name


def _check_verb(verb: str) -> None:
    # Directord imports the component from `<verb lower>.py`: no path, no punctuation.
    if not (verb.isidentifier() and verb == verb.upper()):
        raise ValueError(f"not a Directord verb for a stub: {verb!r} (expected like STUB_CEPH_KEY)")


# ---------------------------------------------------------------------------
# The stub component's source

_HELPERS = {
    "ansible_bool": '''
def ansible_bool(text):
    """A flag value as Ansible reads a bool; anything else stays text.

    Leniency on purpose, here and in ansible_int/ansible_float: Ansible rejects a
    bad value when the task runs (and a stub fails then anyway), while raising here
    would make Directord reject the whole orchestration.
    """
    lowered = text.lower()
    if lowered in ("y", "yes", "on", "1", "1.0", "true", "t"):
        return True
    if lowered in ("n", "no", "off", "0", "0.0", "false", "f"):
        return False
    return text
''',
    "ansible_int": '''
def ansible_int(text):
    """A flag value as Ansible reads an int ("8", "8.0", "8e0"); anything else stays text."""
    try:
        number = decimal.Decimal(text)
        if number == number.to_integral_value():
            return int(number)
    except (ArithmeticError, ValueError):
        pass
    return text
''',
    "ansible_float": '''
def ansible_float(text):
    """A flag value as Ansible reads a float; anything else stays text."""
    try:
        return float(text)
    except ValueError:
        return text
''',
}

_COMMON = '''
def option_name(key):
    """The module's option name for a flag dest or vars key."""
    if isinstance(key, str) and key.endswith("_") and key[:-1] in RESERVED:
        key = key[:-1]
    return ALIASES.get(key, key)


def undeclared_flags(tokens):
    """Pair up the `--name value` tokens the parser did not know.

    Options the DOCUMENTATION does not declare (no DOCUMENTATION, a missing doc
    fragment, a typo in the task) thus still reach the job data, as text.
    """
    found, stray = {}, []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else "-"
        if token.startswith("--") and not following.startswith("-"):
            found[token[2:].replace("-", "_")] = following
            index += 2
        else:
            stray.append(token)
            index += 1
    return found, stray
'''

_COMPONENT = '''

class Component(components.ComponentBase):
    def __init__(self):
        super().__init__(desc=DESCRIPTION)
        self.cacheable = False  # a stub must fail on every run, never be skipped as done

    def args(self):
        """Flags for the scalar options; absent ones stay out of the job data."""
        super().args()
{arguments}
    def server(self, exec_array, data, arg_vars):
        """Put the module arguments the job gives into data["module_args"]."""
        super().server(exec_array=exec_array, data=data, arg_vars=arg_vars)
        given, stray = undeclared_flags(self.unknown_args)
        # Declared flags, and every vars key: exec_parser set those on known_args too.
        given.update(
            (key, value)
            for key, value in vars(self.known_args).items()
            if key not in RESERVED
        )
        module_args = {{option_name(key): value for key, value in given.items()}}
        # Directord hashes the job data as JSON: make it so (a YAML date in vars is not).
        data["module_args"] = json.loads(json.dumps(module_args, default=str))
        if stray:
            data["unparsed"] = stray
        if arg_vars and SOURCE_VAR in arg_vars:
            data[SOURCE_VAR] = str(arg_vars[SOURCE_VAR])
        return data

    def client(self, cache, job):
        """Fail: the module is not implemented.

        Never raises, whatever the job data: in Directord 0.12.0 an exception
        leaves the job processing forever (zeromq) or kills the client (grpcd).
        """
        try:
            source = str(job[SOURCE_VAR])
        except Exception:
            source = "unknown source"
        return None, "not implemented: {{}} (from {{}})".format(MODULE, source), False, None
'''


def render_stub(verb: str, doc: ModuleDoc | None, module_name: str) -> str:
    """Source of the Directord component `<verb lower>.py` standing in for a module.

    Scalar options become typed flags (never required: a value may come through
    vars instead, and an absent one is Ansible's business); list and dict options,
    and options named like Directord's own flags, are listed as vars-only.
    client() fails with "not implemented: <module_name> (from <task file:line>)".
    Deterministic: the same inputs give the same text.
    """
    _check_verb(verb)
    options = doc.options if doc else {}
    # An alias that is another option's name, or an earlier option's alias, would make
    # argparse refuse the parser (conflicting flags) or misname a value: it is dropped.
    aliases: dict[str, str] = {}
    for name, option in options.items():
        for alias in option["aliases"]:
            if alias not in options:
                aliases.setdefault(alias, name)
    arguments, vars_only, helpers = [], [], set()
    for name, option in options.items():
        if option["type"] in _VARS_ONLY_TYPES or not _flaggable(name):
            vars_only.append(_comment(f"{_wire_name(name)}: {_help(option)}", "        #   "))
            continue
        flag_type = _FLAG_TYPES.get(option["type"], "str")
        if flag_type != "str":
            helpers.add(flag_type)
        names = [name] + [a for a, owner in aliases.items() if owner == name and _flaggable(a)]
        arguments.append(_add_argument(name, [_flag(n) for n in names], option, flag_type))

    description = f"Stub for {module_name}" + (f": {doc.short_description}" if doc and doc.short_description else "")
    # Only what the file uses: argparse for flags (SUPPRESS), decimal for ansible_int.
    imports = ["argparse"] * bool(arguments) + ["decimal"] * ("ansible_int" in helpers) + ["json"]
    if vars_only:
        vars_only.insert(0, "        # Through the job's vars only, under these keys:\n")
    top = [
        _header(doc, module_name),
        "".join(f"import {name}\n" for name in imports),
        "from directord import components\n",
        f"MODULE = {module_name!r}\n"
        f"DESCRIPTION = {_one_line(description)!r}\n"
        f"SOURCE_VAR = {SOURCE_VAR!r}\n"
        "# Directord's own flags and the source var: never module options; an option so\n"
        "# named travels in vars as '<name>_'.\n"
        + _literal_lines("RESERVED = frozenset([", [repr(n) for n in sorted(RESERVED)], "])")
        + _literal_lines("ALIASES = {", [f"{a!r}: {name!r}" for a, name in sorted(aliases.items())], "}"),
    ]
    component = _COMPONENT.format(arguments="".join(arguments + vars_only))
    body = [*(_HELPERS[helper] for helper in sorted(helpers)), _COMMON, component]
    # One blank line between the top blocks, two around functions and the class (PEP 8).
    top_text = "\n".join(part.strip("\n") + "\n" for part in top)
    return top_text + "\n\n" + "\n\n\n".join(part.strip("\n") for part in body) + "\n"


def _literal_lines(opening: str, items: list[str], closing: str) -> str:
    return opening + "".join(f"\n    {item}," for item in items) + ("\n" if items else "") + closing + "\n"


def _header(doc: ModuleDoc | None, module_name: str) -> str:
    lines = [
        "Generated by tripleo-migrate: a stub component, not an implementation.",
        f"Ansible module: {module_name}.",
    ]
    if doc is None:
        lines.append("No DOCUMENTATION was found: every argument arrives untyped.")
    else:
        lines.append(f"Options from the DOCUMENTATION at {doc.source}.")
        if doc.missing_fragments:
            lines.append(f"Doc fragments not read: {', '.join(doc.missing_fragments)}; their options arrive untyped.")
    lines.append(
        "client() always fails with 'not implemented'. Scalar arguments come as flags, the others "
        "through the job's vars (migrator/stubs.py, stub_job)."
    )
    return "".join(_comment(line, "# ") for line in lines)


def _add_argument(name: str, flags: list[str], option: dict[str, Any], flag_type: str) -> str:
    # argparse %-formats help text: a literal % must be doubled.
    help_text = _help(option).replace("%", "%%")
    # Single-spaced text with no word broken: joining the lines with spaces gives it back.
    lines = textwrap.wrap(help_text, 64, break_long_words=False, break_on_hyphens=False) or [""]
    pieces = [line + " " for line in lines[:-1]] + lines[-1:]
    return (
        "        self.parser.add_argument(\n"
        + "".join(f"            {flag!r},\n" for flag in flags)
        + f"            dest={name!r},\n"
        f"            type={flag_type},\n"
        "            default=argparse.SUPPRESS,\n"
        "            help=(\n" + "".join(f"                {piece!r}\n" for piece in pieces) + "            ),\n"
        "        )\n"
    )


def _help(option: dict[str, Any]) -> str:
    facts = [option["type"] + (f" of {option['elements']}" if option["elements"] else "")]
    if option["required"]:
        facts.append("required")
    if option["default"] is not None:
        facts.append(f"default: {option['default']}")
    if option["choices"]:
        facts.append("choices: " + ", ".join(str(c) for c in option["choices"]))
    if option["aliases"]:
        facts.append("aliases: " + ", ".join(option["aliases"]))
    return _one_line(f"{option['description']} [{'; '.join(facts)}]")


def _comment(text: str, prefix: str) -> str:
    """Text as comment lines. Its whitespace, newlines included, collapses: nothing escapes the comment."""
    lines = textwrap.wrap(
        _one_line(text),
        88,
        initial_indent=prefix,
        subsequent_indent=prefix + "  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "".join(line + "\n" for line in lines)
