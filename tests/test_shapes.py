"""The SHACL shapes (shapes/*.ttl, one file per area), shape by shape, and on the real graph.

* tests/shapes_cases/valid.ttl is a small graph with one instance of every class the importer
  asserts; it conforms to every shape (no Violation, no Warning, no Info).
* Every shape has a conforming test (valid.ttl, plus a setup update for the few shapes whose
  focus nodes would otherwise be missing) and at least one non-conforming case: a SPARQL
  Update applied to valid.ttl, and the severity, source shape, focus node, path (and where
  useful value and message) of the result it must produce.
* On the real asserted graph: no Violation, and specific warnings appear for specific facts
  checked in the source text data/sources/000_11870afa8f6afaf9.txt. (How fast validation runs
  is measured by bench/bench_build.py, not asserted here.)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS

from kg.namespaces import SH, ProjectNamespaces
from kg.reasoning.validate import ValidationReport, ValidationResult, load_turtle_dir, validate

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = Path(__file__).resolve().parent / "shapes_cases"
PORTFOLIO = ROOT / "data" / "sources" / "000_11870afa8f6afaf9.txt"
CAPSH = "https://w3id.org/capacities/lp/shapes#"
ID = "https://w3id.org/capacities/lp/id/"
NS = ProjectNamespaces()

# --- tokens for the updates: $name stands for the IRI of a node of valid.ttl ----------------

T = {
    "src": ID + "source/test.txt",
    "ed": ID + "edition/2026",
    "sec": ID + "edition/2026/section/1.1",
    "cat": ID + "challenge/01",
    "cat2": ID + "challenge/02",
    "ps": ID + "challenge/1.1",
    "ps2": ID + "challenge/1.2",
    "tag": ID + "hashtag/fragmentation",
    "resilience": ID + "hashtag/resilience",
    "policy": ID + "hashtag/policy",
    "index": ID + "collection/hashtag-index",
    "type": ID + "material-type/toolkit",
    "type2": ID + "material-type/handbook",
    "gloss": ID + "glossary/eu",
    "mat": ID + "material/toolkit",
    "mat2": ID + "material/handbook",
    "card": ID + "appearance/toolkit/1.1",
    "link": ID + "link/toolkit/1.1/1",
    "ph": ID + "placeholder/1.1/2",
    "quote": ID + "quote/1.1",
    "lesson": ID + "lesson/01/1",
    "dive": ID + "deep-dive/01",
    "step": ID + "deep-dive/01/step/1",
    "persona": ID + "persona/kemal",
    "persona2": ID + "persona/maria",
    "need": ID + "need/kemal/1",
    "aut": "http://publications.europa.eu/resource/authority/country/AUT",
    "deu": "http://publications.europa.eu/resource/authority/language/DEU",
    "plat": ID + "platform/at",
    "plat2": ID + "platform/fi",
    "prof": ID + "profile/2026/at",
    "mem": ID + "membership/at/agency/facilitator",
    "agency": ID + "org/agency",
    "old": ID + "org/old-ministry",
    "orphan": ID + "org/orphan",
    "change": ID + "change/old-ministry-agency",
    "city": ID + "city/vienna",
    "cp": ID + "city-participation/at/vienna",
    "ctp": ID + "country-participation/at",
    "event": ID + "event/2022-10-06-kick-off",
    "webinar": ID + "event/recorded/webinar",
    "video": ID + "recording/webinar",
    "news": ID + "news/best-practice",
    "act": ID + "activity/transition-lab",
    "x": ID + "test/unknown",
    "rel": ID + "relation/recorded/webinar/recorded-session-of/toolkit",
    "evid": ID + "relation/recorded/webinar/recorded-session-of/toolkit/evidence/1",
    "kind": ID + "relation-kind/recorded-session-of",
    "cs": ID + "change/1",
    "paula": ID + "account/paula",
    "edith": ID + "account/edith",
    "contrib": ID + "test/contributed",
}

PREFIXES = """
PREFIX cap: <https://w3id.org/capacities/lp/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX euvoc: <http://publications.europa.eu/ontology/euvoc#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX schema: <http://schema.org/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""


def _expand_tokens(text: str) -> str:
    return re.sub(r"\$([a-z][a-z0-9]*)", lambda m: f"<{T[m.group(1)]}>", text)


def loc(first: int, last: int) -> str:
    """Triples locating a resource at lines first..last of the test source."""
    return (
        f'cap:sourceLocator "{T["src"]}#line={first - 1},{last}"^^xsd:anyURI ; '
        f"cap:firstLine {first} ; cap:lastLine {last} ; prov:wasDerivedFrom $src"
    )


def drop(s: str, p: str) -> str:
    return f"DELETE WHERE {{ {s} {p} ?o }}"


def add(triples: str) -> str:
    return f"INSERT DATA {{ {triples} }}"


def put(s: str, p: str, new: str) -> str:
    return f"DELETE {{ {s} {p} ?o }} INSERT {{ {s} {p} {new} }} WHERE {{ {s} {p} ?o }}"


def seq(*updates: str) -> str:
    return " ;\n".join(updates)


# A well-formed placeholder card (no Violation; the Info notice is expected).
PLACEHOLDER = add(f"""$ph a cap:PlaceholderCard ; cap:inProblemStatement $ps ; cap:placeholderText "IN PROGRESS" ;
    cap:typeLabel "Type of learning format"@en ; schema:position 2 ; {loc(40, 45)} .""")
# A second, complete category without subcategories, and a second subcategory without cards.
CATEGORY_02 = add(f"""$cat2 a cap:CoreChallenge ; skos:notation "02" ; skos:prefLabel "Capacity Building"@en ;
    skos:inScheme <{ID}scheme/challenges> ; skos:topConceptOf <{ID}scheme/challenges> ; {loc(100, 110)} .""")
SUBCATEGORY_12 = add(f"""$ps2 a cap:ProblemStatement ; skos:notation "1.2" ; skos:prefLabel "Roles"@en ;
    skos:broader $cat ; skos:inScheme <{ID}scheme/challenges> ; cap:hasHashtag $tag ; cap:keyChallenge "Roles"@en ;
    {loc(61, 70)} .""")
PLATFORM_FI = add("""$plat2 a cap:NationalPlatform ; skos:prefLabel "National platform of Finland"@en ;
    schema:location $aut .""")


@dataclass(frozen=True)
class Case:
    """One non-conforming graph (valid.ttl + update) and the result it must produce."""

    id: str
    shape: str  # the sh:sourceShape of the expected result (capsh:...)
    severity: str
    focus: str  # a token ($name) or an IRI
    update: str
    path: str | None = None  # CURIE; "^" = an inverse path (a blank node); None = no path
    value: str | None = None  # token, IRI or literal lexical form
    message: str | None = None  # substring of the message


V, W, INFO = "Violation", "Warning", "Info"

