"""tripleo-heat-templates: the Ansible task lists a deployment template embeds.

A THT service template (``deployment/**/*.yaml``, Heat ``heat_template_version``)
carries Ansible tasks in ``outputs.role_data.value.<key>_tasks`` (and a few
templates, the logging ones, in ``outputs.<name>_tasks``). A list is written
literally, or wrapped in Heat: ``list_concat``/``list_concat_unique`` of lists,
``if: [condition, then, else]``, ``{description, value}``, ``map_merge`` of
role_data mappings; items of a list may be lists again (TripleO flattens them).

Reading a template (``load_template``) gives one ``TaskList`` per key with the
raw task items, after two rewrites that keep every mapping's line:
- Heat functions inside tasks become Jinja variables where their meaning is
  plain (``get_param`` of a parameter, ``str_replace`` of a literal template
  with literal or ``get_param`` params); every other function becomes a named
  variable ``heat_<function>_<line>`` that the user must supply, with an error
  finding. Nothing is evaluated.
- ``when: step|int == N`` (alone or as one ``and`` term) is taken off the task
  or block and recorded as its deploy step: ordering, not a run-time condition.

``convert`` writes each list to ``tht/<template path>/<key>.yaml``: one
orchestration item per deploy step (``Orchestration.step``; ``None`` for a list
that is not ordered by step), each led by the step variable and the Heat
parameters' defaults, then the tasks translated by the shared Converter.

``*.j2.yaml`` templates are first rendered as THT's tools/process-templates.py
renders a plain ``.j2.yaml`` (roles_data.yaml and the default network data of the
THT tree the template lies in), in Jinja's sandbox; lines map back to the
template by a line diff.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import jinja, yamlio
from .model import Block, Finding, Node, Orchestration, Severity, Source, ThtOrigin, realpath
from .discover import NETWORK_DATA, ROLES_DATA, tht_root
from .yamlio import LineDict, LineList

HEAT_FUNCTIONS = frozenset({
    "and", "contains", "digest", "equals", "filter", "get_attr", "get_file", "get_param", "get_resource",
    "if", "list_concat", "list_concat_unique", "list_join", "make_url", "map_merge", "map_replace", "not",
    "or", "repeat", "resource_facade", "str_replace", "str_replace_strict", "str_replace_vstrict",
    "str_split", "yaql",
})
# Keys ending in _tasks whose value is not an Ansible task list.
NOT_TASKS = {
    "container_puppet_tasks": "a map of deploy steps to container-puppet settings, not Ansible tasks",
    "docker_puppet_tasks": "a map of deploy steps to container-puppet settings, not Ansible tasks",
}
# Keywords whose value is a bare Jinja expression (a get_param there is a name, not "{{ name }}").
CONDITION_KEYWORDS = frozenset({"when", "failed_when", "changed_when", "until"})

_STEP = re.compile(r"""^\(?\s*step\s*(?:\|\s*int\s*)?\)?\s*==\s*(?:(\d+)|'(\d+)'|"(\d+)")$""")
_STEP_WORD = re.compile(r"\bstep\b")
_IDENT = re.compile(r"^[A-Za-z_]\w*$")


# -- the model of one template --------------------------------------------------


@dataclass
class HeatParameter:
    name: str
    type: str
    default: Any
    has_default: bool
    description: str
    line: int


@dataclass
class Reference:
    """A list item or list that is another resource's tasks (get_attr ...): not inlined."""

    line: int
    text: str  # the Heat function, short
    target: str | None  # the template the resource is, when its type is a file in the tree
    reason: str | None  # why it is not followed, when target is None


@dataclass
class TaskList:
    key: str  # e.g. deploy_steps_tasks, or the output's name
    where: str  # outputs.role_data.value.<key> or outputs.<name>
    line: int
    items: list[Any] = field(default_factory=list)  # raw task items, rewritten (a LineList)
    references: list[Reference] = field(default_factory=list)
    steps: dict[int, int] = field(default_factory=dict)  # item line -> step it is gated on
    findings: dict[int, list[Finding]] = field(default_factory=dict)  # item line -> Heat findings
    parameters: set[str] = field(default_factory=set)  # Heat parameters the tasks read
    unresolved: dict[str, tuple[int, str]] = field(default_factory=dict)  # variable -> (line, Heat function)


@dataclass
class Template:
    path: Path
    display: str  # as the user sees it (relative to the working directory)
    rel: str  # its path under OUT/tht/
    service: str | None = None
    parameters: dict[str, HeatParameter] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    lists: list[TaskList] = field(default_factory=list)
    rendered: bool = False  # a .j2.yaml rendered first
    line_map: list[int] | None = None  # rendered line (0-based) -> template line (1-based)

    def line(self, rendered_line: int) -> int:
        if self.line_map is None or not rendered_line:
            return rendered_line
        index = min(max(rendered_line - 1, 0), len(self.line_map) - 1)
        return self.line_map[index] if self.line_map else rendered_line


