"""Read the Learning Portfolio text extraction into records.

The extraction is irregular (see docs/sources.md): tables arrive as tab-separated rows,
page banners repeat category titles, some subcategories print their hashtags as links,
tabs or "Keywords:", and empty card templates stand between real cards. The reader walks
the text once, section by section, and keeps the line span of everything it reads. Lines
it cannot place are kept in `Portfolio.unplaced` so the data-quality report can show them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from kg.sources.model import (
    Card,
    Category,
    DeepDive,
    HashtagUse,
    HowToStep,
    IndexEntry,
    Lesson,
    Located,
    Persona,
    PersonaNeed,
    Placeholder,
    Portfolio,
    Profile,
    ProfileCell,
    Quote,
    RecordedItem,
    Subcategory,
)
from kg.sources.text import SourceText, Span

TABLE_HEADER = "Learning Material\t"
CARD_COLUMNS = 4
GENERIC_TYPE_HEADINGS = {"Learning format", "Fitting learning format"}
PLACEHOLDER_LINES = {
    "About the material:",
    "IN PROGRESS",
    "National partners supporting the Cities Mission:",
    "Key Features and Formats:",
    "Key Features and *Formats*:",
}
PARTNERS_MARKER = re.compile(r"(?:Some of the )?[Nn]ational partners? supporting the Cities Mission:\s*")
SUBCATEGORY_HEADING = re.compile(r"^([1-6])\.([1-9]) (\S.*)$")
PAGE_ITEM = re.compile(r"^([1-9])\. (\S.*)$")
TOC_CATEGORY = re.compile(r"^(0[1-6]) (\S.*)$")
TOC_ITEM = re.compile(r"^- ([1-6]\.[1-9]) (\S.*)$")
HASHTAG = re.compile(r"#[\w&-]+")
LINK_HASHTAG = re.compile(r"\[(#[\w&-]+)\]\(#\)")
INDEX_ENTRY = re.compile(r"^(#[\w&-]+)(?:\s*\(\*(.+)\*\))?$")
OPEN_QUOTES = ("“", '"', "„")
CLOSE_QUOTE_MARK = "”"
PERSONA_INTRO = re.compile(r"^(\w+), (\d+), (.+)$")
NEEDS_HEADING = re.compile(r"^THESE ARE (\w+)'S MAIN CHALLENGES & NEEDS$")
DATE = re.compile(r"^\d{1,2}(?:-\d{1,2})? [A-Za-z]+ \d{4}$")
HTML_TAG = re.compile(r"<[^>]+>")

PROFILE_ROWS = {
    "Facilitator": "facilitator",
    "National Level Actors": "national_actors",
    "Regional Level Actors": "regional_actors",
    "Cities": "cities",
    "Level of Formalisation (MoU)": "formalisation",
    "Key collaboration formats and channels (working groups, standing calls, workshops)": "collaboration_formats",
    "Dedicated support (funding, capacity building, technical support)": "dedicated_support",
}


def clean_cell(raw: str) -> str:
    """Cell text without HTML tags or entities, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(HTML_TAG.sub(" ", raw))).strip()


def strip_emphasis(text: str) -> str:
    return text.replace("**", "").replace("*", "").strip()


def is_quote_line(text: str) -> bool:
    return text.startswith(OPEN_QUOTES) and len(text) > 2


def unquote(text: str) -> str:
    return text.strip().strip('“”"„').strip()


@dataclass
class _Cursor:
    """Non-blank lines of a region, as (line number, stripped text)."""

    items: list[tuple[int, str]]
    pos: int = 0

    @classmethod
    def over(cls, src: SourceText, first: int, last: int) -> _Cursor:
        return cls([(n, src.line(n).strip()) for n in range(first, last + 1) if src.line(n).strip()])

    def peek(self) -> tuple[int, str] | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def take(self) -> tuple[int, str]:
        item = self.items[self.pos]
        self.pos += 1
        return item

    def done(self) -> bool:
        return self.pos >= len(self.items)


