"""In Chromium, does a feedback page run a script a student wrote into an answer? (It must not.)"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_a_students_script_does_not_run_in_the_feedback_page(page, tmp_path):
    from course.grading.recording import feedback_html as _feedback_html
    body = ("<html><head><title>feedback</title></head><body><p>My answer.</p>"
            "<script>document.title = 'script ran'</script>"
            "<img src='x' onerror=\"document.title = 'script ran'\"></body></html>")
    path = tmp_path / "feedback.html"
    path.write_text(_feedback_html("s1", {"ex": body}), encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_timeout(500)
    assert page.title() == "feedback"
    # the same page without the policy would have run it: the test can fail
    path.write_text(body, encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_timeout(500)
    assert page.title() == "script ran"
