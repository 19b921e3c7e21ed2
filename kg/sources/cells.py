"""Read the values inside table cells and printed lists: years, link labels, name lists.

These functions know the portfolio's printing conventions, not its vocabulary: which
strings are countries or organisations is decided later, with the curation files.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

YEAR = re.compile(r"^\d{4}$")
YEAR_RANGE = re.compile(r"^(\d{4})\s*[-–]\s*(\d{4})$")
NO_YEAR = {"", "n.d.", "n/a", "N/A", "na", "-"}
LANGUAGE_TAG = re.compile(r"\[([^\[\]]+)\]")


@dataclass(frozen=True)
class YearCell:
    """A parsed year cell: single years, a range, or nothing (with the reason)."""

    years: tuple[str, ...] = ()
    range: tuple[str, str] | None = None
    missing: str | None = None  # "blank", "n.d.", "N/A" …


def parse_year(cell: str) -> YearCell | None:
    """None when the cell is not a year notation the portfolio uses."""
    text = cell.strip()
    if text in NO_YEAR:
        return YearCell(missing=text or "blank")
    if YEAR.match(text):
        return YearCell(years=(text,))
    if match := YEAR_RANGE.match(text):
        return YearCell(range=(match.group(1), match.group(2)))
    parts = [p.strip() for p in text.split(",")]
    if len(parts) > 1 and all(YEAR.match(p) for p in parts):
        return YearCell(years=tuple(parts))
    return None


@dataclass(frozen=True)
class LinkLabel:
    label: str
    language_tag: str | None  # as printed inside the brackets, e.g. "German", "English / Portuguese"


def split_links(cell: str, curated: list[str] | None = None) -> list[LinkLabel]:
    """Split a 'click here to learn more' cell into link labels.

    The extraction lost the link boundaries. A language tag ends a label; a curated list of
    labels (verified by the caller to spell out the cell) separates labels without tags.
    """
    text = cell.strip()
    if text.lower() in {"n/a", ""}:
        return []
    pieces = curated if curated is not None else _split_at_tags(text)
    labels = []
    for piece in pieces:
        tags = LANGUAGE_TAG.findall(piece)
        label = LANGUAGE_TAG.sub("", piece).strip()
        labels.append(LinkLabel(label or piece.strip(), tags[-1].strip() if tags else None))
    return labels


def _split_at_tags(text: str) -> list[str]:
    pieces, start = [], 0
    for match in LANGUAGE_TAG.finditer(text):
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    rest = text[start:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def split_top_level(text: str, separators: str = ",;") -> list[str]:
    """Split at separators that are not inside parentheses."""
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if char in separators and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [clean_item(i) for i in items if clean_item(i)]


def clean_item(text: str) -> str:
    text = text.strip().rstrip(".").strip()
    for prefix in ("and ", "as well as "):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    return text.strip()


def normalise(text: str) -> str:
    """A matching key: case, quotes, dashes, accents' composition and spacing folded."""
    text = unicodedata.normalize("NFC", text)
    for fancy, plain in (("“", '"'), ("”", '"'), ("„", '"'), ("’", "'"), ("–", "-"), ("—", "-")):
        text = text.replace(fancy, plain)
    text = re.sub(r"\s+", " ", text).strip().casefold()
    text = re.sub(r"^the ", "", text)
    return text.strip(" .,-")


# Letters NFKD does not decompose into an ASCII letter and a mark: without this table they would be
# dropped (Łódź → "odz"). Everything else is left to NFKD (ó → o + ◌́ → o).
TRANSLITERATION = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
        "Ð": "D",
        "ð": "d",
        "Þ": "Th",
        "þ": "th",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "ß": "ss",
        "ı": "i",
        "Ħ": "H",
        "ħ": "h",
    }
)


def slugify(text: str) -> str:
    """A readable, stable IRI segment: ASCII, lower case, hyphens; letters transliterated, not dropped."""
    return _slug(text.translate(TRANSLITERATION))


def slugify_untransliterated(text: str) -> str:
    """The segment slugify made before it transliterated (Łódź → "odz"): the IRIs published then, which
    now answer with a permanent redirect (kg.rdf.redirects)."""
    return _slug(text)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = ascii_text.replace("&", " and ")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80].rstrip("-") or "x"
