"""Model-based test: InMemoryStore and each durable store agree on random operation sequences.

Each step runs the same batch of operations, in one unit of work, against InMemoryStore and the
store under test, SQLite or PostgreSQL (sometimes ending in an exception, which must roll the
whole batch back), compares every result and error code, then compares everything both stores
hold.  The store under test is sometimes closed and reopened in between, which must change
nothing.  Both run the same number of examples (30 of up to 12 steps each).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from gsomia.adapters.postgres_store import PostgresStore
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.errors import GsomiaError
from gsomia.ports import (
    InboxEntry,
    InboxOutcome,
    ItemState,
    ReceiptDirection,
    Store,
    UnitOfWork,
    token_hash,
)
from gsomia.testing import InMemoryStore
from tests.contract.conftest import T0, audit, consent, item, message, official, receipt
from tests.contract.dump import dump
from tests.private_postgres import PrivatePostgres

ITEMS = ["item-1", "item-2", "item-3"]
KEYS = ["item-1/JPN", "item-2/JPN", "item-1/USA"]
OFFICIALS = ["kor-ro-1", "kor-rd-1"]
TOKENS = ["token-a", "token-b", "token-c"]
CONSENTS = ["consent-1", "consent-2"]

times = st.integers(0, 90).map(lambda s: T0 + timedelta(seconds=s))
items = st.sampled_from(ITEMS)
keys = st.sampled_from(KEYS)
parties = st.sampled_from(["KOR", "USA"])

operations = st.one_of(
    st.tuples(st.just("put_item"), items, st.sampled_from([None, *ITEMS]), parties),
    st.tuples(st.just("set_state"), items, st.sampled_from(list(ItemState)), times),
    st.tuples(st.just("relabel"), items, parties),
    st.tuples(st.just("enqueue"), keys, times),
    st.tuples(st.just("attempt"), keys, times, times, st.sampled_from([None, "timeout"])),
    st.tuples(st.just("acknowledge"), keys, times),
    st.tuples(st.just("cancel"), keys, times),
    st.tuples(st.just("inbound"), items, st.sampled_from([b"a", b"b"]), st.booleans()),
    st.tuples(
        st.just("receipt"),
        items,
        st.sampled_from(["JPN", "USA"]),
        st.sampled_from(list(ReceiptDirection)),
        st.sampled_from([b"r1", b"r2"]),
    ),
    st.tuples(st.just("official"), st.sampled_from(OFFICIALS), st.booleans(), st.booleans()),
    st.tuples(
        st.just("add_token"), st.sampled_from([*OFFICIALS, "nobody"]), st.sampled_from(TOKENS)
    ),
    st.tuples(st.just("revoke_token"), st.sampled_from(TOKENS), times),
    st.tuples(
        st.just("consent"), st.sampled_from(CONSENTS), items, st.sampled_from([b"t1", b"t2"])
    ),
    st.tuples(st.just("revoke_consent"), st.sampled_from(CONSENTS), times),
    st.tuples(st.just("audit"), st.integers(0, 5)),
)


def run(uow: UnitOfWork, op: tuple[Any, ...]) -> Any:
    name, *args = op
    at: datetime
    if name == "put_item":
        item_id, derived, originator = args
        return uow.put_item(item(item_id, originator=originator, derived_from=derived))
    if name == "set_state":
        item_id, state, at = args
        return uow.set_item_state(item_id, state, at=at)
    if name == "relabel":
        return uow.relabel(args[0], item(originator=args[1]).labels)
    if name == "enqueue":
        key, at = args
        subject, recipient = key.split("/")
        return uow.enqueue(message(key, recipient=recipient, subject=subject, created=at))
    if name == "attempt":
        key, at, nxt, error = args
        return uow.record_attempt(key, at=at, next_attempt=nxt, error=error)
    if name in ("acknowledge", "cancel"):
        key, at = args
        return getattr(uow, name)(key, at=at)
    if name == "inbound":
        item_id, payload, accepted = args
        outcome = InboxOutcome.ACCEPTED if accepted else InboxOutcome.REJECTED
        digest = hashlib.sha256(payload).digest()
        return uow.record_inbound(InboxEntry(item_id, "JPN", digest, T0, outcome, ("NO_DUTY",)))
    if name == "receipt":
        return uow.record_receipt(receipt(*args))
    if name == "official":
        official_id, active, cleared = args
        record = official(official_id, active=active, clearance="군사II급비밀" if cleared else None)
        return uow.put_official(record)
    if name == "add_token":
        return uow.add_token(args[0], token_hash(args[1]), created=T0)
    if name == "revoke_token":
        return uow.revoke_token(token_hash(args[0]), at=args[1])
    if name == "consent":
        consent_id, item_id, token = args
        return uow.put_consent(replace(consent(consent_id, item_id), token=token))
    if name == "revoke_consent":
        return uow.revoke_consent(args[0], at=args[1], revocation=b"revoked")
    assert name == "audit"
    return uow.append_audit(audit(n=args[0]))


class Abort(Exception):
    """Raised at the end of a batch that must roll back."""


def outcome(store: Store, batch: list[tuple[Any, ...]], fail: bool) -> list[Any]:
    results: list[Any] = []
    try:
        with store.unit_of_work() as uow:
            for op in batch:
                try:
                    results.append(("ok", run(uow, op)))
                except GsomiaError as exc:
                    results.append(("error", type(exc).__name__, exc.code))
            if fail:
                raise Abort
    except Abort:
        results.append("rolled back")
    return results


class StoreMachine(RuleBasedStateMachine):
    """InMemoryStore against ``self.other``, a store that :meth:`open` opens again and again."""

    def __init__(self) -> None:
        super().__init__()
        self.memory = InMemoryStore()
        self.other = self.open(first=True)

    def open(self, *, first: bool) -> Store:
        raise NotImplementedError

    def discard(self) -> None:
        """Remove what the first :meth:`open` made."""

    @rule(batch=st.lists(operations, min_size=1, max_size=4), fail=st.booleans())
    def unit_of_work(self, batch: list[tuple[Any, ...]], fail: bool) -> None:
        assert outcome(self.memory, batch, fail) == outcome(self.other, batch, fail)

    @rule()
    def reopen(self) -> None:
        self.other.close()
        self.other = self.open(first=False)

    @invariant()
    def both_hold_the_same(self) -> None:
        def everything(store: Store) -> dict[str, Any]:
            return dump(store, item_ids=ITEMS, tokens=TOKENS, consent_ids=CONSENTS)

        assert everything(self.memory) == everything(self.other)

    def teardown(self) -> None:
        self.other.close()
        self.discard()


class SqliteMachine(StoreMachine):
    def open(self, *, first: bool) -> Store:
        if first:
            self.directory = tempfile.mkdtemp(prefix="gsomia-store-machine-")
        return SqliteStore.in_data_dir(self.directory)

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresMachine(StoreMachine):
    server: PrivatePostgres  # the session's server, set by the test below

    def open(self, *, first: bool) -> Store:
        if first:
            self.schema = self.server.new_schema("machine")
        return PostgresStore(self.server.dsn, schema=self.schema)


MACHINE_SETTINGS = settings(max_examples=30, stateful_step_count=12, deadline=None)
SqliteMachine.TestCase.settings = MACHINE_SETTINGS
test_memory_and_sqlite_stores_agree = SqliteMachine.TestCase


def test_memory_and_postgres_stores_agree(postgres: PrivatePostgres) -> None:
    PostgresMachine.server = postgres
    run_state_machine_as_test(PostgresMachine, settings=MACHINE_SETTINGS)
