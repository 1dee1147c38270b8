"""What the TASK runtime component can run, as the converter sees it."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def supported_modules() -> frozenset[str]:
    from . import runtime

    return frozenset(runtime.SUPPORTED_MODULES())


@functools.lru_cache(maxsize=1)
def node_lookups() -> frozenset[str]:
    """Lookup plugins a node can run (lookup()/query() in templates): those needing no controller."""
    from .runtime.filters import LOOKUPS

    return frozenset(LOOKUPS) | {"vars"}
