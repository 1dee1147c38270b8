"""Read Ansible YAML the way Ansible does (YAML 1.1), keeping line numbers.

PyYAML's C loader is YAML 1.1 (``mode: 0644`` is 420, ``yes`` is True) and
fast at parsing; we only swap in a mapping constructor that remembers where
each mapping starts and which keys were duplicated (Ansible keeps the last one
and warns). Nothing here evaluates anything: ``!unsafe`` and ``!vault``
become marker strings.

Building Python data from the parsed nodes is PyYAML's slow half, so plain
mappings, sequences and scalars are built by ``_Builder`` below (same result,
about twice as fast); anything else goes through PyYAML's constructors.
"""

from __future__ import annotations

import base64
import datetime
from pathlib import Path
from typing import Any

import yaml

from .model import realpath

try:  # the C loader is ~20x faster; fall back for exotic builds
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _BaseLoader = yaml.SafeLoader

# Bounds for hostile input: aliases can make a small file expand
# exponentially when walked, and deep nesting exhausts the stack.
MAX_NODES = 2_000_000
MAX_DEPTH = 200


class YamlError(Exception):
    """A file that cannot be read as YAML; carries the 1-based line."""

    def __init__(self, message: str, line: int = 1):
        super().__init__(message)
        self.line = line


class LineDict(dict):
    """A mapping that knows its 1-based start line and duplicated keys."""

    __slots__ = ("line", "duplicates")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = 0
        self.duplicates: list[tuple[str, int]] = []


class LineList(list):
    """A sequence that knows its 1-based start line and each item's."""

    __slots__ = ("line", "item_lines")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = 0
        self.item_lines: list[int] = []


class UnsafeStr(str):
    """A ``!unsafe`` value: Ansible never templates it."""


class VaultStr(str):
    """A ``!vault`` value: encrypted, cannot be carried over."""


class _Loader(_BaseLoader):
    def resolve(self, kind, value, implicit):
        # the C parser asks for every untagged node's tag; the answer depends only on
        # these three (no path resolvers here), and keys like `name:` recur thousands of times
        key = (kind, value, implicit)
        tag = _TAGS.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if value is None or len(value) < 256:
                _TAGS[key] = tag
        return tag


_TAGS: dict[tuple, str] = {}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode):
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise YamlError(f"unhashable mapping key {key!r}", key_node.start_mark.line + 1)
        if key in data:
            data.duplicates.append((str(key), key_node.start_mark.line + 1))
        data[key] = loader.construct_object(value_node, deep=True)


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode):
    data = LineList()
    data.line = node.start_mark.line + 1
    data.item_lines = [child.start_mark.line + 1 for child in node.value]
    yield data
    data.extend(loader.construct_object(child, deep=True) for child in node.value)


def _construct_timestamp(loader: _Loader, node: yaml.Node):
    # Ansible keeps dates as written when they reach a module; JSON needs str.
    return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor("!unsafe", lambda loader, node: UnsafeStr(loader.construct_scalar(node)))
_Loader.add_constructor("!vault", lambda loader, node: VaultStr(loader.construct_scalar(node)))
_Loader.add_constructor("!vault-encrypted", lambda loader, node: VaultStr(loader.construct_scalar(node)))


