"""Run the real ansible-playbook against localhost, and compare file trees.

Public API::

    run_playbook(playbook, extra_vars=None, cwd=None, env_extra=None, *,
                 callback="json", inventory="localhost,", tmpdir=None,
                 check=False, timeout=900, args=()) -> PlaybookResult
    snapshot_tree(root, *, exclude=()) -> dict[str, tuple[str, int, str]]
    diff_snapshots(a, b, *, names=("ansible", "directord")) -> list[str]

PlaybookResult is a subprocess.CompletedProcess (args, returncode, stdout,
stderr) plus ``.json`` (the parsed output of the json callback, else None),
``.task_results`` (flat list of dicts: play, task, host, status, result),
``.failed_tasks``, ``.ok`` and ``.assert_ok()``.

ansible-core has no ``json`` stdout callback (that one lives in ansible.posix),
so callback="json" uses a small callback embedded below (written to the run's
tmp dir and loaded via ANSIBLE_CALLBACK_PLUGINS); callback="default" gives the
usual human output.

Facts from docs/testing.md applied here: the interpreter is pinned with
``-e ansible_python_interpreter=<sys.executable>`` (discovery picks a broken
python3.13 shim on these machines); quiet env vars; ANSIBLE_LOCAL_TEMP and
ANSIBLE_REMOTE_TEMP under a private tmp dir; ANSIBLE_CONFIG points at an empty
file so an ansible.cfg in cwd cannot change behaviour.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Mapping

QUIET_ENV = {
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_FORCE_COLOR": "0",
    "ANSIBLE_RETRY_FILES_ENABLED": "0",
    "ANSIBLE_LOCALHOST_WARNING": "0",
    "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    "ANSIBLE_DEPRECATION_WARNINGS": "0",
    "ANSIBLE_SYSTEM_WARNINGS": "0",
    "ANSIBLE_HOST_KEY_CHECKING": "0",
}

_CALLBACK_NAME = "tm_json"
_CALLBACK_SOURCE = r'''
from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: tm_json
    type: stdout
    short_description: tripleo-migrate test harness JSON output
    description: [One JSON document on stdout at the end of the run.]
"""


def _res(result):
    return getattr(result, "result", None) if hasattr(result, "result") else result._result


def _host(result):
    return (getattr(result, "host", None) or result._host).get_name()


def _task(result):
    return getattr(result, "task", None) or result._task


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "tm_json"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plays = []
        self.errors = []

    def _current(self):
        return self.plays[-1]["tasks"][-1] if self.plays and self.plays[-1]["tasks"] else None

    def v2_playbook_on_play_start(self, play):
        self.plays.append({"play": play.get_name(), "tasks": []})

    def _start(self, task, handler=False):
        if not self.plays:
            self.plays.append({"play": "", "tasks": []})
        self.plays[-1]["tasks"].append(
            {"task": task.get_name(), "action": task.action, "handler": handler,
             "path": task.get_path(), "hosts": {}}
        )

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task, handler=True)

    def _record(self, result, status, **extra):
        cur = self._current()
        if cur is None:
            self._start(_task(result))
            cur = self._current()
        data = dict(_res(result) or {})
        data.pop("invocation", None)
        cur["hosts"][_host(result)] = dict(status=status, result=data, **extra)

    def v2_runner_on_ok(self, result):
        status = "changed" if (_res(result) or {}).get("changed") else "ok"
        self._record(result, status)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed", ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_no_hosts_matched(self):
        self.errors.append("no hosts matched")

    def v2_playbook_on_stats(self, stats):
        summary = {h: stats.summarize(h) for h in sorted(stats.processed)}
        self._display.display(json.dumps(
            {"plays": self.plays, "stats": summary, "errors": self.errors},
            default=repr, sort_keys=True,
        ))