@dataclass
class PortfolioReader:
    src: SourceText
    unplaced: list[Located] = field(default_factory=list)
    _titles: set[str] = field(default_factory=set)

    # -- whole document -------------------------------------------------------------

    def read(self) -> tuple[Portfolio, list[Located]]:
        src = self.src
        edition_line = next((n for n in range(1, 40) if re.match(r"^\d{4} Learning Portfolio:", src.line(n))), None)
        if edition_line is None:
            raise src.error("no edition line such as '2026 Learning Portfolio:' near the top", 1)
        edition_year = src.line(edition_line)[:4]
        grant = None
        for n in range(1, 60):
            match = re.search(r"grant agreement n° (\d+)", src.line(n))
            if match:
                grant = match.group(1)
                break

        overview = src.require("Categories 01 - 06: Core Challenges and Activities")
        toc = src.require("Chapters and Content:", overview)
        intro = src.require("INTRODUCTIONS", toc)
        index = src.require("Index of #Hashtags", intro)
        define = src.require("HOW TO DEFINE A PROBLEM STATEMENT", index)
        personas = src.require("MEET OUR THREE PERSONAS", define)
        body = src.require("LEARNING MATERIAL", personas)
        recorded = src.require("RECORDED", body)
        profiles = src.require("Snapshot Profiles of the National Platforms", recorded)
        outro = src.require("NOW IT'S YOUR TURN", profiles)

        categories = self._categories(body + 1, recorded - 1)
        self._overview(categories, overview + 1, toc - 1)
        self._toc(categories, toc + 1, intro - 1)
        core_line = next(
            (Located(src.line(n).strip(), n) for n in range(intro, index) if "core countries (" in src.line(n)), None
        )
        portfolio = Portfolio(
            source=src.name,
            edition_label=src.line(edition_line).strip().rstrip(":"),
            edition_year=edition_year,
            grant=grant,
            categories=categories,
            hashtag_index=self._index(index + 1, define - 1),
            index_span=Span(index, define - 1),
            personas=self._personas(personas + 1, body - 1),
            recorded=self._recorded(recorded, profiles - 1),
            profiles=self._profiles(profiles + 1, outro - 1),
            core_countries_line=core_line,
        )
        return portfolio, self.unplaced

    # -- front matter ---------------------------------------------------------------

    def _overview(self, categories: list[Category], first: int, last: int) -> None:
        by_notation = {c.notation: c for c in categories}
        cursor = _Cursor.over(self.src, first, last)
        while not cursor.done():
            number, text = cursor.take()
            if text in by_notation and not cursor.done():
                category = by_notation[text]
                category.overview_title = cursor.take()[1]
                if not cursor.done():
                    category.overview_description = cursor.take()[1]
            else:
                self.unplaced.append(Located(text, number))

    def _toc(self, categories: list[Category], first: int, last: int) -> None:
        by_notation = {c.notation: c for c in categories}
        current: Category | None = None
        for number in range(first, last + 1):
            text = self.src.line(number).strip()
            if not text:
                continue
            if match := TOC_CATEGORY.match(text):
                current = by_notation.get(match.group(1))
                if current is None:
                    raise self.src.error(
                        f"table of contents names category {match.group(1)}, which has no page", number
                    )
                current.toc_title = match.group(2)
            elif match := TOC_ITEM.match(text):
                if current is None:
                    raise self.src.error("table-of-contents item before any category", number)
                current.toc_items[match.group(1)] = Located(match.group(2), number)
            else:
                self.unplaced.append(Located(text, number))

    def _index(self, first: int, last: int) -> list[IndexEntry]:
        entries = []
        for number in range(first, last + 1):
            text = self.src.line(number).strip()
            if not text.startswith("#"):
                continue
            match = INDEX_ENTRY.match(text)
            if not match:
                raise self.src.error(f"hashtag index entry {text!r} is not '#Tag' or '#Tag (*expansion*)'", number)
            entries.append(IndexEntry(match.group(1), match.group(2), number))
        if not entries:
            raise self.src.error("the hashtag index lists no hashtags", first)
        return entries

    def _personas(self, first: int, last: int) -> list[Persona]:
        personas: dict[str, Persona] = {}
        current: Persona | None = None
        for number in range(first, last + 1):
            text = self.src.line(number).strip()
            if not text:
                continue
            if match := PERSONA_INTRO.match(text):
                name = match.group(1)
                personas[name] = Persona(name, int(match.group(2)), text, Span(number, number))
                current = None
            elif match := NEEDS_HEADING.match(text):
                name = match.group(1).capitalize()
                if name not in personas:
                    raise self.src.error(f"needs of {name}, who was not introduced", number)
                current = personas[name]
                current.needs_span = Span(number, number)
            elif current is not None and current.needs_span is not None:  # after a needs heading
                current.needs.append(PersonaNeed(unquote(text), number, quoted=is_quote_line(text)))
                current.needs_span = Span(current.needs_span.first, number)
            else:
                self.unplaced.append(Located(text, number))
        if not personas:
            raise self.src.error("no persona introductions ('Name, age, ...')", first)
        return list(personas.values())

    # -- categories -----------------------------------------------------------------

    def _category_starts(self, first: int, last: int) -> list[int]:
        starts = []
        for number in range(first, last + 1):
            if not re.fullmatch(r"0[1-6]", self.src.line(number).strip()):
                continue
            following = [t for _, t in _Cursor.over(self.src, number + 1, min(number + 8, last)).items[:2]]
            if len(following) == 2 and PAGE_ITEM.match(following[1]):
                starts.append(number)
        if not starts:
            raise self.src.error("no category page (a '01' line, a title, then a numbered list)", first)
        return starts

    def _categories(self, first: int, last: int) -> list[Category]:
        starts = self._category_starts(first, last)
        bounds = list(zip(starts, [*(s - 1 for s in starts[1:]), last], strict=True))
        self._titles = {_Cursor.over(self.src, start + 1, end).items[0][1] for start, end in bounds}
        return [self._category(start, end) for start, end in bounds]

    def _category(self, start: int, end: int) -> Category:
        src = self.src
        notation = src.line(start).strip()
        cursor = _Cursor.over(src, start + 1, end)
        title = cursor.take()[1]
        category = Category(notation=notation, title=title, span=Span(start, end))
        digit = str(int(notation))

        headings = [
            n
            for n in range(start, end + 1)
            if (m := SUBCATEGORY_HEADING.match(src.line(n).strip())) and m.group(1) == digit
        ]
        lesson_starts = [n for n in range(start, end + 1) if self._is_lessons_start(n)]
        dive_starts = [n for n in range(start, end + 1) if self._is_deep_dive_start(n)]
        landmarks = sorted({*headings, *lesson_starts[:1], *dive_starts[:1], end + 1})

        page_end = (headings[0] if headings else landmarks[0]) - 1
        for number, text in _Cursor.over(src, start + 2, page_end).items:
            if text == title:
                continue
            if match := PAGE_ITEM.match(text):
                category.page_items[f"{digit}.{match.group(1)}"] = Located(match.group(2), number)
            elif is_quote_line(text):
                category.intro_quotes.append(Quote(unquote(text), Span(number, number), quoted=True))
            elif text not in {"→ Lessons Learned", "➔ Lessons Learned", "★ Deep Dive Example"}:
                self.unplaced.append(Located(text, number))

        def region_end(begin: int) -> int:
            return next(mark for mark in landmarks if mark > begin) - 1

        for heading in headings:
            category.subcategories.append(
                self._subcategory(heading, self._trim_banner(heading, region_end(heading), category))
            )
        if lesson_starts:
            self._lessons(category, lesson_starts[0], region_end(lesson_starts[0]))
        if dive_starts:
            category.deep_dives.append(self._deep_dive(category, dive_starts[0], region_end(dive_starts[0])))
        return category

    def _is_lessons_start(self, number: int) -> bool:
        text = self.src.line(number).strip()
        return text.endswith("Lessons Learned") and not text.startswith(("→", "➔"))

    def _is_deep_dive_start(self, number: int) -> bool:
        text = self.src.line(number).strip()
        return text.endswith("Deep Dive Example") and not text.startswith("★")

    @property
    def category_titles(self) -> set[str]:
        return {title.lower() for title in self._titles}

    def _banner_text(self, category: Category) -> set[str]:
        names = {category.title, category.overview_title or "", category.toc_title or ""}
        return {n.lower() for n in names if n}

    def _trim_banner(self, heading: int, end: int, category: Category) -> int:
        """Exclude a category banner line printed just before the next section."""
        number = end
        while number > heading and not self.src.line(number).strip():
            number -= 1
        if strip_emphasis(self.src.line(number)).lower() in self._banner_text(category):
            return number - 1
        return end

    # -- subcategories --------------------------------------------------------------

    def _subcategory(self, heading: int, end: int) -> Subcategory:
        src = self.src
        match = SUBCATEGORY_HEADING.match(src.line(heading).strip())
        assert match  # the caller selected headings by this pattern
        sub = Subcategory(
            notation=f"{match.group(1)}.{match.group(2)}", heading=match.group(3), span=Span(heading, end)
        )
        cursor = _Cursor.over(src, heading + 1, end)

        while (item := cursor.peek()) and item[1] not in {"Hashtags:", "Keywords:"}:
            if self._is_banner_number(item[1]) or item[1].startswith(TABLE_HEADER):
                raise src.error(f"subcategory {sub.notation} has no 'Hashtags:' or 'Keywords:' line", item[0])
            sub.description.append(cursor.take()[1])
        if cursor.done():
            raise src.error(f"subcategory {sub.notation} has no 'Hashtags:' or 'Keywords:' line", heading)
        sub.hashtag_label = cursor.take()[1].rstrip(":")

        while (item := cursor.peek()) and item[1] != "Key Challenges:":
            number, text = cursor.take()
            uses = self._hashtags(text, number)
            if not uses:
                raise src.error(f"expected hashtags in subcategory {sub.notation}, found {text[:60]!r}", number)
            sub.hashtags.extend(uses)
        if cursor.done():
            raise src.error(f"subcategory {sub.notation} has no 'Key Challenges:' line", heading)
        cursor.take()

        while (item := cursor.peek()) and not item[1].startswith(CLOSE_QUOTE_MARK):
            number, text = cursor.take()
            if text.startswith("- "):
                sub.key_challenges.append(Located(text[2:].strip(), number))
            else:
                self.unplaced.append(Located(text, number))
        if not cursor.done():
            sub.quote = self._interview_quote(cursor)

        while (item := cursor.peek()) and not self._is_banner_number(item[1]):
            number, text = cursor.take()
            if uses := self._hashtags(text, number):
                sub.stray_hashtags.extend(uses)
            elif text == "IN PROGRESS":
                sub.placeholder_marks.append(number)
            else:
                self.unplaced.append(Located(text, number))
        if not cursor.done():
            cursor.take()  # the category number of the page banner
            while (item := cursor.peek()) and self._is_banner_line(item):
                cursor.take()
        self._cards(sub, cursor)
        return sub

    def _is_banner_number(self, text: str) -> bool:
        return bool(re.fullmatch(r"0[1-6]", text))

    def _is_banner_line(self, item: tuple[int, str]) -> bool:
        """Banner title lines follow the category number with no blank line between them."""
        number, text = item
        previous = self.src.line(number - 1).strip()
        after_number = self._is_banner_number(previous)
        continues = not after_number and previous and not previous.startswith(TABLE_HEADER)
        if after_number or continues:
            return not text.startswith(TABLE_HEADER) and len(text) < 60 and not text.startswith(("“", '"'))
        # a banner title can also stand after one blank line following the number
        before = self.src.line(number - 2).strip() if number > 2 else ""
        return not previous and self._is_banner_number(before)

    def _hashtags(self, text: str, number: int) -> list[HashtagUse]:
        linked = LINK_HASHTAG.findall(text)
        if linked:
            return [HashtagUse(tag, number, "link") for tag in linked]
        words = text.replace("\t", " ").split()
        if words and all(w.startswith("#") for w in words):
            return [HashtagUse(tag, number) for word in words for tag in HASHTAG.findall(word)]
        return []

    def _interview_quote(self, cursor: _Cursor) -> Quote:
        first, text = cursor.take()
        lines = [text.lstrip(CLOSE_QUOTE_MARK).strip()] if text.strip(CLOSE_QUOTE_MARK).strip() else []
        last = first
        attribution = None
        while (item := cursor.peek()) and not self._is_banner_number(item[1]):
            number, line = cursor.take()
            last = number
            if line.startswith("— "):
                attribution = line[2:].strip()
                break
            lines.append(line)
        body = strip_emphasis(" ".join(lines)).strip('“”" ')
        return Quote(body, Span(first, last), attribution=attribution, quoted=True)

    # -- cards ----------------------------------------------------------------------

    def _cards(self, sub: Subcategory, cursor: _Cursor) -> None:
        preamble: list[tuple[int, str]] = []
        position = 0
        while (item := cursor.peek()) is not None:
            _, text = item
            if text.startswith(TABLE_HEADER):
                position += 1
                self._card(sub, position, preamble, cursor)
                preamble = []
            else:
                preamble.append(cursor.take())
        for number, text in preamble:
            if is_quote_line(text):
                sub.pull_quotes.append(Quote(unquote(text), Span(number, number), quoted=True))
            elif text == "IN PROGRESS":
                sub.placeholder_marks.append(number)
            else:
                self.unplaced.append(Located(text, number))

    def _card(self, sub: Subcategory, position: int, preamble: list[tuple[int, str]], cursor: _Cursor) -> None:
        header_line, header = cursor.take()
        columns = [c.strip() for c in header.split("\t")]
        labels = [(n, t) for n, t in preamble if not is_quote_line(t)]
        quotes = [Quote(unquote(t), Span(n, n), quoted=True) for n, t in preamble if is_quote_line(t)]
        type_heading = None
        if len(labels) >= 2 and labels[0][1] in GENERIC_TYPE_HEADINGS:
            type_heading = labels[0][1]
            labels = labels[1:]
        for number, text in labels[:-1]:
            self.unplaced.append(Located(text, number))
        type_label = labels[-1][1] if labels else None
        first = min([n for n, _ in preamble] + [header_line])

        row = cursor.peek()
        if row is None or "\t" not in self.src.line(row[0]):
            last = header_line
            saw_in_progress = False
            while (item := cursor.peek()) and item[1] in PLACEHOLDER_LINES:
                last, text = cursor.take()
                saw_in_progress |= text == "IN PROGRESS"
            sub.placeholders.append(
                Placeholder(
                    sub.notation, position, Span(first, last), type_label, "IN PROGRESS" if saw_in_progress else ""
                )
            )
            return

        row_line, _ = cursor.take()
        cells = [c.strip() for c in self.src.line(row_line).split("\t")]
        if len(cells) != CARD_COLUMNS:
            raise self.src.error(
                f"table row has {len(cells)} cells, expected {CARD_COLUMNS} "
                f"({', '.join(columns) or 'title, country, year, link labels'})",
                row_line,
            )
        if not cells[0]:
            raise self.src.error("table row has an empty 'Learning Material' (title) cell", row_line)
        card = Card(
            notation=sub.notation,
            position=position,
            span=Span(first, row_line),
            row_line=row_line,
            type_label=type_label,
            type_heading=type_heading,
            columns=columns,
            title=cells[0],
            country=cells[1],
            year=cells[2],
            links=cells[3],
            pull_quotes=quotes,
        )
        last = row_line
        while (item := cursor.peek()) and not item[1].startswith("Key Features"):
            number, text = item
            if text.startswith(TABLE_HEADER) or SUBCATEGORY_HEADING.match(text):
                break
            cursor.take()
            last = number
            marker = PARTNERS_MARKER.search(text)
            if marker:
                before = text[: marker.start()].strip()
                if before:
                    card.description.append(before)
                partners = text[marker.end() :].strip()
                if partners:
                    card.partners = Located(partners, number)
            elif text.startswith("*former"):
                card.footnotes.append(text.strip("*"))
            elif text.startswith("Organizers include:"):
                card.organisers = Located(text.split(":", 1)[1].strip(), number)
            else:
                card.description.append(text)
        if (item := cursor.peek()) and item[1].startswith("Key Features"):
            last, _ = cursor.take()
            while (item := cursor.peek()) and item[1].startswith("- "):
                last, text = cursor.take()
                card.key_features.append(text[2:].lstrip("✓").strip())
        card.span = Span(first, last)
        sub.cards.append(card)

    # -- lessons and deep dives -----------------------------------------------------

    def _lessons(self, category: Category, start: int, end: int) -> None:
        category.lessons_span = Span(start, end)
        block = 0
        heading = None
        for number, text in _Cursor.over(self.src, start + 1, end).items:
            if re.match(r"^[→➔] Key [Tt]ake-[Aa]ways:$", text):
                block += 1
            elif text == "IN PROGRESS" or strip_emphasis(text).lower() in self._banner_text(category):
                continue
            elif text.endswith(":") and block:
                heading = text.rstrip(":")
            elif block:
                title, rest = self._split_lesson(text, category)
                lesson = Lesson(title.strip(), rest.strip(), number, block)
                if heading and block > 1:
                    lesson.title = lesson.title or heading
                category.lessons.append(lesson)
            else:
                self.unplaced.append(Located(text, number))

    @staticmethod
    def _split_lesson(text: str, category: Category) -> tuple[str, str]:
        """'Title: text', where the title may itself contain a colon when it is a subcategory title."""
        labels = [sub.heading for sub in category.subcategories]
        labels += [item.text for item in (*category.page_items.values(), *category.toc_items.values())]
        for label in sorted(labels, key=len, reverse=True):
            if text.startswith(label + ":"):
                return label, text[len(label) + 1 :].strip()
        title, sep, rest = text.partition(": ")
        if sep:
            return title, rest
        question, sep, rest = text.partition("? ")
        return (question + "?", rest) if sep and len(question) < 60 else ("", text)

    def _deep_dive(self, category: Category, start: int, end: int) -> DeepDive:
        banner = self.src.line(start).strip()
        cursor = _Cursor.over(self.src, start + 1, end)
        dive = DeepDive(category=category.notation, banner=banner, span=Span(start, end), title=None)
        # page banners, including the wrong one the 03 deep dive carries ("Capacity Building and Skills")
        banners = {banner.lower(), *self.category_titles}
        in_steps = False
        while not cursor.done():
            number, text = cursor.take()
            plain = strip_emphasis(text)
            if plain.lower() in banners or text.startswith("[Click here") or self._is_banner_number(text):
                continue
            if text == "Title, Country":
                dive.title = None
                continue
            if text == "MAIN RECOMMENDATION:" or text == "Main Working Principles:":
                continue
            if text == "IN PROGRESS":
                dive.placeholder = text
                continue
            if dive.title is None and text.isupper() and not dive.description:
                dive.title = text
            elif text == "HOW TO...":
                in_steps = True
            elif in_steps and text.startswith("- "):
                step = text[2:].lstrip("✓").strip()
                if bold := re.match(r"\*\*(.+?)\*\*\s*(.*)$", step):
                    name, rest = bold.group(1), bold.group(2)
                else:
                    name, _, rest = step.partition(":")
                dive.steps.append(HowToStep(strip_emphasis(name).rstrip(":").strip(), strip_emphasis(rest), number))
            elif in_steps and not dive.steps and plain.endswith(":"):
                dive.howto_title = strip_emphasis(text).rstrip(":")
            elif is_quote_line(text):
                dive.quotes.append(Quote(unquote(text), Span(number, number), quoted=True))
            elif PARTNERS_MARKER.search(text + ":") and not in_steps and text.startswith("National partner"):
                following = cursor.peek()
                if following:
                    n, partners = cursor.take()
                    dive.partners = Located(partners.removeprefix("Cities Mission:").strip(), n)
            elif not in_steps:
                dive.description.append(text)
            else:
                self.unplaced.append(Located(text, number))
        return dive

    # -- recorded material and profiles --------------------------------------------

    def _recorded(self, start: int, end: int) -> list[RecordedItem]:
        items: list[RecordedItem] = []
        section = None
        pending: list[tuple[int, str]] = []
        cursor = _Cursor.over(self.src, start, end)
        while not cursor.done():
            number, text = cursor.take()
            if (
                text in {"RECORDED", "MATERIAL"}
                or text.startswith("CAPA")
                or text in {"Advancing national support", "for climate neutral cities"}
            ):
                continue
            if text in {"Recent webinars", "Other online meetings, events and learning materials"}:
                section = text
                continue
            if section is None:
                self.unplaced.append(Located(text, number))
                continue
            if text.lower().startswith("click"):
                if section == "Recent webinars":
                    if not pending:
                        raise self.src.error("a recorded-webinar link with no title before it", number)
                    (first, title), rest = pending[0], pending[1:]
                    item = RecordedItem(section, title, Span(first, number), link_label=text)
                    for _, value in rest:
                        if DATE.match(value):
                            item.date = value
                        else:
                            item.subtitle = value
                    if not cursor.done():
                        item.caption = cursor.take()[1]
                    if not cursor.done():
                        last, item.description = cursor.take()
                        item.span = Span(first, last)
                    items.append(item)
                    pending = []
                else:
                    if cursor.done():
                        raise self.src.error("a link with no title after it", number)
                    title_line, title = cursor.take()
                    item = RecordedItem(section, title, Span(number, title_line), link_label=text)
                    if (nxt := cursor.peek()) and not nxt[1].lower().startswith("click"):
                        last, item.description = cursor.take()
                        item.span = Span(number, last)
                    items.append(item)
            else:
                pending.append((number, text))
        for number, text in pending:
            self.unplaced.append(Located(text, number))
        return items

    def _profiles(self, start: int, end: int) -> list[Profile]:
        profiles: list[Profile] = []
        current: Profile | None = None
        for number in range(start, end + 1):
            line = self.src.line(number)
            text = line.strip()
            if not text:
                continue
            if text.startswith("Core Country:"):
                current = Profile(text.split(":", 1)[1].strip(), Span(number, number))
                profiles.append(current)
                continue
            if current is None:
                self.unplaced.append(Located(text, number))
                continue
            label, sep, raw = line.partition("\t")
            key = PROFILE_ROWS.get(label.strip().rstrip(":"))
            if not sep or key is None:
                raise self.src.error(
                    f"profile row of {current.heading} should be '<label>:<TAB><value>' with a label among "
                    f"{sorted(PROFILE_ROWS)}; found {text[:60]!r}",
                    number,
                )
            if key in current.cells:
                raise self.src.error(f"profile of {current.heading} repeats the row {label!r}", number)
            current.cells[key] = ProfileCell(label.strip().rstrip(":"), raw.strip(), clean_cell(raw), number)
            current.span = Span(current.span.first, number)
        for profile in profiles:
            missing = sorted(set(PROFILE_ROWS.values()) - set(profile.cells))
            if missing:
                raise self.src.error(f"profile of {profile.heading} lacks the rows {missing}", profile.span.first)
        return profiles


def read_portfolio(src: SourceText) -> tuple[Portfolio, list[Located]]:
    """Parse the portfolio; also return the lines that were not placed anywhere."""
    return PortfolioReader(src).read()


def iter_cards(portfolio: Portfolio) -> Iterator[Card]:
    for sub in portfolio.subcategories():
        yield from sub.cards
