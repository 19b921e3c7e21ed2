"""Cell readers: years, link labels, name lists, matching keys."""

from __future__ import annotations

import pytest

from kg.sources.cells import normalise, parse_year, slugify, split_links, split_top_level
from kg.sources.website import parse_date


@pytest.mark.parametrize(
    ("cell", "years", "period", "missing"),
    [
        ("2021", ("2021",), None, None),
        ("2023, 2024, 2025", ("2023", "2024", "2025"), None, None),
        ("2020-2023", (), ("2020", "2023"), None),
        ("n.d.", (), None, "n.d."),
        ("N/A", (), None, "N/A"),
        ("", (), None, "blank"),
    ],
)
def test_year_cells(cell: str, years: tuple, period: tuple | None, missing: str | None) -> None:
    parsed = parse_year(cell)
    assert parsed is not None
    assert (parsed.years, parsed.range, parsed.missing) == (years, period, missing)


def test_unreadable_year_cell() -> None:
    assert parse_year("spring 2023") is None


def test_links_split_after_language_tags() -> None:
    labels = split_links("Process of the Mission Cities Action Group [German] Austrian Climate-Neutral Cities Mission")
    assert [(link.label, link.language_tag) for link in labels] == [
        ("Process of the Mission Cities Action Group", "German"),
        ("Austrian Climate-Neutral Cities Mission", None),
    ]


def test_links_split_as_curated() -> None:
    labels = split_links(
        "DK2020: A model for multi-level cooperation CONCITO",
        ["DK2020: A model for multi-level cooperation", "CONCITO"],
    )
    assert [link.label for link in labels] == ["DK2020: A model for multi-level cooperation", "CONCITO"]


def test_links_not_available() -> None:
    assert split_links("n/a") == []


def test_split_top_level_keeps_parentheses() -> None:
    text = "Mission Cities (Espoo, Helsinki) and Sitra (Finnish Innovation Fund); Kuntaliitto."
    assert split_top_level(text) == [
        "Mission Cities (Espoo, Helsinki) and Sitra (Finnish Innovation Fund)",
        "Kuntaliitto",
    ]


def test_normalise_folds_quotes_case_dashes_and_articles() -> None:
    assert normalise("The “Porto Energy Hub” One–Stop Shop ") == normalise('the "porto energy hub" one-stop shop')
    assert normalise("Territorial Transition Clusters -") == normalise("Territorial Transition Clusters")


def test_slugify_is_ascii_and_readable() -> None:
    assert slugify("Österreichische Forschungsförderungsgesellschaft (FFG)") == (
        "osterreichische-forschungsforderungsgesellschaft-ffg"
    )
    assert slugify("R&D") == "r-and-d"


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("18-19 December 2023", ("2023-12-18", "2023-12-19")),
        ("21 july 2023", ("2023-07-21",) * 2),
        ("December 2022", ("2022-12", "2022-12")),
    ],
)
def test_website_dates(printed: str, expected: tuple) -> None:
    assert parse_date(printed) == expected
