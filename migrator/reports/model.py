"""The canonical report: plain data in the shape of report.json.

Views (Markdown, terminal table, SARIF, JUnit) read this dict and nothing
else, so every format says the same thing.
"""

from __future__ import annotations

import json
from typing import Any

from ..model import LoadError, Outcome, TaskResult

REPORT_SCHEMA = "tripleo-migrate/report/v1"
OUTCOME_ORDER = [o.value for o in Outcome]


def exact_coverage(outcomes: dict[str, int]) -> float:
    """Percent of tasks translated (native, lowered, component), unrounded: what gates compare."""
    total = sum(outcomes.values())
    if not total:
        return 100.0
    translated = sum(outcomes.get(o.value, 0) for o in Outcome if o.translated)
    return 100.0 * translated / total


def coverage_of(outcomes: dict[str, int]) -> float:
    """The coverage shown in reports, to a tenth."""
    return round(exact_coverage(outcomes), 1)


def _task_entry(result: TaskResult) -> dict[str, Any]:
    task = result.task
    entry: dict[str, Any] = {
        "id": task.id,
        "file": task.source.path,
        "line": task.source.line,
        "role": task.role,
        "name": task.name,
        "module": task.module,
        "outcome": result.outcome.value,
        "jobs": result.jobs,
        "output": result.output,
        "findings": [{"what": f.what, "severity": f.severity.value, "message": f.message}
                     for f in result.findings],
    }
    return entry


def build_report(results: list[TaskResult], errors: list[LoadError], version: str) -> dict[str, Any]:
    """Tasks in source order: stubs are listed first by the views, not here."""
    ordered = sorted(results, key=lambda r: (r.task.source.path, r.task.source.line, r.task.id))
    outcomes = {o: 0 for o in OUTCOME_ORDER}
    for result in ordered:
        outcomes[result.outcome.value] += 1
    unique_errors = sorted({(e.source.path, e.source.line, e.message) for e in errors})
    return {
        "schema": REPORT_SCHEMA,
        "version": version,
        "summary": {
            "tasks": len(ordered),
            "outcomes": outcomes,
            "coverage": coverage_of(outcomes),
            "errors": len(unique_errors),
        },
        "tasks": [_task_entry(r) for r in ordered],
        "errors": [{"file": f, "line": line, "message": m} for f, line, m in unique_errors],
    }


def to_json(report: dict[str, Any]) -> str:
    """report.json's text: the summary indented, then one line per task and per error, so
    that a task whose outcome changes is one changed line in a diff. (Each line is written by
    json's C encoder; `indent=` would make json use its Python encoder, twice as slow here.)"""
    encode = json.JSONEncoder().encode
    entries = []
    for key, value in report.items():
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            lines = ",\n".join("    " + encode(item) for item in value)
            entries.append(f"  {encode(key)}: [\n{lines}\n  ]")
        else:
            entries.append(f"  {encode(key)}: " + json.dumps(value, indent=2).replace("\n", "\n  "))
    return "{\n" + ",\n".join(entries) + "\n}\n"
