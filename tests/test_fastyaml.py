"""migrator/fastyaml.py writes what PyYAML writes, or declines.

The output of every conversion goes through it (writer.dump_yaml), so it must
never produce a byte PyYAML would not: generated trees of the shapes jobs take
(nested dicts and lists, scalars of each type, strings with the characters that
change quoting: line breaks, trailing spaces, indicators, tabs, non-ASCII,
YAML 1.1 words) are dumped both ways and compared.
"""

from hypothesis import given, settings, strategies as st

from migrator.fastyaml import BlockDumper
from migrator.writer import _pyyaml_dump, dump_yaml

AWKWARD = st.sampled_from(["", " ", "yes", "No", "~", "null", "0644", "1e3", "- a", "a: b", "#x", "'q'", '"d"',
                           "a\n", "\n", "a\nb", "a\n\nb\n\n", " lead\nx", "trail  \nx", "tab\tx", "\ta\nb",
                           "{{ x }}", "[1]", "{}", "@at", "`b", "%p", "é\nü", "\u2028", "a\r\nb", "*x", "&y", "!t",
                           "x" * 130, "k" * 127, "...", "---", "a #b", "a|b", "|\n", ">\n x", "-", "-x", "--t 1",
                           "-1", "-.inf", "- x", "-\tx", "-:"])
# the characters fastyaml's plain-scalar shortcut decides on, and some it must refuse
PLAIN_ALPHABET = " _/.=+$(){}[]<>^;,~:'\"|!@%&*?-#aZ09\t\u00e9"
TEXT = st.one_of(AWKWARD, st.text(max_size=12), st.lists(AWKWARD, max_size=4).map("".join),
                 st.text(alphabet=PLAIN_ALPHABET, max_size=10),
                 st.lists(st.one_of(AWKWARD, st.text(alphabet=PLAIN_ALPHABET, max_size=4)), max_size=4).map("".join))
SCALAR = st.one_of(TEXT, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))
KEY = st.one_of(TEXT, st.integers(), st.booleans())
TREE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(KEY, inner, max_size=4)), max_leaves=25)


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.lists(TREE, min_size=1, max_size=3), st.dictionaries(KEY, TREE, min_size=1, max_size=4)))
def test_same_bytes_as_pyyaml_or_declines(data):
    fast = BlockDumper(_pyyaml_dump).dump(data)
    assert fast is None or fast == _pyyaml_dump(data)
    assert dump_yaml(data) == _pyyaml_dump(data)


def test_declines_what_pyyaml_would_anchor():
    shared = ["a", "b"]
    data = [{"x": shared, "y": shared}]
    assert BlockDumper(_pyyaml_dump).dump(data) is None
    assert "&id001" in dump_yaml(data)


def test_takes_the_fast_path_for_a_job():
    job = [{"TASK": "ansible.builtin.copy", "vars": {"task": {
        "module": "ansible.builtin.copy", "args": {"content": "a\nb\n", "dest": "/etc/x", "mode": "0644"},
        "when": ["x is defined"], "loop": [], "register": None, "no_log": False}}}]
    fast = BlockDumper(_pyyaml_dump).dump(job)
    assert fast is not None and fast == _pyyaml_dump(job)


def test_an_indicator_first_is_single_quoted_as_pyyaml_does():
    tails = ["", " ", "x", "{ x }}", "a: b", " #c", "'q'", "it's", "  two  ", "~!@#$%^&*()_+`-=[]\\{}|;':\",./<>?"]
    for first in "#,[]{}&*!|>'\"%@`":
        for tail in tails:
            value = first + tail
            assert BlockDumper(_pyyaml_dump).dump({"k": value}) == _pyyaml_dump({"k": value}), value


def test_plain_strings_need_no_probe():
    # a job's value is mostly `--timeout N module ...`: libyaml writes it plain, so no probe is needed
    probes = []
    dumper = BlockDumper(lambda data: probes.append(data) or _pyyaml_dump(data))
    data = {"TASK": "--timeout 600 ansible.builtin.stat", "ADD": "--skip-cache --chmod 0644 a/b.yml /etc/b.yml",
            "k": "-x"}
    assert dumper.dump(data) == _pyyaml_dump(data) and probes == []
