"""Episode editing without widgets: add, select, move, delete, and a stripe that gets shorter."""

import pytest

from course.agency import PRESETS, AgencyParams, Episode
from course.episodes import NEW_EPISODE, EpisodeEditor

SELF_MANAGING = PRESETS["Self-managing patient with occasional acute events"]


def test_an_editor_starts_on_the_first_episode():
    ed = EpisodeEditor.from_params(SELF_MANAGING)
    assert ed.selected == 0 and ed.current == SELF_MANAGING.episodes[0]
    assert ed.params(AgencyParams(baseline=0.85, name=SELF_MANAGING.name)) == SELF_MANAGING.replace(description="")


def test_adding_puts_a_new_episode_in_the_middle_and_selects_it():
    ed = EpisodeEditor.from_params(SELF_MANAGING).add()
    assert len(ed.episodes) == 3 and ed.selected == 2
    assert ed.current.start_days == 365 / 2 and ed.current.depth == NEW_EPISODE.depth


def test_an_episode_cannot_be_moved_past_the_end():
    """Dragged to day 5000 of a 365-day stripe, does the episode stop on day 365 (and stay visible)?"""
    ed = EpisodeEditor.from_params(SELF_MANAGING).select(1).move(5000)
    assert ed.current.start_days == 365.0
    assert ed.outside() == () and ed.notes() == ()
    assert ed.episodes[0] == SELF_MANAGING.episodes[0]  # the other one is untouched


def test_a_shorter_stripe_lists_and_names_the_episodes_left_outside():
    ed = EpisodeEditor.from_params(SELF_MANAGING).set_horizon(200)
    assert ed.outside() == (1,)
    assert ed.menu() == [("1: acute event", 0), ("2: emergency surgery (after the end of the stripe)", 1)]
    assert "Episode 2 starts after the stripe ends (day 200)" in ed.notes()[0]
    assert ed.set_horizon(365).outside() == ()


def test_deleting_selects_a_neighbour_and_empties_cleanly():
    ed = EpisodeEditor.from_params(SELF_MANAGING).select(1).delete()
    assert ed.selected == 0 and len(ed.episodes) == 1
    ed = ed.delete()
    assert ed.selected is None and ed.episodes == () and ed.current is None
    assert ed.delete() == ed  # nothing left to delete
    with pytest.raises(ValueError, match="no episode to change"):
        ed.move(3)


def test_editing_changes_only_the_selected_episode():
    ed = EpisodeEditor.from_params(SELF_MANAGING).select(1).edit(depth=0.3, recovery_days=2.0)
    assert (ed.current.depth, ed.current.recovery_days) == (0.3, 2.0)
    assert ed.episodes[0] == SELF_MANAGING.episodes[0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(episodes=(Episode(1, 1, 0.5, 1),), selected=None), r"'selected' of EpisodeEditor must be an int in \[0, 0\]"),
    (dict(episodes=(), selected=0), r"'selected' of EpisodeEditor must be None \(there are no episodes\)"),
    (dict(horizon_days=0), r"'horizon_days' of EpisodeEditor must be a float in \(0.0, inf\)"),
])
def test_impossible_states_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EpisodeEditor(**kwargs)
