"""Services: the classifier, its reasons, the catalogue and derived profiles."""

import dataclasses

import pytest
from hypothesis import given, settings, strategies as st

from course.agency import PRESETS, agency_profile
from course.formatting import format_fixed, format_period
from course.services import (
    LABELS, SERVICE_FEATURES, ServiceProfile, classify, load_catalogue,
)


def blog_example(name, **kw):
    return ServiceProfile(name=name, **kw)


BLOG = {
    "Joint replacement": (dict(episode_days=3.4, professional_share=0.85, concrete_procedure=True,
                               physical_item=True), "product-like"),
    "Cataract surgery": (dict(episode_days=0.02, professional_share=0.9, concrete_procedure=True,
                              physical_item=True), "product-like"),
    "Ear tubes": (dict(episode_days=0.01, professional_share=0.9, concrete_procedure=True,
                       physical_item=True), "product-like"),
    "Emergency surgery": (dict(episode_days=5, professional_share=0.95, concrete_procedure=True),
                          "product-like"),
    "Adult diabetes": (dict(episode_days=3650, professional_share=0.15, physical_item=True), "pure service"),
    "Paediatric IBD": (dict(episode_days=1825, professional_share=0.45, physical_item=True), "pure service"),
}


@pytest.mark.parametrize("name", list(BLOG))
def test_classify_agrees_with_the_blog(name):
    """Does the classifier give the blog's label for each of its examples?"""
    kw, label = BLOG[name]
    assert classify(blog_example(name, **kw)).label == label


def test_public_api_example_from_the_issue():
    p = ServiceProfile(name="Cataract surgery", episode_days=0.02, professional_share=0.9,
                       concrete_procedure=True, physical_item=True, simultaneous=True)
    c = classify(p)
    assert c.label in {"product-like", "mixed", "pure service"}
    assert 0 <= c.score <= 1
    assert isinstance(c.reasons, list) and all(isinstance(r, str) for r in c.reasons)


def test_score_is_the_sum_of_the_documented_weights():
    """Is the score for a fully product-like case 1 and for the opposite 0?"""
    top = ServiceProfile("x", episode_days=0.01, professional_share=1.0, concrete_procedure=True,
                         physical_item=True, simultaneous=False)
    bottom = ServiceProfile("y", episode_days=3652.5, professional_share=0.0)
    assert classify(top).score == pytest.approx(1.0)
    assert classify(bottom).score == pytest.approx(0.0)


def test_reasons_name_the_features_that_drove_the_label():
    """Do the reasons say in words which features pushed the label?"""
    c = classify(ServiceProfile("Cataract surgery", 0.02, 0.9, True, True, True))
    text = " ".join(c.reasons)
    assert c.reasons[0].startswith("Product-like (score 0.91)")
    assert "professionals hold most of the agency (90%)" in c.reasons[0]
    assert "short (29 minutes)" in c.reasons[0]
    assert "concrete procedure" in text and "physical item" in text
    d = classify(ServiceProfile("Diabetes", 3650, 0.15))
    assert "patients hold most of the agency (85%)" in d.reasons[0]
    assert "long (10 years)" in d.reasons[0]


def test_mixed_label_explains_itself():
    c = classify(ServiceProfile("Annual review", 0.04, 0.5))
    assert c.label == "mixed"
    assert any("look at them separately" in r for r in c.reasons)


def test_catalogue_has_sixteen_sourced_services_and_agrees_with_its_expected_labels():
    """Does every catalogue entry carry a source, and does classify agree with the expected label?"""
    cat = load_catalogue()
    assert len(cat) >= 16
    assert len({e.name for e in cat}) == len(cat)
    for e in cat:
        assert e.source.strip(), e.name
        assert e.expected_label in LABELS
        if e.disputed:
            assert len(e.dispute) > 30, f"{e.name}: a disputed label needs a reason"
        assert classify(e.profile).label == e.expected_label, e.name
    assert {e.expected_label for e in cat} == set(LABELS)


