"""Every source a lesson or exercise cites is in the course's reference list, REFERENCES.md.

A citation resolves when REFERENCES.md has an entry with the same first author's
surname and year, or (for an entry of a lesson's reference list) the same DOI.
Lessons and exercises are found by glob, so new ones are covered when they land.
Learner-facing text never says that a source is unchecked: it states what the
sources support, or leaves the claim out.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = ROOT / "REFERENCES.md"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
STUDENT_EXERCISES = sorted((ROOT / "exercises").glob("*/*.ipynb"))
DATA_FILES = sorted((ROOT / "course" / "data").glob("*.json"))

# -- parsing a Vancouver-style entry ---------------------------------------------------------

_DOI = re.compile(r"doi:\s*\[?(10\.[^\s\]]+?)\]?(?:\(|\s|$)", re.IGNORECASE)
#: The year of publication: after a full stop or semicolon ("Journal. 2016;", "Publisher; 2009."),
#: perhaps behind a day and a month ("; 14 April 2016", "; 2016 Apr 1").
_ENTRY_YEAR = re.compile(r"[.;]\s*(?:\d{1,2}\s+)?(?:[A-Z][a-z]+\.?\s+)?((?:19|20)\d\d)\b")
_INITIALS = re.compile(r"\s+[A-ZÀ-ÖØ-Þ]{1,3}(?:-[A-ZÀ-ÖØ-Þ])?$")


@dataclass(frozen=True)
class Entry:
    """One reference: its first author's surname (or corporate author), year and DOI."""

    text: str
    surname: str
    year: str | None
    doi: str | None

    @property
    def keys(self) -> set:
        """Names a citation may use for the first author: the surname's last word, and an acronym
        for a corporate author ("World Health Organization" is cited as "WHO")."""
        words = self.surname.split()
        keys = {_fold(words[-1])} if words else set()
        capitals = [w for w in words if w[:1].isupper()]
        if len(capitals) >= 2:
            keys.add(_fold("".join(w[0] for w in capitals)))
        return keys


def _fold(name: str) -> str:
    return re.sub(r"['’]s$", "", name).strip(".,;:()[]*").lower()


def _normalise_doi(doi: str) -> str:
    return html.unescape(doi).rstrip(".").lower()


def parse_entry(text: str) -> Entry:
    """Read the first author, year and DOI of one Vancouver-style reference.

    >>> e = parse_entry("Batalden M, Batalden P. Coproduction of healthcare service. *BMJ Qual Saf*. 2016;25(7):509–517.")
    >>> e.surname, e.year
    ('Batalden', '2016')
    """
    text = re.sub(r"^\s*(?:[-*]|\d+\.)\s+", "", text.strip())
    doi = _DOI.search(text)
    authors = text.split(". ", 1)[0]
    rest = text[len(authors):]
    authors = re.sub(r"\([^)]*\)?", "", authors).strip()
    first = re.split(r"[,;]", authors)[0].strip()
    surname = _INITIALS.sub("", first).strip()
    year = _ENTRY_YEAR.search(rest) or re.search(r"\(((?:19|20)\d\d)\)", rest)
    return Entry(text=text, surname=surname, year=year.group(1) if year else None,
                 doi=_normalise_doi(doi.group(1)) if doi else None)


def reference_list(markdown: str) -> list:
    """The entries of REFERENCES.md: every top-level list item."""
    return [parse_entry(line) for line in markdown.splitlines() if line.startswith("- ")]


class Resolver:
    """Finds a citation's entry in the reference list."""

    def __init__(self, entries):
        self.entries = list(entries)
        self.by_name_year = {}
        for e in self.entries:
            for k in e.keys:
                self.by_name_year.setdefault((k, e.year), []).append(e)
        self.dois = {e.doi for e in self.entries if e.doi}

    def cites(self, name: str, year: str | None) -> bool:
        return (_fold(name.split()[-1]), year) in self.by_name_year

    def entry(self, entry: Entry) -> bool:
        """Does a lesson's reference-list entry match one in the list, by DOI or by surname and year?"""
        if entry.doi and entry.doi in self.dois:
            return True
        return bool(entry.surname) and self.cites(entry.surname, entry.year)


# -- finding citations in prose ----------------------------------------------------------------