'''


class PlaybookResult(subprocess.CompletedProcess):
    json = None

    @property
    def task_results(self) -> list[dict]:
        out = []
        for play in (self.json or {}).get("plays", []):
            for task in play["tasks"]:
                for host, r in task["hosts"].items():
                    out.append(dict(play=play["play"], task=task["task"], action=task["action"],
                                    path=task["path"], host=host, status=r["status"],
                                    ignore_errors=r.get("ignore_errors", False), result=r["result"]))
        return out

    @property
    def failed_tasks(self) -> list[dict]:
        return [t for t in self.task_results if t["status"] in ("failed", "unreachable") and not t["ignore_errors"]]

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def summary(self) -> str:
        lines = [f"ansible-playbook exit={self.returncode}: {' '.join(map(str, self.args))}"]
        for t in self.failed_tasks:
            r = t["result"]
            msg = r.get("msg") or r.get("stderr") or r.get("module_stderr") or ""
            lines.append(f"  {t['status'].upper()} {t['host']} {t['task']!r} ({t['path']}): {str(msg)[:2000]}")
        if self.json is None or not self.failed_tasks:
            lines.append("stdout:\n" + (self.stdout or "")[-4000:])
        lines.append("stderr:\n" + (self.stderr or "")[-4000:])
        return "\n".join(lines)

    def assert_ok(self) -> "PlaybookResult":
        if not self.ok:
            raise AssertionError(self.summary())
        return self


def _ansible_playbook() -> str:
    cand = Path(sys.executable).parent / "ansible-playbook"
    if cand.exists():
        return str(cand)
    found = shutil.which("ansible-playbook")
    if not found:
        raise FileNotFoundError("ansible-playbook not found next to sys.executable nor on PATH")
    return found


def run_playbook(
    playbook: os.PathLike | str,
    extra_vars: Mapping | None = None,
    cwd: os.PathLike | str | None = None,
    env_extra: Mapping[str, str] | None = None,
    *,
    callback: str = "json",
    inventory: str = "localhost,",
    tmpdir: os.PathLike | str | None = None,
    check: bool = False,
    timeout: float = 900,
    args: Iterable[str] = (),
) -> PlaybookResult:
    """ansible-playbook -i localhost, -c local, interpreter pinned, quiet, private tmp.

    extra_vars go in as one JSON -e (so types survive). env_extra is applied last
    (e.g. ANSIBLE_ROLES_PATH). tmpdir: where local/remote temp, the empty config and
    the callback go (default: a fresh directory removed afterwards).
    Never raises on a failed play: check result.ok / result.assert_ok().
    """

    own_tmp = tmpdir is None
    base = Path(tempfile.mkdtemp(prefix="tm-ansible-")) if own_tmp else Path(tmpdir)
    try:
        base.mkdir(parents=True, exist_ok=True)
        for d in ("local", "remote", "callbacks"):
            (base / d).mkdir(exist_ok=True)
        cfg = base / "ansible.cfg"
        cfg.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        env.update(QUIET_ENV)
        env.update(
            ANSIBLE_CONFIG=str(cfg),
            ANSIBLE_LOCAL_TEMP=str(base / "local"),
            ANSIBLE_REMOTE_TEMP=str(base / "remote"),
            PYTHONDONTWRITEBYTECODE="1",
        )
        if callback == "json":
            (base / "callbacks" / f"{_CALLBACK_NAME}.py").write_text(_CALLBACK_SOURCE)
            env["ANSIBLE_CALLBACK_PLUGINS"] = str(base / "callbacks")
            env["ANSIBLE_STDOUT_CALLBACK"] = _CALLBACK_NAME
        else:
            env["ANSIBLE_STDOUT_CALLBACK"] = callback
        if env_extra:
            env.update({k: str(v) for k, v in env_extra.items()})

        argv = [
            _ansible_playbook(), "-i", inventory, "-c", "local",
            "-e", f"ansible_python_interpreter={sys.executable}",
        ]
        if extra_vars:
            argv += ["-e", json.dumps(dict(extra_vars))]
        if check:
            argv.append("--check")
        argv += list(args)
        argv.append(str(Path(playbook).resolve()))
        proc = subprocess.run(argv, capture_output=True, text=True, env=env,
                              cwd=str(cwd) if cwd else None, timeout=timeout, stdin=subprocess.DEVNULL)
        result = PlaybookResult(proc.args, proc.returncode, proc.stdout, proc.stderr)
        if callback == "json":
            result.json = _last_json_document(proc.stdout)
        return result
    finally:
        if own_tmp:
            shutil.rmtree(base, ignore_errors=True)


def _last_json_document(text: str):
    text = text.strip()
    start = text.rfind("\n{")
    for candidate in ([text] if text.startswith("{") else []) + ([text[start + 1:]] if start >= 0 else []):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


# --------------------------------------------------------------------------- trees

_TYPES = (
    (stat.S_ISDIR, "dir"),
    (stat.S_ISREG, "file"),
    (stat.S_ISLNK, "link"),
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "chardev"),
    (stat.S_ISBLK, "blockdev"),
)


def _kind(mode: int) -> str:
    for test, name in _TYPES:
        if test(mode):
            return name
    return "other"


def snapshot_tree(root: os.PathLike | str, *, exclude: Iterable[str] = ()) -> dict[str, tuple[str, int, str]]:
    """{relative path: (type, permission bits, sha256 of content | link target | "")}.

    Includes the root itself as ".", so a mode change on the sandbox dir shows up
    too. Symlinks are not followed (their target is recorded). exclude: relative
    paths (and everything below them) to leave out. Ownership is not recorded.
    """

    root = Path(root)
    excluded = {e.strip("/") for e in exclude}
    snap: dict[str, tuple[str, int, str]] = {}

    def add(path: Path, rel: str) -> bool:
        st = path.lstat()
        kind = _kind(st.st_mode)
        if kind == "file":
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            digest = h.hexdigest()
        elif kind == "link":
            digest = os.readlink(path)
        else:
            digest = ""
        snap[rel] = (kind, stat.S_IMODE(st.st_mode), digest)
        return kind == "dir"

    add(root, ".")
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        keep = []
        for name in sorted(dirnames):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if rel in excluded:
                continue
            if add(Path(dirpath, name), rel):  # a symlink to a dir is recorded as a link, not walked
                keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if rel not in excluded:
                add(Path(dirpath, name), rel)
    return snap


def diff_snapshots(a: Mapping, b: Mapping, *, names: tuple[str, str] = ("a", "b")) -> list[str]:
    """Human-readable differences between two snapshot_tree() results; [] if equal."""

    na, nb = names
    out = []
    for path in sorted(set(a) | set(b)):
        if path not in b:
            out.append(f"{path}: only in {na} ({_fmt(a[path])})")
        elif path not in a:
            out.append(f"{path}: only in {nb} ({_fmt(b[path])})")
        elif a[path] != b[path]:
            (ka, ma, ha), (kb, mb, hb) = a[path], b[path]
            parts = []
            if ka != kb:
                parts.append(f"type {ka} vs {kb}")
            if ma != mb:
                parts.append(f"mode {ma:04o} vs {mb:04o}")
            if ha != hb:
                if "link" in (ka, kb):
                    parts.append(f"target {ha!r} vs {hb!r}")
                else:
                    parts.append(f"content {ha[:12]} vs {hb[:12]}")
            out.append(f"{path}: {', '.join(parts)} ({na} vs {nb})")
    return out


def _fmt(entry) -> str:
    kind, mode, digest = entry
    extra = f" -> {digest}" if kind == "link" else (f" sha256 {digest[:12]}" if digest else "")
    return f"{kind} {mode:04o}{extra}"
