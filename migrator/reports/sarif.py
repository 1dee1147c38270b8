"""report.sarif: SARIF 2.1.0 for code-scanning UIs (GitHub, GitLab, Zuul's).

One rule per kind of finding: ``module/<fqcn>`` for a module that was not
translated (stub or unsupported), ``keyword/<what>`` for a keyword or argument
not carried over exactly, ``input-error`` for input that could not be read.
Locations are relative to the directory the conversion ran in (uriBaseId
%SRCROOT%), so a run from a repository root gives repository paths.
partialFingerprints use the task's stable id (which does not depend on line
numbers), so a finding keeps its identity when lines above it move.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_VERSION = "2.1.0"
BASE_ID = "%SRCROOT%"
FINGERPRINT = "tripleoMigrateTask/v1"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
_RANK = {"none": 0, "note": 1, "warning": 2, "error": 3}


def rule_id(task: dict[str, Any], finding: dict[str, Any]) -> str:
    if finding["what"] == "module":
        return f"module/{task['module']}"
    return f"keyword/{finding['what']}"


def _location(file: str, line: int) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": quote(file, safe="/._-~")}
    if file.startswith("/"):
        artifact["uri"] = "file://" + artifact["uri"]
    else:
        artifact["uriBaseId"] = BASE_ID
    return {"physicalLocation": {"artifactLocation": artifact, "region": {"startLine": max(1, int(line))}}}


def _rule(rid: str) -> dict[str, Any]:
    if rid == "input-error":
        short, full = "Input could not be read", "A file, or part of one, could not be read; the rest converted."
    elif rid.startswith("module/"):
        module = rid.split("/", 1)[1]
        short = f"{module} is not translated"
        full = (f"Tasks using {module} became a stub component that fails with 'not implemented', "
                "or a job that fails with the reason: add a translator or a runtime port, or an override.")
    else:
        what = rid.split("/", 1)[1]
        short = f"'{what}' not carried over exactly"
        full = f"The keyword or argument '{what}' of a task is not carried over exactly into the Directord jobs."
    return {"id": rid, "name": "".join(p.capitalize() for p in rid.replace(".", "/").replace("_", "/").split("/") if p),
            "shortDescription": {"text": short}, "fullDescription": {"text": full},
            "defaultConfiguration": {"level": "warning"}}


def render_dict(report: dict[str, Any]) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    rules: dict[str, dict[str, Any]] = {}
    levels: dict[str, str] = {}
    for task in report["tasks"]:
        seen: dict[str, int] = {}
        for finding in task["findings"]:
            rid = rule_id(task, finding)
            rules.setdefault(rid, _rule(rid))
            level = LEVELS.get(finding["severity"], "warning")
            if _RANK[level] > _RANK[levels.get(rid, "none")]:
                levels[rid] = level
            seen[rid] = seen.get(rid, 0) + 1
            label = task["name"] or task["module"]
            results.append({
                "ruleId": rid,
                "level": level,
                "message": {"text": f"{label} ({task['module']}, {task['outcome']}): {finding['message']}"},
                "locations": [_location(task["file"], task["line"])],
                "partialFingerprints": {FINGERPRINT: f"{task['id']}:{rid}:{seen[rid]}"},
                "properties": {"taskId": task["id"], "outcome": task["outcome"], "severity": finding["severity"]},
            })
    for error in report["errors"]:
        rules.setdefault("input-error", _rule("input-error"))
        levels["input-error"] = "error"
        digest = hashlib.sha256(f"{error['file']}\0{error['message']}".encode()).hexdigest()[:16]
        results.append({
            "ruleId": "input-error", "level": "error", "message": {"text": error["message"]},
            "locations": [_location(error["file"], error["line"])],
            "partialFingerprints": {FINGERPRINT: f"error:{digest}"},
        })
    ordered = sorted(rules)
    for rid in ordered:
        rules[rid]["defaultConfiguration"]["level"] = levels[rid]
    index = {rid: i for i, rid in enumerate(ordered)}
    for result in results:
        result["ruleIndex"] = index[result["ruleId"]]
    summary = report["summary"]
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "tripleo-migrate",
                "version": report["version"],
                "informationUri": "https://pypi.org/project/tripleo-migrate/",
                "rules": [rules[rid] for rid in ordered],
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {"coverage": summary["coverage"], "tasks": summary["tasks"],
                           "outcomes": summary["outcomes"]},
        }],
    }


def render(report: dict[str, Any]) -> str:
    return json.dumps(render_dict(report), indent=2) + "\n"
