"""The node process's collector settings (gsomia.runtime.heap, ADR 0023).

Each case runs in a fresh interpreter: settling freezes the heap of the process it runs in, which
must not be this test session's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from gsomia.node import MAX_RELEASE_BATCH
from gsomia.runtime.heap import THRESHOLDS

_PROBE = textwrap.dedent(
    """
    import gc, json, weakref

    class Node:
        pass

    def cycle():
        a, b = Node(), Node()
        a.other, b.other = b, a
        return weakref.ref(a)

    kept = [Node() for _ in range(100)]        # start-up state that stays
    before = cycle()                           # start-up garbage, in a reference cycle
    from gsomia.runtime import heap
    heap.settle()
    frozen = gc.get_freeze_count()
    after = cycle()                            # garbage made while serving
    gc.collect()
    print(json.dumps({
        "thresholds": gc.get_threshold(),
        "frozen": frozen,
        "enabled": gc.isenabled(),
        "startup_garbage_freed": before() is None,
        "later_garbage_freed": after() is None,
        "kept_is_frozen": frozen >= len(kept),
    }))
    """
)


def _settled() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    return dict(json.loads(done.stdout))


def test_settle_freezes_the_startup_heap_and_raises_the_thresholds() -> None:
    state = _settled()
    assert state["thresholds"] == list(THRESHOLDS)
    assert state["enabled"] is True  # the collector still runs: cycles are still found
    assert state["kept_is_frozen"] is True
    assert state["startup_garbage_freed"] is True  # collected first, never frozen
    assert state["later_garbage_freed"] is True


def test_the_young_threshold_is_above_what_release_batches_hold() -> None:
    # A release batch holds about 25 container objects per item at its peak (ADR 0023): four
    # concurrent batches of the largest size stay below the threshold, so their objects are
    # freed by reference counting before any young collection walks them.
    assert THRESHOLDS[0] >= 4 * MAX_RELEASE_BATCH * 25
    assert all(isinstance(t, int) and t > 0 for t in THRESHOLDS)
