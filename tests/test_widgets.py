"""Explorers without a browser: move a control, check the figure shows the model's output."""

import html
import json

import numpy as np
import pytest

from course import plots
from course.answers import format_answer, read_cell
from course.agency import PRESETS, agency_profile, summarize
from course.services import classify
from course.value_stream import load_example_maps
from course.formatting import format_minutes, format_number, format_percent
from course.widgets import AgencyExplorer, ServiceExplorer, ValueStreamExplorer


def _img(ex):
    return ex.image.value


def test_agency_slider_moves_the_plotted_stripe():
    """After moving the baseline slider, is the plotted boundary exactly the model's patient share?"""
    ex = AgencyExplorer(preset="Adult type 2 diabetes")
    before = _img(ex)
    ex.baseline.value = 0.42
    expected = agency_profile(ex.params)
    line = ex.artists.boundaries[0]
    np.testing.assert_allclose(line.get_xdata(), expected.times_days)
    np.testing.assert_allclose(np.asarray(line.get_ydata()) - ex.artists.bases[0], expected.patient)
    assert expected.patient[0] == pytest.approx(0.42)
    assert _img(ex) != before
    s = summarize(expected)
    assert format_percent(s.mean_professional) in ex.readout.value
    assert ex.description == plots.describe_agency([expected])
    assert ex.last_error is None


def test_agency_episode_sliders_change_the_selected_episode():
    ex = AgencyExplorer(preset="Self-managing patient with occasional acute events")
    ex.episode.value = 1
    ex.depth.value = 0.3
    eps = ex.params.episodes
    assert eps[1].depth == pytest.approx(0.3)
    assert eps[0].depth == PRESETS["Self-managing patient with occasional acute events"].episodes[0].depth
    peak = summarize(ex.profile).peak_professional
    assert format_percent(peak) in ex.readout.value
    ex.episode.value = 0  # switching keeps the edit of episode 1
    assert ex.params.episodes[1].depth == pytest.approx(0.3)


def test_agency_preset_menu_loads_every_preset():
    ex = AgencyExplorer()
    for name, params in PRESETS.items():
        ex.preset.value = name
        assert ex.params.episodes == params.episodes
        assert ex.baseline.value == pytest.approx(params.baseline)
        line = ex.artists.boundaries[0]
        np.testing.assert_allclose(np.asarray(line.get_ydata()) - ex.artists.bases[0],
                                   agency_profile(ex.params).patient)


def test_add_and_remove_episodes():
    ex = AgencyExplorer(preset="Adult type 2 diabetes")
    n = len(ex.params.episodes)
    ex.add_button.click()
    assert len(ex.params.episodes) == n + 1
    assert ex.episode.value == n
    ex.remove_button.click()
    ex.remove_button.click()
    assert len(ex.params.episodes) == n - 1


def test_comparison_stripe_adds_and_removes_a_stripe():
    ex = AgencyExplorer(preset="Cataract surgery")
    ex.compare.value = "Adult type 2 diabetes"
    assert len(ex.artists.boundaries) == 2
    np.testing.assert_allclose(np.asarray(ex.artists.boundaries[1].get_ydata()) - ex.artists.bases[1],
                               agency_profile(PRESETS["Adult type 2 diabetes"]).patient)
    ex.compare.value = "(none)"
    assert len(ex.artists.boundaries) == 1


def test_callback_errors_are_shown_not_swallowed(monkeypatch):
    """If the model raises inside a callback, does the learner see the message?"""
    ex = AgencyExplorer()

    def broken(*a, **k):
        raise ValueError("'baseline' of AgencyParams must be a float in [0.0, 1.0]. Got 7 instead.")

    monkeypatch.setattr("course.explorers.agency.agency_profile", broken)
    ex.baseline.value = 0.3
    assert isinstance(ex.last_error, ValueError)
    assert 'role="alert"' in ex.error.value and "Got 7 instead" in ex.error.value
    monkeypatch.undo()
    ex.baseline.value = 0.4
    assert ex.last_error is None and ex.error.value == ""


def test_service_explorer_reclassifies_on_every_control():
    ex = ServiceExplorer(start_from="Cataract surgery")
    ex.professional_share.value = 0.1
    ex.concrete_procedure.value = False
    c = classify(ex.service)
    assert ex.classification == c
    assert c.label in ex.label.value and f"{c.score:.2f}" in ex.label.value
    x, y = ex.artists.current.get_offsets()[0]
    assert y == pytest.approx(c.score)
    ex.start_from.value = "Adult type 2 diabetes care"
    assert ex.classification.label == "pure service"
    assert ex.name.value == "Adult type 2 diabetes care"


