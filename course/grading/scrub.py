"""Scrub a rendered feedback page of hidden tests, in any form the grader can recognise, and of scripts.

A student's code runs in the same kernel as the hidden tests, so it can capture their source (for
example with an IPython ``pre_run_cell`` hook) and print it in a later cell of its own, in any
disguise: with non-breaking spaces or zero-width characters, as HTML entities, base64, hex, rot13,
reversed, percent-encoded, compressed, or split across HTML tags. This module works on the HTML
the student receives, after rendering, so that no disguise applied before rendering survives it:

1. the page is parsed with the standard library's :class:`html.parser.HTMLParser`; each text run
   (the text between two tags), comment and attribute value is a *unit*;
2. each unit is *normalised*: HTML entities decoded (repeatedly, so that ``&amp;#32;`` counts),
   Unicode NFKC, every whitespace, format (zero-width) and control character removed. The units
   of the page, joined, are one *stream*, so that text split by tags is whole again;
3. the stream is searched for each hidden line, normalised the same way, as written, reversed,
   in rot13, and in any letter case; and every token of the stream that the grader can decode
   (base64, standard or URL-safe, padded or not; hex; percent-encoding; zlib, gzip, bz2 or lzma
   inside base64; each of them also reversed or in rot13) is decoded, normalised and searched,
   and decoded once more inside (codecs nested twice);
4. every unit a match touches is replaced: its text by :data:`PLACEHOLDER` (the first unit of a
   match) or by nothing (the others), an attribute value by the placeholder. The rest of the page
   is kept byte for byte: a page that holds no hidden text and no script is returned unchanged.

In the page's ``<body>`` (where students' outputs and written answers are), every ``<script>``
element (a short one is shown as the text the student wrote), every element that loads another document (``iframe``, ``object``, ``embed``, ...),
every event-handler attribute (``onerror=``, ...) and every ``javascript:`` URL is removed as well:
``nbconvert`` renders a student's ``text/html`` output and markdown as they are. (The pages also
carry a policy that forbids every script; this is the second line.)

Hidden lines come from the instructor's notebooks, with nbgrader's own ``ClearHiddenTests``
(:func:`hidden_test_lines`). Lines shorter than :data:`MIN_CHARS` characters once normalised
(``pass``, ``)``) are too common to be secrets and are not scrubbed.
"""
from __future__ import annotations

import binascii
import bisect
import bz2
import codecs
import functools
import html as _html
import lzma
import re
import unicodedata
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote, unquote_plus

__all__ = ["MIN_CHARS", "PLACEHOLDER", "HiddenText", "hidden_test_lines", "normalise", "scrub_page"]

#: What replaces a text run, comment or attribute value that held hidden-test text.
PLACEHOLDER = "[hidden test text removed]"
#: A hidden line shorter than this once normalised (no whitespace) is not scrubbed.
MIN_CHARS = 8
#: Decoding goes this many codecs deep (base64 inside hex, say); compression inside base64,
#: reversal and rot13 of a token do not count as a level.
MAX_DEPTH = 2
#: Decompressed output is cut at this size (a compressed bomb cannot exhaust the grader).
MAX_INFLATE_BYTES = 2_000_000

#: A removed script up to this many characters is shown as text (what the student wrote).
MAX_SCRIPT_SHOWN = 2000
#: Elements that run or load something else; removed from the body with what they hold (script)
#: or as tags (the others: what they hold stays, as the page's own text).
_SCRIPT = "script"
_LOADERS = frozenset({"iframe", "frame", "frameset", "object", "embed", "applet", "base", "meta",
                      "link", "portal", "noembed"})
_URL_ATTRS = frozenset({"href", "src", "action", "formaction", "data", "background", "poster",
                        "lowsrc", "dynsrc", "codebase", "cite", "longdesc", "usemap", "manifest",
                        "ping", "xlink:href", "srcset", "content"})
_BAD_SCHEMES = ("javascript:", "vbscript:", "livescript:", "data:text/html", "data:application/xhtml",
                "data:image/svg", "data:text/xml", "data:application/xml")

