"""Equivalence tables (Art. 4): which level of one party corresponds to which of another.

A table belongs to one agreement and has a version; an amendment of the agreement brings a new
version and never edits an old one.  Each row relates, for every party of the agreement, one or
more native level texts; the first text of a party in a row is the marking that party applies to
CMI it receives (for example 極秘 rather than 特定秘密 for a ROK 군사II급비밀 item).  Each row cites
its source, or says it is ``assumed`` so that a security officer knows to check it.

A level that appears in no row has no equivalent: CMI at that level can never be provided under
the agreement (ROK 군사I급비밀 under the ROK–JPN agreement).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gsomia.errors import MarkingError
from gsomia.markings.schemes import validate_party


@dataclass(frozen=True, slots=True)
class EquivalenceRow:
    """One row: the equivalent native texts of each party, and where the row comes from."""

    english: str
    markings: Mapping[str, tuple[str, ...]]
    source: str = ""
    assumed: bool = False

    def __post_init__(self) -> None:
        if not self.markings:
            raise MarkingError("an equivalence row needs markings", code="TABLE_INVALID")
        for party, texts in self.markings.items():
            validate_party(party)
            if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
                raise MarkingError(
                    f"row {self.english!r}: party {party} needs at least one level text",
                    code="TABLE_INVALID",
                )
        if not self.assumed and not self.source.strip():
            raise MarkingError(
                f"row {self.english!r} has no source: cite one or mark it assumed",
                code="TABLE_INVALID",
            )
        object.__setattr__(self, "markings", MappingProxyType(dict(self.markings)))


@dataclass(frozen=True, slots=True)
class EquivalenceTable:
    """A versioned equivalence table of one agreement."""

    agreement: str
    version: int
    rows: tuple[EquivalenceRow, ...]
    note: str = ""
    _index: dict[tuple[str, str], EquivalenceRow] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.version < 1:
            raise MarkingError("table versions start at 1", code="TABLE_INVALID")
        for row in self.rows:
            for party, texts in row.markings.items():
                for text in texts:
                    key = (party, text)
                    if key in self._index:
                        raise MarkingError(
                            f"{self.agreement} table v{self.version}: {party} {text!r} is in two rows",
                            code="TABLE_INVALID",
                        )
                    self._index[key] = row

    @property
    def assumed(self) -> bool:
        """Whether any row of this table is assumed rather than sourced."""
        return any(row.assumed for row in self.rows)

    def row_for(self, party: str, native: str) -> EquivalenceRow | None:
        """The row in which ``party``'s level ``native`` appears, or None."""
        return self._index.get((party, native))

    def equivalent(self, from_party: str, native: str, to_party: str) -> str | None:
        """The marking ``to_party`` applies to ``from_party``'s level ``native``, or None."""
        row = self._index.get((from_party, native))
        if row is None:
            return None
        texts = row.markings.get(to_party)
        return texts[0] if texts else None

    def covered(self, party: str) -> frozenset[str]:
        """Every native text of ``party`` that has a row in this table."""
        return frozenset(text for (p, text) in self._index if p == party)