CASES: list[Case] = [
    # --- provenance ------------------------------------------------------------------------
    Case(
        "locator-missing",
        "capsh:SourceLocation-locator",
        V,
        "$quote",
        drop("$quote", "cap:sourceLocator"),
        "cap:sourceLocator",
    ),
    Case(
        "locator-malformed",
        "capsh:SourceLocation-locator",
        V,
        "$quote",
        put("$quote", "cap:sourceLocator", '"https://example.org/a.txt#l=1"^^xsd:anyURI'),
        "cap:sourceLocator",
    ),
    Case(
        "locator-untyped",
        "capsh:SourceLocation-locator",
        V,
        "$news",
        put("$news", "cap:sourceLocator", f'"{T["src"]}#line=80,82"'),
        "cap:sourceLocator",
    ),
    Case(
        "locator-derived-untyped-subject",
        "capsh:SourceLocation-locator",
        V,
        "$x",
        add("$x prov:wasDerivedFrom $src ; cap:firstLine 1 ; cap:lastLine 1 ."),
        "cap:sourceLocator",
    ),
    Case(
        "first-line-missing",
        "capsh:SourceLocation-firstLine",
        V,
        "$news",
        drop("$news", "cap:firstLine"),
        "cap:firstLine",
    ),
    Case(
        "first-line-zero",
        "capsh:SourceLocation-firstLine",
        V,
        "$news",
        put("$news", "cap:firstLine", "0"),
        "cap:firstLine",
    ),
    Case("last-line-missing", "capsh:SourceLocation-lastLine", V, "$act", drop("$act", "cap:lastLine"), "cap:lastLine"),
    Case(
        "derived-from-missing",
        "capsh:SourceLocation-derivedFrom",
        V,
        "$persona",
        drop("$persona", "prov:wasDerivedFrom"),
        "prov:wasDerivedFrom",
    ),
    Case(
        "two-locators",
        "capsh:SingleSourceLocation-locator",
        V,
        "$lesson",
        add(f'$lesson cap:sourceLocator "{T["src"]}#line=40,41"^^xsd:anyURI .'),
        "cap:sourceLocator",
    ),
    Case(
        "first-after-last",
        "capsh:SingleSourceLocation-firstLine",
        V,
        "$lesson",
        put("$lesson", "cap:firstLine", "40"),
        "cap:firstLine",
    ),
    Case(
        "two-last-lines",
        "capsh:SingleSourceLocation-lastLine",
        V,
        "$lesson",
        add("$lesson cap:lastLine 34 ."),
        "cap:lastLine",
    ),
    Case(
        "two-materials-per-card",
        "capsh:Functional-appearanceOf",
        V,
        "$card",
        add('$card cap:appearanceOf $mat2 . $mat2 a cap:LearningMaterial ; dcterms:title "Handbook"@en .'),
        "cap:appearanceOf",
    ),
    Case(
        "two-subcategories-per-card",
        "capsh:Functional-inProblemStatement",
        V,
        "$card",
        add("$card cap:inProblemStatement $ps2 ."),
        "cap:inProblemStatement",
    ),
    Case(
        "https-schema-predicate",
        "capsh:SchemaOrgNamespaceShape",
        V,
        "$need",
        add("$need <https://schema.org/position> 1 ."),
        None,
        "https://schema.org/position",
        "https://schema.org/",
    ),
    Case(
        "https-schema-class",
        "capsh:SchemaOrgNamespaceShape",
        V,
        "$mat",
        add("$mat a <https://schema.org/LearningResource> ."),
        None,
        "https://schema.org/LearningResource",
    ),
    # --- learning materials ----------------------------------------------------------------
    Case(
        "material-title-missing",
        "capsh:LearningMaterial-title",
        V,
        "$mat",
        drop("$mat", "dcterms:title"),
        "dcterms:title",
    ),
    Case(
        "material-title-no-language",
        "capsh:LearningMaterial-title",
        V,
        "$mat",
        put("$mat", "dcterms:title", '"A Toolkit"'),
        "dcterms:title",
    ),
    Case(
        "material-title-template",
        "capsh:LearningMaterial-titleNotTemplate",
        V,
        "$mat",
        put("$mat", "dcterms:title", '"Type of learning format"@en'),
        "dcterms:title",
        "Type of learning format",
    ),
    Case(
        "material-without-card",
        "capsh:LearningMaterial-appearance",
        V,
        "$mat2",
        add(
            '$mat2 a cap:LearningMaterial ; dcterms:title "Handbook"@en ; cap:releaseYear "2020"^^xsd:gYear ; '
            "dcterms:spatial $aut ."
        ),
        "^",
    ),
    Case(
        "release-year-malformed",
        "capsh:LearningMaterial-releaseYear",
        V,
        "$mat",
        put("$mat", "cap:releaseYear", '"21"^^xsd:gYear'),
        "cap:releaseYear",
        "21",
    ),
    Case(
        "release-year-string",
        "capsh:LearningMaterial-releaseYear",
        V,
        "$mat",
        put("$mat", "cap:releaseYear", '"2021"'),
        "cap:releaseYear",
        "2021",
    ),
    Case(
        "spatial-not-a-location",
        "capsh:LearningMaterial-spatial",
        V,
        "$mat",
        put("$mat", "dcterms:spatial", "$x"),
        "dcterms:spatial",
        "$x",
    ),
    Case(
        "temporal-not-a-period",
        "capsh:LearningMaterial-temporal",
        V,
        "$mat",
        add("$mat dcterms:temporal $x ."),
        "dcterms:temporal",
    ),
    Case(
        "organizer-not-an-organisation",
        "capsh:LearningMaterial-organizer",
        V,
        "$mat",
        add("$mat schema:organizer $aut ."),
        "schema:organizer",
        "$aut",
    ),
    Case(
        "material-without-country",
        "capsh:LearningMaterial-spatialMissing",
        W,
        "$mat",
        drop("$mat", "dcterms:spatial"),
        "dcterms:spatial",
    ),
    Case(
        "material-without-year",
        "capsh:MaterialReleaseYearShape",
        W,
        "$mat",
        drop("$mat", "cap:releaseYear"),
        None,
        "$mat",
        '"2021" on the card in 1.1',
    ),
    Case(
        "material-without-year-blank-cell",
        "capsh:MaterialReleaseYearShape",
        W,
        "$mat",
        seq(drop("$mat", "cap:releaseYear"), drop("$card", "cap:yearAsPrinted")),
        None,
        "$mat",
        "is blank",
    ),
    # --- cards -----------------------------------------------------------------------------
    Case(
        "card-unknown-property",
        "capsh:MaterialAppearanceShape",
        V,
        "$card",
        add('$card cap:typelabel "Toolkit" .'),
        "cap:typelabel",
    ),
    Case(
        "card-without-material",
        "capsh:MaterialAppearance-appearanceOf",
        V,
        "$card",
        drop("$card", "cap:appearanceOf"),
        "cap:appearanceOf",
    ),
    Case(
        "card-of-a-non-material",
        "capsh:MaterialAppearance-appearanceOf",
        V,
        "$card",
        put("$card", "cap:appearanceOf", "$x"),
        "cap:appearanceOf",
        "$x",
    ),
    Case(
        "card-without-subcategory",
        "capsh:MaterialAppearance-inProblemStatement",
        V,
        "$card",
        drop("$card", "cap:inProblemStatement"),
        "cap:inProblemStatement",
    ),
    Case(
        "card-two-type-labels",
        "capsh:MaterialAppearance-typeLabel",
        V,
        "$card",
        add('$card cap:typeLabel "Handbook"@en .'),
        "cap:typeLabel",
    ),
    Case(
        "card-template-type-label",
        "capsh:MaterialAppearance-typeLabelTemplate",
        W,
        "$card",
        put("$card", "cap:typeLabel", '"Type of learning format"@en'),
        "cap:typeLabel",
        "Type of learning format",
    ),
    Case(
        "card-without-title",
        "capsh:MaterialAppearance-titleAsPrinted",
        V,
        "$card",
        drop("$card", "cap:titleAsPrinted"),
        "cap:titleAsPrinted",
    ),
    Case(
        "card-two-countries",
        "capsh:MaterialAppearance-countryAsPrinted",
        V,
        "$card",
        add('$card cap:countryAsPrinted "Italy" .'),
        "cap:countryAsPrinted",
    ),
    Case(
        "card-two-years",
        "capsh:MaterialAppearance-yearAsPrinted",
        V,
        "$card",
        add('$card cap:yearAsPrinted "2022" .'),
        "cap:yearAsPrinted",
    ),
    Case(
        "card-two-partner-lists",
        "capsh:MaterialAppearance-partnersAsPrinted",
        V,
        "$card",
        add('$card cap:partnersAsPrinted "Italy: CNR" .'),
        "cap:partnersAsPrinted",
    ),
    Case(
        "card-two-descriptions",
        "capsh:MaterialAppearance-description",
        V,
        "$card",
        add('$card dcterms:description "Another text."@en .'),
        "dcterms:description",
    ),
    Case(
        "card-without-description",
        "capsh:MaterialAppearance-descriptionMissing",
        W,
        "$card",
        drop("$card", "dcterms:description"),
        "dcterms:description",
    ),
    Case(
        "card-feature-not-text",
        "capsh:MaterialAppearance-keyFeature",
        V,
        "$card",
        add("$card cap:keyFeature $x ."),
        "cap:keyFeature",
        "$x",
    ),
    Case(
        "card-without-features",
        "capsh:MaterialAppearance-keyFeatureMissing",
        W,
        "$card",
        drop("$card", "cap:keyFeature"),
        "cap:keyFeature",
    ),
    Case(
        "card-partner-is-a-quote",
        "capsh:MaterialAppearance-partner",
        V,
        "$card",
        add("$card cap:appearancePartner $quote ."),
        "cap:appearancePartner",
        "$quote",
    ),
    Case(
        "card-type-not-a-type",
        "capsh:MaterialAppearance-materialType",
        V,
        "$card",
        put("$card", "cap:materialType", "$tag"),
        "cap:materialType",
        "$tag",
    ),
    Case(
        "card-link-not-a-link",
        "capsh:MaterialAppearance-learnMoreLink",
        V,
        "$card",
        add("$card cap:learnMoreLink $tag ."),
        "cap:learnMoreLink",
        "$tag",
    ),
    Case(
        "card-position-not-a-number",
        "capsh:MaterialAppearance-position",
        V,
        "$card",
        put("$card", "schema:position", '"first"'),
        "schema:position",
    ),
    # --- placeholder cards -----------------------------------------------------------------
    Case("placeholder-notice", "capsh:PlaceholderCard-notice", INFO, "$ph", PLACEHOLDER, "cap:placeholderText"),
    Case(
        "placeholder-is-also-a-card",
        "capsh:PlaceholderCardShape",
        V,
        "$ph",
        seq(PLACEHOLDER, add("$ph a cap:MaterialAppearance .")),
        None,
        "$ph",
    ),
    Case(
        "placeholder-without-subcategory",
        "capsh:PlaceholderCard-inProblemStatement",
        V,
        "$ph",
        seq(PLACEHOLDER, drop("$ph", "cap:inProblemStatement")),
        "cap:inProblemStatement",
    ),
    Case(
        "placeholder-without-text",
        "capsh:PlaceholderCard-placeholderText",
        V,
        "$ph",
        seq(PLACEHOLDER, drop("$ph", "cap:placeholderText")),
        "cap:placeholderText",
    ),
    Case(
        "placeholder-with-material",
        "capsh:PlaceholderCard-noMaterial",
        V,
        "$ph",
        seq(PLACEHOLDER, add("$ph cap:appearanceOf $mat .")),
        "cap:appearanceOf",
    ),
    Case(
        "placeholder-two-type-labels",
        "capsh:PlaceholderCard-typeLabel",
        V,
        "$ph",
        seq(PLACEHOLDER, add('$ph cap:typeLabel "Toolkit"@en .')),
        "cap:typeLabel",
    ),
    Case(
        "placeholder-without-position",
        "capsh:PlaceholderCard-position",
        V,
        "$ph",
        seq(PLACEHOLDER, drop("$ph", "schema:position")),
        "schema:position",
    ),
    # --- learn-more links ------------------------------------------------------------------
    Case("link-without-label", "capsh:LearnMoreLink-name", V, "$link", drop("$link", "schema:name"), "schema:name"),
    Case(
        "link-without-position",
        "capsh:LearnMoreLink-position",
        V,
        "$link",
        drop("$link", "schema:position"),
        "schema:position",
    ),
    Case(
        "link-language-name",
        "capsh:LearnMoreLink-inLanguage",
        V,
        "$link",
        put("$link", "schema:inLanguage", '"German"'),
        "schema:inLanguage",
        "German",
    ),
    Case(
        "link-language-not-a-language",
        "capsh:LearnMoreLink-language",
        V,
        "$link",
        put("$link", "dcterms:language", "$aut"),
        "dcterms:language",
        "$aut",
    ),
    Case("link-without-card", "capsh:LearnMoreLink-card", V, "$link", drop("$card", "cap:learnMoreLink"), "^"),
    # --- categories and subcategories ------------------------------------------------------
    Case(
        "category-notation",
        "capsh:CoreChallenge-notation",
        V,
        "$cat",
        put("$cat", "skos:notation", '"1"'),
        "skos:notation",
    ),
    Case(
        "category-without-label",
        "capsh:CoreChallenge-prefLabel",
        V,
        "$cat",
        drop("$cat", "skos:prefLabel"),
        "skos:prefLabel",
    ),
    Case(
        "category-without-scheme",
        "capsh:CoreChallenge-inScheme",
        V,
        "$cat",
        drop("$cat", "skos:inScheme"),
        "skos:inScheme",
    ),
    Case(
        "category-not-top-concept",
        "capsh:CoreChallenge-topConceptOf",
        V,
        "$cat",
        drop("$cat", "skos:topConceptOf"),
        "skos:topConceptOf",
    ),
    Case(
        "category-with-broader",
        "capsh:CoreChallenge-noBroader",
        V,
        "$cat",
        add("$cat skos:broader $cat2 ."),
        "skos:broader",
    ),
    Case("category-without-subcategories", "capsh:CoreChallenge-subcategories", W, "$cat2", CATEGORY_02, "^"),
    Case(
        "subcategory-notation",
        "capsh:ProblemStatement-notation",
        V,
        "$ps",
        put("$ps", "skos:notation", '"7.1"'),
        "skos:notation",
    ),
    Case(
        "subcategory-without-title",
        "capsh:ProblemStatement-prefLabel",
        V,
        "$ps",
        drop("$ps", "skos:prefLabel"),
        "skos:prefLabel",
    ),
    Case(
        "subcategory-broader-not-category",
        "capsh:ProblemStatement-broader",
        V,
        "$ps",
        put("$ps", "skos:broader", "$tag"),
        "skos:broader",
        "$tag",
    ),
    Case(
        "subcategory-two-categories",
        "capsh:ProblemStatement-broader",
        V,
        "$ps",
        seq(CATEGORY_02, add("$ps skos:broader $cat2 .")),
        "skos:broader",
    ),
    Case(
        "subcategory-without-scheme",
        "capsh:ProblemStatement-inScheme",
        V,
        "$ps",
        drop("$ps", "skos:inScheme"),
        "skos:inScheme",
    ),
    Case(
        "subcategory-hashtag-not-hashtag",
        "capsh:ProblemStatement-hashtag",
        V,
        "$ps",
        add("$ps cap:hasHashtag $type ."),
        "cap:hasHashtag",
        "$type",
    ),
    Case(
        "subcategory-two-descriptions",
        "capsh:ProblemStatement-description",
        V,
        "$ps",
        add('$ps dcterms:description "More."@en .'),
        "dcterms:description",
    ),
    Case(
        "subcategory-note-too-short",
        "capsh:ProblemStatement-note",
        V,
        "$ps",
        add('$ps skos:note "Soon."@en .'),
        "skos:note",
    ),
    Case(
        "subcategory-note-not-english",
        "capsh:ProblemStatement-note",
        V,
        "$ps",
        add('$ps skos:note "Les documents suivront au printemps."@fr .'),
        "skos:note",
    ),
    Case(
        "key-challenge-empty",
        "capsh:ProblemStatement-keyChallenge",
        V,
        "$ps",
        add('$ps cap:keyChallenge ""@en .'),
        "cap:keyChallenge",
    ),
    Case(
        "key-challenges-missing",
        "capsh:ProblemStatement-keyChallengeMissing",
        W,
        "$ps",
        drop("$ps", "cap:keyChallenge"),
        "cap:keyChallenge",
    ),
    Case(
        "key-challenge-will-follow",
        "capsh:ProblemStatement-keyChallengePlaceholder",
        W,
        "$ps",
        put("$ps", "cap:keyChallenge", '"Will follow"@en'),
        "cap:keyChallenge",
        "Will follow",
    ),
    Case(
        "key-challenge-tbc",
        "capsh:ProblemStatement-keyChallengePlaceholder",
        W,
        "$ps",
        add('$ps cap:keyChallenge "TBC"@en .'),
        "cap:keyChallenge",
        "TBC",
    ),
    Case(
        "subcategory-without-hashtags",
        "capsh:ProblemStatement-hashtagMissing",
        W,
        "$ps",
        drop("$ps", "cap:hasHashtag"),
        "cap:hasHashtag",
    ),
    Case("subcategory-without-materials", "capsh:ProblemStatement-materials", W, "$ps2", SUBCATEGORY_12, "^"),
    Case(
        "subcategory-only-placeholders",
        "capsh:ProblemStatement-materials",
        W,
        "$ps2",
        seq(SUBCATEGORY_12, PLACEHOLDER, put("$ph", "cap:inProblemStatement", "$ps2")),
        "^",
    ),
    # --- hashtags and the index ------------------------------------------------------------
    Case(
        "hashtag-not-in-index",
        "capsh:HashtagIndexUseShape",
        W,
        "$index",
        add(
            '$ps cap:hasHashtag $resilience . $resilience a cap:Hashtag ; skos:prefLabel "#Resilience" ; '
            f"skos:inScheme <{ID}scheme/hashtags> ."
        ),
        "skos:member",
        "$resilience",
        "#Resilience is printed with subcategory 1.1",
    ),
    Case(
        "hashtag-label-hyphen",
        "capsh:Hashtag-prefLabel",
        V,
        "$tag",
        put("$tag", "skos:prefLabel", '"#Pre-Accession"'),
        "skos:prefLabel",
        "#Pre-Accession",
    ),
    Case(
        "hashtag-label-no-hash",
        "capsh:Hashtag-prefLabel",
        V,
        "$tag",
        put("$tag", "skos:prefLabel", '"Fragmentation"'),
        "skos:prefLabel",
        "Fragmentation",
    ),
    Case("hashtag-without-scheme", "capsh:Hashtag-inScheme", V, "$tag", drop("$tag", "skos:inScheme"), "skos:inScheme"),
    Case(
        "hashtag-broader-not-hashtag",
        "capsh:Hashtag-broader",
        V,
        "$tag",
        add("$tag skos:broader $type ."),
        "skos:broader",
        "$type",
    ),
    Case(
        "hashtag-related-not-concept",
        "capsh:Hashtag-related",
        V,
        "$tag",
        add("$tag skos:related $mat ."),
        "skos:related",
        "$mat",
    ),
    Case(
        "hashtag-hidden-label-iri",
        "capsh:Hashtag-variantLabels",
        V,
        "$tag",
        add("$tag skos:hiddenLabel $x ."),
        "^",
        "$x",
    ),
    Case(
        "index-member-not-hashtag",
        "capsh:HashtagIndex-member",
        V,
        "$index",
        add("$index skos:member $mat ."),
        "skos:member",
        "$mat",
    ),
    Case("index-not-a-collection", "capsh:HashtagIndex-type", V, "$index", drop("$index", "rdf:type"), "rdf:type"),
    Case(
        "index-hashtag-unused",
        "capsh:UnusedIndexHashtagShape",
        INFO,
        "$index",
        add(
            '$index skos:member $policy . $policy a cap:Hashtag ; skos:prefLabel "#Policy" ; '
            f"skos:inScheme <{ID}scheme/hashtags> ."
        ),
        "skos:member",
        "$policy",
        "#Policy is listed in the Hashtag Index",
    ),
    # --- material types and glossary -------------------------------------------------------
    Case(
        "type-template-label",
        "capsh:MaterialType-prefLabel",
        V,
        "$type",
        put("$type", "skos:prefLabel", '"Type of learning format"@en'),
        "skos:prefLabel",
    ),
    Case(
        "type-without-scheme",
        "capsh:MaterialType-inScheme",
        V,
        "$type",
        drop("$type", "skos:inScheme"),
        "skos:inScheme",
    ),
    Case(
        "type-unused",
        "capsh:MaterialType-used",
        INFO,
        "$type2",
        add(f'$type2 a cap:MaterialType ; skos:prefLabel "Handbook"@en ; skos:inScheme <{ID}scheme/material-types> .'),
        "^",
    ),
    Case(
        "glossary-without-acronym",
        "capsh:GlossaryTerm-notation",
        V,
        "$gloss",
        drop("$gloss", "skos:notation"),
        "skos:notation",
    ),
    Case(
        "glossary-without-label",
        "capsh:GlossaryTerm-prefLabel",
        V,
        "$gloss",
        drop("$gloss", "skos:prefLabel"),
        "skos:prefLabel",
    ),
    Case(
        "glossary-without-scheme",
        "capsh:GlossaryTerm-inScheme",
        V,
        "$gloss",
        drop("$gloss", "skos:inScheme"),
        "skos:inScheme",
    ),
    Case(
        "glossary-not-spelled-out",
        "capsh:GlossaryTerm-expansion",
        INFO,
        "$gloss",
        put("$gloss", "skos:prefLabel", '"EU"'),
        "skos:prefLabel",
        "EU",
    ),
    # --- quotes, lessons, deep dives, personas ---------------------------------------------
    Case("quote-without-text", "capsh:InterviewQuote-text", V, "$quote", drop("$quote", "schema:text"), "schema:text"),
    Case(
        "quote-about-material",
        "capsh:InterviewQuote-about",
        V,
        "$quote",
        put("$quote", "schema:about", "$mat"),
        "schema:about",
        "$mat",
    ),
    Case(
        "quote-quoted-not-boolean",
        "capsh:InterviewQuote-isQuoted",
        V,
        "$quote",
        put("$quote", "cap:isQuoted", '"yes"'),
        "cap:isQuoted",
    ),
    Case(
        "quote-placeholder-not-boolean",
        "capsh:InterviewQuote-isPlaceholder",
        V,
        "$quote",
        add('$quote cap:isPlaceholder "true" .'),
        "cap:isPlaceholder",
    ),
    Case(
        "quote-two-attributions",
        "capsh:InterviewQuote-attribution",
        V,
        "$quote",
        add('$quote cap:attribution "A city"@en .'),
        "cap:attribution",
    ),
    Case(
        "quote-unattributed",
        "capsh:InterviewQuote-attributionMissing",
        INFO,
        "$quote",
        drop("$quote", "cap:attribution"),
        "cap:attribution",
    ),
    Case(
        "quote-text-tbc",
        "capsh:PlaceholderQuoteShape",
        W,
        "$quote",
        put("$quote", "schema:text", '"TBC"@en'),
        None,
        "$quote",
    ),
    Case(
        "quote-flagged-placeholder",
        "capsh:PlaceholderQuoteShape",
        W,
        "$quote",
        add("$quote cap:isPlaceholder true ."),
        None,
        "$quote",
    ),
    Case(
        "lesson-about-material",
        "capsh:LessonLearned-about",
        V,
        "$lesson",
        put("$lesson", "schema:about", "$mat"),
        "schema:about",
        "$mat",
    ),
    Case(
        "lesson-about-category",
        "capsh:LessonLearned-aboutSubcategory",
        INFO,
        "$lesson",
        put("$lesson", "schema:about", "$cat"),
        "schema:about",
        "$cat",
    ),
    Case(
        "lesson-without-title", "capsh:LessonLearned-name", V, "$lesson", drop("$lesson", "schema:name"), "schema:name"
    ),
    Case(
        "lesson-without-text", "capsh:LessonLearned-text", V, "$lesson", drop("$lesson", "schema:text"), "schema:text"
    ),
    Case(
        "lesson-position-zero",
        "capsh:LessonLearned-position",
        V,
        "$lesson",
        put("$lesson", "schema:position", "0"),
        "schema:position",
    ),
    Case(
        "lesson-two-placeholder-flags",
        "capsh:LessonLearned-isPlaceholder",
        V,
        "$lesson",
        add("$lesson cap:isPlaceholder true , false ."),
        "cap:isPlaceholder",
    ),
    Case(
        "lesson-text-tbc",
        "capsh:PlaceholderLessonShape",
        W,
        "$lesson",
        put("$lesson", "schema:text", '"tbc."@en'),
        None,
        "$lesson",
    ),
    Case(
        "lesson-flagged-placeholder",
        "capsh:PlaceholderLessonShape",
        W,
        "$lesson",
        add("$lesson cap:isPlaceholder true ."),
        None,
        "$lesson",
    ),
    Case(
        "deep-dive-about-subcategory",
        "capsh:DeepDiveExample-about",
        V,
        "$dive",
        put("$dive", "schema:about", "$ps"),
        "schema:about",
        "$ps",
    ),
    Case(
        "deep-dive-step-not-step",
        "capsh:DeepDiveExample-step",
        V,
        "$dive",
        add("$dive schema:step $quote ."),
        "schema:step",
        "$quote",
    ),
    Case(
        "deep-dive-two-titles",
        "capsh:DeepDiveExample-name",
        V,
        "$dive",
        add('$dive schema:name "Other"@en .'),
        "schema:name",
    ),
    Case(
        "deep-dive-two-headlines",
        "capsh:DeepDiveExample-headline",
        V,
        "$dive",
        add('$dive schema:headline "Other"@en .'),
        "schema:headline",
    ),
    Case(
        "deep-dive-two-descriptions",
        "capsh:DeepDiveExample-description",
        V,
        "$dive",
        add('$dive schema:description "Other"@en .'),
        "schema:description",
    ),
    Case(
        "deep-dive-spatial-not-location",
        "capsh:DeepDiveExample-spatial",
        V,
        "$dive",
        put("$dive", "dcterms:spatial", "$plat"),
        "dcterms:spatial",
        "$plat",
    ),
    Case(
        "deep-dive-placeholder-not-boolean",
        "capsh:DeepDiveExample-isPlaceholder",
        V,
        "$dive",
        add('$dive cap:isPlaceholder "no" .'),
        "cap:isPlaceholder",
    ),
    Case(
        "deep-dive-partner-is-a-quote",
        "capsh:DeepDiveExample-partner",
        V,
        "$dive",
        add("$dive cap:appearancePartner $quote ."),
        "cap:appearancePartner",
        "$quote",
    ),
    Case(
        "deep-dive-in-progress",
        "capsh:PlaceholderDeepDiveShape",
        W,
        "$dive",
        add("$dive cap:isPlaceholder true ."),
        None,
        "$dive",
    ),
    Case(
        "deep-dive-without-steps",
        "capsh:PlaceholderDeepDiveShape",
        W,
        "$dive",
        drop("$dive", "schema:step"),
        None,
        "$dive",
    ),
    Case("step-without-title", "capsh:HowToStep-name", V, "$step", drop("$step", "schema:name"), "schema:name"),
    Case("step-two-texts", "capsh:HowToStep-text", V, "$step", add('$step schema:text "Other."@en .'), "schema:text"),
    Case(
        "step-without-number",
        "capsh:HowToStep-position",
        V,
        "$step",
        drop("$step", "schema:position"),
        "schema:position",
    ),
    Case("step-without-deep-dive", "capsh:HowToStep-deepDive", V, "$step", drop("$dive", "schema:step"), "^"),
    Case("persona-without-name", "capsh:Persona-name", V, "$persona", drop("$persona", "schema:name"), "schema:name"),
    Case(
        "persona-two-biographies",
        "capsh:Persona-description",
        V,
        "$persona",
        add('$persona schema:description "Other."@en .'),
        "schema:description",
    ),
    Case(
        "persona-without-needs",
        "capsh:Persona-needs",
        W,
        "$persona2",
        add(f'$persona2 a cap:Persona ; schema:name "Maria" ; {loc(43, 44)} .'),
        "^",
    ),
    Case("need-without-persona", "capsh:PersonaNeed-persona", V, "$need", drop("$need", "cap:persona"), "cap:persona"),
    Case("need-without-text", "capsh:PersonaNeed-text", V, "$need", drop("$need", "schema:text"), "schema:text"),
    Case(
        "need-without-position",
        "capsh:PersonaNeed-position",
        V,
        "$need",
        drop("$need", "schema:position"),
        "schema:position",
    ),
    Case(
        "need-without-quoted-flag",
        "capsh:PersonaNeed-isQuoted",
        V,
        "$need",
        drop("$need", "cap:isQuoted"),
        "cap:isQuoted",
    ),
    # --- platforms, profiles, memberships, organisations, cities, countries ----------------
    Case(
        "platform-without-country",
        "capsh:NationalPlatform-location",
        V,
        "$plat",
        drop("$plat", "schema:location"),
        "schema:location",
    ),
    Case(
        "platform-without-name",
        "capsh:NationalPlatform-prefLabel",
        V,
        "$plat",
        drop("$plat", "skos:prefLabel"),
        "skos:prefLabel",
    ),
    Case("platform-without-profile", "capsh:NationalPlatform-profile", W, "$plat2", PLATFORM_FI, "^"),
    Case("platform-without-members", "capsh:NationalPlatform-members", W, "$plat2", PLATFORM_FI, "^"),
    Case(
        "profile-unknown-property",
        "capsh:PlatformProfileShape",
        V,
        "$prof",
        add('$prof cap:facilitator "x" .'),
        "cap:facilitator",
    ),
    Case(
        "profile-of-nothing",
        "capsh:PlatformProfile-profileOf",
        V,
        "$prof",
        drop("$prof", "cap:profileOf"),
        "cap:profileOf",
    ),
    Case(
        "profile-without-title",
        "capsh:PlatformProfile-title",
        V,
        "$prof",
        drop("$prof", "dcterms:title"),
        "dcterms:title",
    ),
    Case(
        "profile-without-country",
        "capsh:PlatformProfile-spatial",
        V,
        "$prof",
        drop("$prof", "dcterms:spatial"),
        "dcterms:spatial",
    ),
    Case(
        "profile-unknown-formalisation",
        "capsh:PlatformProfile-formalisationLevel",
        V,
        "$prof",
        put("$prof", "cap:formalisationLevel", f"<{ID}formalisation/treaty>"),
        "cap:formalisationLevel",
    ),
    Case(
        "profile-without-national-actors",
        "capsh:PlatformProfile-cells",
        V,
        "$prof",
        drop("$prof", "cap:nationalActorsText"),
        "cap:nationalActorsText",
    ),
    Case(
        "profile-two-facilitator-cells",
        "capsh:PlatformProfile-facilitatorText",
        V,
        "$prof",
        add('$prof cap:facilitatorText "Other"@en .'),
        "cap:facilitatorText",
    ),
    Case(
        "profile-national-actors-iri",
        "capsh:PlatformProfile-nationalActorsText",
        V,
        "$prof",
        add("$prof cap:nationalActorsText $agency ."),
        "cap:nationalActorsText",
        "$agency",
    ),
    Case(
        "profile-two-regional-cells",
        "capsh:PlatformProfile-regionalActorsText",
        V,
        "$prof",
        add('$prof cap:regionalActorsText "Other"@en .'),
        "cap:regionalActorsText",
    ),
    Case(
        "profile-two-cities-cells",
        "capsh:PlatformProfile-citiesText",
        V,
        "$prof",
        add('$prof cap:citiesText "Other"@en .'),
        "cap:citiesText",
    ),
    Case(
        "profile-two-formalisation-cells",
        "capsh:PlatformProfile-formalisationText",
        V,
        "$prof",
        add('$prof cap:formalisationText "Other"@en .'),
        "cap:formalisationText",
    ),
    Case(
        "profile-two-collaboration-cells",
        "capsh:PlatformProfile-collaborationFormatsText",
        V,
        "$prof",
        add('$prof cap:collaborationFormatsText "Other"@en .'),
        "cap:collaborationFormatsText",
    ),
    Case(
        "profile-two-support-cells",
        "capsh:PlatformProfile-dedicatedSupportText",
        V,
        "$prof",
        add('$prof cap:dedicatedSupportText "Other"@en .'),
        "cap:dedicatedSupportText",
    ),
    Case(
        "profile-lists-a-city-directly",
        "capsh:PlatformProfile-listsCity",
        V,
        "$prof",
        add("$prof cap:listsCity $city ."),
        "cap:listsCity",
        "$city",
    ),
    Case(
        "profile-facilitator-missing",
        "capsh:PlatformProfile-facilitatorMissing",
        W,
        "$prof",
        drop("$prof", "cap:facilitatorText"),
        "cap:facilitatorText",
    ),
    Case(
        "profile-facilitator-na",
        "capsh:PlatformProfile-facilitatorMissing",
        W,
        "$prof",
        put("$prof", "cap:facilitatorText", '"N/A"@en'),
        "cap:facilitatorText",
    ),
    Case(
        "profile-without-cities",
        "capsh:PlatformProfile-citiesMissing",
        INFO,
        "$prof",
        drop("$prof", "cap:listsCity"),
        "cap:listsCity",
    ),
    Case("city-without-name", "capsh:City-name", V, "$city", drop("$city", "schema:name"), "schema:name"),
    Case("city-without-label", "capsh:City-prefLabel", V, "$city", drop("$city", "skos:prefLabel"), "skos:prefLabel"),
    Case(
        "city-in-a-platform",
        "capsh:City-country",
        V,
        "$city",
        put("$city", "schema:containedInPlace", "$plat"),
        "schema:containedInPlace",
        "$plat",
    ),
    Case(
        "city-without-country",
        "capsh:City-countryMissing",
        W,
        "$city",
        drop("$city", "schema:containedInPlace"),
        "schema:containedInPlace",
    ),
    Case(
        "city-participation-without-city", "capsh:CityParticipation-city", V, "$cp", drop("$cp", "cap:city"), "cap:city"
    ),
    Case(
        "city-participation-unknown-role",
        "capsh:CityParticipation-cityRole",
        V,
        "$cp",
        put("$cp", "cap:cityRole", f"<{ID}city-role/capital>"),
        "cap:cityRole",
    ),
    Case(
        "city-participation-without-platform",
        "capsh:CityParticipation-platform",
        V,
        "$cp",
        drop("$cp", "cap:platform"),
        "cap:platform",
    ),
    Case(
        "city-participation-not-listed",
        "capsh:CityParticipation-profile",
        V,
        "$cp",
        drop("$prof", "cap:listsCity"),
        "^",
    ),
    Case("membership-two-members", "capsh:Membership-member", V, "$mem", add("$mem org:member $old ."), "org:member"),
    Case(
        "membership-member-is-a-country",
        "capsh:Membership-member",
        V,
        "$mem",
        put("$mem", "org:member", "$aut"),
        "org:member",
        "$aut",
    ),
    Case(
        "membership-without-platform",
        "capsh:Membership-organization",
        V,
        "$mem",
        drop("$mem", "org:organization"),
        "org:organization",
    ),
    Case(
        "membership-unknown-role",
        "capsh:Membership-role",
        V,
        "$mem",
        put("$mem", "org:role", f"<{ID}role/chair>"),
        "org:role",
    ),
    Case(
        "membership-without-printed-name",
        "capsh:Membership-partnersAsPrinted",
        V,
        "$mem",
        drop("$mem", "cap:partnersAsPrinted"),
        "cap:partnersAsPrinted",
    ),
    Case(
        "organisation-two-english-names",
        "capsh:Organization-prefLabel",
        V,
        "$agency",
        add('$agency skos:prefLabel "The Agency"@en .'),
        "skos:prefLabel",
    ),
    Case(
        "organisation-altlabel-iri",
        "capsh:Organization-altLabel",
        V,
        "$agency",
        add("$agency skos:altLabel $x ."),
        "skos:altLabel",
        "$x",
    ),
    Case(
        "organisation-two-locations",
        "capsh:Organization-location",
        V,
        "$agency",
        add("$agency schema:location $plat ."),
        "schema:location",
    ),
    Case(
        "organisation-unused",
        "capsh:OrganizationUseShape",
        INFO,
        "$orphan",
        add('$orphan a org:FormalOrganization ; skos:prefLabel "Orphan"@en .'),
        None,
        "$orphan",
    ),
    Case(
        "organisation-subclass-targeted",
        "capsh:Organization-prefLabel",
        V,
        "$orphan",
        add(
            '$orphan a org:OrganizationalCollaboration ; cap:curationDecision "none"@en . '
            "$card cap:appearancePartner $orphan ."
        ),
        "skos:prefLabel",
    ),
    Case(
        "change-two-originals",
        "capsh:ChangeEvent-original",
        V,
        "$change",
        add("$change org:originalOrganization $agency ."),
        "org:originalOrganization",
    ),
    Case(
        "change-without-result",
        "capsh:ChangeEvent-resulting",
        V,
        "$change",
        drop("$change", "org:resultingOrganization"),
        "org:resultingOrganization",
    ),
    Case(
        "change-two-descriptions",
        "capsh:ChangeEvent-description",
        V,
        "$change",
        add('$change dcterms:description "Other."@en .'),
        "dcterms:description",
    ),
    Case(
        "country-minted",
        "capsh:CountryShape",
        V,
        f"{ID}country/at",
        add(
            f'<{ID}country/at> a schema:Country ; skos:notation "AT"^^euvoc:ISO_3166_1_ALPHA_2 , '
            '"AUT"^^euvoc:ISO_3166_1_ALPHA_3 ; skos:prefLabel "Austria"@en ; '
            "skos:exactMatch <http://www.wikidata.org/entity/Q40> ."
        ),
        None,
        f"{ID}country/at",
    ),
    Case(
        "country-alpha2-missing",
        "capsh:Country-alpha2",
        V,
        "$aut",
        'DELETE DATA { $aut skos:notation "AT"^^euvoc:ISO_3166_1_ALPHA_2 }',
        "skos:notation",
    ),
    Case(
        "country-alpha2-lowercase",
        "capsh:Country-alpha2",
        V,
        "$aut",
        seq(
            'DELETE DATA { $aut skos:notation "AT"^^euvoc:ISO_3166_1_ALPHA_2 }',
            add('$aut skos:notation "at"^^euvoc:ISO_3166_1_ALPHA_2 .'),
        ),
        "skos:notation",
    ),
    Case(
        "country-two-alpha3",
        "capsh:Country-alpha3",
        V,
        "$aut",
        add('$aut skos:notation "OST"^^euvoc:ISO_3166_1_ALPHA_3 .'),
        "skos:notation",
    ),
    Case(
        "country-without-name", "capsh:Country-prefLabel", V, "$aut", drop("$aut", "skos:prefLabel"), "skos:prefLabel"
    ),
    Case(
        "country-without-wikidata",
        "capsh:Country-exactMatch",
        W,
        "$aut",
        drop("$aut", "skos:exactMatch"),
        "skos:exactMatch",
    ),
    Case(
        "country-participation-not-country",
        "capsh:CountryParticipation-country",
        V,
        "$ctp",
        put("$ctp", "cap:country", "$plat"),
        "cap:country",
        "$plat",
    ),
    Case(
        "country-participation-unknown-role",
        "capsh:CountryParticipation-role",
        V,
        "$ctp",
        put("$ctp", "cap:countryRole", f"<{ID}country-role/observer>"),
        "cap:countryRole",
    ),
    # --- events, news, activities, portfolio, sources --------------------------------------
    Case("event-without-name", "capsh:Event-name", V, "$event", drop("$event", "schema:name"), "schema:name"),
    Case(
        "event-two-descriptions",
        "capsh:Event-description",
        V,
        "$event",
        add('$event schema:description "Other."@en .'),
        "schema:description",
    ),
    Case(
        "event-start-string",
        "capsh:Event-startDate",
        V,
        "$event",
        put("$event", "schema:startDate", '"6 October"'),
        "schema:startDate",
    ),
    Case(
        "event-start-after-end",
        "capsh:EventDateOrderShape",
        V,
        "$event",
        put("$event", "schema:startDate", '"2022-10-09"^^xsd:date'),
        "schema:startDate",
        "2022-10-09",
        "ends earlier, on 2022-10-07",
    ),
    Case(
        "event-two-ends",
        "capsh:Event-endDate",
        V,
        "$event",
        add('$event schema:endDate "2022-10-08"^^xsd:date .'),
        "schema:endDate",
    ),
    Case(
        "event-unknown-attendance",
        "capsh:Event-attendanceMode",
        V,
        "$webinar",
        put("$webinar", "schema:eventAttendanceMode", "schema:Online"),
        "schema:eventAttendanceMode",
    ),
    Case(
        "event-recording-not-video",
        "capsh:Event-recordedIn",
        V,
        "$event",
        add("$event schema:recordedIn $news ."),
        "schema:recordedIn",
        "$news",
    ),
    Case(
        "event-two-printed-dates",
        "capsh:Event-dateAsPrinted",
        V,
        "$event",
        add('$event cap:dateAsPrinted "7 October" .'),
        "cap:dateAsPrinted",
    ),
    Case(
        "event-without-date",
        "capsh:Event-startDateMissing",
        W,
        "$event",
        seq(drop("$event", "schema:startDate"), drop("$event", "schema:endDate")),
        "schema:startDate",
    ),
    Case(
        "webinar-subclass-targeted",
        "capsh:Event-startDateMissing",
        W,
        "$webinar",
        drop("$webinar", "schema:startDate"),
        "schema:startDate",
    ),
    Case(
        "webinar-without-recording",
        "capsh:Webinar-recording",
        W,
        "$webinar",
        drop("$webinar", "schema:recordedIn"),
        "schema:recordedIn",
    ),
    Case("news-without-headline", "capsh:NewsArticle-name", V, "$news", drop("$news", "schema:name"), "schema:name"),
    Case(
        "news-two-teasers",
        "capsh:NewsArticle-description",
        V,
        "$news",
        add('$news schema:description "Other."@en .'),
        "schema:description",
    ),
    Case("activity-without-name", "capsh:ProjectActivity-name", V, "$act", drop("$act", "schema:name"), "schema:name"),
    Case(
        "activity-two-descriptions",
        "capsh:ProjectActivity-description",
        V,
        "$act",
        add('$act schema:description "Other."@en .'),
        "schema:description",
    ),
    Case(
        "section-without-title",
        "capsh:PortfolioSection-title",
        V,
        "$sec",
        drop("$sec", "dcterms:title"),
        "dcterms:title",
    ),
    Case(
        "section-without-edition",
        "capsh:PortfolioSection-isPartOf",
        V,
        "$sec",
        drop("$sec", "dcterms:isPartOf"),
        "dcterms:isPartOf",
    ),
    Case(
        "edition-without-title", "capsh:PortfolioEdition-title", V, "$ed", drop("$ed", "dcterms:title"), "dcterms:title"
    ),
    Case(
        "edition-without-portfolio",
        "capsh:PortfolioEdition-isVersionOf",
        V,
        "$ed",
        drop("$ed", "dcterms:isVersionOf"),
        "dcterms:isVersionOf",
    ),
    Case(
        "edition-year-malformed",
        "capsh:PortfolioEdition-issued",
        V,
        "$ed",
        put("$ed", "dcterms:issued", '"26"^^xsd:gYear'),
        "dcterms:issued",
    ),
    Case(
        "edition-without-source",
        "capsh:PortfolioEdition-primarySource",
        V,
        "$ed",
        drop("$ed", "prov:hadPrimarySource"),
        "prov:hadPrimarySource",
    ),
    Case("source-without-name", "capsh:SourceText-name", V, "$src", drop("$src", "schema:name"), "schema:name"),
    Case("source-without-title", "capsh:SourceText-title", V, "$src", drop("$src", "dcterms:title"), "dcterms:title"),
    Case(
        "source-extent-string",
        "capsh:SourceText-extent",
        V,
        "$src",
        put("$src", "dcterms:extent", '"500"'),
        "dcterms:extent",
    ),
    Case(
        "source-format-pdf",
        "capsh:SourceText-format",
        V,
        "$src",
        put("$src", "schema:encodingFormat", '"application/pdf"'),
        "schema:encodingFormat",
    ),
    Case(
        "source-without-rights", "capsh:SourceText-rights", W, "$src", drop("$src", "dcterms:rights"), "dcterms:rights"
    ),
]

