"""Do the explorers answer mouse and keyboard in a real browser with the numbers the model gives?

Each explorer is driven where a lesson shows it (the first lesson whose code
builds it; the fixture notebook while no lesson does).  Expected readouts and
figure descriptions are computed here, in the test process, from the course's
models and the values the browser displays; they are never read back from the
widget's Python side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import pytest

from tests.browser import browser_support as bs
from course.agency import PRESETS, agency_profile, summarize
from course.plots import describe_agency, describe_service_map, describe_value_stream
from course.services import ServiceProfile, classify, load_catalogue
from course.value_stream import MINUTES_PER_DAY, load_example_maps, takt_time_minutes
from course.explorers.agency import summary_rows
from course.formatting import format_minutes, format_number, format_percent, format_period
from course.widgets import AgencyExplorer, ServiceExplorer, ValueStreamExplorer

pytestmark = pytest.mark.browser

#: Everything a keyboard user can reach inside an explorer.
CONTROLS = ("select, input, button, textarea, [role=slider], [contenteditable=true]")


# -- reading the page ------------------------------------------------------------------
def _exact(text: str):
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def slider(root, label: str):
    return root.locator(".widget-slider").filter(has=root.page.locator(".widget-label", has_text=_exact(label)))


def dropdown(root, label: str):
    return root.locator(".widget-dropdown").filter(
        has=root.page.locator(".widget-label", has_text=_exact(label))).locator("select")


def checkbox(root, label: str):
    return root.get_by_role("checkbox", name=label, exact=True)


def control(root, label: str):
    """The row of a slider and the course's readout beside it."""
    return root.locator(".course-control").filter(has=root.page.locator(".widget-label", has_text=_exact(label)))


def readout(root, label: str) -> float:
    """The value a slider's readout stands for (the readout shows it as text: "30 minutes", "45%")."""
    return float(control(root, label).locator(".course-readout").get_attribute("data-value"))


def table(root) -> dict:
    rows = root.locator("table tr")
    return {rows.nth(i).locator("th").inner_text().strip(): rows.nth(i).locator("td").inner_text().strip()
            for i in range(rows.count())}


def figure(root) -> dict:
    """The live figure: which frame its canvas shows ("src"), its label ("alt") and its visible description."""
    canvas = root.locator(".course-figure canvas").first
    return {"src": canvas.get_attribute("data-frame"), "alt": canvas.get_attribute("aria-label"),
            "caption": " ".join(root.locator(".course-figure .course-figure-description").first.inner_text().split())}


# -- the model's answers -----------------------------------------------------------------
def expect_agency(root, ex: AgencyExplorer) -> list[dict]:
    """Readout table and figure description for what the controls display.

    The preset's episodes are taken exactly: the browser snaps a value set
    from Python to a slider's step and echoes it back, and the explorer must
    not let that echo change the model's input.  The values the test sets
    (baseline, trend, length) are read from the page.
    """
    preset = dropdown(root, ex.preset.description).input_value()
    compare = dropdown(root, ex.compare.description).input_value()
    params = PRESETS[preset].replace(baseline=readout(root, ex.baseline.description),
                                     trend_per_year=readout(root, ex.trend.description),
                                     horizon_days=float(readout(root, ex.horizon.description)))
    profiles = [agency_profile(params)]
    if compare != "(none)":
        profiles.append(agency_profile(PRESETS[compare]))
    rows = dict(summary_rows(profiles[0]))
    return [{"rows": rows, "description": describe_agency(profiles)}]


def read_agency(root) -> dict:
    return {"rows": table(root), "description": figure(root)["alt"]}


def expect_service(root, ex: ServiceExplorer) -> list[dict]:
    start = dropdown(root, ex.start_from.description).input_value()
    catalogue = load_catalogue()
    entry = next(e for e in catalogue if e.name == start)
    name = root.locator("input[type=text]").first.input_value()
    service = ServiceProfile(
        name=name.strip() or "Unnamed service", episode_days=entry.profile.episode_days,
        professional_share=readout(root, ex.professional_share.description),
        concrete_procedure=checkbox(root, ex.concrete_procedure.description).is_checked(),
        physical_item=checkbox(root, ex.physical_item.description).is_checked(),
        simultaneous=checkbox(root, ex.simultaneous.description).is_checked())
    c = classify(service)
    return [{"label": f"{c.label} (score {c.score:.2f} of 1)", "reasons": [" ".join(r.split()) for r in c.reasons],
            "description": describe_service_map(service, catalogue)}]


