"""Interactive exploration of search trees and preference pairs (issue 17).

`run.py` reads a run (trees, results, tasks) and refuses bad input with a one-line error;
`views.py` says what a node or a pair shows; `render.py` turns that into HTML; `widget.py`
is the ipywidgets explorer of notebook 07; `page.py` writes the self-contained HTML page of
`codeq explore`; `round_pairs.py` reads a round's pairs and rebuilds the dropped ones.
"""

from codeq_lib.explorer.page import page_html, write_page
from codeq_lib.explorer.round_pairs import read_pairs, round_pairs
from codeq_lib.explorer.run import ExploreError, Run, TaskInfo, load_run
from codeq_lib.explorer.views import default_node, node_view, pair_view

__all__ = ["ExploreError", "Run", "TaskInfo", "default_node", "load_run", "node_view", "page_html", "pair_view",
           "read_pairs", "round_pairs", "write_page"]