# Updates that give a shape something to check in its conforming graph (valid.ttl lacks it).
# --- relations the text states between materials (relations.yaml) -----------------------------
CASES += [
    Case(
        "relation-direct-property-missing",
        "capsh:MaterialRelationShape",
        V,
        "$rel",
        drop("$webinar", "cap:recordedEventOf"),
        None,
        message="not linked by any direct property",
    ),
    Case(
        "relation-kind-of-another-scheme",
        "capsh:MaterialRelationShape",
        V,
        "$rel",
        put("$rel", "cap:relationKind", "$tag"),
        None,
        message="is not a concept of id:scheme/relation-kinds",
    ),
    Case(
        "relation-subject-missing",
        "capsh:MaterialRelation-subject",
        V,
        "$rel",
        drop("$rel", "cap:relationSubject"),
        "cap:relationSubject",
    ),
    Case(
        "relation-subject-a-card",
        "capsh:MaterialRelation-subject",
        V,
        "$rel",
        put("$rel", "cap:relationSubject", "$card"),
        "cap:relationSubject",
    ),
    Case(
        "relation-object-not-a-material",
        "capsh:MaterialRelation-object",
        V,
        "$rel",
        put("$rel", "cap:relationObject", "$card"),
        "cap:relationObject",
    ),
    Case(
        "relation-two-kinds",
        "capsh:MaterialRelation-kind",
        V,
        "$rel",
        add("$rel cap:relationKind $tag ."),
        "cap:relationKind",
    ),
    Case(
        "relation-without-evidence",
        "capsh:MaterialRelation-evidence",
        V,
        "$rel",
        drop("$rel", "cap:evidence"),
        "cap:evidence",
    ),
    Case(
        "relation-subject-card-not-a-card",
        "capsh:MaterialRelation-subjectAppearance",
        V,
        "$rel",
        add("$rel cap:subjectAppearance $link ."),
        "cap:subjectAppearance",
    ),
    Case(
        "relation-object-card-not-a-card",
        "capsh:MaterialRelation-objectAppearance",
        V,
        "$rel",
        add("$rel cap:objectAppearance $link ."),
        "cap:objectAppearance",
    ),
    Case("evidence-without-text", "capsh:TextEvidence-text", V, "$evid", drop("$evid", "schema:text"), "schema:text"),
    Case(
        "evidence-in-two-places",
        "capsh:TextEvidence-locator",
        V,
        "$evid",
        add(f'$evid cap:sourceLocator "{T["src"]}#line=1,2"^^xsd:anyURI .'),
        "cap:sourceLocator",
    ),
    Case("evidence-of-no-relation", "capsh:TextEvidence-relation", V, "$evid", drop("$rel", "cap:evidence"), "^"),
]

