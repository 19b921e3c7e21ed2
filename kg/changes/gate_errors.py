"""Errors of reading a proposal and turning it into a change (to be merged into kg/errors.py)."""

from __future__ import annotations

from kg.errors import KGError


class ProposalSyntaxError(KGError):
    """The proposal's Turtle or JSON does not parse (the message carries the line, and the column when known)."""

    exit_code = 2
    http_status = 400
    title = "Malformed proposal"


class ProposalTooLarge(KGError):
    """The proposal has more bytes or more triples than a proposal may have."""

    exit_code = 2
    http_status = 413
    title = "Proposal too large"


class ProposalMediaTypeRefused(KGError):
    """The proposal is in a format other than Turtle or JSON-LD."""

    exit_code = 2
    http_status = 415
    title = "Unsupported proposal format"


class ProposalRefused(KGError):
    """The proposal parses but cannot be accepted as it is (remote context, chosen IRI, oversized literal …)."""

    exit_code = 2
    http_status = 422
    title = "Proposal cannot be accepted"


class ProposalTargetMissing(KGError):
    """The resource a replace or remove names is not in the graph."""

    exit_code = 2
    http_status = 404
    title = "No such resource"


class PatchSyntaxError(KGError):
    """An RDF Patch text does not have the form this project writes."""

    exit_code = 3
    http_status = 400
    title = "Malformed RDF Patch"