def test_catalogue_names_ibd_not_ibs():
    names = " ".join(e.name + e.source for e in load_catalogue())
    assert "inflammatory bowel disease" in names


def test_physical_item_means_something_handed_over_everywhere_in_the_catalogue():
    """Are medicines counted as physical items wherever they are handed over, and a specimen never?"""
    cat = {e.name: e for e in load_catalogue()}
    for name in ("Smoking cessation support", "Pharmacy dispensing", "Vaccination",
                 "Thrombolysis for acute stroke (door to needle)"):
        assert cat[name].profile.physical_item, name
    assert not cat["Laboratory blood test"].profile.physical_item
    # smoking cessation: 0.25 x 0.40 + (1 - log10(84) / log10(3652.5)) x 0.25 + 0.10
    assert classify(cat["Smoking cessation support"].profile).score == pytest.approx(0.315, abs=0.001)
    # blood test: 0.9 x 0.40 + 0.25 + 0.20 + 0.05 (analysed away from the patient)
    assert classify(cat["Laboratory blood test"].profile).score == pytest.approx(0.86)


def test_appendectomy_is_disputed_because_antibiotics_are_an_option():
    """Does the catalogue present appendectomy as a shared decision, citing APPAC and CODA?"""
    e = {e.name: e for e in load_catalogue()}["Appendectomy"]
    assert e.disputed and e.expected_label == "product-like"
    assert "APPAC" in e.dispute and "CODA" in e.dispute
    assert "Salminen" in e.source and "N Engl J Med 2020;383:1907-1919" in e.source


def test_whole_conditions_are_never_undisputed_labels():
    """Labels fit episodes: is every entry spanning a year or more marked disputed, with that reason?"""
    long_ones = [e for e in load_catalogue() if e.profile.episode_days >= 365]
    assert {e.name for e in long_ones} == {"Asthma self-management", "Adult type 2 diabetes care",
                                           "Paediatric inflammatory bowel disease care"}
    for e in long_ones:
        assert e.disputed and e.dispute.startswith("A whole condition, not one episode"), e.name


def test_ibd_preset_agrees_with_its_catalogue_entry():
    """Does the IBD stripe give the professionals about the share the catalogue gives them (45%), not the patient's?"""
    from course.agency import summarize

    entry = {e.name: e for e in load_catalogue()}["Paediatric inflammatory bowel disease care"]
    stripe = PRESETS["Paediatric inflammatory bowel disease"]
    assert 1 - stripe.baseline == pytest.approx(entry.profile.professional_share)
    assert summarize(agency_profile(stripe)).mean_professional == pytest.approx(0.45, abs=0.02)


def test_three_features_of_services():
    assert [f[0] for f in SERVICE_FEATURES] == [
        "intangible process", "produced and consumed at once", "user as obligate coproducer"]


def test_labels_fit_episodes_not_diseases():
    """Is the operation product-like while the year around it is a pure service?"""
    hip = agency_profile(PRESETS["Hip or knee replacement"])
    year = ServiceProfile.from_agency(hip)
    op = ServiceProfile.from_agency(hip, start_days=120, end_days=123.4, concrete_procedure=True,
                                    physical_item=True)
    assert classify(year).label == "pure service"
    assert classify(op).label == "product-like"
    assert op.episode_days == pytest.approx(3.4)
    assert op.professional_share > 0.8


def test_from_agency_rejects_an_empty_window():
    hip = agency_profile(PRESETS["Hip or knee replacement"])
    with pytest.raises(ValueError, match="'end_days' of from_agency must be greater than start_days=10.0. Got 5.0"):
        ServiceProfile.from_agency(hip, start_days=10, end_days=5)


