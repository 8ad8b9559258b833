"""The ``[tracks]`` section of ``DATA/node.toml``: the partner track links (issue 5 §2, ADR 0012).

A node listens for its partners' links on ``[tracks]`` ``host``/``port`` and pushes its own
tracks to each ``[[tracks.partners]]`` that has an ``address``; a partner is authenticated by its
node key in ``keys/trust.json``, never by this address::

    [tracks]
    host = "127.0.0.1"          # where partners' links arrive (omit both: no listener)
    port = 8641

    [[tracks.partners]]
    party = "JPN"
    address = "127.0.0.1:8642"  # JPN's [tracks] listener: push our tracks to it
    via = "USA"                 # optional: send JPN our tracks through the hub USA (TISA)

    [[tracks.partners]]
    party = "USA"
    address = "127.0.0.1:8643"

A partner without ``address`` is still one the node routes to: when
:func:`gsomia.policy.release` says a track goes to it through a hub (a KOR track for JPN in
2015), it travels on the hub's link with the originator's standing approval.  ``via`` forces that
route even when a direct exchange is allowed.  Errors are ``CONFIG_INVALID`` naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from gsomia.errors import InputError

__all__ = ["LinkPartner", "LinkSettings", "parse_links", "split_address"]

_PARTY: Final = re.compile(r"[A-Z]{3}")
_HOST: Final = re.compile(r"[A-Za-z0-9.:\[\]-]{1,253}")


def _invalid(message: str, path: Path) -> InputError:
    return InputError(message, code="CONFIG_INVALID", detail={"path": str(path)})


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) as ``(host, port)``; ``CONFIG_INVALID`` otherwise."""
    host, sep, port = address.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not _HOST.fullmatch(host) or not port.isdigit() or not 0 < int(port) <= 65535:
        raise InputError(f"{address!r} is not host:port", code="CONFIG_INVALID")
    return host, int(port)


@dataclass(frozen=True, slots=True)
class LinkPartner:
    """A partner the node sends tracks to: where its listener is (if dialed), and any hub."""

    party: str
    address: str | None = None
    via: str | None = None

    def to_toml(self) -> list[str]:
        """The ``[[tracks.partners]]`` table."""
        lines = ["[[tracks.partners]]", f'party = "{self.party}"']
        if self.address is not None:
            lines.append(f'address = "{self.address}"')
        if self.via is not None:
            lines.append(f'via = "{self.via}"')
        return lines


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """The link listener (``None``: none) and the partners (module docstring)."""

    listen: tuple[str, int] | None = None
    partners: tuple[LinkPartner, ...] = ()

    @property
    def enabled(self) -> bool:
        """Whether the node runs any link (a listener or a partner)."""
        return self.listen is not None or bool(self.partners)

    def partner(self, party: str) -> LinkPartner | None:
        """The partner ``party``, if configured."""
        return next((p for p in self.partners if p.party == party), None)

    def to_toml(self) -> list[str]:
        """The ``[tracks]`` section (nothing when no link is configured)."""
        if not self.enabled:
            return []
        lines = ["", "[tracks]"]
        if self.listen is not None:
            lines += [f'host = "{self.listen[0]}"', f"port = {self.listen[1]}"]
        for partner in self.partners:
            lines += ["", *partner.to_toml()]
        return lines

    def with_partner(self, partner: LinkPartner) -> LinkSettings:
        """These settings with ``partner`` added or replaced (checked)."""
        _check(partner, self.partners, Path("node.toml"))
        rest = tuple(p for p in self.partners if p.party != partner.party)
        return LinkSettings(self.listen, (*rest, partner))


def _check(partner: LinkPartner, others: tuple[LinkPartner, ...], path: Path) -> None:
    if not _PARTY.fullmatch(partner.party):
        raise _invalid(f"[[tracks.partners]] party {partner.party!r} is not a party code", path)
    if partner.via is not None and (
        not _PARTY.fullmatch(partner.via) or partner.via == partner.party
    ):
        raise _invalid(f"[[tracks.partners]] via {partner.via!r} is not another party", path)
    if partner.address is not None:
        try:
            split_address(partner.address)
        except InputError as exc:
            raise _invalid(f"[[tracks.partners]] address: {exc.message}", path) from None


def _partner(raw: Any, path: Path) -> LinkPartner:
    names = {"party", "address", "via"}
    if not isinstance(raw, dict) or set(raw) - names or "party" not in raw:
        raise _invalid(
            f"[[tracks.partners]] takes party and optionally address, via: {names}", path
        )
    values = {n: raw.get(n) for n in names}
    if not all(v is None or isinstance(v, str) for v in values.values()):
        raise _invalid("[[tracks.partners]] party, address and via are text", path)
    partner = LinkPartner(raw["party"], values["address"], values["via"])
    _check(partner, (), path)
    return partner


def parse_links(raw: object, path: Path) -> LinkSettings:
    """The ``[tracks]`` table of ``path`` as :class:`LinkSettings` (``CONFIG_INVALID`` otherwise)."""
    if not isinstance(raw, dict) or set(raw) - {"host", "port", "partners"}:
        raise _invalid("[tracks] holds host, port and partners (an array of tables)", path)
    listen = None
    if "host" in raw or "port" in raw:
        host, port = raw.get("host", "127.0.0.1"), raw.get("port", 0)
        if not isinstance(host, str) or not _HOST.fullmatch(host):
            raise _invalid("[tracks] host must be a host name or address", path)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise _invalid("[tracks] port must be an integer 0-65535", path)
        listen = (host, port)
    items = raw.get("partners", [])
    if not isinstance(items, list):
        raise _invalid("[tracks] partners is an array of tables: [[tracks.partners]]", path)
    partners = tuple(_partner(item, path) for item in items)
    if len({p.party for p in partners}) != len(partners):
        raise _invalid("[[tracks.partners]] names a party twice", path)
    return LinkSettings(listen, partners)
