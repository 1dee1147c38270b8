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

from pathlib import Path
from typing import Any

from .. import provenance


def attach(report: dict[str, Any], out_root: Path, cwd: Path) -> dict[str, Any]:
    by_place: dict[tuple[str, int], dict[str, list[str]]] = {}
    for chunk in provenance.read_out(out_root):
        texts = by_place.setdefault((chunk.file, chunk.line), {})
        outputs = texts.setdefault(chunk.text, [])
        if chunk.output not in outputs:
            outputs.append(chunk.output)
    files: dict[str, list[str] | None] = {}
    tasks = []
    for task in report["tasks"]:
        entry = dict(task)
        if task["file"] not in files:
            files[task["file"]] = provenance.read_lines(cwd / task["file"])
        source = provenance.snippet(files[task["file"]], task["line"])
        if source is not None:
            entry["source_text"] = source
        texts = by_place.get((task["file"], task["line"]), {})
        entry["generated"] = [{"outputs": outputs, "text": text} for text, outputs in texts.items()]
        tasks.append(entry)
    return dict(report, tasks=tasks)
