"""The editorial loop on the site: sign in, propose a learning material through a form, review, decide.

Pages for one person: every answer is private and never cached. Each form carries the session's CSRF
token (the sign-in form a token of its own, doubled in a cookie); a form without the right token is 403.
The JSON API (api.routers.contributions) does the same work for programs, with bearer tokens.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from api.plumbing.errors import HTTPProblem
from api.plumbing.runtime import RuntimeDep, ServiceDep
from api.plumbing.signin import PRIVATE, SESSION_COOKIE, safe_next, session_of, sessions_of, signed_in_redirect
from api.views.forms import Field, FormKind, findings_by_field, form_fields, form_kinds, form_to_turtle
from api.views.render import local, render
from kg.changes.ledger import Proposal
from kg.changes.model import is_new
from kg.changes.sessions import Session
from kg.editorial import Editorial, Review
from kg.errors import KGError, ProposalNonConformant
from kg.namespaces import SCHEMA

router = APIRouter(include_in_schema=False)
SIGN_IN_COOKIE = "capkg_sign_in"
STATUS_LABELS = {
    "pending": "Waiting for review",
    "changes-requested": "Changes requested",
    "approved": "Approved and published",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
}
ACTION_LABELS = {"approve": "approved", "reject": "rejected", "request-changes": "asked for changes"}
REMOVAL_NEEDS_A_REASON = "Say why it should go: the editors decide with your reason in front of them."
NAMES = (DCTERMS.title, SKOS.prefLabel, RDFS.label, SCHEMA.name)
CAP = "https://w3id.org/capacities/lp/ontology#"
CARD = URIRef(CAP + "MaterialAppearance")
SKOS_IN_PROBLEM_STATEMENT = URIRef(CAP + "inProblemStatement")


def _editorial(request: Request) -> Editorial:
    return request.app.state.editorial


async def _signed_in(request: Request) -> Session:
    session = await session_of(request)
    if session is None:
        raise _SignInFirst(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return session


class _SignInFirst(Exception):
    def __init__(self, back: str) -> None:
        self.back = back


async def _form(request: Request) -> dict[str, list[str]]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise HTTPProblem(415, "Unsupported media type", "send the form as application/x-www-form-urlencoded")
    fields: dict[str, list[str]] = defaultdict(list)
    for key, value in parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True):
        fields[key].append(value)
    return fields


def _one(form: dict[str, list[str]], key: str) -> str:
    return (form.get(key) or [""])[0]


def _check_csrf(session: Session, form: dict[str, list[str]]) -> None:
    if not session.csrf_matches(_one(form, "csrf")):
        raise HTTPProblem(
            403, "Forbidden", "the form's security token is missing or stale: reload the page and send it again"
        )


def _page(request: Request, runtime: Any, template: str, code: int = 200, **context: object) -> HTMLResponse:
    return HTMLResponse(render(template, request, runtime, **context), status_code=code, headers=PRIVATE)


# signing in and out ------------------------------------------------------------------------------------


@router.get("/sign-in")
async def sign_in_page(request: Request, runtime: RuntimeDep, next: str = "/contributions") -> Response:
    token = secrets.token_urlsafe(24)
    page = _page(
        request,
        runtime,
        "sign_in.html",
        csrf=token,
        next=safe_next(next),
        account_name="",
        error=None,
        oidc_name=settings.oidc_name if (settings := _editorial(request).settings).oidc_issuer else None,
    )
    page.set_cookie(SIGN_IN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return page


@router.post("/sign-in")
async def sign_in(request: Request, runtime: RuntimeDep) -> Response:
    form = await _form(request)
    sent, kept = _one(form, "csrf"), request.cookies.get(SIGN_IN_COOKIE, "")
    if not sent or not secrets.compare_digest(sent.encode(), kept.encode()):
        raise HTTPProblem(403, "Forbidden", "the sign-in form's security token is missing or stale: reload the page")
    name, password, back = _one(form, "name")[:64], _one(form, "password")[:1024], safe_next(_one(form, "next"))
    editorial = _editorial(request)
    account = await asyncio.to_thread(editorial.ledger.check_password, name, password) if name and password else None
    if account is None:
        token = secrets.token_urlsafe(24)
        page = _page(
            request, runtime, "sign_in.html", 401, csrf=token, next=back, account_name=name,
            error="That account name and password do not match.",
            oidc_name=settings.oidc_name if (settings := editorial.settings).oidc_issuer else None,
        )  # fmt: skip
        page.set_cookie(SIGN_IN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return page
    answer = await signed_in_redirect(request, account.name, account.role.value, back)
    answer.delete_cookie(SIGN_IN_COOKIE)
    return answer


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    session = await _signed_in(request)
    _check_csrf(session, await _form(request))
    await asyncio.to_thread(sessions_of(request).close, request.cookies.get(SESSION_COOKIE))
    answer = RedirectResponse("/", status_code=303, headers=PRIVATE)
    answer.delete_cookie(SESSION_COOKIE)
    return answer


# the queue and one proposal -----------------------------------------------------------------------------


def _title_of(editorial: Editorial, body: str) -> str | None:
    graph = Graph().parse(data=body, format="nt") if body.strip() and not body.startswith("#") else Graph()
    return next((str(o) for o in graph.objects(None, DCTERMS.title)), None)


@router.get("/contributions")
async def proposals_page(request: Request, runtime: RuntimeDep, status: str | None = None) -> Response:
    session = await _signed_in(request)
    editorial = _editorial(request)
    status = status if status in STATUS_LABELS else None
    author = None if session.role in ("editor", "admin") else session.account
    found = await asyncio.to_thread(editorial.ledger.proposals, status, author)
    rows = [
        {
            "id": p.id,
            "kind": p.kind,
            "title": _title_of(editorial, p.body),
            "author": p.author,
            "status_label": STATUS_LABELS[p.status.value],
            "updated": p.updated.strftime("%d %b %Y, %H:%M"),
        }
        for p in found
    ]
    heading = "Proposals to review" if session.role == "editor" else "Your proposals"
    return _page(
        request, runtime, "proposals.html", heading=heading, signed_in=session, proposals=rows, status=status,
        status_label=STATUS_LABELS.get(status or "", ""),
        statuses=[("", "All"), *STATUS_LABELS.items()],
    )  # fmt: skip


def _name(graph: Graph, term: Any) -> str:
    if isinstance(term, Literal):
        return str(term)
    names = [o for p in NAMES for o in graph.objects(term, p) if isinstance(o, Literal)]
    english = [n for n in names if n.language in (None, "en")]
    if english or names:
        return str((english or names)[0])
    return str(term).rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def _thing_name(subject: Any, graph: Graph) -> str:
    """A resource as people call it: its title or label, or what it is ("A card in 1.2")."""
    if any(graph.value(subject, p) is not None for p in NAMES):
        return _name(graph, subject)
    statement = next(graph.objects(subject, SKOS_IN_PROBLEM_STATEMENT), None)
    if (subject, RDF.type, CARD) in graph and statement is not None:
        return f"Its card in problem statement {str(statement).rsplit('/', 1)[-1]}"
    return _name(graph, subject)


def _things(review: Review, current: Graph, ontology: Graph) -> list[dict[str, Any]]:
    """The change as people think of it: each resource, each field's values before and after."""
    after = Graph()
    for triple in review.change.added:
        after.add(triple)
    things = []
    for subject in sorted(review.change.subjects, key=str):
        fields: dict[Any, dict[str, list[str]]] = {}
        for s, p, _ in sorted(review.change.added | review.change.removed, key=lambda t: (str(t[1]), str(t[2]))):
            if s != subject or p == RDF.type:
                continue
            row = fields.setdefault(p, {"before": [], "after": []})
            row["before"] = sorted(_name(current, v) for v in current.objects(s, p))
            removed = {v for r, q, v in review.change.removed if r == s and q == p}
            kept = [v for v in current.objects(s, p) if v not in removed]
            row["after"] = sorted({_name(after if is_new(v) else current, v) for v in [*kept, *after.objects(s, p)]})
        rows = [
            {"field": _name(ontology, p) if (p, None, None) in ontology else _name(current, p), **values}
            for p, values in fields.items()
        ]
        new = is_new(subject)
        things.append({"name": _thing_name(subject, after if new else current), "new": new, "rows": rows})
    return things


