"""The ``[cot]`` section of ``DATA/node.toml``: where a node speaks CoT, and who each client is.

A CoT listener is TCP speaking TAK protocol version 0 (PRODUCT.md §5).  Every connection acts as
one official of this node, and that official's roles and Art. 7 entitlement decide everything:
what it sends is sensor ingest (the ``sensor_feed`` role), what it receives is every track
message it may see (the ``reader`` role and :func:`gsomia.policy.access`)::

    [cot]
    [[cot.listen]]                 # plain TCP: every connection acts as this one official;
    host = "127.0.0.1"             # bind it to loopback (the default) or a protected network
    port = 8087
    official = "kor-radar-1"

    [[cot.listen]]                 # TLS with client certificates (TAK's usual 8089)
    host = "0.0.0.0"
    port = 8089
    cert = "tls/cot-server.pem"    # the server's chain and key (paths relative to DATA)
    key = "tls/cot-server.key"
    client_ca = "tls/cot-clients-ca.pem"   # the CA that issues the clients' certificates

    [cot.clients]                  # client certificate SHA-256 fingerprint (hex) -> official
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" = "kor-watch-1"

A TLS client whose certificate verifies against ``client_ca`` but whose fingerprint is not in
``[cot.clients]`` is refused (``COT_CLIENT_UNKNOWN``), as is one mapped to an official who is not
an active official of this node: a certificate alone grants nothing (Art. 7).  Errors are
``CONFIG_INVALID`` naming the field.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from gsomia.errors import InputError

__all__ = ["CotListener", "CotSettings", "fingerprint_of", "parse_cot"]

_FINGERPRINT: Final = re.compile(r"[0-9a-f]{64}")
_OFFICIAL: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_LOOPBACK: Final = "127.0.0.1"


def _invalid(message: str, path: Path) -> InputError:
    return InputError(message, code="CONFIG_INVALID", detail={"path": str(path)})


def fingerprint_of(der: bytes) -> str:
    """The SHA-256 fingerprint (lower-case hex) of a DER certificate, as ``[cot.clients]`` keys it."""
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True, slots=True)
class CotListener:
    """One CoT listener: plain (``official`` set) or TLS (``cert``, ``key`` and ``client_ca``)."""

    host: str = _LOOPBACK
    port: int = 0
    official: str | None = None
    cert: str | None = None
    key: str | None = None
    client_ca: str | None = None

    @property
    def tls(self) -> bool:
        """Whether clients connect over TLS with a client certificate."""
        return self.cert is not None

    @property
    def scheme(self) -> str:
        """``tcp`` or ``tls``, as PyTAK's ``COT_URL`` spells it."""
        return "tls" if self.tls else "tcp"

    def to_toml(self) -> list[str]:
        """The ``[[cot.listen]]`` table of this listener."""
        lines = ["[[cot.listen]]", f'host = "{self.host}"', f"port = {self.port}"]
        for name in ("official", "cert", "key", "client_ca"):
            value = getattr(self, name)
            if value is not None:
                lines.append(f'{name} = "{value}"')
        return lines


@dataclass(frozen=True, slots=True)
class CotSettings:
    """Every CoT listener of a node and the client certificate → official mapping."""

    listen: tuple[CotListener, ...] = ()
    clients: Mapping[str, str] = field(default_factory=dict)

    def to_toml(self) -> list[str]:
        """The ``[cot]`` section (nothing when there is no listener and no client)."""
        if not self.listen and not self.clients:
            return []
        lines = ["", "[cot]"]
        for listener in self.listen:
            lines += ["", *listener.to_toml()]
        if self.clients:
            lines += ["", "[cot.clients]"]
            lines += [f'"{fp}" = "{who}"' for fp, who in sorted(self.clients.items())]
        return lines

    def with_client(self, fingerprint: str, official: str) -> CotSettings:
        """These settings with the certificate ``fingerprint`` mapped to ``official``."""
        fp = fingerprint.lower().replace(":", "")
        if not _FINGERPRINT.fullmatch(fp):
            raise InputError("a fingerprint is 64 hex digits (SHA-256)", code="CONFIG_INVALID")
        if not _OFFICIAL.fullmatch(official):
            raise InputError(f"{official!r} is not an official id", code="CONFIG_INVALID")
        return CotSettings(self.listen, {**self.clients, fp: official})

    def with_listener(self, listener: CotListener) -> CotSettings:
        """These settings with one more listener."""
        _check_listener(listener, Path("node.toml"))
        return CotSettings((*self.listen, listener), dict(self.clients))


def _check_listener(listener: CotListener, path: Path) -> None:
    if not listener.host or not 0 <= listener.port <= 65535:
        raise _invalid("[[cot.listen]] host must be text and port 0-65535", path)
    tls = (listener.cert, listener.key, listener.client_ca)
    if any(v is not None for v in tls) and not all(v is not None for v in tls):
        raise _invalid("a TLS CoT listener needs cert, key and client_ca", path)
    if listener.tls == (listener.official is not None):
        raise _invalid(
            "a CoT listener is either plain with one official, or TLS with client certificates",
            path,
        )
    if listener.official is not None and not _OFFICIAL.fullmatch(listener.official):
        raise _invalid(f"[[cot.listen]] official {listener.official!r} is not an id", path)


def _listener(raw: Any, path: Path) -> CotListener:
    names = {"host", "port", "official", "cert", "key", "client_ca"}
    if not isinstance(raw, dict) or set(raw) - names:
        raise _invalid(f"[[cot.listen]] takes only {sorted(names)}", path)
    host, port = raw.get("host", _LOOPBACK), raw.get("port", 0)
    if not isinstance(host, str) or isinstance(port, bool) or not isinstance(port, int):
        raise _invalid("[[cot.listen]] host must be text and port an integer", path)
    texts: dict[str, str | None] = {}
    for name in ("official", "cert", "key", "client_ca"):
        value = raw.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise _invalid(f"[[cot.listen]] {name} must be text", path)
        texts[name] = value
    listener = CotListener(host, port, **texts)
    _check_listener(listener, path)
    return listener


def parse_cot(raw: object, path: Path) -> CotSettings:
    """The ``[cot]`` table of ``path`` as :class:`CotSettings` (``CONFIG_INVALID`` otherwise)."""
    if not isinstance(raw, dict) or set(raw) - {"listen", "clients"}:
        raise _invalid("[cot] holds listen (an array of tables) and clients only", path)
    listen = raw.get("listen", [])
    if not isinstance(listen, list):
        raise _invalid("[cot] listen is an array of tables: [[cot.listen]]", path)
    settings = CotSettings(tuple(_listener(item, path) for item in listen))
    clients = raw.get("clients", {})
    if not isinstance(clients, dict):
        raise _invalid("[cot.clients] maps certificate fingerprints to official ids", path)
    for fp, official in clients.items():
        if not isinstance(official, str):
            raise _invalid("[cot.clients] maps certificate fingerprints to official ids", path)
        try:
            settings = settings.with_client(fp, official)
        except InputError as exc:
            raise _invalid(f"[cot.clients] {exc.message}", path) from None
    return settings
