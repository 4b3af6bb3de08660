"""Does the feedback scrubber remove hidden tests in every form the grader can read, and nothing else?

:func:`course.grading.scrub.scrub_page` works on the HTML the student receives. Each test builds a
page (by hand, or rendered with the grader's own feedback exporter) and checks what is left.
"""
import base64
import bz2
import codecs
import copy
import gzip
import html
import lzma
import os
import re
import sys
import urllib.parse
import zlib

import nbformat
import pytest
from traitlets.config import Config

from course.grading.execute import HideHiddenTests
from course.grading.scrub import PLACEHOLDER, HiddenText, hidden_test_lines, normalise, scrub_page

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "grading"))
import builders as B  # noqa: E402

LINE = "assert squares(6)[-1] == 36, 'HIDDEN-MARKER-squares-six'"
HIDDEN = [LINE, "assert mean([]) == 0, 'HIDDEN-MARKER-mean-empty'"]


def _b64(text):
    return base64.b64encode(text.encode()).decode()


ENCODINGS = {
    "as written": LINE,
    "non-breaking spaces": LINE.replace(" ", "\xa0"),
    "other unicode spaces": LINE.replace(" ", "\u2007\u3000"),
    "zero-width characters between letters": "\u200b".join(LINE),
    "soft hyphens and joiners": "\u00ad\u2060".join(LINE),
    "fullwidth letters (NFKC)": "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in LINE),
    "upper case": LINE.upper(),
    "spaces doubled and a line break": LINE.replace(" ", "  ").replace("==", "\n=="),
    "base64": _b64(LINE),
    "base64 url-safe without padding": base64.urlsafe_b64encode(LINE.encode()).decode().rstrip("="),
    "base64 wrapped at 76 columns": base64.encodebytes((LINE + " # " * 30).encode()).decode(),
    "base64 of text with non-breaking spaces": _b64(LINE.replace(" ", "\xa0")),
    "base64 glued to a word": "Result:" + "Here" + _b64(LINE),
    "hex": LINE.encode().hex(),
    "hex upper case with \\x": "".join(f"\\x{b:02X}" for b in LINE.encode()),
    "rot13": codecs.encode(LINE, "rot13"),
    "reversed": LINE[::-1],
    "percent-encoding": urllib.parse.quote(LINE),
    "percent-encoding with +": urllib.parse.quote_plus(LINE),
    "zlib in base64": base64.b64encode(zlib.compress(LINE.encode())).decode(),
    "gzip in base64": base64.b64encode(gzip.compress(LINE.encode())).decode(),
    "bz2 in base64": base64.b64encode(bz2.compress(LINE.encode())).decode(),
    "lzma in base64": base64.b64encode(lzma.compress(LINE.encode())).decode(),
    "base64 of base64": _b64(_b64(LINE)),
    "hex of base64": _b64(LINE).encode().hex(),
    "base64 of hex": _b64(LINE.encode().hex()),
    "rot13 of base64": codecs.encode(_b64(LINE), "rot13"),
    "reversed base64": _b64(LINE)[::-1],
    "base64 of reversed text": _b64(LINE[::-1]),
    "percent-encoded base64": urllib.parse.quote(_b64(LINE), safe=""),
    "base64 of rot13": _b64(codecs.encode(LINE, "rot13")),
    "zlib in base64 of hex": base64.b64encode(zlib.compress(LINE.encode().hex().encode())).decode(),
}


def _page(output_html):
    """A page shaped like a feedback page: a head with a script of the template's, a body with
    text before and after the student's output."""
    return ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\" />\n<title>ps1</title>\n"
            "<script src=\"https://cdn.example/mathjax.js\"></script>\n<style>pre { color: black; }</style>\n"
            "</head>\n<body>\n<div class=\"text_cell_render\"><p>Question 1: squares.</p></div>\n"
            f"<div class=\"output_subarea\">{output_html}</div>\n"
            "<div class=\"text_cell_render\"><p>Well done on question 2.</p></div>\n</body>\n</html>\n")


