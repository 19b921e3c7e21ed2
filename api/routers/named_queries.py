"""Named queries as REST operations: GET /api/queries and GET /api/queries/{name}.

Each named query of the registry (an `.rq` file at the top of kg/sparql/queries/) becomes its own
route, so OpenAPI (/docs) documents its parameters with their types; values arrive as query-string
values and are bound as RDF terms. A parameter the query does not take, or one given twice, is a 400:
nothing is silently dropped, and no value silently wins over another (`format=` is known everywhere).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.plumbing import jsonld
from api.plumbing.respond import public_iri, respond
from api.plumbing.runtime import RuntimeDep, get_runtime
from kg.sparql.registry import GLOBAL_PARAMETERS, PARAM_TYPES, NamedQuery, QueryRegistry, single_values


async def list_queries(request: Request, runtime: RuntimeDep) -> Response:
    single_values(request.query_params.multi_items(), GLOBAL_PARAMETERS, where="/api/queries")

    async def produce() -> object:
        return [
            {
                "name": q.name,
                "summary": q.summary,
                "description": q.description,
                "path": f"/api/queries/{q.name}",
                "parameters": [
                    {
                        "name": p.name,
                        "type": p.type,
                        "required": p.required,
                        "description": p.description,
                        "format": PARAM_TYPES[p.type].description,
                    }
                    for p in q.parameters
                ],
                "fields": list(q.fields),
            }
            for q in runtime.registry.named.values()
        ]

    def linked(queries: list[dict]) -> dict:
        home = public_iri(request, runtime, {})
        return jsonld.collection(
            runtime.ns, home, jsonld.NAMED_QUERY, [{"iri": f"{home}/{q['name']}", **q} for q in queries]
        )

    return await respond(request, runtime, produce, linked=linked)


def _endpoint(query: NamedQuery) -> Callable[..., Awaitable[Response]]:  # an endpoint with a generated signature
    known = {parameter.name for parameter in query.parameters}

    async def endpoint(request: Request, **declared: str | None) -> Response:
        # FastAPI checked the declared parameters, but drops unknown ones and takes the last of repeated ones:
        # the values are read from the query string itself
        values = single_values(
            request.query_params.multi_items(), known | GLOBAL_PARAMETERS, where=f"/api/queries/{query.name}"
        )
        runtime = await get_runtime(request)
        given = {name: value for name, value in values.items() if name in known}

        async def produce() -> object:
            return await runtime.rows(query.name, given)

        def linked(rows: list[dict]) -> dict:
            shape, own = jsonld.rows_shape(query.name)
            return jsonld.collection(
                runtime.ns, public_iri(request, runtime), shape, rows if own else jsonld.as_bindings(rows)
            )

        return await respond(request, runtime, produce, linked=linked)

    parameters = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)]
    for parameter in query.parameters:
        description = f"{parameter.description} ({PARAM_TYPES[parameter.type].description})"
        annotation = (
            Annotated[str, Query(description=description)]
            if parameter.required
            else Annotated[str | None, Query(description=description)]
        )
        default = inspect.Parameter.empty if parameter.required else None
        parameters.append(
            inspect.Parameter(parameter.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        )
    endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]  # typeshed omits it; inspect reads it
    endpoint.__name__ = f"query_{query.name}"
    return endpoint


def router_for(registry: QueryRegistry) -> APIRouter:
    """The listing, and one route per named query of the registry."""
    router = APIRouter(prefix="/api/queries", tags=["Named queries"])
    router.add_api_route("", list_queries, methods=["GET"], summary="List the named queries")
    for query in registry.named.values():
        fields = f"\n\nFields: {', '.join(query.fields)}." if query.fields else ""
        router.add_api_route(
            f"/{query.name}",
            _endpoint(query),
            methods=["GET"],
            summary=query.summary,
            description=query.description + fields,
        )
    return router