# -- reading --------------------------------------------------------------------


def load_template(project, path: Path, base: Path) -> Template | None:
    """Read one template's task lists; every problem is a LoadError in project."""
    display = project.display(path)
    rel = display if not display.startswith("..") else _relative(path, base)
    template = Template(path=path, display=display, rel=rel)
    if path.name.endswith(".j2.yaml"):
        rendered_sibling = path.with_name(path.name[: -len(".j2.yaml")] + ".yaml")
        if rendered_sibling.is_file():
            project.error(Source(display, 1), f"Jinja template not converted: {rendered_sibling.name} beside it "
                          "(rendered by process-templates.py) is converted instead")
            return None
        data = _render_j2(project, template)
        if data is None:
            return None
    else:
        try:
            data = yamlio.load_file(path)
        except yamlio.YamlError as exc:
            project.error(Source(display, exc.line), str(exc))
            return None
    if not isinstance(data, dict):
        project.error(Source(display, 1), f"a Heat template must be a mapping, not {yamlio.kind(data)}")
        return None
    template.parameters = _parameters(data.get("parameters"), template)
    resources = data.get("resources")
    template.resources = resources if isinstance(resources, dict) else {}
    outputs = data.get("outputs")
    if outputs is None:
        return template
    if not isinstance(outputs, dict):
        project.error(Source(display, template.line(getattr(outputs, "line", 1) or 1)), "outputs must be a mapping")
        return template
    role_data = outputs.get("role_data")
    value = role_data.get("value") if isinstance(role_data, dict) else None
    lists: dict[str, tuple[Any, int]] = {}
    for mapping in _role_data_mappings(value, template, project):
        service = mapping.get("service_name")
        if isinstance(service, str):
            template.service = service
        for key, listed in mapping.items():
            if isinstance(key, str) and key.endswith("_tasks"):
                lists.pop(key, None)  # map_merge: a later mapping's key wins, in its place
                lists[key] = (listed, getattr(listed, "line", 0) or getattr(mapping, "line", 1))
    for key, (listed, line) in lists.items():
        _add_list(project, template, key, f"outputs.role_data.value.{key}", listed, line)
    taken = {tl.key for tl in template.lists}
    for name, output in outputs.items():
        if name == "role_data" or not (isinstance(name, str) and name.endswith("_tasks")):
            continue
        listed = output.get("value") if isinstance(output, dict) and "value" in output else output
        key = name if name not in taken else f"outputs.{name}"
        _add_list(project, template, key, f"outputs.{name}", listed,
                  getattr(listed, "line", 0) or getattr(output, "line", 1) or 1)
    return template


def _relative(path: Path, base: Path) -> str:
    try:
        return str(realpath(path).relative_to(realpath(base)))
    except ValueError:
        return path.name


def _parameters(section: Any, template: Template) -> dict[str, HeatParameter]:
    found: dict[str, HeatParameter] = {}
    if not isinstance(section, dict):
        return found
    for name, spec in section.items():
        spec = spec if isinstance(spec, dict) else {}
        found[str(name)] = HeatParameter(
            name=str(name), type=str(spec.get("type", "string")), default=spec.get("default"),
            has_default="default" in spec, description=" ".join(str(spec.get("description") or "").split()),
            line=template.line(getattr(spec, "line", 0) or getattr(section, "line", 1) or 1))
    return found


def _role_data_mappings(value: Any, template: Template, project) -> list[dict]:
    """role_data's value: a mapping, or map_merge of mappings (the literal ones are read;
    the others are another resource's role_data, converted from its own template)."""
    if value is None:
        return []
    if isinstance(value, dict) and _function(value) == "map_merge":
        args = value["map_merge"]
        return [part for part in (args if isinstance(args, list) else [])
                if isinstance(part, dict) and _function(part) is None]
    if isinstance(value, dict) and _function(value) is None:
        return [value]
    project.error(Source(template.display, template.line(getattr(value, "line", 1) or 1)),
                  f"outputs.role_data.value is {_short(value)}; its task lists cannot be read at conversion")
    return []


def _function(value: Any) -> str | None:
    """The Heat function a mapping is (one key, a function's name), or None."""
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key in HEAT_FUNCTIONS:
            return key
    return None


