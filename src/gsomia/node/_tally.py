"""What one call of :func:`gsomia.node.inbound.receive` counted, while it runs (mutable)."""

from __future__ import annotations

from dataclasses import dataclass, field

from gsomia.node.results import ReceiveSummary

__all__ = ["Tally"]


@dataclass(slots=True)
class Tally:
    """Counters of :class:`~gsomia.node.results.ReceiveSummary`, filled as messages are handled."""

    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    receipts: int = 0
    receipts_duplicate: int = 0
    receipts_rejected: int = 0
    rejections: list[tuple[str, str]] = field(default_factory=list)
    messages: int = 0
    notices: int = 0  # signed notices applied, acknowledgements settled (node/notice_inbound.py)
    notices_deferred: int = 0
    receipts_refused: int = 0  # negative receipts that settled an item as refused (ADR 0011)

    def merge(self, other: Tally) -> None:
        """Add ``other``'s counts (a batch that committed) to these."""
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.duplicates += other.duplicates
        self.receipts += other.receipts
        self.receipts_duplicate += other.receipts_duplicate
        self.receipts_rejected += other.receipts_rejected
        self.rejections.extend(other.rejections)
        self.messages += other.messages
        self.notices += other.notices
        self.notices_deferred += other.notices_deferred
        self.receipts_refused += other.receipts_refused

    def summary(self) -> ReceiveSummary:
        """The immutable summary."""
        return ReceiveSummary(
            self.accepted,
            self.rejected,
            self.duplicates,
            self.receipts,
            self.receipts_duplicate,
            self.receipts_rejected,
            tuple(self.rejections),
            self.messages,
            notices=self.notices,
            notices_deferred=self.notices_deferred,
            receipts_refused=self.receipts_refused,
        )