# --- change sets and what they add or change (shapes/07-contributions.ttl) --------------------------------
ASSOCIATION = "[ prov:hadRole cap:{role} ; prov:agent ${who} ]"
CHANGE_SET = add(f"""$cs a cap:ChangeSet ; prov:startedAtTime "2026-12-01T10:00:00Z"^^xsd:dateTime ;
    prov:endedAtTime "2026-12-02T09:00:00Z"^^xsd:dateTime ; prov:wasAssociatedWith $paula , $edith ;
    prov:qualifiedAssociation {ASSOCIATION.format(role="proposer", who="paula")} ,
        {ASSOCIATION.format(role="approver", who="edith")} .
    $paula a prov:Agent . $edith a prov:Agent .""")
CONTRIBUTED = add("$contrib prov:wasGeneratedBy $cs .")
CHANGED = add('$mat prov:wasInfluencedBy $cs ; dcterms:modified "2026-12-02T09:00:00Z"^^xsd:dateTime .')
CASES += [
    Case("change-set-without-start", "capsh:ChangeSet-startedAtTime", V, "$cs",
         seq(CHANGE_SET, drop("$cs", "prov:startedAtTime")), "prov:startedAtTime"),
    Case("change-set-approved-before-proposed", "capsh:ChangeSet-startedAtTime", V, "$cs",
         seq(CHANGE_SET, put("$cs", "prov:startedAtTime", '"2026-12-03T00:00:00Z"^^xsd:dateTime')),
         "prov:startedAtTime"),
    Case("change-set-without-end", "capsh:ChangeSet-endedAtTime", V, "$cs",
         seq(CHANGE_SET, drop("$cs", "prov:endedAtTime")), "prov:endedAtTime"),
    Case("change-set-without-accounts", "capsh:ChangeSet-associatedWith", V, "$cs",
         seq(CHANGE_SET, drop("$cs", "prov:wasAssociatedWith")), "prov:wasAssociatedWith"),
    Case("change-set-without-proposer", "capsh:ChangeSet-proposer", V, "$cs",
         seq(CHANGE_SET, "DELETE WHERE { ?a prov:hadRole cap:proposer }"), "prov:qualifiedAssociation"),
    Case("change-set-with-two-approvers", "capsh:ChangeSet-approver", V, "$cs",
         seq(CHANGE_SET, add(f"$cs prov:qualifiedAssociation {ASSOCIATION.format(role='approver', who='paula')} .")),
         "prov:qualifiedAssociation"),
    Case("contributed-by-no-change-set", "capsh:ContributedResource-changeSet", V, "$contrib",
         seq(CHANGE_SET, add("$contrib prov:wasGeneratedBy $mat .")), "prov:wasGeneratedBy"),
    Case("changed-by-no-change-set", "capsh:ChangedResource-changeSet", V, "$mat",
         seq(CHANGE_SET, CHANGED, add("$mat prov:wasInfluencedBy $mat2 .")), "prov:wasInfluencedBy"),
    Case("changed-without-a-date", "capsh:ChangedResource-modified", V, "$mat",
         seq(CHANGE_SET, add("$mat prov:wasInfluencedBy $cs .")), "dcterms:modified"),
]  # fmt: skip

