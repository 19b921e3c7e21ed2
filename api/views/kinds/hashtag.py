"""The page of a hashtag: where it is used, whether the portfolio's Hashtag Index lists it, what it relates to."""

from __future__ import annotations

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.shared import by_kind, linked_rows, unique_links

CLASSES = ("cap:Hashtag",)
TEMPLATE = "kinds/hashtag.html"
PRIORITY = 1  # over skos:Concept pages


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    parts = by_kind(await linked_rows(runtime, "hashtag", facts.iri))
    subcategories = unique_links(runtime, parts["subcategory"])
    related = [
        r | {"kind": "term" if "/glossary/" in r["path"] else "hashtag"}
        for r in unique_links(runtime, parts["related"])
    ]
    return {
        "subcategories": subcategories,
        "materials": sorted(unique_links(runtime, parts["material"]), key=lambda m: m["label"].casefold()),
        "in_index": bool(parts["index"]),
        "broader": unique_links(runtime, parts["broader"]),
        "narrower": unique_links(runtime, parts["narrower"]),
        "related": related,
        "definitions": sorted({r["text"] for r in parts["definition"]}),
        "alternatives": sorted({r["text"] for r in parts["alternative"]}),
        "misspellings": sorted({r["text"] for r in parts["misspelling"]}),
    }
