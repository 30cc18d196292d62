"""The shareable explorer: one self-contained HTML file (inline CSS and JS, data embedded as
JSON; no server, no network) with the notebook's tree and node views, runs side by side,
and optionally a round's preference pairs.

The views are rendered in Python (`render.py`, the widget's renderer) and embedded as data;
the page's script only filters, switches and swaps them in. The JSON sits in a
`<script type="application/json">` element with `<`, `>` and `&` written as \\u escapes, so
no candidate program (a `</script>` in its code, say) can end that element or add markup.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Sequence

from codeq_lib.explorer import render
from codeq_lib.explorer.round_pairs import pair_label
from codeq_lib.explorer.run import ExploreError, Run
from codeq_lib.explorer.views import default_node, node_view, pair_view
from codeq_lib.io import atomic_write_text


def run_data(run: Run, prompts: dict[str, int]) -> dict[str, Any]:
    """A run's tasks with their tree and node panels. A prompt is stored once in `prompts`
    (its HTML -> index) and the panels hold a slot for it: the K siblings of one expansion,
    and the same task in several runs, share it, which keeps a study's page a fraction of the size."""
    tasks = []
    for task_id in run.task_ids():
        tree, info = run.trees[task_id], run.tasks[task_id]
        panels = []
        for node in tree.nodes:
            view = node_view(run, task_id, node.id)
            slot = prompts.setdefault(render.messages_html(view["prompt"]), len(prompts))
            panels.append(render.node_panel_html(view, prompt_html=f'<div class="prompt-slot" data-prompt="{slot}"></div>'))
        tasks.append({
            "id": task_id, "solved": info.solved, "category": info.category, "difficulty": info.difficulty,
            "header": render.task_header_html(info, run.name, len(tree.nodes)),
            "svg": render.tree_svg(tree, info, title=f"{run.name} {task_id}"),
            "default": default_node(run, task_id),
            "panels": panels,
        })
    return {"name": run.name, "source": run.source, "meta": run.meta, "tasks": tasks}


def pairs_data(pairs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"label": pair_label(p), "task_id": p.get("task_id"), "reason": p.get("drop_reason"),
             "html": render.pair_panel_html(pair_view(p))} for p in pairs]


