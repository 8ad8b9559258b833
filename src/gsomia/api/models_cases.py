"""Request and response bodies of the case routes: consent and forward (Art. 6), breaches
(Art. 17), reclassification and return or destruction (Arts. 6, 13), visits (Art. 8) and
agreement events (Art. 21).

The rules of :mod:`gsomia.api.models` hold: pydantic at this edge only, unknown members
forbidden, shapes and sizes checked here, meanings (a party, a level, a purpose, a transition)
decided and audited by the node.  Instants in request bodies are RFC 3339 with an offset
(:data:`Instant`; a naive or malformed one is 422 ``REQUEST_INVALID``).  Signed statements
(consents, notices, certificates) are shown as their token text, RFC 8785 JSON, verifiable with
the signer's public key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from gsomia.agreements import Event, EventKind
from gsomia.api.models import DecisionOut, Page
from gsomia.api.problems import Problem, refusal_members
from gsomia.catalog import parse_event
from gsomia.errors import GsomiaError
from gsomia.instants import parse_instant
from gsomia.ports import (
    BreachKind,
    BreachStatus,
    ConsentRequestDirection,
    ConsentRequestState,
    DisposalAction,
    DisposalState,
    Visitor,
    VisitState,
)

__all__ = [
    "AgreementEventIn",
    "AgreementEventOut",
    "AgreementEventPage",
    "BreachIn",
    "BreachOut",
    "BreachPage",
    "BreachUpdateIn",
    "ConsentDecisionIn",
    "ConsentOut",
    "ConsentRequestIn",
    "ConsentRequestOut",
    "ConsentRequestPage",
    "DestroyIn",
    "DisposalOut",
    "DisposalPage",
    "DisposalRequestIn",
    "ForwardIn",
    "ForwardOut",
    "ForwardRefusedProblem",
    "Instant",
    "ReclassifyIn",
    "VisitDecisionIn",
    "VisitIn",
    "VisitOut",
    "VisitPage",
    "VisitorIn",
]

MAX_CONDITIONS: Final = 16
_TEXT: Final = 4096  # generous: the node's own limits (256, 1024, 2000) are audited refusals


def _instant(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("an instant is an RFC 3339 string with an offset")
    try:
        return parse_instant(value)
    except GsomiaError as exc:
        raise ValueError(exc.message) from None


Instant = Annotated[
    datetime,
    BeforeValidator(_instant),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "examples": ["2026-12-23T00:00:00+09:00"]}
    ),
]
"""An RFC 3339 instant with an offset, in a request body."""
Text = Annotated[StrictStr, Field(max_length=_TEXT)]
Party = Annotated[StrictStr, Field(max_length=64, examples=["USA"])]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- consent and forward (Art. 6) ----------------------------------------------------------------


class ConsentRequestIn(_In):
    """The holder asks the originator for prior written consent to forward an item (Art. 6)."""

    third_party: Party
    purpose: Text = Field(examples=["joint assessment of NK missile launches"])
    expires: Instant | None = Field(None, description="the expiry asked for (default: 30 days)")


class ConsentRequestOut(BaseModel):
    """A consent request, sent (we hold the item) or received (we originated it)."""

    request_id: str
    direction: ConsentRequestDirection
    item_id: str
    originator: str
    holder: str
    third_party: str
    purpose: str
    requested: str
    requested_by: str
    expires: str | None
    state: ConsentRequestState
    decided: str | None
    decided_by: str | None
    decision: str | None = Field(description="the originator's signed consent or refusal")


class ConsentRequestPage(Page[ConsentRequestOut]):
    """A page of consent requests, by id."""


class ConsentDecisionIn(_In):
    """The originator's security officer grants (with conditions, an expiry) or refuses."""

    approve: StrictBool
    conditions: list[Annotated[StrictStr, Field(max_length=256)]] = Field(
        default_factory=list, max_length=MAX_CONDITIONS, examples=[["no further release"]]
    )
    expires: Instant | None = None


class ConsentOut(BaseModel):
    """A written consent (or TISA relay approval) this node gave, and its revocation."""

    consent_id: str
    kind: str
    item_id: str
    originator: str
    holder: str
    third_party: str
    purpose: str
    issued: str
    expires: str
    conditions: list[str]
    revoked_at: str | None
    token: str
    revocation: str | None


class ForwardIn(_In):
    """Forward a held item to a third party under the originator's consent (Art. 6)."""

    third_party: Party
    purpose: Text = Field(examples=["joint assessment of NK missile launches"])


class ForwardOut(BaseModel):
    """A forward queued for delivery, with the consent it relies on."""

    item_id: str
    third_party: str
    forwarded: bool
    consent_id: str | None
    decision: DecisionOut


class ForwardRefusedProblem(Problem):
    """``FORWARD_REFUSED``: the reason codes and the policy's decision; audited by the node."""

    model_config = ConfigDict(json_schema_extra=refusal_members("FORWARD_REFUSED"))

    item_id: str
    third_party: str
    reasons: list[str]
    consent_id: str | None
    decision: DecisionOut


# -- breaches (Art. 17) --------------------------------------------------------------------------


class BreachIn(_In):
    """An actual or possible loss or compromise of a held item; any official may report."""

    item_id: StrictStr = Field(max_length=128)
    kind: BreachKind
    description: Text


