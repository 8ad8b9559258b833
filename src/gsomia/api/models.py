"""The API's request and response bodies: pydantic models, used at this edge only (STYLE.md 2).

Names are snake_case; instants are RFC 3339 strings with an offset (UTC written ``Z``, agreement
instants in the agreement's zone); national marking text is kept as is (군사II급비밀, 極秘).
Request models forbid unknown members and check shapes and sizes only: what a value *means*
(a party, a level, a topic, a purpose) is decided, and audited, by the node and the core.
Conversions from the node's records are in :mod:`gsomia.api.views`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    field_validator,
    model_validator,
)

from gsomia.api.problems import Problem, refusal_members
from gsomia.ports import DeliveryState, ItemState, ReceiptDirection, Role

T = TypeVar("T")
MAX_RECIPIENTS: Final = 32
_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$"

ORIGINATOR_LABEL_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "A STANAG 4774 originator label in gsomia's canonical JSON form "
    "(gsomia.labels.json_codec): classification in the originator's national text.",
    "required": ["policy_id", "classification", "originator", "created", "categories"],
    "additionalProperties": False,
    "properties": {
        "policy_id": {"type": "string", "examples": ["KOR"]},
        "classification": {"type": "string", "examples": ["군사II급비밀"]},
        "originator": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "created": {"type": "string", "format": "date-time"},
        "review": {"type": "string", "format": "date-time"},
        "categories": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "type", "values"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "type": {"enum": ["PERMISSIVE", "RESTRICTIVE", "INFORMATIVE"]},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list (issue 4 §3); pass ``next`` as ``after`` for the following page."""

    items: list[T]
    next: str | None = Field(description="cursor of the next page; null after the last")


# -- health and officials -------------------------------------------------------------------------


class Health(BaseModel):
    """The node answers."""

    party: str
    status: str = "ok"


class OfficialIn(_In):
    """An official of this node's directory (Art. 7: clearance under national law, duties)."""

    id: StrictStr = Field(pattern=_ID, examples=["jpn-analyst-1"])
    nationality: StrictStr = Field(pattern=r"^[A-Z]{3}$", examples=["JPN"])
    clearance: StrictStr | None = Field(max_length=64, examples=["極秘"])
    duties: list[StrictStr] = Field(default_factory=list, max_length=256)
    in_register: StrictBool
    rank: StrictStr = Field("", max_length=128)
    post: StrictStr = Field("", max_length=256)
    roles: list[Role] = Field(default_factory=list, max_length=len(Role))
    active: StrictBool = True


class OfficialOut(BaseModel):
    """An official as the directory holds it; rank and post never grant access (Art. 7)."""

    id: str
    nationality: str
    clearance: str | None
    duties: list[str]
    in_register: bool
    rank: str
    post: str
    roles: list[Role]
    active: bool


class TokenOut(BaseModel):
    """A new API token, shown once; the node keeps only its SHA-256 (issue 4 §1)."""

    official_id: str
    token: str


# -- items ----------------------------------------------------------------------------------------


class ReleaseIn(_In):
    """Release an item this node originates (Art. 6): exactly one of ``payload_b64``, ``text``."""

    label: dict[str, Any] = Field(json_schema_extra=ORIGINATOR_LABEL_SCHEMA)
    payload_b64: StrictStr | None = Field(None, description="the content, base64 (RFC 4648 §4)")
    text: StrictStr | None = Field(None, description="the content as text (sent as UTF-8)")
    topic: StrictStr = Field(max_length=64, examples=["NK-MISSILE"])
    purpose: StrictStr = Field(max_length=4096, examples=["early warning of NK missile launches"])
    recipients: list[StrictStr] = Field(min_length=1, max_length=MAX_RECIPIENTS, examples=[["JPN"]])

    @field_validator("payload_b64")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("payload_b64 is not base64 (RFC 4648 §4)") from None
        return value

    @model_validator(mode="after")
    def _one_content(self) -> ReleaseIn:
        if (self.payload_b64 is None) == (self.text is None):
            raise ValueError("give exactly one of payload_b64 and text")
        return self

    def payload(self) -> bytes:
        """The content as bytes."""
        if self.payload_b64 is not None:
            return base64.b64decode(self.payload_b64, validate=True)
        assert self.text is not None
        return self.text.encode("utf-8")