@router.get("/contributions/{proposal_id}")
async def proposal_page(request: Request, runtime: RuntimeDep, proposal_id: int) -> Response:
    session = await _signed_in(request)
    editorial = _editorial(request)
    proposal = await asyncio.to_thread(editorial.ledger.get, proposal_id)
    may_decide = session.role == "editor"
    if proposal is None or not (may_decide or session.role == "admin" or proposal.author == session.account):
        raise HTTPProblem(404, "Not found", f"no proposal {proposal_id} of yours")
    review = await runtime.cpu.run(editorial.review, proposal, runtime.release)
    current = editorial.asserted(runtime.release)
    _, ontology = editorial.schema()
    decisions = await asyncio.to_thread(editorial.ledger.decisions, proposal_id)
    target = (
        {"name": _name(current, URIRef(proposal.target)), "path": local(runtime, proposal.target)}
        if proposal.target
        else None
    )
    return _page(
        request, runtime, "proposal.html", p=proposal, created=proposal.created.strftime("%d %b %Y, %H:%M UTC"),
        status_label=STATUS_LABELS[proposal.status.value],
        title=_title_of(editorial, proposal.body), target=target, changed_since=review.changed_since,
        things=_things(review, current, ontology), findings=review.findings, csrf=session.csrf, signed_in=session,
        added=sorted(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in review.change.added),
        removed=sorted(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in review.change.removed),
        may_decide=may_decide, is_author=proposal.author == session.account,
        revise_path=_revise_path(editorial, current, proposal),
        decisions=[
            {"at": d.at.strftime("%d %b %Y, %H:%M"), "editor": d.editor, "note": d.note,
             "action_label": ACTION_LABELS.get(d.action, d.action)}
            for d in decisions
        ],
    )  # fmt: skip


