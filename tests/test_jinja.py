"""Static Jinja analysis: the regex fast path must answer exactly as Jinja's parser."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from migrator import jinja, jinja_fast

PIECES = ["{{", "}}", " ", "a", "b_1", ".", "x", "|", "bool", "default", "[", "]", "'k'", '"k"', "0",
          "is", "not", "defined", "none", "(", ")", "{%", "%}", "{", "}", "and", "true", "-", "\\", "'", "\n"]
# what the fast reader's grammar is made of, and what it must give up on
GRAMMAR = PIECES + ["or", "in", "if", "else", "==", "!=", "<", ">=", "+", "*", "**", "//", "%", "~", ",", ":",
                    "=", "f(", "y=1", "1.5", "12", "007", "1e3", "0x1", "'a\\'b'", "*", "a.0", "é", "{{-", "-}}",
                    "{#", "#}", "is version('1')", "is divisibleby 3", "| map(attribute='n')", "a[1:2]", "()",
                    "(a)(b)", "q.r(s)", "None", "{'k': v}", "[a, b,]", " is not ", "not in", "lookup('env')"]


def fast(text, expression):
    """The fast reader's Analysis, or None when it gives up."""
    found = jinja_fast.analyze("{{ (" + text + ") }}" if expression else text)
    return None if found is None else jinja.Analysis(*map(frozenset, found))


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(GRAMMAR), max_size=16), st.booleans())
@example(["{{ (a)(b) }}"], False)
@example(["a) or (b"], True)
@example(["{{ x is defined and y }}"], False)
@example(["{{ '}}' ~ a }}"], False)
def test_fast_reader_answers_as_the_parser_or_gives_up(pieces, expression):
    text = "".join(pieces)
    answer = fast(text, expression)
    if answer is not None:
        assert answer == jinja._parsed(text, expression), text


NAMES = st.sampled_from(["a", "b_1", "item", "x", "true", "None", "lookup", "omit", "range"])
ATOMS = st.one_of(NAMES, st.sampled_from(["0", "12", "1.5", "'s'", '"t t"', "'}}'", "'x' 'y'", "[]", "{}", "()"]))


def _combined(inner):
    two = st.tuples(inner, inner)
    return st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or", "==", "!=", "<", "in", "not in", "+", "-", "~", "*", "//", "**"]),
                  inner).map(" ".join),
        inner.map(lambda a: f"not {a}"), inner.map(lambda a: f"-{a}"), inner.map(lambda a: f"({a})"),
        st.tuples(inner, st.sampled_from(["bool", "default", "ns.f", "length"])).map(lambda p: f"{p[0]} | {p[1]}"),
        two.map(lambda p: f"{p[0]} | default({p[1]}, true)"), two.map(lambda p: f"{p[0]} | map(attribute={p[1]})"),
        st.tuples(inner, st.sampled_from(["defined", "not none", "version('1', '>=')", "sameas(x)"]))
        .map(lambda p: f"{p[0]} is {p[1]}"),
        inner.map(lambda a: f"{a}.key"), inner.map(lambda a: f"{a}.0"), two.map(lambda p: f"{p[0]}[{p[1]}]"),
        two.map(lambda p: f"{p[0]}({p[1]})"), two.map(lambda p: f"{p[0]}(k={p[1]})"),
        two.map(lambda p: f"[{p[0]}, {p[1]},]"), two.map(lambda p: f"{{{p[0]}: {p[1]}}}"),
        two.map(lambda p: f"({p[0]}, {p[1]})"), st.tuples(inner, inner, inner).map(lambda p: f"{p[0]} if {p[1]} else {p[2]}"),
        two.map(lambda p: f"{p[0]} if {p[1]}"))


EXPRESSIONS = st.recursive(ATOMS, _combined, max_leaves=8)


@settings(max_examples=1500, deadline=None)
@given(EXPRESSIONS, st.sampled_from(["{{ %s }}", "text {{ %s }} and {{ a }}", "%s", "{{ %s }}}"]))
def test_fast_reader_on_generated_expressions(expression, frame):
    as_expression = frame == "%s"
    text = frame % expression
    answer = fast(text, as_expression)
    if answer is not None:
        assert answer == jinja._parsed(text, as_expression), text


