"""Core challenges, problem statements, hashtags, quotes, lessons learned and deep dives."""

from __future__ import annotations

from collections import Counter

from rdflib import Literal, URIRef

from kg.namespaces import DCTERMS, EUCOUNTRY, SCHEMA, SKOS, XSD
from kg.rdf.context import MappingContext
from kg.rdf.documents import Documents
from kg.sources.cells import normalise
from kg.sources.model import Category, DeepDive, Quote, Subcategory
from kg.sources.text import Span

PLACEHOLDER_TEXTS = {"tbc", "tbc.", "TBC", "IN PROGRESS", "Will follow"}


def is_placeholder(text: str | None) -> bool:
    return text is None or text.strip() in PLACEHOLDER_TEXTS or not text.strip()


class Challenges:
    """Maps the challenge scheme (categories and subcategories) and everything printed with it."""

    def __init__(self, ctx: MappingContext, documents: Documents) -> None:
        self.ctx = ctx
        self.documents = documents
        self.file = documents.portfolio_file
        self.scheme = ctx.mint("scheme/challenges")
        self.hashtag_scheme = ctx.mint("scheme/hashtags")
        self.index = ctx.mint("collection/hashtag-index")
        self.subcategories: dict[str, URIRef] = {}
        self.categories: dict[str, URIRef] = {}
        self.sections: dict[str, URIRef] = {}
        self.hashtags: dict[str, URIRef] = {}  # canonical tag → concept
        self.deep_dives: list[tuple[URIRef, DeepDive]] = []  # partners are resolved with the organisations
        self._canonical = self._hashtag_curation()

    # -- hashtags -------------------------------------------------------------------

    def _hashtag_curation(self) -> dict[str, tuple[str, str]]:
        """Printed variant → (canonical tag, 'hidden' | 'alternative')."""
        entry = self.ctx.curation.file("hashtags.yaml")
        printed = self._printed_hashtags()
        variants: dict[str, tuple[str, str]] = {}
        for concept in entry.entries("concepts"):
            tag = concept.text("tag")
            for kind in ("hidden", "alternative"):
                for variant in concept.values(kind):
                    if variant not in printed:
                        raise concept.error(f"{variant!r} is not printed in the portfolio", kind)
                    if variant in variants:
                        raise concept.error(f"{variant!r} is already folded into {variants[variant][0]!r}", kind)
                    variants[variant] = (tag, kind)
        return variants

    def _printed_hashtags(self) -> set[str]:
        portfolio = self.ctx.sources.portfolio
        tags = {entry.printed for entry in portfolio.hashtag_index}
        for sub in portfolio.subcategories():
            tags |= {use.printed for use in (*sub.hashtags, *sub.stray_hashtags)}
        return tags

    def hashtag(self, printed: str) -> URIRef:
        canonical, kind = self._canonical.get(printed, (printed, ""))
        concept = self.hashtags.get(canonical)
        ctx = self.ctx
        if concept is None:
            concept = ctx.typed(ctx.mint("hashtag/" + ctx.slug(canonical.lstrip("#"))), ctx.cap.Hashtag)
            ctx.add(concept, SKOS.prefLabel, canonical)
            ctx.add(concept, SKOS.inScheme, self.hashtag_scheme)
            self.hashtags[canonical] = concept
        if kind:
            ctx.add(concept, SKOS.hiddenLabel if kind == "hidden" else SKOS.altLabel, printed)
        return concept

    # -- the scheme -----------------------------------------------------------------

    def add(self) -> None:
        ctx = self.ctx
        ctx.typed(self.scheme, SKOS.ConceptScheme)
        ctx.add(self.scheme, SKOS.prefLabel, "CapaCITIES core challenges and problem statements", lang="en")
        ctx.typed(self.hashtag_scheme, SKOS.ConceptScheme)
        ctx.add(self.hashtag_scheme, SKOS.prefLabel, "CapaCITIES Learning Portfolio hashtags", lang="en")
        for category in ctx.sources.portfolio.categories:
            self._category(category)
        self._index()
        self._hashtag_relations()
        for category in ctx.sources.portfolio.categories:
            self._lessons(category)
            self._deep_dives(category)
        self._unplaced_findings()

    def _category(self, category: Category) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        concept = ctx.typed(ctx.mint(f"challenge/{category.notation}"), cap.CoreChallenge)
        self.categories[category.notation] = concept
        section = self.documents.section(f"category-{category.notation}", category.title, category.span)
        self.sections[category.notation] = section
        ctx.add(concept, SKOS.notation, category.notation)
        ctx.add(concept, SKOS.prefLabel, category.title, lang="en")
        for other in {category.overview_title, category.toc_title} - {category.title, None}:
            ctx.add(concept, SKOS.altLabel, other, lang="en")
        ctx.text(concept, SKOS.definition, category.overview_description)
        ctx.add(concept, SKOS.inScheme, self.scheme)
        ctx.add(concept, SKOS.topConceptOf, self.scheme)
        ctx.locate(concept, self.file, category.span, section)
        for number, quote in enumerate(category.intro_quotes, start=1):
            self._quote(ctx.mint(f"quote/{category.notation}/intro-{number}"), quote, concept, section)
        for sub in category.subcategories:
            self._subcategory(category, sub, concept)
        listed = set(category.page_items) | set(category.toc_items)
        for notation in sorted(listed - set(self.subcategories)):
            ctx.finding(
                "Warning",
                f"the category page or table of contents lists {notation}, which has no section",
                source=f"{self.file}:{category.span.first}",
                group=notation,
            )
        for sub in category.subcategories:
            if sub.notation not in category.toc_items:
                ctx.finding(
                    "Info",
                    f"subcategory {sub.notation} is missing from the table of contents",
                    focus=self.subcategories[sub.notation],
                    source=f"{self.file}:{sub.span.first}",
                    group=sub.notation,
                )

    def _subcategory(self, category: Category, sub: Subcategory, broader: URIRef) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        concept = ctx.typed(ctx.mint(f"challenge/{sub.notation}"), cap.ProblemStatement)
        self.subcategories[sub.notation] = concept
        section = self.documents.section(sub.notation, f"{sub.notation} {sub.heading}", sub.span)
        self.sections[sub.notation] = section
        ctx.add(concept, SKOS.notation, sub.notation)
        ctx.add(concept, SKOS.prefLabel, sub.heading, lang="en")
        titles = {
            item.text for item in (category.toc_items.get(sub.notation), category.page_items.get(sub.notation)) if item
        }
        for other in titles - {sub.heading}:
            ctx.add(concept, SKOS.altLabel, other, lang="en")
        ctx.add(concept, SKOS.broader, broader)
        ctx.add(concept, SKOS.inScheme, self.scheme)
        ctx.text(concept, DCTERMS.description, "\n\n".join(sub.description))
        ctx.locate(concept, self.file, sub.span, section)
        for challenge in sub.key_challenges:
            ctx.text(concept, cap.keyChallenge, challenge.text)
        if sub.hashtag_label != "Hashtags":
            ctx.finding(
                "Info",
                f"hashtags are printed under {sub.hashtag_label!r}: instead of 'Hashtags:'",
                focus=concept,
                source=f"{self.file}:{sub.span.first}",
                group=sub.notation,
            )
        counts = Counter(use.printed for use in sub.hashtags)
        for printed, times in counts.items():
            ctx.add(concept, cap.hasHashtag, self.hashtag(printed))
            if times > 1:
                ctx.finding(
                    "Info", f"{printed} is printed {times} times in {sub.notation}", focus=concept, group=sub.notation
                )
        if any(use.form == "link" for use in sub.hashtags):
            ctx.finding("Info", "hashtags are printed as empty links ([#Tag](#))", focus=concept, group=sub.notation)
        self._stray_hashtags(sub, concept)
        if sub.quote:
            self._quote(ctx.mint(f"quote/{sub.notation}"), sub.quote, concept, section)
        for number, quote in enumerate(sub.pull_quotes, start=1):
            self._quote(ctx.mint(f"quote/{sub.notation}/pull-{number}"), quote, concept, section)
        for line in sub.placeholder_marks:
            ctx.finding(
                "Info",
                "the subcategory carries an 'IN PROGRESS' mark",
                focus=concept,
                source=f"{self.file}:{line}",
                group=sub.notation,
            )

    def _stray_hashtags(self, sub: Subcategory, concept: URIRef) -> None:
        if not sub.stray_hashtags:
            return
        decisions = {
            e.text("subcategory"): e for e in self.ctx.curation.file("sections.yaml").entries("stray_hashtags")
        }
        decision = decisions.get(sub.notation)
        lines = f"{sub.stray_hashtags[0].line}-{sub.stray_hashtags[-1].line}"
        if decision is None:
            self.ctx.finding(
                "Warning",
                f"hashtags printed outside the Hashtags block (lines {lines}) and not "
                "decided in sections.yaml; they were not used",
                focus=concept,
                group=sub.notation,
            )
            return
        if decision.text("decision") == "include":
            for use in sub.stray_hashtags:
                self.ctx.add(concept, self.ctx.cap.hasHashtag, self.hashtag(use.printed))
        self.ctx.decision(concept, f"Stray hashtags (lines {lines}): {decision.text('decision')}. {decision.note()}")

    def _quote(self, node: URIRef, quote: Quote, about: URIRef, section: URIRef) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        ctx.typed(node, cap.InterviewQuote)
        ctx.text(node, SCHEMA.text, quote.text)
        ctx.add(node, SCHEMA.about, about)
        ctx.add(node, cap.attribution, quote.attribution, lang="en")
        ctx.add(node, cap.isQuoted, Literal(quote.quoted))
        if is_placeholder(quote.text):
            ctx.add(node, cap.isPlaceholder, Literal(True))
        ctx.locate(node, self.file, quote.span, section)

    def _index(self) -> None:
        ctx = self.ctx
        portfolio = ctx.sources.portfolio
        ctx.typed(self.index, SKOS.Collection)
        ctx.add(self.index, SKOS.prefLabel, "Index of #Hashtags", lang="en")
        section = self.documents.section("hashtag-index", "Index of #Hashtags", portfolio.index_span)
        ctx.locate(self.index, self.file, portfolio.index_span, section)
        for entry in portfolio.hashtag_index:
            concept = self.hashtag(entry.printed)
            ctx.add(self.index, SKOS.member, concept)
            ctx.text(concept, SKOS.definition, entry.expansion)

    def _hashtag_relations(self) -> None:
        ctx = self.ctx
        root = ctx.curation.file("hashtags.yaml")
        for entry in root.entries("relations"):
            tag = entry.text("tag")
            if tag not in self.hashtags:
                raise entry.error(f"{tag!r} is not a hashtag of the portfolio", "tag")
            for kind, predicate in (("broader", SKOS.broader), ("related", SKOS.related)):
                other = entry.text(kind, required=False)
                if other is None:
                    continue
                if other not in self.hashtags:
                    raise entry.error(f"{other!r} is not a hashtag of the portfolio", kind)
                ctx.add(self.hashtags[tag], predicate, self.hashtags[other])
            ctx.decision(self.hashtags[tag], entry.note())
        for entry in root.entries("concepts"):
            tag = entry.text("tag")
            if tag in self.hashtags:
                ctx.decision(self.hashtags[tag], entry.note())
        glossary = {e.text("key") for e in ctx.curation.file("glossary.yaml").entries("terms")}
        for entry in root.entries("glossary"):
            tag, key = entry.text("tag"), entry.text("key")
            if tag not in self.hashtags or key not in glossary:
                raise entry.error(f"{tag!r} or glossary key {key!r} is unknown", "tag")
            ctx.add(self.hashtags[tag], SKOS.related, ctx.mint(f"glossary/{key}"))

    # -- lessons and deep dives -----------------------------------------------------

    def _lesson_subjects(self, category: Category) -> dict[str, str]:
        """Normalised lesson title → subcategory notation, from titles and curation."""
        subjects: dict[str, str] = {}
        for sub in category.subcategories:
            subjects[normalise(sub.heading)] = sub.notation
        for items in (category.page_items, category.toc_items):
            for notation, item in items.items():
                subjects.setdefault(normalise(item.text), notation)
        for entry in self.ctx.curation.file("sections.yaml").entries("lessons"):
            if entry.text("category") != category.notation:
                continue
            title = entry.text("title")
            if not any(normalise(lesson.title) == normalise(title) for lesson in category.lessons):
                raise entry.error(f"category {category.notation} prints no lesson titled {title!r}", "title")
            subjects[normalise(title)] = entry.text("about")
        return subjects

    def _lessons(self, category: Category) -> None:
        if not category.lessons or category.lessons_span is None:
            return
        ctx, cap = self.ctx, self.ctx.cap
        section = self.documents.section(
            f"lessons-{category.notation}", f"{category.title}: Lessons Learned", category.lessons_span
        )
        subjects = self._lesson_subjects(category)
        repeated = {
            (e.text("category"), int(e.text("block"))): e.note()
            for e in ctx.curation.file("sections.yaml").entries("repeated_lesson_blocks")
        }
        notes = {
            normalise(e.text("title")): e.note()
            for e in ctx.curation.file("sections.yaml").entries("lessons")
            if e.text("category") == category.notation
        }
        for number, lesson in enumerate(category.lessons, start=1):
            node = ctx.typed(ctx.mint(f"lesson/{category.notation}/{number}"), cap.LessonLearned)
            ctx.text(node, SCHEMA.name, lesson.title or None)
            ctx.text(node, SCHEMA.text, lesson.text)
            if is_placeholder(lesson.text):
                ctx.add(node, cap.isPlaceholder, Literal(True))
            ctx.add(node, SCHEMA.position, Literal(number, datatype=XSD.integer))
            repetition = repeated.get((category.notation, lesson.block))
            notation = None if repetition else subjects.get(normalise(lesson.title))
            if notation and notation in self.subcategories:
                ctx.add(node, SCHEMA.about, self.subcategories[notation])
            elif notation == category.notation:
                ctx.add(node, SCHEMA.about, self.categories[category.notation])
            else:
                ctx.add(node, SCHEMA.about, self.categories[category.notation])
                if not repetition:
                    ctx.finding(
                        "Warning",
                        f"lesson {lesson.title or lesson.text[:40]!r} names no subcategory; "
                        "it is linked to its category",
                        focus=node,
                        source=f"{self.file}:{lesson.line}",
                        group=category.notation,
                    )
            ctx.decision(node, repetition or notes.get(normalise(lesson.title)))
            ctx.locate(node, self.file, _line(lesson.line), section)

    def _deep_dives(self, category: Category) -> None:
        ctx, cap = self.ctx, self.ctx.cap
        for dive in category.deep_dives:
            node = ctx.typed(ctx.mint(f"deep-dive/{category.notation}"), cap.DeepDiveExample)
            section = self.documents.section(f"deep-dive-{category.notation}", dive.banner, dive.span)
            ctx.add(node, SCHEMA.about, self.categories[category.notation])
            ctx.text(node, SCHEMA.name, dive.title)
            ctx.text(node, SCHEMA.description, "\n\n".join(dive.description))
            ctx.text(node, SCHEMA.headline, dive.howto_title)
            if dive.title and "," in dive.title:
                country = ctx.curation.country(dive.title.rsplit(",", 1)[1].strip().title())
                if country:
                    ctx.add(node, DCTERMS.spatial, _country_iri(country.alpha3))
            if dive.placeholder or not dive.title:
                ctx.add(node, cap.isPlaceholder, Literal(True))
            expected = category.title.lower()
            if not dive.banner.lower().startswith(expected) and dive.banner != "Deep Dive Example":
                ctx.finding(
                    "Info",
                    f"the deep dive of {category.notation} is headed {dive.banner!r}",
                    focus=node,
                    source=f"{self.file}:{dive.span.first}",
                    group=category.notation,
                )
            for position, step in enumerate(dive.steps, start=1):
                step_node = ctx.typed(ctx.mint(f"deep-dive/{category.notation}/step/{position}"), SCHEMA.HowToStep)
                ctx.add(node, SCHEMA.step, step_node)
                ctx.add(step_node, SCHEMA.position, Literal(position, datatype=XSD.integer))
                ctx.text(step_node, SCHEMA.name, step.name)
                ctx.text(step_node, SCHEMA.text, step.text)
                ctx.locate(step_node, self.file, _line(step.line), section)
            for number, quote in enumerate(dive.quotes, start=1):
                self._quote(ctx.mint(f"quote/deep-dive-{category.notation}/{number}"), quote, node, section)
            self.deep_dives.append((node, dive))
            ctx.locate(node, self.file, dive.span, section)

    def _unplaced_findings(self) -> None:
        for file_name, lines in self.ctx.sources.unplaced.items():
            for located in lines:
                self.ctx.finding(
                    "Info",
                    f"line not read into the graph: {located.text[:120]!r}",
                    source=f"{file_name}:{located.line}",
                    group="unplaced lines",
                )


def _line(number: int) -> Span:
    return Span(number, number)


def _country_iri(alpha3: str) -> URIRef:
    return EUCOUNTRY[alpha3]
