"""Which store and which channel a serving node uses: settings, environment, and the wiring.

Issue 7 §1: a node runs on the embedded default (SQLite, loopback HTTP) or, when it outgrows one
machine, on PostgreSQL and NATS JetStream; the choice is configuration, never code.  The node's
``node.toml`` (or the file given to ``gsomia node serve --config FILE``) may hold::

    [store]                    # default: kind = "sqlite" (DATA/node.sqlite; ADR 0004)
    kind = "postgres"          # ADR 0008
    dsn_file = "/etc/gsomia/kor.dsn"     # or dsn = "host=… dbname=…" (no password in it, then)
    schema = "gsomia_kor"      # default gsomia_<party>

    [channel]
    transport = "nats"         # default "http" (host and port then say where it listens)

    [nats]                     # ADR 0010
    servers = ["nats://10.1.0.1:4222", "nats://10.1.0.2:4222", "nats://10.1.0.3:4222"]
    user = "kor-node"
    password_file = "/etc/gsomia/kor-nats.password"   # or creds = "/etc/gsomia/kor.creds"
    replicas = 3               # the node's stream, on a three-server cluster
    tracks = true              # the workers' track streams on JetStream (ADR 0013; default)

and the environment overrides any of it (12-factor; systemd ``Environment=``): ``GSOMIA_STORE``
(sqlite | postgres), ``GSOMIA_POSTGRES_DSN``, ``GSOMIA_POSTGRES_SCHEMA``, ``GSOMIA_CHANNEL``
(http | nats), ``GSOMIA_NATS_SERVERS`` (comma-separated), ``GSOMIA_NATS_USER``,
``GSOMIA_NATS_PASSWORD``, ``GSOMIA_NATS_PASSWORD_FILE``, ``GSOMIA_NATS_CREDS``,
``GSOMIA_NATS_REPLICAS``, ``GSOMIA_NATS_TRACKS`` (true | false); and ``GSOMIA_API_HOST``, ``GSOMIA_API_PORT`` (each worker of a node
serves the API on a port of its own).  Secrets are read from files or the environment at start, and never
written back to ``node.toml`` nor shown in messages.  Errors: ``CONFIG_INVALID``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.errors import InputError
from gsomia.ports import Channel, ChannelError, Clock, Inbound, Store

if TYPE_CHECKING:
    from gsomia.runtime.config import NodeConfig
    from gsomia.streaming.sequenced import TrackStream

__all__ = [
    "TRANSPORTS",
    "NatsSettings",
    "OfflineChannel",
    "StoreSettings",
    "apply_environment",
    "open_channel",
    "open_store",
    "open_track_stream",
    "parse_nats",
    "parse_store",
    "postgres_target",
    "settler",
]

TRANSPORTS: Final = ("http", "nats")
_STORES: Final = ("sqlite", "postgres")


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _invalid(message: str, path: Path | str) -> InputError:
    return InputError(message, code="CONFIG_INVALID", detail={"path": str(path)})


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """``[store]``: SQLite in the data directory, or a PostgreSQL schema."""

    kind: str = "sqlite"
    dsn: str | None = None
    dsn_file: str | None = None
    schema: str | None = None

    def to_toml(self) -> list[str]:
        """Lines of ``node.toml`` (written back as read: a configuration is saved without its
        environment overrides applied)."""
        if self.kind == "sqlite":
            return []
        pairs = (("dsn", self.dsn), ("dsn_file", self.dsn_file), ("schema", self.schema))
        return ["", "[store]", f"kind = {_q(self.kind)}",
                *(f"{k} = {_q(v)}" for k, v in pairs if v)]  # fmt: skip


@dataclass(frozen=True, slots=True)
class NatsSettings:
    """``[nats]``: the servers and this node's credentials (ADR 0010)."""

    servers: tuple[str, ...] = ()
    user: str | None = None
    password: str | None = None
    password_file: str | None = None
    creds: str | None = None
    replicas: int = 1
    tracks: bool = True  # ADR 0013: track streams across the workers on JetStream

    def to_toml(self) -> list[str]:
        """Lines of ``node.toml`` (a password only by its file)."""
        if not self.servers:
            return []
        servers = ", ".join(_q(s) for s in self.servers)
        lines = ["", "[nats]", f"servers = [{servers}]", f"replicas = {self.replicas}"]
        lines += [] if self.tracks else ["tracks = false"]
        lines += [f"{k} = {_q(v)}" for k, v in (("user", self.user),
                  ("password_file", self.password_file), ("creds", self.creds)) if v]  # fmt: skip
        return lines