CONFORMING_SETUP = {
    "capsh:PlaceholderCardShape": PLACEHOLDER,
    "capsh:ChangeSetShape": CHANGE_SET,
    "capsh:ContributedResourceShape": seq(CHANGE_SET, CONTRIBUTED),
    "capsh:ChangedResourceShape": seq(CHANGE_SET, CHANGED),
}
# The node of the conforming graph each node shape targets (the test checks it is there).
CONFORMING_FOCUS = {
    "capsh:SourceLocationShape": "$quote",
    "capsh:SingleSourceLocationShape": "$lesson",
    "capsh:FunctionalPropertyShape": "$card",
    "capsh:SchemaOrgNamespaceShape": "$card",
    "capsh:LearningMaterialShape": "$mat",
    "capsh:MaterialReleaseYearShape": "$mat",
    "capsh:MaterialRelationShape": "$rel",
    "capsh:TextEvidenceShape": "$evid",
    "capsh:MaterialAppearanceShape": "$card",
    "capsh:PlaceholderCardShape": "$ph",
    "capsh:PlaceholderCardNoticeShape": "$card",
    "capsh:LearnMoreLinkShape": "$link",
    "capsh:CoreChallengeShape": "$cat",
    "capsh:ProblemStatementShape": "$ps",
    "capsh:HashtagIndexUseShape": "$index",
    "capsh:HashtagShape": "$tag",
    "capsh:HashtagIndexShape": "$index",
    "capsh:UnusedIndexHashtagShape": "$index",
    "capsh:MaterialTypeShape": "$type",
    "capsh:GlossaryTermShape": "$gloss",
    "capsh:InterviewQuoteShape": "$quote",
    "capsh:PlaceholderQuoteShape": "$quote",
    "capsh:LessonLearnedShape": "$lesson",
    "capsh:PlaceholderLessonShape": "$lesson",
    "capsh:DeepDiveExampleShape": "$dive",
    "capsh:PlaceholderDeepDiveShape": "$dive",
    "capsh:HowToStepShape": "$step",
    "capsh:PersonaShape": "$persona",
    "capsh:PersonaNeedShape": "$need",
    "capsh:NationalPlatformShape": "$plat",
    "capsh:PlatformProfileShape": "$prof",
    "capsh:CityShape": "$city",
    "capsh:CityParticipationShape": "$cp",
    "capsh:MembershipShape": "$mem",
    "capsh:OrganizationShape": "$agency",
    "capsh:OrganizationUseShape": "$old",
    "capsh:ChangeEventShape": "$change",
    "capsh:CountryShape": "$aut",
    "capsh:CountryParticipationShape": "$ctp",
    "capsh:EventShape": "$event",
    "capsh:EventDateOrderShape": "$event",
    "capsh:WebinarShape": "$webinar",
    "capsh:NewsArticleShape": "$news",
    "capsh:ProjectActivityShape": "$act",
    "capsh:PortfolioSectionShape": "$sec",
    "capsh:PortfolioEditionShape": "$ed",
    "capsh:SourceTextShape": "$src",
    "capsh:ChangeSetShape": "$cs",
    "capsh:ContributedResourceShape": "$contrib",
    "capsh:ChangedResourceShape": "$mat",
}


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return load_turtle_dir(ROOT / "shapes", NS)


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_turtle_dir(ROOT / "ontology", NS)


