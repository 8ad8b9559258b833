"""A node's configuration file, ``DATA/node.toml``, and the layout of its data directory.

``gsomia node init`` writes it; ``gsomia node serve`` and the client commands read it::

    # gsomia node configuration
    party = "KOR"

    [api]                      # the REST API for this node's officials (docs/api.md)
    host = "127.0.0.1"
    port = 8441

    [channel]                  # the government-to-government channel (ADR 0005)
    host = "127.0.0.1"
    port = 8541

    [peers]                    # partners' channel addresses; their keys are in keys/trust.json
    JPN = "http://127.0.0.1:8542"

    [cot]                      # CoT listeners and client certificates (gsomia.streaming.settings)

    [store]  [nats]            # scale-out: PostgreSQL, NATS JetStream (gsomia.runtime.channels)

Data directory (mode 0700)::

    node.toml       this file
    node.sqlite     the store: items sealed at rest, outbox, inbox, receipts, directory, audit log
    keys/           keys.json (private keys encrypted at rest), trust.json (partners' keys)
    run/node.json   written by a serving node once it listens: pid, API and channel addresses

A partner is authenticated by its key, never by the address given here (issue 4 §1).
Errors: ``CONFIG_MISSING`` (no node.toml), ``CONFIG_INVALID`` (a field is wrong; the message
names it).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from gsomia.adapters.http_channel import peer_address
from gsomia.errors import GsomiaError, InputError
from gsomia.markings import validate_party
from gsomia.runtime.channels import (
    NatsSettings,
    StoreSettings,
    apply_environment,
    parse_nats,
    parse_store,
)
from gsomia.streaming.link_settings import LinkSettings, parse_links
from gsomia.streaming.settings import CotSettings, parse_cot

__all__ = [
    "CONFIG_FILE",
    "KEYS_DIR",
    "RUN_FILE",
    "NodeConfig",
    "data_dir_of",
    "init_store",
    "load_config",
    "save_config",
]

CONFIG_FILE: Final = "node.toml"
KEYS_DIR: Final = "keys"
RUN_FILE: Final = "run/node.json"
_LOOPBACK: Final = "127.0.0.1"


def _invalid(message: str, path: Path) -> InputError:
    return InputError(message, code="CONFIG_INVALID", detail={"path": str(path)})


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Where a node listens and who its partners are."""

    party: str
    api: tuple[str, int] = (_LOOPBACK, 0)
    channel: tuple[str, int] = (_LOOPBACK, 0)
    peers: Mapping[str, str] = field(default_factory=dict)
    cot: CotSettings = field(default_factory=CotSettings)  # issue 5: CoT over TCP/TLS
    tracks: LinkSettings = field(default_factory=LinkSettings)  # issue 5: partner links
    store: StoreSettings = field(default_factory=StoreSettings)  # issue 7: sqlite | postgres
    transport: str = "http"  # issue 7: the channel, http (ADR 0005) | nats (ADR 0010)
    nats: NatsSettings = field(default_factory=NatsSettings)

    @property
    def api_url(self) -> str:
        """The base URL of this node's REST API."""
        return f"http://{self.api[0]}:{self.api[1]}"

    @property
    def channel_url(self) -> str:
        """The base URL partners send to."""
        return f"http://{self.channel[0]}:{self.channel[1]}"

    def with_peer(self, party: str, url: str) -> NodeConfig:
        """This configuration with ``party``'s channel at ``url`` (checked)."""
        peer_address(url)
        return replace(self, peers={**self.peers, validate_party(party): url})

    def to_toml(self) -> str:
        """The TOML text of this configuration."""
        lines = [
            "# gsomia node configuration (docs/operations.md)",
            f'party = "{self.party}"',
            "",
            "[api]",
            f'host = "{self.api[0]}"',
            f"port = {self.api[1]}",
            "",
            "[channel]",
            *([f'transport = "{self.transport}"'] if self.transport != "http" else []),
            f'host = "{self.channel[0]}"',
            f"port = {self.channel[1]}",
            "",
            "[peers]",
            *(f'{p} = "{u}"' for p, u in sorted(self.peers.items())),
            *self.cot.to_toml(),
            *self.tracks.to_toml(),
            *self.store.to_toml(),
            *self.nats.to_toml(),
        ]
        return "\n".join(lines) + "\n"


