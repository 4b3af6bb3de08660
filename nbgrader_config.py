"""nbgrader settings for the Coproduction of Health course.

Run nbgrader commands from this folder (the course root):

    nbgrader generate_assignment 01_products_and_services
    nbgrader autograde 01_products_and_services

``solutions/<assignment>/`` holds the instructor versions (solutions, hidden
tests, mark schemes); ``exercises/<assignment>/`` receives the student
versions.  Student work and the gradebook stay out of git (see .gitignore).
"""

c = get_config()  # noqa: F821  (provided by nbgrader when it reads this file)

c.CourseDirectory.course_id = "coproduction-of-health"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Student answers that loop forever are stopped after this many seconds per cell.
c.Execute.timeout = 60
# A student who deletes a test cell is graded as if it were still there.
c.OverwriteCells.add_missing_cells = True
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
