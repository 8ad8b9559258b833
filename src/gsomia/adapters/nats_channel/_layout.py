"""The JetStream layout of the node channel: subjects, streams, consumers and accounts (ADR 0010).

Pure: names and the text of a nats-server ``accounts`` block, no I/O.

* A message from ``KOR`` to ``USA`` travels on the subject ``gsomia.KOR.USA``.
* Each nation has ONE account on the broker, and each node's stream lives in its own nation's
  account: ``GSOMIA_USA`` captures ``gsomia.*.USA`` (everything sent to the United States).
* The account of the *recipient* exports the subject ``gsomia.KOR.USA`` as a service to the
  account of ``KOR`` only, and ``KOR`` imports it: so only ``KOR`` can put a message on it, only
  ``USA`` ever holds it, and the JetStream acknowledgement of the publish flows back to ``KOR``
  (a service import routes replies; a stream import would not).  No other account sees the
  subject at all: the broker keeps the national boundary, as a second line behind the node's own
  per-item check (issue 7 §1).
* Within an account, a node's user may publish only on ``gsomia.<its nation>.*`` (and on
  ``gsomia.tracks.<its nation>.>``, its workers' track stream: ADR 0013) and use the JetStream
  API of its own streams; it may subscribe only to reply inboxes.  A user of ``JPN``
  that tries to subscribe to ``gsomia.KOR.USA`` is refused by the broker (a permissions
  violation), and would receive nothing even if it were allowed (account isolation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from gsomia.errors import InputError

__all__ = [
    "DURABLE",
    "PREFIX",
    "AccountUser",
    "Layout",
    "accounts_block",
    "inbound_filter",
    "parse_subject",
    "stream_name",
    "subject",
]

PREFIX: Final = "gsomia"
DURABLE: Final = "gsomia-node"
"""The durable consumer of a node's stream, shared by all the node's workers (work sharing)."""
_PARTY = re.compile(r"[A-Z]{3}")
_USER = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_SECRET = re.compile(r"[\x21-\x7e]{1,256}")  # visible ASCII; quotes and backslashes refused below


def _party(value: str) -> str:
    if not isinstance(value, str) or not _PARTY.fullmatch(value):
        raise InputError(
            f"a party is three capital letters, not {value!r}", code="CHANNEL_INPUT_INVALID"
        )
    return value


def subject(originator: str, recipient: str) -> str:
    """The subject of a message from ``originator`` to ``recipient``: ``gsomia.KOR.USA``."""
    return f"{PREFIX}.{_party(originator)}.{_party(recipient)}"


def inbound_filter(recipient: str) -> str:
    """Every subject addressed to ``recipient``: ``gsomia.*.USA``."""
    return f"{PREFIX}.*.{_party(recipient)}"


def stream_name(recipient: str) -> str:
    """The stream that holds what was sent to ``recipient``: ``GSOMIA_USA``."""
    return f"GSOMIA_{_party(recipient)}"


def parse_subject(value: str) -> tuple[str, str] | None:
    """``(originator, recipient)`` of a channel subject, or None if it is not one."""
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    if not (_PARTY.fullmatch(parts[1]) and _PARTY.fullmatch(parts[2])):
        return None
    return parts[1], parts[2]


@dataclass(frozen=True, slots=True)
class AccountUser:
    """A user of a nation's account: a node (restricted) or an operator (``node=False``)."""

    name: str
    password: str
    node: bool = True

    def __post_init__(self) -> None:
        if not _USER.fullmatch(self.name):
            raise InputError(
                "a NATS user name is 1-64 of [A-Za-z0-9_.-]", code="CHANNEL_INPUT_INVALID"
            )
        if not _SECRET.fullmatch(self.password) or '"' in self.password or "\\" in self.password:
            raise InputError(
                "a NATS password is visible ASCII without quotes or backslashes",
                code="CHANNEL_INPUT_INVALID",
            )


