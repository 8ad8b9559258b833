"""In-memory fakes of the four ports, for tests of the service layer (STYLE.md practice 7).

- :class:`FixedClock`, :class:`ManualClock`: time that moves only when a test says so.
- :class:`InMemoryStore`: the :class:`~gsomia.ports.Store` contract without a disk.  A unit of
  work writes into a copy of the committed state and swaps it in on a clean exit, so a failing
  unit of work leaves nothing, as on SQLite.  The contract tests in ``tests/contract`` run the
  same cases against it and :mod:`gsomia.adapters.sqlite_store`, and a Hypothesis state machine
  compares the two on random operation sequences.
- :class:`InMemoryNetwork` and :class:`InMemoryChannel`: a loopback network between parties,
  which can be told to drop (partner down) or duplicate messages, to exercise at-least-once
  delivery.
- :class:`InMemoryKeyStore`: keys and a trust store held in memory.

Modules: :mod:`~gsomia.testing.memory_store`, :mod:`~gsomia.testing.fakes`.  Import from
``gsomia.testing``.
"""

from gsomia.testing.fakes import (
    FixedClock,
    InMemoryChannel,
    InMemoryKeyStore,
    InMemoryNetwork,
    ManualClock,
    loopback_pair,
)
from gsomia.testing.memory_store import InMemoryStore

__all__ = [
    "FixedClock",
    "InMemoryChannel",
    "InMemoryKeyStore",
    "InMemoryNetwork",
    "InMemoryStore",
    "ManualClock",
    "loopback_pair",
]