_ROT13 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                       "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm")
_B64_FIX = str.maketrans("-_", "+/")
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]+=*")
_HEX_RUN = re.compile(r"(?:(?:\\x|0x)?[0-9A-Fa-f]{2}[,;:.\-]?)+[0-9A-Fa-f]?")
_HEX_JUNK = re.compile(r"\\x|0x|[^0-9A-Fa-f]")
_PCT_RUN = re.compile(r"[A-Za-z0-9._~!*'()+,;:@&=$/?#\[\]%-]+")
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
_ASCII_SPACE = re.compile(r"[\x00-\x20\x7f]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
#: Tokens that decode to an image: no text a student could read is in its pixels.
_IMAGES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"II*\x00", b"MM\x00*")
_MAGIC = re.compile(rb"\x78[\x01\x5e\x9c\xda]|\x1f\x8b\x08|BZh[1-9]|\xfd7zXZ\x00|\x5d\x00\x00")


@functools.lru_cache(maxsize=1)
def _ignorable():
    """A pattern of every character that takes no visible room: whitespace, format and control
    characters, variation selectors and the other default-ignorable code points."""
    codes = [c for c in range(0x80, 0x110000) if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zs", "Zl", "Zp")]
    ranges, run = [], [codes[0], codes[0]]
    for c in codes[1:]:
        if c == run[1] + 1:
            run[1] = c
        else:
            ranges.append(run)
            run = [c, c]
    ranges.append(run)
    cls = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)
    extra = "\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef"
    return re.compile("[\\s" + cls + extra + "]+")


def normalise(text: str) -> str:
    """``text`` as the scrubber compares it: entities decoded, NFKC, no whitespace or invisible characters.

    Examples
    --------
    >>> normalise("assert&nbsp;mean([])\\u200b == 0")
    'assertmean([])==0'
    """
    for _ in range(3):  # entities of entities: "&amp;nbsp;" shows as "&nbsp;" and reads as a space
        if "&" not in text:
            break
        decoded = _html.unescape(text)
        if decoded == text:
            break
        text = decoded
    if text.isascii():
        return _ASCII_SPACE.sub("", text)
    text = _ASCII_SPACE.sub("", unicodedata.normalize("NFKC", text))
    ignorable = _ignorable()
    return _NON_ASCII.sub(lambda m: ignorable.sub("", m.group()), text)


_SEP = "\ue000"  # a private-use character: kept by every step of normalise()


def _normalise_all(texts):
    """``[normalise(t) for t in texts]``, in one pass over their join where that gives the same."""
    if len(texts) < 2:
        return [normalise(t) for t in texts]
    parts = normalise(_SEP.join(texts)).split(_SEP)
    if len(parts) != len(texts):  # a text held the separator itself
        return [normalise(t) for t in texts]
    return parts


def hidden_test_lines(notebooks, config=None, min_chars: int = MIN_CHARS) -> tuple:
    """The lines of hidden tests in the instructor's ``notebooks``, longest first.

    Hidden regions are found by nbgrader's own ``ClearHiddenTests`` (with its
    ``begin_test_delimeter``/``end_test_delimeter`` from ``config``, the course's nbgrader
    configuration), in every cell; a hidden line that also appears outside the hidden regions
    (which the student sees anyway) and a line shorter than ``min_chars`` once normalised are left
    out.

    Examples
    --------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("assert f(1) == 1\\n### BEGIN HIDDEN TESTS\\n"
    ...                                  "assert f(6) == 36, 'six'\\npass\\n### END HIDDEN TESTS")
    >>> cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1}
    >>> hidden_test_lines([nbformat.v4.new_notebook(cells=[cell])])
    ("assert f(6) == 36, 'six'",)
    """
    import copy

    from nbgrader.preprocessors import ClearHiddenTests

    clear = ClearHiddenTests(config=config) if config is not None else ClearHiddenTests()
    clear.enforce_metadata = False  # a hidden region outside a grade cell is still a secret
    delimiters = (clear.begin_test_delimeter, clear.end_test_delimeter)
    hidden, shown = set(), set()
    for nb in notebooks:
        for index, cell in enumerate(nb.cells):
            before = [line.strip() for line in cell.source.splitlines()]
            after, _ = clear.preprocess_cell(copy.deepcopy(cell), {}, index)
            kept = {line.strip() for line in after.source.splitlines()}
            shown |= kept
            hidden |= {line for line in before if line not in kept
                       and not any(d in line for d in delimiters)}
    lines = {line for line in hidden - shown if len(normalise(line)) >= min_chars}
    return tuple(sorted(lines, key=lambda line: (-len(line), line)))


