"""Static analysis of Ansible's Jinja: parse, never render.

Directord's built-in components render with plain Jinja2 (no Ansible filters)
and StrictUndefined. A value may go into a built-in job only when plain Jinja2
gives the same result as Ansible; `plain_safe` decides that.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2 import nodes

from . import jinja_fast

_ENV = jinja2.Environment()

# Jinja2 built-ins whose behaviour Ansible does not change. Ansible overrides
# min, max, unique and others, and adds its own (bool, ternary, combine...):
# those need the TASK runtime.
PLAIN_FILTERS = frozenset({
    "abs", "attr", "batch", "capitalize", "center", "d", "default", "dictsort",
    "first", "float", "format", "groupby", "indent", "int", "items", "join",
    "last", "length", "count", "list", "lower", "map", "reject", "rejectattr",
    "replace", "reverse", "round", "select", "selectattr", "slice", "sort",
    "string", "sum", "title", "trim", "truncate", "upper", "wordcount",
})
PLAIN_TESTS = frozenset({
    "defined", "undefined", "none", "string", "number", "integer", "float",
    "mapping", "sequence", "iterable", "boolean", "true", "false", "eq",
    "equalto", "==", "ne", "!=", "lt", "<", "le", "<=", "gt", ">", "ge", ">=",
    "in", "odd", "even", "divisibleby", "lower", "upper", "sameas",
})
# Names whose value is only known to Ansible's controller or loop machinery.
CONTROLLER_NAMES = frozenset({
    "role_path", "playbook_dir", "inventory_dir", "inventory_file", "hostvars",
    "groups", "group_names", "ansible_play_hosts", "ansible_play_batch",
    "ansible_play_hosts_all", "play_hosts", "ansible_role_names", "role_name",
    "ansible_parent_role_names", "ansible_check_mode", "ansible_loop",
    "ansible_loop_var", "ansible_index_var", "omit", "lookup", "query", "q",
    "now", "undef", "ansible_search_path", "environment", "vars",
})


@dataclass(frozen=True)
class Analysis:
    variables: frozenset[str] = frozenset()
    filters: frozenset[str] = frozenset()
    tests: frozenset[str] = frozenset()
    calls: frozenset[str] = frozenset()  # global functions called (lookup, query, range...)
    error: str | None = None


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value or "{#" in value)


@functools.lru_cache(maxsize=65536)
def analyze(text: str, expression: bool = False) -> Analysis:
    """What a template (or a bare expression, as in `when`) refers to."""
    source = "{{ (" + text + ") }}" if expression else text
    found = jinja_fast.analyze(source)  # the common shapes, without Jinja's parser
    if found is not None:
        return Analysis(*map(frozenset, found))
    return _parsed(text, expression)


def _parsed(text: str, expression: bool) -> Analysis:
    source = "{{ (" + text + ") }}" if expression else text
    try:
        tree = _ENV.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        return Analysis(error=f"Jinja syntax error: {exc.message}")
    except Exception as exc:  # the Jinja lexer on hostile input
        return Analysis(error=f"Jinja error: {exc}")
    # One walk of the tree. jinja2.meta would compile the template, which fails
    # on Ansible's filters; names read minus names the template binds is what we need.
    filters, tests, calls, loaded, bound = set(), set(), set(), set(), set()
    for node in tree.find_all((nodes.Filter, nodes.Test, nodes.Call, nodes.Name)):
        if isinstance(node, nodes.Name):
            if node.ctx == "load":
                loaded.add(node.name)
            elif node.ctx in ("store", "param"):
                bound.add(node.name)
        elif isinstance(node, nodes.Call):
            if isinstance(node.node, nodes.Name):
                calls.add(node.node.name)
        elif isinstance(node, nodes.Filter):
            filters.add(node.name)
        else:
            tests.add(node.name)
    return Analysis(frozenset(loaded - bound), frozenset(filters), frozenset(tests), frozenset(calls))


_SIMPLE_EXPR = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def compact(text: str) -> str | None:
    """`{{ a.b }}/x` as `{{a.b}}/x`, so that it is one whitespace-free token.

    Only plain variable references are rewritten; None when the text holds
    any other Jinja (it could not be one token without changing meaning).
    """
    rewritten = _SIMPLE_EXPR.sub(lambda m: "{{" + m.group(1) + "}}", text)
    if "{%" in rewritten or "{#" in rewritten or any(ch.isspace() for ch in rewritten):
        return None
    if re.sub(r"\{\{[A-Za-z_][\w.]*\}\}", "", rewritten).count("{{"):
        return None
    return rewritten


def walk_strings(value: Any):
    """Every string inside an argument structure (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield key
            yield from walk_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from walk_strings(item)


@dataclass
class Usage:
    """What a set of values needs at run time."""

    variables: set[str] = field(default_factory=set)
    non_plain: set[str] = field(default_factory=set)  # filters/tests/calls plain Jinja lacks
    errors: list[str] = field(default_factory=list)
    templated: bool = False

    @property
    def plain_safe(self) -> bool:
        return not self.non_plain and not self.errors and not (self.variables & CONTROLLER_NAMES)


def usage(*values: Any) -> Usage:
    found = Usage()
    for value in values:
        for text in walk_strings(value):
            if not is_template(text):
                continue
            found.templated = True
            result = analyze(text)
            if result.error:
                found.errors.append(result.error)
                continue
            found.variables |= result.variables
            found.non_plain |= {f"filter {f}" for f in result.filters - PLAIN_FILTERS}
            found.non_plain |= {f"test {t}" for t in result.tests - PLAIN_TESTS}
            found.non_plain |= {f"{c}()" for c in result.calls if c != "range"}
    return found


CONDITIONAL_KEYWORDS = ("when", "failed_when", "changed_when", "until")


def syntax_problems(args: Any, keywords: dict[str, Any]) -> list[str]:
    """Jinja syntax errors in a task's arguments and conditionals (parsed, never run).

    `!unsafe` values are never templated by Ansible and are not looked at.
    """
    from .yamlio import UnsafeStr

    problems = []
    for text in walk_strings(args):
        if is_template(text) and not isinstance(text, UnsafeStr):
            error = analyze(text).error
            if error:
                problems.append(f"{error} in the arguments: {text[:80]!r}")
    for keyword in CONDITIONAL_KEYWORDS:
        value = keywords.get(keyword)
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and not isinstance(text, UnsafeStr):
                error = analyze(text, expression=not is_template(text)).error
                if error:
                    problems.append(f"{error} in {keyword}: {text[:80]!r}")
    return problems


def template_problem(text: str) -> tuple[int, str] | None:
    """(line, message) of a template file's first syntax error, or None."""
    if jinja_fast.template_parses(text):  # read whole by the fast reader: Jinja's parser accepts it too
        return None
    try:
        _ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return exc.lineno or 1, f"Jinja syntax error in the template: {exc.message}"
    except Exception as exc:  # the Jinja lexer on hostile input
        return 1, f"Jinja error in the template: {exc}"
    return None

