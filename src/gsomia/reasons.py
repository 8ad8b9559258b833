"""Reasons: a stable code, a message for people, and the article or rule cited.

Every status and every decision carries a tuple of these.  Codes are part of the public interface
(CLI ``--json``, API, audit log) and never change meaning; messages may be reworded.
They are msgspec Structs rather than dataclasses because decisions are built on the hot path:
a frozen Struct is constructed about ten times faster (docs/adr/0001).
"""

from __future__ import annotations

import msgspec


class Reason(msgspec.Struct, frozen=True):
    """Why: ``code`` (stable), ``message`` (for people), ``cite`` (article or rule)."""

    code: str
    message: str
    cite: str = ""

    def to_dict(self) -> dict[str, str]:
        """The JSON form used by the CLI, the API and the audit log."""
        return {"code": self.code, "message": self.message, "cite": self.cite}
