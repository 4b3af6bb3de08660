"""Check a submission before any of its code runs, and repair what can be repaired.

:func:`preflight` compares a student's files with the released notebooks and returns a
:class:`Preflight`: either a rejection with a reason the student can act on, or the
notebooks to grade plus notes on what was repaired:

* a renamed notebook (``ps1 (1).ipynb``, ``ps1-1.ipynb``, ``ps1(2).ipynb``,
  ``Copy of ps1.ipynb``) is graded as ``ps1.ipynb`` when exactly one file matches;
* cells moved out of the instructor's order are put back in that order (by nbgrader
  ``grade_id``); nbgrader would otherwise run tests before answers, silently;
* deleted answer, test or read-only cells are put back from the released version, at
  their place (nbgrader restores the hidden parts of tests from the gradebook);
* edited tests or read-only cells are noted (nbgrader restores them from the gradebook).

A submission's cell metadata is the student's to write, so it is read here defensively
(:func:`_gid`): nbgrader's own helpers (``nbgrader.utils.is_grade`` and the like) assume
``metadata.nbgrader`` is a dictionary and raise when it is not. The instructor's notebooks,
which are trusted, are read with nbgrader's helpers elsewhere.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field

import nbformat

from .cells import grade_id

__all__ = ["Preflight", "preflight", "match_notebook_name", "release_cells"]

_COPY_RE = re.compile(
    r"^(?:copy of\s+)?(?P<stem>.+?)(?:\s*\(\d+\)|-\d+|\s+copy(?:\s*\d+)?)?\.ipynb$", re.I)


@dataclass
class Preflight:
    status: str                    #: "ok" or "rejected"
    reason: str = ""
    notebooks: dict = field(default_factory=dict)   #: notebook name -> notebook JSON text
    notes: list = field(default_factory=list)       #: noteworthy repairs (go in the reason)


def match_notebook_name(filename, expected):
    """The expected notebook name (without ``.ipynb``) ``filename`` stands for, or None.

    Examples
    --------
    >>> [match_notebook_name(f, {"ps1"}) for f in
    ...  ["ps1.ipynb", "ps1 (1).ipynb", "ps1-1.ipynb", "ps1(2).ipynb", "Copy of ps1.ipynb", "ps2.ipynb"]]
    ['ps1', 'ps1', 'ps1', 'ps1', 'ps1', None]
    """
    base = filename.rsplit("/", 1)[-1]
    if base.endswith(".ipynb") and base[:-6] in expected:
        return base[:-6]
    m = _COPY_RE.match(base)
    if m:
        stem = m.group("stem").strip()
        for name in expected:
            if stem.lower() == name.lower():
                return name
    return None


def release_cells(release_nb):
    """``[(grade_id, cell)]`` of the released notebook, in the instructor's order."""
    out = []
    for cell in release_nb.cells:
        gid = grade_id(cell)
        if gid:
            out.append((gid, cell))
    return out


def _load(name, data):
    """Parse ``data`` as a notebook; returns (notebook, None) or (None, reason)."""
    if not data or not data.strip():
        return None, (f"'{name}' is empty (0 bytes of notebook). Open your notebook in "
                      "Jupyter, save it (Ctrl-S) and submit the saved .ipynb file")
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except RecursionError:
        return None, (f"'{name}' is nested too deeply to be a Jupyter notebook; "
                      "submit the .ipynb file as Jupyter saved it")
    except UnicodeDecodeError:
        return None, f"'{name}' is not a text file, so it is not a Jupyter notebook"
    except json.JSONDecodeError as exc:
        return None, (f"'{name}' is not valid JSON ({exc.msg} at line {exc.lineno}, column "
                      f"{exc.colno}): the file is damaged or was edited outside Jupyter; "
                      "submit the .ipynb file as Jupyter saved it")
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        return None, (f"'{name}' is JSON but not a Jupyter notebook (it has no cells); "
                      "submit the .ipynb file as Jupyter saved it")
    try:
        nb = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return None, (f"'{name}' is not a valid Jupyter notebook ({first}); open it in "
                      "Jupyter, save it and submit it again")
    return nb, None


_SEALED_CHECK = re.compile(r'^(check\("\w+"), "[A-Za-z0-9+/=]*"\)', re.M)


def _unsealed(source):
    """A check cell's text without its sealed key: a key changed after release (a corrected answer)
    changes that line in every student's copy, which is not an edit by the student."""
    return _SEALED_CHECK.sub(r"\1)", source) if isinstance(source, str) else source


def _gid(cell):
    """The cell's nbgrader ``grade_id``; ``"(malformed)"`` when it has nbgrader marks that make no sense."""
    meta = cell.get("metadata")
    if not isinstance(meta, dict) or meta.get("nbgrader") is None:
        return None
    return grade_id(cell) or "(malformed)"


