"""The notebook explorer, built with ipywidgets (Jupyter's own widget library: maintained by
the Jupyter project, shipped with JupyterLab's widget manager, saved in a notebook's widget
state, so no extra front-end extension is needed).

`TreeExplorer(runs)`: pick a run and a task (filter by solved, category, difficulty), see its
tree, select a node to see its panel; "compare with" shows a second run on the same task side
by side. `PairViewer(pairs)`: browse a round's pairs, kept and dropped. Both display as the
live widget where a widget manager runs (JupyterLab) and as the same views in static HTML
elsewhere (papermill, nbval, GitHub), from the one renderer (`render.py`).
"""

from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as widgets

from codeq_lib.explorer import render
from codeq_lib.explorer.round_pairs import pair_label
from codeq_lib.explorer.run import ExploreError, Run
from codeq_lib.explorer.views import default_node, node_view, pair_view

STYLE = f"<style>{render.CSS}</style>"


def node_label(run: Run, task_id: str, node_id: int) -> str:
    node, info = run.trees[task_id].nodes[node_id], run.tasks[task_id]
    marks = (" answer" if info.answer_node == node_id else "") + (" passing" if node.passes_all else "")
    return f"#{node_id} value {render.fmt(node.value)} visits {node.visits} tests {node.passed}/{node.total}{marks}"


class _Side:
    """One run's view of the chosen task: the tree, a node selector and the node panel."""

    def __init__(self, name: str):
        self.run: Run | None = None
        self.task_id: str | None = None
        self.tree = widgets.HTML().add_class(f"cq-tree-{name}")
        self.node = widgets.Dropdown(description="node", layout=widgets.Layout(width="98%"))
        self.node.add_class(f"cq-node-{name}")
        self.panel = widgets.HTML().add_class(f"cq-panel-{name}")
        self.box = widgets.VBox([self.tree, self.node, self.panel], layout=widgets.Layout(width="100%"))
        self.quiet = False  # set while the options are replaced, so the panel renders once
        self.node.observe(lambda change: self.quiet or self.show_node(), names="value")

    def show(self, run: Run | None, task_id: str | None) -> None:
        self.run, self.task_id = run, task_id
        if run is None or task_id is None or task_id not in run.trees:
            missing = "no task matches the filters" if task_id is None else f"task {task_id} is not in run {run.name}"
            self.node.options, self.panel.value = [], ""
            self.tree.value = f'<div class="cq">{render.esc(missing)}</div>'
            return
        tree = run.trees[task_id]
        self.quiet = True
        self.node.options = [(node_label(run, task_id, n.id), n.id) for n in tree.nodes]
        self.node.value = default_node(run, task_id)
        self.quiet = False
        self.show_node()

    def show_node(self) -> None:
        if self.run is None or self.task_id not in (self.run.trees if self.run else {}) or self.node.value is None:
            return
        tree, info = self.run.trees[self.task_id], self.run.tasks[self.task_id]
        self.tree.value = (STYLE + render.task_header_html(info, self.run.name, len(tree.nodes))
                           + f'<div class="cq">{render.tree_svg(tree, info, selected=self.node.value)}{render.LEGEND}</div>')
        self.panel.value = render.node_panel_html(node_view(self.run, self.task_id, self.node.value))

    def static_html(self) -> str:
        return self.tree.value + self.panel.value


