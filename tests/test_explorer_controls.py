"""Controls in the lessons' units and ranges, and the model's guards at the slider limits (no browser)."""

import html
import math

import pytest

from course.agency import PRESETS, AgencyParams, agency_profile, boundary_notes as agency_notes, drift_limits, summarize
from course.explorers.agency import summary_rows
from course.rendering import ACCESSIBILITY_JS, RESTART_NOTE
from course.services import ServiceProfile, boundary_notes as service_notes
from course.explorers.burden import BurdenExplorer
from course.explorers.capacity import CapacityExplorer
from course.explorers.run_chart import RunChartExplorer
from course.formatting import format_number, format_percent, format_period
from course.widgets import AgencyExplorer, ServiceExplorer, ValueStreamExplorer


# -- model guards --------------------------------------------------------------------------
def test_drift_limits_find_the_day_the_baseline_reaches_zero():
    """0.05 at the start, falling 0.3 a year, reaches 0 on day 0.05 / 0.3 * 365.25 = 60.9 (hand-computed)."""
    d = drift_limits(AgencyParams(baseline=0.05, trend_per_year=-0.3, horizon_days=1460))
    assert d.no_patient_from_day == pytest.approx(60.875)
    assert d.no_professional_from_day is None
    assert d.days_without_both == pytest.approx(1460 - 60.875)


def test_drift_limits_find_the_day_the_baseline_reaches_one():
    d = drift_limits(AgencyParams(baseline=0.95, trend_per_year=0.3, horizon_days=365))
    assert d.no_professional_from_day == pytest.approx(0.05 / 0.3 * 365.25)
    assert drift_limits(AgencyParams(baseline=1.0, trend_per_year=-0.1)).no_professional_from_day is None


def test_a_drift_that_stays_inside_gives_no_note():
    assert agency_notes(AgencyParams(baseline=0.5, trend_per_year=0.2, horizon_days=365)) == ()
    assert drift_limits(AgencyParams(baseline=0.05, trend_per_year=-0.3, horizon_days=30)).days_without_both == 0


def test_service_notes_at_the_classifier_limits():
    assert "a day or less counts as fully short" in service_notes(ServiceProfile("x", 0.01, 0.5))[0]
    assert "ten years or more" in service_notes(ServiceProfile("x", 4000, 0.5))[0]
    assert "the patient hold no agency" in service_notes(ServiceProfile("x", 30, 1.0))[0]
    assert service_notes(ServiceProfile("x", 30, 0.5)) == ()


# -- the explorers at their slider limits ------------------------------------------------------
def test_agency_sliders_at_their_lowest_show_a_note():
    """Starting agency and yearly change at their lowest: is the 100% professional stretch said, not silent?"""
    ex = AgencyExplorer()
    assert ex.note.value == ""
    ex.baseline.value, ex.trend.value, ex.horizon.value = ex.baseline.min, ex.trend.min, ex.horizon.max
    assert ex.baseline.min > 0 and ex.baseline.max < 1  # both agencies present at the start
    assert "fallen to 0%" in ex.note.value and "both agencies are always present" in ex.note.value
    ex.trend.value = 0
    assert ex.note.value == ""


def test_agency_depth_of_100_percent_is_noted():
    ex = AgencyExplorer()
    ex.depth.value = 1.0
    assert "takes away all of the patient" in ex.note.value


def test_episode_start_is_limited_to_the_stripe():
    """Can the start slider reach past the stripe's end? Does a shorter stripe keep the episode listed and say so?"""
    ex = AgencyExplorer(preset="Self-managing patient with occasional acute events")
    assert ex.start.max == ex.horizon.value == 365
    ex.horizon.value = 200
    assert ex.start.max == 200
    assert ex.params.episodes[1].start_days == 240  # not moved behind the learner's back
    assert "after the end of the stripe" in ex.episode.options[1][0]
    assert "Episode 2 starts after the stripe ends" in ex.note.value
    ex.horizon.value = 365
    assert "after the end" not in ex.episode.options[1][0] and ex.note.value == ""