class BreachUpdateIn(_In):
    """The reporting node's security officer records findings; each is sent to the originator."""

    status: BreachStatus
    investigation: Text | None = None
    results: Text | None = None
    measures: Text | None = None


class BreachOut(BaseModel):
    """A breach as this node keeps it (reporter's and originator's records agree)."""

    breach_id: str
    item_id: str
    originator: str
    reporter: str
    reported_by: str
    kind: BreachKind
    description: str
    reported: str
    updated: str
    status: BreachStatus
    version: int
    investigation: str
    results: str
    measures: str
    token: str | None = Field(description="the reporter's latest signed statement")


class BreachPage(Page[BreachOut]):
    """A page of breaches, by id."""


# -- reclassification and return or destruction (Arts. 6, 13) ------------------------------------


class ReclassifyIn(_In):
    """The originator's new level, in its own scheme's text (Art. 6)."""

    level: StrictStr = Field(max_length=256, examples=["군사III급비밀"])


class DisposalRequestIn(_In):
    """The originator asks a holder to return or destroy its copy (Art. 6)."""

    holder: Party
    action: DisposalAction
    reason: Text = Field(examples=["no longer needed"])


class DestroyIn(_In):
    """The holder destroys a copy no longer needed (Arts. 6, 13)."""

    reason: Text = Field(examples=["no longer needed"])


class DisposalOut(BaseModel):
    """A return or destruction: requested, executed, certified."""

    disposal_id: str
    item_id: str
    originator: str
    holder: str
    action: DisposalAction
    reason: str
    requested: str | None
    state: DisposalState
    completed: str | None
    request: str | None = Field(description="the originator's signed request")
    certificate: str | None = Field(description="the holder's signed certificate")


class DisposalPage(Page[DisposalOut]):
    """A page of disposals, by id."""


# -- visits (Art. 8) -----------------------------------------------------------------------------


class VisitorIn(_In):
    """A visiting official of the requesting party: clearance under its national scheme."""

    name: StrictStr = Field(max_length=256, examples=["KIM Min-jun"])
    nationality: StrictStr = Field(pattern=r"^[A-Z]{3}$", examples=["KOR"])
    clearance: StrictStr = Field(max_length=256, examples=["군사II급비밀"])
    post: StrictStr = Field("", max_length=256)

    def value(self) -> Visitor:
        """The visitor record (checked already by the model)."""
        return Visitor(self.name, self.nationality, self.clearance, self.post)

    @model_validator(mode="after")
    def _record(self) -> VisitorIn:
        try:
            self.value()
        except GsomiaError as exc:
            raise ValueError(exc.message) from None
        return self


class VisitIn(_In):
    """Ask ``host`` to receive one of our officials (Art. 8)."""

    visitor: VisitorIn
    host: Party = Field(examples=["JPN"])
    purpose: Text = Field(examples=["missile warning data exchange procedures"])
    start: Instant
    end: Instant


class VisitDecisionIn(_In):
    """The host approves, naming the highest level that may be disclosed, or denies (Art. 8)."""

    approve: StrictBool
    level: StrictStr | None = Field(None, max_length=256, examples=["極秘"])
    note: Text = ""


class VisitorOut(BaseModel):
    """A visiting official."""

    name: str
    nationality: str
    clearance: str
    post: str


class VisitOut(BaseModel):
    """A visit as both nodes keep it; ``level`` is in the host's scheme (approvals only)."""

    visit_id: str
    requester: str
    host: str
    visitor: VisitorOut
    purpose: str
    start: str
    end: str
    requested: str
    state: VisitState
    level: str | None
    decided: str | None
    note: str


class VisitPage(Page[VisitOut]):
    """A page of visits, by id."""


# -- agreement events (Art. 21) ------------------------------------------------------------------


class AgreementEventIn(_In):
    """One event, in the fields of the agreement data's ``[[events]]`` (``gsomia.catalog``)."""

    kind: EventKind
    at: StrictStr = Field(max_length=64, examples=["2026-11-23T12:00:00+09:00"])
    by: StrictStr | None = Field(None, max_length=8, examples=["KOR"])
    note: Text = ""
    source: Text = ""
    condition: Text = ""
    disputed_by: StrictStr | None = Field(None, max_length=8)
    effective: StrictStr | None = Field(None, max_length=64)
    table_version: StrictInt | None = Field(None, ge=1, le=2**31)
    _event: Event | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _parse(self) -> AgreementEventIn:
        raw: dict[str, Any] = self.model_dump(exclude_none=True)
        raw["kind"] = str(self.kind)
        try:
            self._event = parse_event(raw, "event")
        except GsomiaError as exc:
            raise ValueError(exc.message) from None
        return self

    def event(self) -> Event:
        """The recorded (not hypothetical) event."""
        assert self._event is not None
        return self._event


class AgreementEventOut(BaseModel):
    """An event recorded at this node, numbered by ``seq``; instants in the agreement's zone."""

    seq: int
    agreement_id: str
    kind: EventKind
    at: str
    by: str | None
    note: str
    source: str
    condition: str
    disputed_by: str | None
    effective: str | None
    table_version: int | None
    recorded: str
    recorded_by: str


class AgreementEventPage(Page[AgreementEventOut]):
    """A page of recorded agreement events, by ``seq``."""
