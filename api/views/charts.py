"""Pictures for the pages, drawn on the server as SVG, each with the table of its numbers behind it.

Pure Python: no JavaScript and nothing loaded from elsewhere. Every picture is a `<figure class="chart">`
holding an `<svg role="img" aria-labelledby=…>` (a "group" when its parts are links) with a `<title>` and
a `<desc>`, a `<figcaption>`, and a `<details>` with the data table, so that a screen reader, a keyboard or
a printout gets every number.
The map's country shapes come from api/views/static/map/europe.json (made once by scripts/vendor-map.py
from npm world-atlas, ISC licence, Natural Earth data).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from markupsafe import Markup, escape

from api.views import STATIC_DIR

MAP_FILE = Path(STATIC_DIR) / "map" / "europe.json"

# the ECL EU primary blues, light to dark; no materials: ECL's dark-20 grey
STEPS: tuple[tuple[int, str], ...] = ((1, "#cfdaf5"), (2, "#9fb5ea"), (4, "#6e91e0"), (6, "#3e6cd5"), (9, "#0a328e"))
NONE_COLOUR = "#d4d5d7"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    href: str | None = None


def colour(count: int) -> str:
    chosen = NONE_COLOUR
    for floor, fill in STEPS:
        if count >= floor:
            chosen = fill
    return chosen


def legend_steps() -> list[tuple[str, str]]:
    """(words, colour) for the legend: "no materials", "1", "2–3", …, "9 or more"."""
    items = [("no materials", NONE_COLOUR)]
    for i, (floor, fill) in enumerate(STEPS):
        upper = STEPS[i + 1][0] - 1 if i + 1 < len(STEPS) else None
        words = f"{floor} or more" if upper is None else (str(floor) if upper == floor else f"{floor}–{upper}")
        items.append((words, fill))
    return items


@cache
def europe() -> dict:
    document: dict = json.loads(MAP_FILE.read_text(encoding="utf-8"))
    return document


def _plural(n: int, word: str = "material") -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _table(caption: str, head: Sequence[str], rows: Sequence[Sequence[object]], summary: str) -> str:
    cells = "".join(
        "<tr>"
        + "".join(
            (f'<th scope="row">{cell}</th>' if i == 0 else f'<td class="number">{cell}</td>')
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    header = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    return (
        f'<details class="data-table"><summary>{escape(summary)}</summary>'
        f'<table class="ecl-table"><caption>{escape(caption)}</caption>'
        f"<thead><tr>{header}</tr></thead><tbody>{cells}</tbody></table></details>"
    )


def _link(text: str, href: str | None) -> str:
    return f'<a href="{escape(href)}">{escape(text)}</a>' if href else str(escape(text))


def country_map(
    ident: str, countries: Sequence[dict], caption: str, note: str = "", link_prefix: str = "/country/"
) -> Markup:
    """Europe with each country coloured by its number of materials, each country with materials a link.

    countries: rows with code (ISO alpha-2), name and materials (as /api/countries gives them); codes the
    map has no shape for (EU) are left to the caption and the table.
    """
    shapes = europe()
    counts = {str(row["code"]): row for row in countries}
    paths = []
    for other in shapes["others"]:
        paths.append(f'<path class="map-other" d="{other}"/>')
    for code, shape in shapes["countries"].items():
        row = counts.get(code)
        count = int(row["materials"]) if row else 0
        name = str(row["name"]) if row else shape["name"]
        fill = colour(count)
        title = f"<title>{escape(name)}: {_plural(count)}</title>"
        path = f'<path d="{shape["d"]}" fill="{fill}">{title}</path>'
        if count:
            paths.append(f'<a href="{escape(link_prefix + code)}" class="map-country" data-code="{code}">{path}</a>')
        else:
            paths.append(f'<g class="map-empty" data-code="{code}">{path}</g>')
    shown = [r for r in countries if int(r["materials"])]
    described = ", ".join(f"{r['name']} {r['materials']}" for r in sorted(shown, key=lambda r: -int(r["materials"])))
    svg = (
        # a picture whose countries are links is a group of links, not one image (axe: nested-interactive)
        f'<svg class="map" viewBox="{shapes["viewBox"]}" role="{"group" if shown else "img"}" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{escape(caption)}</title>'
        f'<desc id="{ident}-desc">Materials per country: {escape(described)}. '
        "Countries in grey have no materials.</desc>"
        f'<rect class="map-sea" width="100%" height="100%"/>{"".join(paths)}</svg>'
    )
    legend = "".join(
        f'<li><span class="swatch" style="background:{fill}"></span>{escape(words)}</li>'
        for words, fill in legend_steps()
    )
    rows = [
        (_link(str(r["name"]), link_prefix + str(r["code"])), r["materials"])
        for r in sorted(shown, key=lambda r: (-int(r["materials"]), str(r["name"])))
    ]
    table = _table(caption, ["Country", "Materials"], rows, "The numbers behind the map")
    note_html = f" {escape(note)}" if note else ""
    return Markup(
        f'<figure class="chart chart-map" id="{ident}">{svg}'
        f'<ul class="legend" aria-label="Legend: materials per country">{legend}</ul>'
        f"<figcaption>{escape(caption)}.{note_html}</figcaption>{table}</figure>"
    )


def bar_chart(ident: str, bars: Sequence[Bar], caption: str, head: tuple[str, str], unit: str = "material") -> Markup:
    """Horizontal bars, one a row, each label above its bar (long names fit a phone), the value at its end."""
    peak = max((b.value for b in bars), default=0) or 1
    width, row_height, bar_height, top = 600.0, 46.0, 18.0, 4.0
    height = top + row_height * len(bars)
    items = []
    for i, bar in enumerate(bars):
        y = top + i * row_height
        length = (width - 60) * bar.value / peak
        label = f'<text x="0" y="{y + 14:g}" class="bar-label">{escape(bar.label)}</text>'
        rect = f'<rect x="0" y="{y + 20:g}" width="{max(length, 1):.1f}" height="{bar_height:g}" rx="2"/>'
        value = f'<text x="{length + 6:.1f}" y="{y + 34:g}" class="bar-value">{bar.value}</text>'
        inner = f"<title>{escape(bar.label)}: {_plural(bar.value, unit)}</title>{label}{rect}{value}"
        items.append(f'<a href="{escape(bar.href)}">{inner}</a>' if bar.href else f"<g>{inner}</g>")
    described = "; ".join(f"{b.label}: {b.value}" for b in bars)
    role = "group" if any(b.href for b in bars) else "img"  # bars that are links: a group of links, not one image
    svg = (
        f'<svg class="bars" viewBox="0 0 {width:g} {height:g}" role="{role}" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{escape(caption)}</title><desc id="{ident}-desc">{escape(described)}</desc>'
        f"{''.join(items)}</svg>"
    )
    rows = [(_link(b.label, b.href), b.value) for b in bars]
    table = _table(caption, list(head), rows, "The numbers behind the chart")
    return Markup(
        f'<figure class="chart" id="{ident}">{svg}<figcaption>{escape(caption)}.</figcaption>{table}</figure>'
    )
