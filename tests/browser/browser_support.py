"""Helpers for the browser suite: a JupyterLab server and a notebook driver.

Kept out of ``conftest.py`` so the tests can import them by name.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = HERE / "fixtures"
ARTIFACTS = REPO / "test-artifacts" / "browser"

#: Where a Chromium may live, first match wins.  Debian's package installs
#: /usr/bin/chromium; COURSE_BROWSER_EXECUTABLE overrides.
#: Figures for the terminal summary (counts only; nothing asserts on time).
STATS = {
    "lessons": set(),          # lesson notebooks run in JupyterLab
    "explorers": set(),        # explorer kinds driven in the browser
    "interactions": 0,         # slider moves, drags, dropdown picks, key presses, saves
    "axe_pages": 0,            # axe-core scans
    "screenshots": 0,
    "known_issues": {},        # id -> text: upstream problems tolerated, reported here
    "skipped_no_browser": None,
    "durations": {},           # nodeid -> seconds (setup + call + teardown)
    "first_start": None,
    "last_end": None,
}


def count(kind: str, n: int = 1) -> None:
    STATS[kind] += n


def note_known_issue(key: str, text: str) -> None:
    STATS["known_issues"][key] = text


CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
                       "/usr/bin/google-chrome-stable")

#: Without the background-networking flags Chromium keeps calling home, which
#: floods a closed network and slows everything down.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic",
]

SERVER_START_TIMEOUT_S = 90
KERNEL_TIMEOUT_MS = 120_000      # run-all of a lesson on a busy 2-core machine
UPDATE_TIMEOUT_MS = 30_000       # one widget round trip (browser -> kernel -> browser)


def find_chromium() -> str | None:
    """Path of a Chromium executable, or None."""
    override = os.environ.get("COURSE_BROWSER_EXECUTABLE")
    if override:
        return override if os.access(override, os.X_OK) else None
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A JupyterLab server on loopback, serving a temporary root folder."""

    root: Path
    port: int
    token: str
    process: subprocess.Popen
    log_path: Path
    home: Path
    env: dict = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, **query) -> str:
        q = "&".join([f"token={self.token}"] + [f"{k}={v}" for k, v in query.items()])
        return f"{self.base_url}/{path.lstrip('/')}?{q}"

    def api(self, method: str, path: str, body=None):
        req = urllib.request.Request(self.url(path), method=method,
                                     data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=30) as r:
            data = r.read()
        return json.loads(data) if data else None

    def shutdown_kernels(self) -> None:
        """End every session, so one test's kernel does not slow the next test."""
        for s in self.api("GET", "api/sessions") or []:
            try:
                self.api("DELETE", f"api/sessions/{s['id']}")
            except urllib.error.HTTPError:
                pass

    def log_tail(self, n=60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


#: The configuration of the learner's JupyterLab (what ``python3 run.py lab`` adds).
LEARNER_CONFIG = REPO / "jupyter-config" / "learner"


def start_lab(root: Path, home: Path) -> LabServer:
    """Start JupyterLab from this environment on a free loopback port and wait until it answers."""
    settings = home / "user-settings"
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True, exist_ok=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Render every cell, not only those in view: the tests look for explorers
    # anywhere in a notebook, and axe must see all of a lesson's content.
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    # Start the notebook's own kernel without asking ("Select Kernel" dialog).
    tracker.write_text(json.dumps({"windowingMode": "none", "autoStartDefaultKernel": True}))
    (home / "workspaces").mkdir(exist_ok=True)
    env = dict(os.environ)
    # The learner's lab, as `python3 run.py lab` starts it: the course's learner configuration
    # (nbgrader's instructor and exchange tools switched off, the prompt kernel connection).
    env["JUPYTER_CONFIG_PATH"] = str(LEARNER_CONFIG) + os.pathsep + env.get("JUPYTER_CONFIG_PATH", "")
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_DATA_DIR=str(home / "data"),  # no user-level kernelspecs or extensions
        IPYTHONDIR=str(home / "ipython"),
        MPLBACKEND="Agg",
        PYTHONUNBUFFERED="1",
    )
    # the venv's bin first, so the kernel and nbconvert come from this environment
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    port, token = free_port(), secrets.token_hex(16)
    log_path = home / "jupyterlab.log"
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",
        # no "check for updates" / news calls to the internet
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
                            start_new_session=True)
    server = LabServer(root, port, token, proc, log_path, home, env)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {proc.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "api/status")
            return server
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_TIMEOUT_S} s:\n{server.log_tail()}")