def _short(value: Any, limit: int = 100) -> str:
    """A value as one line of YAML flow style: {get_attr: [Res, attr]}."""
    if isinstance(value, str):
        text = " ".join(value.split())
    else:
        import yaml

        text = " ".join(yaml.safe_dump(yamlio.plain(value), default_flow_style=True, width=1 << 20).split())
        text = text.removesuffix(" ...")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _add_list(project, template: Template, key: str, where: str, listed: Any, line: int) -> None:
    """line: in the text that was parsed (rendered, for a .j2.yaml); mapped when shown."""
    if listed is None:
        return
    if key in NOT_TASKS and not isinstance(listed, list):
        project.error(Source(template.display, template.line(line)), f"{key} not converted: {NOT_TASKS[key]}")
        return
    tl = TaskList(key=key, where=where, line=template.line(line))
    items = LineList()
    items.line = tl.line
    _collect(project, template, tl, listed, items, conditions=(), line=line)
    tl.items = items
    template.lists.append(tl)


def _collect(project, template: Template, tl: TaskList, value: Any, items: LineList,
             conditions: tuple[tuple[str, str], ...], line: int) -> None:
    """conditions: (Jinja test, what it stands for) of the Heat ifs around value."""
    """Flatten a (Heat-wrapped) task list into items, rewriting each task."""
    line = getattr(value, "line", 0) or line
    if isinstance(value, list):
        lines = getattr(value, "item_lines", None) or [line] * len(value)
        for item, item_line in zip(value, lines):
            _collect_item(project, template, tl, item, items, conditions, item_line)
        return
    function = _function(value)
    if function in ("list_concat", "list_concat_unique"):
        args = value[function]
        if isinstance(args, list):
            lines = getattr(args, "item_lines", None) or [line] * len(args)
            for part, part_line in zip(args, lines):
                _collect(project, template, tl, part, items, conditions, part_line)
            return
    elif function == "if":
        args = value["if"]
        if isinstance(args, list) and len(args) in (2, 3):
            term = _condition_term(template, tl, args[0], template.line(line))
            text = _short(args[0], 60)
            for branch, truth in zip(args[1:], (True, False)):
                if branch is not None:
                    gate = term if truth else f"not ({term})"
                    _collect(project, template, tl, branch, items,
                             conditions + ((gate, f"Heat condition {text} is {str(truth).lower()}"),),
                             getattr(branch, "line", 0) or line)
            return
    elif isinstance(value, dict) and set(value) <= {"description", "value"} and "value" in value:
        _collect(project, template, tl, value["value"], items, conditions, line)
        return
    elif value is None:
        return
    _reference(project, template, tl, value, line)


def _condition_term(template: Template, tl: TaskList, condition: Any, line: int) -> str:
    """A Heat if's condition as a Jinja test: a get_param as its expression, anything else
    (a condition's name, an inline condition) as a variable that must be supplied."""
    if _function(condition) == "get_param":
        expression, _ = _Rewriter(template, tl, []).get_param(condition["get_param"])
        if expression is not None:
            return f"{expression}|bool"
    if isinstance(condition, str) and condition:
        variable = "heat_condition_" + re.sub(r"\W", "_", condition)
        tl.unresolved[variable] = (line, f"Heat condition {condition} (the template's conditions section)")
    else:
        variable = f"heat_if_condition_{line}"
        tl.unresolved[variable] = (line, f"Heat condition {_short(condition)}")
    return f"{variable}|bool"


def _collect_item(project, template: Template, tl: TaskList, item: Any, items: LineList,
                  conditions: tuple[tuple[str, str], ...], line: int) -> None:
    if isinstance(item, list) or (_function(item) is not None):
        _collect(project, template, tl, item, items, conditions, getattr(item, "line", 0) or line)
        return
    if not isinstance(item, dict):
        items.append(item)  # the loader reports it at its line
        items.item_lines.append(template.line(line))
        return
    rewritten = _rewrite_task(template, tl, item, conditions)
    items.append(rewritten)
    items.item_lines.append(rewritten.line)


def _reference(project, template: Template, tl: TaskList, value: Any, line: int) -> None:
    line = template.line(line)
    text = _short(value)
    function = _function(value)
    target = reason = None
    if function == "get_attr" and isinstance(value["get_attr"], list) and value["get_attr"]:
        resource = value["get_attr"][0]
        spec = template.resources.get(resource) if isinstance(resource, str) else None
        kind = spec.get("type") if isinstance(spec, dict) else None
        if spec is None:
            reason = f"resource {resource} is not defined in this template"
        elif isinstance(kind, str) and kind.endswith((".yaml", ".yml")):
            found = realpath(template.path.parent / kind)
            jinja_source = found.with_name(found.name.rsplit(".", 1)[0] + ".j2.yaml")
            if found.is_file():
                target = project.display(found)
            elif jinja_source.is_file():  # process-templates.py renders it to that name
                target = project.display(jinja_source)
            else:
                reason = f"resource {resource}'s template {kind} does not exist"
        else:
            reason = (f"resource {resource} is of type {_short(kind, 60)}, which the resource registry "
                      "maps to a template (the registry is not read)")
    else:
        reason = "a Heat function with no static value"
    tl.references.append(Reference(line, text, target, reason))
    if target is None:
        project.error(Source(template.display, line),
                      f"{tl.key}: tasks from {text} are not converted here: {reason}")


