"""The explorer in a real browser (issue 17): headless Chromium (Debian's package, driven by
Playwright) opens the `codeq explore` page and notebook 07 in JupyterLab, selects a node and
checks that the node panel shows that node's diff and test results; screenshots are saved
(to $CODEQ_SCREENSHOTS when set, which is how docs/img/explorer_*.png are made).

Chromium is required, not optional: CI installs it (scripts/setup_env.sh), and a missing
browser fails here with what to install.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from codeq_lib.data.tasks import load_tasks
from codeq_lib.explorer import load_run, node_view, round_pairs, write_page
from codeq_lib.stages import PairsStage, run_pairs
from explorer_support import make_collect_run, make_eval_run, write_tasks

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CODEQ_CHROMIUM", "/usr/bin/chromium")
# Headless and quiet: no sandbox as root, and no background traffic towards a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("CODEQ_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory, sandbox):
    root = tmp_path_factory.mktemp("browser_runs")
    collected = make_collect_run(root, sandbox)
    run_pairs(PairsStage(test_tasks=[], threshold=0.3, max_pairs_per_task=1), str(collected), str(root / "pairs"))
    return {"root": root, "tasks": write_tasks(root), "mcts": make_eval_run(root, sandbox),
            "best": make_eval_run(root, sandbox, mode="best_of_n"), "collect": collected,
            "pairs": root / "pairs" / "pairs.jsonl"}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium; "
                    "scripts/setup_env.sh does it), or point CODEQ_CHROMIUM at a Chromium binary")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 1000})
        yield context
        context.close()


def expected_panel(run_dir: Path, tasks_path: Path, task_id: str, node_id: int) -> dict:
    """What the panel must show for this node, from the library (the diff's added lines, the statuses)."""
    view = node_view(load_run(run_dir, load_tasks(tasks_path)), task_id, node_id)
    added = [line[1:].strip() for line in view["diff_parent"].splitlines() if line.startswith("+ ")
             or (line.startswith("+") and not line.startswith("+++"))]
    return {"added": [line for line in added if line], "statuses": [t["status"] for t in view["tests"]],
            "inputs": [t["input"] for t in view["tests"]]}


def test_html_page_node_panel(browser, runs, shots, tmp_path):
    tasks = load_tasks(runs["tasks"])
    page_path = write_page([load_run(runs["mcts"], tasks), load_run(runs["best"], tasks)], tmp_path / "trees.html",
                           round_pairs(runs["pairs"], runs["collect"]))
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_path.as_uri())
    page.select_option("#task", "add-logic")
    page.click('#side-a svg .node[data-node="1"]')
    panel = page.locator('#side-a .panel .node-panel[data-node="1"]')
    panel.wait_for()
    want = expected_panel(runs["mcts"], runs["tasks"], "add-logic", 1)
    diff = panel.locator(".diff-parent").inner_text()
    assert want["added"] and all(line in diff for line in want["added"])
    rows = panel.locator("table.tests tr.test")
    assert rows.count() == len(want["statuses"]) == 3
    assert [rows.nth(i).locator("td").nth(4).inner_text() for i in range(3)] == want["statuses"]
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(3)] == want["inputs"]
    assert page.locator('#side-a svg .node.selected').get_attribute("data-node") == "1"
    assert "This program has a bug" in panel.locator(".prompt-slot").inner_text()  # the shared prompt, filled in
    page.screenshot(path=str(shots / "explorer_page.png"))

    # the adversarial candidate is shown as text and runs nothing
    page.select_option("#task", "add-markup")
    answer = page.locator('#side-a .panel .node-panel').get_attribute("data-node")
    assert "</script><script>window.pwned = 1</script>" in page.locator("#side-a .panel .code").inner_text()
    assert page.evaluate("window.pwned") is None and answer is not None

    # two runs side by side on one task, and the filters
    page.select_option("#f-solved", "0")
    assert page.locator("#task option").all_inner_texts() == ["biggest \u2717"]
    page.select_option("#run-b", "1")
    page.locator('#side-b .panel .node-panel[data-task="biggest"]').wait_for()
    page.screenshot(path=str(shots / "explorer_page_compare.png"))

    page.click("#show-pairs")
    page.locator("#pair-panel .pair-panel").wait_for()
    assert "Rejected" in page.locator("#pair-panel").inner_text()
    page.screenshot(path=str(shots / "explorer_page_pairs.png"))
    assert not errors, errors
    assert all(url.startswith("file://") for url in requests), requests  # nothing from the network
    page.close()
    assert (shots / "explorer_page.png").stat().st_size > 10_000


# The notebook's kernel is connected and idle (JupyterLab exposes its app with expose_app_in_browser).
KERNEL_IDLE = """() => { const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === "connected" && kernel.status === "idle"; }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(runs, tmp_path_factory):
    """JupyterLab on a free localhost port, serving a copy of notebook 07 whose parameters
    point at the test runs (injected the way papermill injects them); shut down after."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    home = tmp_path_factory.mktemp("lab")
    notebook = load_notebook_node(str(ROOT / "notebooks" / "07_explore_trees.ipynb"))
    parameters = {"trees_path": str(runs["mcts"]), "compare_paths": [str(runs["best"])],
                  "tasks_paths": [str(runs["tasks"])], "pairs_path": str(runs["pairs"]),
                  "pairs_trees": str(runs["collect"]), "task_id": "add-logic"}
    nbformat.write(parameterize_notebook(notebook, parameters), home / "07_explore_trees.ipynb")
    port, token = free_port(), "codeq-test-token"
    news = home / ".settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "Jupyter news?" toast over the screenshots
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "CODEQ_ROOT": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
           "JUPYTER_RUNTIME_DIR": str(home / ".runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(home / ".workspaces"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / ".settings")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={home}", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.expose_app_in_browser=True"],
        cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=open(home / "server.log", "w"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{(home / 'server.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield f"{url}/lab/tree/07_explore_trees.ipynb?token={token}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(home / ".runtime", ignore_errors=True)


def test_jupyterlab_notebook_widget_node_panel(browser, runs, jupyterlab, shots):
    page = browser.new_page()
    page.set_default_timeout(60_000)
    page.goto(jupyterlab, wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    page.wait_for_function(KERNEL_IDLE)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")  # Run > Run All Cells
    node_select = page.locator(".cq-node-a select")
    node_select.wait_for()
    node_select.select_option(index=1)
    panel = page.locator('.cq-panel-a .node-panel[data-task="add-logic"][data-node="1"]')
    panel.wait_for()
    want = expected_panel(runs["mcts"], runs["tasks"], "add-logic", 1)
    diff = panel.locator(".diff-parent").inner_text()
    assert want["added"] and all(line in diff for line in want["added"])
    rows = panel.locator("table.tests tr.test")
    assert rows.count() == 3 and [rows.nth(i).locator("td").nth(4).inner_text() for i in range(rows.count())] == want["statuses"]
    assert page.locator(".cq-panel-b .node-panel").count() == 1  # the second run, side by side
    page.locator(".cq-tree-a").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "explorer_lab.png"))
    pair_panel = page.locator(".cq-pair-panel .pair-panel")
    pair_panel.wait_for()
    page.locator(".cq-pair-list").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "explorer_lab_pairs.png"))
    assert "Rejected" in pair_panel.inner_text()
    page.close()
    assert (shots / "explorer_lab.png").stat().st_size > 10_000
