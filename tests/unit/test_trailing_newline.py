"""An identifier, party, code or topic with a trailing newline is refused everywhere.

Python's ``$`` matches before a final ``"\\n"``, so ``re.match(r"^[A-Z]{3}$", "KOR\\n")`` passes;
the checks anchor with ``\\Z`` (end of text) instead.  Each case below was accepted before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from gsomia.adapters.postgres_store.connection import SCHEMA_NAME
from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.errors import GsomiaError
from gsomia.node.framing import item_frame
from gsomia.ports import OutboxMessage
from tests.conftest import make_label

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def _audit(**changes: object) -> AuditRecord:
    fields: dict[str, object] = {
        "kind": AuditKind.RELEASE, "at": NOW, "actor": "kor-release-1", "subject": "item-1",
        "decision": "allow", "reasons": ("RELEASE_ALLOWED",), "detail": {"topic": "NK-MISSILE"},
    }  # fmt: skip
    return AuditRecord(**(fields | changes))  # type: ignore[arg-type]


def _outbox(recipient: str = "JPN", kind: str = "item", key: str = "item-1:JPN") -> OutboxMessage:
    return OutboxMessage(key, recipient, kind, "item-1", b"x", NOW)


# (the value with the newline, the same value without it)
CASES: dict[str, Callable[[str], object]] = {
    "audit actor": lambda nl: _audit(actor="kor-release-1" + nl),
    "audit reason": lambda nl: _audit(reasons=("RELEASE_ALLOWED" + nl,)),
    "audit decision": lambda nl: _audit(decision="allow" + nl),
    "audit detail key": lambda nl: _audit(detail={"topic" + nl: "NK-MISSILE"}),
    "outbox recipient": lambda nl: _outbox(recipient="JPN" + nl),
    "outbox kind": lambda nl: _outbox(kind="item" + nl),
    "outbox key": lambda nl: _outbox(key="item-1:JPN" + nl),
    "label topic": lambda nl: make_label(topics=("NK-MISSILE" + nl,)),
    "label originator": lambda nl: make_label(originator="KOR" + nl),
    "frame topic": lambda nl: item_frame("NK-MISSILE" + nl, "early warning", b"sealed"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_trailing_newline_is_refused(case: str) -> None:
    CASES[case]("")  # the value itself is valid: the refusal below is the newline's
    with pytest.raises((GsomiaError, ValueError)):
        CASES[case]("\n")


def test_a_postgres_schema_name_with_a_trailing_newline_is_refused() -> None:
    assert SCHEMA_NAME.match("gsomia") is not None
    assert SCHEMA_NAME.match("gsomia\n") is None
