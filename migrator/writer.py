"""Write OUT: deterministic YAML with provenance comments, atomically.

The whole of OUT is built in a sibling temporary directory and swapped in
with one renameat2(RENAME_EXCHANGE), so a run killed at any moment leaves
either the previous OUT or the new one. A marker file says that OUT is ours.
A killed run may leave its staging directory, `.<OUT name>.new-<pid>-*`
beside OUT (the new tree, or the previous one after the swap); the next run
into that OUT removes those whose process is gone.
"""

from __future__ import annotations

import ctypes
import json
import marshal
import os
import re
import shutil
import tempfile
from pathlib import Path

import yaml

from .fastyaml import BlockDumper
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


def _pyyaml_dump(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=1 << 30)


_FAST = BlockDumper(_pyyaml_dump)


def dump_yaml(data) -> str:
    """YAML block style, multi-line strings as literal blocks: PyYAML's output (fastyaml.py)."""
    text = _FAST.dump(data)
    return _pyyaml_dump(data) if text is None else text


def _scalar(value) -> str:
    """A scalar on one line: plain when YAML allows, else double-quoted (escaped)."""
    text = dump_yaml(value).removesuffix("...\n").removesuffix("\n")
    if any(c in text for c in "\n\r\x85\u2028\u2029"):  # YAML's line breaks
        text = yaml.dump(value, Dumper=yaml.SafeDumper, default_style='"', width=1 << 30).removesuffix("\n")
    return text


# What YAML allows in a stream (PyYAML's Reader refuses a file holding anything else).
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _comment(text: str) -> str:
    """Text for a comment: one line, control characters shown escaped."""
    text = _NON_PRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode(), str(text))
    return " ".join(text.split())


def render_orchestrations(orchestrations: list[Orchestration], header: str) -> str:
    """An orchestration file: a YAML list, each job led by its source."""
    lines = [f"# {_comment(line)}" for line in header.splitlines()]
    for orch in orchestrations:
        lines.append(f"- name: {_scalar(orch.name)}")
        if orch.targets is not None:
            lines.append("  targets:" if orch.targets else "  targets: []")
            lines.extend(f"  - {_scalar(t)}" for t in orch.targets)
        jobs = [(group, job) for group in orch.groups for job in group.jobs]
        if not jobs:
            lines.append("  jobs: []")
            continue
        lines.append("  jobs:")
        previous = None
        for group, job in jobs:
            if group is not previous:
                lines.extend(f"  # {_comment(f'{source} {label}')}" for source, label in [(group.source, group.label)]
                             + group.also)
                previous = group
            lines.append(_job_text(job))
    return "\n".join(lines) + "\n"


_JOB_TEXT: dict[bytes | str, str] = {}


def _job_text(job) -> str:
    """A job as indented YAML; role defaults recur in many files, dump once.

    The text stays on the job too: task-core's services hold the same jobs (a
    worker's come back pickled with it). The key is the job's marshal bytes: as
    order-sensitive as the dump, and a quarter of the cost of its repr."""
    text = job.__dict__.get("_text")
    if text is None:
        data = job.as_dict()
        try:
            key = marshal.dumps(data, 2)  # version 2: no references, whose use depends on refcounts
        except ValueError:  # a type marshal does not know (not in jobs we make)
            key = repr(data)
        text = _JOB_TEXT.get(key)
        if text is None:
            dumped = dump_yaml([data]).removesuffix("...\n")  # the end marker a last `|+` block gets
            text = "\n".join("  " + line if line else "" for line in dumped.removesuffix("\n").split("\n"))  # not splitlines(): U+2028 &co. are content
            _JOB_TEXT[key] = text
        job._text = text
    return text


def is_ours(out: Path) -> bool:
    return (out / MARKER).is_file()


