"""Write OUT: deterministic YAML with provenance comments, atomically.

The whole of OUT is built in a sibling temporary directory and swapped in
with one renameat2(RENAME_EXCHANGE), so a run killed at any moment leaves
either the previous OUT or the new one. A marker file says that OUT is ours.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import tempfile
from pathlib import Path

import yaml

from .model import Orchestration

MARKER = ".tripleo-migrate"


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """Multi-line strings as literal blocks, which reviewers can read.

    The emitter itself falls back to a quoted style whenever a literal block
    could not hold the string exactly (trailing spaces, control characters).
    """


def _represent_str(dumper, data: str):
    style = "|" if "\n" in data.rstrip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


class OutputError(Exception):
    """OUT cannot be written; the message is for the user."""


def dump_yaml(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=1 << 30)


def _comment(text: str) -> str:
    return " ".join(str(text).split())


def render_orchestrations(orchestrations: list[Orchestration], header: str) -> str:
    """An orchestration file: a YAML list, each job led by its source."""
    lines = [f"# {_comment(line)}" for line in header.splitlines()]
    for orch in orchestrations:
        lines.append(f"- name: {dump_yaml(orch.name).removesuffix(chr(10)).removesuffix('...').strip()}")
        if orch.targets is not None:
            lines.append("  targets:")
            lines.extend(f"  - {dump_yaml(t).splitlines()[0]}" for t in orch.targets)
        jobs = [(group, job) for group in orch.groups for job in group.jobs]
        if not jobs:
            lines.append("  jobs: []")
            continue
        lines.append("  jobs:")
        previous = None
        for group, job in jobs:
            if group is not previous:
                lines.extend(f"  # {source} {_comment(label)}" for source, label in [(group.source, group.label)]
                             + group.also)
                previous = group
            lines.append(_job_text(job))
    return "\n".join(lines) + "\n"


_JOB_TEXT: dict[str, str] = {}


def _job_text(job) -> str:
    """A job as indented YAML; role defaults recur in many files, dump once."""
    data = job.as_dict()
    key = repr(data)  # order-sensitive like the dump itself, and much cheaper than json
    text = _JOB_TEXT.get(key)
    if text is None:
        text = "\n".join("  " + line if line else "" for line in dump_yaml([data]).splitlines())
        _JOB_TEXT[key] = text
    return text


def is_ours(out: Path) -> bool:
    return (out / MARKER).is_file()


def check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not is_ours(out) and not force:
        raise OutputError(f"{out}: not empty and not written by tripleo-migrate; use --force to replace it")


class Staging:
    """A temporary tree beside OUT that becomes OUT in one step."""

    def __init__(self, out: Path):
        self.out = out.absolute()
        parent = self.out.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.root = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.new-", dir=parent))
            self._made: set[Path] = {self.root}
        except OSError as exc:
            raise OutputError(f"{self.out}: cannot write here: {exc.strerror or exc}") from None

    def write_text(self, rel: str, text: str) -> None:
        path = self._path(rel)
        path.write_text(text, encoding="utf-8")

    def copy_file(self, rel: str, source: Path) -> None:
        """Copy through a temporary name: two processes may copy the same file."""
        path = self._path(rel)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
        shutil.copyfile(source, temporary)
        os.replace(temporary, path)

    def _path(self, rel: str) -> Path:
        # Output paths are built by us from relative names; refusing absolute
        # ones and '..' is enough to keep every write inside OUT.
        parts = Path(rel).parts
        if not parts or Path(rel).is_absolute() or ".." in parts:
            raise OutputError(f"refusing to write outside OUT: {rel}")
        path = self.root / rel
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        return path

    def commit(self, marker: dict) -> None:
        self.write_text(MARKER, json.dumps(marker, indent=2, sort_keys=True) + "\n")
        try:
            if self.out.exists():
                _exchange(self.root, self.out)
                shutil.rmtree(self.root)  # now holds the previous OUT
            else:
                os.rename(self.root, self.out)
        except OSError as exc:
            self.discard()
            raise OutputError(f"{self.out}: cannot replace: {exc.strerror or exc}") from None

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> None:
    """Swap two directories atomically (Linux renameat2)."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:  # pragma: no cover - glibc < 2.28
        backup = b.with_name(b.name + ".old")
        os.rename(b, backup)
        os.rename(a, b)
        os.rename(backup, a)
        return
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