def _bind(raw: Any, what: str, path: Path) -> tuple[str, int]:
    if not isinstance(raw, dict) or set(raw) - {"host", "port"}:
        raise _invalid(f"[{what}] needs host and port only", path)
    host, port = raw.get("host", _LOOPBACK), raw.get("port", 0)
    if not isinstance(host, str) or not host or isinstance(port, bool) or not isinstance(port, int):
        raise _invalid(f"[{what}] host must be text and port an integer", path)
    if not 0 <= port <= 65535:
        raise _invalid(f"[{what}] port must be 0-65535", path)
    return host, port


def load_config(
    data: Path, *, file: Path | None = None, environ: Mapping[str, str] | None = None
) -> NodeConfig:
    """The configuration in ``data/node.toml`` (or in ``file``: ``node serve --config``), with
    the ``GSOMIA_*`` overrides of ``environ`` if given (:mod:`gsomia.runtime.channels`)."""
    path = Path(file) if file is not None else Path(data) / CONFIG_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{data} is not a node data directory (no {CONFIG_FILE}); run gsomia node init",
            code="CONFIG_MISSING",
            detail={"path": str(path)},
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _invalid(f"cannot read {path}: {exc}", path) from None
    known = {"party", "api", "channel", "peers", "cot", "data", "store", "nats", "tracks"}
    unknown = set(raw) - known
    if unknown:
        raise _invalid(f"unknown settings in {path}: {sorted(unknown)}", path)
    try:
        party = validate_party(raw.get("party"))
        peers = raw.get("peers", {})
        if not isinstance(peers, dict) or not all(isinstance(u, str) for u in peers.values()):
            raise _invalid("[peers] maps party codes to http://host:port", path)
        channel = dict(raw.get("channel", {})) if isinstance(raw.get("channel"), dict) else None
        transport = channel.pop("transport", "http") if channel is not None else "http"
        config = NodeConfig(
            party,
            _bind(raw.get("api", {}), "api", path),
            _bind(raw.get("channel", {}) if channel is None else channel, "channel", path),
            cot=parse_cot(raw.get("cot", {}), path),
            tracks=parse_links(raw.get("tracks", {}), path),
            store=parse_store(raw.get("store", {}), path),
            transport=transport,
            nats=parse_nats(raw.get("nats", {}), path),
        )
        if transport not in ("http", "nats"):
            raise _invalid(f"[channel] transport is http or nats, not {transport!r}", path)
        if environ is not None:
            config = apply_environment(config, environ)
        for peer, url in peers.items():
            config = config.with_peer(peer, url)
    except GsomiaError as exc:
        if exc.code == "CONFIG_INVALID":
            raise
        raise _invalid(f"{path}: {exc.message}", path) from None
    return config


def data_dir_of(file: Path) -> Path | None:
    """The ``data = "DIR"`` of a configuration file given to ``node serve --config``, if any."""
    try:
        raw = tomllib.loads(Path(file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _invalid(f"cannot read {file}: {exc}", Path(file)) from None
    data = raw.get("data")
    if data is not None and (not isinstance(data, str) or not data):
        raise _invalid("data must be the path of the node's data directory", Path(file))
    return None if data is None else Path(data)


def init_store(
    party: str,
    *,
    store: str | None = None,
    schema: str | None = None,
    file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> StoreSettings:
    """The store ``gsomia node init`` creates (issue 7 §1): the ``[store]`` table of ``file``
    (a ``node serve --config`` file) if given, then the ``GSOMIA_STORE``,
    ``GSOMIA_POSTGRES_DSN`` and ``GSOMIA_POSTGRES_SCHEMA`` of ``environ``, then ``--store``
    (``sqlite``, or a PostgreSQL DSN: ``postgresql://…`` or ``host=… dbname=…``) and
    ``--schema``.  Default: SQLite in the data directory.  ``CONFIG_INVALID`` if they conflict."""
    settings = StoreSettings()
    where = Path(file) if file is not None else Path("command line")
    if file is not None:
        try:
            raw = tomllib.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise _invalid(f"cannot read {file}: {exc}", where) from None
        settings = parse_store(raw.get("store", {}), where)
    if environ is not None:
        settings = apply_environment(NodeConfig(validate_party(party), store=settings),
                                     environ).store  # fmt: skip
    if store is not None:
        settings = (
            StoreSettings()
            if store == "sqlite"
            else StoreSettings("postgres", store, None, settings.schema)
        )
    if schema is not None:
        if settings.kind != "postgres":
            raise _invalid("--schema is for a PostgreSQL store (--store DSN)", where)
        settings = replace(settings, schema=schema)
    return settings


def save_config(data: Path, config: NodeConfig) -> Path:
    """Write ``data/node.toml`` atomically (mode 0600); its path."""
    path = Path(data) / CONFIG_FILE
    temporary = path.with_suffix(".toml.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(config.to_toml())
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    return path