_NAME = r"(?:(?:van|von|de|den|der|du|la|le)\s)?[A-ZÀ-ÖØ-Þ][\w'’\-]+(?:\s[A-ZÀ-ÖØ-Þ][\w'’\-]+)?"
_YEAR = r"(?:19|20)\d\d"
_CITATION = re.compile(
    rf"(?P<pre>\(|;\s)?(?P<first>{_NAME})"
    rf"(?P<rest>(?:,\s+{_NAME})*,?\s+(?:&|and)\s+{_NAME}(?:['’]s)?|\s+et\s+al\.?(?:['’]s)?,?)?"
    rf"\s+(?P<open>\()?(?P<years>{_YEAR}(?:,\s*{_YEAR})*)\b"
)
#: Capitalised words that come before a year without being an author.
_NOT_AUTHORS = {
    "in", "on", "by", "at", "from", "since", "until", "before", "after", "during", "between", "of", "for",
    "and", "the", "a", "an", "see", "also", "to", "as", "spring", "summer", "autumn", "winter", "fall",
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "census", "lesson", "exercise", "figure", "table", "question", "part",
    "section", "version", "year", "years", "published", "updated", "edition", "day",
}


@dataclass(frozen=True)
class Citation:
    name: str
    year: str
    text: str


def find_citations(text: str) -> list:
    """Citations of the forms "Surname (2016)", "Surname et al. (2016)", "(Surname et al. 2016)",
    "Surname and Surname (2013)", "Surname & Surname 2013" and "(Surname 2016)".

    >>> [(c.name, c.year) for c in find_citations("as Vargo & Lusch (2004) and (Ng et al. 2010; Little 1961) argue")]
    [('Vargo', '2004'), ('Ng', '2010'), ('Little', '1961')]
    """
    found = []
    for m in _CITATION.finditer(text):
        rest = m.group("rest") or ""
        inside_brackets = m.group("pre") is not None or m.group("open") is not None
        if "et al" in rest or "&" in rest:
            pass
        elif " and " in rest or rest.startswith("and"):
            if not m.group("open"):
                continue
        elif not inside_brackets:
            continue
        name = m.group("first").split()[-1]
        if not rest and _fold(name) in _NOT_AUTHORS:  # "(April 2009)"; but "May et al. 2009" is an author
            continue
        for year in re.findall(_YEAR, m.group("years")):
            found.append(Citation(name=name, year=year, text=m.group(0).strip()))
    return found


# -- reading the course's files ----------------------------------------------------------------

def _cells(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def references_section(path: Path) -> list:
    """The entries listed under a notebook's "References" heading."""
    entries = []
    for cell in _cells(path):
        if cell["cell_type"] != "markdown":
            continue
        lines = _source(cell).splitlines()
        starts = [i for i, ln in enumerate(lines) if re.match(r"#{1,3}\s+References\b", ln)]
        for i in starts:
            for ln in lines[i + 1:]:
                if re.match(r"#{1,3}\s", ln):
                    break
                if re.match(r"\s*(?:\d+\.|-)\s+\S", ln):
                    entries.append(parse_entry(ln))
    return entries


def notebook_text(path: Path) -> str:
    """Everything a learner reads in a notebook's cells (markdown, and the strings in code)."""
    return "\n\n".join(_source(c) for c in _cells(path))


@pytest.fixture(scope="module")
def resolver():
    return Resolver(reference_list(REFERENCES.read_text(encoding="utf-8")))


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# -- the resolver itself -------------------------------------------------------------------------

def test_the_reference_list_parses_into_entries_with_authors_and_years(resolver):
    """Does REFERENCES.md hold enough entries, each with a first author, and almost all with a year?"""
    assert len(resolver.entries) >= 100
    assert all(e.surname for e in resolver.entries)
    undated = [e.surname for e in resolver.entries if e.year is None]
    assert len(undated) <= 12, undated
    by_name = {(e.surname, e.year) for e in resolver.entries}
    for known in [("Batalden", "2016"), ("van Vliet", "2010"), ("D'Andreamatteo", "2015"),
                  ("World Health Organization", "2003"), ("CODA Collaborative", "2020"), ("Little", "1961"),
                  ("Coproduction of health by patients and providers [blog post]", "2016"), ("Kaplan", "2016")]:
        assert known in by_name, known


def test_resolver_finds_real_citations(resolver):
    """Do the citation forms the course uses resolve, including a corporate author's acronym?"""
    text = ("Batalden et al. (2016) argue; Osborne, Radnor & Nasi (2013) name two flaws; (WHO 2003); "
            "Hibbard and Cunningham (2008); van Vliet et al. 2010; Teichgräber & de Bucourt 2012; "
            "(Salminen et al. 2015, 2018); Paul Batalden (2018)")
    cites = find_citations(text)
    assert [(c.name, c.year) for c in cites] == [
        ("Batalden", "2016"), ("Osborne", "2013"), ("WHO", "2003"), ("Hibbard", "2008"), ("Vliet", "2010"),
        ("Teichgräber", "2012"), ("Salminen", "2015"), ("Salminen", "2018"), ("Batalden", "2018")]
    assert all(resolver.cites(c.name, c.year) for c in cites)


def test_resolver_fails_on_a_made_up_citation(resolver):
    """Does a citation that is not in the list fail: an unknown author, or a known author with the wrong year?"""
    made_up = find_citations("as Zyxwbig et al. (2019) and (Batalden et al. 2099) show")
    assert [(c.name, c.year) for c in made_up] == [("Zyxwbig", "2019"), ("Batalden", "2099")]
    assert not any(resolver.cites(c.name, c.year) for c in made_up)
    fake = parse_entry("1. Zyxwbig Q, Batalden M. A study that does not exist. *J Imag*. 2019;1(1):1–2. "
                       "doi:[10.9999/made.up](https://doi.org/10.9999/made.up)")
    assert (fake.surname, fake.year, fake.doi) == ("Zyxwbig", "2019", "10.9999/made.up")
    assert not resolver.entry(fake)


def test_prose_years_are_not_mistaken_for_citations():
    """Are a date, a census and a sentence that starts with a year left alone?"""
    assert find_citations("By 2015 remission rose. Since April 2009 (April 2009) patients answer; Census 2021.") == []
    assert [(c.name, c.year) for c in find_citations("(May et al. 2009)")] == [("May", "2009")]


# -- the course's lessons and exercises -----------------------------------------------------------

def test_lessons_and_exercises_are_found_by_glob():
    """Are lessons 1-5 and their exercises among the files checked (and any later ones with them)?"""
    names = {p.name for p in LESSONS}
    assert {"01_products_and_services.ipynb", "05_synthesis.ipynb"} <= names
    assert len(SOLUTIONS) >= 5 and len(STUDENT_EXERCISES) >= 5


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS, ids=_rel)
def test_every_reference_list_entry_is_in_references_md(path, resolver):
    """Does every entry in the notebook's References section match REFERENCES.md by DOI or by first author and year?"""
    missing = [e.text[:90] for e in references_section(path) if not resolver.entry(e)]
    assert not missing, f"{_rel(path)}: not in REFERENCES.md: {missing}"


