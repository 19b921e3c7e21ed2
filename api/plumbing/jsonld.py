"""The REST API's JSON-LD: each JSON answer read as RDF that agrees with the graph (docs/api-jsonld.md).

A `Shape` says how the JSON objects of one answer read as RDF nodes: which field holds the node's IRI, its
rdf:type, and for every field the property, datatype and language tag the graph uses for that fact
(dcterms:title "…"@en, cap:releaseYear "2021"^^xsd:gYear, skos:notation "AT"^^euvoc:ISO_3166_1_ALPHA_2…).
Values the graph does not state about that node (counts, a card's type label read on its material,
notations of linked resources) use terms of the API's own vocabulary (`api:`, api/vocabulary.ttl).
Lists of nodes are Hydra collections (`hydra:member`, `hydra:totalItems`, `hydra:view`). Each answer
embeds its own context, made from its shapes: no `@vocab`, so no field is ever read as a minted term.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.namespaces import ProjectNamespaces

HYDRA = "http://www.w3.org/ns/hydra/core#"
ALPHA2 = "euvoc:ISO_3166_1_ALPHA_2"  # the datatype of the countries' two-letter skos:notation in the graph
PREFIXES = ("cap", "dcterms", "skos", "schema", "org", "xsd", "euvoc")


@dataclass(frozen=True)
class Term:
    """How one JSON field reads: its property (a compact IRI), and its values' datatype or language tag.

    datatype "@id": the value is an IRI. Neither datatype nor language: a JSON string is an xsd:string,
    an integer an xsd:integer, true/false an xsd:boolean (what the graph uses for such values).
    reverse: the node is the object of the property, the value its subject.
    """

    property: str
    datatype: str | None = None
    language: str | None = None
    reverse: bool = False

    def definition(self) -> dict[str, str]:
        entry = {"@reverse" if self.reverse else "@id": self.property}
        if self.datatype:
            entry["@type"] = self.datatype
        if self.language:
            entry["@language"] = self.language
        return entry


@dataclass(frozen=True)
class Shape:
    """How the JSON objects of one kind read as RDF nodes.

    id: the field holding the node's IRI (it becomes "@id"); id_template: an IRI made from a field
    instead, under the instances' namespace, e.g. "challenge/{notation}" (the documented IRI scheme);
    neither: a blank node. nested: fields holding nodes (an object, or a list of them), with the term
    linking them and their own shape.
    """

    fields: Mapping[str, Term]
    id: str | None = None
    id_template: str | None = None
    type: str | None = None
    nested: Mapping[str, tuple[Term, Shape]] = field(default_factory=dict)

    def terms(self) -> dict[str, Term]:
        """Every field name of this shape and the shapes nested in it, with its term: one term per name."""
        found: dict[str, Term] = {}
        for name, term in [
            *self.fields.items(),
            *((name, link) for name, (link, _) in self.nested.items()),
            *(item for _, shape in self.nested.values() for item in shape.terms().items()),
        ]:
            if found.setdefault(name, term) != term:
                raise ValueError(f"field {name!r} would read as two terms: {found[name]} and {term}")
        return found

    def node(self, value: Mapping[str, Any], ns: ProjectNamespaces) -> dict[str, Any]:
        """The JSON-LD node of one JSON object of this shape (fields without a value left out)."""
        node: dict[str, Any] = {}
        if self.id:
            node["@id"] = value[self.id]
        elif self.id_template:
            node["@id"] = str(ns.id) + self.id_template.format_map(value)
        if self.type:
            node["@type"] = self.type
        for name, item in value.items():
            if name == self.id or item is None or item == []:
                continue
            if name in self.nested:
                _, shape = self.nested[name]
                node[name] = [shape.node(v, ns) for v in item] if isinstance(item, list) else shape.node(item, ns)
            elif name in self.fields:
                node[name] = _literal(item, self.fields[name])
            else:
                raise KeyError(f"field {name!r} has no JSON-LD term")  # a field added without saying how it reads
        return node


def _literal(value: Any, term: Term) -> Any:
    """A value as its term reads it: numbers with a datatype of their own (xsd:gYear) as their lexical form."""
    if isinstance(value, list):
        return [_literal(v, term) for v in value]
    if term.datatype and term.datatype != "@id" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def context(ns: ProjectNamespaces, *shapes: Shape, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The context of an answer: the prefixes, the API's vocabulary, Hydra, and each field's term."""
    prefixes = ns.prefixes()
    terms: dict[str, Any] = {
        **{prefix: prefixes[prefix] for prefix in PREFIXES},
        "hydra": HYDRA,
        "api": str(ns.api),
        "member": {"@id": "hydra:member"},
        "totalItems": {"@id": "hydra:totalItems"},
        "view": {"@id": "hydra:view"},
        "first": {"@id": "hydra:first", "@type": "@id"},
        "previous": {"@id": "hydra:previous", "@type": "@id"},
        "next": {"@id": "hydra:next", "@type": "@id"},
        "last": {"@id": "hydra:last", "@type": "@id"},
        **(extra or {}),
    }
    for shape in shapes:
        for name, term in shape.terms().items():
            if name in terms and terms[name] != term.definition():
                raise ValueError(f"field {name!r} is already a term of this answer's context")
            terms[name] = term.definition()
    return terms


