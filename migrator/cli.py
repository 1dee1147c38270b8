"""Command line: human output on stderr, machine output in files or stdout."""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__, yamlio
from .pipeline import REPORT_FORMATS, Options, run
from .writer import OutputError

EXIT_OK, EXIT_GATE, EXIT_USAGE = 0, 1, 2


def _say(message: str) -> None:
    """One plain line on stderr (rich, for tables and the bar, loads only when shown)."""
    click.echo(message, err=True)


def _rich_stderr():
    from rich.console import Console

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
    # A conversion builds many small objects that all live to the end: collecting
    # cycles among them only costs time (about a tenth of a run on the corpus).
    gc.set_threshold(200_000, 50, 1000)
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
        if quiet or not sys.stderr.isatty():
            result = run(options)
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          console=_rich_stderr(), transient=True) as bar:
                job = bar.add_task("converting", total=None)

                def progress(name: str, done: int, total: int) -> None:
                    bar.update(job, description=f"converting {name}", completed=done, total=total)

                result = run(options, progress)
    except OutputError as exc:
        _say(f"error: {exc}")
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        _say("interrupted: OUT was left as it was")
        sys.exit(130)
    except Exception as exc:  # a bug of ours: one line for the user, details on demand
        if os.environ.get("TRIPLEO_MIGRATE_DEBUG"):
            raise
        _say(f"error: internal error: {type(exc).__name__}: {exc} "
             "(set TRIPLEO_MIGRATE_DEBUG=1 for the traceback)")
        sys.exit(EXIT_USAGE)
    report = result.report
    for error in report["errors"]:
        _say(f"{error['file']}:{error['line']}: error: {error['message']}")
    if not quiet:
        from .reports.terminal import print_summary

        print_summary(report, _rich_stderr())
        if result.reused:
            _say("inputs unchanged: kept the previous output")
    if result.no_input:
        sys.exit(EXIT_USAGE)
    if fail_under is not None and report["summary"]["coverage"] < fail_under:
        _say(f"coverage {report['summary']['coverage']}% is under {fail_under}%")
        sys.exit(EXIT_GATE)
    sys.exit(EXIT_OK)


def entry_point() -> None:
    """The console script: main(), then exit without tearing the interpreter down.

    Everything is written and flushed by then; freeing a conversion's objects one by
    one at exit would only add a tenth to the run. Tests call main() itself.
    """
    # ansible-core imports cryptography for vault (a twentieth of a run); a
    # conversion never decrypts anything, and ansible copes without it.
    sys.modules.setdefault("cryptography", None)
    try:
        main()
    except SystemExit as exit:
        code = exit.code
    else:
        code = 0
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
