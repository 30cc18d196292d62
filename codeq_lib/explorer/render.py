"""HTML for the explorer's views: the tree as inline SVG, the node panel, the pair panel.

One renderer for both front ends: the ipywidgets explorer puts these strings in `HTML`
widgets, the shareable page embeds them as data and swaps them in on click. Every piece of
run data (code, completions, prompts, test values) passes through `html.escape`: candidate
programs are adversarial and must not become markup.
"""

from __future__ import annotations

import html
import math
from typing import Any

from codeq_lib.explore import tidy_layout, tree_graph
from codeq_lib.explorer.run import TaskInfo
from codeq_lib.search.tree import Tree

# matplotlib's viridis at 0, .25, .5, .75, 1 (value 0 -> dark purple, 1 -> yellow), so the
# page needs no matplotlib and matches the static `draw_tree` figure of notebook 07.
VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
UNSCORED = "#c8c8c8"  # could not be scored: not a zero (STYLE.md rule 6)

CSS = """
.cq { font-family: system-ui, sans-serif; font-size: 13px; color: #222; line-height: 1.35; }
.cq h3 { margin: 6px 0 4px; font-size: 14px; }
.cq h4 { margin: 10px 0 3px; font-size: 13px; }
.cq pre { background: #f6f8fa; border: 1px solid #ddd; padding: 6px; margin: 2px 0; overflow: auto;
          max-height: 320px; white-space: pre; font-size: 12px; }
.cq .diff span { display: block; min-height: 1.2em; }
.cq .diff .add { color: #116329; background: #dafbe1; }
.cq .diff .del { color: #82071e; background: #ffebe9; }
.cq .diff .hunk { color: #6639ba; }
.cq table { border-collapse: collapse; margin: 2px 0; }
.cq td, .cq th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top;
                 font-family: ui-monospace, monospace; font-size: 12px; }
.cq .st-pass { color: #116329; font-weight: bold; } .cq .st-fail, .cq .st-error, .cq .st-timeout { color: #b00020; }
.cq .st-could_not_run { color: #777; }
.cq .badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px; margin-left: 4px;
             background: #eee; }
.cq .badge.answer { background: #ffd33d; } .cq .badge.passing { background: #aceebb; }
.cq .badge.dropped { background: #ffcecb; } .cq .badge.kept { background: #aceebb; }
.cq svg .node { cursor: pointer; } .cq svg .node.selected circle.body { stroke: #e3116c; stroke-width: 3; }
.cq .legend { font-size: 11px; color: #555; }
.cq .msg { border-left: 3px solid #ccc; padding-left: 6px; margin: 4px 0; }
"""


def value_colour(value: float | None) -> str:
    """Hex colour of a node value in [0, 1] on viridis; grey when it could not be scored.

    >>> value_colour(0.0), value_colour(1.0), value_colour(None)
    ('#440154', '#fde725', '#c8c8c8')
    """
    if value is None or not math.isfinite(value):
        return UNSCORED
    position = min(max(value, 0.0), 1.0) * (len(VIRIDIS) - 1)
    low = min(int(position), len(VIRIDIS) - 2)
    frac = position - low
    rgb = [round(a + (b - a) * frac) for a, b in zip(VIRIDIS[low], VIRIDIS[low + 1])]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "-" if value is None else str(value)