def test_value_stream_explorer_updates_measures_and_coverage():
    ex = ValueStreamExplorer("A year of adult type 2 diabetes care")
    ex.step.value = 3
    ex.process_minutes.value = 120
    vsm = ex.map
    assert vsm.steps[3].process_minutes == 120
    assert format_percent(vsm.process_cycle_efficiency, 2) in ex.readout.value
    shipped = load_example_maps()["A year of adult type 2 diabetes care"]
    cov = vsm.coverage(agency_profile(vsm.fit_stripe(PRESETS["Adult type 2 diabetes"], shipped)))
    assert f"<td>{format_number(cov.patient_days_in_waits, 1)}</td>" in ex.readout.value
    assert ex.coverage == cov
    ex.pathway.value = "Hip replacement pathway"
    assert ex.map.name == "Hip replacement pathway"
    assert "Hip replacement pathway" in ex.description


def test_value_stream_explorer_moves_the_stripe_with_the_map():
    """Cut the pre-operative wait to 0: does the stripe's operation move with the map's, leaving the work after the map as it was?"""
    ex = ValueStreamExplorer("Hip replacement pathway")
    xlim_then = ex.ax.get_xlim()
    after_then = ex.coverage.patient_days_after_map
    gap_then = ex.stripe.params.episodes[0].start_days - ex.map.step_starts_days()[4]
    ex.step.value = 3
    ex.wait_days.value = 0
    op_now = ex.map.step_starts_days()[4]
    assert op_now == pytest.approx(120.1 - 42, abs=0.1)
    assert ex.stripe.params.episodes[0].start_days - op_now == pytest.approx(gap_then)
    assert ex.coverage.patient_days_after_map == pytest.approx(after_then, rel=1e-3)
    assert f"<td>{format_number(after_then, 1)}</td>" in ex.readout.value
    # the bars drawn for the operation and the stripe's dip are both about 42 days earlier
    dip = ex.stripe.times_days[ex.stripe.professional.argmax()]
    assert dip == pytest.approx(op_now, abs=3.5)
    # the stripe now ends 42 days sooner, but the time axis keeps the shipped pathway's year,
    # so the figure's layout (and the fast redraw) is unchanged
    assert ex.stripe.params.horizon_days == pytest.approx(365 - 42)
    assert ex.ax.get_xlim() == xlim_then == (0.0, 365.0)


def test_a_longer_process_time_keeps_the_time_axis_and_the_fast_redraw():
    """One minute more on a step makes the stripe one minute longer (365.0007 days): the axis keeps its
    365 days, so the figure is blitted, not laid out again; a wait 60 days longer grows the axis to fit."""
    ex = ValueStreamExplorer("Hip replacement pathway")
    full = []
    draw = ex.blitter.draw
    ex.blitter.draw = lambda artists: full.append(draw(artists)) or full[-1]
    for minutes in (16, 17, 18):
        ex.process_minutes.value = minutes
    assert ex.stripe.params.horizon_days == pytest.approx(365 + 3 / 1440)
    assert ex.ax.get_xlim() == (0.0, 365.0)
    assert full == [False, False, False]
    ex.step.value = 3
    ex.wait_days.value = max(v for _, v in ex.wait_days.options)  # the longest wait on offer
    need = max(ex.stripe.params.horizon_days, ex.map.lead_time_days)
    assert need > 365 and need <= ex.ax.get_xlim()[1] <= need * 1.05 + 1e-9
    assert full[-1] is True


def test_value_stream_explorer_shows_how_long_a_step_holds_a_bed():
    """Does choosing the ward show its 12 beds and occupancy, and flag it against a 24-hour takt?"""
    ex = ValueStreamExplorer("Hip replacement pathway")
    ex.step.value = 5
    ward = ex.map.steps[5]
    assert f"{format_minutes(ward.occupied_minutes)}, 12 at a time" in ex.readout.value
    ex.available.value = 1440
    assert ex.map.bottleneck.name == ward.name
    assert "slower than takt" in ex.readout.value
    ex.process_minutes.value = 300  # more hands-on care does not lengthen the stay
    assert ex.map.steps[5].occupied_minutes == ward.occupied_minutes


