"""From the node's case records to the response models of :mod:`gsomia.api.models_cases`.

Pure functions, as :mod:`gsomia.api.views`: instants in UTC (``Z``) except agreement events,
which are shown in the agreement's zone; signed tokens as their text (RFC 8785 JSON).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from gsomia.api.models_cases import (
    AgreementEventOut,
    BreachOut,
    ConsentOut,
    ConsentRequestOut,
    DisposalOut,
    VisitorOut,
    VisitOut,
)
from gsomia.instants import format_instant
from gsomia.ports import (
    AgreementEventRecord,
    BreachRecord,
    ConsentRecord,
    ConsentRequestRecord,
    DisposalRecord,
    VisitRecord,
)

__all__ = [
    "agreement_event_view",
    "breach_view",
    "consent_request_view",
    "consent_view",
    "disposal_view",
    "visit_view",
]


def _when(value: datetime | None, tz: ZoneInfo | None = None) -> str | None:
    return None if value is None else format_instant(value, tz)


def _text(token: bytes | None) -> str | None:
    return None if token is None else token.decode("utf-8", errors="replace")


def consent_request_view(r: ConsentRequestRecord) -> ConsentRequestOut:
    """A consent request and, once decided, the originator's signed decision (Art. 6)."""
    return ConsentRequestOut(
        request_id=r.request_id,
        direction=r.direction,
        item_id=r.item_id,
        originator=r.originator,
        holder=r.holder,
        third_party=r.third_party,
        purpose=r.purpose,
        requested=format_instant(r.requested),
        requested_by=r.requested_by,
        expires=_when(r.expires),
        state=r.state,
        decided=_when(r.decided),
        decided_by=r.decided_by,
        decision=_text(r.decision),
    )


def consent_view(record: ConsentRecord) -> ConsentOut:
    """A consent this node gave, with its token and, if withdrawn, the revocation."""
    c = record.consent
    return ConsentOut(
        consent_id=c.consent_id,
        kind=c.kind.value,
        item_id=c.item_id,
        originator=c.originator,
        holder=c.holder,
        third_party=c.third_party,
        purpose=c.purpose,
        issued=format_instant(c.issued),
        expires=format_instant(c.expires),
        conditions=list(c.conditions),
        revoked_at=_when(c.revoked_at),
        token=record.token.decode("utf-8", errors="replace"),
        revocation=_text(record.revocation),
    )


def breach_view(b: BreachRecord) -> BreachOut:
    """A breach and where its investigation stands (Art. 17)."""
    return BreachOut(
        breach_id=b.breach_id,
        item_id=b.item_id,
        originator=b.originator,
        reporter=b.reporter,
        reported_by=b.reported_by,
        kind=b.kind,
        description=b.description,
        reported=format_instant(b.reported),
        updated=format_instant(b.updated),
        status=b.status,
        version=b.version,
        investigation=b.investigation,
        results=b.results,
        measures=b.measures,
        token=_text(b.token),
    )


def disposal_view(d: DisposalRecord) -> DisposalOut:
    """A return or destruction, with the request and certificate (Arts. 6, 13)."""
    return DisposalOut(
        disposal_id=d.disposal_id,
        item_id=d.item_id,
        originator=d.originator,
        holder=d.holder,
        action=d.action,
        reason=d.reason,
        requested=_when(d.requested),
        state=d.state,
        completed=_when(d.completed),
        request=_text(d.request),
        certificate=_text(d.certificate),
    )


def visit_view(v: VisitRecord) -> VisitOut:
    """A visit and the host's decision (Art. 8)."""
    return VisitOut(
        visit_id=v.visit_id,
        requester=v.requester,
        host=v.host,
        visitor=VisitorOut(
            name=v.visitor.name,
            nationality=v.visitor.nationality,
            clearance=v.visitor.clearance,
            post=v.visitor.post,
        ),
        purpose=v.purpose,
        start=format_instant(v.start),
        end=format_instant(v.end),
        requested=format_instant(v.requested),
        state=v.state,
        level=v.level,
        decided=_when(v.decided),
        note=v.note,
    )


def agreement_event_view(r: AgreementEventRecord, tz: ZoneInfo | None) -> AgreementEventOut:
    """A recorded agreement event; its instants in the agreement's zone ``tz`` (Art. 21)."""
    e = r.event
    return AgreementEventOut(
        seq=r.seq,
        agreement_id=r.agreement_id,
        kind=e.kind,
        at=format_instant(e.at, tz),
        by=e.by,
        note=e.note,
        source=e.source,
        condition=e.condition,
        disputed_by=e.disputed_by,
        effective=_when(e.effective, tz),
        table_version=e.table_version,
        recorded=format_instant(r.recorded),
        recorded_by=r.recorded_by,
    )