def test_lessons_have_reference_lists_to_check():
    """Does every lesson after the start page list references (so the test above is not empty)?"""
    for path in LESSONS:
        if not path.name.startswith("00"):
            assert len(references_section(path)) >= 3, _rel(path)


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS, ids=_rel)
def test_every_in_text_citation_resolves(path, resolver):
    """Does every "Surname (2016)", "Surname et al. 2016", "Surname & Surname 2013" in the notebook resolve?"""
    cites = find_citations(notebook_text(path))
    missing = sorted({c.text for c in cites if not resolver.cites(c.name, c.year)})
    assert not missing, f"{_rel(path)}: citations not in REFERENCES.md: {missing}"


def test_the_lessons_do_cite_sources():
    """Are enough citations found across the lessons that the check above means something?"""
    total = sum(len(find_citations(notebook_text(p))) for p in LESSONS)
    assert total >= 60


# -- no learner-facing text says a source is unchecked ------------------------------------------

_UNCHECKED = re.compile(
    r"could\s+not\s+(?:be\s+)?(?:check|verif|confirm)|not\s+(?:been\s+)?verified|unverified|"
    r"doi\s+not\s+(?:found|seen)|(?:has|have|had)\s+not\s+been\s+checked|not\s+checked\s+against",
    re.IGNORECASE,
)


def _learner_facing():
    files = [(p, notebook_text(p)) for p in LESSONS + SOLUTIONS + STUDENT_EXERCISES]
    files += [(p, p.read_text(encoding="utf-8")) for p in DATA_FILES + [ROOT / "README.md", REFERENCES]]
    return files


@pytest.mark.parametrize("path, text", _learner_facing(), ids=lambda x: _rel(x) if isinstance(x, Path) else "")
def test_no_text_says_a_source_is_unchecked(path, text):
    """Does the file avoid phrases that say a source could not be checked?"""
    hits = [text[max(m.start() - 40, 0):m.end() + 20].replace("\n", " ") for m in _UNCHECKED.finditer(text)]
    assert not hits, f"{_rel(path)}: {hits}"


def test_the_unchecked_phrase_check_can_fail():
    assert _UNCHECKED.search("We could not check these exact words.")
    assert _UNCHECKED.search("Arfmann 2014. (DOI not found.)")
    assert not _UNCHECKED.search("Check your answer, then run the check cell.")