def test_figures_carry_alt_text():
    """Does each figure carry its description as alt text: for the live image and in the saved figure?"""
    import html as html_

    for ex in (AgencyExplorer(), ServiceExplorer(), ValueStreamExplorer()):
        assert len(ex.description) > 20
        escaped = html_.escape(ex.description, quote=True)
        # the live figure's label is the description beside it
        assert f'data-alt="{escaped}"' in ex.figure_description.value and ex.image.alt == ex.description
        assert "Figure description:" in ex.figure_description.value
        assert "course-figure" in ex.figure_box._dom_classes and ex.image in ex.figure_box.children
        saved = ex.figure_html()
        assert f'alt="{escaped}"' in saved and "Figure description:" in saved


def test_figure_reaches_the_page_as_the_pixels_that_changed():
    """The live figure: raw pixels of the rectangle that changed, and the whole figure as PNG for saved views."""
    from course.explorers.figure_view import FigureView

    ex = ValueStreamExplorer()
    assert isinstance(ex.image, FigureView) and ex.image.alt == ex.description
    drawn = np.asarray(ex.figure.canvas.buffer_rgba())
    assert ex.image.size == (drawn.shape[1], drawn.shape[0])
    data = bytes(ex.image.value)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and ex.image.png == data  # synced at once outside a kernel
    sent = []
    ex.image.send = lambda content, buffers=None: sent.append((content, buffers))
    ex.process_minutes.value = ex.process_minutes.value + 30
    assert bytes(ex.image.value) != data
    (content, buffers), = sent
    assert not content["whole"] and 0 < buffers[0].nbytes == sum(w * h * 4 for _x, _y, w, h in content["rects"])
    assert buffers[0].nbytes < drawn.nbytes


@pytest.mark.parametrize("make, message", [
    (lambda: AgencyExplorer(preset="Flu"), "'preset' of AgencyExplorer must be one of"),
    (lambda: ServiceExplorer(start_from="Flu"), "'start_from' of ServiceExplorer must be one of"),
    (lambda: ValueStreamExplorer("Flu"), "'pathway' of ValueStreamExplorer must be one of"),
])
def test_unknown_names_are_rejected_with_the_choices(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make, move", [
    (AgencyExplorer, lambda ex: setattr(ex.baseline, "value", 0.33)),
    (ServiceExplorer, lambda ex: setattr(ex.professional_share, "value", 0.2)),
    (ValueStreamExplorer, lambda ex: setattr(ex.process_minutes, "value", 300)),
    # a new stripe name on the same 365-day axis: the name is not redrawn per slider step, so it must
    # make the next draw a full one
    (AgencyExplorer, lambda ex: setattr(ex.preset, "value", "Adult type 2 diabetes")),
    (AgencyExplorer, lambda ex: setattr(ex.compare, "value", "Hip or knee replacement")),
])
def test_blitted_update_matches_a_full_redraw(make, move):
    """Are the pixels after a fast (blitted) update the same as a full redraw of the same state?"""
    ex = make()
    move(ex)
    fast = np.asarray(ex.figure.canvas.buffer_rgba()).copy()
    ex.blitter.invalidate()  # force a full draw
    ex._draw()
    full = np.asarray(ex.figure.canvas.buffer_rgba())
    assert fast.shape == full.shape
    assert np.array_equal(fast, full)


def test_values_snapped_by_the_browser_do_not_change_a_preset():
    """When the front end echoes a preset's value snapped to the slider step, is the preset kept?"""
    ex = AgencyExplorer(preset="Self-managing patient with occasional acute events")
    exact = ex.params
    ex.duration.value = 1.995  # 2.0 days snapped to the log slider's 0.01 step, as a browser sends it
    ex.recovery.value = 5.012
    assert ex.params == exact
    assert format_percent(summarize(agency_profile(exact)).mean_professional) in ex.readout.value
    ex.duration.value = 3.0  # a real move is taken as it is
    assert ex.params.episodes[0].duration_days == pytest.approx(3.0)
    sx = ServiceExplorer(start_from="Hip or knee replacement (operation and stay)")
    sx.episode_days.value = 3.388
    assert sx.service.episode_days == 3.4
    sx.episode_days.value = 10.0
    assert sx.service.episode_days == 10.0