def _printed(text):
    """``text`` as nbconvert shows a printed output: escaped, in a <pre>."""
    return f"<pre>{html.escape(text)}\n</pre>"


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_each_encoding_of_a_hidden_line_is_removed(name):
    """Is a hidden line printed in this encoding replaced, and the text around it kept?"""
    encoded = ENCODINGS[name]
    page = _page(_printed(encoded))
    out, n = scrub_page(page, HIDDEN)
    assert n >= 1
    assert html.escape(encoded.strip()) not in out
    assert PLACEHOLDER in out
    assert "<p>Question 1: squares.</p>" in out and "<p>Well done on question 2.</p>" in out
    assert out.startswith(page[:page.index("<body>")])  # the head is the template's, untouched


@pytest.mark.parametrize("name", ["as written", "base64", "non-breaking spaces", "hex"])
def test_a_hidden_line_among_other_output_lines_takes_only_its_own_lines(name):
    """Does the student keep the other lines of the same printed output?"""
    page = _page(_printed(f"first result: 14\n{ENCODINGS[name]}\nlast result: 15"))
    out, n = scrub_page(page, HIDDEN)
    assert n == 1
    assert "first result: 14" in out and "last result: 15" in out


def test_html_entities_of_every_character_are_decoded():
    """Is a line written as numeric entities (which the page shows as plain text) removed, and a
    line written as entities of entities (which it shows as entities)?"""
    numeric = "".join(f"&#{ord(c)};" for c in LINE)
    double = "".join(f"&amp;#x{ord(c):x};" for c in LINE)
    for raw in (numeric, double, "assert&#32;squares&lpar;6)[-1]&nbsp;== 36, &apos;HIDDEN-MARKER-squares-six'"):
        out, n = scrub_page(_page(f"<pre>{raw}</pre>"), HIDDEN)
        assert n == 1 and raw not in out


def test_text_split_by_tags_is_found():
    """Is a line split over several elements (as syntax highlighting or a crafted HTML output does) removed?"""
    split = ("<span class=\"k\">assert</span> <span class=\"n\">squares</span><b></b>(6)[-1] "
             "<i>==</i> 36, <span>'HIDDEN-MAR</span><!-- x -->KER-squares-six'")
    out, n = scrub_page(_page(split), HIDDEN)
    assert n == 1
    assert "squares</span>" not in out and "KER-squares-six" not in out
    assert out.count("<span") == split.count("<span")  # tags are kept, empty: the page stays well formed


def test_a_hidden_line_in_an_attribute_value_is_replaced():
    """Is a hidden line in an attribute (a tooltip, an image's alt text) replaced by the placeholder?"""
    raw = f"<img alt=\"{html.escape(LINE)}\" src=\"x.png\"><abbr title=\"{_b64(LINE)}\">?</abbr>"
    out, n = scrub_page(_page(raw), HIDDEN)
    assert n == 2
    assert f'<img alt="{PLACEHOLDER}" src="x.png">' in out and f'<abbr title="{PLACEHOLDER}">?</abbr>' in out


def test_short_common_lines_are_not_scrubbed():
    """Are lines like ``pass`` or ``x = 1`` in hidden tests left alone in ordinary text?"""
    page = _page(_printed("pass\nx = 1\nreturn 0\nThe answer is pass, x = 1."))
    assert scrub_page(page, ["pass", "x = 1", "return 0", ")"]) == (page, 0)
    assert HiddenText.from_lines(["pass", "x = 1"]).patterns == ()


def _render(nb):
    """A feedback page rendered as the grader renders it (its own exporter and template)."""
    from nbgrader import utils

    from course.grading.worker import render_data_feedback

    grades = {c.metadata["nbgrader"]["grade_id"]: {"auto_score": 1.0, "max_score": 1.0}
              for c in nb.cells if utils.is_grade(c)}
    return render_data_feedback(Config(), copy.deepcopy(nb), "ps1", "s", "ps1", {"grades": grades, "comments": {}})


@pytest.fixture(scope="module")
def solution():
    with open(os.path.join(B.HERE, "solutions", "ps1", "ps1.ipynb"), encoding="utf-8") as fh:
        return nbformat.reads(fh.read(), as_version=4)


def _with_outputs(nb, *outputs):
    nb = copy.deepcopy(nb)
    nb.cells[1].outputs = list(outputs)
    nb.cells[1].execution_count = 1
    return nb