def _text(raw: Mapping[str, Any], key: str, where: str, path: Path | str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value or "\n" in value:
        raise _invalid(f"[{where}] {key} must be non-empty text on one line", path)
    return value


def parse_store(raw: Any, path: Path | str) -> StoreSettings:
    """The ``[store]`` table."""
    if not isinstance(raw, dict) or set(raw) - {"kind", "dsn", "dsn_file", "schema"}:
        raise _invalid("[store] takes kind, dsn, dsn_file and schema only", path)
    kind = raw.get("kind", "sqlite")
    if kind not in _STORES:
        raise _invalid(f"[store] kind is one of {list(_STORES)}, not {kind!r}", path)
    settings = StoreSettings(
        kind, _text(raw, "dsn", "store", path), _text(raw, "dsn_file", "store", path),
        _text(raw, "schema", "store", path),
    )  # fmt: skip
    if kind == "sqlite" and (settings.dsn or settings.dsn_file or settings.schema):
        raise _invalid("[store] dsn, dsn_file and schema are for kind = 'postgres'", path)
    return settings


def parse_nats(raw: Any, path: Path | str) -> NatsSettings:
    """The ``[nats]`` table."""
    keys = {"servers", "user", "password_file", "creds", "replicas", "tracks"}
    if not isinstance(raw, dict) or set(raw) - keys:
        raise _invalid(f"[nats] takes {sorted(keys)} only (a password only by its file)", path)
    servers = raw.get("servers", [])
    if isinstance(servers, str):
        servers = [servers]
    if not isinstance(servers, list) or not all(
        isinstance(s, str) and s.startswith(("nats://", "tls://")) for s in servers
    ):
        raise _invalid("[nats] servers is a list of nats://host:port", path)
    replicas = raw.get("replicas", 1)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or not 1 <= replicas <= 5:
        raise _invalid("[nats] replicas is 1 to 5", path)
    tracks = raw.get("tracks", True)
    if not isinstance(tracks, bool):
        raise _invalid("[nats] tracks is true or false", path)
    return NatsSettings(
        tuple(servers), _text(raw, "user", "nats", path), None,
        _text(raw, "password_file", "nats", path), _text(raw, "creds", "nats", path), replicas,
        tracks,
    )  # fmt: skip


def apply_environment(config: NodeConfig, environ: Mapping[str, str]) -> NodeConfig:
    """``config`` with the ``GSOMIA_*`` overrides of ``environ`` applied (checked)."""
    where = "environment"
    store, nats, transport = config.store, config.nats, config.transport
    if "GSOMIA_STORE" in environ:
        store = replace(store, kind=environ["GSOMIA_STORE"])
    if "GSOMIA_POSTGRES_DSN" in environ:
        store = replace(store, dsn=environ["GSOMIA_POSTGRES_DSN"], dsn_file=None)
    if "GSOMIA_POSTGRES_SCHEMA" in environ:
        store = replace(store, schema=environ["GSOMIA_POSTGRES_SCHEMA"])
    if store.kind not in _STORES:
        raise _invalid(f"GSOMIA_STORE is one of {list(_STORES)}", where)
    if "GSOMIA_CHANNEL" in environ:
        transport = environ["GSOMIA_CHANNEL"]
    if transport not in TRANSPORTS:
        raise _invalid(f"GSOMIA_CHANNEL is one of {list(TRANSPORTS)}", where)
    if "GSOMIA_NATS_SERVERS" in environ:
        servers = [s.strip() for s in environ["GSOMIA_NATS_SERVERS"].split(",") if s.strip()]
        nats = replace(nats, servers=tuple(parse_nats({"servers": servers}, where).servers))

    def env(name: str, default: str | None) -> str | None:
        return environ.get(f"GSOMIA_NATS_{name}", default) or None

    nats = replace(
        nats,
        user=env("USER", nats.user),
        password=env("PASSWORD", nats.password),
        password_file=env("PASSWORD_FILE", nats.password_file),
        creds=env("CREDS", nats.creds),
    )
    if "GSOMIA_NATS_REPLICAS" in environ:
        value = environ["GSOMIA_NATS_REPLICAS"]
        replicas = int(value) if value.isdigit() else 0
        nats = replace(nats, replicas=parse_nats({"replicas": replicas}, where).replicas)
    if "GSOMIA_NATS_TRACKS" in environ:
        flag = environ["GSOMIA_NATS_TRACKS"].strip().lower()
        if flag not in ("true", "false", "1", "0"):
            raise _invalid("GSOMIA_NATS_TRACKS is true or false", where)
        nats = replace(nats, tracks=flag in ("true", "1"))
    api = config.api
    if "GSOMIA_API_HOST" in environ or "GSOMIA_API_PORT" in environ:  # one per worker
        port = environ.get("GSOMIA_API_PORT", str(api[1]))
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise _invalid("GSOMIA_API_PORT is 0-65535", where)
        api = (environ.get("GSOMIA_API_HOST", api[0]) or api[0], int(port))
    return replace(config, store=store, nats=nats, transport=transport, api=api)


def _secret_file(name: str, what: str) -> str:
    try:
        value = Path(name).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise _invalid(f"cannot read the {what} file {name}: {exc.strerror or exc}", name) from None
    except UnicodeDecodeError:
        raise _invalid(f"the {what} file {name} is not UTF-8 text", name) from None
    if not value:
        raise _invalid(f"the {what} file {name} is empty", name)
    return value


def postgres_target(settings: StoreSettings, party: str, where: Path | str) -> tuple[str, str]:
    """``(dsn, schema)`` of a ``kind = "postgres"`` store: the DSN (from ``dsn_file`` if so
    given) and the schema (default ``gsomia_<party>``)."""
    dsn = settings.dsn or (settings.dsn_file and _secret_file(settings.dsn_file, "DSN"))
    if not dsn:
        raise _invalid(
            "[store] kind = 'postgres' needs dsn, dsn_file or GSOMIA_POSTGRES_DSN", where
        )
    return dsn, settings.schema or f"gsomia_{party.lower()}"


def open_store(config: NodeConfig, data: Path) -> Store:
    """The node's store, as configured: ``DATA/node.sqlite`` or a PostgreSQL schema."""
    settings = config.store
    if settings.kind == "sqlite":
        from gsomia.adapters.sqlite_store import SqliteStore  # noqa: PLC0415

        return SqliteStore.in_data_dir(data)
    dsn = settings.dsn or (settings.dsn_file and _secret_file(settings.dsn_file, "DSN"))
    if not dsn:
        raise _invalid("[store] kind = 'postgres' needs dsn, dsn_file or GSOMIA_POSTGRES_DSN", data)
    from gsomia.adapters.postgres_store import PostgresStore  # noqa: PLC0415  (extra: postgres)

    if settings.schema:
        return PostgresStore(dsn, schema=settings.schema)
    return PostgresStore.for_node(dsn, config.party)


class OfflineChannel:
    """A channel that talks to no partner: for a node being set up (``node init``), and for an
    API worker process, whose serving process delivers and receives (ADR 0021).

    Sending raises :class:`~gsomia.ports.ChannelError` (saying ``why``), as for a partner that
    is down, so what a use case would send at once stays queued in the outbox; receiving gives
    nothing.
    """

    def __init__(self, party: str, why: str) -> None:
        self._party = party
        self._why = why

    @property
    def party(self) -> str:
        """This node's party."""
        return self._party

    def send(self, party: str, payload: bytes, *, idempotency_key: str) -> None:
        """Refuse, saying why."""
        raise ChannelError(self._why)

    def receive(self, *, limit: int = 100, timeout: float = 0.0) -> list[Inbound]:
        """Nothing."""
        return []

    def refusals(self) -> list[tuple[str, int]]:
        """Nothing."""
        return []

    def close(self) -> None:
        """Nothing to close."""


def open_channel(config: NodeConfig, keys: NodeKeys, trust: TrustStore, clock: Clock) -> Channel:
    """The node's channel, as configured: HTTP (ADR 0005) or NATS JetStream (ADR 0010)."""
    if config.transport == "http":
        from gsomia.adapters.http_channel import HttpChannel  # noqa: PLC0415

        return HttpChannel(
            config.party, keys, trust, clock=clock, bind=config.channel, peers=config.peers
        )
    nats = config.nats
    if not nats.servers:
        raise _invalid("transport = 'nats' needs [nats] servers or GSOMIA_NATS_SERVERS", "nats")
    from gsomia.adapters.nats_channel import NatsChannel  # noqa: PLC0415  (extra: nats)

    return NatsChannel(
        config.party, keys, trust, clock=clock, servers=list(nats.servers), user=nats.user,
        password=_nats_password(nats), creds=nats.creds, replicas=nats.replicas,
    )  # fmt: skip


def _nats_password(nats: NatsSettings) -> str | None:
    if nats.password:
        return nats.password
    return _secret_file(nats.password_file, "NATS password") if nats.password_file else None


def open_track_stream(config: NodeConfig) -> TrackStream | None:
    """The node's track sequencer (ADR 0013): JetStream when the channel is NATS and
    ``[nats] tracks`` is not false, else None (one process, one hub)."""
    nats = config.nats
    if config.transport != "nats" or not nats.tracks or not nats.servers:
        return None
    from gsomia.adapters.nats_tracks import NatsTrackStream  # noqa: PLC0415  (extra: nats)

    return NatsTrackStream(
        config.party, servers=list(nats.servers), user=nats.user,
        password=_nats_password(nats), creds=nats.creds, replicas=nats.replicas,
    )  # fmt: skip


def settler(channel: Channel) -> Callable[[bool], None]:
    """What the host calls after each ``Node.receive``: True once its units of work committed,
    False if it failed.  The NATS channel acknowledges to the broker then (ADR 0010 §5); a
    channel with nothing to acknowledge gets a no-op."""
    settle = getattr(channel, "settle", None)
    if callable(settle):
        return settle  # type: ignore[no-any-return]
    return lambda committed: None
