"""nbgrader settings for the Coproduction of Health course.

Run nbgrader commands from this folder (the course root):

    nbgrader generate_assignment ex01_products_and_services --force
    nbgrader autograde ex01_products_and_services

``solutions/<assignment>/`` holds the instructor versions (solutions, hidden
tests, mark schemes); ``exercises/<assignment>/`` receives the student
versions.  Student work and the gradebook stay out of git (see .gitignore).
"""

c = get_config()  # noqa: F821  (provided by nbgrader when it reads this file)

c.CourseDirectory.course_id = "coproduction-of-health"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# A student who deletes a test cell is graded as if it were still there.
c.OverwriteCells.add_missing_cells = True
# An answer cell shows its answer line with None (the learner replaces it); the solution
# region below that line is simply removed.
c.ClearSolutions.code_stub = {"python": ""}

# Answers are data: generate_assignment seals each check cell's key into the student
# version, and autograde reads the answer cells as data instead of running the notebook.
# Orders as in nbgrader's own lists; SealAnswerKeys must come before SaveCells (so the
# gradebook keeps the sealed line) and GradeAnswersAsData takes Execute's place.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearOutput,
    ClearSolutions, ComputeChecksums, IgnorePattern, IncludeHeaderFooter, InstantiateTests,
    LimitOutput, LockCells, SaveAutoGrades, SaveCells)

from course.grading.answers_as_data import GradeAnswersAsData, SealAnswerKeys  # noqa: E402

c.GenerateAssignment.preprocessors = [
    IncludeHeaderFooter, InstantiateTests, LockCells, SealAnswerKeys, ClearSolutions, ClearOutput,
    CheckCellMetadata, ComputeChecksums, SaveCells, ClearHiddenTests, ClearMarkScheme,
    ComputeChecksums, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [
    GradeAnswersAsData, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata]
# Code cells a student added are reported (not run): compared with the released notebooks.
c.GradeAnswersAsData.release_root = "exercises"
