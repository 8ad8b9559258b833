"""National marking schemes: each level with its native text, English rendering and rank.

A scheme is identified by its policy identifier (``KOR``, ``JPN``, ``USA``, ``NATO``), the same
string a STANAG 4774 label carries in ``PolicyIdentifier``.  Ranks are integers chosen per scheme:
a higher rank is more sensitive.  Ranks of two schemes are never compared with each other; only an
agreement's equivalence table relates levels across schemes (Art. 4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gsomia.errors import MarkingError

_TRIGRAPH = re.compile(r"^[A-Z]{3}\Z")
_SCHEME_ID = re.compile(r"^[A-Z][A-Z0-9-]{1,31}\Z")


def validate_party(code: object) -> str:
    """Return ``code`` if it is an ISO 3166-1 alpha-3 code in upper case, else raise."""
    if not isinstance(code, str) or not _TRIGRAPH.match(code):
        raise MarkingError(
            f"{code!r} is not a party code: use ISO 3166-1 alpha-3 in upper case, e.g. KOR",
            code="PARTY_INVALID",
        )
    return code


@dataclass(frozen=True, slots=True)
class Level:
    """One classification level of a national scheme."""

    scheme: str
    native: str
    english: str
    rank: int
    aliases: tuple[str, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        if not self.native.strip() or not self.english.strip():
            raise MarkingError("a level needs native and English text", code="LEVEL_INVALID")
        if not isinstance(self.rank, int) or isinstance(self.rank, bool) or self.rank <= 0:
            raise MarkingError(
                f"level {self.native!r}: rank must be a positive integer", code="LEVEL_INVALID"
            )

    def __str__(self) -> str:
        return self.native if self.native == self.english else f"{self.native} ({self.english})"


@dataclass(frozen=True, slots=True)
class Scheme:
    """A national (or NATO) marking scheme: an ordered set of levels."""

    id: str
    name: str
    levels: tuple[Level, ...]
    party: str | None = None
    source: str = ""
    _by_text: dict[str, Level] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not _SCHEME_ID.match(self.id):
            raise MarkingError(f"scheme id {self.id!r} is not valid", code="SCHEME_INVALID")
        if self.party is not None:
            validate_party(self.party)
        if not self.levels:
            raise MarkingError(f"scheme {self.id} has no levels", code="SCHEME_INVALID")
        ranks: set[int] = set()
        for level in self.levels:
            if level.scheme != self.id:
                raise MarkingError(
                    f"level {level.native!r} belongs to {level.scheme}, not {self.id}",
                    code="SCHEME_INVALID",
                )
            if level.rank in ranks:
                raise MarkingError(
                    f"scheme {self.id}: two levels share rank {level.rank}", code="SCHEME_INVALID"
                )
            ranks.add(level.rank)
            for text in (level.native, *level.aliases):
                if text in self._by_text:
                    raise MarkingError(
                        f"scheme {self.id}: {text!r} names two levels", code="SCHEME_INVALID"
                    )
                self._by_text[text] = level

    def find(self, text: str) -> Level | None:
        """The level whose native text (or alias) is ``text``, or None."""
        return self._by_text.get(text)

    def level(self, text: str) -> Level:
        """The level named ``text``; raise ``UNKNOWN_LEVEL`` if this scheme has none."""
        found = self._by_text.get(text)
        if found is None:
            known = ", ".join(level.native for level in self.levels)
            raise MarkingError(
                f"{text!r} is not a level of the {self.id} scheme (known: {known})",
                code="UNKNOWN_LEVEL",
            )
        return found

    def below(self, level: Level) -> tuple[Level, ...]:
        """Levels strictly less sensitive than ``level``."""
        return tuple(other for other in self.levels if other.rank < level.rank)