def make_root(tmp: Path) -> Path:
    """A throw-away copy of the course's notebooks and exercises, plus this suite's fixtures."""
    root = tmp / "root"
    root.mkdir()
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for name in ("notebooks", "exercises"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=ignore)
    # the fixtures' instructor answers stay out of the learner's folder
    shutil.copytree(FIXTURES, root / "browser_fixtures",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "solutions", "*.py"))
    return root


# -- JavaScript errors ----------------------------------------------------------------
#: Console errors that are not the course's fault, each with its reason.  Keep
#: this list narrow: a pattern must name the exact message, never "error".
HARMLESS_CONSOLE_ERRORS = (
    # (substring of the message, why it is harmless)
)


class ConsoleErrors:
    """Collects ``console.error`` messages and uncaught page errors."""

    def __init__(self):
        self.messages: list[str] = []
        self.ignored: list[str] = []

    def on_console(self, msg) -> None:
        if msg.type != "error":
            return
        self._add(f"console.error: {msg.text} ({msg.location.get('url', '')})")

    def on_pageerror(self, exc) -> None:
        self._add(f"uncaught: {exc}")

    def _add(self, text: str) -> None:
        if any(pattern in text for pattern, _why in HARMLESS_CONSOLE_ERRORS):
            self.ignored.append(text)
        else:
            self.messages.append(text)

    def clear(self) -> None:
        self.messages.clear()


# -- driving a notebook in JupyterLab --------------------------------------------------
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
IDLE = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']"


def open_notebook(page, lab, relpath: str, workspace: str) -> None:
    """Open ``relpath`` in a fresh workspace and wait until its kernel is idle."""
    page.goto(lab.url(f"lab/workspaces/{workspace}/tree/{relpath}", reset=""), wait_until="domcontentloaded")
    page.wait_for_selector(NOTEBOOK, timeout=KERNEL_TIMEOUT_MS)
    dismiss_kernel_dialog(page)
    page.wait_for_selector(IDLE, timeout=KERNEL_TIMEOUT_MS, state="attached")
    page.wait_for_function(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.context.isReady); }",
        timeout=KERNEL_TIMEOUT_MS,
    )


def dismiss_kernel_dialog(page) -> None:
    """Accept a "Select Kernel" dialog if one shows (autoStartDefaultKernel should prevent it)."""
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    if dialog.count():
        dialog.first.click()


def run_command(page, command: str, args: dict | None = None):
    return page.evaluate(
        "async ([c, a]) => { const r = await window.jupyterapp.commands.execute(c, a || {});"
        " return r === undefined ? null : String(r); }",
        [command, args],
    )


def wait_idle(page, timeout_ms: int = KERNEL_TIMEOUT_MS) -> None:
    """Wait until no cell is queued or running and the kernel reports idle."""
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " if (!w || !w.content) return false;"
        " const busy = Array.from(w.node.querySelectorAll('.jp-InputPrompt')).some(p => p.textContent.includes('*'));"
        " const k = w.sessionContext.session && w.sessionContext.session.kernel;"
        " return !busy && k && k.status === 'idle'; }",
        timeout=timeout_ms,
    )


def kernel_output(page, code: str) -> str:
    """Run ``code`` in the current notebook's kernel, outside any cell, and return what it printed."""
    return page.evaluate(
        "async (code) => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;"
        " let out = ''; const f = k.requestExecute({code: code, silent: false, store_history: false});"
        " f.onIOPub = (m) => { if (m.header.msg_type === 'stream') { out += m.content.text; }"
        "   if (m.header.msg_type === 'error') { out += m.content.ename + ': ' + m.content.evalue; } };"
        " await f.done; return out; }",
        code,
    )


