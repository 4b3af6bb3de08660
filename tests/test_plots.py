"""Plots: drawn once, updated in place, described in words."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from course import plots
from course.agency import PRESETS, AgencyParams, agency_profile, summarize
from course.services import load_catalogue, ServiceProfile
from course.value_stream import load_example_maps


def test_update_agency_changes_data_in_place():
    """Does an update reuse the same artists and show the new model output?"""
    ax = Figure().add_subplot()
    a = agency_profile(PRESETS["Cataract surgery"])
    b = agency_profile(PRESETS["Adult type 2 diabetes"])
    art = plots.draw_agency(ax, [a])
    line, fill = art.boundaries[0], art.patient_fills[0]
    n_children = len(ax.get_children())
    plots.update_agency(art, [b])
    assert art.boundaries[0] is line and art.patient_fills[0] is fill
    assert len(ax.get_children()) == n_children
    np.testing.assert_allclose(line.get_xdata(), b.times_days)
    np.testing.assert_allclose(np.asarray(line.get_ydata()) - art.bases[0], b.patient)
    assert art.names == ["Adult type 2 diabetes"]


def test_stripes_stack_first_on_top_with_direct_labels():
    ax = Figure().add_subplot()
    profs = [agency_profile(PRESETS[k]) for k in ("Cataract surgery", "Ear tubes in a child")]
    art = plots.draw_agency(ax, profs)
    assert art.bases[0] > art.bases[1]
    assert [t.get_text() for t in art.name_texts] == ["Cataract surgery", "Ear tubes in a child"]


def test_colour_is_not_the_only_cue():
    """Is professional agency hatched as well as green, and does the legend say so?"""
    ax = Figure().add_subplot()
    art = plots.draw_agency(ax, [agency_profile(AgencyParams(baseline=0.5))])
    assert art.professional_fills[0].get_hatch()
    assert not art.patient_fills[0].get_hatch()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Patient agency (plain blue)", "Professional agency (hatched green)"]


def test_update_rejects_a_different_number_of_stripes():
    ax = Figure().add_subplot()
    p = agency_profile(AgencyParams(baseline=0.5))
    art = plots.draw_agency(ax, [p])
    with pytest.raises(ValueError, match="'profiles' must hold 1 profiles, as many as the figure has stripes. Got 2"):
        plots.update_agency(art, [p, p])


def test_descriptions_are_one_sentence_with_the_numbers():
    p = agency_profile(PRESETS["Cataract surgery"])
    text = plots.describe_agency([p])
    assert plots.describe_agency([p], [summarize(p)]) == text  # summaries the caller has give the same sentence
    with pytest.raises(ValueError, match="'summaries' of describe_agency must have one summary per profile"):
        plots.describe_agency([p], [summarize(p)] * 2)
    assert text.count(".") == 1 and text.endswith(".")
    assert "Cataract surgery" in text and "3 months" in text
    vsm = load_example_maps()["A year of adult type 2 diabetes care"]
    d = plots.describe_value_stream(vsm, agency_profile(PRESETS[vsm.agency_preset]))
    assert "100% of the patient's agency falls in what the map calls waiting" in d
    s = plots.describe_service_map(ServiceProfile("Cataract surgery", 0.02, 0.9, True, True), load_catalogue())
    assert s.startswith("Cataract surgery scores 0.91 of 1 and is labelled product-like")


def test_service_map_moves_the_star():
    ax = Figure().add_subplot()
    cat = load_catalogue()
    art = plots.draw_service_map(ax, cat, cat[0].profile)
    plots.update_service_map(art, cat[-1].profile)
    x, y = art.current.get_offsets()[0]
    assert x == pytest.approx(np.log10(cat[-1].profile.episode_days))
    assert art.annotation.get_text() == cat[-1].name


def test_value_stream_bars_follow_the_map():
    ax = Figure().add_subplot()
    vsm = load_example_maps()["Hip replacement pathway"]
    prof = agency_profile(PRESETS[vsm.agency_preset])
    art = plots.draw_value_stream(ax, vsm, prof)
    shorter = vsm.replace_step(1, wait_minutes=0)
    plots.update_value_stream(art, shorter, prof)
    waits = art.waits.get_paths()
    assert len(waits) == sum(1 for s in shorter.steps if s.wait_minutes > 0)
    last = art.processes.get_paths()[-1].vertices
    assert last[:, 0].max() == pytest.approx(shorter.lead_time_days)


def test_a_held_bed_is_drawn_apart_from_waits():
    """Is the ward stay drawn as a bed held, not as waiting, and does it follow the map?"""
    ax = Figure().add_subplot()
    vsm = load_example_maps()["Hip replacement pathway"]
    prof = agency_profile(PRESETS[vsm.agency_preset])
    art = plots.draw_value_stream(ax, vsm, prof)
    held = [(a, b) for kind, _s, a, b in vsm.intervals_days() if kind == "occupied"]
    assert len(held) == 1 and len(art.occupied.get_paths()) == 1
    assert art.occupied.get_paths()[0].vertices[:, 0].max() == pytest.approx(held[0][1])
    assert len(art.waits.get_paths()) == sum(1 for s in vsm.steps if s.wait_minutes > 0)
    plots.update_value_stream(art, vsm.replace_step(5, occupied_minutes=240), prof)
    assert len(art.occupied.get_paths()) == 0
    assert "while they hold a bed or chair" in plots.describe_value_stream(vsm, prof)