def read_service(root) -> dict:
    heading = " ".join(root.locator("h3").first.inner_text().split())
    items = root.locator("ul li")
    return {"label": heading.split(" ", 1)[1] if " " in heading else heading,  # drop the shape glyph
            "reasons": [" ".join(items.nth(i).inner_text().split()) for i in range(items.count())],
            "description": figure(root)["alt"]}


def expect_value_stream(root, ex: ValueStreamExplorer) -> list[dict]:
    """Readouts after editing the selected step of a freshly picked pathway."""
    vsm0 = load_example_maps()[dropdown(root, ex.pathway.description).input_value()]
    step = dropdown(root, ex.step.description).evaluate("e => e.selectedIndex")
    vsm = vsm0.replace_step(step, wait_minutes=readout(root, ex.wait_days.description) * MINUTES_PER_DAY,
                            process_minutes=readout(root, ex.process_minutes.description),
                            value_added=checkbox(root, ex.value_added.description).is_checked())
    profile = agency_profile(vsm.fit_stripe(PRESETS[vsm.agency_preset], vsm0))
    demand, available = readout(root, ex.demand.description), readout(root, ex.available.description)
    cov = vsm.coverage(profile)
    rows = {
        "Lead time": format_period(vsm.lead_time_days),
        "Process time": format_minutes(vsm.process_minutes),
        "Value-added time": format_minutes(vsm.value_added_minutes),
        "Process cycle efficiency": format_percent(vsm.process_cycle_efficiency, 2),
        "Takt time": f"{format_minutes(takt_time_minutes(available, demand))} per patient",
        "In the map's steps": format_number(cov.patient_days_in_steps + cov.patient_days_in_occupancy, 1),
        "In what the map calls waiting": format_number(cov.patient_days_in_waits, 1),
        "After the map ends": format_number(cov.patient_days_after_map, 1),
    }
    return [{"rows": rows, "description": describe_value_stream(vsm, profile)}]


def read_value_stream(root) -> dict:
    rows = table(root)
    wanted = ("Lead time", "Process time", "Value-added time", "Process cycle efficiency", "Takt time",
              "In the map's steps", "In what the map calls waiting", "After the map ends")
    return {"rows": {k: rows.get(k) for k in wanted}, "description": figure(root)["alt"]}


@dataclass
class Kind:
    name: str
    cls: type
    root: str
    expect: Callable
    read: Callable


KINDS = {
    "agency": Kind("agency", AgencyExplorer, ".course-agency-explorer", expect_agency, read_agency),
    "service": Kind("service", ServiceExplorer, ".course-service-explorer", expect_service, read_service),
    "value_stream": Kind("value_stream", ValueStreamExplorer, ".course-value-stream-explorer",
                         expect_value_stream, read_value_stream),
}


# -- one notebook run per explorer, shared by the tests below -------------------------------
@dataclass
class Session:
    kind: Kind
    notebook: str
    page: object
    root: object
    ex: object           # an explorer built here only for its control labels


@pytest.fixture(scope="module", params=list(KINDS))
def session(request, module_page, lab):
    kind = KINDS[request.param]
    lab.shutdown_kernels()
    notebook = bs.notebook_showing(kind.cls.__name__)
    bs.open_notebook(module_page, lab, notebook, f"x{request.param}")
    bs.run_all(module_page)
    module_page.wait_for_selector(f"{kind.root} .course-figure canvas[data-frame]", state="attached")
    root = module_page.locator(kind.root).first
    root.scroll_into_view_if_needed()
    module_page.console_errors.clear()
    bs.STATS["explorers"].add(kind.cls.__name__)
    return Session(kind, notebook, module_page, root, kind.cls())


def check_update(s: Session, before_src: str, what: str, figure_changes: bool = True) -> None:
    """Wait for the figure to change, then require the readouts to equal the model's."""
    if figure_changes:
        ok, _ = bs.eventually(lambda: (figure(s.root)["src"] != before_src, None))
        assert ok, f"{s.kind.name}: the figure did not change after {what}"
    bs.wait_idle(s.page)

    def matches():
        candidates, shown = s.kind.expect(s.root, s.ex), s.kind.read(s.root)
        # each part of the page must equal the model for some value the page can hold
        # (see expect_agency); the parts are compared separately because, with the
        # snapping echo, the table and the figure may come from different updates
        ok = all(any(c[k] == shown[k] for c in candidates) for k in shown)
        return ok, (candidates, shown)

    ok, (candidates, shown) = bs.eventually(matches)
    assert ok, f"{s.kind.name} after {what}:\n  model says {candidates[0]}\n  page shows {shown}"
    assert shown == candidates[0], f"{s.kind.name} after {what}:\n  model says {candidates[0]}\n  page shows {shown}"
    fig = figure(s.root)
    assert fig["caption"] == f"Figure description: {shown['description']}", fig["caption"]
    bs.count("interactions")