def _repair(name, nb, release_nb, notes):
    """Reorder and restore cells in place of the instructor's order; returns the notebook."""
    order = {gid: i for i, (gid, _) in enumerate(release_cells(release_nb))}
    rel = dict(release_cells(release_nb))
    # Group each known nbgrader cell with the student's own cells that follow it.
    groups, head, seen, forged = [], [], set(), []
    for cell in nb.cells:
        gid = _gid(cell)
        if gid is not None and (gid not in order or gid in seen):
            # nbgrader marks this exercise does not have (made up, or a copy of a cell):
            # the cell is kept as an ordinary cell and can neither add points nor hide a check
            forged.append(gid)
            if isinstance(cell.get("metadata"), dict):
                cell.metadata.pop("nbgrader", None)
            gid = None
        if gid in order and gid not in seen:
            seen.add(gid)
            groups.append((order[gid], gid, [cell]))
        elif groups:
            groups[-1][2].append(cell)
        else:
            head.append(cell)
    if [g[0] for g in groups] != sorted(g[0] for g in groups):
        moved = [gid for (i, gid, _), j in zip(groups, sorted(g[0] for g in groups)) if i != j]
        notes.append(f"cells of {name} were not in the original order ({', '.join(moved)} "
                     "moved); they were put back in the original order before grading")
        groups.sort(key=lambda g: g[0])
    missing = [gid for gid in order if gid not in seen]
    if missing:
        for gid in missing:
            groups.append((order[gid], gid, [copy.deepcopy(rel[gid])]))
        groups.sort(key=lambda g: g[0])
        answers = [g for g in missing if rel[g].metadata["nbgrader"].get("solution")]
        tests = [g for g in missing if g not in answers]
        if answers:
            notes.append(f"answer cell(s) {', '.join(answers)} of {name} were deleted; they "
                         "were graded as unanswered")
        if tests:
            notes.append(f"test or instruction cell(s) {', '.join(tests)} of {name} were "
                         "deleted; the originals were put back and graded")
    if forged:
        notes.append(f"cell(s) {', '.join(forged[:5])} of {name} carried grading marks this exercise "
                     "does not have (a copied or made-up check); they were treated as ordinary cells")
    edited = []
    for _, gid, cells in groups:
        rc, sc = rel[gid], cells[0]
        meta = rc.metadata["nbgrader"]
        if meta.get("locked") and not meta.get("solution") and _unsealed(sc.source) != _unsealed(rc.source):
            edited.append(gid)
    if edited:
        notes.append(f"read-only or test cell(s) {', '.join(edited)} of {name} were edited; "
                     "the originals were used for grading")
    nb.cells = head + [c for _, _, cells in groups for c in cells]
    return nb


def preflight(files, release_notebooks, problems=()):
    """Check one student's ``files`` against ``release_notebooks`` ({name: notebook}).

    Never raises for any content: whatever goes wrong becomes this student's ``rejected`` result
    with a reason, and the other students are graded as usual.
    """
    try:
        return _preflight(files, release_notebooks, problems)
    except Exception as exc:  # noqa: BLE001 - one strange file must not stop the class
        return Preflight("rejected", f"the submission could not be read ({type(exc).__name__}); "
                                     "submit the .ipynb file as Jupyter saved it")


def _preflight(files, release_notebooks, problems=()):
    if problems:
        return Preflight("rejected", "; ".join(problems))
    expected = set(release_notebooks)
    candidates = {}
    for fname in files:
        target = match_notebook_name(fname, expected)
        if target:
            candidates.setdefault(target, []).append(fname)
    notes, chosen, missing = [], {}, []
    for name in sorted(expected):
        exact = [f for f in candidates.get(name, []) if f.rsplit("/", 1)[-1] == name + ".ipynb"]
        options = exact or candidates.get(name, [])
        if len(options) == 1:
            chosen[name] = options[0]
            if options[0] != name + ".ipynb":
                notes.append(f"'{options[0]}' was graded as '{name}.ipynb' (please keep the "
                             "original file name)")
        elif len(options) > 1:
            return Preflight("rejected", (
                f"several files could be '{name}.ipynb' ({', '.join(sorted(options))}); "
                "submit exactly one file with that name"))
        else:
            missing.append(name)
    if not chosen:
        got = ", ".join(sorted(files)) or "no files"
        want = ", ".join(f"'{n}.ipynb'" for n in sorted(expected))
        return Preflight("rejected", f"no notebook named {want} was found (received: {got}); "
                                     "submit the notebook with its original name")
    if missing:
        notes.append("missing notebook(s) " + ", ".join(f"'{m}.ipynb'" for m in missing)
                     + " scored 0")
    out = {}
    for name, fname in chosen.items():
        nb, why = _load(fname, files[fname])
        if why:
            return Preflight("rejected", why)
        nb = _repair(name, nb, release_notebooks[name], notes)
        out[name] = nbformat.writes(nb)
    return Preflight("ok", notebooks=out, notes=notes)
