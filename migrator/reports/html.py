"""report.html: one self-contained page (no external assets) for reviewers.

Coverage per role as stacked bars, then every source task beside the jobs it
became, with filters by outcome, role and text. The filters live in the URL
fragment (``#outcome=stub,unsupported&role=x&q=dnf``): links set it, and the
page's script applies it on load and whenever it changes, so a filtered view
can be linked to.

Reads the report dict only. The source YAML and generated job text come from
the optional task fields that reports.details.attach() fills in; without them
the page still shows everything else.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from html import escape
from typing import Any
from urllib.parse import quote

from .model import OUTCOME_ORDER, coverage_of

_COLORS = {"native": "#2e7d32", "lowered": "#00897b", "component": "#1565c0", "bridge": "#f9a825",
           "stub": "#ef6c00", "unsupported": "#c62828"}
UNTRANSLATED = ("bridge", "stub", "unsupported")

_CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg2: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 0 auto;
       max-width: 1400px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.muted { color: var(--muted); }
.chips { display: flex; flex-wrap: wrap; gap: 6px; padding: 0; margin: 8px 0; list-style: none; }
.chip, .badge { display: inline-block; border-radius: 10px; padding: 1px 8px; color: #fff; font-size: 12px;
                text-decoration: none; white-space: nowrap; }
.chip.all { background: #57606a; }
table.roles { border-collapse: collapse; width: 100%; }
table.roles th, table.roles td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: left; }
table.roles td.num { text-align: right; white-space: nowrap; }
table.roles td.barcell { width: 55%; }
.bar { display: flex; height: 14px; background: var(--bg2); border-radius: 3px; overflow: hidden; min-width: 120px; }
.seg { display: block; height: 100%; }
#filters { position: sticky; top: 0; background: #fff; padding: 8px 0; border-bottom: 1px solid var(--line);
           display: flex; flex-wrap: wrap; gap: 6px; align-items: center; z-index: 1; }
#filters a { opacity: .55; } #filters a[aria-current="true"] { opacity: 1; outline: 2px solid var(--fg); }
#filters input { margin-left: auto; padding: 3px 6px; min-width: 260px; }
article.task { border: 1px solid var(--line); border-left-width: 5px; border-radius: 4px; margin: 10px 0;
               padding: 6px 10px; }
article.task h3 { font-size: 14px; margin: 0; font-weight: 600; }
article.task h3 code { font-weight: normal; }
ul.findings { margin: 4px 0; padding-left: 18px; }
li.sev-error { color: #c62828; } li.sev-warning { color: #9a6700; } li.sev-info { color: var(--muted); }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; margin-top: 6px; }
.side h4 { margin: 0 0 2px; font-size: 12px; color: var(--muted); font-weight: 600; }
.side pre { margin: 0 0 6px; padding: 6px 8px; background: var(--bg2); border-radius: 3px; overflow: auto;
            max-height: 420px; white-space: pre; }
@media (max-width: 900px) { .side { grid-template-columns: 1fr; } }
"""

_JS = """
(function () {
  "use strict";
  var tasks = Array.prototype.slice.call(document.querySelectorAll("article.task"));
  var links = Array.prototype.slice.call(document.querySelectorAll("#filters a[data-outcome]"));
  var roleNote = document.getElementById("role-filter");
  var search = document.getElementById("q");
  var shown = document.getElementById("shown");
  function state() {
    var s = { outcome: [], role: "", q: "" };
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var i = part.indexOf("="); if (i < 0) { return; }
      var key = part.slice(0, i), value = decodeURIComponent(part.slice(i + 1).replace(/\\+/g, " "));
      if (key === "outcome") { s.outcome = value ? value.split(",") : []; }
      else if (key === "role") { s.role = value; } else if (key === "q") { s.q = value; }
    });
    return s;
  }
  function hashOf(s) {
    var parts = [];
    if (s.outcome.length) { parts.push("outcome=" + s.outcome.map(encodeURIComponent).join(",")); }
    if (s.role) { parts.push("role=" + encodeURIComponent(s.role)); }
    if (s.q) { parts.push("q=" + encodeURIComponent(s.q)); }
    return parts.length ? "#" + parts.join("&") : "#all";
  }
  function apply() {
    var s = state(), q = s.q.toLowerCase(), count = 0;
    tasks.forEach(function (t) {
      var ok = (!s.outcome.length || s.outcome.indexOf(t.dataset.outcome) >= 0)
        && (!s.role || t.dataset.role === s.role)
        && (!q || t.dataset.search.indexOf(q) >= 0);
      t.hidden = !ok;
      if (ok) { count += 1; }
    });
    links.forEach(function (a) {
      var mine = a.dataset.outcome ? a.dataset.outcome.split(",") : [];
      var same = mine.length === s.outcome.length && mine.every(function (o) { return s.outcome.indexOf(o) >= 0; });
      a.setAttribute("aria-current", same ? "true" : "false");
    });
    if (search && document.activeElement !== search) { search.value = s.q; }
    roleNote.textContent = s.role ? "role: " + s.role : "";
    shown.textContent = count + " of " + tasks.length + " tasks shown";
    document.body.dataset.filter = hashOf(s).slice(1);
  }
  links.forEach(function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      var s = state(); s.outcome = a.dataset.outcome ? a.dataset.outcome.split(",") : [];
      location.hash = hashOf(s);
    });
  });
  if (search) {
    search.addEventListener("input", function () {
      var s = state(); s.q = search.value; history.replaceState(null, "", hashOf(s)); apply();
    });
  }
  roleNote.addEventListener("click", function () { var s = state(); s.role = ""; location.hash = hashOf(s); });
  window.addEventListener("hashchange", apply);
  apply();
})();
"""