def collection(
    ns: ProjectNamespaces,
    iri: str,
    shape: Shape,
    items: Sequence[Mapping[str, Any]],
    *,
    total: int | None = None,
    view: dict[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A hydra:Collection of the items' nodes. `total`: how many members in all (the members shown,
    one per distinct node, if not given); `view`: the hydra:PartialCollectionView of a page."""
    members = [shape.node(item, ns) for item in items]
    distinct = {m["@id"] for m in members if "@id" in m} | {i for i, m in enumerate(members) if "@id" not in m}
    document: dict[str, Any] = {
        "@context": context(ns, shape, extra=extra),
        "@id": iri,
        "@type": "hydra:Collection",
        "totalItems": len(distinct) if total is None else total,
        "member": members,
    }
    if view:
        document["view"] = view
    return document


def resource(ns: ProjectNamespaces, shape: Shape, value: Mapping[str, Any]) -> dict[str, Any]:
    """One node, with its context."""
    return {"@context": context(ns, shape), **shape.node(value, ns)}


# -- terms -----------------------------------------------------------------------------------------

EN = "en"
TITLE = Term("dcterms:title", language=EN)  # every dcterms:title of the graph is English
PREF_LABEL_EN = Term("skos:prefLabel", language=EN)  # challenges, countries, organisations (en), platforms, roles
PREF_LABEL = Term("skos:prefLabel")  # hashtags: labels without a language tag
NOTATION = Term("skos:notation")  # challenges' notations: xsd:string
COUNTRY_NOTATION = Term("skos:notation", ALPHA2)
CARD_COUNT = Term("api:cardCount")
MATERIAL_COUNT = Term("api:materialCount")
SUBCATEGORY_NOTATIONS = Term("api:subcategoryNotation")
CATEGORY_NOTATIONS = Term("api:categoryNotation")
COUNTRY_CODE = Term("api:countryCode", ALPHA2)

MATERIAL_SUMMARY = Shape(
    id="iri",
    type="cap:LearningMaterial",
    fields={
        "id": Term("api:key"),
        "title": TITLE,
        "years": Term("cap:releaseYear", "xsd:gYear"),
        "countries": COUNTRY_CODE,
        "categories": CATEGORY_NOTATIONS,
        "subcategories": SUBCATEGORY_NOTATIONS,
        "type_labels": Term("api:cardTypeLabel", language=EN),
        "score": Term("api:relevance"),
        "snippet": Term("api:snippet"),
    },
)

CARD = Shape(
    id="card",
    type="cap:MaterialAppearance",
    fields={
        "subcategory": SUBCATEGORY_NOTATIONS,
        "subcategory_title": Term("api:subcategoryTitle", language=EN),
        "type_label": Term("cap:typeLabel", language=EN),
        "title_as_printed": Term("cap:titleAsPrinted"),
        "country_as_printed": Term("cap:countryAsPrinted"),
        "year_as_printed": Term("cap:yearAsPrinted"),
        "description": Term("dcterms:description", language=EN),
        "key_features": Term("cap:keyFeature", language=EN),
        "partners": Term("api:partnerName"),
        "links": Term("api:linkName"),
        "first_line": Term("cap:firstLine"),
        "last_line": Term("cap:lastLine"),
    },
)

RELATED = Shape(
    id="related",
    type="cap:LearningMaterial",
    fields={
        "title": TITLE,
        "shared_subcategories": Term("api:sharedSubcategoryCount"),
        "shared_hashtags": Term("api:sharedHashtagCount"),
        "score": Term("api:relatedness"),
    },
)

MATERIAL = Shape(
    id="iri",
    type="cap:LearningMaterial",
    fields={
        **{k: v for k, v in MATERIAL_SUMMARY.fields.items() if k not in ("score", "snippet")},
        "hashtags": Term("api:hashtagLabel"),
    },
    nested={
        "cards": (Term("cap:hasAppearance", "@id"), CARD),
        "related": (Term("api:relatedMaterial", "@id"), RELATED),
    },
)

SUBCATEGORY = Shape(
    id_template="challenge/{notation}",
    type="cap:ProblemStatement",
    fields={
        "notation": NOTATION,
        "title": PREF_LABEL_EN,
        "cards": CARD_COUNT,
        "placeholders": Term("api:placeholderCount"),
    },
)

CATEGORY = Shape(
    id_template="challenge/{notation}",
    type="cap:CoreChallenge",
    fields={"notation": NOTATION, "title": PREF_LABEL_EN},
    nested={"subcategories": (Term("skos:narrower", "@id"), SUBCATEGORY)},
)

HASHTAG = Shape(
    id="hashtag",
    type="cap:Hashtag",
    fields={
        "label": PREF_LABEL,
        "subcategories": Term("api:subcategoryCount"),
        "in_index": Term("api:inHashtagIndex"),
    },
)

COUNTRY = Shape(  # no rdf:type: a country, or the EU (the authority's EUR)
    id="country",
    fields={
        "code": COUNTRY_NOTATION,
        "name": PREF_LABEL_EN,
        "wikidata": Term("skos:exactMatch", "@id"),
        "materials": MATERIAL_COUNT,
        "via_group": Term("api:groupMaterialCount"),
        "has_profile": Term("api:hasPlatformProfile"),
    },
)

ORGANISATION = Shape(
    id="organisation",
    type="org:Organization",
    fields={
        "name": PREF_LABEL_EN,  # organisations.rq keeps the English label
        "country": COUNTRY_CODE,
        "materials": MATERIAL_COUNT,
        "roles": Term("api:platformRole", language=EN),
    },
)

CITY = Shape(
    id="city",
    type="cap:City",
    fields={
        "name": Term("schema:name"),
        "country": COUNTRY_CODE,
        "role": Term("api:cityRole", language=EN),
        "mission_city": Term("api:isMissionCity"),
    },
)

MATERIAL_LINK = Shape(id="material", type="cap:LearningMaterial", fields={"title": TITLE})

PROFILE = Shape(
    id="profile",
    type="cap:PlatformProfile",
    fields={
        "facilitators": Term("api:facilitatorName"),  # labels of several languages, joined: plain text
        "cities": Term("api:cityName"),
        "formalisation": Term("api:formalisationLevel", language=EN),
        "formalisation_text": Term("cap:formalisationText", language=EN),
    },
)

MATERIAL_IN_COUNTRY = Shape(
    id="material",
    type="cap:LearningMaterial",
    fields={"title": TITLE, "counted_through": Term("api:countedThroughGroup")},
)

COUNTRY_DETAIL = Shape(
    id="country",
    fields={k: v for k, v in COUNTRY.fields.items() if k != "materials"},
    nested={
        # not dcterms:spatial: a material printed for a group of countries counts for each member without naming it
        "materials": (Term("api:countsMaterial", "@id"), MATERIAL_IN_COUNTRY),
        "platform_profile": (Term("dcterms:spatial", "@id", reverse=True), PROFILE),
    },
)

PLATFORM = Shape(
    id="platform",
    type="cap:NationalPlatform",
    fields={"name": PREF_LABEL_EN, "role": Term("api:memberRole", language=EN)},
)

ORGANISATION_DETAIL = Shape(
    id="organisation",
    type="org:Organization",
    fields={k: v for k, v in ORGANISATION.fields.items() if k != "materials"},
    nested={
        "materials": (Term("cap:nationalPartner", "@id", reverse=True), MATERIAL_LINK),
        "platforms": (Term("api:platform", "@id"), PLATFORM),
    },
)

NEED = Shape(
    type="cap:PersonaNeed",
    fields={"text": Term("schema:text", language=EN), "quoted": Term("cap:isQuoted")},
)

PERSONA = Shape(
    id="persona",
    type="cap:Persona",
    fields={"name": Term("schema:name"), "description": Term("schema:description", language=EN)},
    nested={"needs": (Term("cap:persona", "@id", reverse=True), NEED)},
)

PARAMETER = Shape(
    type="api:Parameter",
    fields={
        "name": Term("api:name"),
        "type": Term("api:parameterType"),
        "required": Term("api:required"),
        "description": Term("dcterms:description"),
        "format": Term("api:format"),
    },
)

NAMED_QUERY = Shape(
    id="iri",
    type="api:NamedQuery",
    fields={
        "name": Term("api:name"),
        "summary": Term("dcterms:title"),
        "description": Term("dcterms:description"),
        "path": Term("api:path"),
        "fields": Term("api:field"),
    },
    nested={"parameters": (Term("api:parameter", "@id"), PARAMETER)},
)

# The rows of each named query (kg/sparql/queries/*.rq) as nodes: the resource a row is about, where it
# names one, else a blank node of the row's own kind.
ROWS: dict[str, Shape] = {
    "categories": Shape(
        id_template="challenge/{subcategory}",
        type="cap:ProblemStatement",
        fields={
            "subcategory": NOTATION,
            "subcategory_title": PREF_LABEL_EN,
            "category": CATEGORY_NOTATIONS,
            "category_title": Term("api:categoryTitle", language=EN),
            "cards": CARD_COUNT,
            "placeholders": Term("api:placeholderCount"),
        },
    ),
    "cities": CITY,
    "countries": COUNTRY,
    "countries_by_category": Shape(
        type="api:CountryCategoryCount",
        fields={"country": COUNTRY_CODE, "category": CATEGORY_NOTATIONS, "materials": MATERIAL_COUNT},
    ),
    "hashtags": HASHTAG,
    "hashtags_not_in_index": Shape(type="api:HashtagLabel", fields={"label": Term("api:hashtagLabel")}),
    "index_hashtags_unused": Shape(type="api:HashtagLabel", fields={"label": Term("api:hashtagLabel")}),
    "material_cards": CARD,
    "materials_in_country": MATERIAL_IN_COUNTRY,
    "glossary": Shape(
        id="term",
        type="cap:GlossaryTerm",
        fields={
            "acronym": NOTATION,
            "expansion": PREF_LABEL_EN,
            "alternatives": Term("skos:altLabel"),
            "related": Term("api:hashtagLabel"),
        },
    ),
    "materials_in_subcategory": Shape(
        id="material",
        type="cap:LearningMaterial",
        fields={"title": TITLE, "type_label": Term("api:cardTypeLabel", language=EN)},
    ),
    "materials_reused_across_categories": Shape(
        id="material",
        type="cap:LearningMaterial",
        fields={"title": TITLE, "categories": CATEGORY_NOTATIONS, "subcategories": SUBCATEGORY_NOTATIONS},
    ),
    "materials_reused_across_subcategories": Shape(
        id="material",
        type="cap:LearningMaterial",
        fields={"title": TITLE, "cards": CARD_COUNT, "subcategories": SUBCATEGORY_NOTATIONS},
    ),
    "organisation": Shape(
        id="target",
        fields={
            "kind": Term("api:kind"),
            "label": Term("api:targetLabel", language=EN),
            "role": Term("api:memberRole", language=EN),
        },
    ),
    "organisations": ORGANISATION,
    "organisations_in_several_countries_or_materials": Shape(
        id="organisation",
        type="org:Organization",
        fields={"name": PREF_LABEL_EN, "materials": MATERIAL_COUNT, "countries": Term("api:countryCount")},
    ),
    "personas": Shape(
        type="cap:PersonaNeed",
        fields={
            "persona": Term("cap:persona", "@id"),
            "name": Term("api:personaName"),
            "description": Term("api:personaDescription", language=EN),
            "position": Term("schema:position"),
            "need": Term("schema:text", language=EN),
            "quoted": Term("cap:isQuoted"),
        },
    ),
    "platform_profile": PROFILE,
    "related_materials": RELATED,
    # one row per quoted phrase: a node of its own (a relation with two phrases is two rows, each phrase
    # with its lines), pointing at the relation, the material asked about and the other party
    "material_relations": Shape(
        type="api:RelationRow",
        fields={
            "relation": Term("api:relation", "@id"),
            "material": Term("api:material", "@id"),
            "direction": Term("api:direction"),
            "kind": Term("api:relationKindNotation"),
            "kind_label": Term("api:relationKindLabel", language=EN),
            "other": Term("api:otherParty", "@id"),
            "other_title": Term("api:otherPartyTitle", language=EN),
            "quote": Term("api:quote", language=EN),
            "first_line": Term("api:quoteFirstLine"),
            "last_line": Term("api:quoteLastLine"),
            "locator": Term("api:quoteLocator", "xsd:anyURI"),
            "date": Term("api:recordedOn", "xsd:date"),
            "date_as_printed": Term("api:recordedOnAsPrinted"),
            "recording": Term("api:recordingTitle", language=EN),
            "link_label": Term("api:recordingLinkLabel"),
        },
    ),
    "subcategories_without_materials": Shape(
        id_template="challenge/{notation}",
        type="cap:ProblemStatement",
        fields={"notation": NOTATION, "title": PREF_LABEL_EN},
    ),
}

# A named query without a shape of its own: each row a blank api:Row, each value an api:Binding.
BINDING = Shape(type="api:Binding", fields={"variable": Term("api:variable"), "value": Term("api:value")})
ROW = Shape(type="api:Row", fields={}, nested={"bindings": (Term("api:binding", "@id"), BINDING)})


def rows_shape(name: str) -> tuple[Shape, bool]:
    """The shape of a named query's rows, and whether the query has one of its own."""
    return (ROWS[name], True) if name in ROWS else (ROW, False)


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def as_bindings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as the generic ROW shape reads them: every value (each of a list) as its text."""
    return [
        {
            "bindings": [
                {"variable": k, "value": _text(v)}
                for k, value in row.items()
                for v in (value if isinstance(value, list) else [value])
                if v is not None
            ]
        }
        for row in rows
    ]


# -- facets ----------------------------------------------------------------------------------------

# The values of each facet of /api/materials/facets as the graph writes them: notations (xsd:string),
# hashtag labels (xsd:string), two-letter country notations, card type labels (English), release years.
FACET_VALUES: dict[str, dict[str, str]] = {
    "category": {},
    "subcategory": {},
    "hashtag": {},
    "country": {"@type": ALPHA2},
    "type": {"@language": EN},
    "year": {"@type": "xsd:gYear"},
}
FACET_TERMS = {
    "collection": {"@id": "api:collection"},
    "facets": {"@id": "api:facet"},
    "filter": {"@id": "api:filter"},
    "values": {"@id": "api:facetValue"},
    "value": {"@id": "api:value"},
    "count": {"@id": "api:count"},
}


def facets(ns: ProjectNamespaces, iri: str, listing: str, total: int, counts: Mapping[str, Mapping[str, int]]) -> dict:
    """The facets of a filtered material list: an api:FacetSummary of the hydra:Collection `listing` (the
    list with the same filters), one api:Facet per filter parameter, one api:FacetValue per value."""
    return {
        "@context": context(ns, extra=FACET_TERMS),
        "@id": iri,
        "@type": "api:FacetSummary",
        "collection": {"@id": listing, "@type": "hydra:Collection", "totalItems": total},
        "facets": [
            {
                "@type": "api:Facet",
                "filter": name,
                "values": [
                    {"@type": "api:FacetValue", "value": {"@value": value, **FACET_VALUES[name]}, "count": count}
                    for value, count in values.items()
                ],
            }
            for name, values in counts.items()
        ],
    }