HONEST_OUTPUTS = (
    nbformat.v4.new_output("stream", name="stdout", text="squares(6) is [1, 4, 9, 16, 25, 36]\nmean: 2.5 days\n"),
    nbformat.v4.new_output("display_data", data={
        "text/html": "<style scoped>td {padding: 2px}</style><table><tr><th>ward</th><th>days</th></tr>"
                     "<tr><td>A &amp; E</td><td>3.5</td></tr></table>",
        "text/plain": "table"}),
    nbformat.v4.new_output("execute_result", execution_count=1, data={
        "text/plain": "'aGVsbG8gd29ybGQ= and 68656c6c6f and %20 and ebg13'"}),
)


def test_an_honest_rendered_page_is_byte_identical(solution):
    """Does a real feedback page with ordinary outputs come back unchanged, byte for byte?"""
    hidden = hidden_test_lines([solution])
    page = _render(_with_outputs(solution, *HONEST_OUTPUTS))
    out, n = scrub_page(page, hidden)
    assert n == 0
    assert out == page


def test_a_rendered_page_with_a_leak_loses_only_the_leak(solution):
    """The same page with the hidden tests printed base64-encoded and with NBSPs: is each removed
    and is the rest of the page as before?"""
    hidden = hidden_test_lines([solution])
    leak = nbformat.v4.new_output("stream", name="stdout", text="".join(
        f"{_b64(line)}\n{line.replace(' ', chr(0xa0))}\n" for line in hidden))
    honest = _render(_with_outputs(solution, *HONEST_OUTPUTS))
    page = _render(_with_outputs(solution, leak, *HONEST_OUTPUTS))
    out, n = scrub_page(page, hidden)
    assert n >= 1
    for line in hidden:
        assert _b64(line) not in out and html.escape(line.replace(" ", "\xa0")) not in out
        assert "HIDDEN-MARKER" not in out
    assert out.replace(f"<pre>{PLACEHOLDER}\n</pre>", "") .count("ward") == honest.count("ward")
    assert "squares(6) is [1, 4, 9, 16, 25, 36]" in out


def test_highlighted_code_holding_a_hidden_line_is_removed(solution):
    """A student's own code cell holding a hidden line (highlighting splits it into many spans):
    is it removed from the page?"""
    nb = copy.deepcopy(solution)
    nb.cells[1].source = "def squares(n):\n    " + LINE + "\n    return [i * i for i in range(1, n + 1)]"
    out, n = scrub_page(_render(nb), hidden_test_lines([solution]))
    assert n >= 1 and "HIDDEN-MARKER-squares-six" not in out
    assert "range" in out


SCRIPTS = [
    "<script>document.title = 'ran'</script>",
    "<SCRIPT type=\"text/javascript\">document.title = 'ran'</SCRIPT >",
    "<svg><script>document.title = 'ran'</script></svg>",
    "<script>document.title = 'ran'",  # never closed
]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_elements_in_the_body_are_removed(script):
    """Is a student's script element removed from the body, and the template's own head kept?"""
    page = _page(script + "<p>after the script</p>")
    out, _ = scrub_page(page, HIDDEN)
    body = out[out.index("<body>"):]
    assert "<script" not in body.lower()
    assert html.unescape(re.sub(r"<[^>]+>", "", body)).count("document.title") <= 1  # shown as text only
    assert "<script src=\"https://cdn.example/mathjax.js\"></script>" in out[:out.index("<body>")]
    if "</script>" in script.lower():
        assert "<p>after the script</p>" in out


def test_a_long_script_or_one_holding_hidden_text_is_not_shown():
    """Is a long script (a plotting library's) dropped rather than shown, and a script holding a
    hidden line replaced by the placeholder?"""
    long_script = "<script>" + "var x = 1;" * 500 + "</script>"
    out, n = scrub_page(_page(long_script + f"<script>var t = '{_b64(LINE)}';</script>"), HIDDEN)
    body = out[out.index("<body>"):]
    assert "var x" not in body and _b64(LINE) not in body and "<script" not in body.lower()
    assert n == 1 and PLACEHOLDER in body


