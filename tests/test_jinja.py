"""Static Jinja analysis: the regex fast path must answer exactly as Jinja's parser."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from migrator import jinja

PIECES = ["{{", "}}", " ", "a", "b_1", ".", "x", "|", "bool", "default", "[", "]", "'k'", '"k"', "0",
          "is", "not", "defined", "none", "(", ")", "{%", "%}", "{", "}", "and", "true", "-", "\\", "'", "\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14), st.booleans())
def test_fast_path_agrees_with_the_parser(pieces, expression):
    text = "".join(pieces)
    fast = jinja._simple(text, expression)
    if fast is not None:
        assert fast == jinja._parsed(text, expression), text


def test_common_shapes_take_the_fast_path():
    for text, expression in [("{{ a.b | bool }}", False), ("x {{ a['k'] }} y", False),
                             ("a is defined", True), ("not a | bool", True)]:
        assert jinja._simple(text, expression) == jinja._parsed(text, expression)


def test_syntax_errors_are_found_and_unsafe_text_is_not_looked_at():
    from migrator.yamlio import UnsafeStr

    problems = jinja.syntax_problems({"msg": "{{ a "}, {"when": "a =="})
    assert len(problems) == 2 and "in the arguments" in problems[0] and "in when" in problems[1]
    assert jinja.syntax_problems({"msg": UnsafeStr("{{ a ")}, {}) == []
    assert jinja.template_problem("ok\n{% if a %}\n")[0] == 2


FULL_PIECES = PIECES + ["f(", "x=1", ",", "{% set y = a %}", "{% for i in a %}", "{% endfor %}", "{{ y }}",
                        "{{ i }}", "lookup('env', 'H')", "is version('1', '>=')", "|map(attribute='n')", " ~ "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FULL_PIECES), max_size=12), st.booleans())
@example(["{% set y = a %}{{ y | default(b) }}{{ f(x=1) is version('1', '>=') }}"], False)
@example(["lookup('env', 'H') ~ a|map(attribute='n') is not defined"], True)
@example(["{% for i in a %}{{ i.k | bool }}{% endfor %}{{ i }}"], False)
def test_the_one_walk_finds_what_separate_walks_find(pieces, expression):
    """_parsed walks the tree once; the plain reading below walks it once per kind."""
    from jinja2 import nodes

    text = "".join(pieces)
    got = jinja._parsed(text, expression)
    if got.error:
        return
    tree = jinja._ENV.parse("{{ (" + text + ") }}" if expression else text)
    names = list(tree.find_all(nodes.Name))
    bound = {n.name for n in names if n.ctx in ("store", "param")}
    assert got == jinja.Analysis(
        frozenset({n.name for n in names if n.ctx == "load"} - bound),
        frozenset(n.name for n in tree.find_all(nodes.Filter)),
        frozenset(n.name for n in tree.find_all(nodes.Test)),
        frozenset(n.node.name for n in tree.find_all(nodes.Call) if isinstance(n.node, nodes.Name))), text
