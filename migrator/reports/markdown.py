"""report.md: what a pull-request comment needs, most actionable first."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from .model import OUTCOME_ORDER, coverage_of

_UNTRANSLATED = ("stub", "unsupported", "bridge")


def _cell(text: Any) -> str:
    return " ".join(str(text if text is not None else "").split()).replace("|", "\\|")


def render(report: dict[str, Any]) -> str:
    summary = report["summary"]
    out = ["# tripleo-migrate report", "",
           f"**Coverage: {summary['coverage']}%** of {summary['tasks']} tasks "
           f"translated (native + lowered + component); {summary['errors']} input errors.", "",
           "| outcome | tasks |", "| --- | ---: |"]
    out += [f"| {o} | {summary['outcomes'].get(o, 0)} |" for o in OUTCOME_ORDER]

    roles: dict[str, Counter] = defaultdict(Counter)
    for task in report["tasks"]:
        roles[task["role"] or task["file"]][task["outcome"]] += 1
    out += ["", "## Per role or playbook", "", "| role | tasks | coverage | " + " | ".join(OUTCOME_ORDER) + " |",
            "| --- | ---: | ---: | " + " | ".join("---:" for _ in OUTCOME_ORDER) + " |"]
    for name in sorted(roles):
        counts = roles[name]
        out.append(f"| {_cell(name)} | {sum(counts.values())} | {coverage_of(dict(counts))}% | "
                   + " | ".join(str(counts.get(o, 0)) for o in OUTCOME_ORDER) + " |")

    untranslated = [t for t in report["tasks"] if t["outcome"] in _UNTRANSLATED]
    untranslated.sort(key=lambda t: (_UNTRANSLATED.index(t["outcome"]), t["file"], t["line"]))
    gains = Counter(t["module"] for t in untranslated)
    if gains:
        out += ["", "## Modules whose support would gain most", "", "| module | tasks |", "| --- | ---: |"]
        out += [f"| {_cell(m)} | {n} |" for m, n in sorted(gains.items(), key=lambda kv: (-kv[1], kv[0]))[:20]]
    if untranslated:
        out += ["", "## Untranslated tasks", "", "| where | outcome | module | reason |", "| --- | --- | --- | --- |"]
        for t in untranslated:
            reason = "; ".join(f["message"] for f in t["findings"] if f["severity"] == "error")
            out.append(f"| {_cell(t['file'])}:{t['line']} | {t['outcome']} | {_cell(t['module'])} | {_cell(reason)} |")
    warned = [(t, f) for t in report["tasks"] for f in t["findings"] if f["severity"] == "warning"]
    if warned:
        out += ["", "## Warnings (behaviour may differ)", "", "| where | what | message |", "| --- | --- | --- |"]
        out += [f"| {_cell(t['file'])}:{t['line']} | {_cell(f['what'])} | {_cell(f['message'])} |" for t, f in warned]
    if report["errors"]:
        out += ["", "## Input errors", "", "| where | message |", "| --- | --- |"]
        out += [f"| {_cell(e['file'])}:{e['line']} | {_cell(e['message'])} |" for e in report["errors"]]
    return "\n".join(out) + "\n"