# -- rewriting one task: Heat functions and steps ------------------------------------


class _Rewriter:
    def __init__(self, template: Template, tl: TaskList, findings: list[Finding]):
        self.template = template
        self.tl = tl
        self.findings = findings

    def value(self, value: Any, condition: bool = False) -> Any:
        function = _function(value)
        if function is not None:
            return self.function(function, value, condition)
        if isinstance(value, dict):
            copy = LineDict()
            copy.line = self.template.line(getattr(value, "line", 0))
            copy.duplicates = [(k, self.template.line(n)) for k, n in getattr(value, "duplicates", [])]
            for key, item in value.items():
                copy[key] = self.value(item, condition=key in CONDITION_KEYWORDS)
            return copy
        if isinstance(value, list):
            copy = LineList()
            copy.line = self.template.line(getattr(value, "line", 0))
            copy.item_lines = [self.template.line(n) for n in getattr(value, "item_lines", [])]
            copy.extend(self.value(item, condition) for item in value)
            return copy
        return value

    def function(self, name: str, value: dict, condition: bool) -> Any:
        line = self.template.line(getattr(value, "line", 0))
        args = value[name]
        reason = None
        if name == "get_param":
            expression, reason = self.get_param(args)
            if expression is not None:
                self.findings.append(Finding("heat", Severity.INFO, f"get_param {_short(args, 60)} at line {line} "
                                             f"reads Jinja variable {expression}"))
                return expression if condition else "{{ " + expression + " }}"
        elif name in STR_REPLACE:
            text, read, reason = self.str_replace(args)
            if text is not None:
                self.findings.append(Finding("heat", Severity.INFO,
                                             f"{name} at line {line} became a Jinja template"
                                             + (f" reading {', '.join(read)}" if read else "")))
                return text
        return self.unresolved(name, value, line, condition, reason)

    def get_param(self, args: Any) -> tuple[str | None, str | None]:
        """get_param NAME or [NAME, key, index...] as a Jinja expression, when plain; else why not."""
        path = args if isinstance(args, list) else [args]
        if not path or not isinstance(path[0], str) or not _IDENT.match(path[0]):
            return None, f"parameter name {_short(path[0] if path else args, 40)} is not a plain name"
        if path[0] not in self.template.parameters:
            return None, f"{path[0]} is not a parameter this template declares"
        expression = path[0]
        for part in path[1:]:
            if isinstance(part, bool) or not isinstance(part, (str, int)):
                return None, f"the path into {path[0]} holds {_short(part, 40)}, not a key or index"
            expression += f"[{part!r}]" if isinstance(part, str) else f"[{part}]"
        self.tl.parameters.add(path[0])
        return expression, None

    def str_replace(self, args: Any) -> tuple[str | None, list[str], str | None]:
        """str_replace of a literal template with literal, get_param or such str_replace params,
        as Heat does it: longest key first, and replaced text is never searched again.
        Returns (text, parameters read, why not)."""
        if not isinstance(args, dict) or not isinstance(args.get("template"), str):
            return None, [], "its template is not literal text"
        params = args.get("params")
        if not isinstance(params, dict) or any(not isinstance(k, str) or not k for k in params):
            return None, [], "its params are not a mapping of names"
        text = args["template"]
        replacements: dict[str, tuple[str, str]] = {}  # key -> (kind, value): text, expr or template
        read: list[str] = []
        for key, param in params.items():
            if isinstance(param, (str, int, float)) and not isinstance(param, bool):
                replacements[key] = ("text", str(param))
                continue
            function = _function(param)
            if function == "get_param":
                expression, reason = self.get_param(param["get_param"])
                if expression is None:
                    return None, [], f"param {key}: {reason}"
                replacements[key] = ("expr", expression)
                read.append(expression)
            elif function in STR_REPLACE:
                replacement, inner, reason = self.str_replace(param[function])
                if replacement is None:
                    return None, [], f"param {key}: {reason}"
                replacements[key] = ("template", replacement)
                read.extend(inner)
            else:
                return None, [], f"param {key} is {_short(param, 60)}, which has no value at conversion"
        keys = sorted(sorted(replacements), key=len, reverse=True)
        result, reason = _substitute(text, _heat_matches(text, keys, 0), replacements)
        if result is None:
            return None, [], reason
        return result, read, None

    def unresolved(self, name: str, value: dict, line: int, condition: bool, reason: str | None = None) -> str:
        variable = f"heat_{name}_{line}"
        text = _short(value)
        suffix = 2
        while variable in self.tl.unresolved and self.tl.unresolved[variable][1] != text:
            variable = f"heat_{name}_{line}_{suffix}"
            suffix += 1
        self.tl.unresolved[variable] = (line, text)
        self.findings.append(Finding("heat", Severity.ERROR,
                                     f"{name} at line {line} ({text}) has no value at conversion"
                                     + (f": {reason}" if reason else "")
                                     + f"; the task reads variable {variable} instead, which must be supplied"))
        return variable if condition else "{{ " + variable + " }}"