def pick_other_option(select) -> str:
    """Choose, with the mouse, an option other than the selected one; return its value."""
    values = select.evaluate("e => Array.from(e.options).map(o => o.value)")
    current = select.input_value()
    target = next(v for v in values if v != current)
    select.select_option(target)
    return target


def drag(page, handle, dx: float) -> None:
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=8)
    page.mouse.up()


def press(page, locator, *keys: str) -> None:
    locator.focus()
    for key in keys:
        page.keyboard.press(key)


def test_explorer_follows_mouse_and_keyboard(session, artifacts):
    """Moving sliders (keyboard and mouse) and picking a preset change the figure and the readouts
    to exactly what the course's model computes for the displayed values."""
    s, page, root, ex = session, session.page, session.root, session.ex
    page.screenshot(path=str(artifacts / f"explorer-{s.kind.name}-before.png"), clip=root.bounding_box())
    bs.count("screenshots")
    step = lambda: figure(root)["src"]  # noqa: E731

    if s.kind.name == "agency":
        src = step(); pick_other_option(dropdown(root, ex.preset.description)); check_update(s, src, "picking a preset")
        src = step(); press(page, slider(root, ex.baseline.description).locator(".noUi-handle"), "ArrowLeft")
        check_update(s, src, "ArrowLeft on the baseline slider")
        src = step(); press(page, slider(root, ex.trend.description).locator(".noUi-handle"), "End")
        check_update(s, src, "End on the trend slider")
        src = step(); drag(page, slider(root, ex.horizon.description).locator(".noUi-handle"), 60)
        check_update(s, src, "dragging the stripe-length slider")
    elif s.kind.name == "service":
        src = step(); pick_other_option(dropdown(root, ex.start_from.description))
        check_update(s, src, "picking a service to start from")
        handle = slider(root, ex.professional_share.description).locator(".noUi-handle")
        key = "ArrowRight" if readout(root, ex.professional_share.description) < 0.9 else "ArrowLeft"
        src = step(); press(page, handle, key, key); check_update(s, src, f"{key} x2 on the share slider")
        src = step(); press(page, checkbox(root, ex.physical_item.description), "Space")
        check_update(s, src, "Space on a checkbox")
        dx = -70 if readout(root, ex.professional_share.description) > 0.5 else 70
        src = step(); drag(page, handle, dx); check_update(s, src, "dragging the share slider")
    else:
        src = step(); pick_other_option(dropdown(root, ex.pathway.description)); check_update(s, src, "picking a pathway")
        # Home then three steps of 0.5 days: an exact value, whatever the pathway's first wait was
        src = step(); press(page, slider(root, ex.wait_days.description).locator(".noUi-handle"),
                            "Home", "ArrowRight", "ArrowRight", "ArrowRight")
        check_update(s, src, "Home, ArrowRight x3 on the wait slider")
        src = step(); drag(page, slider(root, ex.process_minutes.description).locator(".noUi-handle"), 50)
        check_update(s, src, "dragging the process-time slider")
        src = step(); press(page, slider(root, ex.demand.description).locator(".noUi-handle"), "End")
        # demand sets the takt time only, which the figure does not show
        check_update(s, src, "End on the demand slider", figure_changes=False)

    page.screenshot(path=str(artifacts / f"explorer-{s.kind.name}-after.png"), clip=root.bounding_box())
    bs.count("screenshots")
    assert not page.console_errors.messages, "\n".join(page.console_errors.messages)
    assert root.locator("[role=alert]").count() == 0, root.locator("[role=alert]").first.inner_text()


def _tag_controls(root) -> int:
    """Number every enabled control in DOM order (data-course-ctl); return how many."""
    return root.evaluate(
        """(root, sel) => { let n = 0;
        for (const el of root.querySelectorAll(sel)) {
          const off = el.disabled || el.closest('[disabled]') || el.getAttribute('tabindex') === '-1'
                      || !(el.offsetWidth || el.offsetHeight);
          if (off) { el.removeAttribute('data-course-ctl'); continue; }
          el.setAttribute('data-course-ctl', String(n++)); }
        return n; }""", CONTROLS)