#: The SHA-256 of a figure canvas's pixels (RGBA, row by row), as hex: the same bytes as the kernel's frame.
CANVAS_DIGEST_JS = """
async (canvas) => {
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const h = await crypto.subtle.digest('SHA-256', d);
  return Array.from(new Uint8Array(h)).map((b) => b.toString(16).padStart(2, '0')).join('');
}
"""


def canvas_digest(canvas) -> str:
    """The digest of what a figure canvas (a locator) shows; see :data:`CANVAS_DIGEST_JS`."""
    return canvas.evaluate(CANVAS_DIGEST_JS)


#: Printed by the kernel: the digest of the last frame of every live figure.
KERNEL_DIGESTS = """
import hashlib as _h, json as _j
from course.explorers.figure_view import live_views as _lv
print("DIGESTS", _j.dumps([_h.sha256(_v._pixels.tobytes()).hexdigest() for _v in _lv() if _v._pixels is not None]))
"""


def kernel_digests(page) -> set:
    """The digests of every figure the kernel has drawn last (one per live explorer)."""
    out = kernel_output(page, KERNEL_DIGESTS)
    lines = [line for line in out.splitlines() if line.startswith("DIGESTS ")]
    assert lines, f"the kernel did not report its figures: {out!r}"
    return set(json.loads(lines[-1][len("DIGESTS "):]))


def run_all(page) -> None:
    """Run every cell (Run > Run All Cells) and wait until the kernel is idle again."""
    run_command(page, "notebook:run-all-cells")
    wait_idle(page)


def error_outputs(page) -> list[str]:
    """Tracebacks in the notebook's outputs, as "ename: evalue" strings."""
    return page.evaluate(
        "() => { const w = window.jupyterapp.shell.currentWidget; const out = [];"
        " for (const cell of w.content.widgets) { if (cell.model.type !== 'code') continue;"
        "   for (const o of cell.model.outputs.toJSON()) if (o.output_type === 'error')"
        "     out.push(`cell ${w.content.widgets.indexOf(cell)}: ${o.ename}: ${o.evalue}`); }"
        " return out; }"
    )


def save(page) -> None:
    """Save with the keyboard (Ctrl+S) and wait until the notebook is no longer dirty."""
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")


def eventually(check, timeout_s: float = UPDATE_TIMEOUT_MS / 1000, interval_s: float = 0.2):
    """Call ``check()`` until it returns ``(True, detail)``; return the last ``(ok, detail)``."""
    deadline = time.monotonic() + timeout_s
    while True:
        ok, detail = check()
        if ok or time.monotonic() > deadline:
            return ok, detail
        time.sleep(interval_s)


def accessible_names(page, root_selector: str, control_selector: str) -> list[dict]:
    """The browser's own accessible name and role for each control under the first root.

    Uses Chromium's accessibility tree (CDP ``Accessibility.getPartialAXTree``), the
    same computation a screen reader receives, rather than guessing from attributes.
    """
    cdp = page.context.new_cdp_session(page)
    try:
        doc = cdp.send("DOM.getDocument", {"depth": 0})
        root = cdp.send("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": root_selector})
        nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root["nodeId"], "selector": control_selector})
        out = []
        for node_id in nodes["nodeIds"]:
            ax = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node_id, "fetchRelatives": False})
            node = next((n for n in ax["nodes"] if not n.get("ignored")), ax["nodes"][0])
            html = cdp.send("DOM.getOuterHTML", {"nodeId": node_id})["outerHTML"]
            out.append({
                "role": node.get("role", {}).get("value", ""),
                "name": (node.get("name") or {}).get("value", ""),
                "html": html[:160],
            })
        return out
    finally:
        cdp.detach()


# -- what to test --------------------------------------------------------------------
FIXTURE_LESSON = "browser_fixtures/explorers.ipynb"


def lesson_paths() -> list[str]:
    """Lesson notebooks (relative to the server root), or the fixture while there are none."""
    lessons = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    return [f"notebooks/{name}" for name in lessons] or [FIXTURE_LESSON]


