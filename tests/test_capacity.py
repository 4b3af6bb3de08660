"""The workload-capacity model of Lesson 6 and its explorer, against values computed by hand."""

import subprocess
import sys

import numpy as np
import pytest

from course.capacity import (PRESETS, SHARE_CEILING, SHARE_FLOOR, CapacityParams, simulate, summarize)


# ------------------------------------------------------------------ known results
def test_below_capacity_nothing_is_unmet_and_capacity_stays():
    """With a plan that asks 6 hours of someone who can give 10, is nothing left undone, week after week?"""
    run = simulate(CapacityParams(workload_hours=6, capacity_hours=10, professional_hours=2, feedback=0.5, weeks=4))
    assert run.unmet_hours.tolist() == [0, 0, 0, 0]
    assert run.capacity_hours.tolist() == [10, 10, 10, 10]  # spare hours never lift capacity above its start
    assert run.patient_hours.tolist() == [6, 6, 6, 6]
    assert run.plan_done.tolist() == [1, 1, 1, 1]
    assert run.patient_share.tolist() == [0.75] * 4  # 6 / (6 + 2)
    s = summarize(run)
    assert (s.first_overloaded_week, s.overloaded_weeks, s.total_unmet_hours) == (None, 0, 0.0)
    assert s.limits == ()


def test_overload_by_hand():
    """Workload 10, capacity 8, feedback 0.5, professionals 2: do the unmet hours grow 2, 3, 4.5 as computed by hand?

    Week 1: capacity 8, 8 done, 2 undone; next capacity 8 - 0.5 x 2 = 7.
    Week 2: 7 done, 3 undone; next 7 - 0.5 x 3 = 5.5.  Week 3: 5.5 done, 4.5 undone.
    """
    run = simulate(CapacityParams(workload_hours=10, capacity_hours=8, professional_hours=2, feedback=0.5, weeks=3))
    np.testing.assert_allclose(run.capacity_hours, [8, 7, 5.5])
    np.testing.assert_allclose(run.unmet_hours, [2, 3, 4.5])
    np.testing.assert_allclose(run.plan_done, [0.8, 0.7, 0.55])
    np.testing.assert_allclose(run.patient_share, [8 / 10, 7 / 9, 5.5 / 7.5])
    s = summarize(run)
    assert s.first_overloaded_week == 1 and s.overloaded_weeks == 3
    assert s.total_unmet_hours == pytest.approx(9.5)
    assert s.final_capacity_hours == pytest.approx(5.5)


def test_without_feedback_the_gap_stays_the_same():
    """With feedback 0, is the same number of hours left undone every week?"""
    run = simulate(CapacityParams(workload_hours=14, capacity_hours=12, weeks=5))
    np.testing.assert_allclose(run.unmet_hours, [2] * 5)
    assert summarize(run).total_unmet_hours == pytest.approx(10)


def test_a_carer_takes_what_the_patient_cannot_and_the_rest_is_unmet():
    """Workload 14, capacity 8, carer 5: does the carer do 5, leave 1 undone, and capacity fall by feedback x 1?"""
    run = simulate(CapacityParams(workload_hours=14, capacity_hours=8, carer_hours=5, professional_hours=2,
                                  feedback=0.5, weeks=2))
    np.testing.assert_allclose(run.patient_hours, [8, 7.5])
    np.testing.assert_allclose(run.carer_hours, [5, 5])
    np.testing.assert_allclose(run.unmet_hours, [1, 1.5])
    np.testing.assert_allclose(run.patient_share, [13 / 15, 12.5 / 14.5])
    assert summarize(run).total_carer_hours == pytest.approx(10)


def test_the_state_rule_counts_unmet_hours():
    """Does the exercise's rule accept 9.5 unmet hours at a maximum of 9.5 and refuse them at 9?"""
    from course.answers import ANSWER_FORMS
    from course.rules import STATE_RULES

    assert ANSWER_FORMS["CapacityParams"] is CapacityParams
    p = CapacityParams(workload_hours=10, capacity_hours=8, professional_hours=2, feedback=0.5, weeks=3)
    assert STATE_RULES["unmet_hours_at_most"](p, maximum=9.5)
    assert not STATE_RULES["unmet_hours_at_most"](p, maximum=9)


