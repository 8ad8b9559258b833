"""The write turn of a store file's processes (ADR 0022, ``sqlite_store.writer_lock``).

Two handles on one file stand for a serving node and its API worker: a unit of work of one waits
for the other's to end (and starts within about a millisecond of it, not at the busy handler's
next 100 ms try), a turn held past the timeout is ``STORE_UNAVAILABLE`` with nothing written,
and a process killed while holding the turn frees it.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from gsomia.adapters.sqlite_store import STORE_FILE, SqliteStore
from gsomia.adapters.sqlite_store.writer_lock import LOCK_SUFFIX
from gsomia.errors import StoreError
from tests.contract.conftest import item

ROOT = Path(__file__).parents[2]


def test_a_second_handle_waits_for_the_turn_then_writes(tmp_path: Path) -> None:
    first, second = SqliteStore(tmp_path / STORE_FILE), SqliteStore(tmp_path / STORE_FILE)
    order: list[str] = []
    inside = threading.Event()

    def other() -> None:
        inside.wait()
        with second.unit_of_work() as uow:
            order.append("second")
            uow.put_item(item("item-2"))

    thread = threading.Thread(target=other)
    thread.start()
    with first.unit_of_work() as uow:
        uow.put_item(item("item-1"))
        inside.set()
        time.sleep(0.2)  # the other handle is asking for the turn meanwhile
        order.append("first")
    thread.join()
    assert order == ["first", "second"]
    with first.read() as reader:
        assert reader.item("item-1") is not None
        assert reader.item("item-2") is not None
    first.close()
    second.close()
    assert (tmp_path / (STORE_FILE + LOCK_SUFFIX)).stat().st_mode & 0o777 == 0o600


def _taken(path: Path) -> bool:
    """Whether the store file's write turn is held (by another open file)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _roll_back(store: SqliteStore, lock: Path, seen: list[bool]) -> None:
    with store.unit_of_work():
        seen.append(_taken(lock))
        raise RuntimeError("rolled back")


def test_the_turn_is_held_from_begin_to_commit_or_rollback(tmp_path: Path) -> None:
    lock = tmp_path / (STORE_FILE + LOCK_SUFFIX)
    with SqliteStore(tmp_path / STORE_FILE) as store:
        assert not _taken(lock)
        with store.unit_of_work() as uow:
            assert _taken(lock)
            uow.put_item(item("item-1"))
        assert not _taken(lock)
        seen: list[bool] = []
        with pytest.raises(RuntimeError):
            _roll_back(store, lock, seen)
        assert seen == [True]
        assert not _taken(lock)
        with store.read():
            assert not _taken(lock)  # reads never wait for writers (WAL)


def test_a_turn_held_too_long_is_unavailable_and_nothing_is_written(tmp_path: Path) -> None:
    holder = SqliteStore(tmp_path / STORE_FILE)
    waiter = SqliteStore(tmp_path / STORE_FILE, timeout=0.05)
    with holder.unit_of_work(), pytest.raises(StoreError) as exc, waiter.unit_of_work() as uow:
        uow.put_item(item("item-1"))
    assert exc.value.code == "STORE_UNAVAILABLE"
    with waiter.read() as reader:
        assert reader.item("item-1") is None
    with waiter.unit_of_work() as uow:  # the turn is free again
        uow.put_item(item("item-1"))
    holder.close()
    waiter.close()


def test_a_process_killed_holding_the_turn_frees_it(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from gsomia.adapters.sqlite_store import SqliteStore
        store = SqliteStore({str(tmp_path / STORE_FILE)!r})
        with store.unit_of_work():
            print("holding", flush=True)
            time.sleep(60)
    """)
    store = SqliteStore(tmp_path / STORE_FILE, timeout=0.05)  # opened (migrated) first
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "holding"
        with pytest.raises(StoreError) as exc, store.unit_of_work():
            pass
        assert exc.value.code == "STORE_UNAVAILABLE"
        child.kill()
        child.wait()
        with store.unit_of_work() as uow:
            uow.put_item(item("item-1"))
        store.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
