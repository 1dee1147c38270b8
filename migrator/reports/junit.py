"""report.junit.xml: one testcase per source task, for CI test-result views.

classname is the task's file, name its name (or module) with its stable id;
stub and unsupported tasks fail with the reason, bridge tasks are skipped
(they work but keep Ansible on the node), input errors are testcases with an
error. One testsuite per role or playbook file.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from xml.sax.saxutils import escape, quoteattr

_FAILED = ("stub", "unsupported")


def _attr(value: Any) -> str:
    return quoteattr(_clean(str(value)))


def _clean(text: str) -> str:
    """Drop characters XML 1.0 cannot hold."""
    return "".join(c for c in text if c in "\t\n\r" or (" " <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd")
                   or c >= "\U00010000")


def _text(value: str) -> str:
    return escape(_clean(value))


def _reason(task: dict[str, Any]) -> str:
    errors = [f["message"] for f in task["findings"] if f["severity"] == "error"]
    return "; ".join(errors) or f"{task['outcome']}: {task['module']}"


def render(report: dict[str, Any]) -> str:
    suites: dict[str, list[str]] = defaultdict(list)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # tests, failures, errors, skipped
    for task in report["tasks"]:
        suite = task["role"] or task["file"]
        label = task["name"] or task["module"]
        where = f"{task['file']}:{task['line']}"
        title = f"{label} [{task['id']}]"
        head = (f'    <testcase classname={_attr(task["file"])} name={_attr(title)} '
                f'file={_attr(task["file"])} line={_attr(task["line"])}')
        props = [("outcome", task["outcome"]), ("module", task["module"]), ("id", task["id"]),
                 ("jobs", " ".join(task["jobs"])), ("output", task["output"])]
        body = ["      <properties>" + "".join(
            f"<property name={_attr(k)} value={_attr(v)}/>" for k, v in props) + "</properties>"]
        counts[suite][0] += 1
        if task["outcome"] in _FAILED:
            counts[suite][1] += 1
            reason = _reason(task)
            detail = f"{where}: {task['outcome']}: {task['module']}: {reason}"
            body.append(f'      <failure type={_attr(task["outcome"])} message={_attr(reason)}>'
                        f'{_text(detail)}</failure>')
        elif task["outcome"] == "bridge":
            counts[suite][3] += 1
            body.append(f'      <skipped message={_attr("bridge: runs the Ansible module on the node")}/>')
        notes = [f"{f['severity']}: {f['what']}: {f['message']}" for f in task["findings"] if f["severity"] != "error"]
        if notes:
            body.append(f"      <system-out>{_text(chr(10).join(notes))}</system-out>")
        suites[suite].append(head + ">\n" + "\n".join(body) + "\n    </testcase>")
    for error in report["errors"]:
        suite = "input errors"
        counts[suite][0] += 1
        counts[suite][2] += 1
        where = f"{error['file']}:{error['line']}"
        detail = f"{where}: {error['message']}"
        suites[suite].append(
            f'    <testcase classname={_attr(error["file"])} name={_attr("read " + where)} '
            f'file={_attr(error["file"])} line={_attr(error["line"])}>\n'
            f'      <error type="input" message={_attr(error["message"])}>{_text(detail)}'
            "</error>\n    </testcase>")
    total = [sum(c[i] for c in counts.values()) for i in range(4)]
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites name="tripleo-migrate" tests="{total[0]}" failures="{total[1]}" errors="{total[2]}" '
           f'skipped="{total[3]}">']
    for name in sorted(suites):
        tests, failures, errors, skipped = counts[name]
        out.append(f'  <testsuite name={_attr(name)} tests="{tests}" failures="{failures}" errors="{errors}" '
                   f'skipped="{skipped}" time="0">')
        out.extend(suites[name])
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"