@dataclass(frozen=True)
class HiddenText:
    """The hidden lines, compiled for searching: each normalised, lower-cased, as written, reversed
    and in rot13 (and both), with the shortest length any of them has."""

    lines: tuple
    patterns: tuple
    shortest: int

    @classmethod
    def from_lines(cls, lines, min_chars: int = MIN_CHARS) -> "HiddenText":
        if isinstance(lines, str):
            raise TypeError(f"'hidden_lines' must be a sequence of lines, not one string. Got {lines[:40]!r} instead.")
        if not isinstance(min_chars, int) or min_chars < 1:
            raise ValueError(f"'min_chars' must be an int in [1, inf). Got {min_chars!r} instead.")
        patterns = set()
        for line in lines:
            p = normalise(str(line)).lower()
            if len(p) >= min_chars:
                r = p.translate(_ROT13)
                patterns.update((p, p[::-1], r, r[::-1]))
        shortest = min((len(p) for p in patterns), default=0)
        return cls(tuple(lines), tuple(sorted(patterns, key=len, reverse=True)), shortest)

    def occurs_in(self, normalised: str) -> bool:
        """Whether a hidden line occurs in ``normalised`` text (any case)."""
        if len(normalised) < self.shortest:
            return False
        low = normalised.lower()
        return any(p in low for p in self.patterns)


@functools.lru_cache(maxsize=8)
def _compiled(lines: tuple, min_chars: int) -> HiddenText:
    return HiddenText.from_lines(lines, min_chars)


