"""PyYAML's block-style output for plain data, byte for byte, at a fraction of its cost.

Writing OUT spends most of its time in PyYAML's representer, which builds a node
graph (tracking every object for aliases, resolving every scalar's implicit tag)
before libyaml emits it. Jobs are plain trees of dicts, lists and a few thousand
distinct scalars, so this module lays out the block structure itself and asks the
real dumper only for each distinct scalar, once: how libyaml quotes it, or the
header and lines of its literal block. Anything outside that shape (a shared
sub-tree PyYAML would anchor, a type with no safe representer, a key libyaml would
not write as a simple key) returns None and the caller dumps with PyYAML.
tests/test_fastyaml.py holds the two outputs equal on generated data.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import yaml

_SCALARS = (str, int, float, bool, type(None))
_OTHER_BREAKS = "\r\x85\u2028\u2029"  # line breaks to libyaml, not to str.split("\n")
_MAX_SIMPLE_KEY = 128  # libyaml writes a longer key as a complex key (`? key`)


# A string libyaml writes as it is (a plain scalar) in block context, when the resolver also
# reads it back as a string: no indicator first, no `: ` or ` #`, no edge spaces, ASCII.
_PRINTABLE_LINE = re.compile(r"[ -~]+")
_NEVER_PLAIN_FIRST = frozenset("#,[]{}&*!|>'\"%@`")  # emitter.analyze_scalar's indicators at index 0
# (a `-` first is an indicator only before a space or at the end: `--timeout 60 ...` is plain)
_PLAIN = re.compile(r"(?:[A-Za-z0-9_/.]|-(?=[^ ]))[A-Za-z0-9 _/.=+$(){}\[\]<>^;,~:'\"|!@%&*?-]*")
# what yaml.resolver.Resolver.resolve tries on a plain scalar, by its first character
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers


def _plain(text: str) -> bool:
    return (_PLAIN.fullmatch(text) is not None and text[-1] not in " :" and ": " not in text
            and " #" not in text and not text.startswith(("---", "..."))
            and not any(pattern.match(text) for _, pattern in _IMPLICIT.get(text[0], []) + _IMPLICIT.get(None, [])))


class _Unsupported(Exception):
    pass


def _kept(head: str) -> bool:
    return head.startswith(("|", ">")) and "+" in head


class BlockDumper:
    """dump(data) -> the text of `dump(data)` by `full`, or None when data is outside the fast shape.

    full(data) must be PyYAML's dump with block style, no key sorting and an unbounded width.
    """

    def __init__(self, full: Callable[[Any], str]):
        self._full = full
        # (type, value) -> (first line, the next lines less the probe's indentation, or None)
        self._values: dict[tuple[type, Any], tuple[str, list[str] | None]] = {}
        self._keys: dict[tuple[type, Any], str] = {}
        # the same for strings, looked up without building a tuple: most scalars are strings
        self._str_values: dict[str, tuple[str, list[str] | None]] = {}
        self._str_keys: dict[str, str] = {}

    def dump(self, data: Any) -> str | None:
        if type(data) not in (list, dict) or not data:
            return None
        lines: list[str] = []
        try:
            if type(data) is list:
                self._sequence(data, 0, "", lines, set())
            else:
                self._mapping(data, 0, "", lines, set())
        except _Unsupported:
            return None
        return "\n".join(lines) + "\n"

    # -- structure ------------------------------------------------------

    def _mapping(self, data: dict, col: int, first: str, lines: list[str], seen: set[int]) -> None:
        self._enter(data, seen)
        pad = " " * col
        str_keys = self._str_keys
        lead = first
        for key, value in data.items():
            text = str_keys.get(key) if type(key) is str else None
            self._value(value, col, lead + (text or self._key(key)) + ":", lines, seen, True)
            lead = pad

    def _sequence(self, data: list, col: int, first: str, lines: list[str], seen: set[int]) -> None:
        self._enter(data, seen)
        pad = " " * col
        for index, item in enumerate(data):
            self._value(item, col, (first if index == 0 else pad) + "-", lines, seen, False)

    def _value(self, value: Any, col: int, lead: str, lines: list[str], seen: set[int], in_mapping: bool) -> None:
        kind = type(value)
        if kind is str:
            found = self._str_values.get(value)
            if found is not None and found[1] is None:  # the common case: one line
                lines.append(lead + " " + found[0])
                return
        if kind is dict or kind is list:
            if not value:
                lines.append(lead + (" {}" if kind is dict else " []"))
            elif kind is dict:
                if in_mapping:  # `key:` then the mapping, indented
                    lines.append(lead)
                    self._mapping(value, col + 2, " " * (col + 2), lines, seen)
                else:  # `- key: value`: the first entry shares the dash's line
                    self._mapping(value, col + 2, lead + " ", lines, seen)
            elif in_mapping:  # a sequence in a mapping is not indented (`key:` / `- item`)
                lines.append(lead)
                self._sequence(value, col, " " * col, lines, seen)
            else:
                self._sequence(value, col + 2, lead + " ", lines, seen)
            return
        inline, more = self._scalar(value)
        lines.append(lead + " " + inline)
        if more is not None:  # a literal block's (or a quoted scalar's) next lines: two columns in from its key or dash
            pad = " " * (col + 2)
            lines.extend(pad + line if line else "" for line in more)

    @staticmethod
    def _enter(container, seen: set[int]) -> None:
        if id(container) in seen:  # PyYAML would write an anchor and an alias
            raise _Unsupported
        seen.add(id(container))

    # -- scalars, asked of the real dumper once each --------------------

    def _scalar(self, value: Any) -> tuple[str, list[str] | None]:
        kind = type(value)
        if kind not in _SCALARS:
            raise _Unsupported
        cache_key = (kind, repr(value) if kind is float else value)  # 0.0 == -0.0, but not in YAML
        found = self._values.get(cache_key)
        if found is None and kind is str:
            if _plain(value):
                found = self._values[cache_key] = (value, None)
            elif value[:1] in _NEVER_PLAIN_FIRST and _PRINTABLE_LINE.fullmatch(value):
                # `{{ x }}`, `'a'`, `*`: an indicator first is never plain; one printable line is single-quoted
                found = self._values[cache_key] = ("'" + value.replace("'", "''") + "'", None)
        if found is None:
            text = self._full({"k": value})
            if not text.startswith("k: ") or any(c in text for c in _OTHER_BREAKS):
                raise _Unsupported
            head, _, rest = text[3:].partition("\n")
            if rest == "...\n" or rest.endswith("\n...\n"):  # the document end marker, not content
                rest = rest[:-len("...\n")]
            rest = rest.removesuffix("\n")
            if not rest:
                found = (head, None)
            else:  # a literal block, or a quoted scalar over several lines: indented from the probe's key
                lines = rest.split("\n")
                if any(line and not line.startswith("  ") for line in lines) or _kept(head):
                    raise _Unsupported  # after a kept block (`|+`) libyaml ends the document with `...`
                found = (head, [line[2:] for line in lines])
            self._values[cache_key] = found
        if kind is str:
            self._str_values[value] = found
        return found

    def _key(self, key: Any) -> str:
        kind = type(key)
        if kind not in _SCALARS:
            raise _Unsupported
        cache_key = (kind, repr(key) if kind is float else key)
        found = self._keys.get(cache_key)
        if found is None and kind is str and _plain(key) and len(key) <= _MAX_SIMPLE_KEY:
            found = self._keys[cache_key] = key
        if found is None:
            text = self._full({key: None})
            if not text.endswith(": null\n") or "\n" in text[:-1] or text.startswith("? ") \
                    or any(c in text for c in _OTHER_BREAKS) \
                    or (kind is str and len(key) > _MAX_SIMPLE_KEY):
                raise _Unsupported
            found = text[:-len(": null\n")]
            self._keys[cache_key] = found
        if kind is str:
            self._str_keys[key] = found
        return found