@lru_cache(maxsize=1)
def _valid_graph() -> Graph:
    graph = Graph()
    graph.parse(data=NS.rebase((CASES_DIR / "valid.ttl").read_text(encoding="utf-8")), format="turtle")
    return graph


def _graph(update: str = "") -> Graph:
    graph = Graph()
    NS.bind(graph)
    graph += _valid_graph()
    if update:
        graph.update(PREFIXES + _expand_tokens(update))
    return graph


def _iri(token_or_iri: str) -> str:
    return T[token_or_iri[1:]] if token_or_iri.startswith("$") else token_or_iri


def _expand(short: str | None, graph: Graph) -> str | None:
    """Undo kg.reasoning.validate._short: <iri> or a CURIE back to the full IRI; literals stay as they are."""
    if short is None:
        return None
    if short.startswith("<") and short.endswith(">"):
        return short[1:-1]
    prefix, sep, _ = short.partition(":")
    if sep and prefix in dict(graph.namespaces()) and not short.startswith("http"):
        return str(graph.namespace_manager.expand_curie(short))
    return short


def _family(shapes: Graph) -> dict[str, str]:
    """Short name of every named shape -> short name of the node shape it belongs to."""
    owner: dict[str, str] = {}
    for node in shapes.subjects(RDF.type, SH.NodeShape):
        name = _short(node, shapes)
        owner[name] = name
        for prop in shapes.objects(node, SH.property):
            owner[_short(prop, shapes)] = name
    return owner


