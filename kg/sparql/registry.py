"""The one query registry: every `.rq` file under kg/sparql/queries/, read and checked once.

Files at the top level are named queries, each a REST operation; files in sub-folders are the
service's own queries (catalogue/, linked/, store/) and the editor's examples (examples/), looked up
by their path without suffix ("linked/resource"). Every text is moved to the configured base IRI
when it is read; nothing reads a query file while answering a request.

A named query's header (YAML in `#+` comment lines) declares a summary, typed parameters and the
result fields. A request's values are checked against their type and turned into RDF terms, which
the engine binds to the query's variables (pyoxigraph `substitutions`, SEP-0007): values never
touch query text.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import yaml

from kg.errors import InvalidIRI, QueryDefinitionError, QueryNotFound, QueryParameterError
from kg.namespaces import ProjectNamespaces

QUERY_DIR = Path(__file__).parent / "queries"
GLOBAL_PARAMETERS = frozenset({"format"})  # content negotiation (format=json, …), known to every REST route
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
TermTuple = tuple[str, str, str | None, str | None]  # (kind, value, datatype, language), as engines pass terms


@dataclass(frozen=True)
class ParamType:
    pattern: str
    description: str
    kind: str = "literal"  # literal | iri | integer


PARAM_TYPES = {
    "string": ParamType(r"^.{1,200}$", "a text of at most 200 characters"),
    "notation": ParamType(
        r"^(0[1-6]|[1-6]\.[1-9])$", "a category notation such as 03 or a subcategory notation such as 1.2"
    ),
    "iso2": ParamType(r"^[A-Z]{2}$", "an ISO 3166-1 alpha-2 country code such as AT (EU for the European Union)"),
    "hashtag": ParamType(r"^#?[A-Za-z0-9&-]{1,80}$", "a hashtag such as #Funding"),
    "iri": ParamType(r"^https?://[^\s<>\"{}|\\^`]+$", "an absolute http(s) IRI", "iri"),
    "integer": ParamType(r"^-?\d{1,9}$", "a whole number", "integer"),
}


def iri_node(value: str, *, field: str) -> ox.NamedNode:
    """`value` as an IRI; one pyoxigraph refuses (a bad %-escape, a space, …) is the client's error, naming `field`."""
    try:
        return ox.NamedNode(value)
    except ValueError as exc:
        raise InvalidIRI(f"{value!r} is not a valid IRI ({exc})", field=field) from None


def single_values(items: Iterable[tuple[str, str]], known: Collection[str], *, where: str) -> dict[str, str]:
    """A query string's values by name. A name `where` does not take, or one given twice, is the client's error:
    nothing is ignored, and no value silently wins over another."""
    values: dict[str, str] = {}
    for name, value in items:
        if name not in known:
            raise QueryParameterError(
                f"{where} takes no parameter {name!r}; it takes {', '.join(sorted(known))}", field=name
            )
        if name in values:
            raise QueryParameterError(f"{name!r} is given more than once; {where} takes one value of it", field=name)
        values[name] = value
    return values


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    required: bool
    description: str
    values_from: tuple[str, str] | None = None  # (query, field): the values a build answers in advance

    def term(self, raw: str) -> ox.NamedNode | ox.Literal:
        spec = PARAM_TYPES[self.type]
        value = raw.strip()
        if self.type == "iso2" and value.isascii():  # "ıt".upper() == "IT": only ASCII letters are codes
            value = value.upper()
        if self.type == "hashtag" and not value.startswith("#"):
            value = "#" + value
        if not re.fullmatch(spec.pattern, value, re.ASCII):  # ASCII: \d is 0-9, not every script's digits
            raise QueryParameterError(f"{raw!r} is not {spec.description}", field=self.name)
        if spec.kind == "iri":
            return iri_node(value, field=self.name)
        if spec.kind == "integer":
            return ox.Literal(value, datatype=ox.NamedNode(XSD_INTEGER))
        return ox.Literal(value)


@dataclass(frozen=True)
class NamedQuery:
    name: str
    summary: str
    description: str
    text: str
    parameters: tuple[Parameter, ...] = ()
    fields: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()  # fields that hold GROUP_CONCAT lists, returned as JSON arrays
    separator: str = " | "
    booleans: tuple[str, ...] = ()  # fields returned as JSON true/false (stores without a boolean type say 1/0)
    source: Path | None = field(default=None, compare=False)

    def bind(self, values: dict[str, str]) -> dict[ox.Variable, ox.NamedNode | ox.Literal]:
        """RDF terms for the request's values; unknown or missing parameters are errors."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise QueryParameterError(
                f"{self.name} takes no parameter {unknown[0]!r} (it takes {sorted(known) or 'none'})", field=unknown[0]
            )
        bindings = {}
        for parameter in self.parameters:
            if parameter.name in values and values[parameter.name] != "":
                bindings[ox.Variable(parameter.name)] = parameter.term(values[parameter.name])
            elif parameter.required:
                raise QueryParameterError(
                    f"{self.name} needs the parameter {parameter.name!r} ({PARAM_TYPES[parameter.type].description})",
                    field=parameter.name,
                )
        return bindings

    def plain_rows(self, variables: Sequence[str], rows: Iterable[Sequence[TermTuple | None]]) -> list[dict[str, Any]]:
        """Rows as plain JSON values: IRIs and literals as strings, integers and booleans as numbers and
        true/false, the `lists` fields as sorted arrays; the header's `fields` in their order."""
        fields = list(self.fields) or list(variables)
        plain_rows = []
        for row in rows:
            values = dict(zip(variables, row, strict=True))
            item: dict[str, object] = {}
            for name in fields:
                value = _plain(values.get(name))
                if name in self.lists:
                    value = sorted(v for v in str(value or "").split(self.separator) if v)
                elif name in self.booleans and value is not None:
                    value = value in (True, 1, "true", "1")
                item[name] = value
            plain_rows.append(item)
        return plain_rows


