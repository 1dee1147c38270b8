"""The CI gate: coverage threshold and no regression against a baseline report.

Fails (exit 1) when
- coverage is under --fail-under PCT,
- a task the baseline had translated (native, lowered, component) no longer is,
- a task new since the baseline is not translated.
Tasks are matched by their stable id (loader._task_id: file, module, name and
rank, not the line), so moving a task does not make it new. A task that is
gone since the baseline is no problem. Reads report dicts only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .reports.model import REPORT_SCHEMA, exact_coverage

GATE_SCHEMA = "tripleo-migrate/gate/v1"
TRANSLATED = ("native", "lowered", "component")


class ReportError(Exception):
    """A report file that cannot be used; the message is one line for the user."""


def load_report(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ReportError(f"{path}: is a directory, not a report file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}:{exc.lineno}: not JSON: {exc.msg} (column {exc.colno})") from None
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema != REPORT_SCHEMA:
        raise ReportError(f"{path}: not a tripleo-migrate report (schema {schema!r}, expected {REPORT_SCHEMA!r})")
    summary, tasks = data.get("summary"), data.get("tasks")
    if (not isinstance(summary, dict) or not isinstance(tasks, list)
            or not isinstance(summary.get("coverage"), (int, float)) or isinstance(summary.get("coverage"), bool)
            or not isinstance(summary.get("outcomes"), dict)
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in summary["outcomes"].values())):
        raise ReportError(f"{path}: malformed report: summary (coverage, outcomes) or tasks missing")
    for index, task in enumerate(tasks):
        if (not isinstance(task, dict) or not all(isinstance(task.get(k), str) for k in ("id", "file", "outcome"))
                or not isinstance(task.get("line"), int)):
            raise ReportError(f"{path}: malformed report: task {index} lacks id, file, line or outcome")
    data.setdefault("errors", [])
    return data


def _where(task: dict[str, Any]) -> str:
    return f"{task['file']}:{task['line']}"


def _label(task: dict[str, Any]) -> str:
    name = task.get("name")
    module = task.get("module") or "?"
    return f"'{name}' ({module})" if name else module


def _reason(task: dict[str, Any]) -> str:
    errors = [f.get("message", "") for f in task.get("findings", []) if f.get("severity") == "error"]
    return f": {'; '.join(errors)}" if errors else ""


def evaluate(report: dict[str, Any], fail_under: float | None = None,
             baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """The gate's verdict as plain data (schema tripleo-migrate/gate/v1)."""
    problems: list[dict[str, Any]] = []
    coverage = report["summary"]["coverage"]
    # compare the unrounded figure: 96.96% is shown as 97.0% but is under 97%
    exact = exact_coverage(report["summary"]["outcomes"])
    if fail_under is not None and exact < fail_under:
        shown = f"{coverage}" if round(exact, 1) < fail_under else f"{int(exact * 100) / 100:.2f}"
        problems.append({"kind": "coverage", "message": f"coverage {shown}% is under {fail_under}%"})
    if baseline is not None:
        before = {t["id"]: t for t in baseline["tasks"]}
        for task in report["tasks"]:
            if task["outcome"] in TRANSLATED:
                continue
            old = before.get(task["id"])
            if old is None:
                kind = "new-untranslated"
                message = f"new task {_label(task)} is {task['outcome']}{_reason(task)}"
            elif old["outcome"] in TRANSLATED:
                kind = "regression"
                message = (f"{_label(task)} was {old['outcome']} in the baseline ({_where(old)}), "
                           f"now {task['outcome']}{_reason(task)}")
            else:
                continue
            problems.append({"kind": kind, "id": task["id"], "file": task["file"], "line": task["line"],
                             "name": task.get("name"), "module": task.get("module"),
                             "outcome": task["outcome"], "baseline_outcome": old["outcome"] if old else None,
                             "message": message})
    verdict: dict[str, Any] = {
        "schema": GATE_SCHEMA,
        "passed": not problems,
        "coverage": coverage,
        "fail_under": fail_under,
        "summary": report["summary"],
        "problems": problems,
    }
    if baseline is not None:
        verdict["baseline_coverage"] = baseline["summary"]["coverage"]
    return verdict


def problem_lines(verdict: dict[str, Any]) -> list[str]:
    """One line per problem, file:line first where there is one."""
    return [f"{p['file']}:{p['line']}: {p['kind']}: {p['message']}" if "file" in p else f"{p['kind']}: {p['message']}"
            for p in verdict["problems"]]


def verdict_line(verdict: dict[str, Any]) -> str:
    count = len(verdict["problems"])
    return "gate: passed" if verdict["passed"] else f"gate: failed ({count} problem{'s' if count != 1 else ''})"


def text_summary(verdict: dict[str, Any]) -> str:
    """The coverage command's text output (the gate's lines go to stderr)."""
    summary = verdict["summary"]
    outcomes = ", ".join(f"{k} {v}" for k, v in summary["outcomes"].items())
    lines = [f"coverage {summary['coverage']}% of {summary['tasks']} tasks ({outcomes}); "
             f"{summary.get('errors', 0)} input errors"]
    if "baseline_coverage" in verdict:
        delta = round(summary["coverage"] - verdict["baseline_coverage"], 1)
        lines.append(f"baseline coverage {verdict['baseline_coverage']}% ({'+' if delta >= 0 else ''}{delta})")
    return "\n".join(lines) + "\n"