def check_target(out: Path, force: bool, inputs: list[Path] = ()) -> None:
    """Refuse an OUT whose replacement would delete anything but OUT's own files.

    Replacing OUT removes the whole previous tree (symbolic links in it are
    removed, never followed), so OUT may not be a symbolic link, `/`, the home
    directory or one above it, an input or a directory holding one; and with
    --force, a foreign OUT may not hold a link that leads outside it.
    """
    if out.is_symlink():
        raise OutputError(f"{out}: is a symbolic link; give the directory it points to, or another OUT")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    try:
        real = out.resolve()
        home = Path(os.path.expanduser("~")).resolve()
    except (OSError, RuntimeError) as exc:
        raise OutputError(f"{out}: cannot resolve: {exc}") from None
    if real == Path(real.anchor):
        raise OutputError(f"{out}: is the root directory; refusing to replace it")
    if home != Path(home.anchor) and home.is_relative_to(real):
        raise OutputError(f"{out}: is the home directory or holds it; refusing to replace it")
    for item in inputs:
        try:
            resolved = Path(item).resolve()
        except (OSError, RuntimeError):
            continue
        if resolved.is_relative_to(real):
            raise OutputError(f"{out}: is or holds the input {item}; replacing it would delete the input")
    if out.is_dir() and any(out.iterdir()) and not is_ours(out):
        if not force:
            raise OutputError(f"{out}: not empty and not written by tripleo-migrate; use --force to replace it")
        outside = _link_outside(real)
        if outside is not None:
            raise OutputError(f"{out}: holds {outside}, a symbolic link that leads outside it; "
                              "refusing to replace it even with --force")


def _link_outside(root: Path) -> Path | None:
    """The first symbolic link below root whose target lies outside root."""
    for directory, dirnames, filenames in os.walk(root):  # does not descend into linked directories
        for name in dirnames + filenames:
            path = Path(directory, name)
            if path.is_symlink():
                try:
                    target = path.resolve()
                except (OSError, RuntimeError):
                    return path.relative_to(root)
                if not target.is_relative_to(root):
                    return path.relative_to(root)
    return None


def _remove_stale(parent: Path, prefix: str) -> None:
    """Remove staging directories that killed runs left beside OUT.

    They are named <prefix><pid>-<random>; one whose process is gone can only be
    a leftover (a run that was killed, or lost power, before it swapped OUT in
    or removed the previous tree)."""
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid = entry.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)) \
                and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class Staging:
    """A temporary tree beside OUT that becomes OUT in one step."""

    def __init__(self, out: Path):
        self.out = out.absolute()
        parent = self.out.parent
        prefix = f".{self.out.name}.new-"
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.root = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))
            self._root = str(self.root)
            self._made: set[str] = {self._root}
        except OSError as exc:
            raise OutputError(f"{self.out}: cannot write here: {exc.strerror or exc}") from None
        _remove_stale(parent, prefix)

    def write_text(self, rel: str, text: str) -> None:
        try:
            with open(self._path(rel), "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise OutputError(f"{self.out}: cannot write {rel}: {exc.strerror or exc}") from None

    def copy_file(self, rel: str, source: Path) -> None:
        """Copy a file into OUT. Both processes may copy the same one: the first to create
        it writes it (the same bytes either would), and nothing reads OUT before both are done."""
        try:
            try:
                target = os.open(self._path(rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                return
            with open(target, "wb") as dst, open(source, "rb") as src:
                shutil.copyfileobj(src, dst)
        except OSError as exc:
            raise OutputError(f"{self.out}: cannot write {rel}: {exc.strerror or exc}") from None

    def _path(self, rel: str) -> str:
        # Output paths are built by us from relative names; refusing absolute
        # ones and '..' is enough to keep every write inside OUT.
        parts = rel.split("/")
        if not rel or rel.startswith("/") or ".." in parts:
            raise OutputError(f"refusing to write outside OUT: {rel}")
        parent = os.path.join(self._root, *parts[:-1])
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)
        return os.path.join(parent, parts[-1])

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
