"""Agreements (GSOMIAs and hub arrangements), their events and lifecycle (Art. 21)."""

from gsomia.agreements.lifecycle import (
    TRANSITIONS,
    PendingNotice,
    Segment,
    Timeline,
    compile_timeline,
)
from gsomia.agreements.model import Agreement, Event, EventKind, Kind, RelayRule, State
from gsomia.agreements.status import (
    HistoryEntry,
    Status,
    history,
    history_to_dict,
    status_at,
    status_to_dict,
    summary_to_dict,
)
from gsomia.reasons import Reason

__all__ = [
    "TRANSITIONS",
    "Agreement",
    "Event",
    "EventKind",
    "HistoryEntry",
    "Kind",
    "PendingNotice",
    "Reason",
    "RelayRule",
    "Segment",
    "State",
    "Status",
    "Timeline",
    "compile_timeline",
    "history",
    "history_to_dict",
    "status_at",
    "status_to_dict",
    "summary_to_dict",
]
