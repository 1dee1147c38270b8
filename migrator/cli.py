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
from .pipeline import ALL_REPORT_FORMATS, REPORT_FORMATS, Options, run
from .inventory import InventoryError
from .overrides import OverridesError
from .translators import TranslatorPluginError
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
              help=f"Report formats, comma-separated, of {','.join(ALL_REPORT_FORMATS)} (json is always written).")
@click.option("--roles-path", multiple=True, type=click.Path(path_type=Path), help="Where to look for roles.")
@click.option("--module-path", multiple=True, type=click.Path(path_type=Path), help="Where to look for custom modules.")
@click.option("-e", "--extra-vars", multiple=True, help="K=V, @FILE or JSON; highest precedence.")
@click.option("--tags", default="", help="Only tasks with these tags (comma-separated).")
@click.option("--skip-tags", default="", help="Leave out tasks with these tags.")
@click.option("--skip-unsupported", is_flag=True, help="Leave unsupported tasks out instead of failing jobs.")
@click.option("--fail-under", type=click.FloatRange(0, 100), help="Exit 1 when coverage is below PCT.")
@click.option("--no-batch", is_flag=True,
              help="One TASK job per task (default: consecutive TASK jobs share one job; see docs/runtime.md).")
@click.option("--baseline", type=click.Path(path_type=Path),
              help="A previous report.json: exit 1 when a task it had translated no longer is, "
                   "or a new task is not translated.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when OUT would change, 0 when not.")
@click.option("--overrides", "overrides_file", type=click.Path(path_type=Path),
              help="YAML: task id or module FQCN -> replacement Directord jobs.")
@click.option("--inventory", "inventory", type=click.Path(path_type=Path),
              help="Ansible inventory (INI or YAML, read statically): play hosts become orchestration "
                   "targets and task-core hosts; names are Directord node identities.")
@click.option("--bridge", is_flag=True,
              help="Tasks with no translation run their Ansible module with ansible-core on the node "
                   "(outcome bridge) instead of a failing stub.")
@click.option("--quiet", is_flag=True, help="No progress or summary on stderr.")
def convert(paths, out, force, reports, roles_path, module_path, extra_vars, tags, skip_tags,
            skip_unsupported, fail_under, no_batch, quiet, baseline=None, check=False, overrides_file=None,
            inventory=None, bridge=False) -> None:
    """Convert roles, playbooks or directories of them into OUT."""
    # A conversion builds many small objects that all live to the end: collecting
    # cycles among them only costs time (about a tenth of a run on the corpus).
    gc.set_threshold(200_000, 50, 1000)
    formats = tuple(f.strip() for f in reports.split(",") if f.strip())
    unknown = set(formats) - set(ALL_REPORT_FORMATS)
    if unknown:
        raise click.UsageError(f"unknown report format(s): {', '.join(sorted(unknown))}")
    options = Options(
        paths=list(paths), out=out, force=force, reports=formats, roles_path=list(roles_path),
        module_path=list(module_path), extra_vars=parse_extra_vars(extra_vars),
        tags={t for t in tags.split(",") if t}, skip_tags={t for t in skip_tags.split(",") if t},
        skip_unsupported=skip_unsupported, batch=not no_batch,
    )
    options.overrides, options.check = overrides_file, check
    options.inventory = inventory
    options.bridge = bridge
    baseline_report = _load_report_or_exit(baseline) if baseline is not None else None
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
    except (OutputError, OverridesError, TranslatorPluginError) as exc:
        _say(f"error: {exc}")
        sys.exit(EXIT_USAGE)
    except InventoryError as exc:
        _say(f"{exc.path}:{exc.line}: error: {exc.message}")
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
    for warning in result.unused_overrides:
        _say(warning)
    if result.no_input:
        sys.exit(EXIT_USAGE)
    status = EXIT_OK
    if check:
        for rel in result.changed:
            _say(f"would change: {rel}")
        if result.changed:
            count = len(result.changed)
            _say(f"{out}: would change ({count} file{'s' if count != 1 else ''}); nothing was written")
            status = EXIT_GATE
        elif not quiet:
            _say(f"{out}: up to date")
    if fail_under is not None or baseline_report is not None:
        from .gate import evaluate, problem_lines, verdict_line

        verdict = evaluate(report, fail_under, baseline_report)
        for line in problem_lines(verdict):
            _say(line)
        if not verdict["passed"]:
            _say(verdict_line(verdict))
            status = EXIT_GATE
    sys.exit(status)


def _load_report_or_exit(path: Path) -> dict[str, Any]:
    from .gate import ReportError, load_report

    try:
        return load_report(path)
    except ReportError as exc:
        _say(f"error: {exc}")
        sys.exit(EXIT_USAGE)


@main.command()
@click.argument("report_file", metavar="REPORT", type=click.Path(path_type=Path))
@click.option("--fail-under", type=click.FloatRange(0, 100), help="Exit 1 when coverage is below PCT.")
@click.option("--baseline", type=click.Path(path_type=Path),
              help="A previous report.json: exit 1 when a task it had translated no longer is, "
                   "or a new task is not translated.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "md"]), default="text", show_default=True,
              help="What to print on stdout.")
def coverage(report_file, fail_under, baseline, fmt) -> None:
    """Gate on a report.json: coverage threshold and no regression against a baseline.

    Exit 0 when the gate passes, 1 when it fails (every offending task is named
    at file:line on stderr), 2 when a report cannot be read. Tasks are matched
    with the baseline by their stable id.
    """
    from .gate import evaluate, problem_lines, text_summary, verdict_line

    report = _load_report_or_exit(report_file)
    baseline_report = _load_report_or_exit(baseline) if baseline is not None else None
    verdict = evaluate(report, fail_under, baseline_report)
    if fmt == "json":
        click.echo(json.dumps(verdict, indent=2))
    elif fmt == "md":
        from .reports import markdown

        click.echo(markdown.render(report) + markdown.render_gate(verdict), nl=False)
    else:
        click.echo(text_summary(verdict), nl=False)
    for line in problem_lines(verdict):
        _say(line)
    _say(verdict_line(verdict))
    sys.exit(EXIT_OK if verdict["passed"] else EXIT_GATE)