def test_display_names_the_slider_handles_for_screen_readers():
    """Does showing an explorer also send the script that gives slider handles an accessible name?"""
    shown = _shown(AgencyExplorer())
    script = shown[1]
    assert "noUi-handle" in script["application/javascript"] and "aria-label" in script["application/javascript"]
    assert script["text/plain"] == ""  # where scripts do not run, nothing ("<...Javascript object>") is shown


def _shown(ex):
    """The raw bundles an explorer displays."""
    import IPython.display as disp
    shown = []
    original = disp.display
    disp.display = lambda *objs, **kw: shown.extend(objs)
    try:
        ex._ipython_display_()
    finally:
        disp.display = original
    return shown


@pytest.mark.parametrize("make", [AgencyExplorer, ServiceExplorer, ValueStreamExplorer])
def test_before_its_cell_runs_an_explorer_shows_its_figure_not_a_widget_repr(make):
    """Does the saved output carry the live widget and, for viewers that cannot run it, the figure as it
    starts with its description and what to do (never a "VBox(...)" text)?"""
    ex = make()
    bundle = _shown(ex)[0]
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ex.ui.model_id
    assert "<img" in bundle["text/html"] and 'alt="' in bundle["text/html"]
    assert "Figure description" in bundle["text/html"] and "Run this cell" in bundle["text/html"]
    assert "VBox" not in bundle["text/plain"] and "Run this cell" in bundle["text/plain"]


# -- "Use this as my answer" ----------------------------------------------------------------

ANSWER_CASES = [
    (lambda: AgencyExplorer(preset="Cataract surgery", answer="my_stripe"), "my_stripe",
     lambda ex: setattr(ex.baseline, "value", 0.42), lambda ex: ex.params),
    (lambda: ServiceExplorer(start_from="Cataract surgery", answer="my_service"), "my_service",
     lambda ex: setattr(ex.professional_share, "value", 0.2), lambda ex: ex.service),
    (lambda: ValueStreamExplorer("Hip replacement pathway", answer="my_map"), "my_map",
     lambda ex: setattr(ex.process_minutes, "value", 300), lambda ex: ex.map),
]


@pytest.mark.parametrize("make, name, move, state", ANSWER_CASES)
def test_answer_line_follows_the_controls(make, name, move, state):
    """After moving a control, does the answer line change, and does the grader's reader get back
    exactly the explorer's state from it?"""
    ex = make()
    before = ex.answer_line()
    assert before == format_answer(name, state(ex))
    move(ex)
    after = ex.answer_line()
    assert after != before
    assert after == format_answer(name, state(ex))
    cell = read_cell(f"# my answer\n{after}")
    assert cell.problem == ""
    assert cell.values == {name: state(ex)}
    assert html.escape(after) in ex.answer_field.value  # the field the learner copies from
    assert 'readonly' in ex.answer_field.value and 'aria-label="' in ex.answer_field.value
    assert ex.last_error is None


@pytest.mark.parametrize("bad, error, shown", [
    ("my stripe", ValueError, "'my stripe'"),
    ("1st_answer", ValueError, "'1st_answer'"),
    ("class", ValueError, "'class'"),
    ("", ValueError, "''"),
    ("my_stripe = None", ValueError, "'my_stripe = None'"),
    (3, TypeError, "int 3"),
])
@pytest.mark.parametrize("cls", [AgencyExplorer, ServiceExplorer, ValueStreamExplorer])
def test_bad_answer_names_are_rejected_clearly(cls, bad, error, shown):
    """Does a bad ``answer`` name say which parameter of which explorer, what is allowed, and what it got?"""
    with pytest.raises(error, match=rf"^'answer' of {cls.__name__} must be .*\"my_stripe\".* Got .*{shown} instead\.$"):
        cls(answer=bad)


def test_without_answer_there_is_no_answer_control():
    ex = AgencyExplorer()
    assert ex.answer_box is None
    assert not any("course-answer" in w._dom_classes for w in ex.ui.children)
    with pytest.raises(TypeError, match="needs a name"):
        ex.answer_line()
    assert ex.answer_line("q4").startswith("q4 = AgencyParams(")