@pytest.mark.parametrize("raw, kept", [
    ("<img src=\"x.png\" onerror=\"document.title='ran'\" alt=\"a plot\">", 'alt="a plot"'),
    ("<div ONMOUSEOVER=\"document.title='ran'\" class=\"note\">text</div>", 'class="note"'),
    ("<a href=\"javascript:document.title='ran'\">link</a>", ">link</a>"),
    ("<a href=\" JaVaScRiPt&colon;document.title='ran'\">link</a>", ">link</a>"),
    ("<a href=\"java&#x09;script:document.title='ran'\">link</a>", ">link</a>"),
    ("<form action=\"javascript:document.title='ran'\"><button formaction=\"javascript:x\">b</button></form>", "<button>"),
    ("<svg><a xlink:href=\"javascript:document.title='ran'\"><text>t</text></a></svg>", "<text>"),
    ("<iframe srcdoc=\"&lt;script&gt;document.title='ran'&lt;/script&gt;\"></iframe>", "</div>"),
    ("<object data=\"javascript:document.title='ran'\"></object><embed src=\"x.swf\">", "</div>"),
    ("<meta http-equiv=\"refresh\" content=\"0;url=javascript:document.title='ran'\">", "</div>"),
])
def test_event_handlers_javascript_urls_and_loaders_are_removed(raw, kept):
    """Is every way a student's HTML output could run a script taken out, and the rest kept?"""
    out, _ = scrub_page(_page(raw), HIDDEN)
    body = out[out.index("<body>"):].lower()
    assert "document.title" not in body and "javascript" not in body
    for tag in ("<iframe", "<object", "<embed", "<meta"):
        assert tag not in body
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", body)
    assert kept.lower() in body


def test_an_ordinary_link_and_image_are_kept_as_they_were():
    """Are a plain https link and a data-URI image left byte for byte?"""
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8).decode()
    page = _page(f"<a href=\"https://nhs.example/guide\" title=\"The guide\">guide</a>"
                 f"<img src=\"data:image/png;base64,{png}\" alt=\"Histogram of waiting days\">")
    assert scrub_page(page, HIDDEN) == (page, 0)


def test_hidden_lines_come_from_nbgraders_delimiters_and_leave_visible_lines_out():
    """Does hidden_test_lines use ClearHiddenTests' configured delimiters, and leave out a line the
    student sees elsewhere and one too short to matter?"""
    source = ("assert f(1) == 1\n## HIDE FROM HERE\nassert f(6) == 36, 'six'\nassert f(1) == 1\npass\n"
              "## HIDE TO HERE")
    cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 1}})
    nb = nbformat.v4.new_notebook(cells=[cell])
    config = Config()
    config.ClearHiddenTests.begin_test_delimeter = "HIDE FROM HERE"
    config.ClearHiddenTests.end_test_delimeter = "HIDE TO HERE"
    assert hidden_test_lines([nb], config) == ("assert f(6) == 36, 'six'",)
    assert hidden_test_lines([nb]) == ()  # the default delimiters are not in this cell


def test_normalise_removes_what_takes_no_room():
    """Do entities, NBSPs, zero-width and format characters and fullwidth letters all vanish?"""
    assert normalise("a&nbsp;b\u200bc\u00add\ufeffe\u2060f\u3000ｇ&amp;amp;") == "abcdefg&"


def test_bad_arguments_are_refused_with_a_message():
    """Are a page that is not text and one string given as the hidden lines refused, naming them?"""
    with pytest.raises(TypeError, match="'page' must be a str. Got bytes instead."):
        scrub_page(b"<p>x</p>", HIDDEN)
    with pytest.raises(TypeError, match="'hidden_lines' must be a sequence of lines"):
        HiddenText.from_lines(LINE)
    with pytest.raises(ValueError, match="'min_chars' must be an int in"):
        HiddenText.from_lines(HIDDEN, min_chars=0)


def test_feedback_preprocessor_hides_regions_with_nbgraders_clear_hidden_tests(solution):
    """Does HideHiddenTests take the hidden region out of a test cell (a line says so), replace a
    failed hidden test's traceback, hide a region a student opened and never closed, and replace
    a hidden line printed as it is written?"""
    nb = copy.deepcopy(solution)
    nb.cells[2].outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="",
                                                  traceback=[LINE])]
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text=LINE + "\nok\n")]
    nb.cells.append(nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nmy own secret line"))
    out, _ = HideHiddenTests().preprocess(nb, {})
    assert out.cells[2].source == "assert squares(3) == [1, 4, 9]\n# (hidden tests are not shown)"
    assert "the details of hidden tests are not shown" in out.cells[2].outputs[0]["text"]
    assert out.cells[3].outputs[0]["text"] == PLACEHOLDER + "\nok\n"
    assert out.cells[-1].source == "x = 1\n# (hidden tests are not shown)"