def test_common_shapes_take_the_fast_path():
    for text, expression in [("{{ a.b | bool }}", False), ("x {{ a['k'] }} y", False),
                             ("a is defined", True), ("not a | bool", True), ("x.rc != 0 and y | length > 0", True),
                             ("{{ item.size | default(omit) }}", False), ("{{ lookup('env', 'HOME') }}/x", False),
                             ("'mysql' in s_json or t is not defined", True), ("{{ 'a' if b else c[0] }}", False),
                             ("{{ d | combine({'k': v}, recursive=True) }}", False)]:
        assert fast(text, expression) is not None, text
        assert fast(text, expression) == jinja._parsed(text, expression)
    assert fast("{{ lookup('env', 'HOME') }}", False).calls == {"lookup"}
    for text in ["{% if a %}x{% endif %}", "{{ a[1:2] }}", "{{ a is divisibleby 3 }}", "{{- a }}", "{{ 'a\\n' }}"]:
        assert fast(text, False) is None, text


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


# -- template files: jinja_fast.template_parses says True only for what Jinja's parser accepts

def jinja_accepts(text: str) -> bool:
    try:
        jinja._ENV.parse(text)
    except Exception:  # a syntax error, or the lexer's own error
        return False
    return True


TEMPLATE_PIECES = [
    "text\n", "{", "}", "%", "#", " ", "{{ x }}", "{{- x -}}", "{{ x -}}", "{{+ x }}", "{{ x +}}", "{{ }}",
    "{# note #}", "{#- note -#}", "{# {% if %} #}", "{#", "#}", "{% if a %}", "{%- if a -%}", "{%+ if a +%}",
    "{% if a: %}", "{% if a, b %}", "{% if a if b else c %}", "{% if %}", "{% elif b %}", "{% elif %}",
    "{% else %}", "{% else: %}", "{% endif %}", "{% endif: %}", "{% endif x %}", "{% for x in y %}",
    "{% for a, b in c.items() if a recursive %}", "{% for a, in c %}", "{% for 1 in c %}", "{% for true in c %}",
    "{% for x in y if z else w %}", "{% for (a, b) in c %}", "{% for x in %}", "{% endfor %}",
    "{% set v = 1 %}", "{% set ns.a = 2 %}", "{% set a, b = 1, 2 %}", "{% set v %}", "{% set v | upper %}",
    "{% set = 1 %}", "{% endset %}", "{% include 'f' %}", "{% include x ignore missing with context %}",
    "{% include %}", "{% raw %}", "{% endraw %}", "{% macro m() %}", "{% endmacro %}", "{% %}", "%}", "}}",
    "{% if {'k': {'j': 1}} %}", "{{ {'k': {'j': 1}} }}", "{% set d = {'a': [1, (2)]} %}", "{{ a | f(b) }}",
]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(TEMPLATE_PIECES), max_size=14))
@example(["{% for x in y %}", "{% if a %}", "{% endfor %}", "{% endif %}"])
@example(["{% if a %}", "{% else %}", "{% elif b %}", "{% endif %}"])
@example(["{% set v %}", "{{ x }}", "{% endset %}"])
def test_template_reader_accepts_only_what_jinja_accepts(pieces):
    text = "".join(pieces)
    if jinja_fast.template_parses(text):
        assert jinja_accepts(text), text


@settings(max_examples=800, deadline=None)
@given(EXPRESSIONS, st.sampled_from(["{%% if %s %%}a{%% endif %%}", "{%% for i in %s %%}{{ i }}{%% endfor %%}",
                                     "{%% set v = %s %%}{{ v }}", "{%% include %s %%}", "{{ %s }}",
                                     "{%% if a %%}{%% elif %s %%}{%% else %%}{%% endif %%}",
                                     "{%% for i in a if %s %%}{%% else %%}{%% endfor %%}"]))
def test_template_reader_on_generated_expressions(expression, frame):
    text = frame % expression
    if jinja_fast.template_parses(text):
        assert jinja_accepts(text), text


def test_template_reader_reads_common_templates():
    assert jinja_fast.template_parses(
        "# {{ ansible_managed }}\n{# a note #}\n{% for host in groups['all'] if host != x %}\n"
        "{%- if hostvars[host].ip is defined -%}\n{{ hostvars[host].ip }} {{ host }}\n{% elif y %}\n"
        "{% else %}\n# none\n{% endif %}\n{% endfor %}\n{% set n = a | default(1) %}{{ n }}\n")
    for broken in ("{% if a %}", "{% endif %}", "{% for x in y %}{% endif %}", "{{ a", "{# open", "{% if a %}{% else %}"
                   "{% else %}{% endif %}"):
        assert not jinja_fast.template_parses(broken) and not jinja_accepts(broken), broken


@pytest.mark.corpus
def test_template_reader_on_every_corpus_template():
    from support.corpus import tripleo_ansible_tree

    read = 0
    files = [p for p in sorted(tripleo_ansible_tree().glob("roles/*/templates/**/*")) if p.is_file()]
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        if jinja_fast.template_parses(text):
            read += 1
            assert jinja_accepts(text), path
    assert read > 0.8 * len(files)  # the fast reader takes most of them (136 of 146 when written)
