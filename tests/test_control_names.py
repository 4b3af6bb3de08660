"""Every control a lesson or exercise tells the learner to use exists under that name.

A learner who reads "set **Episode length (days)**" and finds only "Episode length" beside a
slider has to guess. Instructions name controls after a verb (set, move, drag, lower, raise,
tick, untick, clear, slide, turn) in bold or italics; each such name must be a control's label
in the explorers' code, or that label without its unit in brackets ("Carer's help" for
"Carer's help (hours a week)").
"""
from __future__ import annotations

import ast
import glob
import json
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: a verb of moving a control, then the control's name in bold or italics
INSTRUCTION = re.compile(r"\b(?:[Ss]et|[Mm]ove|[Dd]rag|[Ll]ower|[Rr]aise|[Tt]ick|[Uu]ntick|[Cc]lear|[Ss]lide|[Tt]urn)"
                         r"\s+(?:the\s+)?(\*\*?)([^*\n]+)\1(?!\*)")
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb"))
                   + glob.glob(os.path.join(ROOT, "solutions", "*", "*.ipynb"))
                   + glob.glob(os.path.join(ROOT, "exercises", "*", "*.ipynb")))


def control_labels():
    """Every text in the explorers' code (control labels are among them)."""
    out = set()
    for path in glob.glob(os.path.join(ROOT, "course", "explorers", "*.py")):
        with open(path, encoding="utf-8") as fh:
            for node in ast.walk(ast.parse(fh.read())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    out.add(node.value)
    return out


def named_controls(text):
    return [m.group(2).strip() for m in INSTRUCTION.finditer(text)]


def is_a_control(name, labels):
    return name in labels or any(label.startswith(name + " (") for label in labels)


def test_the_scan_finds_instructions_and_rejects_a_stale_name():
    labels = {"Episode length", "Carer's help (hours a week)"}
    text = "1. Set **Episode length (days)** to 30, then move *Carer's help* up and drag **Episode length** down."
    assert named_controls(text) == ["Episode length (days)", "Carer's help", "Episode length"]
    assert [is_a_control(n, labels) for n in named_controls(text)] == [False, True, True]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: os.path.relpath(p, ROOT))
def test_every_control_named_in_an_instruction_exists(path):
    labels = control_labels()
    with open(path, encoding="utf-8") as fh:
        nb = json.load(fh)
    stale = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        stale += [n for n in named_controls(source) if not is_a_control(n, labels)]
    assert not stale, f"controls named in instructions but not found in course/explorers: {stale}"
