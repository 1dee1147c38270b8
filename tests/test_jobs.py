"""Job strings: what we put inline must come back from Directord's own parser unchanged."""

from __future__ import annotations

import directord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import jobs


def directord_parse(verb: str, value: str) -> dict:
    ok, _, component = directord.component_import(verb.lower())
    assert ok, component
    component.verb = verb
    return component.server(exec_array=[value], data={"verb": verb}, arg_vars=None)


tokens = st.sampled_from(["--retry", "--timeout", "--", "-x", "--timeout=5", "--skip-cache", "a", "b  c",
                          "\t", "\n", "'q w'", '"x"', "{{ v }}", "--no-block", "$HOME", ";", "|", "--run-once"])
texts = st.one_of(st.text(min_size=1, max_size=40), st.lists(tokens, min_size=1, max_size=6).map(" ".join))


@settings(max_examples=400, deadline=None)
@given(texts)
def test_inline_run_commands_survive_directord(text):
    value = jobs.inline_command(text)
    if value is not None:
        assert directord_parse("RUN", value)["command"] == text


@pytest.mark.parametrize("text", [
    "curl --retry 5 http://x", "sleep 1 --timeout 7", "printf 'a  b'", "echo a\tb", "line1\nline2",
    "podman exec x -- ls", " leading", "trailing ", "--timeout=3 x",
])
def test_commands_directord_would_mangle_are_refused(text):
    assert jobs.inline_command(text) is None


def test_plain_commands_go_inline():
    for text in ("echo hello > /tmp/x", "test -f /etc/hosts && cat /etc/hosts | wc -l", "echo {{ a }}"):
        assert jobs.inline_command(text) == text
        assert directord_parse("RUN", text)["command"] == text


@pytest.mark.parametrize("mode, expected", [
    (420, "0644"), (0o755, "0755"), ("0644", "0644"), ("644", "0644"), (644, "01204"),
    ("u=rw,g=r", None), ("{{ m }}", None), (True, None), (0o17777, None),
])
def test_octal_modes_follow_ansible(mode, expected):
    assert jobs.octal_mode(mode) == expected


def test_chmod_value_is_what_directord_applies(tmp_path):
    src = tmp_path / "f"
    src.write_text("x")
    data = directord_parse("COPY", f"--chmod {jobs.octal_mode(420)} {src} /tmp/dest")
    assert data["mode"] == 0o644 and data["to"] == "/tmp/dest"