def _check_size(data: Any) -> None:
    """Refuse documents whose walk would not stay bounded."""
    budget = MAX_NODES
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise YamlError(f"document expands to more than {MAX_NODES} nodes (alias bomb?)")
        if depth > MAX_DEPTH:
            line = getattr(item, "line", 1) or 1
            raise YamlError(f"nesting deeper than {MAX_DEPTH} levels", line)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _decode(raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise YamlError("binary file (NUL byte), not YAML")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise YamlError(f"not UTF-8 (byte 0x{raw[exc.start]:02x})", line) from None


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_FLATTEN_KEYS = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")  # what flatten_mapping rewrites
_SCALARS: dict[tuple[str, str], Any] = {}  # (tag, text) -> value, for tags other than str
_SHAREABLE = frozenset({int, float, bool, type(None), str, UnsafeStr, VaultStr})  # immutable: one value may serve all


class _TooDeep(Exception):
    """Nesting beyond MAX_DEPTH: the general path reports it as it always has."""


class _Builder:
    """Python data from a composed node tree, as _Loader's constructors build it.

    Plain mappings and sequences are built here, scalars through PyYAML's
    constructors once per distinct (tag, text); other tagged collections go to
    PyYAML's constructors, which share our table of built nodes, so an alias is
    the same object wherever it appears, as with PyYAML alone.
    """

    def __init__(self, loader: _Loader, root: yaml.Node):
        self.loader = loader
        self.root = root
        self.built: dict[yaml.Node, Any] = loader.constructed_objects
        self.building: set[yaml.Node] = set()
        self.aliased = False

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        tag = node.tag
        kind = type(node)
        if kind is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            key = (tag, node.value)
            value = _SCALARS.get(key, _SCALARS)
            if value is _SCALARS:
                value = self.loader.construct_object(node, deep=True)
                if type(value) in _SHAREABLE:
                    _SCALARS[key] = value
            return value
        if node in self.built:
            # PyYAML lets a collection hold only the document itself, not one it is still building
            if node in self.building and node is not self.root:
                raise yaml.constructor.ConstructorError(None, None, "found unconstructable recursive node",
                                                        node.start_mark)
            self.aliased = True
            return self.built[node]
        if depth > MAX_DEPTH:
            raise _TooDeep
        if kind is yaml.MappingNode and tag == _MAP:
            data = LineDict()
            fill = self._fill_mapping
        elif kind is yaml.SequenceNode and tag == _SEQ:
            data = LineList()
            fill = self._fill_sequence
        else:
            return self.loader.construct_object(node, deep=True)
        data.line = node.start_mark.line + 1
        self.built[node] = data
        self.building.add(node)
        fill(data, node, depth + 1)
        self.building.discard(node)
        return data

    def _fill_sequence(self, data: LineList, node: yaml.SequenceNode, depth: int) -> None:
        data.item_lines = [child.start_mark.line + 1 for child in node.value]
        data.extend([self.build(child, depth) for child in node.value])

    def _fill_mapping(self, data: LineDict, node: yaml.MappingNode, depth: int) -> None:
        if any(key_node.tag in _FLATTEN_KEYS for key_node, _ in node.value):
            self.loader.flatten_mapping(node)  # merge keys (<<)
        for key_node, value_node in node.value:
            if type(key_node) is yaml.ScalarNode and key_node.tag == _STR:
                key = key_node.value
            else:
                key = self.build(key_node, depth)
                try:
                    hash(key)
                except TypeError:
                    raise YamlError(f"unhashable mapping key {key!r}", key_node.start_mark.line + 1)
            if key in data:
                data.duplicates.append((str(key), key_node.start_mark.line + 1))
            data[key] = self.build(value_node, depth)


def _construct(text: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        builder = _Builder(loader, node)
        try:
            data = builder.build(node)
        except _TooDeep:
            return _construct_general(text)
        if builder.aliased:  # a small document can walk like a huge one; without aliases it is as big as its text
            _check_size(data)
        return data
    finally:
        loader.dispose()


def _construct_general(text: str) -> Any:
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader subclass
    _check_size(data)
    return data


def loads(text: str) -> Any:
    """Parse one YAML document; raise YamlError with a line on failure."""
    try:
        data = _construct(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and mark.index >= len(text.rstrip()):
            # "unexpected end of file" points past the last line; the construct
            # left open (a flow sequence, a quoted string) is where to look.
            mark = exc.context_mark
        problem = exc.problem or str(exc)
        if exc.context and mark is exc.context_mark:
            problem = f"{exc.context}: {problem}"
        raise YamlError(f"invalid YAML: {problem}", mark.line + 1 if mark else 1) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlError(f"nesting deeper than {MAX_DEPTH} levels") from None
    return data


_CACHE: dict[tuple, Any] = {}


def load_file(path: Path) -> Any:
    """Read and parse a YAML file; every failure is a YamlError.

    Discovery and loading read the same files, so results are kept, keyed by
    the file's identity and mtime (an edited file is read again); callers must
    not modify what they get.
    """
    try:
        st = path.stat()
        key = (str(realpath(path)), st.st_ino, st.st_size, st.st_mtime_ns)
    except (OSError, RuntimeError):
        return _load_file(path)  # reports the problem as a YamlError
    if key not in _CACHE:
        try:
            _CACHE[key] = _load_file(path)
        except YamlError as exc:
            _CACHE[key] = exc
    result = _CACHE[key]
    if isinstance(result, YamlError):
        raise result
    return result


def _load_file(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlError(f"cannot read: {exc.strerror or exc}") from None
    return loads(_decode(raw))


_PLAIN_LEAVES = frozenset({str, int, float, bool, type(None)})


def plain(data: Any) -> Any:
    """Copy YAML data into JSON-safe builtins (dates as ISO strings)."""
    if type(data) in _PLAIN_LEAVES:  # most of what a task holds: checked first, and cheaply
        return data
    if isinstance(data, dict):
        return {k if type(k) is str else str(k): plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [plain(v) for v in data]
    if isinstance(data, (datetime.date, datetime.datetime)):
        return data.isoformat()
    if isinstance(data, UnsafeStr) and ("{{" in data or "{%" in data or "{#" in data):
        # Ansible never templates a !unsafe value; the runtime templates every string, so the
        # text goes as an expression whose value is the text itself (exact: no Jinja lexing of it)
        encoded = base64.b64encode(data.encode("utf-8")).decode("ascii")
        return "{{ '" + encoded + "' | b64decode }}"
    if isinstance(data, (UnsafeStr, VaultStr)):
        return str(data)
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data


def kind(value: Any) -> str:
    """What a YAML value is, in YAML's words (for messages)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "a string"

