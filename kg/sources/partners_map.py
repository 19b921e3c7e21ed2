"""Read the partners-map brochure (`002_…txt`): core and supporting countries, activities."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kg.sources.text import SourceText, Span

SPACED = re.compile(r"^(?:\S{1,2} ){3,}")
CODE = re.compile(r"\b[A-Z]{2}\b")


@dataclass
class Activity:
    name: str
    span: Span
    description: str


@dataclass
class PartnersMap:
    core_countries: list[str]
    core_span: Span
    supporting_countries: list[str]
    supporting_span: Span
    activities: list[Activity] = field(default_factory=list)


def unspace(text: str) -> str:
    """'Tr a n s n a t i o n a l  A l l i a n c e' → 'Transnational Alliance'."""
    return " ".join(re.sub(r"(?<=\S) (?=\S)", "", word) for word in re.split(r" {2,}", text.strip()))


def _codes_after(src: SourceText, prefix: str, start: int = 1) -> tuple[list[str], Span]:
    """Two-letter codes after `prefix` (or from line `start` when prefix is empty), over continued lines."""
    number = next((n for n in range(start, len(src) + 1) if src.line(n).strip().startswith(prefix)), None)
    if number is None:
        raise src.error(f"no line starting {prefix!r}", start)
    codes, last = [], number
    text = src.line(number).strip()[len(prefix) :]
    while True:
        found = CODE.findall(text)
        codes += found
        if not text.rstrip().endswith(",") or last + 1 > len(src):
            break
        last += 1
        text = src.line(last)
    if not codes:
        raise src.error(f"no country codes after {prefix!r}", number)
    return codes, Span(number, last)


def read_partners_map(src: SourceText) -> PartnersMap:
    supporting, supporting_span = _codes_after(src, "Supporting countries")
    core_heading = next(
        (n for n in range(1, len(src) + 1) if src.line(n).strip().startswith("15 core countries")), None
    )
    if core_heading is None:
        raise src.error("no '15 core countries' heading", 1)
    code_line = next(n for n in range(core_heading + 1, len(src) + 1) if CODE.search(src.line(n)))
    core, core_span = _codes_after(src, "", code_line)
    result = PartnersMap(core, Span(core_heading, core_span.last), supporting, supporting_span)

    headings: list[tuple[int, int, str]] = []  # (first line, last line, name)
    number = 1
    while number <= len(src):
        if SPACED.match(src.line(number).strip() + " "):
            first = number
            parts = [src.line(number)]
            while number + 1 <= len(src) and SPACED.match(src.line(number + 1).strip() + " "):
                number += 1
                parts.append(src.line(number))
            headings.append((first, number, unspace(" ".join(p.strip() + "  " for p in parts))))
        number += 1
    activities_at = next((i for i, (_, _, name) in enumerate(headings) if name == "CapaCITIES Activities"), None)
    if activities_at is None:
        raise src.error("no 'C a p a C I T I E S A c t i v i t i e s' heading", 1)
    following = [*headings[activities_at + 1 :], (len(src) + 1, len(src) + 1, "")]
    for (first, last, name), (next_first, _, _) in zip(following, following[1:], strict=False):
        lines = [src.line(n).strip() for n in range(last + 1, next_first)]
        paragraph: list[str] = []
        for line in lines:
            if not line:
                if paragraph:
                    break
                continue
            paragraph.append(line)
        text = " ".join(paragraph).replace("- ", "-")
        result.activities.append(Activity(name.replace("’", "").strip(), Span(first, last + len(lines)), text))
    return result
