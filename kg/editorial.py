"""The editorial loop: a contributor proposes, the SHACL gate checks, an editor decides, approval goes live.

Approval is all or nothing. Under a lock (a file lock, so two servers on one state directory take turns):
the proposal must still be pending and its target unchanged since it was proposed; its new resources get
their IRIs and the change its provenance; a full build (SHACL and inference, as always) runs in a process
of its own with the change applied after the approved ones, into a release `current` does not point at
yet; only if that build succeeds is the change set recorded in the ledger, and only then does `current`
move. A crash before the record leaves an unused release (pruned later); after it, the next
`capkg build --if-changed` sees a new change set and builds it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import ORG, RDF

from kg.changes.gate import check
from kg.changes.ledger import ChangeSet, Ledger, Proposal
from kg.changes.model import Change, Provenance, is_new
from kg.changes.patch import mint, to_rdf_patch, with_provenance
from kg.changes.proposal import proposed_change, read_proposal, target_digest
from kg.errors import EditorialConflict, NonConformantData, ProposalNonConformant, StorageFull
from kg.namespaces import SCHEMA, ProjectNamespaces
from kg.reasoning.validate import load_turtle_dir
from kg.release.layout import Release, current_build
from kg.release.write import make_current
from kg.settings import Settings

ACTIONS = ("add", "replace", "remove")


@dataclass
class Review:
    """A proposal as an editor sees it now: the change against today's graph and the gate's report."""

    proposal: Proposal
    change: Change
    findings: list[dict[str, object]]
    changed_since: bool  # the target's description differs from the one the proposal was made against


class Editorial:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ns = ProjectNamespaces(settings.base_iri)
        self._ledger: Ledger | None = None
        self._graphs: dict[str, Graph] = {}  # release version → its asserted graph (one kept)
        self._schema: tuple[Graph, Graph] | None = None
        self._lock = threading.Lock()

    @property
    def ledger(self) -> Ledger:
        """Opened at first use: a server nobody proposes to writes nothing in the state directory."""
        if self._ledger is None:
            self._ledger = Ledger(self.settings.ledger_file)
        return self._ledger

    # what the gate checks against ---------------------------------------------------------------------

    def asserted(self, release: Release) -> Graph:
        """The release's asserted graph, read once per release."""
        found = self._graphs.get(release.version)
        if found is None:
            store = ox.Store()
            store.bulk_load(path=str(release.directory / "dataset.nq"), format=ox.RdfFormat.N_QUADS)
            wanted = ox.NamedNode(str(self.ns.graph("asserted")))
            triples = (
                ox.Triple(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, wanted)
            )
            text = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""  # no output file: bytes come back
            found = Graph().parse(data=text.decode(), format="nt")
            self._graphs = {release.version: found}
        return found

    def schema(self) -> tuple[Graph, Graph]:
        if self._schema is None:
            self._schema = (
                load_turtle_dir(self.settings.shapes_dir, self.ns),
                load_turtle_dir(self.settings.ontology_dir, self.ns),
            )
        return self._schema

    def _gate(self, change: Change, current: Graph) -> list[dict[str, object]]:
        shapes, ontology = self.schema()
        report = check(change, current, shapes, ontology, self.ns)
        findings = [finding_member(f) for f in report.findings]
        if not report.conforms:
            violations = [f for f in findings if f["severity"] == "Violation"]
            raise ProposalNonConformant(
                f"{len(violations)} violation(s) of the shapes; each finding names the resource, the property "
                "and the value",
                findings=findings,
            )
        return findings

    # contributors -------------------------------------------------------------------------------------

    def propose(
        self,
        author: str,
        release: Release,
        body: bytes,
        media_type: str,
        *,
        action: str,
        target: str | None,
        note: str,
        proposal_id: int | None = None,
    ) -> tuple[Proposal, list[dict[str, object]]]:
        """Check a proposal (or a revision of `proposal_id`) and keep it; the warnings the gate found."""
        current = self.asserted(release)
        proposed = read_proposal(body, media_type) if action != "remove" or body.strip() else Graph()
        subject = URIRef(target) if target else None
        proposed = completed(proposed, current, self.ns)
        change = proposed_change(current, proposed, action=action, target=subject, ns=self.ns)
        findings = self._gate(change, current)
        text = proposed.serialize(format="nt").strip() or f"# remove <{target}>"  # N-Triples; a removal has none
        kind = kind_of(action, change, current, self.ns)
        digest = target_digest(current, subject) if subject is not None else None
        if proposal_id is None:
            proposal = self.ledger.propose(
                author, kind, action, target, text, "application/n-triples", note, release.version, digest
            )
        else:
            proposal = self.ledger.revise(
                proposal_id, author, text, "application/n-triples", note, release.version, digest
            )
        return proposal, findings

    # editors ------------------------------------------------------------------------------------------

    def review(self, proposal: Proposal, release: Release) -> Review:
        current = self.asserted(release)
        subject = URIRef(proposal.target) if proposal.target else None
        proposed = Graph().parse(data=proposal.body, format="nt") if proposal.body.strip() else Graph()
        change = proposed_change(current, proposed, action=proposal.action, target=subject, ns=self.ns)
        try:
            findings = self._gate(change, current)
        except ProposalNonConformant as exc:
            findings = exc.findings
        changed = subject is not None and target_digest(current, subject) != proposal.target_digest
        return Review(proposal, change, findings, changed)

    def approve(self, proposal_id: int, editor: str, note: str) -> tuple[ChangeSet, Path]:
        """Build with the change and record it; the new release (already `current`).

        The proposal is judged against the release `current` points at once the lock is held, not the one
        the request started with: another approval may have gone live meanwhile."""
        self.ledger.require_decider(editor)  # before the lock and the build: a build is seconds of CPU
        with self._lock, _file_lock(self.settings.state_dir / "approve.lock"):
            release = Release.open(current_build(self.settings))
            proposal = self.ledger.get(proposal_id)
            if proposal is None:
                raise EditorialConflict(f"no proposal {proposal_id}")
            if proposal.status != "pending":
                raise EditorialConflict(
                    f"proposal {proposal_id} is {proposal.status}, not pending: it cannot be approved"
                )
            review = self.review(proposal, release)
            if review.changed_since:
                raise EditorialConflict(
                    f"{proposal.target} changed since proposal {proposal_id} was made: its author must bring the "
                    "proposal up to date (revise it) before it can be approved"
                )
            if any(f["severity"] == "Violation" for f in review.findings):
                raise ProposalNonConformant(
                    "the proposal no longer conforms to the shapes against today's graph", findings=review.findings
                )
            number = len(self.ledger.change_sets()) + 1  # under the lock: no other approval is numbering
            now = datetime.now(UTC)
            provenance = Provenance(
                change_set=self.ns.id[f"change/{number}"],
                number=number,
                proposer=proposal.author,
                approver=editor,
                proposed_at=proposal.created,
                approved_at=now,
                note=note or proposal.note,
            )
            current = self.asserted(release)
            change = with_provenance(
                mint(review.change, current, self.ns, number), provenance, self.ns, current=current
            )
            patch = to_rdf_patch(change, {"id": str(provenance.change_set), "proposal": str(proposal_id)})
            directory = build_with(self.settings, patch)
            change_set = self.ledger.approve(proposal_id, editor, patch, note)
            make_current(self.settings.build_dir, directory)
            return change_set, directory


