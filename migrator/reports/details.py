"""Optional per-task detail for the views that show text: the source task's
YAML and the generated job text.

report.json does not carry them (on tripleo-ansible that would multiply its
size); the HTML view takes a report dict whose task entries may hold two
optional fields, and shows "not available" where they are missing:

- ``source_text``: the task's YAML as written (str),
- ``generated``: ``[{"outputs": [OUT-relative file, ...], "text": job YAML}]``,
  one entry per distinct text (a task reached from several places usually
  becomes the same jobs everywhere).

attach() fills them from an OUT tree (its provenance comments) and the input
files, and returns a new dict; the report it was given is left as it was.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .. import provenance

HIDDEN = "(not shown: no_log is set)\n"
_NO_LOG_KEY = re.compile(r"^\s*no_log:\s*(?!(?:false|no|False|FALSE|No|NO|off|Off|OFF)?\s*(?:#.*)?$)")


def attach(report: dict[str, Any], out_root: Path, cwd: Path) -> dict[str, Any]:
    by_place: dict[tuple[str, int], dict[str, list[str]]] = {}
    for chunk in provenance.read_out(out_root):
        texts = by_place.setdefault((chunk.file, chunk.line), {})
        outputs = texts.setdefault(chunk.text, [])
        if chunk.output not in outputs:
            outputs.append(chunk.output)
    # A no_log task's YAML and jobs may hold secrets (Ansible never prints its args):
    # neither is shown, nor a job text that batches it with other tasks.
    secret_texts: dict[str, set[str]] = {}
    for texts in by_place.values():
        for text in texts:
            secret_texts.setdefault(text, _no_log_sources(text))
    secret_places = set().union(*secret_texts.values()) if secret_texts else set()
    files: dict[str, list[str] | None] = {}
    tasks = []
    for task in report["tasks"]:
        entry = dict(task)
        if task["file"] not in files:
            files[task["file"]] = provenance.read_lines(cwd / task["file"])
        source = provenance.snippet(files[task["file"]], task["line"])
        hidden = f"{task['file']}:{task['line']}" in secret_places or _says_no_log(source)
        if source is not None:
            entry["source_text"] = HIDDEN if hidden else source
        texts = by_place.get((task["file"], task["line"]), {})
        entry["generated"] = [{"outputs": outputs, "text": HIDDEN if hidden or secret_texts[text] else text}
                              for text, outputs in texts.items()]
        tasks.append(entry)
    return dict(report, tasks=tasks)


def _no_log_sources(text: str) -> set[str]:
    """file:line of every TASK spec with no_log set in a job text (unreadable: all hidden)."""
    if "no_log" not in text:
        return set()
    try:
        jobs = yaml.safe_load(text)
    except yaml.YAMLError:
        return {"<unreadable>"}
    found = set()
    for job in jobs if isinstance(jobs, list) else []:
        job_vars = job.get("vars") if isinstance(job, dict) else None
        if not isinstance(job_vars, dict):
            continue
        specs = [job_vars.get("task")] + list(job_vars.get("tasks") or [])
        for spec in specs:
            if isinstance(spec, dict) and spec.get("no_log") not in (None, False, "false", "no", "False"):
                found.add(str(spec.get("source")))
    return found


def _says_no_log(source: str | None) -> bool:
    """The task's own YAML sets no_log (a stub or unsupported task carries no spec)."""
    return source is not None and any(_NO_LOG_KEY.match(line) for line in source.splitlines())