def test_readouts_show_durations_in_fitting_units():
    ex = AgencyExplorer(preset="Cataract surgery")
    assert ex.readout_text(ex.duration) == "30 minutes"
    assert ex.readout_text(ex.baseline) == "90%"
    assert ex.readout_text(ex.start) == "day 30"
    assert f'data-value="{ex.read(ex.duration)!r}"' in ex._readout_html[ex.duration.model_id].value
    vs = ValueStreamExplorer()
    vs.step.value = 2
    assert vs.readout_text(vs.wait_days) == "1 hour"
    assert vs.readout_text(vs.process_minutes) == "10 minutes"


def test_service_reasons_give_the_episode_length_as_its_readout_does():
    """At the slider's top (3981 days) the readout and the reasons both say "10.9 years", not "3981.1 days" and
    "11 years"."""
    ex = ServiceExplorer()
    ex.episode_days.value = 10 ** ex.episode_days.max
    shown = ex.readout_text(ex.episode_days)
    assert shown == "10.9 years"
    assert f"the episode is long ({shown})" in ex.classification.reasons[0]
    assert f"Duration: {shown} adds" in html.unescape(ex.reasons.value)
    ex.episode_days.value = 10 ** -1.5                    # 45.5 minutes
    assert f"short ({ex.readout_text(ex.episode_days)})" in ex.classification.reasons[0]


def test_service_reasons_give_the_share_as_its_readout_does():
    """A share of 0.93 reads the same beside the slider and in the reasons."""
    ex = ServiceExplorer()
    ex.professional_share.value = 0.93
    assert f"({ex.readout_text(ex.professional_share)})" in ex.classification.reasons[0]


def test_stripe_and_pathway_lengths_read_as_their_figure_descriptions_do():
    """The stripe's length beside its slider is the length the figure's description gives ("1 year" in both),
    and the value-stream readout's lead time is the description's."""
    ex = AgencyExplorer(preset="Self-managing patient with occasional acute events")
    assert ex.readout_text(ex.horizon) == "1 year"
    assert f"over {ex.readout_text(ex.horizon)}" in ex.description
    vs = ValueStreamExplorer()
    lead = format_period(vs.map.lead_time_days)
    assert f"Lead time</th><td>{lead}</td>" in vs.readout.value
    assert f"over {lead}" in vs.description


def test_capacity_and_burden_readouts_match_their_descriptions():
    """A length of stay, a share and a patient's capacity read the same in the readout, beside the slider and in
    the figure's description."""
    cap = CapacityExplorer(beds=12, arrivals_per_day=4, length_of_stay_days=5.3)
    assert cap.readout_text(cap.length_of_stay) == "5.3 days"
    assert "an average stay of 5.3 days" in cap.description and "× 5.3 days" in cap.readout.value
    cap.target.value = 0.85
    assert "Longest average stay at 85%" in cap.readout.value
    burden = BurdenExplorer("Several conditions, plan does not fit")
    last_week = format_number(burden.summary.final_capacity_hours, 1)
    assert f"{last_week} of " in burden.readout.value and f"{last_week} at the end" in burden.description
    share = format_percent(burden.summary.final_share)
    assert f"and {share} in the last week" in burden.description and f", {share}</td>" in burden.readout.value


def test_a_wait_dragged_to_zero_is_zero():
    vs = ValueStreamExplorer()
    vs.step.value = 1
    first = vs.wait_days.options[0][1]
    vs.wait_days.value = first
    assert first == 0.0 and vs.map.steps[1].wait_minutes == 0.0


def test_patients_per_day_fits_the_lessons():
    vs = ValueStreamExplorer()
    assert (vs.demand.min, vs.demand.max) == (1, 20)
    assert vs.readout_text(vs.demand) == "4 patients"


def test_service_share_at_its_ends_is_noted():
    ex = ServiceExplorer()
    ex.professional_share.value = 1.0
    assert "hold no agency at all" in ex.note.value
    ex.episode_days.value = ex.episode_days.min
    assert "counts as fully short" in ex.note.value