STR_REPLACE = ("str_replace", "str_replace_strict", "str_replace_vstrict")


def _heat_matches(text: str, keys: list[str], offset: int) -> list[tuple[int, int, str]]:
    """Where str_replace replaces what: longest key first, each in the text the longer keys left."""
    if not keys:
        return []
    key, rest = keys[0], keys[1:]
    found: list[tuple[int, int, str]] = []
    position = offset
    parts = text.split(key)
    for index, part in enumerate(parts):
        found.extend(_heat_matches(part, rest, position))
        position += len(part)
        if index < len(parts) - 1:
            found.append((position, position + len(key), key))
            position += len(key)
    return sorted(found)


def _jinja_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _substitute(text: str, matches: list[tuple[int, int, str]],
                replacements: dict[str, tuple[str, str]]) -> tuple[str | None, str | None]:
    """Apply str_replace's matches. Outside Ansible's Jinja a parameter becomes {{ expr }};
    inside it, where Heat's text would become Jinja source, the same meaning is written as
    Jinja: a string literal becomes ('a' ~ (expr) ~ 'b'), a name lookup('vars', 'a' ~ (expr)),
    a name after a dot obj['a' ~ (expr)]. Literal params are inserted as text, as Heat does."""
    spans = _jinja_spans(text)
    regions: dict[tuple[int, int], str] = {}  # (start, end) of text to replace -> Jinja replacing it
    for start, end, key in matches:
        kind, value = replacements[key]
        span = next(((a, b) for a, b in spans if a <= start < b), None)
        if kind == "text" or span is None:
            continue
        if kind == "template":
            return None, (f"param {key} is a template read inside the Jinja expression "
                          f"{_short(text[span[0]:span[1]], 40)}")
        if any(a <= start < b for a, b in regions):
            continue
        inner = text[span[0]:span[1]]
        opening = _quote_at(text, span[0] + 2, start)
        if opening is not None:
            quote = text[opening]
            closing = _closing_quote(text, opening, span[1])
            pieces = _pieces(text, opening + 1, closing, matches, replacements, lambda raw: quote + raw + quote)
            regions[(opening, closing + 1)] = "(" + " ~ ".join(pieces) + ")"
            continue
        first, last = start, end
        while first > span[0] + 2 and (text[first - 1].isalnum() or text[first - 1] == "_"):
            first -= 1
        while last < span[1] - 2 and (text[last].isalnum() or text[last] == "_"):
            last += 1
        before = first - 1
        while before > span[0] + 1 and text[before] in " \t":
            before -= 1
        following = text[last:span[1]].lstrip(" \t")[:1]
        if text[before] == "|" or following == "(" or text[first].isdigit():
            return None, f"param {key} is part of a filter or function name in {_short(inner, 40)}"
        name = " ~ ".join(_pieces(text, first, last, matches, replacements, _jinja_string))
        if text[before] == ".":
            regions[(before, last)] = f"[{name}]"
        else:
            regions[(first, last)] = f"lookup('vars', {name})"
    out: list[str] = []
    cursor = 0
    events = sorted([(a, b, replacement) for (a, b), replacement in regions.items()]
                    + [(a, b, None) for a, b, _ in matches if not any(x <= a < y for x, y in regions)])
    for start, end, replacement in events:
        if replacement is None:
            kind, value = replacements[next(k for a, b, k in matches if a == start)]
            replacement = value if kind != "expr" else "{{ " + value + " }}"
        out.append(text[cursor:start] + replacement)
        cursor = end
    out.append(text[cursor:])
    result = "".join(out)
    if jinja.template_problem(result) is not None:
        return None, "the template with its params in place is not valid Jinja"
    return result, None


