"""The page of a lesson learned (a key take-away): its text, and the challenge or problem statement it is about."""

from __future__ import annotations

from api.plumbing.runtime import Runtime
from api.views.kinds import Facts
from api.views.kinds.shared import is_true, link, source_link

CLASSES = ("cap:LessonLearned",)
TEMPLATE = "kinds/lesson.html"
PRIORITY = 1  # over schema:CreativeWork pages
SCHEMA = "http://schema.org/"
CAP = "https://w3id.org/capacities/lp/ontology#"
SKOS_BROADER = "http://www.w3.org/2004/02/skos/core#broader"


async def context(runtime: Runtime, facts: Facts) -> dict[str, object]:
    text = facts.one(SCHEMA + "text")
    about = [link(runtime, iri, facts.label(iri)) for iri in facts.values(SCHEMA + "about")]
    return {
        "text": text,
        "placeholder": is_true(facts.one(CAP + "isPlaceholder")) or (text or "").strip().lower() in ("tbc", "tbd"),
        "about": about,
        "source": source_link(runtime, facts.one(CAP + "sourceLocator")),
    }