def _e(value: Any) -> str:
    return escape(str(value if value is not None else ""), quote=True)


def _bar(counts: Counter) -> str:
    total = sum(counts.values()) or 1
    segs = []
    for outcome in OUTCOME_ORDER:
        n = counts.get(outcome, 0)
        if n:
            segs.append(f'<span class="seg o-{outcome}" style="width:{100.0 * n / total:.3f}%;'
                        f'background:{_COLORS[outcome]}" title="{outcome}: {n}"></span>')
    label = ", ".join(f"{o} {counts[o]}" for o in OUTCOME_ORDER if counts.get(o))
    return f'<div class="bar" role="img" aria-label="{_e(label)}">{"".join(segs)}</div>'


def _task(task: dict[str, Any]) -> str:
    outcome = task["outcome"]
    role = task["role"] or task["file"]
    where = f"{task['file']}:{task['line']}"
    label = task["name"] or task["module"]
    search = " ".join([where, label, task["module"], role, task["id"]]).lower()
    findings = "".join(
        f'<li class="sev-{_e(f["severity"])}">{_e(f["severity"])}: <code>{_e(f["what"])}</code> {_e(f["message"])}</li>'
        for f in task["findings"])
    if "source_text" in task:
        source = f'<pre class="source">{_e(task["source_text"])}</pre>'
    else:
        source = '<p class="muted">source text not in this report</p>'
    generated = task.get("generated")
    if generated:
        gen = "".join(f'<h4>in {_e(", ".join(g["outputs"]))}</h4><pre class="generated">{_e(g["text"])}</pre>'
                      for g in generated)
    elif generated is not None and not task["jobs"]:
        gen = '<p class="muted">no jobs of its own (expanded inline, or left out)</p>'
    else:
        gen = f'<p class="muted">jobs: {_e(" ".join(task["jobs"]) or "none")} (text not in this report)</p>'
    return (f'<article class="task" id="t-{_e(task["id"])}" data-outcome="{_e(outcome)}" data-role="{_e(role)}" '
            f'data-search="{_e(search)}" style="border-left-color:{_COLORS.get(outcome, "#888")}">'
            f'<h3><span class="badge" style="background:{_COLORS.get(outcome, "#888")}">{_e(outcome)}</span> '
            f'<code>{_e(where)}</code> {_e(label)} <span class="muted">{_e(task["module"])} &middot; '
            f'{_e(" ".join(task["jobs"]) or "no jobs")}</span></h3>'
            + (f'<ul class="findings">{findings}</ul>' if findings else "")
            + f'<div class="side"><div><h4>source</h4>{source}</div><div><h4>generated</h4>{gen}</div></div>'
            "</article>")


def render(report: dict[str, Any]) -> str:
    summary = report["summary"]
    tasks = report["tasks"]
    roles: dict[str, Counter] = defaultdict(Counter)
    for task in tasks:
        roles[task["role"] or task["file"]][task["outcome"]] += 1
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>tripleo-migrate report</title>", f"<style>{_CSS}</style></head><body>",
           "<header><h1>tripleo-migrate report</h1>",
           f'<p id="totals"><strong>Coverage {_e(summary["coverage"])}%</strong> of {_e(summary["tasks"])} tasks '
           f'translated (native + lowered + component); {_e(summary["errors"])} input errors. '
           f'<span class="muted">tripleo-migrate {_e(report.get("version", ""))}</span></p>',
           f'<div class="overall">{_bar(Counter(summary["outcomes"]))}</div></header>',
           '<section id="roles"><h2>Coverage per role or playbook</h2><table class="roles">',
           '<tr><th>role or playbook</th><th>coverage</th><th>tasks</th><th>outcomes</th></tr>']
    for name in sorted(roles):
        counts = roles[name]
        out.append(f'<tr class="role" data-role="{_e(name)}"><th><a href="#role={_e(quote(name, safe=""))}">'
                   f'{_e(name)}</a></th><td class="num pct">{coverage_of(dict(counts))}%</td>'
                   f'<td class="num">{sum(counts.values())}</td><td class="barcell">{_bar(counts)}</td></tr>')
    out.append("</table></section>")
    totals = summary["outcomes"]
    untranslated = sum(totals.get(o, 0) for o in UNTRANSLATED)
    links = [f'<a class="chip all" href="#all" data-outcome="">all ({len(tasks)})</a>',
             f'<a class="chip all" href="#outcome={",".join(UNTRANSLATED)}" data-outcome="{",".join(UNTRANSLATED)}">'
             f'untranslated ({untranslated})</a>']
    links += [f'<a class="chip" href="#outcome={o}" data-outcome="{o}" style="background:{_COLORS[o]}">'
              f'{o} ({totals.get(o, 0)})</a>' for o in OUTCOME_ORDER]
    out += ['<section id="tasks"><h2>Tasks: source and generated jobs</h2>',
            f'<nav id="filters">{"".join(links)}<a id="role-filter" class="chip all" title="clear the role filter"></a>'
            '<input id="q" type="search" placeholder="filter by file, name, module or id" aria-label="filter"></nav>',
            f'<p id="shown" class="muted">{len(tasks)} of {len(tasks)} tasks shown</p>']
    out += [_task(task) for task in tasks]
    out.append("</section>")
    if report["errors"]:
        out.append('<section id="errors"><h2>Input errors</h2><ul>')
        out += [f'<li><code>{_e(e["file"])}:{_e(e["line"])}</code> {_e(e["message"])}</li>' for e in report["errors"]]
        out.append("</ul></section>")
    out.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(out) + "\n"