@pytest.mark.parametrize("kw, message", [
    (dict(episode_days=0), "'episode_days' of ServiceProfile must be a float in (0.0, inf). Got 0 instead."),
    (dict(episode_days=float("inf")), "'episode_days' of ServiceProfile must be a float in (0.0, inf). Got inf"),
    (dict(professional_share=1.2), "'professional_share' of ServiceProfile must be a float in [0.0, 1.0]. Got 1.2"),
    (dict(concrete_procedure="yes"), "'concrete_procedure' of ServiceProfile must be True or False. Got 'yes'"),
    (dict(name=""), "'name' of ServiceProfile must be a non-empty str. Got '' instead."),
])
def test_bad_profiles_are_rejected_clearly(kw, message):
    base = dict(name="x", episode_days=1.0, professional_share=0.5)
    base.update(kw)
    with pytest.raises((ValueError, TypeError)) as err:
        ServiceProfile(**base)
    assert message in str(err.value)


def test_classify_rejects_other_types():
    with pytest.raises(TypeError, match="'profile' must be a ServiceProfile. Got dict instead."):
        classify({"name": "x"})


profiles = st.builds(
    ServiceProfile,
    name=st.just("s"),
    episode_days=st.floats(1e-4, 1e5, allow_nan=False),
    professional_share=st.floats(0, 1),
    concrete_procedure=st.booleans(),
    physical_item=st.booleans(),
    simultaneous=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(profiles, st.floats(0, 1))
def test_more_professional_share_never_lowers_the_score(p, more):
    """Does raising the professionals' share ever make a service less product-like? (It must not.)"""
    higher = dataclasses.replace(p, professional_share=p.professional_share + more * (1 - p.professional_share))
    assert classify(higher).score >= classify(p).score - 1e-12


@settings(max_examples=200, deadline=None)
@given(profiles, st.floats(1.0, 100.0))
def test_longer_episode_never_raises_the_score(p, factor):
    longer = dataclasses.replace(p, episode_days=p.episode_days * factor)
    assert classify(longer).score <= classify(p).score + 1e-12


@settings(max_examples=200, deadline=None)
@given(profiles)
def test_score_in_unit_interval_and_label_matches_score(p):
    c = classify(p)
    assert 0.0 <= c.score <= 1.0
    expected = "product-like" if c.score >= 0.65 else "pure service" if c.score <= 0.40 else "mixed"
    assert c.label == expected


@pytest.mark.parametrize("days", [0.007, 0.02, 1.5, 84, 400, 1825, 3650, 10 ** 3.6])
def test_reasons_write_the_episode_length_as_the_readout_does(days):
    """Do the reasons give an episode's length in the same words as the explorer's readout (format_period)?"""
    c = classify(ServiceProfile("x", episode_days=days, professional_share=0.5))
    assert f"({format_period(days)})" in c.reasons[0]
    assert c.reasons[2].startswith(f"Duration: {format_period(days)} adds ")


def test_reasons_round_shares_and_scores_as_the_readouts_do():
    """A share of 0.925 is "93%" beside the slider; do the reasons say 93% too (Python's format says 92%)?"""
    c = classify(ServiceProfile("x", episode_days=30, professional_share=0.925))
    assert "professionals hold most of the agency (93%)" in c.reasons[0]
    assert c.reasons[1].startswith("Agency: professionals' share 93% adds 0.37 of a possible 0.40.")
    patients = classify(ServiceProfile("x", episode_days=30, professional_share=0.375))
    assert "patients hold most of the agency (63%)" in patients.reasons[0]
    assert f"(score {format_fixed(c.score, 2)})" in c.reasons[0]


def test_the_summary_is_the_first_reason_in_one_sentence():
    """Does a classification's summary give the label, score, agency and length, as its first reason does?"""
    c = classify(ServiceProfile("x", episode_days=3650, professional_share=0.15, physical_item=True))
    assert c.summary == c.reasons[0]
    assert c.summary.startswith("Pure service (score 0.16): patients hold most of the agency (85%)")
