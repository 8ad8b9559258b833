"""Inbox and ledger queries on a store of 1,000,000 items, SQLite and PostgreSQL (issue 7 §3).

Fills a node store with ``--items`` held items (a quarter each of four topics, received from
KOR, JPN or USA), one outbox message per item (1 % still pending, the rest acknowledged) and one
signed receipt per item: the first ``--base`` items through the store's own unit of work, the
rest by copying those rows in SQL under new ids, doubling each round (PostgreSQL takes the
store's one-row-at-a-time path at about 1,000 items/s, which would make the fill the whole run);
then times, on the filled store, ``--queries`` random calls of each query the API and the
dashboard make:

- ``inbox_page``: 100 held items by id after a random id (``GET /v1/items``);
- ``inbox_state_page``: the same, of items in one state (``?state=held``);
- ``item``: one item by id (``GET /v1/items/{id}``);
- ``ledger_page``: 100 outbox messages after a random sequence number (``GET /v1/outbox``);
- ``ledger_pending``: pending messages after a random sequence number (``?state=pending``);
- ``ledger_subject``: the messages of one item; ``receipts``: the receipts of one item;
- ``due``: the delivery loop's query (pending messages due now, soonest first).

The PostgreSQL server is a private one (pgserver, as in the tests) in a temporary directory;
the SQLite store is a node file in a temporary data directory.  Sealed bytes are 1 KiB of random
data (queries never open them).  Target (issue 7): p99 ≤ 20 ms for each query on both stores.

Usage::

    .venv/bin/python bench/store_queries.py [--items 1000000] [--store sqlite|postgres|both]
        [--queries 1000] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from tests.conftest import make_label

from gsomia.adapters.postgres_store import PostgresStore
from gsomia.adapters.sqlite_store import STORE_FILE, SqliteStore
from gsomia.labels import LabelSet
from gsomia.ports import (
    DeliveryState,
    HeldItem,
    ItemState,
    OutboxMessage,
    ReceiptDirection,
    ReceiptRecord,
    Store,
)

TOPICS = ("NK-MISSILE", "NK-NUCLEAR", "MARITIME", "CYBER")
LEVELS = {"KOR": "군사II급비밀", "JPN": "極秘", "USA": "SECRET"}
BATCH = 5_000
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _item_id(i: int) -> str:
    return f"item-{i:08d}"


def fill(store: Store, n: int, progress: Callable[[int], None]) -> None:
    """``n`` items, each with one outbox message and one receipt (module docstring)."""
    labels = {
        (o, t): LabelSet(make_label(level=LEVELS[o], originator=o, topics=(t,)))
        for o in LEVELS
        for t in TOPICS
    }
    blob = os.urandom(1024)
    parties = tuple(LEVELS)
    for start in range(0, n, BATCH):
        with store.unit_of_work() as uow:
            for i in range(start, min(n, start + BATCH)):
                at = T0 + timedelta(seconds=i)
                origin, topic = parties[i % 3], TOPICS[i % 4]
                item_id = _item_id(i)
                uow.put_item(
                    HeldItem(item_id, labels[origin, topic], topic, blob, at, received_from=origin)
                )
                key = f"{item_id}:JPN"
                uow.enqueue(OutboxMessage(key, "JPN", "item", item_id, blob, at))
                if i % 100:
                    uow.acknowledge(key, at=at)
                uow.record_receipt(
                    ReceiptRecord(item_id, "JPN", ReceiptDirection.RECEIVED, blob[:200], at)
                )
        progress(min(n, start + BATCH))


_COPY = {  # one doubling round: rows of ids below the offset copied to ids offset higher
    "items": (
        "INSERT INTO items SELECT {new_id}, originator, labels, topic, sealed, received, "
        "agreement, table_version, received_from, derived_from, state, state_changed "
        "FROM items WHERE item_id < {below}"
    ),
    "outbox": (  # one message per item, enqueued in order: item i has seq i + 1
        "INSERT INTO outbox (seq, key, recipient, kind, subject, created, state, "
        "attempts, next_attempt, last_attempt, last_error, settled) SELECT seq + {offset}, "
        "{new_subject} || ':JPN', recipient, kind, {new_subject}, created, state, "
        "attempts, next_attempt, last_attempt, last_error, settled FROM outbox "
        "WHERE subject < {below} ORDER BY seq"
    ),
    "outbox_payloads": (
        "INSERT INTO outbox_payloads (seq, payload) SELECT seq + {offset}, payload "
        "FROM outbox_payloads WHERE seq <= {count} ORDER BY seq"
    ),
    "receipts": (
        "INSERT INTO receipts SELECT {new_id}, party, direction, token, at FROM receipts "
        "WHERE item_id < {below}"
    ),
}


def _copy_sql(kind: str, offset: int, count: int) -> list[str]:
    """Copy the rows of the first ``count`` items to ids ``offset`` higher."""

    def renumber(col: str) -> str:
        if kind == "sqlite":
            return f"'item-' || printf('%08d', CAST(substr({col}, 6) AS INTEGER) + {offset})"
        return f"'item-' || lpad((substr({col}, 6)::int + {offset})::text, 8, '0')"

    below = f"'{_item_id(count)}'"
    return [
        _COPY["items"].format(new_id=renumber("item_id"), below=below),
        _COPY["outbox"].format(offset=offset, new_subject=renumber("subject"), below=below),
        _COPY["outbox_payloads"].format(offset=offset, count=count),
        _COPY["receipts"].format(new_id=renumber("item_id"), below=below),
    ]


def replicate(kind: str, where: str, have: int, n: int, progress: Callable[[int], None]) -> None:
    """Double the ``have`` items (with their messages and receipts) until there are ``n``."""
    while have < n:
        step = min(have, n - have)
        statements = _copy_sql(kind, have, step)
        if kind == "sqlite":
            with contextlib.closing(sqlite3.connect(where)) as db, db:
                for sql in statements:
                    db.execute(sql)
        else:
            with psycopg.connect(where) as conn:
                conn.execute("SET search_path TO bench")
                for sql in statements:
                    conn.execute(sql)
                conn.execute("ANALYZE")
        have += step
        progress(have)


def _time(fn: Callable[[], object], count: int) -> dict[str, float]:
    samples = []
    for _ in range(count):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    q = statistics.quantiles(samples, n=100)
    return {"p50_ms": round(q[49], 3), "p99_ms": round(q[98], 3), "max_ms": round(max(samples), 3)}


def measure(store: Store, n: int, count: int) -> dict[str, Any]:
    rng = random.Random(7)
    now = T0 + timedelta(seconds=n + 3600)

    def rid() -> str:
        return _item_id(rng.randrange(n))

    queries: dict[str, Callable[[], object]] = {}

    def query(name: str, fn: Callable[[Any], object]) -> None:
        def run() -> object:
            with store.read() as reader:
                return fn(reader)

        queries[name] = run

    query("inbox_page", lambda r: r.items(after=rid(), limit=100))
    query("inbox_state_page", lambda r: r.items(state=ItemState.HELD, after=rid(), limit=100))
    query("item", lambda r: r.item(rid()))
    query("ledger_page", lambda r: r.outbox(after=rng.randrange(n), limit=100))
    query(
        "ledger_pending",
        lambda r: r.outbox(state=DeliveryState.PENDING, after=rng.randrange(n), limit=100),
    )
    query("ledger_subject", lambda r: r.outbox(subject=rid(), limit=100))
    query("receipts", lambda r: r.receipts(rid()))
    query("due", lambda r: r.due(now, limit=100))
    out = {name: _time(fn, count) for name, fn in queries.items()}
    out["worst_p99_ms"] = max(v["p99_ms"] for v in out.values())
    return out


@contextlib.contextmanager
def open_store(kind: str, tmp: Path) -> Iterator[tuple[Store, str]]:
    """A new node store of ``kind`` and where SQL reaches it (a file path or a DSN)."""
    if kind == "sqlite":
        store: Store = SqliteStore.in_data_dir(tmp / "sqlite")
        try:
            yield store, str(tmp / "sqlite" / STORE_FILE)
        finally:
            store.close()
        return
    from tests.private_postgres import PrivatePostgres  # noqa: PLC0415

    server = PrivatePostgres.start()
    try:
        store = PostgresStore(server.dsn, schema="bench")
        try:
            yield store, server.dsn
        finally:
            store.close()
    finally:
        server.stop()


def run(kind: str, n: int, base: int, count: int, quiet: bool) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="gsomia-storebench-") as tmp,
        open_store(kind, Path(tmp)) as (store, where),
    ):
        started = time.perf_counter()

        def progress(done: int) -> None:
            if not quiet:
                rate = done / (time.perf_counter() - started)
                print(f"\r{kind}: filled {done:,}/{n:,} ({rate:,.0f}/s)", end="", file=sys.stderr)

        fill(store, min(base, n), progress)
        replicate(kind, where, min(base, n), n, progress)
        filled = time.perf_counter() - started
        with store.read() as reader:
            assert len(reader.items(after=_item_id(n - 2), limit=10)) == 1, "fill incomplete"
        if not quiet:
            print(file=sys.stderr)
        result = measure(store, n, count)
    return {"items": n, "fill_s": round(filled, 1), "queries": result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--base", type=int, default=10_000, help="items filled through the store")
    parser.add_argument("--queries", type=int, default=1000, help="calls of each query")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgres") if args.store == "both" else (args.store,)
    result = {kind: run(kind, args.items, args.base, args.queries, args.json) for kind in kinds}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for kind, r in result.items():
            print(f"{kind}: {r['items']:,} items (filled in {r['fill_s']} s)")
            for name, fig in r["queries"].items():
                print(f"  {name:18} {fig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
