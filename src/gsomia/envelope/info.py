"""What a sealed item says about itself once verified: the values sealing and opening return.

:class:`ItemInfo` (returned by :func:`~gsomia.envelope.seal.seal_stream` and
:func:`~gsomia.envelope.opening.open_stream`) and :class:`OpenedItem`
(:func:`~gsomia.envelope.opening.open_item`), the :class:`AgreementRef` they name, and the check
of the ``now`` both sides take.
"""

from __future__ import annotations

from datetime import datetime
from hashlib import sha256
from operator import itemgetter
from typing import Final, NamedTuple

import msgspec

from gsomia.envelope import wire
from gsomia.envelope.errors import SealError
from gsomia.envelope.label_memo import Label
from gsomia.errors import InputError
from gsomia.instants import require_aware

__all__ = ["AgreementRef", "ItemInfo", "OpenedItem", "checked_now", "info_fields", "item_info"]

_PARTIES: Final = itemgetter(0)  # a recipient entry's party
_new: Final = tuple.__new__  # _new(AgreementRef, (id, version)): no Python-level NamedTuple.__new__


class AgreementRef(NamedTuple):
    """The agreement, and the version of its equivalence table, an item is released under."""

    agreement_id: str
    table_version: int


# ItemInfo and OpenedItem are msgspec Structs rather than dataclasses because one is built on
# every open (a frozen dataclass of ten fields costs about a microsecond to build, a Struct a
# tenth of that).  Their fields hold immutable values only, which cannot form a reference cycle:
# hence ``gc=False``.


class ItemInfo(msgspec.Struct, frozen=True, gc=False):
    """What a sealed item says about itself, once verified.

    ``sender``/``kid`` name the party and key that signed; ``originator`` is the label's
    originating party (they differ when a hub relays an item with the originator's consent).
    ``seal_digest`` (SHA-256 of the signed bytes) identifies the item in both parties' audit logs.
    """

    item_id: str
    created: datetime
    sender: str
    kid: str
    originator: str
    label: Label
    agreement_ref: AgreementRef
    recipients: tuple[str, ...]
    seal_digest: bytes


class OpenedItem(ItemInfo, frozen=True, gc=False):
    """A verified, decrypted item."""

    payload: bytes


def info_fields(
    header: wire.HeaderFields, label: Label, originator: str, tbs: bytes
) -> tuple[str, datetime, str, str, str, Label, AgreementRef, tuple[str, ...], bytes]:
    """The fields of :class:`ItemInfo`, in order, of a verified header (``OpenedItem`` adds the
    payload after them)."""
    return (
        header.item_id,
        header.created,
        header.sender,
        header.sender_kid,
        originator,
        label,
        _new(AgreementRef, (header.agreement_id, header.table_version)),
        tuple(map(_PARTIES, header.recipients)),
        sha256(tbs).digest(),
    )


def item_info(header: wire.HeaderFields, label: Label, originator: str, tbs: bytes) -> ItemInfo:
    return ItemInfo(*info_fields(header, label, originator, tbs))


def checked_now(now: datetime) -> datetime:
    # The callers skip this when ``now`` is already what require_aware returns: aware, in UTC.
    try:
        return require_aware(now, "now")
    except InputError as exc:
        raise SealError(exc.message, code="SEAL_TIME") from None
