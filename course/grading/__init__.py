"""Grade a folder of submissions with nbgrader: in parallel, isolated, resumable.

The public entry point is :func:`run_grade` (used by ``coproduction-course grade``).
See ``docs/grading.md`` for the instructor guide.
"""
from .runner import GradeOptions, GradingSetupError, run_grade

__all__ = ["GradeOptions", "GradingSetupError", "run_grade"]