# -- the shared machinery ---------------------------------------------------------------------
def test_suspended_updates_once():
    """Changing three sliders inside ``suspended`` draws one update, at the end."""
    ex = AgencyExplorer()
    calls = []
    original = ex._update
    ex._update = lambda: (calls.append(1), original())[1]
    with ex.suspended():
        ex.baseline.value, ex.trend.value, ex.horizon.value = 0.5, 0.1, 400
        assert calls == []
    assert calls == [1]
    with ex.suspended(update=False):
        ex.baseline.value = 0.6
    assert calls == [1] and not ex.paused


def test_disabled_controls_leave_the_tab_order():
    ex = AgencyExplorer(preset="Cataract surgery")
    ex.remove_button.click()
    assert ex.start.disabled and ex.start.tabbable is False and ex.remove_button.tabbable is False
    ex.add_button.click()
    assert not ex.start.disabled and ex.start.tabbable is None


def test_labels_are_not_cut_off_and_sliders_have_one_tab_stop():
    for ex in (AgencyExplorer(), ServiceExplorer(), ValueStreamExplorer()):
        sliders = [w for w in vars(ex).values() if hasattr(w, "readout") and hasattr(w, "description")]
        assert sliders
        for w in sliders:
            assert w.style.description_width == "initial", w.description
            assert w.readout is False, w.description  # the editable readout was a second Tab stop


def test_the_page_script_covers_names_values_live_regions_focus_and_restarts():
    for needle in ("aria-valuetext", "aria-live", "polite", "outline: 3px solid", "jupyter-widgets-disconnected",
                   "course-restart-note", "tabindex"):
        assert needle in ACCESSIBILITY_JS, needle
    ex = AgencyExplorer()
    assert RESTART_NOTE in ex.static_html() and "Shift+Enter" in RESTART_NOTE
    assert RESTART_NOTE in ex.restart_note.value and "course-restart-note" in ex.restart_note._dom_classes
    assert "course-explorer" in ex.ui._dom_classes


# -- what the page sends back when the kernel changes a slider ------------------------------------
def _snap(value, lo, hi, step):
    """A value as the page's slider (noUiSlider) holds it: snapped to the step, through percentages of the range."""
    pct, step_pct = (value - lo) * 100 / (hi - lo), step * 100 / (hi - lo)
    pct = math.floor(pct / step_pct + 0.5) * step_pct
    return pct * (hi - lo) / 100 + lo


class SliderPage:
    """The page's side of some linear sliders, as the ipywidgets 8 slider view behaves.

    It applies each state message the kernel sends, in order; after each one
    the slider re-snaps the value it then holds and, when that differs, sends
    it back (whether the message changed the range or the value).
    """

    def __init__(self, *sliders):
        self.state = {w: {k: getattr(w, k) for k in ("min", "max", "step", "value")} for w in sliders}
        self.outbox = []
        for w in sliders:
            w._send = lambda msg, buffers=None, w=w: self._receive(w, msg)

    def _receive(self, w, msg):
        if msg.get("method") != "update":
            return
        held = self.state[w]
        held.update({k: v for k, v in msg["state"].items() if k in held})
        shown = _snap(held["value"], held["min"], held["max"], held["step"])
        if shown != held["value"]:
            held["value"] = shown
            self.outbox.append((w, shown))

    def send_back(self):
        """Deliver what the page sent, as the kernel receives it."""
        outbox, self.outbox = self.outbox, []
        for w, value in outbox:
            w.set_state({"value": value})


def test_page_snapping_arithmetic_matches_what_the_browser_sent():
    """The values the browser sent in the failing run: 30 on a 0-365 slider of step 0.5, and 80 unchanged."""
    assert _snap(30.0, 0, 365, 0.5) == 29.999999999999996
    assert _snap(80.0, 0, 365, 0.5) == 80.0