@dataclass(frozen=True, slots=True)
class Layout:
    """The nations on one broker, their users, and who may send to whom.

    ``links`` are ordered ``(originator, recipient)`` pairs; by default every pair of distinct
    nations (issue 7: KOR, JPN, USA, each bound to the others by a GSOMIA).
    """

    users: Mapping[str, Sequence[AccountUser]]
    links: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    @classmethod
    def of(
        cls,
        users: Mapping[str, Sequence[AccountUser]],
        links: Iterable[tuple[str, str]] | None = None,
    ) -> Layout:
        parties = sorted(_party(p) for p in users)
        pairs = (
            {(a, b) for a in parties for b in parties if a != b}
            if links is None
            else {(_party(a), _party(b)) for a, b in links}
        )
        for a, b in pairs:
            if a == b or a not in users or b not in users:
                raise InputError(f"the link {a}->{b} names an unknown nation or itself",
                                 code="CHANNEL_INPUT_INVALID")  # fmt: skip
        return cls(dict(users), frozenset(pairs))


def _user_block(party: str, user: AccountUser) -> str:
    head = f'{{user: "{user.name}", password: "{user.password}"'
    if not user.node:
        return head + "}"
    stream = stream_name(party)
    publish = [
        f"{PREFIX}.{party}.*",  # only as itself: gsomia.KOR.* (imported from each recipient)
        "$JS.API.INFO",
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.STREAM.CREATE.{stream}",
        f"$JS.API.STREAM.UPDATE.{stream}",
        f"$JS.API.CONSUMER.*.{stream}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>",
        f"$JS.ACK.{stream}.>",
        # the node's own track stream, shared by its workers (ADR 0013; never exported)
        f"{PREFIX}.tracks.{party}.>",
        f"$JS.API.STREAM.INFO.GSOMIA_TRACKS_{party}",
        f"$JS.API.STREAM.CREATE.GSOMIA_TRACKS_{party}",
        f"$JS.API.STREAM.UPDATE.GSOMIA_TRACKS_{party}",
        f"$JS.API.CONSUMER.CREATE.GSOMIA_TRACKS_{party}",
        f"$JS.API.CONSUMER.*.GSOMIA_TRACKS_{party}.>",
        f"$JS.FC.GSOMIA_TRACKS_{party}.>",
    ]
    allow = ", ".join(f'"{s}"' for s in publish)
    return head + (
        f', permissions: {{publish: {{allow: [{allow}]}}, subscribe: {{allow: ["_INBOX.>"]}}}}}}'
    )


def accounts_block(layout: Layout, *, indent: str = "  ") -> str:
    """The ``accounts { … }`` block of a nats-server configuration for ``layout``.

    Each nation: JetStream enabled, its users, the service exports of the subjects addressed to
    it (each to the one account entitled to send on it), and the imports of the subjects it may
    send on.
    """
    lines = ["accounts {"]
    for party in sorted(layout.users):
        senders = sorted(a for a, b in layout.links if b == party)
        recipients = sorted(b for a, b in layout.links if a == party)
        users = ",\n".join(f"{indent * 3}{_user_block(party, u)}" for u in layout.users[party])
        exports = ",\n".join(
            f'{indent * 3}{{service: "{subject(s, party)}", accounts: [{s}]}}' for s in senders
        )
        imports = ",\n".join(
            f'{indent * 3}{{service: {{account: {r}, subject: "{subject(party, r)}"}}}}'
            for r in recipients
        )
        lines += [
            f"{indent}{party} {{",
            f"{indent * 2}jetstream: enabled",
            f"{indent * 2}users: [\n{users}\n{indent * 2}]",
            f"{indent * 2}exports: [\n{exports}\n{indent * 2}]" if exports else "",
            f"{indent * 2}imports: [\n{imports}\n{indent * 2}]" if imports else "",
            f"{indent}}}",
        ]
    lines.append("}")
    return "\n".join(line for line in lines if line) + "\n"
