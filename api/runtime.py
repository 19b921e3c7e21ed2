"""What a running server holds: the build it serves, the query engine, the named queries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from kg.catalogue import Catalogue
from kg.engine import QueryEngine, QueryJob, QueryOutcome, encode_term
from kg.errors import QueryNotFound
from kg.named_queries import NamedQuery
from kg.namespaces import ProjectNamespaces
from kg.remote import RemoteEngine
from kg.settings import Settings
from kg.store import DATASET_FILE


@dataclass
class Runtime:
    settings: Settings
    build_dir: Path
    summary: dict
    engine: QueryEngine | RemoteEngine
    queries: dict[str, NamedQuery]
    catalogue: Catalogue | None = None
    ready: bool = False

    @property
    def version(self) -> str:
        return str(self.summary["version"])

    @property
    def graphs(self) -> dict[str, int]:
        return dict(self.summary["graphs"])

    @property
    def ns(self) -> ProjectNamespaces:
        return ProjectNamespaces(self.settings.base_iri)

    @classmethod
    def open(cls, settings: Settings, build_dir: Path, queries: dict[str, NamedQuery]) -> Runtime:
        summary = json.loads((build_dir / "summary.json").read_text(encoding="utf-8"))
        engine: QueryEngine | RemoteEngine
        if settings.remote_store:
            engine = RemoteEngine.from_settings(settings, list(summary["graphs"]))
        else:
            engine = QueryEngine(build_dir / DATASET_FILE, workers=settings.query_workers or None,
                                 timeout=settings.query_timeout, max_rows=settings.max_rows,
                                 memory_limit=settings.worker_memory_mb * 2**20 or None)
        return cls(settings, build_dir, summary, engine, queries)

    def named(self, name: str) -> NamedQuery:
        if name not in self.queries:
            raise QueryNotFound(f"there is no named query {name!r}; GET /api/queries lists them", field="name")
        return self.queries[name]

    async def rows(self, name: str, values: dict[str, str] | None = None) -> list[dict[str, object]]:
        """A named query's rows as plain JSON values (IRIs and literals as strings, numbers as numbers)."""
        query = self.named(name)
        bindings = query.bind(values or {})
        outcome = await self.engine.run(QueryJob(query.text, select_format="rows", max_rows=INTERNAL_MAX_ROWS,
                                                 substitutions={k.value: encode_term(v) for k, v in bindings.items()}))
        return json_rows(query, outcome)


def json_rows(query: NamedQuery, outcome: QueryOutcome) -> list[dict[str, object]]:
    fields = list(query.fields) or outcome.variables
    rows = []
    for row in outcome.rows or []:
        values = dict(zip(outcome.variables, row, strict=True))
        item: dict[str, object] = {}
        for name in fields:
            term = values.get(name)
            value = _plain(term)
            if name in query.lists:
                value = sorted(v for v in str(value or "").split(query.separator) if v)
            elif name in query.booleans and value is not None:
                value = value in (True, 1, "true", "1")
            item[name] = value
        rows.append(item)
    return rows


INTERNAL_MAX_ROWS = 10_000_000  # the API's own queries are bounded by the data, not by clients
INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"


def _plain(term: tuple | None) -> object:
    if term is None:
        return None
    kind, value, datatype, _ = term
    if kind == "literal" and datatype == INTEGER:
        return int(value)
    if kind == "literal" and datatype == BOOLEAN:
        return value == "true"
    return value


async def get_runtime(request: Request) -> Runtime:
    """async, so FastAPI does not hop to its thread pool for it on every request."""
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
