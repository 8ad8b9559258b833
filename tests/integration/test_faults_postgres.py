"""PostgreSQL restarted under a node mid-stream, and a failed sequencer batch (issue 7 §2; ADR 0008,
"Faults").

KOR (SQLite) releases a stream of items to JPN, which runs ``gsomia node serve --config`` on
PostgreSQL and NATS JetStream (the scale-out setup).  A third of the way through, JPN's private
PostgreSQL is stopped (a fast shutdown; an immediate one, a crash as the server's clients see
it) and started again a few seconds later on the same directory and socket.  The JPN process
must not die: while the database is down its API answers 503 ``STORE_UNAVAILABLE`` (never 500),
the units of work that failed are given back to JetStream and redelivered, and its store object
connects again.  Afterwards every item KOR committed is accepted exactly once, every delivery is
receipted, both audit logs verify in full, and every checkpoint of JPN's log that KOR holds from
JPN's signed receipts is a checkpoint of JPN's log as it stands (no gap, no fork).

The sequencer test makes one batch's ``COMMIT`` fail in the server (a deferred constraint
trigger that raises once) and checks that the batch leaves nothing: not in the log, its items
not accepted, and they are accepted when they come again.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from gsomia.adapters.postgres_store import PostgresStore
from gsomia.adapters.postgres_store.connection import Connector
from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.errors import StoreError
from gsomia.ports import DeliveryState, Store
from gsomia.runtime.client import ApiError
from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.scenario import OFFICIALS
from gsomia.testing import InMemoryStore
from tests.integration.test_nats_serve import ConfigCluster, _stream, serve_file
from tests.integration.test_nats_workers import postgres_node
from tests.private_nats import PrivateNats
from tests.private_postgres import PrivatePostgres
from tests.unit.node.cluster import Cluster, build, release_to_japan

pytestmark = pytest.mark.integration

STREAM = 120
OUTAGE = 3.0  # seconds the database (or the channel) stays down


@pytest.fixture
def own_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of this test's own: it is stopped and started, which the session's is not."""
    server = PrivatePostgres.start()
    yield server
    server.stop()


@pytest.fixture
def nats() -> Iterator[PrivateNats]:
    deployment = PrivateNats.start()
    yield deployment
    deployment.stop()


# ------------------------------------------------------------------------------------ checks


@dataclass(frozen=True)
class LogView:
    """A node's audit log after the run: its records, a full verification, its roots."""

    records: tuple[AuditRecord, ...]
    verified: bool
    roots: dict[int, str]


def read_log(store: Store, verified: bool, sizes: Sequence[int] = ()) -> LogView:
    """``store``'s records and the roots at ``sizes`` (hex)."""
    with store.read() as reader:
        records = tuple(reader.audit_entry(i) for i in range(reader.audit_size()))
        roots = {n: reader.audit_root(n).hex() for n in sizes if 0 < n <= len(records)}
    return LogView(records, verified, roots)


def quoted_sizes(records: Sequence[AuditRecord]) -> list[int]:
    """The sizes of the partner's checkpoints quoted by the verified receipts in ``records``."""
    return sorted({number(r.detail["log_size"]) for r in records if _quotes(r)})


def number(value: object) -> int:
    """An integer of an audit record's detail."""
    assert isinstance(value, int)
    return value


def _quotes(record: AuditRecord) -> bool:
    return record.kind is AuditKind.RECEIPT and record.decision == "received"


def assert_exactly_once(sender: LogView, recipient: LogView, at_least: int) -> None:
    """Every item the sender released is accepted once by the recipient, nothing else is; every
    delivery is receipted; both logs verify; and every checkpoint of the recipient's log quoted
    by its receipts is a checkpoint of its log as it stands, at the index of that acceptance."""
    released = {
        r.subject for r in sender.records if r.kind is AuditKind.RELEASE and r.decision == "allow"
    }
    accepted = Counter(r.subject for r in recipient.records if r.kind is AuditKind.ACCEPT)
    assert len(released) >= at_least
    assert {item: accepted[item] for item in released} == dict.fromkeys(released, 1)
    assert set(accepted) == released
    assert {r.subject for r in sender.records if _quotes(r)} == released
    assert sender.verified
    assert recipient.verified
    quotes = [r.detail for r in sender.records if _quotes(r)]
    assert len(quotes) == len(released)
    for quote in quotes:
        index, size = number(quote["log_index"]), number(quote["log_size"])
        assert index < size <= len(recipient.records)
        assert recipient.roots[size] == quote["log_root"], f"fork at size {size}"
        entry = recipient.records[index]
        assert entry.kind is AuditKind.ACCEPT


def postgres_view(dsn: str, schema: str, sizes: Sequence[int]) -> LogView:
    """JPN's log in PostgreSQL, read and verified by a store of the test's own."""
    store = PostgresStore(dsn, schema=schema)
    try:
        return read_log(store, store.verify_audit().ok, sizes)
    finally:
        store.close()