def tree_svg(tree: Tree, info: TaskInfo, selected: int | None = None, title: str = "") -> str:
    """The tree as inline SVG: colour = value, radius and label = visits, a gold ring on the
    committed answer, a thick green edge on nodes that pass every test the search ran."""
    positions = tidy_layout(tree_graph(tree.to_rows()))
    xs = [x for x, _ in positions.values()]
    depth = max(-y for _, y in positions.values())
    step_x, step_y, pad = 56, 70, 34
    width = int((max(xs) - min(xs)) * step_x + 2 * pad + 40)
    height = int(depth * step_y + 2 * pad + 16)

    def at(node_id: int) -> tuple[float, float]:
        x, y = positions[node_id]
        return pad + 20 + (x - min(xs)) * step_x, pad + 8 - y * step_y

    parts = [f'<svg class="cq-tree" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title or tree.task_id)}">']
    for node in tree.nodes:
        if node.parent is not None:
            (x1, y1), (x2, y2) = at(node.parent), at(node.id)
            parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#999"/>')
    for node in tree.nodes:
        x, y = at(node.id)
        radius = 9 + 3 * math.sqrt(max(node.visits, 0))
        classes = "node" + (" selected" if node.id == selected else "")
        tip = (f"node {node.id}: visits {node.visits}, value {fmt(node.value)}, "
               f"{node.passed}/{node.total} tests, {node.status}")
        parts.append(f'<g class="{classes}" data-node="{node.id}" tabindex="0"><title>{esc(tip)}</title>')
        if info.answer_node == node.id:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius + 5:.1f}" fill="none" stroke="#d4a017" '
                         f'stroke-width="3"/>')
        edge = ('stroke="#1a7f37" stroke-width="3"' if node.passes_all else 'stroke="#333" stroke-width="1"')
        parts.append(f'<circle class="body" cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" '
                     f'fill="{value_colour(node.value)}" {edge}/>')
        light = node.value is not None and node.value > 0.6
        parts.append(f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" font-size="11" '
                     f'fill="{"#000" if light or node.value is None else "#fff"}">{node.visits}</text>')
        parts.append(f'<text x="{x:.1f}" y="{y + radius + 13:.1f}" text-anchor="middle" font-size="10" '
                     f'fill="#555">#{node.id}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


LEGEND = ('<div class="legend">colour = node value (viridis: purple 0 &rarr; yellow 1; grey: could not be scored); '
          'number and size = visits; <span style="color:#d4a017">gold ring</span> = committed answer; '
          '<span style="color:#1a7f37">green edge</span> = passes every test the search ran; #id below.</div>')


def diff_html(diff: str | None, empty: str = "(same program)") -> str:
    if diff is None:
        return '<pre class="diff">(the root: the buggy program)</pre>'
    if not diff:
        return f'<pre class="diff">{esc(empty)}</pre>'
    lines = []
    for line in diff.splitlines():
        kind = ("hunk" if line.startswith("@@") else "add" if line.startswith("+") and not line.startswith("+++")
                else "del" if line.startswith("-") and not line.startswith("---") else "")
        lines.append(f'<span class="{kind or "ctx"}">{esc(line)}</span>')
    return '<pre class="diff">' + "".join(lines) + "</pre>"


def tests_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>(no test results: the program did not run)</p>"
    head = "<tr><th>#</th><th>input</th><th>expected</th><th>got</th><th>status</th><th>error</th></tr>"
    body = "".join(
        f'<tr class="test"><td>{row["index"]}</td><td>{esc(row["input"] if row["input"] is not None else "?")}</td>'
        f'<td>{esc(row["expected"])}</td><td>{esc(row["got"])}</td>'
        f'<td class="st-{esc(row["status"])}">{esc(row["status"])}</td><td>{esc(row["error"] or "")}</td></tr>'
        for row in rows)
    return f'<table class="tests">{head}{body}</table>'


def messages_html(messages: list[dict[str, Any]] | None) -> str:
    if not messages:
        return "<p>(none: the root is the buggy program, not a policy answer)</p>"
    return "".join(f'<div class="msg"><b>{esc(m.get("role"))}</b><pre>{esc(m.get("content"))}</pre></div>'
                   for m in messages)


def node_panel_html(view: dict[str, Any], prompt_html: str | None = None) -> str:
    """The node panel: stats, diffs against the parent and the buggy root, visible-test results,
    the prompt and the raw completion with the extraction reason. `prompt_html` replaces the
    rendered prompt (the page shares one copy among the siblings a prompt produced)."""
    badges = ""
    if view["is_answer"]:
        badges += '<span class="badge answer">committed answer</span>'
    if view["passes_all"]:
        badges += '<span class="badge passing">passes all tests</span>'
    stats = "".join(f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in view["stats"].items())
    stats += f'<tr><th>tests</th><td>{view["passed"]}/{view["total"]} <span class="st-{esc(view["status"])}">' \
             f'{esc(view["status"])}</span></td></tr>'
    if view["error"]:
        stats += f"<tr><th>error</th><td>{esc(view['error'])}</td></tr>"
    parent = "" if view["parent"] is None else f" (parent {view['parent']})"
    parts = [
        f'<div class="cq node-panel" data-task="{esc(view["task_id"])}" data-node="{view["id"]}">',
        f'<h3>{esc(view["run"])} &middot; {esc(view["task_id"])} &middot; node {view["id"]}'
        f'{parent}{badges}</h3>',
        f"<table class='stats'>{stats}</table>",
        "<h4>Diff against its parent</h4>", f'<div class="diff-parent">{diff_html(view["diff_parent"])}</div>',
        "<h4>Diff against the buggy root</h4>", f'<div class="diff-root">{diff_html(view["diff_root"])}</div>',
        "<h4>Test results (the tests the search ran)</h4>", tests_html(view["tests"]),
        f"<h4>Raw completion (extraction: {esc(view['extraction'] or '-')}; "
        f"finish: {esc(view['finish_reason'] or '-')})</h4>",
        f'<pre class="completion">{esc(view["completion"] if view["completion"] is not None else "(none)")}</pre>',
        "<h4>Prompt that produced it</h4>", messages_html(view["prompt"]) if prompt_html is None else prompt_html,
        "<h4>Code</h4>", f'<pre class="code">{esc(view["code"])}</pre>',
        "</div>",
    ]
    return "".join(parts)


def task_header_html(info: TaskInfo, run_name: str, n_nodes: int) -> str:
    solved = {True: "solved", False: "unsolved", None: "?"}[info.solved]
    extra = f", hidden tests: {esc(info.hidden)}" if info.hidden else ""
    return (f'<div class="cq task-header"><b>{esc(run_name)}</b> &middot; {esc(info.id)}: {n_nodes} nodes, '
            f'{solved}{extra}; category {esc(info.category or "-")}, difficulty {esc(info.difficulty or "-")}'
            + (f'<div class="legend">{esc(info.description[:300])}</div>' if info.description else "") + "</div>")


def pair_panel_html(view: dict[str, Any]) -> str:
    badge = ('<span class="badge kept">kept</span>' if view["kept"]
             else f'<span class="badge dropped">dropped: {esc(view["drop_reason"])}</span>')
    stats = "".join(f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in view["stats"].items()
                    if v is not None)
    return "".join([
        f'<div class="cq pair-panel"><h3>{esc(view["task_id"])}: node {esc(view["chosen_id"])} (chosen) vs node '
        f'{esc(view["rejected_id"])} (rejected), siblings under node {esc(view["parent_id"])}{badge}</h3>',
        f"<table class='stats'>{stats}</table>",
        "<h4>Rejected &rarr; chosen</h4>", diff_html(view["diff"], "(the same program)"),
        "<h4>Prompt</h4>", messages_html(view["prompt"]),
        "<h4>Chosen completion</h4>", f"<pre>{esc(view['chosen_completion'])}</pre>",
        "<h4>Rejected completion</h4>", f"<pre>{esc(view['rejected_completion'])}</pre>",
        "</div>",
    ])
