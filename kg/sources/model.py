"""Plain records read from the source texts. Raw cell text is kept verbatim."""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.sources.text import Span


@dataclass
class Located:
    """A piece of text and the line it was printed on."""

    text: str
    line: int


@dataclass
class Quote:
    text: str
    span: Span
    attribution: str | None = None
    quoted: bool = True  # printed between quotation marks


@dataclass
class HashtagUse:
    printed: str  # with '#', as printed
    line: int
    form: str = "plain"  # plain | link (markdown link form)


@dataclass
class Card:
    """One printed learning-material card (a table row and the text under it)."""

    notation: str
    position: int
    span: Span
    row_line: int
    type_label: str | None
    type_heading: str | None
    columns: list[str]
    title: str
    country: str
    year: str
    links: str
    description: list[str] = field(default_factory=list)
    partners: Located | None = None
    organisers: Located | None = None
    footnotes: list[str] = field(default_factory=list)
    key_features: list[str] = field(default_factory=list)
    pull_quotes: list[Quote] = field(default_factory=list)


@dataclass
class Placeholder:
    """An empty or "IN PROGRESS" card template: recorded, never a material."""

    notation: str
    position: int
    span: Span
    type_label: str | None
    text: str  # "IN PROGRESS" or "" for an empty template


@dataclass
class Subcategory:
    notation: str
    heading: str
    span: Span
    description: list[str] = field(default_factory=list)
    hashtag_label: str = "Hashtags"
    hashtags: list[HashtagUse] = field(default_factory=list)
    stray_hashtags: list[HashtagUse] = field(default_factory=list)
    key_challenges: list[Located] = field(default_factory=list)
    quote: Quote | None = None
    cards: list[Card] = field(default_factory=list)
    placeholders: list[Placeholder] = field(default_factory=list)
    pull_quotes: list[Quote] = field(default_factory=list)
    placeholder_marks: list[int] = field(default_factory=list)  # lines reading IN PROGRESS outside cards


@dataclass
class Lesson:
    title: str
    text: str
    line: int
    block: int  # 1 for the first "Key take-aways" block of the page, 2 for a repeated one


@dataclass
class HowToStep:
    name: str
    text: str
    line: int


@dataclass
class DeepDive:
    category: str
    banner: str
    span: Span
    title: str | None
    description: list[str] = field(default_factory=list)
    partners: Located | None = None
    howto_title: str | None = None
    steps: list[HowToStep] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    placeholder: str | None = None  # "IN PROGRESS" when the page is a template


@dataclass
class Category:
    notation: str  # "01" … "06"
    title: str  # as on the category page
    span: Span
    overview_title: str | None = None
    overview_description: str | None = None
    toc_title: str | None = None
    toc_items: dict[str, Located] = field(default_factory=dict)  # notation → title in the table of contents
    page_items: dict[str, Located] = field(default_factory=dict)  # notation → title in the category page list
    intro_quotes: list[Quote] = field(default_factory=list)
    subcategories: list[Subcategory] = field(default_factory=list)
    lessons: list[Lesson] = field(default_factory=list)
    lessons_span: Span | None = None
    deep_dives: list[DeepDive] = field(default_factory=list)


@dataclass
class IndexEntry:
    printed: str
    expansion: str | None
    line: int


@dataclass
class PersonaNeed:
    text: str
    line: int
    quoted: bool


@dataclass
class Persona:
    name: str
    age: int
    description: str
    span: Span
    needs: list[PersonaNeed] = field(default_factory=list)
    needs_span: Span | None = None


@dataclass
class RecordedItem:
    """An entry of the "Recorded material" page."""

    section: str  # "Recent webinars" | "Other online meetings, events and learning materials"
    title: str
    span: Span
    subtitle: str | None = None
    date: str | None = None
    link_label: str | None = None
    caption: str | None = None
    description: str | None = None


@dataclass
class ProfileCell:
    label: str
    raw: str
    text: str  # HTML removed, whitespace collapsed
    line: int


@dataclass
class Profile:
    heading: str  # country as printed after "Core Country: "
    span: Span
    cells: dict[str, ProfileCell] = field(default_factory=dict)  # key → cell


@dataclass
class Portfolio:
    source: str
    edition_label: str
    edition_year: str
    grant: str | None
    categories: list[Category]
    hashtag_index: list[IndexEntry]
    index_span: Span
    personas: list[Persona]
    recorded: list[RecordedItem]
    profiles: list[Profile]
    core_countries_line: Located | None = None

    def subcategories(self) -> list[Subcategory]:
        return [sub for category in self.categories for sub in category.subcategories]