def sqlite_view(cluster: LocalCluster, party: str) -> LogView:
    tally = cluster.tally(party)
    return LogView(tally.records, tally.audit_ok, {})


# -------------------------------------------------------------------------- the restart test


def watch_outage(cluster: LocalCluster, party: str, until: float) -> Counter[tuple[int, str]]:
    """Call ``party``'s API until ``until`` (monotonic); ``(status, code)`` of each answer."""
    client = cluster.nodes[party].client()
    seen: Counter[tuple[int, str]] = Counter()
    while time.monotonic() < until:
        try:
            client.json("GET", "/v1/outbox", params={"limit": 1})
            seen[(200, "")] += 1
        except ApiError as err:
            seen[(err.http_status, err.code)] += 1
        time.sleep(0.1)
    return seen


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgresql_restarted_mid_stream_loses_nothing(
    tmp_path: Path, nats: PrivateNats, own_postgres: PrivatePostgres, mode: str
) -> None:
    dsn = own_postgres.new_database("restart")
    cluster = ConfigCluster(tmp_path / "nodes", ("KOR", "JPN"))
    cluster.create(datetime.now(UTC) - timedelta(days=1))
    for party, node in cluster.nodes.items():
        serve_file(node.data, nats, party)
    passphrase = cluster.passphrase_file.read_bytes().strip()
    jpn = cluster.nodes["JPN"]
    jpn.tokens["officer"] = postgres_node(jpn.data, dsn, passphrase)
    cluster.start()
    try:
        cluster.enrol({p: OFFICIALS[p] for p in ("KOR", "JPN")})
        progress = [0]
        sender = threading.Thread(target=_stream, args=(cluster, STREAM, progress))
        sender.start()
        while progress[0] < STREAM // 3 and sender.is_alive():
            time.sleep(0.01)
        own_postgres.halt(mode)
        answers = watch_outage(cluster, "JPN", time.monotonic() + OUTAGE)
        own_postgres.resume()
        sender.join(timeout=120)
        assert not sender.is_alive()
        assert cluster.wait_settled("KOR", timeout=60)
        assert jpn.process is not None
        assert jpn.process.poll() is None  # the node lived through it
        client = jpn.client()
        assert client.json("GET", "/v1/outbox", params={"limit": 1})["items"] is not None
    finally:
        cluster.stop()
    assert answers[(503, "STORE_UNAVAILABLE")] > 0, answers
    assert set(answers) <= {(200, ""), (503, "STORE_UNAVAILABLE")}, answers  # never a 500
    log = (jpn.data / "node.log").read_text(encoding="utf-8")
    assert "STORE_UNAVAILABLE" in log  # the pumps met the outage, and carried on
    kor = sqlite_view(cluster, "KOR")
    jpn_log = postgres_view(dsn, "gsomia_jpn", quoted_sizes(kor.records))
    assert_exactly_once(kor, jpn_log, at_least=STREAM // 2)


# ------------------------------------------------------------------- reconnection, backoff


def test_reconnection_attempts_back_off_while_the_server_is_down(
    own_postgres: PrivatePostgres,
) -> None:
    """After ``n`` failed attempts the connector refuses at once (no network) until
    ``min(cap, first * 2**(n-1))`` has passed, then tries again; success resets it."""
    now = [100.0]
    connector = Connector(own_postgres.dsn, "backoff", "the test server", timeout=2.0,
                          first=0.5, cap=2.0, clock=lambda: now[0])  # fmt: skip
    connector.connect().close()
    own_postgres.halt("fast")
    try:
        waits = []
        for expected in (1, 2, 3, 4):
            with pytest.raises(StoreError) as err:
                connector.connect()  # a real attempt, refused by the stopped server
            assert err.value.code == "STORE_UNAVAILABLE"
            assert connector.failures == expected
            with pytest.raises(StoreError) as err:
                connector.connect()  # inside the backoff: refused without an attempt
            assert "reconnecting in" in err.value.message
            assert connector.failures == expected
            waits.append(connector.delay(expected))
            now[0] += connector.delay(expected)
        assert waits == [0.5, 1.0, 2.0, 2.0]
    finally:
        own_postgres.resume()
    connector.connect().close()
    assert (connector.failures, connector.connections) == (0, 2)


# ------------------------------------------------------------- a batch whose commit fails


def fail_commits(dsn: str, schema: str, count: int) -> None:
    """Make the next ``count`` ``COMMIT``\\s that append to ``schema``'s audit log fail in the
    server: a deferred constraint trigger (checked at ``COMMIT``) raises while a sequence, which
    a rollback does not undo, has counted up to ``count``."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SEQUENCE {schema}.fault_count")
        conn.execute(
            f"CREATE FUNCTION {schema}.fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF nextval('{schema}.fault_count') <= {int(count)} THEN "
            "RAISE EXCEPTION 'injected commit failure'; END IF; RETURN NULL; END $$"
        )
        conn.execute(
            f"CREATE CONSTRAINT TRIGGER fail_commit AFTER INSERT ON {schema}.audit_entries "
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {schema}.fail_commit()"
        )


def commits_failed(dsn: str, schema: str) -> int:
    """How many times the trigger of :func:`fail_commits` fired."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(f"SELECT last_value, is_called FROM {schema}.fault_count").fetchone()
    assert row is not None
    return int(row[0]) if row[1] else 0


@dataclass
class Exchange:
    """KOR (in memory) → JPN (PostgreSQL), five items sent, JPN's log before they arrive."""

    cluster: Cluster
    store: PostgresStore
    dsn: str
    items: list[str]
    before: int
    root: bytes

    def jpn_log(self) -> list[AuditRecord]:
        with self.store.read() as reader:
            return [reader.audit_entry(i) for i in range(reader.audit_size())]

    def assert_nothing_accepted(self) -> None:
        with self.store.read() as reader:
            assert (reader.audit_size(), reader.audit_root()) == (self.before, self.root)
            assert all(reader.item(i) is None for i in self.items)
        assert self.store.verify_audit().ok

    def assert_accepted_once_without_gap_or_fork(self) -> None:
        records = self.jpn_log()
        accepted = [(n, r.subject) for n, r in enumerate(records) if r.kind is AuditKind.ACCEPT]
        assert Counter(s for _, s in accepted) == dict.fromkeys(self.items, 1)
        assert accepted[0][0] == self.before  # appended where the failed batch would have been
        assert self.store.verify_audit().ok
        quoted = [r.detail for r in self.cluster.audit("KOR") if _quotes(r)]
        assert len(quoted) == len(self.items)
        with self.store.read() as reader:
            assert all(reader.item(i) is not None for i in self.items)
            for quote in quoted:  # what JPN signed on its receipts is its log now: no fork
                assert reader.audit_root(number(quote["log_size"])).hex() == quote["log_root"]


@pytest.fixture
def exchange(postgres: PrivatePostgres) -> Iterator[Exchange]:
    dsn = postgres.new_database("sequencer")
    store = PostgresStore(dsn, schema="gsomia_jpn")
    cluster = build(lambda party: store if party == "JPN" else InMemoryStore())
    try:
        items = [release_to_japan(cluster).item_id for _ in range(5)]
        with store.read() as reader:
            before, root = reader.audit_size(), reader.audit_root()
        yield Exchange(cluster, store, dsn, items, before, root)
    finally:
        store.close()


def test_a_batch_whose_commit_fails_is_not_in_the_log_and_its_items_come_again(
    exchange: Exchange,
) -> None:
    """ADR 0008, "Faults": the sequencer's batch (one unit of work for the run of five inbound
    items) fails at ``COMMIT``: none of its entries is in the log, and the store's tree is cut
    back; the node then takes the items one unit each (:func:`gsomia.node.inbound._flush`),
    which commit, appended where the batch would have been: each accepted once, no gap."""
    fail_commits(exchange.dsn, "gsomia_jpn", 1)
    assert exchange.cluster.nodes["KOR"].deliver_due() == len(exchange.items)
    summary = exchange.cluster.nodes["JPN"].receive()
    assert summary.messages == len(exchange.items)
    assert commits_failed(exchange.dsn, "gsomia_jpn") >= 2  # the batch failed, then one passed
    exchange.cluster.pump(rounds=2)  # the receipts go back
    exchange.assert_accepted_once_without_gap_or_fork()


def test_units_that_keep_failing_accept_nothing_and_the_sender_sends_again(
    exchange: Exchange,
) -> None:
    """Every commit fails for a while (the batch and each item alone): the log and the items
    are as before, the sender's outbox has no receipt and retries after its backoff; once
    commits succeed again, each item is accepted once, with no gap and no fork."""
    fail_commits(exchange.dsn, "gsomia_jpn", 1_000_000)
    kor, jpn = exchange.cluster.nodes["KOR"], exchange.cluster.nodes["JPN"]
    assert kor.deliver_due() == len(exchange.items)
    with pytest.raises(StoreError):  # the batch, then the first item alone: the round fails
        jpn.receive()
    assert commits_failed(exchange.dsn, "gsomia_jpn") >= 2
    exchange.assert_nothing_accepted()
    with exchange.cluster.stores["KOR"].read() as reader:
        pending = [reader.outbox_entry(f"{i}:JPN") for i in exchange.items]
    assert all(e is not None and e.state is DeliveryState.PENDING for e in pending)
    with psycopg.connect(exchange.dsn, autocommit=True) as conn:
        conn.execute("DROP TRIGGER fail_commit ON gsomia_jpn.audit_entries")
    exchange.cluster.pump(rounds=6, step=timedelta(seconds=2))  # the outbox retries
    exchange.assert_accepted_once_without_gap_or_fork()
    with exchange.cluster.stores["KOR"].read() as reader:
        attempts = [reader.outbox_entry(f"{i}:JPN") for i in exchange.items]
    assert all(e is not None and e.attempts > 1 for e in attempts)