def _pieces(text: str, first: int, last: int, matches, replacements, literal) -> list[str]:
    """text[first:last] as Jinja terms to join with ~: literal runs, and each match's value."""
    pieces = []
    at = first
    for start, end, key in matches:
        if first <= start and end <= last:
            if at < start:
                pieces.append(literal(text[at:start]))
            kind, value = replacements[key]
            pieces.append(f"({value})" if kind == "expr" else _jinja_string(value))
            at = end
    if at < last or not pieces:
        pieces.append(literal(text[at:last]))
    return pieces


def _quote_at(text: str, begin: int, position: int) -> int | None:
    """Where the Jinja string literal that position lies in opens, if it lies in one."""
    opening = None
    index = begin
    while index < position:
        char = text[index]
        if opening is not None and char == "\\":
            index += 2
            continue
        if opening is not None and char == text[opening]:
            opening = None
        elif opening is None and char in "'\"":
            opening = index
        index += 1
    return opening


def _closing_quote(text: str, opening: int, limit: int) -> int:
    index = opening + 1
    while index < limit:
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == text[opening]:
            return index
        index += 1
    return limit - 1


def _jinja_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"\{\{.*?\}\}|\{%.*?%\}", text, re.S)]


def _rewrite_task(template: Template, tl: TaskList, item: dict, conditions: tuple[tuple[str, str], ...]) -> LineDict:
    """A copy of a task or block with Heat functions resolved and step gates taken off, recursively."""
    findings: list[Finding] = [Finding("heat", Severity.WARNING,
                                       f"inside a Heat if: Heat keeps this task only when {text}; "
                                       f"it runs only when {gate} (a variable that must be supplied)")
                               for gate, text in conditions]
    rewriter = _Rewriter(template, tl, findings)
    copy = LineDict()
    copy.line = template.line(getattr(item, "line", 0))
    copy.duplicates = [(k, template.line(n)) for k, n in getattr(item, "duplicates", [])]
    for key, value in item.items():
        if key in ("block", "rescue", "always") and isinstance(value, list):
            section = LineList()
            section.line = template.line(getattr(value, "line", 0))
            lines = getattr(value, "item_lines", None) or [copy.line] * len(value)
            for child, child_line in zip(value, lines):
                if isinstance(child, dict) and _function(child) is None:
                    rewritten = _rewrite_task(template, tl, child, ())
                    section.append(rewritten)
                    section.item_lines.append(rewritten.line)
                else:
                    section.append(rewriter.value(child))
                    section.item_lines.append(template.line(child_line))
            copy[key] = section
        else:
            copy[key] = rewriter.value(value, condition=key in CONDITION_KEYWORDS)
    if conditions:
        copy["when"] = [gate for gate, _ in conditions] + _when_terms(copy.get("when"))
    step, rest, problem = split_step(copy.get("when"))
    if step is not None:
        tl.steps[copy.line] = step
        if rest:
            copy["when"] = rest if len(rest) > 1 else rest[0]
        else:
            del copy["when"]
    if problem:
        findings.append(Finding("step", Severity.WARNING, problem))
    if findings:
        tl.findings.setdefault(copy.line, []).extend(findings)
    return copy


def _when_terms(when: Any) -> list[Any]:
    if when is None:
        return []
    return list(when) if isinstance(when, list) else [when]


def split_step(when: Any) -> tuple[int | None, list[Any], str | None]:
    """Take `step|int == N` terms off a when: (step, the other terms, a problem).

    A when is a list of terms (all must hold) or one string; a string is split
    on top-level ``and`` unless it also has a top-level ``or``. Terms that name
    `step` some other way stay; the orchestration item sets `step` for them.
    """
    if when is None:
        return None, [], None
    terms = list(when) if isinstance(when, list) else [when]
    split: list[Any] = []
    for term in terms:
        if isinstance(term, str):
            split.extend(_and_terms(term))
        else:
            split.append(term)
    steps = []
    rest = []
    for term in split:
        match = _STEP.match(term.strip()) if isinstance(term, str) else None
        if match:
            steps.append(int(next(g for g in match.groups() if g is not None)))
        else:
            rest.append(term)
    if not steps:
        problem = None
        if any(isinstance(t, str) and _STEP_WORD.search(t) for t in rest):
            problem = ("when names step in a way not read as a deploy step; it stays a run-time condition "
                       "(each orchestration item sets step)")
        return None, list(terms), problem
    if len(set(steps)) > 1:
        return None, list(terms), f"when asks for several steps at once ({sorted(set(steps))}): the task never runs"
    return steps[0], rest, None


