"""One error hierarchy for the whole package.

Each error names the problem and where it is (file and line, or field). The CLI maps
`exit_code` to the process exit status; the HTTP layer maps `http_status` to a problem
response. Nothing else decides either.
"""

from __future__ import annotations

from pathlib import Path


class KGError(Exception):
    """Base class: a problem the user can act on, with its location."""

    exit_code = 10
    http_status = 500
    title = "Internal error"
    retry_after: int | None = None  # seconds, for errors that pass (503, 504)

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        column: int | None = None,
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.line = line  # in `file`, or, without one, in the text of `field` (a query), 1-based
        self.column = column  # 1-based, in characters, with `line`
        self.field = field
        super().__init__(self.describe())

    def problem_members(self) -> dict[str, object]:
        """Members an HTTP problem document adds for this error (a proposal's SHACL findings, say)."""
        return {}

    @property
    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)

    def describe(self) -> str:
        return f"{self.location}: {self.problem}" if self.location else self.problem


class SettingsError(KGError):
    """A KG_ setting has a value that cannot be used (the message never repeats the value: it may be a secret)."""

    exit_code = 2
    title = "Invalid setting"


class SourceFormatError(KGError):
    """A source text does not have the structure the importer expects."""

    exit_code = 3
    title = "Malformed source document"


class CurationError(KGError):
    """A curation file is malformed or names something the sources do not contain."""

    exit_code = 3
    title = "Invalid curation file"


class SchemaFileError(KGError):
    """The ontology or the shapes cannot be parsed."""

    exit_code = 4
    title = "Invalid ontology or shapes file"


class NonConformantData(KGError):
    """SHACL found violations in the asserted graph; the build stops."""

    exit_code = 1
    title = "The data does not conform to the shapes"

    def __init__(self, problem: str, *, violations: list[str] | None = None, **kw) -> None:
        self.violations = violations or []
        super().__init__(problem, **kw)


class BuildOutputError(KGError):
    """The build output cannot be written or read."""

    exit_code = 5
    title = "Build output unavailable"
    http_status = 503


class StorageFull(BuildOutputError):
    """A file could not be written: no space left, a quota or a file size limit reached."""

    title = "Storage full"
    http_status = 507


class QuerySyntaxError(KGError):
    """A SPARQL query does not parse (the message carries the parser's position)."""

    exit_code = 2
    http_status = 400
    title = "Malformed SPARQL query"


class QueryRefused(KGError):
    """An update, SERVICE or foreign FROM: what a read-only endpoint closed to the outside refuses."""

    exit_code = 2
    http_status = 403
    title = "Operation not allowed"


class QueryNotFound(KGError):
    exit_code = 2
    http_status = 404
    title = "Unknown named query"


class QueryParameterError(KGError):
    exit_code = 2
    http_status = 400
    title = "Invalid query parameter"


class InvalidIRI(QueryParameterError):
    """A value that should be an IRI is not one (RFC 3987): the field names where it came from."""

    title = "Invalid IRI"


class QueryDefinitionError(KGError):
    """A named query file is malformed."""

    exit_code = 4
    title = "Invalid named query"


class ResultTooLarge(KGError):
    exit_code = 2
    http_status = 422
    title = "Result too large"


class QueryTimeout(KGError):
    exit_code = 2
    http_status = 503
    title = "Query over its time budget"
    retry_after = 1


class StoreTimeout(QueryTimeout):
    """The external SPARQL store did not answer within the query's time budget."""

    http_status = 504
    title = "The SPARQL store did not answer in time"


class EngineUnavailable(KGError):
    exit_code = 5
    http_status = 503
    title = "Query engine unavailable"
    retry_after = 1

    def __init__(self, problem: str, *, retry_after: int | None = None, **kw) -> None:
        if retry_after is not None:
            self.retry_after = retry_after
        super().__init__(problem, **kw)


class ProposalNonConformant(KGError):
    """A proposal, with the part of the graph it touches, violates the shapes: the findings say where."""

    exit_code = 1
    http_status = 422
    title = "The proposal does not conform to the shapes"

    def __init__(self, problem: str, *, findings: list[dict[str, object]], **kw) -> None:
        self.findings = findings
        super().__init__(problem, **kw)

    def problem_members(self) -> dict[str, object]:
        return {"findings": self.findings}


class EditorialConflict(KGError):
    """A proposal's state or its target changed: the action cannot be taken as asked."""

    exit_code = 2
    http_status = 409
    title = "Conflict"


class ServerBusy(KGError):
    """The server's CPU-bound work (searches, pages) is all taken and its queue is full."""

    exit_code = 5
    http_status = 503
    title = "Server busy"
    retry_after = 1


class StoreFailed(KGError):
    """The external SPARQL store answered with an error that is not the client's (logged on the server)."""

    exit_code = 5
    http_status = 502
    title = "The SPARQL store failed"


class CannotListen(KGError):
    """The server cannot bind its address: the port is taken, or the address is not this machine's."""

    exit_code = 7
    title = "The server cannot listen"


class PublishError(KGError):
    """The build could not be loaded into the external store; what was live there is left as it was."""

    exit_code = 6
    title = "Publishing to the SPARQL store failed"


class QueryFailed(KGError):
    """A query failed inside a worker for a reason that is not the client's (logged on the server)."""

    exit_code = 10
    http_status = 500
    title = "Query failed"
