"""Contributions: partners propose changes (Turtle or JSON-LD), editors review and decide, approval goes live.

POST /api/contributions → 201 with Location (or 422 with the SHACL findings); GET one or the queue;
POST …/approve, …/reject, …/request-changes (editors, with a note), …/withdraw (its author); PUT revises.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.plumbing.accounts import AnyAccount, Editor, role_of
from api.plumbing.errors import HTTPProblem
from api.plumbing.runtime import RuntimeDep, ServiceDep
from kg.changes.accounts import Account
from kg.changes.ledger import Proposal
from kg.changes.model import Triple
from kg.editorial import ACTIONS, Editorial

router = APIRouter(prefix="/api/contributions", tags=["contributions"])


def editorial_of(request: Request) -> Editorial:
    return request.app.state.editorial


EditorialDep = Annotated[Editorial, Depends(editorial_of)]
STATUSES = ("pending", "approved", "rejected", "changes-requested", "withdrawn")
RDF_TYPES = ("text/turtle", "application/ld+json")
Note = Annotated[str, Body(embed=True, max_length=4000, description="why: shown to the author and kept in the log")]


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """An answer for one account: never kept by a cache on the way."""
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _nt(triples: set[Triple]) -> list[str]:
    return sorted(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in triples)


def _summary(proposal: Proposal) -> dict[str, Any]:
    return {
        "id": proposal.id,
        "url": f"/api/contributions/{proposal.id}",
        "status": proposal.status.value,
        "kind": proposal.kind,
        "action": proposal.action,
        "target": proposal.target,
        "author": proposal.author,
        "note": proposal.note,
        "created": proposal.created.isoformat(),
        "updated": proposal.updated.isoformat(),
        "base_version": proposal.base_version,
    }


def _may_see(account: Account, proposal: Proposal) -> bool:
    return proposal.author == account.name or role_of(account) in ("editor", "admin")


def _own(editorial: Editorial, account: Account, proposal_id: int) -> Proposal:
    proposal = editorial.ledger.get(proposal_id)
    if proposal is None or not _may_see(account, proposal):  # another's proposal is not even said to exist
        raise HTTPProblem(404, "Not found", f"no proposal {proposal_id} of yours")
    return proposal


@router.post("", status_code=201, summary="Propose a change (Turtle or JSON-LD with an inline @context)")
async def propose(
    request: Request,
    runtime: RuntimeDep,
    editorial: EditorialDep,
    account: AnyAccount,
    action: Annotated[Literal["add", "replace", "remove"], Query()] = "add",
    target: Annotated[str | None, Query(max_length=500, description="the resource corrected or removed")] = None,
    note: Annotated[str, Query(max_length=2000, description="why, in a sentence or two")] = "",
) -> JSONResponse:
    media_type = _media_type(request)
    body = await request.body()
    if action == "remove" and not body.strip():
        media_type = media_type or "text/turtle"
    elif media_type not in RDF_TYPES:
        raise HTTPProblem(
            415, "Unsupported media type", f"send {' or '.join(RDF_TYPES)}, not {media_type or 'nothing'}"
        )
    if action in ("replace", "remove") and not target:
        raise HTTPProblem(400, "Bad request", f"action={action} needs target=<the resource's IRI>")
    recent = await asyncio.to_thread(editorial.ledger.count_recent, account.name, 3600)
    allowed = editorial.settings.proposals_per_hour
    if recent >= allowed:
        raise HTTPProblem(
            429, "Too many proposals", f"at most {allowed} proposals an hour from one account", {"Retry-After": "60"}
        )
    proposal, warnings = await runtime.cpu.run(
        lambda: editorial.propose(
            account.name, runtime.release, body, media_type, action=action, target=target, note=note
        )
    )
    location = f"/api/contributions/{proposal.id}"
    return _json(_summary(proposal) | {"warnings": warnings}, 201, {"Location": location})


@router.get("", summary="Proposals: an editor's queue (all), a contributor's own")
async def queue(
    editorial: EditorialDep,
    account: AnyAccount,
    status: Annotated[Literal[STATUSES] | None, Query()] = None,  # type: ignore[valid-type]
) -> JSONResponse:
    author = None if role_of(account) in ("editor", "admin") else account.name
    proposals = await asyncio.to_thread(editorial.ledger.proposals, status, author)
    return _json([_summary(p) for p in proposals])


@router.get("/{proposal_id}", summary="One proposal: the change as RDF, the SHACL report, whether its target moved")
async def one(proposal_id: int, runtime: RuntimeDep, editorial: EditorialDep, account: AnyAccount) -> JSONResponse:
    proposal = await asyncio.to_thread(_own, editorial, account, proposal_id)
    review = await runtime.cpu.run(editorial.review, proposal, runtime.release)
    return _json(
        _summary(proposal)
        | {
            "added": _nt(review.change.added),
            "removed": _nt(review.change.removed),
            "findings": review.findings,
            "changed_since_proposed": review.changed_since,
        }
    )


@router.put("/{proposal_id}", summary="Revise your proposal (after changes were requested, or while pending)")
async def revise(
    proposal_id: int,
    request: Request,
    runtime: RuntimeDep,
    editorial: EditorialDep,
    account: AnyAccount,
    note: Annotated[str, Query(max_length=2000)] = "",
) -> JSONResponse:
    proposal = await asyncio.to_thread(_own, editorial, account, proposal_id)
    if proposal.author != account.name:
        raise HTTPProblem(403, "Forbidden", "only its author revises a proposal")
    media_type, body = _media_type(request), await request.body()
    if media_type not in RDF_TYPES and proposal.action != "remove":
        raise HTTPProblem(415, "Unsupported media type", f"send {' or '.join(RDF_TYPES)}")
    revised, warnings = await runtime.cpu.run(
        lambda: editorial.propose(
            account.name,
            runtime.release,
            body,
            media_type,
            action=proposal.action,
            target=proposal.target,
            note=note or proposal.note,
            proposal_id=proposal_id,
        )
    )
    return _json(_summary(revised) | {"warnings": warnings})


@router.post("/{proposal_id}/approve", summary="Approve: build with the change, record it, serve it")
async def approve(
    proposal_id: int,
    runtime: RuntimeDep,
    service: ServiceDep,
    editorial: EditorialDep,
    editor: Editor,
    note: Note = "",
) -> JSONResponse:
    change_set, _ = await asyncio.to_thread(editorial.approve, proposal_id, editor.name, note)
    await service.reload(force=True)
    return _json(
        {
            "id": proposal_id,
            "status": "approved",
            "change_set": change_set.number,
            "version": service.runtime.version,
        }
    )


async def _decide(editorial: Editorial, proposal_id: int, editor: Account, action: str, note: str) -> JSONResponse:
    if not note.strip():
        raise HTTPProblem(400, "Bad request", f"{action} needs a note saying why (note)")
    proposal = await asyncio.to_thread(editorial.ledger.decide, proposal_id, editor.name, action, note)
    return _json(_summary(proposal))


@router.post("/{proposal_id}/reject", summary="Reject, with a note")
async def reject(proposal_id: int, editorial: EditorialDep, editor: Editor, note: Note = "") -> JSONResponse:
    return await _decide(editorial, proposal_id, editor, "reject", note)


@router.post("/{proposal_id}/request-changes", summary="Ask its author for changes, with a note")
async def request_changes(proposal_id: int, editorial: EditorialDep, editor: Editor, note: Note = "") -> JSONResponse:
    return await _decide(editorial, proposal_id, editor, "request-changes", note)


@router.post("/{proposal_id}/withdraw", summary="Withdraw your proposal")
async def withdraw(proposal_id: int, editorial: EditorialDep, account: AnyAccount) -> JSONResponse:
    proposal = await asyncio.to_thread(_own, editorial, account, proposal_id)
    if proposal.author != account.name:
        raise HTTPProblem(403, "Forbidden", "only its author withdraws a proposal")
    withdrawn = await asyncio.to_thread(editorial.ledger.withdraw, proposal_id, account.name)
    return _json(_summary(withdrawn))


__all__ = ["ACTIONS", "router"]
