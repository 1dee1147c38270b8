"""Command line: human output on stderr, machine output in files or stdout."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from . import __version__, yamlio
from .pipeline import REPORT_FORMATS, Options, run
from .reports.terminal import print_summary
from .writer import OutputError

EXIT_OK, EXIT_GATE, EXIT_USAGE = 0, 1, 2


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def parse_extra_vars(values: tuple[str, ...]) -> dict[str, Any]:
    """-e K=V, -e @FILE (YAML) or -e '{"json": ...}', merged in order."""
    merged: dict[str, Any] = {}
    for value in values:
        if value.startswith("@"):
            try:
                data = yamlio.load_file(Path(value[1:]))
            except yamlio.YamlError as exc:
                raise click.BadParameter(f"{value[1:]}:{exc.line}: {exc}")
            if not isinstance(data, dict):
                raise click.BadParameter(f"{value[1:]}: extra vars file must be a mapping")
            merged.update(yamlio.plain(data))
        elif value.lstrip().startswith("{"):
            try:
                merged.update(json.loads(value))
            except ValueError as exc:
                raise click.BadParameter(f"invalid JSON: {exc}")
        else:
            for pair in value.split():
                if "=" not in pair:
                    raise click.BadParameter(f"expected K=V, got {pair!r}")
                key, _, val = pair.partition("=")
                merged[key] = val
    return merged


@click.group()
@click.version_option(__version__, prog_name="tripleo-migrate")
def main() -> None:
    """Convert TripleO's Ansible to Directord orchestrations."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Output directory.")
@click.option("--force", is_flag=True, help="Replace a non-empty OUT that tripleo-migrate did not write.")
@click.option("--report", "reports", default=",".join(REPORT_FORMATS), show_default=True,
              help="Report formats, comma-separated (json is always written).")
@click.option("--roles-path", multiple=True, type=click.Path(path_type=Path), help="Where to look for roles.")
@click.option("--module-path", multiple=True, type=click.Path(path_type=Path), help="Where to look for custom modules.")
@click.option("-e", "--extra-vars", multiple=True, help="K=V, @FILE or JSON; highest precedence.")
@click.option("--tags", default="", help="Only tasks with these tags (comma-separated).")
@click.option("--skip-tags", default="", help="Leave out tasks with these tags.")
@click.option("--skip-unsupported", is_flag=True, help="Leave unsupported tasks out instead of failing jobs.")
@click.option("--fail-under", type=click.FloatRange(0, 100), help="Exit 1 when coverage is below PCT.")
@click.option("--quiet", is_flag=True, help="No progress or summary on stderr.")
def convert(paths, out, force, reports, roles_path, module_path, extra_vars, tags, skip_tags,
            skip_unsupported, fail_under, quiet) -> None:
    """Convert roles, playbooks or directories of them into OUT."""
    console = _stderr()
    formats = tuple(f.strip() for f in reports.split(",") if f.strip())
    unknown = set(formats) - set(REPORT_FORMATS)
    if unknown:
        raise click.UsageError(f"unknown report format(s): {', '.join(sorted(unknown))}")
    options = Options(
        paths=list(paths), out=out, force=force, reports=formats, roles_path=list(roles_path),
        module_path=list(module_path), extra_vars=parse_extra_vars(extra_vars),
        tags={t for t in tags.split(",") if t}, skip_tags={t for t in skip_tags.split(",") if t},
        skip_unsupported=skip_unsupported,
    )
    try:
        if quiet or not console.is_terminal:
            result = run(options)
        else:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          console=console, transient=True) as bar:
                job = bar.add_task("converting", total=None)

                def progress(name: str, done: int, total: int) -> None:
                    bar.update(job, description=f"converting {name}", completed=done, total=total)

                result = run(options, progress)
    except OutputError as exc:
        console.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        console.print("interrupted: OUT was left as it was", markup=False)
        sys.exit(130)
    except Exception as exc:  # a bug of ours: one line for the user, details on demand
        if os.environ.get("TRIPLEO_MIGRATE_DEBUG"):
            raise
        console.print(f"error: internal error: {type(exc).__name__}: {exc} "
                      "(set TRIPLEO_MIGRATE_DEBUG=1 for the traceback)", markup=False)
        sys.exit(EXIT_USAGE)
    report = result.report
    for error in report["errors"]:
        console.print(f"{error['file']}:{error['line']}: error: {error['message']}", markup=False)
    if not quiet:
        print_summary(report, console)
        if result.reused:
            console.print("inputs unchanged: kept the previous output", markup=False)
    if result.no_input:
        sys.exit(EXIT_USAGE)
    if fail_under is not None and report["summary"]["coverage"] < fail_under:
        console.print(f"coverage {report['summary']['coverage']}% is under {fail_under}%", markup=False)
        sys.exit(EXIT_GATE)
    sys.exit(EXIT_OK)
