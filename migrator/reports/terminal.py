"""The summary table on stderr (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from .model import OUTCOME_ORDER


def print_summary(report: dict[str, Any], console: Console) -> None:
    summary = report["summary"]
    table = Table(title=f"tripleo-migrate: {summary['tasks']} tasks, coverage {summary['coverage']}%")
    table.add_column("outcome")
    table.add_column("tasks", justify="right")
    for outcome in OUTCOME_ORDER:
        table.add_row(outcome, str(summary["outcomes"].get(outcome, 0)))
    table.add_row("input errors", str(summary["errors"]))
    console.print(table)
