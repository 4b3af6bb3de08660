"""Do the explorers' figures read cleanly: no two visible texts overlap, at default and extreme settings?

Each explorer's figure is drawn at the size the lesson shows it; matplotlib
reports the box every visible text takes on the canvas
(``fig.canvas.draw(); text.get_window_extent()``), and no two boxes may
intersect.  No pixels are compared.
"""

from __future__ import annotations

import itertools

import pytest

from course.explorers.burden import BurdenExplorer
from course.explorers.capacity import CapacityExplorer
from course.explorers.run_chart import RunChartExplorer
from course.agency import PRESETS
from course.services import load_catalogue
from course.value_stream import load_example_maps
from course.widgets import AgencyExplorer, ServiceExplorer, ValueStreamExplorer


def visible_texts(fig) -> list:
    """Every text matplotlib draws on ``fig``: titles, labels, tick labels in view, legends, annotations."""
    out = list(fig.texts)
    for leg in fig.legends:
        out += leg.get_texts()
    for ax in fig.axes:
        out += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis._update_ticks():
                out += [t for t in (tick.label1, tick.label2) if t.get_visible() and tick.get_visible()]
        if ax.get_legend() is not None:
            out += ax.get_legend().get_texts()
    return [t for t in out if t.get_visible() and t.get_text().strip()]


def overlaps(fig) -> list:
    """Pairs of visible texts whose boxes intersect, as (text, text) strings."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in visible_texts(fig)]
    bad = []
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        if ba.width and bb.width and ba.overlaps(bb):
            inter_w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
            inter_h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
            if inter_w > 0.5 and inter_h > 0.5:  # touching edges are not an overlap
                bad.append((a, b))
    return bad


def outside(fig) -> list:
    """Visible texts that stick out of the figure (cut off in the image)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    W, H = fig.canvas.get_width_height()
    out = []
    for t in visible_texts(fig):
        b = t.get_window_extent(renderer)
        if b.x0 < -1 or b.y0 < -1 or b.x1 > W + 1 or b.y1 > H + 1:
            out.append(t.get_text())
    return out


def _agency_extremes():
    yield "default", AgencyExplorer()
    for name in PRESETS:
        ex = AgencyExplorer(preset=name)
        ex.compare.value = "Paediatric inflammatory bowel disease" if name != "Paediatric inflammatory bowel disease" \
            else "Self-managing patient with occasional acute events"
        yield f"{name} compared", ex
    ex = AgencyExplorer()
    ex.baseline.value, ex.trend.value, ex.horizon.value = ex.baseline.min, ex.trend.min, ex.horizon.max
    yield "lowest agency, longest stripe", ex
    ex = AgencyExplorer()
    ex.baseline.value, ex.trend.value, ex.horizon.value = ex.baseline.max, ex.trend.max, ex.horizon.min
    yield "highest agency, shortest stripe", ex


def _service_extremes():
    for entry in load_catalogue():
        yield entry.name, ServiceExplorer(start_from=entry.name)
    for days in ("min", "max"):
        for share in (0.0, 1.0):
            ex = ServiceExplorer()
            ex.episode_days.value = getattr(ex.episode_days, days)
            ex.professional_share.value = share
            yield f"{days} length, share {share}", ex


def _value_stream_extremes():
    for name, vsm in load_example_maps().items():
        yield name, ValueStreamExplorer(name)
        ex = ValueStreamExplorer(name)
        for i in range(len(vsm.steps)):
            ex.step.value = i
            ex.wait_days.value = ex.wait_days.options[-1][1]
            ex.process_minutes.value = ex.process_minutes.max
        yield f"{name}, every wait and process time at its longest", ex
        ex = ValueStreamExplorer(name)
        for i in range(len(vsm.steps)):
            ex.step.value = i
            ex.wait_days.value = 0.0
            ex.process_minutes.value = 0
        yield f"{name}, every wait and process time 0", ex


def _sliders_at(make, end):
    ex = make()
    for name in dir(ex):
        w = getattr(ex, name, None)
        if hasattr(w, "min") and hasattr(w, "max") and hasattr(w, "value") and not callable(w):
            w.value = getattr(w, end)
    return ex


def _lesson_6_7_extremes():
    for make in (BurdenExplorer, CapacityExplorer, RunChartExplorer):
        yield f"{make.__name__} default", make()
        yield f"{make.__name__} at the minimum", _sliders_at(make, "min")
        yield f"{make.__name__} at the maximum", _sliders_at(make, "max")


CASES = [*_agency_extremes(), *_service_extremes(), *_value_stream_extremes(), *_lesson_6_7_extremes()]


@pytest.mark.parametrize("label, ex", CASES, ids=[c[0] for c in CASES])
def test_no_two_texts_overlap(label, ex):
    """At this setting, does every visible text of the figure stand clear of every other?"""
    assert ex.last_error is None, ex.last_error
    assert overlaps(ex.figure) == []


@pytest.mark.parametrize("label, ex", CASES, ids=[c[0] for c in CASES])
def test_no_text_is_cut_off(label, ex):
    """At this setting, does every visible text lie inside the image?"""
    assert outside(ex.figure) == []


def test_the_check_finds_an_overlap():
    """Does the check report two labels drawn on top of each other (so a pass means something)?"""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, "product-like")
    ax.text(0.52, 0.5, "Pharmacy dispensing")
    found = overlaps(fig)
    assert [(a, b) for a, b in found if {a, b} == {"product-like", "Pharmacy dispensing"}] == found != []
    ax.texts[1].set_position((0.5, 0.1))
    assert overlaps(fig) == []