def test_explorer_is_operable_by_keyboard_alone(session):
    """Does Tab reach every control, do arrow keys move a slider, and can a dropdown be changed
    with the keyboard alone (Alt+ArrowDown to open it, ArrowDown, Enter)?"""
    s, page, root = session, session.page, session.root
    n = _tag_controls(root)
    assert n >= 4, f"{s.kind.name}: only {n} controls found"
    first = root.locator("[data-course-ctl='0']")
    first.focus()
    reached = set()
    for _ in range(3 * n + 5):
        tag = page.evaluate("() => document.activeElement && document.activeElement.getAttribute('data-course-ctl')")
        inside = root.evaluate("r => r.contains(document.activeElement)")
        if not inside:
            break
        if tag is not None:
            reached.add(int(tag))
        page.keyboard.press("Tab")
        bs.count("interactions")
    missing = sorted(set(range(n)) - reached)
    described = [root.locator(f"[data-course-ctl='{i}']").evaluate("e => e.outerHTML.slice(0, 120)") for i in missing]
    assert not missing, f"{s.kind.name}: Tab never reaches {described}"

    # arrows move the first slider
    handle = root.locator("[role=slider]").first
    readout_el = root.locator(".course-control").first.locator(".course-readout")
    before, src = readout_el.inner_text(), figure(root)["src"]
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    press(page, handle, "ArrowLeft" if at_max else "ArrowRight")
    bs.count("interactions")
    ok, _ = bs.eventually(lambda: (readout_el.inner_text() != before and figure(root)["src"] != src, None))
    assert ok, f"{s.kind.name}: an arrow key did not move the first slider and its figure"
    bs.wait_idle(page)

    # the keyboard path that works inside JupyterLab: open the list, move, confirm
    select = root.locator("select").first
    options = select.evaluate("e => e.options.length")
    at_end = select.evaluate("e => e.selectedIndex") == options - 1
    before, src = select.input_value(), figure(root)["src"]
    press(page, select, "Alt+ArrowDown", "ArrowUp" if at_end else "ArrowDown", "Enter")
    bs.count("interactions", 3)
    ok, _ = bs.eventually(lambda: (select.input_value() != before and figure(root)["src"] != src, None))
    assert ok, f"{s.kind.name}: the first dropdown could not be changed with the keyboard"
    bs.wait_idle(page)
    assert not page.console_errors.messages, "\n".join(page.console_errors.messages)


def _names(session) -> list[dict]:
    return bs.accessible_names(session.page, session.kind.root, CONTROLS)


def test_every_control_has_an_accessible_name(session):
    """Does every control have a name a screen reader announces?"""
    # ipywidgets keeps a switched-off slider readout in the page, hidden (display: none): not a control
    unnamed = [c for c in _names(session) if not c["name"].strip() and 'style="display: none;"' not in c["html"]]
    assert not unnamed, f"{session.kind.name}: controls without an accessible name:\n" + "\n".join(
        f"  {c['role']}: {c['html']}" for c in unnamed)


def test_sliders_are_named_after_their_descriptions(session):
    """Does each slider handle (and its editable readout) announce the slider's visible description?

    ipywidgets 8.1 does not link a slider's description to its handle; the
    explorers name them with a small script shown beside each explorer.
    """
    sliders = session.root.locator(".widget-slider")
    assert sliders.count() > 0
    for i in range(sliders.count()):
        el = sliders.nth(i)
        label = el.locator(".widget-label").inner_text().strip()
        assert el.locator(".noUi-handle").first.get_attribute("aria-label") == label, label
        hidden = el.locator(".widget-readout")
        assert all(not hidden.nth(k).is_visible() for k in range(hidden.count())), \
            f"{label}: a second, editable readout (two Tab stops)"


def test_sliders_say_their_value_as_the_readout_shows_it(session):
    """Does a screen reader hear each slider's value as the readout beside it shows it ("30 minutes", not "-1.68")?"""
    rows = session.root.locator(".course-control")
    assert rows.count() > 0
    for i in range(rows.count()):
        row = rows.nth(i)
        shown = row.locator(".course-readout").inner_text().strip()
        ok, said = bs.eventually(lambda: (lambda v: (v == shown, v))(
            row.locator(".noUi-handle").first.get_attribute("aria-valuetext")))
        assert ok, f"the slider says {said!r} where its readout shows {shown!r}"


def test_figure_has_a_text_description(session):
    """Does the explorer's figure carry non-empty alt text and a visible description saying the same?"""
    fig = figure(session.root)
    assert fig["alt"] and fig["alt"].strip(), "figure without alt text"
    assert fig["caption"] == f"Figure description: {fig['alt']}", fig["caption"]
    assert session.root.locator(".course-figure .course-figure-description").first.is_visible()