@router.post("/contributions/{proposal_id}/decide")
async def decide(request: Request, runtime: RuntimeDep, service: ServiceDep, proposal_id: int) -> Response:
    session = await _signed_in(request)
    form = await _form(request)
    _check_csrf(session, form)
    editorial, action, note = _editorial(request), _one(form, "action"), _one(form, "note")[:4000]
    if action in ("approve", "reject", "request-changes") and session.role != "editor":
        raise HTTPProblem(403, "Not allowed", "only an editor may decide on a proposal")
    if action == "withdraw":
        proposal = await asyncio.to_thread(editorial.ledger.get, proposal_id)
        if proposal is None or proposal.author != session.account:  # another's proposal is not there for them
            raise HTTPProblem(404, "Not found", f"no proposal {proposal_id} of yours")
        await asyncio.to_thread(editorial.ledger.withdraw, proposal_id, session.account)
    elif action == "approve":
        await asyncio.to_thread(editorial.approve, proposal_id, session.account, note)
        await service.reload(force=True)
    elif action in ("reject", "request-changes"):
        if not note.strip():
            raise HTTPProblem(400, "Bad request", "say why in the note: the author reads it")
        await asyncio.to_thread(editorial.ledger.decide, proposal_id, session.account, action, note)
    else:
        raise HTTPProblem(400, "Bad request", f"no such decision: {action!r}")
    return RedirectResponse(f"/contributions/{proposal_id}", status_code=303, headers=PRIVATE)


# proposing through a form: a new resource, a correction, a removal ---------------------------------------


def _kind(editorial: Editorial, slug: str) -> FormKind:
    kind = form_kinds(editorial.ns).get(slug)
    if kind is None:
        raise HTTPProblem(404, "Not found", f"no form for {slug!r}; forms: {', '.join(form_kinds(editorial.ns))}")
    return kind


def _existing(current: Graph, iri: str | None, cls: URIRef, what: str) -> URIRef | None:
    if not iri:
        return None
    node = URIRef(iri)
    if (node, RDF.type, cls) not in current:
        raise HTTPProblem(404, "Not found", f"no such {what}")
    return node


def _fields(
    editorial: Editorial, release: Any, kind: FormKind, edit: str | None, parent: str | None
) -> tuple[list[Field], URIRef | None, URIRef | None, Graph]:
    shapes, ontology = editorial.schema()
    current = editorial.asserted(release)
    existing = _existing(current, edit, kind.target_class, kind.noun)
    if existing is None and not kind.can_add:
        raise HTTPProblem(400, "Bad request", f"a {kind.noun} is corrected, not added: name it with ?edit=")
    owner = None
    if existing is None and kind.parent_class is not None:
        owner = _existing(current, parent, kind.parent_class, "resource for it to belong to")
        if owner is None:
            raise HTTPProblem(400, "Bad request", f"a new {kind.noun} names what it belongs to with ?parent=")
    fields = form_fields(kind, shapes, ontology, current, existing=existing, ns=editorial.ns)
    return fields, existing, owner, current


