"""Editing the episodes of an agency stripe, as a pure state machine.

The agency explorer lets a learner pick an episode, move it, change it, add
one or delete one.  Every such action is a function from one
:class:`EpisodeEditor` to the next, so the rules (an episode never starts
past the end of the stripe; deleting picks a neighbour; an episode left past
the end by a shorter stripe stays listed and is said to be outside it) are
tested without any widget.

Pure: no matplotlib, widgets or IPython.

Examples
--------
>>> from course.agency import PRESETS
>>> ed = EpisodeEditor.from_params(PRESETS["Cataract surgery"])
>>> ed.selected, len(ed.episodes)
(0, 1)
>>> ed = ed.add().move(500)   # a new episode, dragged as far as it goes
>>> ed.selected, ed.episodes[1].start_days
(1, 90.0)
>>> ed = ed.delete()
>>> ed.selected, len(ed.episodes)
(0, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from course._validation import check_real
from course.agency import AgencyParams, Episode
from course.formatting import format_number

__all__ = ["EpisodeEditor", "NEW_EPISODE"]

#: What "Add episode" adds, in the middle of the stripe: a two-day event, 80% of agency lost.
NEW_EPISODE = Episode(0.0, 2.0, 0.8, 7.0, "new episode")


@dataclass(frozen=True)
class EpisodeEditor:
    """The episodes of a stripe, which one is selected, and the stripe's length.

    Parameters
    ----------
    episodes : tuple of Episode
    selected : int or None
        The position (from 0) of the episode being edited; None when there are none.
    horizon_days : float
        The length of the stripe: no episode can be moved to start after it.
    """

    episodes: tuple = ()
    selected: Optional[int] = None
    horizon_days: float = 365.0

    def __post_init__(self):
        owner = "EpisodeEditor"
        object.__setattr__(self, "episodes", tuple(self.episodes))
        for i, e in enumerate(self.episodes):
            if not isinstance(e, Episode):
                raise TypeError(f"'episodes[{i}]' of {owner} must be an Episode. Got {type(e).__name__} instead.")
        object.__setattr__(self, "horizon_days",
                           check_real(self.horizon_days, "horizon_days", owner, low=0, low_open=True))
        n = len(self.episodes)
        if self.selected is None:
            if n:
                raise ValueError(f"'selected' of {owner} must be an int in [0, {n - 1}] when there are episodes. "
                                 "Got None instead.")
        elif isinstance(self.selected, bool) or not isinstance(self.selected, int) or not 0 <= self.selected < n:
            allowed = "None (there are no episodes)" if n == 0 else f"an int in [0, {n - 1}]"
            raise ValueError(f"'selected' of {owner} must be {allowed}. Got {self.selected!r} instead.")

    # -- building ---------------------------------------------------------------------
    @classmethod
    def from_params(cls, params: AgencyParams) -> "EpisodeEditor":
        """An editor over a stripe's episodes, the first one selected."""
        if not isinstance(params, AgencyParams):
            raise TypeError(f"'params' must be an AgencyParams. Got {type(params).__name__} instead.")
        return cls(params.episodes, 0 if params.episodes else None, params.horizon_days)

    def params(self, base: AgencyParams) -> AgencyParams:
        """``base`` with these episodes and this stripe length."""
        return base.replace(episodes=self.episodes, horizon_days=self.horizon_days)

    # -- reading ----------------------------------------------------------------------
    @property
    def current(self) -> Optional[Episode]:
        """The selected episode (None when there are none)."""
        return None if self.selected is None else self.episodes[self.selected]

    @property
    def latest_start_days(self) -> float:
        """The latest day an episode can start on: the stripe's last day."""
        return self.horizon_days

    def outside(self) -> tuple:
        """Positions (from 0) of the episodes that start after the stripe ends."""
        return tuple(i for i, e in enumerate(self.episodes) if e.start_days > self.horizon_days)

    def menu(self) -> list:
        """``(label, position)`` pairs for a menu, numbered from 1 as the learner counts.

        Examples
        --------
        >>> ed = EpisodeEditor((Episode(30, 1, 0.5, 2, "surgery"),), 0, horizon_days=20)
        >>> ed.menu()
        [('1: surgery (after the end of the stripe)', 0)]
        """
        out = set(self.outside())
        return [(f"{i + 1}: {e.label}{' (after the end of the stripe)' if i in out else ''}", i)
                for i, e in enumerate(self.episodes)]

    def notes(self) -> tuple:
        """What the learner should know about the episodes (empty when nothing is odd)."""
        out = self.outside()
        if not out:
            return ()
        which = ", ".join(str(i + 1) for i in out)
        one = len(out) == 1
        return (f"Episode{'' if one else 's'} {which} start{'s' if one else ''} after the stripe ends (day "
                f"{format_number(self.horizon_days, 1)}), so the figure does not show "
                f"{'it' if one else 'them'}: lengthen the stripe or move {'it' if one else 'them'} earlier.",)

    # -- actions ----------------------------------------------------------------------
    def select(self, index: Optional[int]) -> "EpisodeEditor":
        """Select episode ``index`` (from 0)."""
        return replace(self, selected=index)

    def add(self, episode: Optional[Episode] = None) -> "EpisodeEditor":
        """Add ``episode`` (default: :data:`NEW_EPISODE` in the middle of the stripe) and select it."""
        if episode is None:
            episode = replace(NEW_EPISODE, start_days=self.horizon_days / 2)
        if not isinstance(episode, Episode):
            raise TypeError(f"'episode' must be an Episode. Got {type(episode).__name__} instead.")
        episodes = self.episodes + (episode,)
        return replace(self, episodes=episodes, selected=len(episodes) - 1)

    def edit(self, **changes) -> "EpisodeEditor":
        """Change fields of the selected episode; a start is kept within the stripe."""
        if self.selected is None:
            raise ValueError("There is no episode to change: add one first.")
        if "start_days" in changes:
            start = check_real(changes["start_days"], "start_days", "Episode", low=0)
            changes["start_days"] = min(start, self.latest_start_days)
        episodes = list(self.episodes)
        episodes[self.selected] = replace(episodes[self.selected], **changes)
        return replace(self, episodes=tuple(episodes))

    def move(self, start_days: float) -> "EpisodeEditor":
        """Move the selected episode to start on ``start_days`` (at most the stripe's last day)."""
        return self.edit(start_days=start_days)

    def delete(self) -> "EpisodeEditor":
        """Delete the selected episode and select its neighbour (the one before it, if any)."""
        if self.selected is None:
            return self
        episodes = self.episodes[:self.selected] + self.episodes[self.selected + 1:]
        selected = None if not episodes else max(0, self.selected - 1)
        return replace(self, episodes=episodes, selected=selected)

    def set_horizon(self, days: float) -> "EpisodeEditor":
        """Change the stripe's length; episodes past the new end stay listed (see :meth:`notes`)."""
        return replace(self, horizon_days=days)
