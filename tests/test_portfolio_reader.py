"""The portfolio reader on small excerpts, including the irregular ones the real text has."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.errors import SourceFormatError
from kg.sources.portfolio import PortfolioReader, clean_cell
from kg.sources.text import SourceText

FRONT = """2026 Learning Portfolio:

Categories 01 - 06: Core Challenges and Activities

01

Multi-Level Governance and Alignment

About governance.

Chapters and Content:

01 Multi-level Governance and Alignment

- 1.1 Cross-sectoral collaboration

INTRODUCTIONS

... the previous 15 core countries (AT, CZ) to wider Europe.

Index of #Hashtags

#Partnership
 #GHG (*Greenhouse Gases*)

HOW TO DEFINE A PROBLEM STATEMENT

MEET OUR THREE PERSONAS

Maria, 36, works in Italy.

THESE ARE MARIA'S MAIN CHALLENGES & NEEDS

“We need funding!”

Bring the Mission to the citizens.

LEARNING MATERIAL

01

Multi-level Governance and Alignment

1. Cross-sectoral collaboration

→ Lessons Learned

"""

SUB_HEAD = """1.1 Cross-sectoral collaboration

Collaboration matters.

{hashtag_label}

{hashtags}

Key Challenges:

- Lack of time

”

 
We need more spaces for dialogue.

— Interview with a CapaCITIES partner

01

**Multi-level governance
and alignment**

"""

CARD = """Governance Initiative

Learning Material\tCountry\tYear of release\t Click here to learn more
{row}

The initiative connects ministries. National partners supporting the Cities Mission: Vinnova; Formas.

Key Features and Formats:

- ✓ Monthly breakfast
- ✓ Joint voice

"""

PLACEHOLDER = """Fitting learning format

Type of learning format

Learning Material\tCountry\tYear of release\t Click here to learn more

About the material:

IN PROGRESS

National partners supporting the Cities Mission:

IN PROGRESS

"""

BACK = """RECORDED

MATERIAL

Recent webinars

CapaCITIES Webinar: Funding

How can the national level support cities?

24 May 2023

click!

Webinar Funding

The webinar is for facilitators.

Snapshot Profiles of the National Platforms

Core Country: Finland

Facilitator:\tMinistry of Economic Affairs and Employment
National Level Actors:\t<p>Ministries: 1) Economy</p> <p>Agencies</p>
Regional Level Actors:\tN/A
Cities:\t6 Mission Cities (Espoo, Helsinki)
Level of Formalisation (MoU):\t
Key collaboration formats and channels (working groups, standing calls, workshops):\tNetwork
Dedicated support (funding, capacity building, technical support):\t