class ReasonOut(BaseModel):
    """A reason of a decision: stable code, message, the clause it applies."""

    code: str
    message: str
    cite: str


class MarkingOut(BaseModel):
    """The level under which ``party`` holds, or would hold, the item (Art. 4)."""

    party: str
    level: str


class DecisionOut(BaseModel):
    """A policy decision for one recipient (deny by default, with reasons)."""

    allowed: bool
    codes: list[str]
    reasons: list[ReasonOut]
    agreement: str | None
    table_version: int | None
    path: list[str]
    markings: list[MarkingOut]


class ReleaseOut(BaseModel):
    """A release that went to every recipient (all or nothing)."""

    item_id: str
    released: bool
    decisions: dict[str, DecisionOut]


class ReleaseRefusedProblem(Problem):
    """``RELEASE_REFUSED``: the reason codes and each recipient's decision; audited."""

    model_config = ConfigDict(json_schema_extra=refusal_members("RELEASE_REFUSED"))

    item_id: str
    reasons: list[str]
    decisions: dict[str, DecisionOut]


class LabelMarking(BaseModel):
    """One marking of an item: a scheme's level in its own text (Art. 4)."""

    party: str = Field(description="the party whose marking this is")
    policy_id: str
    classification: str = Field(examples=["極秘"])
    applied_by: str


class ItemMarkings(BaseModel):
    """The originator's native marking and this node's equivalent beside it (Art. 4)."""

    originator: LabelMarking
    ours: LabelMarking | None


class ItemOut(BaseModel):
    """A held item's metadata (never its content)."""

    id: str
    topic: str
    state: ItemState
    originator: str
    received: str
    received_from: str | None
    agreement: str | None
    table_version: int | None
    derived_from: str | None
    state_changed: str | None
    markings: ItemMarkings
    labels: dict[str, Any] = Field(description="the whole label set, canonical JSON form")


class ItemPage(Page[ItemOut]):
    """A page of held items, by id."""


class ReceiptOut(BaseModel):
    """A signed receipt of an item (Art. 7 assurance), received from or issued to ``party``."""

    item_id: str
    party: str
    direction: ReceiptDirection
    at: str
    token: str = Field(description="the signed receipt token (RFC 8785 JSON text)")


class ReceiptList(BaseModel):
    """Every receipt of an item."""

    items: list[ReceiptOut]


class OutboxOut(BaseModel):
    """A message to a partner: its delivery state and retries (issue 4 §1)."""

    key: str
    seq: int
    recipient: str
    kind: str
    subject: str
    state: DeliveryState
    attempts: int
    created: str
    next_attempt: str
    last_attempt: str | None
    last_error: str | None
    settled: str | None


class OutboxPage(Page[OutboxOut]):
    """A page of outbox messages, in enqueue order."""


class OfficialPage(Page[OfficialOut]):
    """A page of the directory, by id."""


class AuditHead(BaseModel):
    """The audit log's size and RFC 9162 root (hex)."""

    size: int
    root: str


# -- agreements -----------------------------------------------------------------------------------


class AgreementOut(BaseModel):
    """An agreement and its state now (:func:`gsomia.agreements.summary_to_dict`)."""

    id: str
    title: str
    kind: str
    parties: list[str]
    hub: str | None
    topics: list[str] | None
    state: str
    exchange_allowed: bool
    table_version: int | None
    assumed: bool


class AgreementPage(Page[AgreementOut]):
    """A page of agreements, by id, with their state at ``at``."""

    at: str


class PendingNoticeOut(BaseModel):
    """A notice of termination and what became of it (Art. 21)."""

    given_at: str | None
    by: str | None
    effective: str | None
    suspended: bool
    suspended_at: str | None
    condition: str | None
    disputed_by: str | None
    resumed_at: str | None


class AgreementStatusOut(BaseModel):
    """:func:`gsomia.agreements.status_to_dict`: the agreement at one instant, and why."""

    agreement: str
    at: str
    zone: str
    state: str
    exchange_allowed: bool
    table_version: int | None
    term_number: int | None
    term_start: str | None
    term_end: str | None
    next_renewal: str | None
    notice_deadline: str | None
    notice_deadline_passed: bool
    notice_now_takes_effect: str | None
    pending_notice: PendingNoticeOut | None
    hypothetical: bool
    reasons: list[ReasonOut]
