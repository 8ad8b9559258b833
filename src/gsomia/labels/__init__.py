"""STANAG 4774 confidentiality labels: the model and its two encodings.

- :mod:`gsomia.labels.model`: originator and alternative labels (Art. 4).
- :mod:`gsomia.labels.json_codec`: canonical JSON (RFC 8785), used for hashing and binding.
- :mod:`gsomia.labels.xml_codec`: STANAG 4774 XML, parsed without DTDs or entities.
"""

from gsomia.labels.model import (
    HANDLING,
    RELEASABLE_TO,
    TOPIC,
    AlternativeLabel,
    Category,
    CategoryType,
    LabelSet,
    OriginatorLabel,
)

__all__ = [
    "HANDLING",
    "RELEASABLE_TO",
    "TOPIC",
    "AlternativeLabel",
    "Category",
    "CategoryType",
    "LabelSet",
    "OriginatorLabel",
]