def test_loading_a_preset_does_not_let_the_page_move_its_episode():
    """Cataract surgery (episode on day 30, stripe of 90 days), then the self-managing preset (day 80, 365 days).

    Sent one after the other, the new range (0-365) reached the page before the
    new start (80): the page re-snapped the old start, 30, to 29.999999999999996
    and sent it back after the kernel had loaded the preset, which moved the
    preset's first episode to day 30 ("concentration in episodes" 66% instead
    of the preset's 65%).
    """
    name = "Self-managing patient with occasional acute events"
    ex = AgencyExplorer(preset="Cataract surgery")
    page = SliderPage(ex.start)
    ex.preset.value = name
    page.send_back()
    assert ex.params == PRESETS[name]
    assert ex.start.value == 80.0 and page.state[ex.start]["max"] == 365
    ex.baseline.value, ex.trend.value = 0.84, 0.3
    expected = PRESETS[name].replace(baseline=0.84, trend_per_year=0.3)
    assert ex.params == expected
    # concentration of that stripe, by the model: 0.6503 -> 65%, shown as such
    assert summarize(agency_profile(expected)).concentration == pytest.approx(0.6503, abs=5e-5)
    assert dict(summary_rows(ex.profiles[0]))["concentration in episodes"] == "65%"


def test_a_longer_stripe_keeps_the_selected_episode_where_it_was():
    """Lengthening the stripe changes the start slider's range only: what the page sends back is no move."""
    ex = AgencyExplorer(preset="Self-managing patient with occasional acute events")
    ex.episode.value = 1  # day 240
    page = SliderPage(ex.start)
    ex.horizon.value = 400
    page.send_back()
    assert ex.params.episodes[1].start_days == 240.0


def test_picking_a_pathway_step_does_not_let_the_page_change_it():
    """The process-time slider's range follows the step; the page's re-snap of the old time must not land on the new step."""
    vs = ValueStreamExplorer()
    page = SliderPage(vs.process_minutes)
    shipped = vs.map
    for i in range(len(shipped.steps)):
        vs.step.value = i
        page.send_back()
    assert [s.process_minutes for s in vs.map.steps] == [s.process_minutes for s in shipped.steps]


def test_update_timing_is_off_unless_asked_for(monkeypatch):
    """No timings by default; with COURSE_EXPLORER_TIMINGS set, one record per update with its parts."""
    from course.explorers.base import TIMINGS_ENV, timed_explorers

    monkeypatch.delenv(TIMINGS_ENV, raising=False)
    ex = AgencyExplorer()
    ex.baseline.value = 0.5
    assert ex.timings is None and ex not in timed_explorers()
    monkeypatch.setenv(TIMINGS_ENV, "1")
    ex = AgencyExplorer()
    assert ex in timed_explorers() and len(ex.timings) == 1  # the update that draws the first figure
    ex.baseline.value, ex.trend.value = 0.5, 0.1
    assert len(ex.timings) == 3
    last = ex.timings[-1]
    assert set(last) == {"at", "draw", "send", "total", "bytes"}
    assert 0 < last["draw"] + last["send"] <= last["total"]
    width, height = ex.image.size
    assert 0 < last["bytes"] < width * height * 4  # a new trend changes part of the figure, not all of it