def _short(node, graph: Graph) -> str:  # noqa: ANN001
    return graph.namespace_manager.normalizeUri(node) if isinstance(node, URIRef) else str(node)


def _describe(results: list[ValidationResult]) -> str:
    return "\n".join(f"  {r.severity} {r.shape} {r.focus} {r.path} {r.value!r}: {r.message}" for r in results)


_REPORTS: dict[str, ValidationReport] = {}
_PREPARED: dict[tuple, object] = {}


@contextmanager
def _prepared_sparql() -> Iterator[None]:
    """Parse each SPARQL query of the shapes once for the ~200 small validations of this module.

    pySHACL hands rdflib query strings, and rdflib parses a string on every call (~25 ms for the
    shapes' queries), which dominates the validation of a small graph. The real graph is validated
    without this cache, so its timing is the production one.
    """
    from rdflib.plugins.sparql import processor

    original = processor.SPARQLProcessor.query

    def query(self, query, initBindings=None, initNs=None, base=None, DEBUG=False):  # noqa: ANN001, ANN202, N803
        if isinstance(query, str):
            key = (query, tuple(sorted((initNs or {}).items())), base)
            if key not in _PREPARED:
                _PREPARED[key] = processor.prepareQuery(query, initNs, base)
            query = _PREPARED[key]
        return original(self, query, initBindings, initNs, base, DEBUG)

    processor.SPARQLProcessor.query = query
    try:
        yield
    finally:
        processor.SPARQLProcessor.query = original


_GRAPHS: dict[str, Graph] = {}


def _report(update: str, shapes: Graph, ontology: Graph) -> tuple[ValidationReport, Graph]:
    """Validate valid.ttl + update (once per distinct update)."""
    if update not in _REPORTS:
        _GRAPHS[update] = _graph(update)
        with _prepared_sparql():
            _REPORTS[update] = validate(_GRAPHS[update], shapes, ontology, NS)
    return _REPORTS[update], _GRAPHS[update]


# --- the shapes file itself ------------------------------------------------------------------


def test_every_shape_is_documented(shapes: Graph) -> None:
    """Node shapes: label, comment, severity. Property shapes: IRI, label, comment, own severity, message."""
    problems = []
    for node in set(shapes.subjects(RDF.type, SH.NodeShape)):
        for predicate in (RDFS.label, RDFS.comment, SH.severity):
            if shapes.value(node, predicate) is None:
                problems.append(f"{_short(node, shapes)} lacks {_short(predicate, shapes)}")
        for prop in shapes.objects(node, SH.property):
            if not isinstance(prop, URIRef):
                problems.append(f"{_short(node, shapes)} has an anonymous sh:property")
            for predicate in (RDFS.label, RDFS.comment, SH.severity, SH.message):
                if shapes.value(prop, predicate) is None:
                    problems.append(f"{_short(prop, shapes)} lacks {_short(predicate, shapes)}")
    assert not problems, "\n".join(problems)


def test_every_shape_has_a_failing_case(shapes: Graph) -> None:
    covered = {case.shape for case in CASES}
    owners = _family(shapes)
    missing = sorted(name for name in owners if name not in covered and not any(owners.get(c) == name for c in covered))
    assert not missing, f"shapes without a non-conforming case: {missing}"
    missing_props = sorted(name for name, owner in owners.items() if name != owner and name not in covered)
    assert not missing_props, f"property shapes without a non-conforming case: {missing_props}"
    unknown = sorted(covered - set(owners))
    assert not unknown, f"cases name unknown shapes: {unknown}"
    assert set(CONFORMING_FOCUS) == {n for n, o in owners.items() if n == o}


def test_valid_graph_conforms_completely(shapes: Graph, ontology: Graph) -> None:
    report, _ = _report("", shapes, ontology)
    assert not report.results, "valid.ttl should produce no result at all:\n" + _describe(report.results)


# --- shape by shape ----------------------------------------------------------------------------


