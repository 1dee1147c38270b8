"""tripleo-migrate diff OLD_OUT NEW_OUT: review a re-conversion task by task.

Both OUTs are tripleo-migrate outputs (report.json beside the orchestrations).
Generated jobs are grouped by the provenance comment that leads them
(provenance.py), and tasks are matched across the two sides by their stable
id from report.json, so a task that only moved is matched, not added and
removed: it is "moved" when its jobs differ only in the source line numbers
they carry, "changed" otherwise. A TASK job that several tasks share (batched)
is shown per task: each sees its own entry of it. Jobs that no task owns (vars
layers, facts) are matched by file and label. The result is plain data (schema
tripleo-migrate/diff/v1); the text rendering is a view of it.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from . import provenance
from .gate import ReportError, load_report
from .writer import MARKER, dump_yaml

DIFF_SCHEMA = "tripleo-migrate/diff/v1"
_REPORTS = ("report.json", "report.md", "report.sarif", "report.junit.xml", "report.html")


class DiffError(Exception):
    """An OUT that cannot be compared; one line for the user."""


def _load_side(out: Path) -> tuple[dict[str, Any], list[provenance.Chunk]]:
    if not out.is_dir():
        raise DiffError(f"{out}: no such directory" if not out.exists() else f"{out}: not a directory")
    if not (out / "report.json").is_file():
        raise DiffError(f"{out}: not a tripleo-migrate output (no report.json)")
    try:
        report = load_report(out / "report.json")
    except ReportError as exc:
        raise DiffError(str(exc)) from None
    return report, provenance.read_out(out)


def _texts(report: dict[str, Any], chunks: list[provenance.Chunk]) -> tuple[dict[str, str], dict[str, dict]]:
    """Generated text per key (task id, or file+label for jobs no task owns)."""
    ids = {(t["file"], t["line"]): t["id"] for t in report["tasks"]}
    texts: dict[str, list[str]] = {}
    others: dict[str, dict] = {}
    for chunk in chunks:
        key = ids.get((chunk.file, chunk.line))
        if key is None:
            key = "other:" + chunk.file + "\0" + chunk.label
            others.setdefault(key, {"file": chunk.file, "line": chunk.line, "name": chunk.label})
        text = _own_part(chunk.text, f"{chunk.file}:{chunk.line}")
        texts.setdefault(key, []).append(f"# in {chunk.output}\n{text}")
    return {k: "".join(v) for k, v in texts.items()}, others


def _own_part(text: str, where: str) -> str:
    """The jobs of one task: a batched TASK job (vars.tasks, one entry per
    task) is reduced to this task's entry, as the job it would be unbatched."""
    if "\n      tasks:\n" not in text:
        return text
    try:
        jobs = yaml.safe_load(textwrap.dedent(text))
    except yaml.YAMLError:
        return text
    if not isinstance(jobs, list):
        return text
    own = []
    for job in jobs:
        specs = job.get("vars", {}).get("tasks") if isinstance(job, dict) and "TASK" in job else None
        if not isinstance(specs, list):
            own.append(job)
            continue
        own += [{"TASK": spec.get("module"), "vars": {"task": spec}} for spec in specs
                if isinstance(spec, dict) and spec.get("source") == where]
    return "  # (batched with other tasks into one TASK job; this task's part)\n" + "".join(
        f"  {line}\n" if line else "\n" for line in dump_yaml(own).splitlines())


def _line_free(files: set[str]):
    """A function that blanks the line numbers of source references (file:line)."""
    if not files:
        return lambda text: text
    pattern = re.compile("(" + "|".join(re.escape(f) for f in sorted(files, key=len, reverse=True)) + r"):\d+")
    return lambda text: pattern.sub(r"\1:#", text)