@main.command()
@click.argument("old_out", type=click.Path(path_type=Path))
@click.argument("new_out", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="What to print on stdout.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are changes (as git diff --exit-code).")
def diff(old_out, new_out, fmt, exit_code) -> None:
    """What changed between two conversions, grouped by source task.

    Tasks are matched by their stable id, so moved tasks are not new. For each
    task: added, removed or changed, its outcome change, the jobs added and
    removed, and a unified diff of its generated YAML; then the other files of
    OUT that changed.
    """
    from .diff import DiffError, compare, render_text

    try:
        changes = compare(old_out, new_out)
    except DiffError as exc:
        _say(f"error: {exc}")
        sys.exit(EXIT_USAGE)
    if fmt == "json":
        click.echo(json.dumps(changes, indent=2))
    else:
        click.echo(render_text(changes), nl=False)
    counts = changes["counts"]
    _say(f"{counts['added']} tasks added, {counts['removed']} removed, {counts['changed']} changed, "
         f"{counts['moved']} moved; "
         f"{len(changes['files'])} other files changed")
    changed = any(counts.values()) or bool(changes["files"])
    sys.exit(EXIT_GATE if exit_code and changed else EXIT_OK)


@main.command()
@click.argument("playbook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-e", "--extra-vars", multiple=True, help="K=V, @FILE or JSON, for both runs.")
@click.option("--sandbox-var", default="sandbox", show_default=True,
              help="Variable that holds the directory each run writes under; the trees are compared.")
@click.option("--keep", type=click.Path(path_type=Path), help="Work in this new directory and keep it.")
def verify(playbook, extra_vars, sandbox_var, keep) -> None:
    """Run PLAYBOOK with ansible-playbook and, converted, on a local Directord; compare.

    Starts a Directord server and client on 127.0.0.1 (needs root and the
    directord package), runs both sides on this machine and prints the
    differences between the trees they leave under --sandbox-var. Exit 0 when
    equivalent, 1 when not, 2 when verification could not run.
    """
    import tempfile

    if os.geteuid() != 0:
        _say("error: verify needs root: Directord's server chowns its socket to uid 0")
        sys.exit(EXIT_USAGE)
    try:
        from .verify import verify_playbook
        from .verify.cluster import DirectordCluster, DirectordClusterError
    except ImportError as exc:
        _say(f"error: verify needs the directord package (pip install 'tripleo-migrate[test]'): {exc}")
        sys.exit(EXIT_USAGE)
    if keep is not None and keep.exists() and any(keep.iterdir()):
        _say(f"error: {keep}: exists and is not empty")
        sys.exit(EXIT_USAGE)
    workdir = keep or Path(tempfile.mkdtemp(prefix="tripleo-migrate-verify-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        with DirectordCluster(workdir / "cluster") as cluster:
            outcome = verify_playbook(playbook, workdir / "run", cluster, parse_extra_vars(extra_vars), sandbox_var)
    except (DirectordClusterError, OSError) as exc:
        _say(f"error: could not run the verification: {exc}")
        sys.exit(EXIT_USAGE)
    finally:
        if keep is None:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    click.echo(outcome.summary())
    sys.exit(EXIT_OK if outcome.ok else EXIT_GATE)


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--dot", "dot_file", type=click.Path(path_type=Path),
              help="Where to write the DOT graph (default OUT/task-core/graph.dot).")
@click.option("--svg", "svg_file", type=click.Path(path_type=Path),
              help="Where to write the SVG when Graphviz `dot` is installed (default OUT/task-core/graph.svg).")
def graph(out, dot_file, svg_file) -> None:
    """Print the order in which task-core runs OUT's services; write the graph as DOT (and SVG).

    Exit 0 when the graph is sound, 1 when it has a cycle, a name provided twice
    or a requirement nobody provides, 2 when OUT holds no task-core output.
    """
    import shutil
    import subprocess

    from . import taskcore

    try:
        services, roles, inventory = taskcore.load(out)
    except taskcore.GraphError as exc:
        _say(f"error: {exc}")
        sys.exit(EXIT_USAGE)
    click.echo(taskcore.describe(services, roles, inventory), nl=False)
    dot_file = dot_file or out / "task-core" / "graph.dot"
    text = taskcore.dot(services, roles, inventory)
    try:
        if not dot_file.is_file() or dot_file.read_text(encoding="utf-8") != text:
            dot_file.parent.mkdir(parents=True, exist_ok=True)
            dot_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        _say(f"error: {dot_file}: {exc.strerror or exc}")
        sys.exit(EXIT_USAGE)
    _say(f"wrote {dot_file}")
    graphviz = shutil.which("dot")
    if graphviz:
        svg_file = svg_file or dot_file.with_suffix(".svg")
        done = subprocess.run([graphviz, "-Tsvg", "-o", str(svg_file), str(dot_file)], capture_output=True, text=True)
        _say(f"wrote {svg_file}" if done.returncode == 0 else f"dot failed: {done.stderr.strip()}")
    else:
        _say("Graphviz dot not found: no SVG")
    problems = taskcore.check_graph(services, roles, inventory)
    for problem in problems:
        _say(f"problem: {problem}")
    sys.exit(EXIT_GATE if problems else EXIT_OK)


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