# ------------------------------------------------------------------ the limits
def test_capacity_never_goes_below_zero_and_the_summary_says_when_it_reached_zero():
    """Workload 10, capacity 2, feedback 1: capacity 2, then 2 - 8 -> 0 (not -6); is week 2 reported?"""
    run = simulate(CapacityParams(workload_hours=10, capacity_hours=2, professional_hours=1, feedback=1, weeks=3))
    assert run.capacity_hours.tolist() == [2, 0, 0]
    assert run.unmet_hours.tolist() == [8, 10, 10]
    s = summarize(run)
    assert s.capacity_exhausted_week == 2
    assert any("reached 0 in week 2" in n for n in s.limits)


def test_the_patients_share_is_held_at_its_floor_and_the_summary_counts_the_weeks():
    """With nothing done, is the share 5% (not 0), and are both weeks counted at the floor?"""
    run = simulate(CapacityParams(workload_hours=10, capacity_hours=0, professional_hours=1, weeks=2))
    assert run.raw_share.tolist() == [0, 0]
    assert run.patient_share.tolist() == [SHARE_FLOOR] * 2
    s = summarize(run)
    assert s.floor_weeks == 2 and s.capacity_exhausted_week == 1
    assert any("floor of 5%" in n for n in s.limits)


def test_the_patients_share_is_held_at_its_ceiling():
    """20 hours done against half an hour of professionals' work is 97.6%: is it shown as 95%?"""
    run = simulate(CapacityParams(workload_hours=20, capacity_hours=20, professional_hours=0.5, weeks=1))
    assert run.raw_share[0] == pytest.approx(20 / 20.5)
    assert run.patient_share[0] == SHARE_CEILING
    assert summarize(run).ceiling_weeks == 1


def test_no_workload_counts_as_the_whole_plan_done():
    run = simulate(CapacityParams(workload_hours=0, capacity_hours=5, weeks=2))
    assert run.plan_done.tolist() == [1, 1]
    assert run.patient_share.tolist() == [SHARE_FLOOR] * 2


@pytest.mark.parametrize("seed", range(5))
def test_hours_always_add_up_and_stay_in_range(seed):
    """For random valid settings, do patient + carer + unmet hours equal the workload, with every value in range?"""
    rng = np.random.default_rng(seed)
    p = CapacityParams(workload_hours=rng.uniform(0, 40), capacity_hours=rng.uniform(0, 40),
                       carer_hours=rng.uniform(0, 20), professional_hours=rng.uniform(0.5, 10),
                       feedback=rng.uniform(0, 1), weeks=int(rng.integers(1, 104)))
    run = simulate(p)
    np.testing.assert_allclose(run.patient_hours + run.carer_hours + run.unmet_hours, p.workload_hours)
    assert (run.capacity_hours >= 0).all() and (run.capacity_hours <= p.capacity_hours).all()
    assert ((run.patient_share >= SHARE_FLOOR) & (run.patient_share <= SHARE_CEILING)).all()
    assert ((run.plan_done >= 0) & (run.plan_done <= 1)).all()


def test_presets_tell_the_lessons_story():
    """Does the plan that fits leave nothing undone, and do the overloaded cases spiral down?"""
    assert summarize(PRESETS["One condition, plan fits"]).total_unmet_hours == 0
    several = summarize(PRESETS["Several conditions, plan does not fit"])
    assert several.first_overloaded_week == 1 and several.final_plan_done < several.first_plan_done
    carer = summarize(PRESETS["Older person with a carer"])
    assert carer.total_carer_hours == pytest.approx(5 * 52)


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("kwargs, error, words", [
    ({"capacity_hours": -1}, ValueError, "'capacity_hours' of CapacityParams must be a float in [0.0, 168.0]. Got -1"),
    ({"workload_hours": 200}, ValueError, "'workload_hours' of CapacityParams must be a float in [0.0, 168.0]"),
    ({"carer_hours": "5"}, TypeError, "'carer_hours' of CapacityParams must be a float"),
    ({"professional_hours": 0}, ValueError, "'professional_hours' of CapacityParams must be a float in (0.0, 168.0]"),
    ({"feedback": 1.5}, ValueError, "'feedback' of CapacityParams must be a float in [0.0, 1.0]. Got 1.5"),
    ({"weeks": 0}, ValueError, "'weeks' of CapacityParams must be a whole number in [1, 520]. Got 0"),
    ({"weeks": 2.5}, ValueError, "'weeks' of CapacityParams must be a whole number in [1, 520]. Got 2.5"),
    ({"weeks": True}, ValueError, "'weeks' of CapacityParams must be a whole number"),
])
def test_bad_inputs_name_the_value_and_what_is_allowed(kwargs, error, words):
    base = dict(workload_hours=10, capacity_hours=8)
    with pytest.raises(error) as exc:
        CapacityParams(**dict(base, **kwargs))
    assert words in str(exc.value)


