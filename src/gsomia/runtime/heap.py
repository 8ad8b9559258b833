"""The cyclic garbage collector of a node process, set for a long-running server (ADR 0023).

CPython frees almost every object by reference counting; the *cyclic* collector only finds
garbage that refers to itself.  It runs by generations: a young collection after every 700 new
container objects (generation 0), an older one after every 10 of those (generation 1), and a
full one after every 10 of the older ones, when enough has survived (generation 2,
https://docs.python.org/3/library/gc.html#gc.set_threshold).  A full collection walks every
tracked object of the process.

A node process carries a large heap that lives as long as it does (FastAPI, pydantic and
uvicorn, the registry, the keys: a few hundred thousand objects), and each release or receipt
batch briefly holds thousands of objects more (about 25 per item at the peak of a release
batch: the items, their rows, their audit records), which outlive a young collection and are
walked again by the older ones.  Measured in ``bench/exchange.py`` over 8,000 items
(docs/benchmarks.md), the collector took 0.28 s of the KOR API worker's CPU after start-up
(35 us per item, 0.15 s of it in three full collections) and 0.07-0.08 s of each node's
serving process.

:func:`settle` therefore, once the process has started and before it serves:

1. collects once, so that no garbage of the start-up is kept;
2. freezes what is left (:func:`gc.freeze`): the start-up heap moves to a permanent generation
   that no collection walks again; it is never garbage (it lives until the process exits);
3. raises the thresholds to :data:`THRESHOLDS`: a young collection once 50,000 new container
   objects are alive instead of 700, above what four concurrent batches of the largest size
   hold, so that a batch's objects are freed by reference counting before any collection walks
   them.  Cyclic garbage is still collected, later (at most that many objects wait for it).

With it, the same run's collections took no measurable time after start-up.

Nothing else changes: reference counting frees what it always freed, at once.
"""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["THRESHOLDS", "settle"]

#: The collector's thresholds once a node process has started (generations 0, 1, 2).
THRESHOLDS: Final = (50_000, 10, 10)


def settle() -> None:
    """Collect the start-up's garbage, freeze the rest out of later collections, and raise the
    thresholds to :data:`THRESHOLDS` (see the module docstring).  Call it once, when the process
    has loaded everything it serves with."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
