"""Explorers added with lessons 6 and 7, one module each: thin widget views over pure models.

The rendering they share (the figure drawn once and updated in place, the static figure
shown before a cell has run, the "Use this as my answer" control) lives in
:mod:`course.widgets`.
"""
