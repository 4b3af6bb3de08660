"""Explorers: thin ipywidgets views over the course's models (the names lessons import).

The explorers live in :mod:`course.explorers` (one module each) and share
:mod:`course.explorers.base`; figures are rendered by :mod:`course.rendering`
and episodes edited by :mod:`course.episodes`.  This module keeps the names
lessons and exercises have always imported::

    from course.widgets import AgencyExplorer, ServiceExplorer, ValueStreamExplorer
"""

from __future__ import annotations

from course.explorers.agency import AgencyExplorer
# older names of the shared machinery, still importable
from course.explorers.base import STYLE as _STYLE  # noqa: F401
from course.explorers.base import WIDE as _WIDE  # noqa: F401
from course.explorers.base import Explorer as _Explorer  # noqa: F401
from course.explorers.base import near as _near  # noqa: F401
from course.explorers.base import table as _table  # noqa: F401
from course.explorers.service import ServiceExplorer
from course.explorers.value_stream import ValueStreamExplorer
from course.rendering import STATIC_NOTE, render_figure_html

__all__ = ["AgencyExplorer", "ServiceExplorer", "ValueStreamExplorer", "render_figure_html", "STATIC_NOTE"]