# -- values the page snapped ---------------------------------------------------------------------
def _snapped_stop(w):
    """A stop of linear slider ``w`` and the value the page sends for it: (clean, as sent).

    The page's own arithmetic where it adds noise to a stop (0.9 on the 5-95%
    baseline slider comes back as 0.8999999999999999); on a slider whose stops
    all survive it, the stop one float below, as noisy as the page gets.
    """
    n = round((w.max - w.min) / w.step)
    for k in range(n, -1, -1):
        clean = round(w.min + k * w.step, 9)
        sent = _snap(clean, w.min, w.max, w.step)
        if sent != clean:
            return clean, sent
    clean = round(w.min + (n // 2 + 1) * w.step, 9)
    return clean, math.nextafter(clean, -math.inf)


def test_the_page_sends_0_9_on_the_baseline_slider_as_0_8999999999999999():
    """The value the learner's page sent: the helper above finds real page noise, not only made-up noise."""
    ex = AgencyExplorer()
    assert _snap(0.9, ex.baseline.min, ex.baseline.max, ex.baseline.step) == 0.8999999999999999
    assert _snapped_stop(ex.baseline)[1] == _snap(_snapped_stop(ex.baseline)[0], 0.05, 0.95, 0.01)


EXPLORERS = [AgencyExplorer, ServiceExplorer, ValueStreamExplorer, CapacityExplorer, BurdenExplorer, RunChartExplorer]


@pytest.mark.parametrize("make", EXPLORERS, ids=lambda c: c.__name__)
def test_every_explorer_reads_a_snapped_slider_value_clean(make):
    """Does every linear slider of every explorer give its clean value when the page sends it snapped?"""
    ex = make()
    linear = [w for w in ex._sliders if type(w).__name__ == "FloatSlider"]
    assert linear, f"{make.__name__} has no linear float slider"
    for w in linear:
        clean, sent = _snapped_stop(w)
        w.set_state({"value": sent})           # as the kernel receives it from the page
        assert w.value == sent and sent != clean
        assert ex.read(w) == clean, w.description
        assert f'data-value="{clean!r}"' in ex._readout_html[w.model_id].value


def test_a_snapped_log_slider_value_reads_as_the_same_stop():
    """10 ** 0.30000000000000004 and 10 ** 0.3 are the same stop of a log slider: they read alike."""
    ex = ServiceExplorer()
    ex.episode_days.set_state({"value": 10 ** 0.30000000000000004})
    noisy = ex.read(ex.episode_days)
    ex.episode_days.set_state({"value": 10 ** 0.3})
    assert noisy == ex.read(ex.episode_days) == ex.service.episode_days


@pytest.mark.parametrize("make, slider, field", [
    (lambda: AgencyExplorer(answer="my_stripe"), "baseline", "baseline"),
    (lambda: AgencyExplorer(answer="my_stripe"), "trend", "trend_per_year"),
    (lambda: ServiceExplorer(answer="my_service"), "professional_share", "professional_share"),
    (lambda: CapacityExplorer(answer="my_ward"), "arrivals", "arrivals_per_day"),
    (lambda: CapacityExplorer(answer="my_ward"), "length_of_stay", "length_of_stay_days"),
    (lambda: BurdenExplorer(answer="my_plan"), "feedback", "feedback"),
])
def test_a_snapped_value_reaches_the_model_and_the_answer_clean(make, slider, field):
    """0.9 sent back by the page as 0.8999999999999999: do the model and the answer line get 0.9?"""
    ex = make()
    w = getattr(ex, slider)
    clean, sent = _snapped_stop(w)
    w.set_state({"value": sent})
    state = ex._answer_value()
    assert getattr(state, field) == clean
    line = ex.answer_line()
    assert repr(sent) not in line and f"{field}={clean!r}" in line


@pytest.mark.parametrize("make, move", [
    (lambda: AgencyExplorer(), lambda ex: setattr(ex.baseline, "value", 0.3)),
    (lambda: ServiceExplorer(), lambda ex: setattr(ex.professional_share, "value", 0.2)),
    (lambda: ValueStreamExplorer(), lambda ex: setattr(ex.process_minutes, "value", ex.process_minutes.value + 30)),
])
def test_an_update_sends_the_figure_before_its_tables_and_notes(monkeypatch, make, move):
    """The figure's pixels leave first; the summary, notes and description (held meanwhile) follow them."""
    import ipywidgets as W

    ex = make()
    order = []
    real = W.Widget.send_state

    def send_state(widget, key=None):
        order.append(widget)
        return real(widget, key)

    monkeypatch.setattr(W.Widget, "send_state", send_state)
    ex.image.send = lambda content, buffers=None: order.append("figure")
    move(ex)
    texts = [getattr(ex, name) for name in ex._texts_after_figure]
    sent = [x for x in order if x == "figure" or any(x is t for t in texts)]
    assert sent and sent[0] == "figure" and len(sent) > 1, sent
