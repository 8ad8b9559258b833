"""Setting a node up: ``gsomia node init`` and ``gsomia node peer add`` (issue 4 §3).

:func:`init_node` creates a data directory (:mod:`gsomia.runtime.config`): the node's keys
(encrypted at rest, :mod:`gsomia.adapters.keystore_files`), the configuration with the ports it
will listen on (free loopback ports are chosen when none are given, and written down so they stay
the same across restarts), the store, and the first security officer of its directory, whose
API token is returned once and stored only as its SHA-256.  An existing node is never
overwritten (``NODE_EXISTS``), and a failed init leaves nothing behind.

The store is SQLite in the data directory by default, or, given ``store=StoreSettings(kind=
"postgres", …)`` (issue 7 §1; ADR 0008), a PostgreSQL schema (``gsomia_<party>`` unless named),
and ``node.toml`` then points at it.  The server is asked first what the schema holds
(:func:`gsomia.adapters.postgres_store.connection.probe_schema`): a wrong DSN or a server that
does not answer fails with ``STORE_UNAVAILABLE`` before anything is made; a schema holding a node
is ``NODE_EXISTS``, one holding other tables ``STORE_FOREIGN_FILE``.  If a later step fails, the
schema init created is dropped (or, in a schema that existed empty, what it made there).  A DSN
with a password is refused (``CONFIG_INVALID``): ``node.toml`` never holds a secret; use
``dsn_file``, ``~/.pgpass`` or ``PGPASSWORD``.

:func:`add_peer` trusts a partner's exported key bundle after the fingerprint read out of band
(``KEY_FINGERPRINT_MISMATCH`` otherwise, nothing changed) and records its channel address.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gsomia.adapters.keystore_files import init_keys, trust_add
from gsomia.catalog import builtin_registry
from gsomia.envelope import NodeKeys, PublicKeyBundle, TrustStore
from gsomia.errors import GsomiaError, InputError, StoreError
from gsomia.markings import validate_party
from gsomia.node import Node
from gsomia.policy import Official
from gsomia.ports import OfficialRecord, Role, Store
from gsomia.runtime.channels import OfflineChannel, StoreSettings, open_store, postgres_target
from gsomia.runtime.config import CONFIG_FILE, KEYS_DIR, NodeConfig, load_config, save_config

__all__ = ["InitResult", "add_peer", "free_port", "init_node"]


@dataclass(frozen=True, slots=True)
class InitResult:
    """What ``node init`` made: the configuration, the officer and its token (shown once)."""

    config: NodeConfig
    officer: OfficialRecord
    token: str
    fingerprint: str


_SETTING_UP = "the node is being set up and does not send"


class _At:
    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def default_officer(party: str) -> OfficialRecord:
    """The first security officer: cleared at the scheme's highest level, no duties to read."""
    scheme = builtin_registry().schemes[party]
    top = max(scheme.levels, key=lambda level: level.rank)
    return OfficialRecord(
        Official(f"{party.lower()}-security-officer", party, top.native, frozenset(), True),
        frozenset({Role.SECURITY_OFFICER}),
    )


def init_node(
    data: Path,
    party: str,
    passphrase: bytes,
    now: datetime,
    *,
    host: str = "127.0.0.1",
    api_port: int = 0,
    channel_port: int = 0,
    officer: OfficialRecord | None = None,
    log2_n: int | None = None,
    store: StoreSettings | None = None,
) -> InitResult:
    """Create a node's data directory (and its PostgreSQL schema, with ``store`` so saying);
    see the module docstring."""
    party = validate_party(party)
    data = Path(data)
    settings = store or StoreSettings()
    if (data / CONFIG_FILE).exists() or (data / KEYS_DIR).exists():
        raise InputError(f"{data} already holds a node", code="NODE_EXISTS")
    record = officer or default_officer(party)
    undo = _claim_schema(settings, party, data) if settings.kind == "postgres" else None
    created = not data.exists()
    try:
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        extra = {} if log2_n is None else {"log2_n": log2_n}
        keys = init_keys(party, data / KEYS_DIR, passphrase, now, **extra)
        config = NodeConfig(
            party,
            (host, api_port or free_port(host)),
            (host, channel_port or free_port(host)),
            store=settings,
        )
        save_config(data, config)
        token = _bootstrap(open_store(config, data), keys, record, now)
    except BaseException:
        _remove(data, created)
        if undo is not None:
            undo()
        raise
    return InitResult(config, record, token, keys.public_bundle().fingerprint)


def _claim_schema(settings: StoreSettings, party: str, data: Path) -> Callable[[], None]:
    """Check that the PostgreSQL schema may hold a new node (see the module docstring); what
    undoes the init there if it fails later."""
    from gsomia.adapters.postgres_store.connection import (  # noqa: PLC0415  (extra: postgres)
        describe,
        discard_schema,
        has_password,
        probe_schema,
    )

    dsn, schema = postgres_target(settings, party, data)
    where = describe(dsn, schema)  # validates the DSN and the schema name; never shows a secret
    if settings.dsn is not None and has_password(dsn):
        raise InputError(
            "the DSN holds a password, which node.toml must not: give it by dsn_file, "
            "~/.pgpass or PGPASSWORD",
            code="CONFIG_INVALID",
            detail={"store": where},
        )
    state = probe_schema(dsn, schema, where)
    if state == "node":
        raise InputError(
            f"{where} already holds a node", code="NODE_EXISTS", detail={"store": where}
        )
    if state == "foreign":
        raise StoreError(f"{where} holds tables that are not a gsomia node store",
                         code="STORE_FOREIGN_FILE", detail={"store": where})  # fmt: skip

    def undo() -> None:
        with contextlib.suppress(GsomiaError):  # the error being raised says more
            discard_schema(dsn, schema, where, existed=state == "empty")

    return undo


def _bootstrap(store: Store, keys: NodeKeys, record: OfficialRecord, now: datetime) -> str:
    try:
        node = Node(
            keys.party, builtin_registry(), store, OfflineChannel(keys.party, _SETTING_UP), keys,
            TrustStore(), _At(now),
        )  # fmt: skip
        return node.bootstrap(record)
    finally:
        store.close()


def _remove(data: Path, created: bool) -> None:
    """Undo a failed init: what it created, never what was there before."""
    if created:
        shutil.rmtree(data, ignore_errors=True)
        return
    for name in (CONFIG_FILE, "node.sqlite", "node.sqlite-wal", "node.sqlite-shm"):
        (data / name).unlink(missing_ok=True)
    shutil.rmtree(data / KEYS_DIR, ignore_errors=True)


def add_peer(data: Path, party: str, url: str, bundle: bytes, fingerprint: str) -> NodeConfig:
    """Trust ``party``'s key bundle (fingerprint checked) and send to it at ``url``."""
    data = Path(data)
    config = load_config(data).with_peer(party, url)  # checks party and URL before anything
    if party == config.party:
        raise InputError("a node is not its own peer", code="CONFIG_INVALID")
    if PublicKeyBundle.from_json(bundle).party != party:
        raise InputError(
            f"the key bundle is not {party}'s", code="KEY_INVALID", detail={"party": party}
        )
    trust_add(data / KEYS_DIR, bundle, fingerprint)
    save_config(data, config)
    return config
