"""Fixtures for the browser suite: one JupyterLab server and one Chromium per session.

The suite proves in a real browser what only a browser shows: that the lessons
run in JupyterLab without widget or JavaScript errors, that the explorers
respond to mouse and keyboard with the numbers the model gives, that an
exercise can be answered, saved and self-checked, and that the rendered pages
pass axe-core.

Skipping: the tests skip only when no Chromium can be found (and say so
loudly, in a warning and in the terminal summary).  When the environment
variable ``CI`` is set they fail instead, so a CI job cannot go green without
having run them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import pytest

from tests.browser import browser_support as bs

BROWSER_MARK = "browser"

STATS = bs.STATS


def pytest_configure(config):
    config.addinivalue_line("markers", f"{BROWSER_MARK}: needs a real browser (headless Chromium) and a JupyterLab server")


def pytest_runtest_logreport(report):
    if BROWSER_MARK not in report.keywords:
        return
    now = time.monotonic()
    if STATS["first_start"] is None:
        STATS["first_start"] = now - report.duration
    STATS["last_end"] = now
    STATS["durations"][report.nodeid] = STATS["durations"].get(report.nodeid, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not STATS["durations"]:
        return
    tr = terminalreporter
    tr.section("browser suite")
    if STATS["skipped_no_browser"]:
        tr.write_line(f"BROWSER TESTS SKIPPED: {STATS['skipped_no_browser']}", red=True, bold=True)
        return
    wall = (STATS["last_end"] or 0) - (STATS["first_start"] or 0)
    total = sum(STATS["durations"].values())
    tr.write_line(f"wall time of the browser tests: {wall:.1f} s (sum of test durations {total:.1f} s, "
                  f"{len(STATS['durations'])} tests)")
    lessons = sorted(STATS["lessons"])
    tr.write_line(f"lessons run in JupyterLab: {len(lessons)} ({', '.join(lessons) or 'none'})")
    tr.write_line(f"explorers driven: {len(STATS['explorers'])} ({', '.join(sorted(STATS['explorers'])) or 'none'})")
    tr.write_line(f"interactions (key presses, drags, dropdown picks, edits, saves): {STATS['interactions']}")
    tr.write_line(f"axe-core scans: {STATS['axe_pages']}; screenshots: {STATS['screenshots']} "
                  f"(in test-artifacts/browser/)")
    slowest = sorted(STATS["durations"].items(), key=lambda kv: -kv[1])[:5]
    for nodeid, secs in slowest:
        tr.write_line(f"  {secs:6.1f} s  {nodeid}")
    for key, text in sorted(STATS["known_issues"].items()):
        tr.write_line(f"known issue tolerated [{key}]: {text}", yellow=True)


# -- browser discovery --------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of Chromium; skip loudly without one, or fail when ``CI`` is set."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        problem = f"the Python package 'playwright' is not installed ({exc})"
    path = bs.find_chromium()
    if problem is None and path is None:
        problem = ("no Chromium executable found (looked for COURSE_BROWSER_EXECUTABLE, "
                   + ", ".join(bs.CHROMIUM_CANDIDATES) + "); on Debian/Ubuntu: apt-get install -y chromium")
    if problem is None:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"Browser tests cannot run on CI: {problem}.", pytrace=False)
    message = f"Browser tests skipped: {problem}."
    STATS["skipped_no_browser"] = message
    warnings.warn(message, pytest.PytestWarning, stacklevel=1)
    print(f"\n*** {message} ***\n")
    pytest.skip(message)


# -- server and browser -------------------------------------------------------------
@pytest.fixture(scope="session")
def lab(chromium_executable):
    """A JupyterLab server on loopback serving a throw-away copy of notebooks/ and exercises/."""
    tmp = Path(tempfile.mkdtemp(prefix="course-browser-"))
    home = tmp / "home"
    home.mkdir()
    root = bs.make_root(tmp)
    server = bs.start_lab(root, home)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(chromium_executable):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=chromium_executable, args=bs.CHROMIUM_ARGS, headless=True)
    except Exception:
        pw.stop()
        raise
    try:
        yield b
    finally:
        b.close()
        pw.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    bs.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return bs.ARTIFACTS


def _new_page(browser, lab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    context.set_default_timeout(bs.UPDATE_TIMEOUT_MS)
    page = context.new_page()
    errors = bs.ConsoleErrors()
    page.on("console", errors.on_console)
    page.on("pageerror", errors.on_pageerror)
    page.console_errors = errors
    return context, page


@pytest.fixture
def page(browser, lab):
    """A fresh browser page; its JavaScript errors are collected in ``page.console_errors``.

    At the end every kernel is shut down, so the next test starts clean.
    """
    context, page = _new_page(browser, lab)
    try:
        yield page
    finally:
        context.close()
        lab.shutdown_kernels()


@pytest.fixture(scope="module")
def module_page(browser, lab):
    """Like ``page``, shared by the tests of one module (one notebook run for several checks)."""
    context, page = _new_page(browser, lab)
    try:
        yield page
    finally:
        context.close()
        lab.shutdown_kernels()


@pytest.fixture
def workspace() -> str:
    """A fresh JupyterLab workspace name, so no tab from an earlier test is restored."""
    return f"t{uuid.uuid4().hex[:10]}"