def test_simulate_and_summarize_reject_other_types():
    with pytest.raises(TypeError, match="'params' must be a CapacityParams. Got dict instead."):
        simulate({"workload_hours": 1})
    with pytest.raises(TypeError, match="'run' must be a CapacityRun or CapacityParams"):
        summarize(3)


def test_weeks_given_as_a_whole_float_is_accepted():
    assert CapacityParams(workload_hours=1, capacity_hours=1, weeks=12.0).weeks == 12


def test_the_model_imports_no_plotting_or_widgets():
    code = ("import sys, course.capacity\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'ipywidgets', 'IPython', 'PIL'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


# ------------------------------------------------------------------ the explorer
def test_moving_the_workload_slider_changes_the_figure_and_readout():
    """After moving the workload slider, do the plotted unmet band and the readout show the model's numbers?"""
    from course.explorers.burden import BurdenExplorer, describe_burden

    ex = BurdenExplorer("One condition, plan fits")
    before_img, before_readout = ex.image.value, ex.readout.value
    assert "never" in before_readout
    ex.workload.value = 12  # capacity 10, feedback 0.2: 2 hours undone in week 1
    assert ex.last_error is None
    run = simulate(ex.params)
    assert run.unmet_hours[0] == pytest.approx(2)
    assert ex.readout.value != before_readout and "week 1" in ex.readout.value
    assert f"{summarize(run).total_unmet_hours:.0f} hours" in ex.readout.value
    assert ex.image.value != before_img
    assert ex.description == describe_burden(run)
    # the workload line and the stripe's boundary are the model's numbers, week by week
    y = np.asarray(ex.artists.workload.get_ydata())
    np.testing.assert_allclose(y, 12)
    share = np.asarray(ex.artists.boundary.get_ydata())[::2]
    np.testing.assert_allclose(share, run.patient_share)


def test_preset_menu_loads_the_preset_and_its_description():
    from course.explorers.burden import BurdenExplorer

    ex = BurdenExplorer()
    ex.preset.value = "Older person with a carer"
    assert ex.params == PRESETS["Older person with a carer"]
    assert "carer" in ex.caption.value


def test_boundary_notes_appear_at_the_model_limits():
    """At capacity 0 and feedback 0, does the explorer say what the model does there?"""
    from course.explorers.burden import BurdenExplorer

    ex = BurdenExplorer("One condition, plan fits")
    assert ex.note.value == ""
    ex.capacity.value = 0
    assert "no capacity of their own" in ex.note.value
    assert "floor of 5%" in ex.note.value
    ex.feedback.value = 0
    assert "does not wear capacity down" in ex.note.value


def test_answer_line_reads_back_as_the_same_state():
    """Does "Use this as my answer" give a line the answer reader turns back into the explorer's state?"""
    from course.answers import read_cell
    from course.explorers.burden import BurdenExplorer

    ex = BurdenExplorer("Several conditions, plan does not fit", answer="my_plan")
    ex.workload.value = 11.5
    line = ex.answer_line()
    assert line.startswith("my_plan = CapacityParams(workload_hours=11.5, capacity_hours=12.0")
    assert read_cell(line).values["my_plan"] == ex.params
    assert line in ex.answer_field.value.replace("&#x27;", "'")


def test_blitted_update_matches_a_full_redraw():
    """Is the image after an in-place update the same as a fresh explorer drawing the same state?"""
    from course.explorers.burden import BurdenExplorer

    ex = BurdenExplorer("Several conditions, plan does not fit")
    ex.carer.value = 3
    fresh = BurdenExplorer("Several conditions, plan does not fit")
    fresh.carer.value = 3
    assert ex.image.value == fresh.image.value


def test_unknown_preset_is_rejected_with_the_choices():
    from course.explorers.burden import BurdenExplorer

    with pytest.raises(ValueError, match="'preset' of BurdenExplorer must be one of 'One condition, plan fits'"):
        BurdenExplorer("Nothing")
