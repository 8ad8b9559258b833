"""Read-only views over a node's audit log (Art. 17; RFC 9162; PRODUCT.md §8): the full
verification of the log, the partners' checkpoints it holds, and the TISA relay approvals it gave.

Full verification (:func:`verify`)
  Signs the node's checkpoint now (c2sp.org/tlog-checkpoint) and verifies that signature with
  the node's own public key, then reads **every** entry through the Store port
  (``audit_entry``), in chunks of :data:`CHUNK` each in a read of its own (writers wait at most
  one chunk), re-hashes it (RFC 9162 §2.1.1) and recomputes the root at the end of each chunk
  and at the checkpoint's size: each must equal what the store's tree (built from its stored leaf
  hashes) and the signed checkpoint name.  The recomputation is
  :class:`gsomia.audit.verify.LogVerifier`, the same code as ``gsomia audit verify``
  (:func:`gsomia.adapters.audit_tables.verify_tables`), fed by the port instead of SQL rows.  An
  entry that no longer decodes is ``AUDIT_ENTRY_MALFORMED``; an altered entry makes the root of
  its chunk differ (``AUDIT_CHECKPOINT_MISMATCH`` at that size).  The log is append-only, so
  entries below the checkpoint's size read in later transactions are those it commits to.

Partners' checkpoints (:func:`partner_logs`)
  Every signed receipt a partner returns (:mod:`gsomia.node.inbound`) quotes the partner's log:
  the index of its ``accept`` entry and the checkpoint ``(origin, size, root)`` that includes it;
  the node audits each verified receipt with those values (``receipt`` ``received``).  Without
  a proof from the partner, what can be checked here is what its own signed statements say
  about each other: an entry lies inside the checkpoint quoted with it (index < size); two
  checkpoints of one size name one root (else the partner showed two different logs: a fork);
  and a later entry (higher index) never comes with a smaller log (the log never shrank), since a
  receipt is signed in the unit of work of its entry.  :func:`verify` checks every receipt in
  the log; :func:`partner_logs` those an :class:`AuditIndex` has read: the index follows the log
  forward from a bounded distance behind the head, so each look at a page reads only the new
  entries.

Relay approvals (:func:`hub_approvals`)
  The hub approvals this node issued as originator (:mod:`gsomia.node.relay`): each release
  through a hub is audited with the approval's id (which the :class:`AuditIndex` collects),
  and the stored consent record holds the approval and any revocation (:meth:`gsomia.node.Node.revoke_consent` withdraws one).  Security
  and release officers of this node may list them (deny by default; a refusal is audited).

The functions take the node's :class:`~gsomia.node._context.Context`; :func:`context_of` gives a
node's, for faces that hold a :class:`~gsomia.node.Node` until it offers these as methods.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.audit.verify import LogVerifier, VerifyProblem
from gsomia.errors import GsomiaError
from gsomia.node import directory
from gsomia.node._acts import OFFICERS, may, refuse, resolve
from gsomia.node._context import Context
from gsomia.node.errors import NodeForbiddenError
from gsomia.ports import ConsentRecord, OfficialRecord, check_limit
from gsomia.proofs.notes import open_checkpoint
from gsomia.proofs.signed_note import NoteVerifier

if TYPE_CHECKING:
    from gsomia.node.service import Node

__all__ = [
    "CHUNK",
    "KEEP",
    "SCAN",
    "AuditIndex",
    "LogCheck",
    "PartnerLog",
    "context_of",
    "hub_approvals",
    "partner_logs",
    "verify",
]

CHUNK: Final = 1024
"""Entries read per read transaction (a power of two: the verifier's chunk)."""
SCAN: Final = 20_000
"""Entries an :class:`AuditIndex` reads back from the head on its first look, by default."""
KEEP: Final = 100_000
"""Partner quotes and approval ids an :class:`AuditIndex` keeps, by default (the newest)."""
_MAX_SCAN: Final = 1_000_000

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class PartnerLog:
    """What a partner's signed receipts say about its log (see the module docstring).

    ``size`` and ``root`` are the largest checkpoint quoted; ``receipts`` how many receipts were
    read; ``consistent`` whether they agree, else ``problem`` says how they do not.
    """

    party: str
    origin: str
    size: int
    root: str
    at: datetime
    receipts: int
    consistent: bool
    problem: str = ""


@dataclass(frozen=True, slots=True)
class LogCheck:
    """The outcome of :func:`verify`: the recomputation and the partners' checkpoints."""

    ok: bool
    size: int
    root: bytes
    checkpoints: int
    problems: tuple[VerifyProblem, ...]
    problem_count: int
    detail: str
    partners: tuple[PartnerLog, ...]


@dataclass(frozen=True, slots=True)
class _Quote:
    party: str
    origin: str
    index: int
    size: int
    root: str
    at: datetime


def context_of(node: Node) -> Context:
    """The context of ``node`` (its ports, keys and registry)."""
    return node._ctx


# ------------------------------------------------------------------------------ verification


def verify(ctx: Context, progress: Progress | None = None) -> LogCheck:
    """Recompute the whole log against the store's roots and the node's signed checkpoint."""
    note = directory.checkpoint(ctx)
    own = NoteVerifier.from_record(ctx.log_origin, ctx.keys.current.sig)
    try:
        cp, _ = open_checkpoint(note, [own], origin=ctx.log_origin, required=[ctx.log_origin])
    except GsomiaError as err:
        return LogCheck(False, 0, b"", 0, (VerifyProblem(err.code, None, err.message),), 1,
                        f"the node's signed checkpoint does not verify ({err.code})", ())  # fmt: skip
    size = cp.size
    with ctx.store.read() as reader:
        recorded = [(s, reader.audit_root(s)) for s in range(CHUNK, size, CHUNK)]
    recorded.append((size, cp.root))
    verifier = LogVerifier(iter(recorded), CHUNK)
    quotes: list[_Quote] = []
    for start in range(0, size, CHUNK):
        rows: list[tuple[int, object, object]] = []
        with ctx.store.read() as reader:
            for index in range(start, min(start + CHUNK, size)):
                try:
                    record = reader.audit_entry(index)
                except GsomiaError as err:
                    verifier.problem("AUDIT_ENTRY_MALFORMED", index,
                                     f"entry {index} cannot be read ({err.code})")  # fmt: skip
                    rows.append((index, b"", None))
                    continue
                rows.append((index, record.to_bytes(), None))
                quote = _quote(record)
                if quote is not None:
                    quotes.append(quote)
        verifier.chunk(rows)
        if progress is not None:
            progress(verifier.position, size)
    if progress is not None and size == 0:
        progress(0, 0)
    result = verifier.finish()
    partners = tuple(_summarise(quotes))
    if result.ok:
        middle = max(0, result.checkpoints - 1)
        detail = (f"all {result.size} entries re-hashed; the recomputed root matches the signed "
                  f"checkpoint and {middle} intermediate roots of the store")  # fmt: skip
    else:
        detail = f"{result.problem_count} problem(s), first: {result.problems[0].message}"
    return LogCheck(result.ok, result.size, result.root, result.checkpoints, result.problems,
                    result.problem_count, detail, partners)  # fmt: skip


# ---------------------------------------------------------------------- partners' checkpoints


def _quote(record: AuditRecord) -> _Quote | None:
    """The partner checkpoint a verified receipt's audit record quotes, if it is one."""
    if record.kind is not AuditKind.RECEIPT or record.decision != "received":
        return None
    d = record.detail
    origin, index, size, root = d.get("log_origin"), d.get("log_index"), d.get("log_size"), \
        d.get("log_root")  # fmt: skip
    if not (isinstance(origin, str) and isinstance(root, str)):
        return None
    if not (isinstance(index, int) and isinstance(size, int)):
        return None
    return _Quote(record.actor, origin, index, size, root, record.at)


def _summarise(quotes: Iterable[_Quote]) -> list[PartnerLog]:
    """One :class:`PartnerLog` per partner log, with the consistency checks of the docstring."""
    by_log: dict[tuple[str, str], list[_Quote]] = {}
    for q in quotes:
        by_log.setdefault((q.party, q.origin), []).append(q)
    out = []
    for (party, origin), found in sorted(by_log.items()):
        found.sort(key=lambda q: (q.index, q.size))
        problem = ""
        roots: dict[int, str] = {}
        largest = found[0]
        for q in found:
            if q.index >= q.size:
                problem = problem or f"entry {q.index} is outside the checkpoint of size {q.size}"
            if roots.setdefault(q.size, q.root) != q.root:
                problem = problem or f"two different roots at size {q.size} (a fork)"
            if q.size < largest.size:
                problem = problem or (f"entry {q.index} came with size {q.size}, after size "
                                      f"{largest.size} (the log shrank)")  # fmt: skip
            largest = q if q.size >= largest.size else largest
        out.append(PartnerLog(party, origin, largest.size, largest.root, largest.at, len(found),
                              not problem, problem))  # fmt: skip
    return out


class AuditIndex:
    """What the pages need from the log, followed forward so that each look reads only the
    entries appended since the last: the partners' quoted checkpoints and the relay approvals.

    The first :meth:`refresh` starts ``back`` entries before the head (so a long log costs one
    bounded read, once); at most ``keep`` quotes and approval ids are kept (the newest).  Safe
    to share between threads.
    """

    def __init__(self, ctx: Context, *, back: int = SCAN, keep: int = KEEP) -> None:
        self._ctx = ctx
        self._back = max(0, min(int(back), _MAX_SCAN))
        self.start: int | None = None
        self.end = 0
        self._quotes: deque[_Quote] = deque(maxlen=keep)
        self._approvals: deque[str] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Read the entries appended since the last refresh."""
        with self._lock:
            with self._ctx.store.read() as reader:
                head = reader.audit_size()
            if self.start is None:
                self.start = self.end = max(0, head - self._back)
            for first in range(self.end, head, CHUNK):
                with self._ctx.store.read() as reader:
                    for index in range(first, min(first + CHUNK, head)):
                        self._take(reader.audit_entry(index))
            self.end = max(self.end, head)

    def _take(self, record: AuditRecord) -> None:
        quote = _quote(record)
        if quote is not None:
            self._quotes.append(quote)
        elif record.kind is AuditKind.RELEASE and record.decision == "allow":
            approval = record.detail.get("approval")
            if isinstance(approval, str):
                self._approvals.append(approval)

    def quotes(self) -> list[_Quote]:
        """The partner checkpoints quoted in the entries read, oldest first."""
        with self._lock:
            return list(self._quotes)

    def approvals(self) -> list[str]:
        """The relay approval ids named in the entries read, newest first, once each."""
        with self._lock:
            return list(dict.fromkeys(reversed(self._approvals)))


def partner_logs(index: AuditIndex) -> list[PartnerLog]:
    """The partners' checkpoints quoted by the receipts the index has read (every official)."""
    index.refresh()
    return _summarise(index.quotes())


# -------------------------------------------------------------------------- relay approvals


def hub_approvals(
    ctx: Context, actor: OfficialRecord | str, index: AuditIndex, *, limit: int = 100
) -> list[ConsentRecord]:
    """The relay approvals this node gave, newest first (security and release officers)."""
    now = ctx.clock.now()
    who, official = resolve(ctx, actor)
    if not may(official, ctx.party, OFFICERS):
        refuse(ctx, AuditKind.CONSENT, now, who, "hub-approvals",
               NodeForbiddenError(f"{who} may not list the relay approvals of {ctx.party}"))  # fmt: skip
    limit = check_limit(limit)
    index.refresh()
    out: list[ConsentRecord] = []
    with ctx.store.read() as reader:
        for consent_id in index.approvals()[:limit]:
            found = reader.consent(consent_id)
            if found is not None and found.consent.originator == ctx.party:
                out.append(found)
    return out