def _and_terms(text: str) -> list[str]:
    """Split on top-level `and` (outside brackets and quotes); the whole text if there is a top-level `or`."""
    parts: list[str] = []
    depth = 0
    quote = None
    start = 0
    i = 0
    tokens = []
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and re.match(r"\s(and|or)\s", text[i:i + 5]):
            word = text[i + 1:i + 4].strip()
            tokens.append((i, word))
        i += 1
    if any(word == "or" for _, word in tokens) or not tokens:
        return [text]
    for index, word in tokens:
        parts.append(text[start:index].strip())
        start = index + len(word) + 2
    parts.append(text[start:].strip())
    return [p for p in parts if p]


# -- rendering *.j2.yaml as process-templates.py does ------------------------------


def _render_j2(project, template: Template) -> Any:
    display = template.display
    root = tht_root(template.path)
    if root is None or not (root / NETWORK_DATA).is_file():
        project.error(Source(display, 1), "Jinja template not converted: no THT tree around it (roles_data.yaml "
                      f"and {NETWORK_DATA}) to render it with, as tools/process-templates.py does")
        return None
    try:
        roles = yamlio.plain(yamlio.load_file(root / ROLES_DATA)) or []
        networks = yamlio.plain(yamlio.load_file(root / NETWORK_DATA)) or []
    except yamlio.YamlError as exc:
        project.error(Source(display, 1), f"Jinja template not converted: reading the THT role or network data: {exc}")
        return None
    if not isinstance(roles, list) or not isinstance(networks, list):
        project.error(Source(display, 1), "Jinja template not converted: role or network data is not a list")
        return None
    _tag_roles(roles)
    for index, network in enumerate(networks):
        if isinstance(network, dict):
            network["idx"] = index
            if network.get("enabled") is not False and not network.get("name_lower"):
                network["name_lower"] = str(network.get("name")).lower()
    try:
        source = template.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        project.error(Source(display, 1), f"cannot read: {exc}")
        return None
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    loader = jinja2.FileSystemLoader([str(template.path.parent), str(root)])
    try:
        text = SandboxedEnvironment(loader=loader).from_string(source).render(roles=roles, networks=networks)
    except jinja2.TemplateSyntaxError as exc:
        project.error(Source(display, exc.lineno or 1), f"Jinja template not converted: {exc.message}")
        return None
    except jinja2.TemplateError as exc:
        project.error(Source(display, 1), f"Jinja template not converted: rendering failed: {exc}")
        return None
    template.rendered = True
    template.line_map = _line_map(source.splitlines(), text.splitlines())
    try:
        return yamlio.loads(text)
    except yamlio.YamlError as exc:
        project.error(Source(display, template.line(exc.line)), f"rendered template: {exc}")
        return None


def _tag_roles(roles: list) -> None:
    """The tags process-templates.py adds from role names (a deprecated convenience it still applies)."""
    rules = (("compute", ("Compute", "HciCeph", "DistributedCompute")), ("ceph", ("Ceph",)),
             ("ovsdpdk", ("ComputeOvsDpdk",)), ("storage", ("ObjectStorage", "BlockStorage", "Ceph")))
    for role in roles:
        if not isinstance(role, dict):
            continue
        tags = role.setdefault("tags", []) or []
        role["tags"] = tags
        name = str(role.get("name") or "")
        for tag, prefixes in rules:
            if name.startswith(prefixes) and tag not in tags:
                tags.append(tag)