def _unified(old: str, new: str, old_where: str | None, new_where: str | None) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"a/{old_where}" if old_where else "/dev/null",
                                 tofile=f"b/{new_where}" if new_where else "/dev/null", n=3)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _file_digests(root: Path) -> dict[str, str]:
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == MARKER or rel in _REPORTS or not path.is_file():
            continue
        found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def compare(old_out: Path, new_out: Path) -> dict[str, Any]:
    old_report, old_chunks = _load_side(old_out)
    new_report, new_chunks = _load_side(new_out)
    old_text, old_others = _texts(old_report, old_chunks)
    new_text, new_others = _texts(new_report, new_chunks)
    old_tasks = {t["id"]: t for t in old_report["tasks"]}
    new_tasks = {t["id"]: t for t in new_report["tasks"]}
    line_free = _line_free({t["file"] for t in old_report["tasks"] + new_report["tasks"]}
                           | {c.file for c in old_chunks + new_chunks})

    changes: list[dict[str, Any]] = []
    for task_id in list(new_tasks) + [i for i in old_tasks if i not in new_tasks]:
        old, new = old_tasks.get(task_id), new_tasks.get(task_id)
        a, b = old_text.get(task_id, ""), new_text.get(task_id, "")
        shown = new or old
        entry: dict[str, Any] = {"id": task_id, "file": shown["file"], "line": shown["line"],
                                 "name": shown.get("name"), "module": shown.get("module")}
        old_where = f"{old['file']}:{old['line']}" if old else None
        new_where = f"{new['file']}:{new['line']}" if new else None
        if old is None:
            entry["status"] = "added"
        elif new is None:
            entry["status"] = "removed"
        elif (line_free(a) != line_free(b) or old["outcome"] != new["outcome"]
              or old.get("jobs") != new.get("jobs") or old["file"] != new["file"]):
            entry["status"] = "changed"
        elif old_where != new_where:
            entry["status"] = "moved"
        else:
            continue
        entry["outcome"] = [old["outcome"] if old else None, new["outcome"] if new else None]
        before, after = Counter(old.get("jobs", []) if old else []), Counter(new.get("jobs", []) if new else [])
        entry["jobs_added"] = sorted((after - before).elements())
        entry["jobs_removed"] = sorted((before - after).elements())
        if old is not None and new is not None and old_where != new_where:
            entry["moved_from"] = old_where
        entry["diff"] = _unified(a, b, old_where, new_where) if entry["status"] != "moved" and a != b else ""
        changes.append(entry)
    changes.sort(key=lambda c: (c["file"], c["line"], c["id"]))

    other_changes: list[dict[str, Any]] = []
    for key in list(new_others) + [k for k in old_others if k not in new_others]:
        a, b = old_text.get(key, ""), new_text.get(key, "")
        if line_free(a) == line_free(b):
            continue
        shown = new_others.get(key) or old_others[key]
        status = "added" if key not in old_others else "removed" if key not in new_others else "changed"
        where = f"{shown['file']}:{shown['line']}"
        other_changes.append({"file": shown["file"], "line": shown["line"], "name": shown["name"], "status": status,
                              "diff": _unified(a, b, where if a else None, where if b else None)})
    other_changes.sort(key=lambda c: (c["file"], c["line"], c["name"]))

    orchestrations = set(provenance.orchestration_files(old_out)) | set(provenance.orchestration_files(new_out))
    before, after = _file_digests(old_out), _file_digests(new_out)
    files = []
    for rel in sorted(set(before) | set(after)):
        if rel not in before:
            files.append({"path": rel, "status": "added"})
        elif rel not in after:
            files.append({"path": rel, "status": "removed"})
        elif before[rel] != after[rel] and rel not in orchestrations:  # their changes are listed per task
            files.append({"path": rel, "status": "changed"})

    counts = Counter(c["status"] for c in changes)
    return {
        "schema": DIFF_SCHEMA,
        "old": str(old_out), "new": str(new_out),
        "coverage": [old_report["summary"]["coverage"], new_report["summary"]["coverage"]],
        "counts": {s: counts.get(s, 0) for s in ("added", "removed", "changed", "moved")},
        "tasks": changes,
        "other_jobs": other_changes,
        "files": files,
    }


def render_text(changes: dict[str, Any]) -> str:
    old_cov, new_cov = changes["coverage"]
    out = [f"coverage {old_cov}% -> {new_cov}%"]
    moved = []
    for c in changes["tasks"]:
        label = f"'{c['name']}' ({c['module']})" if c.get("name") else str(c.get("module"))
        if c["status"] == "moved":  # same jobs, other line numbers: one line is enough
            moved.append(f"   {c['file']}:{c['line']} {label} [{c['id']}] from line {c['moved_from'].rsplit(':', 1)[1]}"
                         if c["moved_from"].rsplit(":", 1)[0] == c["file"] else
                         f"   {c['file']}:{c['line']} {label} [{c['id']}] from {c['moved_from']}")
            continue
        out += ["", f"== {c['file']}:{c['line']} {label} [{c['id']}]: {c['status']}"]
        old, new = c["outcome"]
        if old != new:
            out.append(f"   outcome: {old or '-'} -> {new or '-'}")
        if c.get("moved_from"):
            out.append(f"   moved from {c['moved_from']}")
        jobs = [f"+{j}" for j in c["jobs_added"]] + [f"-{j}" for j in c["jobs_removed"]]
        if jobs:
            out.append(f"   jobs: {' '.join(jobs)}")
        if c["diff"]:
            out.append(c["diff"].rstrip("\n"))
    for c in changes["other_jobs"]:
        out += ["", f"== {c['file']}:{c['line']} {c['name']} (no task): {c['status']}"]
        if c["diff"]:
            out.append(c["diff"].rstrip("\n"))
    if moved:
        out += ["", "== moved (the same jobs, from other lines)"] + moved
    if changes["files"]:
        out += ["", "== other files"]
        out += [f"   {f['status']}: {f['path']}" for f in changes["files"]]
    return "\n".join(out) + "\n"
