"""What the TASK runtime component can run, as the converter sees it.

Read from the runtime's source text, not by importing it: the ports import much of the
standard library (http.client, email, ...) that a conversion never uses, and the converter
asks before it can start its second process. tests/test_runtime_core.py holds these sets
equal to what importing the runtime registers.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_RUNTIME = Path(__file__).parent / "runtime"
_DECORATOR = re.compile(r"^@module\(([^)]*)\)", re.M)
_NAME = re.compile(r'"([^"]+)"')


def _dict_keys(path: Path, name: str) -> set[str]:
    """The string keys of a top-level `NAME = {...}` literal, one entry a line."""
    text = path.read_text()
    start = text.index(f"\n{name} = {{\n")
    block = text[start:text.index("\n}\n", start)]
    return set(re.findall(r'^    "([^"]+)":', block, re.M))


@functools.lru_cache(maxsize=1)
def supported_modules() -> frozenset[str]:
    """The core's own modules and every port's registered names."""
    names = _dict_keys(_RUNTIME / "core.py", "PSEUDO_MODULES")
    for path in sorted((_RUNTIME / "modules").glob("*.py")):
        for arguments in _DECORATOR.findall(path.read_text()):
            names.update(_NAME.findall(arguments))
    return frozenset(names)


@functools.lru_cache(maxsize=1)
def node_lookups() -> frozenset[str]:
    """Lookup plugins a node can run (lookup()/query() in templates): those needing no controller."""
    return frozenset(_dict_keys(_RUNTIME / "filters.py", "LOOKUPS")) | {"vars"}
