"""The page of an event, a news item or a recorded webinar: when (as printed and normalised), where,
what it was, its recording and the link's label, the materials the text relates to it, and its series."""

from __future__ import annotations

from datetime import date

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.generic import CAP, PROV, SCHEMA, capi, describe, value
from api.views.kinds.shared import link, linked_rows, source_link

CLASSES = ("http://schema.org/Event", "http://schema.org/NewsArticle", "cap:Webinar", "http://schema.org/VideoObject")
TEMPLATE = "kinds/event.html"
PRIORITY = 10

ATTENDANCE = {
    SCHEMA + "OnlineEventAttendanceMode": "online",
    SCHEMA + "OfflineEventAttendanceMode": "in person",
    SCHEMA + "MixedEventAttendanceMode": "online and in person",
}


def long_date(text: str | None) -> str | None:
    """An xsd:date in words ("2023-05-24" → "24 May 2023"); other values as they are."""
    if not text:
        return None
    try:
        return date.fromisoformat(text).strftime("%-d %B %Y")
    except ValueError:
        return text


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    cap_webinar = capi(runtime, "Webinar")
    if SCHEMA + "VideoObject" in facts.types:
        kind = "recording"
    elif cap_webinar in facts.types:
        kind = "recorded webinar"
    elif SCHEMA + "NewsArticle" in facts.types:
        kind = "news item"
    else:
        kind = "event"
    start, end = long_date(facts.one(SCHEMA + "startDate")), long_date(facts.one(SCHEMA + "endDate"))
    printed = facts.one(capi(runtime, "dateAsPrinted"))
    recordings = [link(runtime, r, facts.label(r)) for r in facts.values(SCHEMA + "recordedIn")]
    recorded_at = [link(runtime, e, facts.label(e)) for e in facts.values(SCHEMA + "recordedAt")]
    materials: dict[str, dict[str, object]] = {}
    for row in await linked_rows(runtime, "event_materials", facts.iri):
        entry = materials.setdefault(
            row["relation"],
            link(runtime, row["material"], row["title"])
            | {"kind": row["kind_label"], "outgoing": row["direction"] == "outgoing", "quotes": []},
        )
        where = source_link(runtime, row["locator"]) if row.get("locator") else None
        quote = {"text": row.get("quote"), "path": where["path"], "lines": where["label"]} if where else None
        if quote and row.get("quote") and quote not in entry["quotes"]:  # type: ignore[operator]
            entry["quotes"].append(quote)  # type: ignore[attr-defined]
    sources = [source_link(runtime, locator) for locator in facts.values(capi(runtime, "sourceLocator"))]
    return {
        "kind_words": kind,
        "start": start,
        "end": end,
        "date_printed": printed,
        "attendance": [ATTENDANCE.get(m, m) for m in facts.values(SCHEMA + "eventAttendanceMode")],
        "headlines": facts.values(SCHEMA + "alternativeHeadline"),
        "places": [value(runtime, t, facts.labels) for t in facts.outgoing.get(SCHEMA + "location", [])],
        "recordings": recordings,
        "link_labels": facts.values(capi(runtime, "linkLabel")),
        "recorded_at": recorded_at,
        "materials": list(materials.values()),
        "series": [value(runtime, t, facts.labels) for t in facts.outgoing.get(SCHEMA + "isPartOf", [])],
        "read_from": [link(runtime, s, facts.label(s)) for s in facts.values(PROV + "wasDerivedFrom")],
        "source_links": [s for s in sources if s],
        **await describe(
            runtime,
            facts,
            skip=(
                SCHEMA + "startDate",
                SCHEMA + "endDate",
                SCHEMA + "eventAttendanceMode",
                SCHEMA + "alternativeHeadline",
                SCHEMA + "location",
                SCHEMA + "recordedIn",
                SCHEMA + "recordedAt",
                SCHEMA + "isPartOf",
                PROV + "wasDerivedFrom",
                CAP + "dateAsPrinted",
                CAP + "linkLabel",
                CAP + "relationSubject",
                CAP + "relationObject",
            ),
        ),
    }