def code_sources(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c.get("source", "")) for c in nb.get("cells", []) if c.get("cell_type") == "code"]


def notebook_showing(class_name: str) -> str:
    """The first lesson whose code builds ``class_name``, else the fixture notebook."""
    for rel in lesson_paths():
        src = REPO / rel if not rel.startswith("browser_fixtures/") else FIXTURES / "explorers.ipynb"
        if any(f"{class_name}(" in s for s in code_sources(src)):
            return rel
    return FIXTURE_LESSON


# -- "Use this as my answer" ------------------------------------------------------------
ANSWER_BOX = f"{NOTEBOOK} .course-answer"
ANSWER_BUTTON = "Use this as my answer"
#: What the explorer's status line says once the line is in the answer cell.
ANSWER_WRITTEN = "Your answer cell now holds this line"


def answer_box(page, n: int = 0):
    """The answer area ("Your answer" line, button, status) of the ``n``-th explorer that has one."""
    return page.locator(ANSWER_BOX).nth(n)


def shown_answer_line(page, n: int = 0) -> str:
    """The answer line the ``n``-th explorer shows in its read-only field."""
    return answer_box(page, n).locator(".course-answer-line textarea").input_value()


def wait_for_answer_line(page, n: int, predicate, what: str) -> str:
    """Wait until the ``n``-th explorer's answer line satisfies ``predicate``; return the line."""
    ok, line = eventually(lambda: (lambda text: (predicate(text), text))(shown_answer_line(page, n)))
    assert ok, f"the answer line of explorer {n} did not {what}; it shows {line!r}"
    return line


def click_answer_button(page, n: int = 0, *, keyboard: bool = False) -> str:
    """Click the "Use this as my answer" button of the ``n``-th explorer that has one: with the
    mouse, or with ``keyboard=True`` by focusing it and pressing Enter.

    Waits until the script the click sends has run, and returns the explorer's status
    message (it holds ``ANSWER_WRITTEN`` on success; otherwise it says what the learner should do).
    """
    box = answer_box(page, n)
    box.scroll_into_view_if_needed()
    button = box.get_by_role("button", name=ANSWER_BUTTON, exact=True)
    message = box.locator(".course-answer-message")
    if keyboard:
        button.focus()
        page.keyboard.press("Enter")
    else:
        button.click()
    count("interactions")

    def settled():
        text = " ".join(message.inner_text().split())
        return bool(text) and not text.startswith("Writing this line"), text

    ok, text = eventually(settled)
    assert ok, f"explorer {n}: no word after clicking {ANSWER_BUTTON!r}; its status says {text!r}"
    return text


def cell_source(page, index: int) -> str:
    """The text of cell ``index`` as JupyterLab's notebook model holds it (what Save writes)."""
    return page.evaluate(
        "i => window.jupyterapp.shell.currentWidget.content.widgets[i].model.sharedModel.getSource()", index)


def saved_cell_source(path: Path, index: int) -> str:
    """The text of cell ``index`` in the saved notebook file."""
    cell = json.loads(path.read_text(encoding="utf-8"))["cells"][index]
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def fresh_copy(lab, relpath: str, tag: str) -> str:
    """Copy a notebook under the server root to a new name and return its path there.

    A test that saves a notebook works on its own copy, so no other test opens
    a file with its saved outputs (widget views whose models are gone).
    """
    src = lab.root / relpath
    dest = src.with_name(f"{src.stem}-{tag}{src.suffix}")
    shutil.copyfile(src, dest)
    return str(dest.relative_to(lab.root))


@contextmanager
def windowing_mode(lab, mode: str):
    """Open notebooks with JupyterLab's ``windowingMode`` set to ``mode`` ("none" is this suite's default).

    JupyterLab's own default, "contentVisibility", and "full" render cells lazily;
    takes effect for pages loaded inside the ``with`` block.
    """
    path = lab.home / "user-settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    before = path.read_text()
    path.write_text(json.dumps(dict(json.loads(before), windowingMode=mode)))
    try:
        yield
    finally:
        path.write_text(before)