def test_answer_button_sends_the_line_to_the_page():
    """Does a click put a script holding the current line (and the answer's name) in the explorer's
    hidden output, and tell the learner what is happening and what to do if nothing happens?"""
    ex = AgencyExplorer(preset="Cataract surgery", answer="my_stripe")
    button = ex.answer_button
    assert button.description == "Use this as my answer" and "my_stripe" in button.tooltip
    assert ex.answer_box in ex.ui.children
    ex.baseline.value = 0.6
    button.click()
    assert ex.last_error is None
    outputs = ex._answer_script_area.outputs
    assert len(outputs) == 1
    script = outputs[0]["data"]["application/javascript"]
    assert json.dumps(ex.answer_line()) in script and '"name": "my_stripe"' in script
    assert "Writing this line into your answer cell" in ex.answer_status.value
    assert "by hand" in ex.answer_status.value and 'role="status"' in ex.answer_status.value
    button.click()  # a second click replaces the script, so the page runs it again
    assert len(ex._answer_script_area.outputs) == 1
    ex.baseline.value = 0.5  # a new state clears the old message
    assert "Writing" not in ex.answer_status.value


def test_display_sends_the_click_listener_only_with_an_answer():
    def shown_scripts(ex):
        return _shown(ex)[1]["application/javascript"]

    assert "course-answer-button" in shown_scripts(AgencyExplorer(answer="my_stripe"))
    assert "course-answer-button" not in shown_scripts(AgencyExplorer())


@pytest.mark.parametrize("days, share, features", [
    ("min", 0.0, False),   # shortest episode, patients hold everything, no product features: score 0.25
    ("min", 1.0, True),    # shortest, professionals hold everything, every product feature: score 1.0
    ("max", 0.0, False),   # longest, score 0.0
    ("max", 1.0, True),    # longest, score 0.75
])
def test_service_star_is_never_cut_off_by_the_plot_edge(days, share, features):
    """At the sliders' ends the star ("This service", 260 points² ≈ 10 pixels across half) stays inside the plot."""
    ex = ServiceExplorer()
    ex.episode_days.value = 10 ** getattr(ex.episode_days, days)  # a log slider's min and max are exponents
    ex.professional_share.value = share
    ex.concrete_procedure.value = ex.physical_item.value = features
    ex.simultaneous.value = not features
    ex.figure.canvas.draw()
    box = ex.ax.get_window_extent()
    (cx, cy), = ex.ax.transData.transform(ex.artists.current.get_offsets())
    radius = (260 ** 0.5) / 2 * ex.figure.dpi / 72
    assert box.x0 <= cx - radius and cx + radius <= box.x1, (cx, radius, box)
    assert box.y0 <= cy - radius and cy + radius <= box.y1, (cy, radius, box)


def test_service_score_reads_the_same_in_the_heading_and_the_reasons():
    """Cataract surgery with everything at the top of the scale scores 0.70: "0.70" in both places, never "0.7"."""
    ex = ServiceExplorer(start_from="Cataract surgery")
    ex.episode_days.value = 10 ** ex.episode_days.max     # 3981 days, ten years or more: no points for shortness
    ex.professional_share.value = 1.0                     # 0.40
    ex.concrete_procedure.value = ex.physical_item.value = True  # 0.20 + 0.10
    ex.simultaneous.value = True                          # 0.00
    assert ex.classification.score == pytest.approx(0.70)
    assert "(score 0.70 of 1)" in ex.label.value
    assert ex.classification.reasons[0].startswith("Product-like (score 0.70)")


@pytest.mark.parametrize("make", [AgencyExplorer, ServiceExplorer, ValueStreamExplorer])
def test_the_figure_png_holds_exactly_the_drawn_pixels(make):
    """The course's own PNG writer: does a standard decoder (Pillow) read back the very pixels Agg drew?"""
    import base64
    import io
    import re

    from PIL import Image

    ex = make()
    drawn = np.asarray(ex.figure.canvas.buffer_rgba())[..., :3]
    data = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', ex.figure_html()).group(1))
    assert data == bytes(ex.image.value)
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.format == "PNG" and img.mode == "RGB" and img.size == (drawn.shape[1], drawn.shape[0])
    assert np.array_equal(np.asarray(img), drawn)


def test_png_writer_rejects_what_it_cannot_write():
    from course.rendering import png_rgb

    with pytest.raises(ValueError, match="height x width x 3 array of uint8"):
        png_rgb(np.zeros((2, 2, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="Got float64"):
        png_rgb(np.zeros((2, 2, 3)))