NOW IT'S YOUR TURN
"""


def portfolio_text(
    *,
    hashtag_label: str = "Hashtags:",
    hashtags: str = "#Partnership #Synergies",
    row: str = "Smart Cities Network Austria\tAustria\t2016\tWebsite [English]",
    extra: str = "",
) -> str:
    return FRONT + SUB_HEAD.format(hashtag_label=hashtag_label, hashtags=hashtags) + CARD.format(row=row) + extra + BACK


def read(text: str):  # noqa: ANN201
    return PortfolioReader(SourceText(Path("excerpt.txt"), text)).read()


def only_subcategory(text: str):  # noqa: ANN201
    portfolio, _ = read(text)
    (sub,) = portfolio.subcategories()
    return sub


def test_reads_subcategory_parts() -> None:
    sub = only_subcategory(portfolio_text())
    assert sub.notation == "1.1"
    assert sub.heading == "Cross-sectoral collaboration"
    assert sub.description == ["Collaboration matters."]
    assert [c.text for c in sub.key_challenges] == ["Lack of time"]
    assert sub.quote is not None and sub.quote.text == "We need more spaces for dialogue."
    assert sub.quote.attribution == "Interview with a CapaCITIES partner"


@pytest.mark.parametrize(
    ("label", "hashtags", "expected_label", "expected_form"),
    [
        ("Hashtags:", "#Partnership #Synergies\n #Collaboration", "Hashtags", "plain"),
        ("Hashtags:", "#Partnership\t#Synergies\n#Collaboration\t", "Hashtags", "plain"),
        ("Hashtags:", "[#Partnership](#)\n\n[#Synergies](#)\n\n[#Collaboration](#)", "Hashtags", "link"),
        ("Keywords:", "#Partnership #Synergies\n#Collaboration", "Keywords", "plain"),
    ],
    ids=["spaces", "tabs", "markdown-links", "keywords-label"],
)
def test_hashtag_variants(label: str, hashtags: str, expected_label: str, expected_form: str) -> None:
    sub = only_subcategory(portfolio_text(hashtag_label=label, hashtags=hashtags))
    assert [h.printed for h in sub.hashtags] == ["#Partnership", "#Synergies", "#Collaboration"]
    assert sub.hashtag_label == expected_label
    assert {h.form for h in sub.hashtags} == {expected_form}


def test_hyphenated_hashtag_is_kept_as_printed() -> None:
    sub = only_subcategory(portfolio_text(hashtags="#Pre-Accession #R&D"))
    assert [h.printed for h in sub.hashtags] == ["#Pre-Accession", "#R&D"]


def test_card_cells_description_partners_features() -> None:
    sub = only_subcategory(portfolio_text(row="CrAFt platform\tEU level , Italy, The Netherlands\t2020-2023\tSite"))
    (card,) = sub.cards
    assert (card.title, card.country, card.year, card.links) == (
        "CrAFt platform",
        "EU level , Italy, The Netherlands",
        "2020-2023",
        "Site",
    )
    assert card.type_label == "Governance Initiative"
    assert card.description == ["The initiative connects ministries."]
    assert card.partners is not None and card.partners.text == "Vinnova; Formas."
    assert card.key_features == ["Monthly breakfast", "Joint voice"]


def test_empty_template_is_a_placeholder_not_a_card() -> None:
    sub = only_subcategory(portfolio_text(extra=PLACEHOLDER))
    assert len(sub.cards) == 1
    (placeholder,) = sub.placeholders
    assert placeholder.text == "IN PROGRESS"
    assert placeholder.type_label == "Type of learning format"


def test_row_with_a_missing_cell_names_file_and_line() -> None:
    text = portfolio_text(row="Smart Cities Network Austria\tAustria\t2016")
    line = text.split("\n").index("Smart Cities Network Austria\tAustria\t2016") + 1
    with pytest.raises(SourceFormatError) as caught:
        read(text)
    assert caught.value.file == "excerpt.txt" and caught.value.line == line
    assert "3 cells, expected 4" in caught.value.problem


def test_missing_hashtags_line_is_an_error() -> None:
    text = portfolio_text().replace("Hashtags:\n", "")
    with pytest.raises(SourceFormatError, match="no 'Hashtags:' or 'Keywords:' line"):
        read(text)


def test_index_personas_recorded_profiles() -> None:
    portfolio, _ = read(portfolio_text())
    assert [(e.printed, e.expansion) for e in portfolio.hashtag_index] == [
        ("#Partnership", None),
        ("#GHG", "Greenhouse Gases"),
    ]
    (maria,) = portfolio.personas
    assert [(n.text, n.quoted) for n in maria.needs] == [
        ("We need funding!", True),
        ("Bring the Mission to the citizens.", False),
    ]
    (webinar,) = portfolio.recorded
    assert (webinar.title, webinar.date, webinar.subtitle) == (
        "CapaCITIES Webinar: Funding",
        "24 May 2023",
        "How can the national level support cities?",
    )
    (profile,) = portfolio.profiles
    assert profile.heading == "Finland"
    assert profile.cells["national_actors"].text == "Ministries: 1) Economy Agencies"
    assert profile.cells["cities"].text == "6 Mission Cities (Espoo, Helsinki)"


def test_profile_row_without_tab_is_an_error() -> None:
    text = portfolio_text().replace("Regional Level Actors:\tN/A", "Regional Level Actors: N/A")
    with pytest.raises(SourceFormatError, match="profile row of Finland"):
        read(text)


def test_clean_cell_removes_html() -> None:
    raw = '<p>Ministry of Energy</p> <ol style="list-style-type: none"> 1) Development &amp; Investments</ol>'
    assert clean_cell(raw) == "Ministry of Energy 1) Development & Investments"