class TreeExplorer:
    """Runs -> task -> tree -> node, with filters and an optional second run side by side."""

    def __init__(self, runs: Sequence[Run], task_id: str | None = None, node_id: int | None = None,
                 compare_with: str | None = None):
        if not runs:
            raise ExploreError("<explorer>", None, None, "no run to explore (give at least one run)")
        self.runs = {run.name: run for run in runs}
        names = list(self.runs)
        every = lambda attribute: sorted({v for run in runs for v in run.values(attribute)})  # noqa: E731
        self.run = widgets.Dropdown(options=names, description="run")
        self.compare = widgets.Dropdown(options=[("(none)", None)] + [(n, n) for n in names], value=compare_with,
                                        description="compare")
        self.solved = widgets.ToggleButtons(options=[("all", None), ("solved", True), ("unsolved", False)],
                                            description="solved")
        self.category = widgets.Dropdown(options=[("all", None)] + [(v, v) for v in every("category")],
                                         description="category")
        self.difficulty = widgets.Dropdown(options=[("all", None)] + [(v, v) for v in every("difficulty")],
                                           description="difficulty")
        self.task = widgets.Dropdown(description="task")
        self.task.add_class("cq-task")
        self.side_a, self.side_b = _Side("a"), _Side("b")
        self.sides = widgets.HBox([self.side_a.box])
        self.widget = widgets.VBox([
            widgets.HBox([self.run, self.compare]), self.solved, widgets.HBox([self.category, self.difficulty]),
            self.task, self.sides])
        for control in (self.run, self.solved, self.category, self.difficulty):
            control.observe(lambda change: self._fill_tasks(), names="value")
        self.quiet = False
        self.task.observe(lambda change: self.quiet or self._show(), names="value")
        self.compare.observe(lambda change: self._show(), names="value")
        self._fill_tasks(task_id)
        if node_id is not None:
            self.select_node(node_id)

    @property
    def current_run(self) -> Run:
        return self.runs[self.run.value]

    def _fill_tasks(self, prefer: str | None = None) -> None:
        run, keep = self.current_run, prefer or self.task.value
        ids = run.task_ids(solved=self.solved.value, category=self.category.value, difficulty=self.difficulty.value)
        if prefer is not None and prefer not in run.trees:
            run.tree(prefer)  # raises ExploreError naming the run and its tasks
        marks = {True: " \u2713", False: " \u2717", None: ""}
        self.quiet = True
        self.task.options = [(task_id + marks[run.tasks[task_id].solved], task_id) for task_id in ids]
        self.task.value = keep if keep in ids else (ids[0] if ids else None)
        self.quiet = False
        self._show()

    def _show(self) -> None:
        self.side_a.show(self.current_run, self.task.value)
        other = self.runs.get(self.compare.value) if self.compare.value else None
        if other is not None:
            self.side_b.show(other, self.task.value)
            self.side_a.box.layout.width = self.side_b.box.layout.width = "50%"
            self.sides.children = [self.side_a.box, self.side_b.box]
        else:
            self.side_a.box.layout.width = "100%"
            self.sides.children = [self.side_a.box]

    def select_node(self, node_id: int, side: str = "a") -> None:
        target = self.side_a if side == "a" else self.side_b
        if node_id not in [value for _, value in target.node.options]:
            raise ExploreError(self.current_run.source, None, "node", f"{node_id!r} is not a node of {self.task.value!r}")
        target.node.value = node_id

    def static_html(self) -> str:
        """What the widget shows now, as HTML (the fallback where no widget manager runs)."""
        sides = [self.side_a] + ([self.side_b] if len(self.sides.children) == 2 else [])
        cells = "".join(f'<div style="flex:1;min-width:0">{side.static_html()}</div>' for side in sides)
        return f'{STYLE}<div class="cq" style="display:flex;gap:10px">{cells}</div>'

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data["text/html"] = self.static_html()
        return bundle


class PairViewer:
    """A round's pairs: filter kept / dropped by reason, pick one, see prompt, chosen vs
    rejected as a diff, Q values, margin and weight."""

    def __init__(self, pairs: Sequence[dict[str, Any]]):
        self.pairs = list(pairs)
        reasons = sorted({p["drop_reason"] for p in self.pairs if p.get("drop_reason")})
        self.filter = widgets.Dropdown(options=[("all", "all"), ("kept", "kept")]
                                       + [(f"dropped: {r}", r) for r in reasons], description="show")
        self.list = widgets.Select(rows=12, layout=widgets.Layout(width="98%"))
        self.list.add_class("cq-pair-list")
        self.panel = widgets.HTML().add_class("cq-pair-panel")
        self.widget = widgets.VBox([self.filter, self.list, self.panel])
        self.filter.observe(lambda change: self._fill(), names="value")
        self.quiet = False
        self.list.observe(lambda change: self.quiet or self._show(), names="value")
        self._fill()

    def _fill(self) -> None:
        wanted = self.filter.value
        shown = [(pair_label(p), i) for i, p in enumerate(self.pairs)
                 if wanted == "all" or (wanted == "kept" and p.get("drop_reason") is None)
                 or p.get("drop_reason") == wanted]
        self.quiet = True
        self.list.options = shown
        self.list.value = shown[0][1] if shown else None
        self.quiet = False
        self._show()

    def _show(self) -> None:
        if self.list.value is None:
            self.panel.value = '<div class="cq">no pairs</div>'
            return
        self.panel.value = STYLE + render.pair_panel_html(pair_view(self.pairs[self.list.value]))

    def static_html(self) -> str:
        return self.panel.value

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data["text/html"] = self.static_html()
        return bundle