def completed(proposed: Graph, current: Graph, ns: ProjectNamespaces) -> Graph:
    """What the service writes and a contributor never does: a new card's place among its problem
    statement's cards (after the last one)."""
    cap = ns.cap
    for card in set(proposed.subjects(RDF.type, cap.MaterialAppearance)):
        if not is_new(card) or (card, SCHEMA.position, None) in proposed:
            continue
        places = [
            int(str(position))
            for statement in proposed.objects(card, cap.inProblemStatement)
            for other in current.subjects(cap.inProblemStatement, statement)
            for position in current.objects(other, SCHEMA.position)
            if str(position).isdigit()
        ]
        proposed.add((card, SCHEMA.position, Literal(max(places, default=0) + 1)))
    return proposed


def finding_member(finding: object) -> dict[str, object]:
    return {
        name: (str(value) if value is not None else None)
        for name in ("severity", "focus", "path", "value", "message")
        for value in [getattr(finding, name, None)]
    }


def kind_of(action: str, change: Change, current: Graph, ns: ProjectNamespaces) -> str:
    """What the proposal is, in the editors' words: new material, correction, removal, …"""
    if action == "remove":
        return "removal"
    if action == "replace":
        return "correction"
    new_types = {o for s, p, o in change.added if p == RDF.type and (s, None, None) not in current}
    if ns.cap.LearningMaterial in new_types:
        return "new material"
    if ORG.Organization in new_types:
        return "new organisation"
    return "addition"


def build_with(settings: Settings, patch: str) -> Path:
    """A full build with `patch` applied after the approved change sets, in a process of its own (a build is
    seconds of CPU: in the server's process it would hold the interpreter lock against every request);
    `current` does not move. A violation refuses the approval, saying why."""
    spawn = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            outcome = pool.submit(_build_in_child, settings.model_dump(), patch).result()
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        raise StorageFull(
            f"the release with this change could not be written ({exc.strerror}); nothing was approved: "
            "free some space and approve again",
            file=exc.filename,
        ) from exc
    if isinstance(outcome, list):
        raise NonConformantData(
            f"the build with this change has {len(outcome)} SHACL violation(s); nothing was approved:\n  "
            + "\n  ".join(outcome[:20]),
            violations=outcome,
        )
    return Path(outcome)


def _build_in_child(values: dict[str, object], patch: str) -> str | list[str]:
    from kg.pipeline import build

    try:
        result = build(Settings.model_validate(values), pending=[patch], switch=False)
    except NonConformantData as exc:
        return exc.violations or [exc.problem]
    return str(result.directory)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