def _form_page(
    request: Request, runtime: Any, session: Session, kind: FormKind, fields: list[Field], *, action: str,
    editing: str | None, note: str = "", errors: dict[str, list[str]] | None = None, heading: str | None = None,
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    """`editing`: the name of the resource the form corrects, None for a new one."""
    parts = [kind.edit] if editing is not None and kind.edit else list(kind.new)
    heading = heading or (kind.edit_heading.format(name=editing) if editing is not None else f"Propose a {kind.noun}")
    return _page(
        request, runtime, "contribute.html", status, fields=fields, csrf=session.csrf, action=action, signed_in=session,
        note=note, errors=errors or {}, heading=heading, parts=parts,
    )  # fmt: skip


def _revisable(editorial: Editorial, session: Session, revise: int) -> Proposal:
    """The author's own proposal made with a form, while it may still be revised."""
    proposal = editorial.ledger.get(revise)
    if proposal is None or proposal.author != session.account:
        raise HTTPProblem(404, "Not found", f"no proposal {revise} of yours")
    if proposal.status.value not in ("pending", "changes-requested") or proposal.action == "remove":
        raise HTTPProblem(409, "Conflict", f"proposal {revise} is {proposal.status.value}: it cannot be revised here")
    return proposal


def _action(slug: str, edit: str | None, parent: str | None, revise: int | None) -> str:
    query = {name: value for name, value in (("edit", edit), ("parent", parent)) if value}
    if revise is not None:
        query["revise"] = str(revise)
    return f"/contribute/{slug}" + (f"?{urlencode(query)}" if query else "")


@router.get("/contribute/{slug}")
async def contribute_page(
    request: Request,
    runtime: RuntimeDep,
    slug: str,
    edit: str | None = None,
    parent: str | None = None,
    revise: int | None = None,
) -> Response:
    session = await _signed_in(request)
    editorial = _editorial(request)
    kind = _kind(editorial, slug)
    note, heading = "", None
    if revise is not None:  # the proposal as it stands, to change what the editors asked for
        proposal = await asyncio.to_thread(_revisable, editorial, session, revise)
        edit = edit or (proposal.target if proposal.action == "replace" else None)
    fields, existing, _, current = await runtime.cpu.run(_fields, editorial, runtime.release, kind, edit, parent)
    if revise is not None:
        proposed = Graph().parse(data=proposal.body, format="nt")
        for form_field in fields:
            form_field.values = [str(value) for value in proposed.objects(form_field.node, form_field.path)]
        note, heading = proposal.note, f"Revise proposal {revise}"
    action = _action(slug, edit, parent, revise)
    editing = _thing_name(existing, current) if existing is not None else None
    return _form_page(
        request, runtime, session, kind, fields, action=action, editing=editing, note=note, heading=heading
    )


@router.post("/contribute/{slug}")
async def propose(
    request: Request,
    runtime: RuntimeDep,
    slug: str,
    edit: str | None = None,
    parent: str | None = None,
    revise: int | None = None,
) -> Response:
    session = await _signed_in(request)
    form = await _form(request)
    _check_csrf(session, form)
    editorial = _editorial(request)
    kind = _kind(editorial, slug)
    if revise is not None:
        await asyncio.to_thread(_revisable, editorial, session, revise)
    note = _one(form, "note")[:2000]
    submitted = [(key, value) for key, values in form.items() for value in values]
    fields, existing, owner, current = await runtime.cpu.run(_fields, editorial, runtime.release, kind, edit, parent)
    for form_field in fields:  # what was sent is shown again, whatever happens next
        form_field.values = form.get(form_field.key, [])
    action = _action(slug, edit, parent, revise)

    def again(errors: dict[str, list[str]]) -> HTMLResponse:
        return _form_page(
            request, runtime, session, kind, fields, action=action,
            editing=_thing_name(existing, current) if existing is not None else None, note=note, errors=errors,
            status=422,
        )  # fmt: skip

    try:
        turtle = form_to_turtle(
            kind, fields, submitted, existing=existing, parent=owner, current=current, ns=editorial.ns
        )
        proposal, _ = await runtime.cpu.run(
            lambda: editorial.propose(
                session.account, runtime.release, turtle.encode(), "text/turtle",
                action="replace" if existing is not None else "add", target=edit if existing is not None else None,
                note=note, proposal_id=revise,
            )
        )  # fmt: skip
    except ProposalNonConformant as exc:
        # what must change before the proposal is kept; warnings go to the editors with the proposal
        return again(findings_by_field(fields, [f for f in exc.findings if f["severity"] == "Violation"]))
    except KGError as exc:
        if exc.http_status >= 500:
            raise
        return again({exc.field or "": [exc.problem]})
    return RedirectResponse(f"/contributions/{proposal.id}", status_code=303, headers=PRIVATE)


def _revise_path(editorial: Editorial, current: Graph, proposal: Proposal) -> str | None:
    """The form that revises `proposal`: the form of the kind of resource it adds or corrects."""
    if proposal.action == "remove":
        return None
    kinds = form_kinds(editorial.ns).values()
    if proposal.action == "replace" and proposal.target:
        target = URIRef(proposal.target)
        slug = next((k.slug for k in kinds if k.edit and (target, RDF.type, k.target_class) in current), None)
        return _action(slug, proposal.target, None, proposal.id) if slug else None
    proposed = Graph().parse(data=proposal.body, format="nt")
    for kind in kinds:
        if kind.new and (kind.new[0].new_node, RDF.type, kind.new[0].cls) in proposed:
            owner = proposed.value(kind.new[0].new_node, kind.parent) if kind.parent is not None else None
            return _action(kind.slug, None, str(owner) if owner is not None else None, proposal.id)
    return None


def _removable(editorial: Editorial, release: Any, target: str) -> tuple[str, int]:
    """The resource's name and how many statements its removal takes away (its own and those pointing at it)."""
    current = editorial.asserted(release)
    node = URIRef(target)
    if (node, None, None) not in current:
        raise HTTPProblem(404, "Not found", "no such resource to remove")
    statements = len(set(current.triples((node, None, None))) | set(current.triples((None, None, node))))
    return _thing_name(node, current), statements


@router.get("/contribute-removal")
async def removal_page(request: Request, runtime: RuntimeDep, target: str) -> Response:
    session = await _signed_in(request)
    name, statements = await runtime.cpu.run(_removable, _editorial(request), runtime.release, target)
    return _page(
        request, runtime, "remove.html", csrf=session.csrf, signed_in=session, target=target, thing=name,
        statements=statements, errors=[], note="", note_missing=False,
    )  # fmt: skip


@router.post("/contribute-removal")
async def propose_removal(request: Request, runtime: RuntimeDep, target: str) -> Response:
    session = await _signed_in(request)
    form = await _form(request)
    _check_csrf(session, form)
    editorial = _editorial(request)
    name, statements = await runtime.cpu.run(_removable, editorial, runtime.release, target)
    note = _one(form, "note")[:2000]

    def again(errors: list[str], note_missing: bool = False) -> HTMLResponse:
        return _page(
            request, runtime, "remove.html", 422, csrf=session.csrf, signed_in=session, target=target, thing=name,
            statements=statements, errors=errors, note=note, note_missing=note_missing,
        )  # fmt: skip

    if not note.strip():
        return again([REMOVAL_NEEDS_A_REASON], note_missing=True)
    try:
        proposal, _ = await runtime.cpu.run(
            lambda: editorial.propose(
                session.account, runtime.release, b"", "text/turtle", action="remove", target=target, note=note
            )
        )
    except ProposalNonConformant as exc:  # what would be left pointing at nothing, or missing
        current = editorial.asserted(runtime.release)
        return again(
            [
                f"{_thing_name(URIRef(str(f['focus'])), current)}: {f['message']}"
                for f in exc.findings
                if f["severity"] == "Violation"
            ]
        )
    return RedirectResponse(f"/contributions/{proposal.id}", status_code=303, headers=PRIVATE)


def install(app: Any) -> None:
    """Send people who are not signed in to the sign-in page, and back afterwards."""

    @app.exception_handler(_SignInFirst)
    async def sign_in_first(request: Request, exc: _SignInFirst) -> Response:
        return RedirectResponse(f"/sign-in?next={quote(exc.back)}", status_code=303, headers=PRIVATE)


__all__ = ["install", "router"]
