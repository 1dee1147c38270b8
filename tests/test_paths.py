"""migrator.model.realpath resolves a directory once for all the files in it: held equal to
os.path.realpath on trees of symlinks (relative, absolute, chained, dangling, looping)."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import model

NAMES = ["a", "b", "c", "l1", "l2", "l3", "..", "."]


def _tree(root: Path, links: list[tuple[str, str]]) -> None:
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "a" / "b" / "c" / "f").write_text("")
    (root / "a" / "g").write_text("")
    for where, target in links:
        link = root / where
        if not link.exists() and not link.is_symlink():
            link.symlink_to(target if not target.startswith("/") else root / target[1:])


links = st.lists(st.tuples(st.sampled_from(["l1", "a/l2", "a/b/l3", "a/b/c/l1"]),
                           st.sampled_from(["a", "a/b", "/a/b/c", "..", "../..", "l1", "l2", "a/l2", "missing",
                                            "/a/b/l3", "c/f", "/a/g", "."])), max_size=4)


@settings(max_examples=150, deadline=None)
@given(links, st.lists(st.lists(st.sampled_from(NAMES + ["f", "g", "l1"]), min_size=1, max_size=6), min_size=1,
                       max_size=10))
def test_realpath_is_os_realpath(tmp_path_factory, links, paths):
    root = tmp_path_factory.mktemp("tree")
    _tree(root, links)
    model._real.cache_clear()
    model._realpath.cache_clear()
    for parts in paths:
        path = os.path.join(root, *parts)
        # (`..` is taken lexically first, as os.path.abspath takes it: the cache is by absolute path)
        assert str(model.realpath(path)) == os.path.realpath(os.path.abspath(path)), (links, parts)
