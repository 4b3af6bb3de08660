"""After a kernel restart, does the explorer say what to do and come back when its cell runs again?
Is the keyboard focus visible?  And screenshots of each explorer at its default and extreme settings.

Screenshots go to ``test-artifacts/browser/explorers/`` (git-ignored), so a person
can look at them after any run.
"""

from __future__ import annotations

import pytest

from tests.browser import browser_support as bs
from tests.browser.test_lessons import LAB_AXE_CONTEXT, _axe, serious_violations

pytestmark = pytest.mark.browser

ROOTS = {"AgencyExplorer": ".course-agency-explorer", "ServiceExplorer": ".course-service-explorer",
         "ValueStreamExplorer": ".course-value-stream-explorer"}


def _open_and_run(page, lab, workspace, cls="AgencyExplorer"):
    notebook = bs.notebook_showing(cls)
    bs.open_notebook(page, lab, notebook, workspace)
    bs.run_all(page)
    root = page.locator(f"{bs.NOTEBOOK} {ROOTS[cls]}").first
    root.wait_for(state="attached")
    root.scroll_into_view_if_needed()
    return root


def _frame(root):
    return root.locator(".course-figure canvas").first.get_attribute("data-frame")


def _relative_luminance(rgb) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a, b) -> float:
    la, lb = sorted((_relative_luminance(a), _relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _rgb(css: str) -> tuple:
    inside = css[css.index("(") + 1:css.index(")")]
    return tuple(float(x) for x in inside.replace("/", ",").split(",")[:3])


def test_after_a_restart_the_explorer_says_what_to_do_and_comes_back(page, lab, workspace, artifacts):
    """Restart the kernel: is the 'run this cell again' note shown? Re-run: does a key press move the figure again?"""
    root = _open_and_run(page, lab, workspace)
    note = root.locator(".course-restart-note")
    assert not note.is_visible(), "the restart note shows while the explorer works"
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    bs.wait_idle(page)
    ok, _ = bs.eventually(lambda: (note.is_visible(), None))
    page.screenshot(path=str(artifacts / "explorer-after-restart.png"))
    bs.count("screenshots")
    assert ok, "after a restart the explorer does not say to run its cell again"
    assert "run this cell again (Shift+Enter)" in note.inner_text()

    bs.run_all(page)
    root = page.locator(f"{bs.NOTEBOOK} {ROOTS['AgencyExplorer']}").first
    root.wait_for(state="attached")
    root.scroll_into_view_if_needed()
    assert not root.locator(".course-restart-note").is_visible()
    before = _frame(root)
    handle = root.locator(".course-control .noUi-handle").first
    handle.focus()
    page.keyboard.press("ArrowLeft")
    bs.count("interactions")
    ok, _ = bs.eventually(lambda: (_frame(root) != before, None))
    assert ok, "after re-running the cell the explorer does not answer a key press"


def test_the_focus_ring_is_visible_and_contrasts(page, lab, workspace):
    """Tab onto a slider: is its outline at least 2 px, solid, and 3:1 against the background? Is axe clean?"""
    root = _open_and_run(page, lab, workspace)
    root.locator("select").first.focus()
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.classList.contains('noUi-handle')"):
            break
    style = page.evaluate(
        """() => { const el = document.activeElement; const cs = getComputedStyle(el);
        let bg = 'rgb(255, 255, 255)';
        for (let p = el.parentElement; p; p = p.parentElement) {
          const c = getComputedStyle(p).backgroundColor;
          if (c && c !== 'transparent' && !c.startsWith('rgba(0, 0, 0, 0)')) { bg = c; break; } }
        return {cls: el.className, width: parseFloat(cs.outlineWidth), style: cs.outlineStyle,
                colour: cs.outlineColor, background: bg}; }""")
    assert "noUi-handle" in style["cls"], f"Tab did not reach a slider: {style['cls']}"
    assert style["style"] == "solid" and style["width"] >= 2, style
    ratio = _contrast(_rgb(style["colour"]), _rgb(style["background"]))
    assert ratio >= 3, f"focus ring contrast {ratio:.2f}:1 ({style})"
    results = _axe().run(page, context=LAB_AXE_CONTEXT)
    bs.count("axe_pages")
    problems, _tolerated = serious_violations(results)
    assert not problems, "\n".join(problems)


def _all_sliders_to(page, root, key):
    handles = root.locator(".course-control .noUi-handle")
    for i in range(handles.count()):
        h = handles.nth(i)
        if h.get_attribute("tabindex") == "-1":
            continue
        h.focus()
        page.keyboard.press(key)
        bs.count("interactions")
        bs.wait_idle(page)


@pytest.mark.parametrize("cls", list(ROOTS))
def test_screenshots_at_default_and_extreme_settings(cls, page, lab, workspace, artifacts):
    """Screenshots of the explorer as it starts, with every slider at its lowest, and at its highest."""
    folder = artifacts / "explorers"
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2600})  # the whole explorer in view, no tool bars over it
    root = _open_and_run(page, lab, workspace, cls)
    shots = []
    for setting, key in (("default", None), ("lowest", "Home"), ("highest", "End")):
        if key:
            before = _frame(root)
            _all_sliders_to(page, root, key)
            bs.eventually(lambda: (_frame(root) != before, None))
            bs.wait_idle(page)
        path = folder / f"{cls}-{setting}.png"
        root.screenshot(path=str(path))
        bs.count("screenshots")
        shots.append(path)
        assert root.locator("[role=alert]").count() == 0, root.locator("[role=alert]").first.inner_text()
    assert all(p.stat().st_size > 10_000 for p in shots), [p.stat().st_size for p in shots]
    assert not page.console_errors.messages, "\n".join(page.console_errors.messages)
