"""Static Jinja analysis: the regex fast path must answer exactly as Jinja's parser."""

from __future__ import annotations

from hypothesis import given, settings
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