class _Events(HTMLParser):
    """Every parse event of a page with its offset in the page.

    The offset is kept as the parser moves on (``updatepos``), not counted back from lines and
    columns with ``getpos()``, which costs as much as the parse itself on a large page.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.events = []  # (kind, start, tag, attrs, raw start tag or None)
        self._base = self._pos = 0

    def read(self, page):
        self.feed(page)
        self._base = len(page) - len(self.rawdata)  # what the parser kept back for close()
        self.close()
        return self.events

    def updatepos(self, i, j):
        self._pos = self._base + j
        return j

    def handle_starttag(self, tag, attrs):
        self.events.append(("start", self._pos, tag, attrs, self.get_starttag_text()))

    def handle_startendtag(self, tag, attrs):
        self.events.append(("startend", self._pos, tag, attrs, self.get_starttag_text()))

    def handle_endtag(self, tag):
        self.events.append(("end", self._pos, tag, None, None))

    def handle_data(self, data):
        self.events.append(("data", self._pos, None, None, None))

    def _other(self, data):
        self.events.append(("other", self._pos, None, None, None))

    handle_comment = handle_decl = handle_pi = unknown_decl = _other


def _unsafe_attr(name, value):
    if name[:2] == "on" or name == "srcdoc":
        return True
    if not value or ":" not in value and "&" not in value or not (name in _URL_ATTRS or name.endswith("href")):
        return False
    compact = _ASCII_SPACE.sub("", _html.unescape(value) if "&" in value else value).lower()
    return any(s in compact for s in _BAD_SCHEMES) if name in ("content", "srcset") \
        else compact.startswith(_BAD_SCHEMES)


def _start_tag(tag, attrs, closed):
    parts = [tag] + [name if value is None else f'{name}="{_html.escape(value, quote=True)}"'
                     for name, value in attrs]
    return "<" + " ".join(parts) + (" />" if closed else ">")


class _Finder:
    """Finds the spans of a normalised stream that hold hidden text, plain or encoded."""

    def __init__(self, hidden: HiddenText):
        self.hidden = hidden
        self.min_b64 = max(4, (hidden.shortest * 4) // 3)
        # text in bytes: the stretches that are well-formed UTF-8 (random bytes seldom are, for long)
        self.text_runs = re.compile("[^\ufffd\x00-\x08\x0e-\x1f]{%d,}" % max(1, hidden.shortest))

    def spans(self, stream):
        """Spans of ``stream`` that hold a hidden line as it is (any case, reversed, rot13)."""
        found = []
        if self.hidden.shortest == 0 or len(stream) < self.hidden.shortest:
            return found
        low = stream.lower()
        if len(low) == len(stream):
            for p in self.hidden.patterns:
                at = low.find(p)
                while at >= 0:
                    found.append((at, at + len(p)))
                    at = low.find(p, at + 1)
        else:  # a character whose lower case is longer: positions by a case-blind search instead
            pattern = re.compile("|".join(map(re.escape, self.hidden.patterns)), re.I)
            found += [m.span() for m in pattern.finditer(stream)]
        return found

    def encoded_spans(self, stream, boundaries=()):
        """Spans of ``stream``'s tokens whose decoding holds hidden text, each narrowed to the fewest
        units (``boundaries``: where units start) that still hold it, so that words glued to a token
        once whitespace is gone are kept."""
        if self.hidden.shortest == 0 or len(stream) < self.hidden.shortest:
            return []
        out = []
        for a, b in self._encoded(stream, 1):
            inside = [o for o in boundaries[bisect.bisect_right(boundaries, a):bisect.bisect_left(boundaries, b)]]
            for o in reversed(inside):
                if not self._encoded(stream[a:o], 1):
                    break
                b = o
            for o in inside:
                if o >= b or not self._encoded(stream[o:b], 1):
                    break
                a = o
            # then to the characters (words glued within one run): the most that can go from
            # each end with the token still holding hidden text, by bisection
            lo, hi = 0, b - a
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if self._encoded(stream[a + mid:b], 1) else (lo, mid - 1)
            a += lo
            lo, hi = 0, b - a
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if self._encoded(stream[a:b - mid], 1) else (lo, mid - 1)
            out.append((a, b - lo))
        return out

    # -- encoded tokens ------------------------------------------------------------------------
    def _encoded(self, text, depth):
        """Spans of tokens of ``text`` whose decoding (``depth`` codecs deep) holds hidden text."""
        out = []
        for m in _B64_RUN.finditer(text):
            tok = m.group()
            if len(tok) >= self.min_b64 and self._b64_hit(tok, depth):
                out.append(m.span())
        for m in _HEX_RUN.finditer(text):
            if m.end() - m.start() >= 2 * self.hidden.shortest and self._hex_hit(m.group(), depth):
                out.append(m.span())
        if "%" in text:
            for m in _PCT_RUN.finditer(text):
                tok = m.group()
                if len(tok) >= self.hidden.shortest and _PCT.search(tok) and self._pct_hit(tok, depth):
                    out.append(m.span())
        return out

    def _text_hit(self, text, depth):
        norm = normalise(text)
        if self.hidden.occurs_in(norm):
            return True
        return depth < MAX_DEPTH and bool(self._encoded(norm, depth + 1))

    def _bytes_hit(self, data, depth, inflate=True):
        for run in self.text_runs.findall(data.decode("utf-8", "replace")):
            if self._text_hit(run, depth):
                return True
        if inflate:
            # compressed data is the token itself (after a few bytes of words glued in front),
            # not a stream inside another format (a PNG image's pixels are no text)
            for m in list(_MAGIC.finditer(data, 0, 16))[:4]:
                inflated = _inflate(data[m.start():])
                if inflated and self._bytes_hit(inflated, depth, inflate=False):
                    return True
        return False

    def _b64_hit(self, tok, depth):
        body = tok.rstrip("=")
        if len(body) > 1024:
            try:
                if binascii.a2b_base64(body[:24].translate(_B64_FIX)).startswith(_IMAGES):
                    return False
            except binascii.Error:
                pass
        for variant in (body, body[::-1], body.translate(_ROT13)):
            variant = variant.translate(_B64_FIX)
            for offset in range(4):  # words glued in front once whitespace is gone
                part = variant[offset:]
                part = part[:len(part) - len(part) % 4] if len(part) % 4 == 1 else part
                if len(part) < self.min_b64:
                    break
                try:
                    data = binascii.a2b_base64(part + "=" * (-len(part) % 4))
                except (binascii.Error, ValueError):
                    continue
                if self._bytes_hit(data, depth):
                    return True
        return False

    def _hex_hit(self, tok, depth):
        digits = _HEX_JUNK.sub("", tok)
        for variant in (digits, digits[::-1]):
            for offset in (0, 1):
                part = variant[offset:]
                part = part[:len(part) - len(part) % 2]
                if self._bytes_hit(bytes.fromhex(part), depth):
                    return True
        return False

    def _pct_hit(self, tok, depth):
        for variant in (tok, tok[::-1]):
            for decode in (unquote, unquote_plus):
                decoded = decode(variant)
                if decoded != variant and self._text_hit(decoded, depth):
                    return True
        return False


def _inflate(data):
    """``data`` decompressed (zlib, gzip, bz2 or lzma, by its magic bytes), at most
    :data:`MAX_INFLATE_BYTES`; ``b""`` when it is not."""
    try:
        if data[:2] == b"\x1f\x8b":
            return zlib.decompressobj(wbits=31).decompress(data, MAX_INFLATE_BYTES)
        if data[:1] == b"\x78":
            return zlib.decompressobj().decompress(data, MAX_INFLATE_BYTES)
        if data[:3] == b"BZh":
            return bz2.BZ2Decompressor().decompress(data, MAX_INFLATE_BYTES)
        return lzma.LZMADecompressor().decompress(data, MAX_INFLATE_BYTES)
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError):
        return b""


def scrub_page(page: str, hidden_lines, *, placeholder: str = PLACEHOLDER,
               min_chars: int = MIN_CHARS) -> tuple:
    """``(page, n_removed)``: ``page`` without hidden-test text and without scripts in its body.

    ``hidden_lines`` are the hidden tests' lines (:func:`hidden_test_lines`) or a
    :class:`HiddenText`; ``n_removed`` is the number of placeholders put in. A page with nothing to
    remove is returned as it was, byte for byte.

    Examples
    --------
    >>> page = "<body><pre>assert&nbsp;mean([])  ==\\u200b0</pre><p>Well done.</p></body>"
    >>> scrub_page(page, ["assert mean([]) == 0"])
    ('<body><pre>[hidden test text removed]</pre><p>Well done.</p></body>', 1)
    >>> scrub_page("<body><p>pass</p></body>", ["pass"])
    ('<body><p>pass</p></body>', 0)
    """
    if not isinstance(page, str):
        raise TypeError(f"'page' must be a str. Got {type(page).__name__} instead.")
    hidden = hidden_lines if isinstance(hidden_lines, HiddenText) else _compiled(
        tuple(str(line) for line in hidden_lines), min_chars)
    events = _Events().read(page)
    shortest = hidden.shortest
    ends = [e[1] for e in events[1:]] + [len(page)]
    body = next((i for i, e in enumerate(events) if e[0] == "start" and e[2] == "body"), None)
    first = 0 if body is None else body  # the head is the template's; a page without a body is all body

    edits = {}       # page start -> (end, replacement)
    tags = {}        # event index -> [kept attributes, changed]
    raws, owners = [], []   # the text of each unit as in the page, and what it belongs to
    in_script = None
    for i in range(first, len(events)):
        kind, start, tag, attrs, raw = events[i]
        if in_script is not None:  # everything up to </script> goes with the script
            if kind == "end" and tag == _SCRIPT:
                close = page.find(">", start)
                edits[in_script] = (ends[i] if close < 0 else close + 1, "")
                in_script = None
            continue
        if kind == "data" or kind == "other":
            raws.append(page[start:ends[i]])
            owners.append((kind, start, ends[i]))
        elif kind == "end":
            if tag in _LOADERS:
                close = page.find(">", start)
                edits[start] = (ends[i] if close < 0 else close + 1, "")
        elif tag == _SCRIPT:
            if kind == "start":
                in_script = start
            else:
                edits[start] = (start + len(raw), "")
        elif tag in _LOADERS:
            edits[start] = (start + len(raw), "")
        elif attrs:
            kept = [(n, v) for n, v in attrs if not _unsafe_attr(n, v)]
            tags[i] = [kept, len(kept) != len(attrs)]
            for k, (name, value) in enumerate(kept):
                # a value is a unit of its own: one too short to hold a hidden line is skipped
                if value and (len(value) >= shortest or not value.isascii()):
                    raws.append(value)
                    owners.append(("attr", i, k))
    if in_script is not None:  # a script never closed: removed to the end of the page
        edits[in_script] = (len(page), "")
    finder, script_hits = _Finder(hidden), 0
    for start in [k for k, (_, text) in edits.items() if text == "" and page.startswith("<", k)
                  and page[k + 1:k + 7].lower() == _SCRIPT]:
        # a short script is shown as the text the student wrote (it runs no more than any text),
        # unless it holds hidden text; a long one (a plotting library's) just goes
        end = edits[start][0]
        text = normalise(page[start:end])
        if finder.spans(text) or finder.encoded_spans(text):
            edits[start] = (end, _html.escape(placeholder))
            script_hits += 1
        elif end - start <= MAX_SCRIPT_SHOWN:
            edits[start] = (end, _html.escape(page[start:end]))

    # The page's text first, in order (what the page shows, whatever tags split it); then, each
    # on its own, what it does not show in that flow: attribute values and comments.
    pieces, offsets, units, at = [], [], [], 0
    side = []
    for u, text in enumerate(_normalise_all(raws)):
        if text:
            if owners[u][0] != "data":
                side.append(("\x00" + text + "\x00", owners[u]))
                continue
            pieces.append(text)
            offsets.append(at)
            units.append(owners[u])
            at += len(text)
    for text, owner in side:
        pieces.append(text)
        offsets.append(at)
        units.append(owner)
        at += len(text)
    owners = units

    matches = []
    if pieces:
        stream = "".join(pieces)
        matches = finder.spans(stream) + finder.encoded_spans(stream, offsets)
    first_of, touched = set(), set()
    for a, b in matches:
        lo = bisect.bisect_right(offsets, a) - 1
        hi = bisect.bisect_right(offsets, b - 1) - 1
        first_of.add(lo)
        touched.update(range(lo, hi + 1))
    removed = script_hits
    safe_placeholder = _html.escape(placeholder)
    for u in sorted(touched):
        owner = owners[u]
        if owner[0] == "attr":
            _, i, k = owner
            kept = tags[i][0]
            if kept[k][1] != placeholder:
                kept[k] = (kept[k][0], placeholder)
                removed += 1
            tags[i][1] = True
        else:
            kind, start, end = owner
            put = u in first_of
            if kind == "data" and "\n" in page[start:end].strip("\n"):
                start, end = _touched_lines(page, start, end, u, offsets, pieces, matches)
            edits[start] = (end, safe_placeholder if put else "")
            removed += put
    for i, (kept, changed) in tags.items():
        if changed:
            _, start, tag, _, raw = events[i]
            edits[start] = (start + len(raw), _start_tag(tag, kept, events[i][0] == "startend"))
    if not edits:
        return page, 0
    out, pos = [], 0
    for start in sorted(edits):
        end, text = edits[start]
        if start < pos:  # inside a span already removed
            continue
        out.append(page[pos:start])
        out.append(text)
        pos = max(pos, end)
    out.append(page[pos:])
    return "".join(out), removed


def _touched_lines(page, start, end, unit, offsets, pieces, matches):
    """The part of a multi-line text run that matches touch, from its first to its last touched line."""
    base = offsets[unit]
    lines, pos = [], start
    while pos < end:
        nl = page.find("\n", pos, end)
        stop = end if nl < 0 else nl
        lines.append((pos, stop))
        pos = stop + 1
    spans, at = [], base
    for a, b in lines:
        n = len(normalise(page[a:b]))
        spans.append((at, at + n))
        at += n
    hit = [k for k, (a, b) in enumerate(spans)
           if any(ma < b and mb > a for ma, mb in matches)]
    if not hit or len(pieces[unit]) != at - base:  # a mapping that does not add up: the whole run
        return start, end
    return lines[hit[0]][0], lines[hit[-1]][1]