def _plain(term: TermTuple | None) -> object:
    if term is None:
        return None
    kind, value, datatype, _ = term
    if kind == "literal" and datatype == XSD_INTEGER:
        return int(value)
    if kind == "literal" and datatype == XSD_BOOLEAN:
        return value == "true"
    return value


def parse_named_query(path: Path, text: str | None = None) -> NamedQuery:
    text = path.read_text(encoding="utf-8") if text is None else text
    header = "\n".join(line[2:] for line in text.splitlines() if line.startswith("#+"))
    try:
        meta = yaml.safe_load(header) or {}
    except yaml.YAMLError as exc:
        raise QueryDefinitionError(f"invalid #+ header: {exc}", file=path.name) from exc
    parameters = []
    for item in meta.get("params") or []:
        if item.get("type") not in PARAM_TYPES:
            raise QueryDefinitionError(
                f"parameter {item.get('name')!r} has unknown type {item.get('type')!r}", file=path.name
            )
        if not re.search(r"\?" + re.escape(item["name"]) + r"\b", text):
            raise QueryDefinitionError(f"parameter {item['name']!r} is not a variable of the query", file=path.name)
        values_from = str(item.get("values_from") or "")
        if values_from and not re.fullmatch(r"\w+\.\w+", values_from):
            raise QueryDefinitionError(
                f"parameter {item['name']!r}: values_from is <query>.<field>, not {values_from!r}", file=path.name
            )
        source_query, _, source_field = values_from.partition(".")
        parameters.append(
            Parameter(
                item["name"],
                item["type"],
                bool(item.get("required", False)),
                str(item.get("description", "")),
                (source_query, source_field) if values_from else None,
            )
        )
    try:
        ox.Store().query(text)  # parses the query; an empty store answers at once
    except SyntaxError as exc:
        raise QueryDefinitionError(f"invalid SPARQL: {exc}", file=path.name) from exc
    return NamedQuery(
        name=path.stem,
        summary=str(meta.get("summary", path.stem)),
        description=str(meta.get("description", "")),
        text=text,
        parameters=tuple(parameters),
        fields=tuple(meta.get("fields") or ()),
        lists=tuple(meta.get("lists") or ()),
        separator=str(meta.get("separator", " | ")),
        booleans=tuple(meta.get("booleans") or ()),
        source=path,
    )


@dataclass(frozen=True)
class QueryRegistry:
    """Every query of the service, read once and moved to the configured base IRI."""

    named: dict[str, NamedQuery]
    texts: dict[str, str]  # "linked/resource" → query text, for every file in a sub-folder

    @classmethod
    def load(cls, ns: ProjectNamespaces | None = None, directory: Path = QUERY_DIR) -> QueryRegistry:
        ns = ns or ProjectNamespaces()
        named: dict[str, NamedQuery] = {}
        texts: dict[str, str] = {}
        for path in sorted(directory.rglob("*.rq")):
            text = ns.rebase(path.read_text(encoding="utf-8"))
            key = path.relative_to(directory).with_suffix("").as_posix()
            if path.parent == directory:
                named[key] = parse_named_query(path, text)
            else:
                texts[key] = text
        for query in named.values():
            for parameter in query.parameters:
                if not parameter.values_from:
                    continue
                source, field_name = parameter.values_from
                if len(query.parameters) != 1:  # the build answers one parameter's values, not combinations
                    raise QueryDefinitionError(
                        f"parameter {parameter.name!r}: values_from is for a query with one parameter",
                        file=f"{query.name}.rq",
                    )
                found = named.get(source)
                if (
                    found is None
                    or found.parameters
                    or field_name not in found.fields
                    or field_name in (*found.lists, *found.booleans)
                ):
                    raise QueryDefinitionError(
                        f"parameter {parameter.name!r}: values_from names {source}.{field_name}, which is not "
                        "a plain field (in `fields`, not a list or boolean) of a named query without parameters",
                        file=f"{query.name}.rq",
                    )
        return cls(named, texts)

    def query(self, name: str) -> NamedQuery:
        """A named query; an unknown name is the client's error (404)."""
        if name not in self.named:
            raise QueryNotFound(f"there is no named query {name!r}; GET /api/queries lists them", field="name")
        return self.named[name]

    def text(self, key: str) -> str:
        """One of the service's own queries, by path: a missing file is a bug, so a KeyError."""
        return self.texts[key]

    def folder(self, name: str) -> dict[str, str]:
        """The queries of one sub-folder, by file name without suffix, in file-name order."""
        prefix = name.rstrip("/") + "/"
        return {key[len(prefix) :]: text for key, text in sorted(self.texts.items()) if key.startswith(prefix)}
