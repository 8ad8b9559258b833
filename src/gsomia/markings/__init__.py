"""National marking schemes and the equivalence tables of agreements (Art. 4).

Levels are compared by their ``rank``, which is data; a level's text is never compared to another
level's text.  Equivalence between two nations' levels exists only inside a versioned table that
belongs to an agreement.
"""

from gsomia.markings.equivalence import EquivalenceRow, EquivalenceTable
from gsomia.markings.schemes import Level, Scheme, validate_party

__all__ = ["EquivalenceRow", "EquivalenceTable", "Level", "Scheme", "validate_party"]