def _line_map(template: list[str], rendered: list[str]) -> list[int]:
    """For each rendered line, the template line it came from (1-based): equal
    lines map one to one; generated lines map to the first template line of the
    construct they replace."""
    mapping = [1] * max(len(rendered), 1)
    matcher = difflib.SequenceMatcher(None, template, rendered, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        for j in range(j1, j2):
            mapping[j] = (i1 + (j - j1) if op == "equal" else min(i1, max(len(template) - 1, 0))) + 1
    return mapping


# -- converting -------------------------------------------------------------------


def convert(converter, path: Path, base: Path) -> None:
    """Convert one template's task lists into converter.out (one file per list)."""
    from .loader import TaskFile, load_nodes
    from .translate import PLAY_SCOPED_LAYERS, OutputFile, Scope

    project = converter.project
    template = load_template(project, path, base)
    if template is None:
        return
    role = template.service or template.display
    first: dict[int, str] = {}  # line -> id of the task defined there (YAML aliases reuse tasks)
    for tl in template.lists:
        tf = TaskFile(path=path, display=template.display, key=f"tht/{template.rel}#{tl.where}", role=role)
        nodes = load_nodes(tl.items, tf, project, None, counter={})
        if not nodes:
            continue
        for task in _tasks(nodes):  # one definition, one report entry, whichever lists run it
            task.id = first.setdefault(task.source.line, task.id)
        steps: dict[int, int | None] = {}
        _annotate(nodes, tl, role, None, [], steps)
        output = f"tht/{template.rel}/{tl.key}.yaml"
        present = sorted({s for s in steps.values() if s is not None})
        origin = ThtOrigin(template=template.display, key=tl.key, service=template.service,
                           parameters=tuple(sorted(tl.parameters)), unresolved=tuple(sorted(tl.unresolved)))
        source = Source(template.display, tl.line)
        orchestrations = []
        for step in present or [None]:
            name = f"{template.rel} {tl.key}" + (f" step {step}" if step is not None else "")
            orch = Orchestration(name=name, step=step, tht=origin)
            converter._vars_job(orch, "play_vars", {"step": step} if step is not None else {}, source, output,
                                clear=PLAY_SCOPED_LAYERS)
            defaults = {name: template.parameters[name].default for name in sorted(tl.parameters)
                        if template.parameters[name].has_default}
            if defaults:
                converter._vars_job(orch, "role_defaults", defaults, source, output)
            handlers: list = []
            scope = Scope(base_dir=path.parent, file=path)
            converter._emit_nodes(orch, _at_step(nodes, steps, step), scope, output, handlers=handlers)
            converter._flush_handlers(orch, handlers, output)
            orchestrations.append(orch)
        converter.out.files.append(OutputFile(output, orchestrations, header=_header(template, tl, present)))


def _annotate(nodes: list[Node], tl: TaskList, role: str, step: int | None, inherited: list[Finding],
              steps: dict[int, int | None]) -> None:
    """Give each task its role, its Heat findings (a block's go to every task in it) and its step."""
    for node in nodes:
        own = tl.findings.get(node.source.line, [])
        node_step = tl.steps.get(node.source.line)
        findings = inherited + [f for f in own if f not in inherited]
        effective = step
        if node_step is not None:
            if step is not None and node_step != step:
                findings = findings + [Finding("step", Severity.WARNING,
                                               f"gated on step {node_step} inside a block gated on step {step}: "
                                               "TripleO never runs it; kept at the block's step")]
            else:
                effective = node_step
        if isinstance(node, Block):
            _annotate(node.block + node.rescue + node.always, tl, role, effective, findings, steps)
        else:
            node.role = role
            node.findings.extend(f for f in findings if f not in node.findings)
            steps[id(node)] = effective


def _tasks(nodes: list[Node]):
    for node in nodes:
        if isinstance(node, Block):
            yield from _tasks(node.block + node.rescue + node.always)
        else:
            yield node


def _at_step(nodes: list[Node], steps: dict[int, int | None], step: int | None) -> list[Node]:
    """The nodes that run at one step: those gated on it and those not gated at all."""
    kept: list[Node] = []
    for node in nodes:
        if isinstance(node, Block):
            inner = replace(node, block=_at_step(node.block, steps, step), rescue=_at_step(node.rescue, steps, step),
                            always=_at_step(node.always, steps, step))
            if inner.block or inner.rescue or inner.always:
                kept.append(inner)
        elif step is None or steps.get(id(node)) in (None, step):
            kept.append(node)
    return kept


def _header(template: Template, tl: TaskList, steps: list[int]) -> str:
    lines = [f"THT: {template.display} {tl.where} (line {tl.line}), service {template.service or '-'}"
             + (" (rendered from Jinja as tools/process-templates.py does)" if template.rendered else "") + "."]
    if steps:
        lines.append(f"Deploy steps: one orchestration item per step ({', '.join(map(str, steps))}); tasks gated on "
                     "`step|int == N` are in item N only, ungated tasks in every item (TripleO runs them at every "
                     "step). Each item sets the variable step.")
    if tl.parameters:
        lines.append("Heat parameters read as Jinja variables (defaults set as role defaults; give others with "
                     "-e NAME=VALUE):")
        for name in sorted(tl.parameters):
            param = template.parameters[name]
            default = f"default {_short(param.default, 60)!s}" if param.has_default else "no default: must be given"
            lines.append(f"  {name} ({param.type}, {default}, line {param.line}): {_short(param.description, 120)}")
    if tl.unresolved:
        lines.append("Heat values with no value at conversion, read as variables that must be supplied:")
        for variable, (line, text) in sorted(tl.unresolved.items()):
            lines.append(f"  {variable}: line {line}: {text}")
    if tl.references:
        lines.append("Tasks of other resources, not inlined here:")
        for ref in tl.references:
            where = f"converted from {ref.target}" if ref.target else f"not converted: {ref.reason}"
            lines.append(f"  line {ref.line}: {ref.text} ({where})")
    return "\n".join(lines)
