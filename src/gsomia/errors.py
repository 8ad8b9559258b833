"""The one error tree of gsomia.

Every failure the project raises on purpose is a :class:`GsomiaError`.  Each carries a stable
``code`` (used in RFC 9457 problem details by the API and in messages by the CLI), an HTTP
``status`` and a CLI ``exit_code``.  Foreign exceptions are wrapped where they enter (at the
port or parser), never leaked.

::

    GsomiaError                      code=INTERNAL        exit 1   (a defect of ours)
    ├── InputError                   code=INPUT_INVALID   exit 2   (the caller's input is wrong)
    │   ├── InstantError             code=INSTANT_*               (naive, unparseable instants)
    │   ├── MarkingError             code=UNKNOWN_LEVEL, UNKNOWN_SCHEME, UNKNOWN_PARTY, …
    │   ├── LabelError               code=LABEL_*                 (label model and codecs)
    │   ├── AgreementError           code=AGREEMENT_*             (agreement model and data)
    │   ├── EventSequenceError       code=EVENT_SEQUENCE_INVALID  (an impossible history)
    │   ├── TrackError               code=TRACK_*                 (missile-warning tracks, §5)
    │   └── CotError                 code=COT_*                   (Cursor on Target events)
    ├── NotFoundError                code=*_NOT_FOUND     exit 3   (unknown id)
    ├── DataError                    code=DATA_INVALID    exit 4   (a data file is wrong)
    ├── PeerError                    code=PEER_*          exit 5   (a partner's input is wrong)
    ├── StoreError                   code=STORE_*         exit 6   (storage unavailable)
    └── DeniedError                  code=*_DENIED        exit 7   (policy said no to an act)

A denied *decision* is not an error: decisions are values (:mod:`gsomia.policy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class GsomiaError(Exception):
    """Base of every error gsomia raises on purpose."""

    code: str = "INTERNAL"
    status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    title: ClassVar[str] = "Internal error"

    def __init__(
        self, message: str, *, code: str | None = None, detail: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.detail: dict[str, Any] = dict(detail or {})

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """Render as an RFC 9457 problem details object."""
        problem: dict[str, Any] = {
            "type": f"urn:gsomia:problem:{self.code.lower().replace('_', '-')}",
            "title": self.title,
            "status": self.status,
            "detail": self.message,
            "code": self.code,
        }
        if instance is not None:
            problem["instance"] = instance
        problem.update({k: v for k, v in self.detail.items() if k not in problem})
        return problem


class InputError(GsomiaError):
    """The caller's input is malformed or refers to something that cannot be."""

    code = "INPUT_INVALID"
    status = 400
    exit_code = 2
    title = "Invalid input"


class InstantError(InputError):
    """An instant is unparseable or has no UTC offset."""

    code = "INSTANT_INVALID"


class MarkingError(InputError):
    """An unknown or ill-formed party, scheme, level or equivalence table."""

    code = "MARKING_INVALID"


class LabelError(InputError):
    """A label is ill-formed, or one of its encodings cannot be decoded."""

    code = "LABEL_INVALID"
    status = 422
    title = "Invalid label"


class AgreementError(InputError):
    """An agreement or one of its events is ill-formed."""

    code = "AGREEMENT_INVALID"
    status = 422
    title = "Invalid agreement"


class EventSequenceError(AgreementError):
    """An event cannot follow the agreement's history (Art. 21 lifecycle)."""

    code = "EVENT_SEQUENCE_INVALID"
    status = 409
    title = "Impossible agreement history"


class TrackError(InputError):
    """A missile-warning track message is ill-formed or out of order (PRODUCT.md §5)."""

    code = "TRACK_INVALID"
    status = 422
    title = "Invalid track message"


class CotError(InputError):
    """A Cursor on Target event or stream cannot be accepted (PRODUCT.md §5)."""

    code = "COT_INVALID"
    status = 422
    title = "Invalid Cursor on Target event"


class NotFoundError(GsomiaError):
    """An id names nothing we know."""

    code = "NOT_FOUND"
    status = 404
    exit_code = 3
    title = "Not found"


class DataError(GsomiaError):
    """A data file (built-in or given by an officer) is malformed."""

    code = "DATA_INVALID"
    status = 422
    exit_code = 4
    title = "Invalid data file"


class PeerError(GsomiaError):
    """A partner node sent something malformed, forged or unauthorized."""

    code = "PEER_INPUT_INVALID"
    status = 400
    exit_code = 5
    title = "Invalid input from a partner"


class StoreError(GsomiaError):
    """A store (SQLite file, database) cannot be used; wraps the driver's exception."""

    code = "STORE_UNAVAILABLE"
    status = 503
    exit_code = 6
    title = "Store unavailable"


class DeniedError(GsomiaError):
    """An act was refused by a policy decision; ``detail['reasons']`` carries its reasons.

    A *question* to the policy (``gsomia decide``) is never an error; an *act* it refuses
    (sealing an item for a party not entitled to it) is.
    """

    code = "DENIED"
    status = 403
    exit_code = 7
    title = "Denied by policy"
