"""Read the project-website extract (`001_…txt`): news items and dated events."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.sources.model import Located
from kg.sources.text import SourceText, Span

MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}
DAY_RANGE = re.compile(r"^(\d{1,2})(?:-(\d{1,2}))? ([A-Za-z]+) (\d{4})$")
MONTH_ONLY = re.compile(r"^([A-Za-z]+) (\d{4})$")
MARKERS = ("Past event",)


@dataclass
class WebsiteItem:
    title: str
    span: Span
    date_as_printed: str | None = None
    start: str | None = None  # xsd:date or xsd:gYearMonth lexical form
    end: str | None = None
    description: str | None = None
    past_event: bool = False


def parse_date(text: str) -> tuple[str, str] | None:
    """'18-19 December 2023' → ('2023-12-18', '2023-12-19'); 'December 2022' → ('2022-12', '2022-12')."""
    if match := DAY_RANGE.match(text):
        first, last, month, year = match.groups()
        number = MONTHS.get(month.lower())
        if number is None:
            return None
        start = f"{year}-{number:02d}-{int(first):02d}"
        return start, f"{year}-{number:02d}-{int(last):02d}" if last else start
    if match := MONTH_ONLY.match(text):
        month, year = match.groups()
        number = MONTHS.get(month.lower())
        return (f"{year}-{number:02d}",) * 2 if number else None
    return None


def read_website(src: SourceText) -> tuple[list[WebsiteItem], list[Located]]:
    first = src.require("More info") + 1
    last = next((n for n in range(first, len(src) + 1) if src.line(n).startswith("For the project")), len(src) + 1) - 1
    lines = [(n, src.line(n).strip()) for n in range(first, last + 1) if src.line(n).strip()]
    items: list[WebsiteItem] = []
    unplaced: list[Located] = []
    position = 0
    while position < len(lines):
        number, text = lines[position]
        position += 1
        if text.endswith(MARKERS) or text.startswith("MORE INFORM"):
            if items and text.endswith(MARKERS):
                items[-1].past_event = True
            else:
                unplaced.append(Located(text, number))
            continue
        item = WebsiteItem(title=text, span=Span(number, number))
        if position < len(lines) and (dates := parse_date(lines[position][1])):
            item.date_as_printed = lines[position][1]
            item.start, item.end = dates
            position += 1
        if position < len(lines):
            description_line, description = lines[position]
            if description.endswith(MARKERS) or parse_date(description):
                raise src.error(f"website item {text[:50]!r} has no description", description_line)
            item.description = description
            item.span = Span(number, description_line)
            position += 1
        items.append(item)
    if not items:
        raise src.error("no website items after 'More info'", first)
    return items, unplaced
