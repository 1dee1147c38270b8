"""yamlio builds plain mappings, sequences and scalars itself (yamlio._Builder), for speed:
held equal to PyYAML's own constructors (with yamlio's mapping and sequence constructors) on the
real corpus, on YAML's odd corners, and on generated documents."""

from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import yamlio


def pyyaml_built(text: str):
    """What PyYAML's constructors make of text, or the error yamlio.loads would raise."""
    original = yamlio._construct
    yamlio._construct = yamlio._construct_general
    try:
        return _outcome(text)
    finally:
        yamlio._construct = original


def _outcome(text: str):
    try:
        return yamlio.loads(text)
    except yamlio.YamlError as exc:
        return ("error", str(exc), exc.line)


def shape(value, seen=None):
    """Everything the loader's callers can see: types, positions, duplicates, sharing."""
    seen = {} if seen is None else seen
    if isinstance(value, (dict, list)):
        if id(value) in seen:
            return ("same as", seen[id(value)])
        seen[id(value)] = len(seen)
    if isinstance(value, dict):
        return (type(value).__name__, getattr(value, "line", None), getattr(value, "duplicates", None),
                [(shape(k, seen), shape(v, seen)) for k, v in value.items()])
    if isinstance(value, list):
        return (type(value).__name__, getattr(value, "line", None), getattr(value, "item_lines", None),
                [shape(v, seen) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    if isinstance(value, (set, tuple)):
        return (type(value).__name__, sorted(map(repr, value)) if isinstance(value, set)
                else [shape(v, seen) for v in value])
    return (type(value).__name__, value)


def assert_built_alike(text: str) -> None:
    assert shape(_outcome(text)) == shape(pyyaml_built(text)), text


ODD_CORNERS = [
    "base: &b {a: 1, b: 2}\nderived:\n  <<: *b\n  b: 3\n",
    "one: &x {a: 1}\ntwo: &y {b: 2}\nboth: {<<: [*x, *y], c: 3}\n",
    "a: &s shared\nb: *s\nc: &l [1, 2]\nd: *l\n",
    "&r [1, *r]\n",  # a sequence that holds itself
    "a: !!set {x, y}\nb: !!omap [{x: 1}, {y: 2}]\nc: !!pairs [{x: 1}]\n",
    "a: !unsafe '{{ x }}'\nb: !vault |\n  $ANSIBLE_VAULT;1.1\n",
    "a: !!binary aGVsbG8=\nb: 2022-01-01\nc: 2022-01-01 10:00:00\n",
    "mode: 0644\nflag: yes\noff: off\nn: ~\nf: .nan\ng: -.inf\nh: 1_000\ni: 0x1f\nj: 1:30\n",
    "1: int key\ntrue: bool key\n~: null key\n1.5: float key\n",
    "[a, b]: list key\n",
    "a: 1\nb: 2\na: 3\n",
    "? complex\n: value\n",
    "a: !custom tag\n",
    "a: !!str 0644\nb: !!int '12'\nc: !!float '1'\n",
    "!!map {a: 1}\n",
    "!!seq [1]\n",
    "",
    "# only a comment\n",
    "- \n- - a\n  - b\n-\n  c: [d, {e: f}]\n",
    "a: =\nb: <<\n",
    "base: &b [1]\nd:\n  <<: *b\n",  # a merge of a sequence: PyYAML's own error
]


@pytest.mark.parametrize("text", ODD_CORNERS)
def test_odd_corners_build_as_pyyaml_builds_them(text):
    assert_built_alike(text)


def test_repeated_scalars_are_not_shared_mutable_values():
    data = yamlio.loads("- !!binary aGVsbG8=\n- !!binary aGVsbG8=\n- 0644\n- 0644\n")
    assert data == [b"hello", b"hello", 420, 420]


@pytest.mark.corpus
def test_every_corpus_file_builds_as_pyyaml_builds_it():
    from support.corpus import tht_tree, tripleo_ansible_tree

    count = 0
    for tree in (tripleo_ansible_tree(), tht_tree()):
        for path in sorted(tree.rglob("*.y*ml")):
            raw = path.read_bytes()
            try:
                text = yamlio._decode(raw)
            except yamlio.YamlError:
                continue
            count += 1
            assert shape(_outcome(text)) == shape(pyyaml_built(text)), path
    assert count > 2000


scalar_texts = st.sampled_from(["a", "yes", "no", "on", "0644", "0x1f", "1_000", "1.5", ".nan", "~", "null", "''",
                                "'quoted'", '"x\\ty"', "2022-01-01", "!unsafe '{{ x }}'", "!!str 1", "!!binary aGk=",
                                "{{ x }}", "a: b", "-1", "1:30", "!custom x", "*a", "&a v", "=", "<<"])


def _documents(depth: int):
    if depth == 0:
        return scalar_texts
    inner = _documents(depth - 1)
    keys = st.sampled_from(["a", "b", "a", "<<", "1", "true", "~", "[x]", "? k\n", "&k key"])
    return st.one_of(
        scalar_texts,
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(keys, inner), max_size=3).map(
            lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"),
        st.tuples(st.sampled_from(["&a ", "!!set ", "!!omap ", ""]), inner).map("".join),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "<<"]), _documents(3)), min_size=1, max_size=4))
def test_generated_documents_build_as_pyyaml_builds_them(pairs):
    assert_built_alike("".join(f"{key}: {value}\n" for key, value in pairs))


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                    max_leaves=12),
       st.sampled_from([False, True, None]))
def test_dumped_data_builds_as_pyyaml_builds_it(data, flow):
    assert_built_alike(yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True))
