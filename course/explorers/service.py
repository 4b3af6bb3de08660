"""The service explorer: set a service's features and see its label, score and reasons.

A thin view over :func:`course.services.classify` and the service map of
:mod:`course.plots`.

Examples
--------
>>> ex = ServiceExplorer(start_from="Cataract surgery")
>>> ex.classification.label
'product-like'
>>> ex.professional_share.value = 0.1
>>> ex.classification.label
'mixed'
>>> ex.concrete_procedure.value = False
>>> ex.classification.label
'pure service'
"""

from __future__ import annotations

import html

import ipywidgets as W

from course import plots
from course.explorers.base import STYLE, WIDE, Explorer, near
from course.formatting import format_fixed, format_percent, format_period
from course.services import ServiceProfile, boundary_notes, classify, load_catalogue

__all__ = ["ServiceExplorer", "label_html"]

_SHAPES = {"product-like": "&#9632;", "mixed": "&#9670;", "pure service": "&#9679;"}


def label_html(c) -> str:
    """The label heading: shape (as on the map), label and score."""
    return (f"<h3 style='margin:4px 0'>{_SHAPES[c.label]} {html.escape(c.label)} "
            f"<span style='font-weight:normal'>(score {format_fixed(c.score, 2)} of 1)</span></h3>")


class ServiceExplorer(Explorer):
    """Set a service's features and see its label, score and reasons."""

    _figsize = (7.5, 3.9)
    css_class = "course-service-explorer"
    _texts_after_figure = (*Explorer._texts_after_figure, "label", "reasons")

    def __init__(self, start_from: str = "Cataract surgery", *, answer: str | None = None):
        super().__init__(answer=answer)
        self.catalogue = load_catalogue()
        names = [e.name for e in self.catalogue]
        if start_from not in names:
            allowed = ", ".join(repr(n) for n in names)
            raise ValueError(f"'start_from' of ServiceExplorer must be one of {allowed}. Got {start_from!r} instead.")
        self.start_from = W.Dropdown(options=names, value=start_from, description="Start from", style=STYLE,
                                     layout=WIDE)
        self.name = W.Text(description="Service name", style=STYLE, layout=WIDE)
        self.episode_days = self.slider(W.FloatLogSlider, "Episode length", 1, -2.5, 3.6, 0.01, format_period,
                                        base=10)
        self.professional_share = self.slider(W.FloatSlider, "Professionals' share of agency", 0.5, 0, 1, 0.01,
                                              format_percent)
        self.concrete_procedure = W.Checkbox(description="A concrete procedure dominates", indent=False)
        self.physical_item = W.Checkbox(description="A physical item is handed over", indent=False)
        self.simultaneous = W.Checkbox(description="Produced and consumed at once", indent=False)
        self.label = W.HTML()
        self.label.add_class("course-live")
        self.reasons = W.HTML(layout=W.Layout(max_width="520px"))
        self._loaded_days = None
        with self.suspended(update=False):
            self._load(start_from)
        self.classification = classify(self.service)
        self.artists = plots.draw_service_map(self.ax, self.catalogue, self.service)
        self._observe(self.name, self.episode_days, self.professional_share, self.concrete_procedure,
                      self.physical_item, self.simultaneous)
        self.start_from.observe(self._on_start_from, names="value")
        controls = self.controls(self.start_from, self.name, self.episode_days, self.professional_share,
                                 self.concrete_procedure, self.physical_item, self.simultaneous)
        self.ui = self.layout(controls, W.VBox([self.label, self.reasons], layout=W.Layout(max_width="540px")))
        self._on_change()

    def _load(self, name):
        p = next(e for e in self.catalogue if e.name == name).profile
        self.name.value = p.name
        self.episode_days.value = p.episode_days
        self._loaded_days = p.episode_days
        self.professional_share.value = p.professional_share
        self.concrete_procedure.value = p.concrete_procedure
        self.physical_item.value = p.physical_item
        self.simultaneous.value = p.simultaneous

    def _on_start_from(self, change):
        with self.suspended():
            self._load(change["new"])

    @property
    def service(self) -> ServiceProfile:
        days = self.read(self.episode_days)
        loaded = self._loaded_days
        if loaded is not None and near(loaded, days, self.episode_days.step, log=True):
            days = loaded  # the slider only snapped the catalogue's value to its step
        return ServiceProfile(name=self.name.value.strip() or "Unnamed service", episode_days=days,
                              professional_share=self.read(self.professional_share),
                              concrete_procedure=self.concrete_procedure.value,
                              physical_item=self.physical_item.value, simultaneous=self.simultaneous.value)

    def _answer_value(self):
        return self.service

    def _update(self):
        service = self.service
        self.classification = c = classify(service)
        plots.update_service_map(self.artists, service)
        self._render(plots.describe_service_map(service, self.catalogue))
        self.label.value = label_html(c)
        self.reasons.value = "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in c.reasons) + "</ul>"
        self.show_notes(boundary_notes(service))