@pytest.mark.parametrize("node_shape", sorted(CONFORMING_FOCUS))
def test_shape_conforms(node_shape: str, shapes: Graph, ontology: Graph) -> None:
    setup = CONFORMING_SETUP.get(node_shape, "")
    report, graph = _report(setup, shapes, ontology)
    focus = URIRef(_iri(CONFORMING_FOCUS[node_shape]))
    assert (focus, None, None) in graph, f"the conforming graph lacks {focus}"
    owners = _family(shapes)
    mine = [r for r in report.results if owners.get(r.shape or "") == node_shape]
    assert not mine, f"{node_shape} should not report on the conforming graph:\n" + _describe(mine)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_shape_reports(case: Case, shapes: Graph, ontology: Graph) -> None:
    report, graph = _report(case.update, shapes, ontology)
    focus = _iri(case.focus)
    hits = [r for r in report.results if r.shape == case.shape and _expand(r.focus, graph) == focus]
    assert hits, f"expected {case.severity} from {case.shape} on {focus}; got:\n" + _describe(report.results)
    for hit in hits:
        assert hit.severity == case.severity, _describe(hits)
        if case.path == "^":  # an inverse or alternative path, rendered "^prefix:name" or "(a|b)"
            assert hit.path is not None and (hit.path.startswith("^") or "|" in hit.path), _describe(hits)
        elif case.path is None:
            assert hit.path is None, _describe(hits)
        else:
            assert _expand(hit.path, graph) == _expand(case.path, graph), _describe(hits)
    if case.value is not None:
        assert any(_expand(h.value, graph) == _iri(case.value) for h in hits), _describe(hits)
    if case.message is not None:
        assert any(case.message in h.message for h in hits), _describe(hits)


def test_shapes_follow_a_configured_base_iri() -> None:
    """load_turtle_dir rewrites the default base everywhere (IRIs, SPARQL text, patterns)."""
    other = ProjectNamespaces("https://example.org/kg/")
    graph = Graph()
    graph.parse(data=other.rebase((CASES_DIR / "valid.ttl").read_text(encoding="utf-8")), format="turtle")
    assert (URIRef("https://example.org/kg/id/material/toolkit"), None, None) in graph
    with _prepared_sparql():
        report = validate(
            graph, load_turtle_dir(ROOT / "shapes", other), load_turtle_dir(ROOT / "ontology", other), other
        )
    assert not report.results, _describe(report.results)


def test_month_and_day_are_not_ordered(shapes: Graph, ontology: Graph) -> None:
    """A start printed as a month (xsd:gYearMonth) and an end day in that month are no error."""
    report, _ = _report(put("$event", "schema:startDate", '"2022-10"^^xsd:gYearMonth'), shapes, ontology)
    assert not report.results, _describe(report.results)


def test_release_year_period_is_enough(shapes: Graph, ontology: Graph) -> None:
    """A material with a period (dcterms:temporal) and no single year is not reported."""
    update = seq(
        drop("$mat", "cap:releaseYear"),
        add(f"$mat dcterms:temporal <{ID}period/2020-2023> . <{ID}period/2020-2023> a dcterms:PeriodOfTime ."),
    )
    report, _ = _report(update, shapes, ontology)
    assert not report.results, _describe(report.results)


# --- the real asserted graph ------------------------------------------------------------------


@dataclass
class Real:
    report: ValidationReport
    graph: Graph


@pytest.fixture(scope="module")
def real(shapes: Graph, ontology: Graph) -> Real:
    from kg.rdf import map_sources
    from kg.settings import get_settings
    from kg.sources.bundle import read_sources
    from kg.sources.curation import load_curation

    settings = get_settings()
    graph = map_sources(read_sources(settings.sources_dir), load_curation(settings.curation_dir), NS).graph
    return Real(validate(graph, shapes, ontology, NS), graph)


@lru_cache(maxsize=1)
def _source_lines() -> list[str]:
    return PORTFOLIO.read_text(encoding="utf-8").splitlines()


def _line(number: int) -> str:
    return _source_lines()[number - 1]


def _find(real: Real, shape: str, focus: str, value: str | None = None) -> list[ValidationResult]:
    return [
        r
        for r in real.report.results
        if r.shape == shape
        and _expand(r.focus, real.graph) == focus
        and (value is None or _expand(r.value, real.graph) == value)
    ]


def test_real_graph_has_no_violations(real: Real) -> None:
    assert not real.report.violations, _describe(real.report.violations)


def test_real_graph_quality_report_is_substantial(real: Real) -> None:
    counts = Counter(r.severity for r in real.report.results)
    assert counts["Warning"] >= 50 and counts["Info"] >= 30, counts
    shapes_seen = {r.shape for r in real.report.results}
    for shape in (
        "capsh:PlaceholderCard-notice",
        "capsh:MaterialAppearance-typeLabelTemplate",
        "capsh:MaterialReleaseYearShape",
        "capsh:HashtagIndexUseShape",
        "capsh:UnusedIndexHashtagShape",
        "capsh:InterviewQuote-attributionMissing",
        "capsh:PlaceholderQuoteShape",
        "capsh:PlaceholderLessonShape",
        "capsh:ProblemStatement-keyChallengePlaceholder",
        "capsh:ProblemStatement-materials",
        "capsh:PlatformProfile-facilitatorMissing",
        "capsh:OrganizationUseShape",
        "capsh:LessonLearned-aboutSubcategory",
    ):
        assert shape in shapes_seen, shape


def test_real_subcategory_2_5_has_no_materials(real: Real) -> None:
    start = _source_lines().index("2.5 Overcoming bottlenecks during implementation")
    end = _source_lines().index("2.6 Governance models examples", start)
    section = _source_lines()[start:end]
    rows = [i for i, line in enumerate(section) if line.startswith("Learning Material\tCountry")]
    assert rows and all(section[i + 1].strip() == "" for i in rows), "2.5 prints card rows with a material"
    assert section.count("IN PROGRESS") >= 2
    hits = _find(real, "capsh:ProblemStatement-materials", ID + "challenge/2.5")
    assert [h.severity for h in hits] == ["Warning"]
    notices = [r for r in real.report.results if r.shape == "capsh:PlaceholderCard-notice" and r.group == "2.5"]
    assert len(notices) == 2 and all(r.severity == "Info" for r in notices)


def test_real_pilot_project_portfolios_has_no_year(real: Real) -> None:
    cells = _line(1176).split("\t")
    assert cells[0] == "Pilot Project Portfolios" and cells[2] == "", cells  # the Year of release cell is blank
    assert _line(1173) == "Type of learning format"
    hits = _find(real, "capsh:MaterialReleaseYearShape", ID + "material/pilot-project-portfolios")
    assert len(hits) == 1 and hits[0].severity == "Warning"
    assert "blank" in hits[0].message and "2.2" in hits[0].message
    template = _find(real, "capsh:MaterialAppearance-typeLabelTemplate", ID + "appearance/pilot-project-portfolios/2.2")
    assert [h.severity for h in template] == ["Warning"]


def test_real_printed_years_are_quoted(real: Real) -> None:
    hits = _find(real, "capsh:MaterialReleaseYearShape", ID + "material/cdp-iclei-track-platform")
    assert len(hits) == 1 and '"n.d."' in hits[0].message
    assert any("\tn.d.\t" in line and line.startswith("CDP-ICLEI Track") for line in _source_lines())


def test_real_resilience_is_not_in_the_index(real: Real) -> None:
    lines = _source_lines()
    index = lines[lines.index("Index of #Hashtags") : lines.index("Index of #Hashtags") + 61]
    assert not any("#Resilience" in line for line in index)
    assert "#Resilience" in _line(390) and lines.index("1.1 Cross-sectoral and cross-departmental collaboration") < 390
    hits = _find(real, "capsh:HashtagIndexUseShape", ID + "collection/hashtag-index", ID + "hashtag/resilience")
    assert len(hits) == 1 and hits[0].severity == "Warning" and "subcategory 1.1" in hits[0].message


def test_real_unused_index_hashtag(real: Real) -> None:
    lines = _source_lines()
    start = lines.index("Index of #Hashtags")
    assert "#Policy" in [line.strip() for line in lines[start : start + 61]]
    assert not any(re.search(r"#Policy\b", line) for line in lines[start + 61 :])
    hits = _find(real, "capsh:UnusedIndexHashtagShape", ID + "collection/hashtag-index", ID + "hashtag/policy")
    assert [h.severity for h in hits] == ["Info"]


def test_real_will_follow_key_challenge(real: Real) -> None:
    assert _line(2528) == "- Will follow"
    hits = _find(real, "capsh:ProblemStatement-keyChallengePlaceholder", ID + "challenge/5.1", "Will follow")
    assert [h.severity for h in hits] == ["Warning"]


def test_real_tbc_quote_and_lessons(real: Real) -> None:
    assert _line(1861) == "TBC"
    assert [h.severity for h in _find(real, "capsh:PlaceholderQuoteShape", ID + "quote/3.4")] == ["Warning"]
    assert _line(1934) == "EU Funding mechanisms: tbc"
    assert [h.severity for h in _find(real, "capsh:PlaceholderLessonShape", ID + "lesson/03/1")] == ["Warning"]


def test_real_italian_profile_has_no_facilitator(real: Real) -> None:
    lines = _source_lines()
    start = lines.index("Core Country: Italy")
    facilitator = next(line for line in lines[start : start + 5] if line.startswith("Facilitator:"))
    assert facilitator.split("\t", 1)[1].strip() == ""
    hits = _find(real, "capsh:PlatformProfile-facilitatorMissing", ID + "profile/2026/it")
    assert [h.severity for h in hits] == ["Warning"]
    assert [h.severity for h in _find(real, "capsh:NationalPlatform-members", ID + "platform/it")] == ["Warning"]


def test_real_unattributed_intro_quote(real: Real) -> None:
    assert _line(381) == '"It would be very helpful to conduct the information exchange in Italian."'
    assert _line(382) == "" and _line(383).startswith("1.1 ")  # no "— attribution" line follows
    hits = _find(real, "capsh:InterviewQuote-attributionMissing", ID + "quote/01/intro-1")
    assert [h.severity for h in hits] == ["Info"]