def embed_json(data: Any) -> str:
    """JSON safe inside a <script> element: no `<`, `>`, `&` or line separators left raw.

    >>> embed_json({"code": "</script><b>"})
    '{"code": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_html(runs: Sequence[Run], pairs: Sequence[dict[str, Any]] = (), title: str = "codeq explorer") -> str:
    if not runs and not pairs:
        raise ExploreError("<explore>", None, None, "nothing to show: give at least one run (--trees) or --pairs")
    prompts: dict[str, int] = {}
    data = {"title": title, "runs": [run_data(run, prompts) for run in runs], "pairs": pairs_data(pairs)}
    data["prompts"] = list(prompts)  # dicts keep insertion order: list position = index
    parts = {"TITLE": render.esc(title), "CSS": render.CSS + PAGE_CSS, "LEGEND": render.LEGEND, "SCRIPT": SCRIPT,
             "DATA": embed_json(data)}
    # one pass: text put in (a title, the data) is never scanned for placeholders again
    return re.sub(r"__(TITLE|CSS|LEGEND|SCRIPT|DATA)__", lambda match: parts[match.group(1)], TEMPLATE)


def write_page(runs: Sequence[Run], out: str | Path, pairs: Sequence[dict[str, Any]] = (),
               title: str = "codeq explorer") -> Path:
    """Write the page atomically; returns its path."""
    return atomic_write_text(out, page_html(runs, pairs, title))


PAGE_CSS = """
body { margin: 0; } header { background: #24292f; color: #fff; padding: 6px 10px; }
header select, header button { margin: 0 8px 0 2px; } header label { font-size: 12px; }
header button.on { font-weight: bold; }
#views { display: grid; grid-template-columns: 1fr; gap: 10px; padding: 8px; }
#views.compare { grid-template-columns: 1fr 1fr; }
.side { display: grid; grid-template-columns: minmax(280px, 38%) 1fr; gap: 10px; min-width: 0; }
#views.compare .side { grid-template-columns: 1fr; }
.tree-box { align-self: start; overflow: auto; border: 1px solid #ddd; padding: 4px; max-height: 80vh; }
.panel { min-width: 0; }
#pairs-view { display: none; padding: 8px; grid-template-columns: minmax(280px, 34%) 1fr; gap: 10px; }
#pairs-view select { width: 100%; }
.empty { color: #777; padding: 10px; }
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>__TITLE__</title><style>__CSS__</style></head>
<body class="cq">
<header>
<b>__TITLE__</b>
<span id="tree-controls">
<label>run <select id="run-a"></select></label>
<label>compare with <select id="run-b"></select></label>
<label>solved <select id="f-solved"><option value="">all</option><option value="1">solved</option><option value="0">unsolved</option></select></label>
<label>category <select id="f-category"></select></label>
<label>difficulty <select id="f-difficulty"></select></label>
<label>task <select id="task"></select></label>
</span>
<button id="show-trees" class="on">trees</button><button id="show-pairs">pairs</button>
</header>
<div id="trees-view">
<div style="padding: 4px 8px">__LEGEND__</div>
<div id="views">
<div class="side" id="side-a"><div class="tree-box"></div><div class="panel"></div></div>
<div class="side" id="side-b" style="display:none"><div class="tree-box"></div><div class="panel"></div></div>
</div></div>
<div id="pairs-view"><div><label>show <select id="f-pairs"></select></label><br>
<select id="pair-list" size="24"></select></div><div class="panel" id="pair-panel"></div></div>
<script type="application/json" id="codeq-data">__DATA__</script>
<script>__SCRIPT__</script>
</body></html>
"""

SCRIPT = r"""
"use strict";
const D = JSON.parse(document.getElementById("codeq-data").textContent);
const $ = (id) => document.getElementById(id);
function fill(select, items) {  // items: [value, text]; text set as text, never parsed as markup
  select.replaceChildren(...items.map(([v, t]) => new Option(t, v)));
}
function values(key) {
  const seen = new Set();
  D.runs.forEach((r) => r.tasks.forEach((t) => { if (t[key] != null) seen.add(String(t[key])); }));
  return [["", "all"], ...[...seen].sort().map((v) => [v, v])];
}
function filtered(run) {
  const s = $("f-solved").value, c = $("f-category").value, d = $("f-difficulty").value;
  return run.tasks.filter((t) => (s === "" || String(Number(t.solved)) === s) &&
    (c === "" || String(t.category) === c) && (d === "" || String(t.difficulty) === d));
}
function fillTasks() {
  const run = D.runs[Number($("run-a").value)], keep = $("task").value;
  const tasks = filtered(run);
  fill($("task"), tasks.map((t) => [t.id, t.id + (t.solved === true ? " \u2713" : t.solved === false ? " \u2717" : "")]));
  if (tasks.some((t) => t.id === keep)) $("task").value = keep;
  show();
}
function select(side, task, nodeId) {
  const box = $("side-" + side);
  box.querySelector(".panel").innerHTML = task.panels[nodeId];  // rendered and escaped by codeq (render.py)
  box.querySelectorAll(".prompt-slot").forEach((slot) => { slot.innerHTML = D.prompts[Number(slot.dataset.prompt)]; });
  box.querySelectorAll("svg .node").forEach((g) => g.classList.toggle("selected", Number(g.dataset.node) === nodeId));
}
function showSide(side, run, taskId) {
  const box = $("side-" + side), task = run && run.tasks.find((t) => t.id === taskId);
  if (!task) {
    box.querySelector(".tree-box").innerHTML = "";
    box.querySelector(".tree-box").append(Object.assign(document.createElement("div"),
      {className: "empty", textContent: run ? "task " + taskId + " is not in run " + run.name : "no task matches the filters"}));
    box.querySelector(".panel").innerHTML = "";
    return;
  }
  box.querySelector(".tree-box").innerHTML = task.header + task.svg;  // rendered and escaped by codeq
  box.querySelectorAll("svg .node").forEach((g) => {
    const pick = () => select(side, task, Number(g.dataset.node));
    g.addEventListener("click", pick);
    g.addEventListener("keydown", (e) => { if (e.key === "Enter") pick(); });
  });
  select(side, task, task.default);
}
function show() {
  const a = D.runs[Number($("run-a").value)], bIndex = $("run-b").value;
  const b = bIndex === "" ? null : D.runs[Number(bIndex)];
  $("views").classList.toggle("compare", b !== null);
  $("side-b").style.display = b ? "" : "none";
  showSide("a", a, $("task").value);
  if (b) showSide("b", b, $("task").value);
}
function fillPairs() {
  const f = $("f-pairs").value;
  const shown = D.pairs.map((p, i) => [p, i]).filter(([p]) => f === "" || (f === "kept" ? p.reason == null : p.reason === f));
  fill($("pair-list"), shown.map(([p, i]) => [String(i), p.label]));
  if (shown.length) { $("pair-list").value = String(shown[0][1]); showPair(); } else $("pair-panel").innerHTML = "";
}
function showPair() {
  const p = D.pairs[Number($("pair-list").value)];
  $("pair-panel").innerHTML = p ? p.html : "";  // rendered and escaped by codeq
}
function tab(pairs) {
  $("trees-view").style.display = pairs ? "none" : "";
  $("tree-controls").style.display = pairs ? "none" : "";
  $("pairs-view").style.display = pairs ? "grid" : "none";
  $("show-pairs").classList.toggle("on", pairs); $("show-trees").classList.toggle("on", !pairs);
}
fill($("run-a"), D.runs.map((r, i) => [String(i), r.name]));
fill($("run-b"), [["", "(none)"], ...D.runs.map((r, i) => [String(i), r.name])]);
fill($("f-category"), values("category"));
fill($("f-difficulty"), values("difficulty"));
const reasons = [...new Set(D.pairs.map((p) => p.reason).filter((r) => r != null))].sort();
fill($("f-pairs"), [["", "all"], ["kept", "kept"], ...reasons.map((r) => [r, "dropped: " + r])]);
["run-a", "f-solved", "f-category", "f-difficulty"].forEach((id) => $(id).addEventListener("change", fillTasks));
["run-b", "task"].forEach((id) => $(id).addEventListener("change", show));
$("f-pairs").addEventListener("change", fillPairs);
$("pair-list").addEventListener("change", showPair);
$("show-trees").addEventListener("click", () => tab(false));
$("show-pairs").addEventListener("click", () => tab(true));
if (!D.pairs.length) { $("show-pairs").style.display = "none"; $("show-trees").style.display = "none"; }
if (!D.runs.length) { $("show-trees").style.display = "none"; tab(true); } else fillTasks();
if (D.pairs.length) fillPairs();
"""
