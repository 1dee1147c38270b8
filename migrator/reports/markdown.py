"""report.md: what a pull-request comment needs, most actionable first."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from .model import OUTCOME_ORDER, coverage_of

_UNTRANSLATED = ("stub", "unsupported", "bridge")


_COLLAPSE = 25  # longer lists fold into <details> so the pull-request comment stays readable


def _cell(text: Any) -> str:
    text = " ".join(str(text if text is not None else "").split()).replace("|", "\\|")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _fold(title: str, rows: list[str]) -> list[str]:
    """A section heading and its table, folded when long."""
    if len(rows) - 2 <= _COLLAPSE:  # header and separator rows
        return ["", f"## {title}", ""] + rows
    return ["", f"## {title}", "", f"<details><summary>{len(rows) - 2} rows</summary>", ""] + rows + ["", "</details>"]


def render(report: dict[str, Any]) -> str:
    summary = report["summary"]
    out = ["# tripleo-migrate report", "",
           f"**Coverage: {summary['coverage']}%** of {summary['tasks']} tasks "
           f"translated (native + lowered + component); {summary['errors']} input errors.", "",
           "| outcome | tasks |", "| --- | ---: |"]
    out += [f"| {o} | {summary['outcomes'].get(o, 0)} |" for o in OUTCOME_ORDER]
    bridged = summary["outcomes"].get("bridge", 0)
    if bridged:
        out += ["", f"Bridged (`--bridge`): {bridged} tasks; the TASK runtime runs their original Ansible "
                    "module with ansible-core on the node. They work, but keep an Ansible dependency there, "
                    "so they do not count as translated."]

    roles: dict[str, Counter] = defaultdict(Counter)
    for task in report["tasks"]:
        roles[task["role"] or task["file"]][task["outcome"]] += 1
    rows = ["| role | tasks | coverage | " + " | ".join(OUTCOME_ORDER) + " |",
            "| --- | ---: | ---: | " + " | ".join("---:" for _ in OUTCOME_ORDER) + " |"]
    for name in sorted(roles):
        counts = roles[name]
        rows.append(f"| {_cell(name)} | {sum(counts.values())} | {coverage_of(dict(counts))}% | "
                    + " | ".join(str(counts.get(o, 0)) for o in OUTCOME_ORDER) + " |")
    out += _fold("Per role or playbook", rows)

    untranslated = [t for t in report["tasks"] if t["outcome"] in _UNTRANSLATED]
    untranslated.sort(key=lambda t: (_UNTRANSLATED.index(t["outcome"]), t["file"], t["line"]))
    gains = Counter(t["module"] for t in untranslated)
    total = summary["tasks"] or 1
    if gains:
        out += ["", "## Modules whose support would gain most", "",
                "| module | untranslated tasks | coverage gain (points) |", "| --- | ---: | ---: |"]
        out += [f"| {_cell(m)} | {n} | +{round(100.0 * n / total, 1)} |"
                for m, n in sorted(gains.items(), key=lambda kv: (-kv[1], kv[0]))[:20]]
    if untranslated:
        rows = ["| where | task | outcome | module | reason |", "| --- | --- | --- | --- | --- |"]
        for t in untranslated:
            reason = "; ".join(f["message"] for f in t["findings"] if f["severity"] == "error"
                               or t["outcome"] == "bridge" and f["message"].startswith("bridge: "))
            rows.append(f"| {_cell(t['file'])}:{t['line']} | {_cell(t['name'] or '')} | {t['outcome']} | "
                        f"{_cell(t['module'])} | {_cell(reason)} |")
        out += _fold("Untranslated tasks", rows)
    warned = [(t, f) for t in report["tasks"] for f in t["findings"] if f["severity"] == "warning"]
    if warned:
        rows = ["| where | what | message |", "| --- | --- | --- |"]
        rows += [f"| {_cell(t['file'])}:{t['line']} | {_cell(f['what'])} | {_cell(f['message'])} |" for t, f in warned]
        out += _fold("Warnings (behaviour may differ)", rows)
    if report["errors"]:
        rows = ["| where | message |", "| --- | --- |"]
        rows += [f"| {_cell(e['file'])}:{e['line']} | {_cell(e['message'])} |" for e in report["errors"]]
        out += _fold("Input errors", rows)
    return "\n".join(out) + "\n"


def render_gate(verdict: dict[str, Any]) -> str:
    """The gate's verdict (gate.evaluate) as a section to append to report.md."""
    out = ["", "## Coverage gate", ""]
    limit = f" (required: {verdict['fail_under']}%)" if verdict.get("fail_under") is not None else ""
    base = f", baseline {verdict['baseline_coverage']}%" if "baseline_coverage" in verdict else ""
    out.append(f"**{'Passed' if verdict['passed'] else 'Failed'}**: coverage {verdict['coverage']}%{limit}{base}.")
    tasks = [p for p in verdict["problems"] if "file" in p]
    out += [f"- {_cell(p['message'])}" for p in verdict["problems"] if "file" not in p]
    if tasks:
        rows = ["| where | problem | message |", "| --- | --- | --- |"]
        rows += [f"| {_cell(p['file'])}:{p['line']} | {p['kind']} | {_cell(p['message'])} |" for p in tasks]
        out += _fold("Tasks that fail the gate", rows)
    return "\n".join(out) + "\n"
